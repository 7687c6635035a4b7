//! The context bandit: which context policy builds an answer, learned per
//! repository from what people do with the answers.
//!
//! The arms vary the configured policy: evidence chunks (half, as
//! configured, 1.6×), graph hops (0 or 1), function cards in the prompt
//! (on or off) and, when both a small and a large model are configured,
//! the model size: 12 arms, or 24. Thompson sampling
//! (`lore_learn::bandit`) picks one per question; an answer records its
//! policy with the arm's name, so its reward (`feedback::reward_of`: votes,
//! corrections, re-asks, copies…) goes to that arm. The posteriors are
//! derived from the repository's history each time — nothing is stored
//! beside it, so a crash cannot count a reward twice or lose one, and
//! `lore purge` forgetting answers forgets their rewards too.
//!
//! Until [`MIN_REWARDED`] answers have rewards, the configured policy
//! answers (as its own arm, so what people think of it counts); then the
//! bandit explores. `context.learn = false` pins the configured policy.

use lore_core::history::HistoryStore;
use lore_learn::bandit::{Bandit, Rng};

use crate::pack::ContextPolicy;

/// Answers with rewards before the bandit explores beyond the configured
/// policy.
pub const MIN_REWARDED: usize = 5;

/// Rewards older than this many days are not counted (the repository and
/// its people change).
pub const WINDOW_DAYS: i64 = 90;

/// The arms around `base`; `sizes`: both a small and a large model are
/// configured, so the model size is an arm dimension too. The first arm
/// is `base` itself (as configured, the model routed by the question).
pub fn arms(base: &ContextPolicy, sizes: bool) -> Vec<ContextPolicy> {
    let chunks = [base.chunks, (base.chunks / 2).max(2), base.chunks * 8 / 5];
    let hops = [base.graph_hops, 1 - base.graph_hops.min(1)];
    let cards = [base.symbol_cards, !base.symbol_cards];
    let models: Vec<Option<&str>> = if sizes {
        vec![Some("small"), Some("large")]
    } else {
        vec![None]
    };
    let mut out: Vec<ContextPolicy> = Vec::new();
    for &c in &chunks {
        for &h in &hops {
            for &k in &cards {
                for m in &models {
                    let mut name =
                        format!("chunks={c},hops={h},cards={}", if k { "on" } else { "off" });
                    if let Some(m) = m {
                        name.push_str(&format!(",model={m}"));
                    }
                    // A small configuration can make two values one.
                    if out.iter().any(|p| p.arm.as_deref() == Some(&name)) {
                        continue;
                    }
                    out.push(ContextPolicy {
                        chunks: c,
                        graph_hops: h,
                        symbol_cards: k,
                        arm: Some(name),
                        model_size: m.map(str::to_owned),
                        ..base.clone()
                    });
                }
            }
        }
    }
    out
}

/// The posteriors of `arms` from the answers of `history` rewarded since
/// `since` (Unix seconds), and how many rewarded answers counted.
pub fn posterior(
    history: &dyn HistoryStore,
    arms: &[ContextPolicy],
    since: i64,
) -> lore_core::Result<(Bandit, usize)> {
    let mut bandit = Bandit::new(arms.iter().map(|a| a.arm.clone().unwrap_or_default()));
    let mut counted = 0;
    for (record, rows) in history.judged_since(since)? {
        let Ok(policy) = serde_json::from_str::<ContextPolicy>(&record.policy) else {
            continue;
        };
        let Some(arm) = policy
            .arm
            .as_deref()
            .and_then(|name| arms.iter().position(|a| a.arm.as_deref() == Some(name)))
        else {
            continue;
        };
        let reward = crate::feedback::reward_of(&rows);
        if reward.people > 0 {
            bandit.update(arm, reward.value);
            counted += 1;
        }
    }
    Ok((bandit, counted))
}

