//! The scheduler bandit: thought kinds whose insights people read earn
//! the budget; kinds whose insights they dismiss lose it.
//!
//! Each kind that has produced insights is an arm of a Thompson-sampling
//! bandit (`lore_learn::bandit`): an insight read is a reward of +1, one
//! dismissed −1 (insights nobody looked at yet, and those suppressed
//! automatically, say nothing). When a repository's cadence fires, each
//! such kind draws from its posterior: the draws order the kinds (higher
//! priority runs first, while the CPU budget lasts), and a kind with at
//! least [`MIN_JUDGED`] judged insights whose draw falls under
//! [`SKIP_BELOW`] is not queued this time — so a kind people keep
//! dismissing runs rarely, never not at all (its draws still land above
//! the bar now and then, and a change of heart shows). Kinds without
//! judged insights keep their place and priority 0.

use lore_core::jobs::KindVerdicts;
use lore_learn::bandit::{Bandit, Rng};

/// Judged insights a kind needs before the bandit may skip it.
pub const MIN_JUDGED: u64 = 5;
/// A draw under this (on the 0..1 scale) skips a kind's run this time.
pub const SKIP_BELOW: f64 = 0.25;
/// Priority steps between kinds ordered by their draws.
const STEP: i32 = 10;

/// The posterior of each judged kind of `verdicts`.
pub fn posterior(verdicts: &[KindVerdicts]) -> Bandit {
    let judged: Vec<&KindVerdicts> = verdicts
        .iter()
        .filter(|v| v.read + v.dismissed > 0)
        .collect();
    let mut bandit = Bandit::new(judged.iter().map(|v| v.kind.clone()));
    for (arm, v) in judged.iter().enumerate() {
        for _ in 0..v.read {
            bandit.update(arm, 1.0);
        }
        for _ in 0..v.dismissed {
            bandit.update(arm, -1.0);
        }
    }
    bandit
}

/// What a cadence queues of `kinds`, with priorities, given `verdicts`.
pub fn plan(kinds: &[&str], verdicts: &[KindVerdicts], rng: &mut Rng) -> Vec<(String, i32)> {
    let bandit = posterior(verdicts);
    let mut out = Vec::with_capacity(kinds.len());
    let mut drawn: Vec<(f64, usize)> = Vec::new();
    for (i, kind) in kinds.iter().enumerate() {
        match bandit.arms.iter().find(|a| a.name == *kind) {
            Some(arm) => {
                let draw = rng.beta(arm.alpha, arm.beta);
                let judged = arm.pulls;
                if judged >= MIN_JUDGED && draw < SKIP_BELOW {
                    continue;
                }
                drawn.push((draw, i));
            }
            None => out.push(((*kind).to_owned(), 0)),
        }
    }
    // The best draw gets the highest priority; all of them run ahead of
    // unjudged kinds when their draw beats a coin (0.5), behind otherwise.
    drawn.sort_by(|a, b| b.0.total_cmp(&a.0));
    let n = drawn.len() as i32;
    for (rank, (draw, i)) in drawn.into_iter().enumerate() {
        let base = if draw >= 0.5 {
            STEP * (n + 1)
        } else {
            -STEP * (n + 1)
        };
        out.push((kinds[i].to_owned(), base - STEP * rank as i32));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verdict(kind: &str, read: u64, dismissed: u64) -> KindVerdicts {
        KindVerdicts {
            kind: kind.into(),
            read,
            dismissed,
            new: 0,
        }
    }

    #[test]
    fn kinds_people_read_run_first_and_dismissed_ones_run_rarely() {
        let kinds = ["map-repo", "smell-hunt", "lint", "summarize"];
        let verdicts = [verdict("smell-hunt", 1, 19), verdict("lint", 12, 1)];
        let (mut lint_first, mut smell_skipped) = (0, 0);
        for seed in 0..200 {
            let planned = plan(&kinds, &verdicts, &mut Rng::new(seed));
            let priority = |k: &str| planned.iter().find(|p| p.0 == k).map(|p| p.1);
            // Unjudged kinds always run, at priority 0.
            assert_eq!(priority("map-repo"), Some(0));
            assert_eq!(priority("summarize"), Some(0));
            let best = planned.iter().max_by_key(|p| p.1).unwrap();
            lint_first += usize::from(best.0 == "lint");
            smell_skipped += usize::from(priority("smell-hunt").is_none());
        }
        assert!(lint_first >= 190, "lint first in {lint_first} of 200");
        // Beta(2, 20) draws under 0.25 nearly always: skipped most times,
        // still run now and then.
        assert!((170..200).contains(&smell_skipped), "{smell_skipped}");
    }

    #[test]
    fn too_few_verdicts_never_skip() {
        let kinds = ["smell-hunt"];
        let verdicts = [verdict("smell-hunt", 0, 4)];
        for seed in 0..100 {
            assert_eq!(plan(&kinds, &verdicts, &mut Rng::new(seed)).len(), 1);
        }
    }
}