/// The context policy for the next answer: `base` when it does not learn
/// or too few answers have rewards, else the arm Thompson sampling draws
/// with `rng`.
pub fn choose(
    history: &dyn HistoryStore,
    base: &ContextPolicy,
    sizes: bool,
    now: i64,
    rng: &mut Rng,
) -> lore_core::Result<ContextPolicy> {
    let arms = arms(base, sizes);
    if !base.learn {
        return Ok(base.clone());
    }
    let (bandit, counted) = posterior(history, &arms, now - WINDOW_DAYS * 86_400)?;
    let pick = if counted < MIN_REWARDED {
        0
    } else {
        bandit.choose(rng)
    };
    Ok(arms[pick].clone())
}

#[cfg(test)]
mod tests {
    use lore_core::history::{AnswerRecord, FeedbackRecord};
    use lore_store::SqliteHistory;

    use super::*;

    fn answer(history: &mut SqliteHistory, policy: &ContextPolicy, vote: i8, user: &str) {
        let conversation = history.new_conversation(1_000).unwrap();
        let id = history
            .add_answer(
                &AnswerRecord {
                    conversation,
                    policy: serde_json::to_string(policy).unwrap(),
                    time: 1_000,
                    ..AnswerRecord::default()
                },
                &[],
            )
            .unwrap();
        history
            .add_feedback(&FeedbackRecord {
                answer: id,
                time: 1_000,
                vote,
                correct_citations: "[]".into(),
                signal: if vote > 0 { "up" } else { "down" }.into(),
                user: user.into(),
                ..FeedbackRecord::default()
            })
            .unwrap();
    }

    #[test]
    fn the_arms_vary_the_configured_policy() {
        let base = ContextPolicy::default();
        let a = arms(&base, false);
        assert_eq!(a.len(), 12);
        assert_eq!(a[0].arm.as_deref(), Some("chunks=12,hops=1,cards=on"));
        assert_eq!(
            (a[0].chunks, a[0].graph_hops),
            (base.chunks, base.graph_hops)
        );
        let names: std::collections::BTreeSet<_> = a.iter().map(|p| p.arm.clone()).collect();
        assert_eq!(names.len(), 12);
        assert!(
            a.iter()
                .any(|p| p.chunks == 6 && p.graph_hops == 0 && !p.symbol_cards)
        );
        assert!(a.iter().any(|p| p.chunks == 19));
        let sized = arms(&base, true);
        assert_eq!(sized.len(), 24);
        assert!(sized.iter().all(|p| p.model_size.is_some()));
    }

    #[test]
    fn feedback_moves_the_choice_to_the_arm_people_like() {
        let mut history = SqliteHistory::in_memory().unwrap();
        let base = ContextPolicy::default();
        let all = arms(&base, false);
        let mut rng = Rng::new(7);
        // No rewards yet: the configured policy, whatever the draw.
        for _ in 0..20 {
            let p = choose(&history, &base, false, 2_000, &mut rng).unwrap();
            assert_eq!(p.arm, all[0].arm);
        }
        // People like the 19-chunk, no-hop, cards-off arm and dislike the rest.
        let liked = all
            .iter()
            .find(|p| p.chunks == 19 && p.graph_hops == 0 && !p.symbol_cards)
            .unwrap();
        for i in 0..12 {
            answer(&mut history, liked, 1, &format!("u{i}"));
        }
        for (i, other) in all.iter().enumerate().filter(|(_, p)| p.arm != liked.arm) {
            answer(&mut history, other, -1, &format!("v{i}"));
            answer(&mut history, other, -1, &format!("w{i}"));
        }
        let picks = (0..200)
            .filter(|_| choose(&history, &base, false, 2_000, &mut rng).unwrap().arm == liked.arm)
            .count();
        assert!(picks >= 180, "{picks} of 200");
        // Pinned: the configured policy always.
        let pinned = ContextPolicy {
            learn: false,
            ..base.clone()
        };
        let p = choose(&history, &pinned, false, 2_000, &mut rng).unwrap();
        assert_eq!((p.arm, p.chunks), (None, base.chunks));
        // Rewards older than the window are forgotten.
        let later = 1_000 + (WINDOW_DAYS + 1) * 86_400;
        let (_, counted) = posterior(&history, &all, later - WINDOW_DAYS * 86_400).unwrap();
        assert_eq!(counted, 0);
    }
}
