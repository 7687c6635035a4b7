//! Learning a repository's retrieval policy: the weights of a linear
//! ranker over candidates' features, fitted on queries with known answers
//! (mined from the repository, or corrected by its users), and a gate that
//! promotes a new policy only when it ranks held-out queries better.
//!
//! The fit is coordinate ascent on MRR@10 from the current weights: each
//! round takes the one best step over all weights — scaling a weight
//! (×0.5, ×0.8, ×1.25, ×2) or moving it by ±0.1, ±0.25 or ±0.5 of the
//! largest weight (a weight at 0, a new feature, moves only that way, and
//! a plateau needs the longer steps) — if it raises the training metric
//! without raising a listwise softmax loss (which also breaks ties).
//! The gate promotes on held-out Recall@10 up by a margin, or on more
//! queries ranked better than worse by a sign test, never on a lower
//! MRR@10 or Recall@10. It needs no gradients (the metric is a rank), keeps the weights
//! interpretable, and on a few hundred queries runs in seconds.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// One candidate of a query: its feature values and whether it is a right
/// answer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Candidate {
    /// Feature values, in the policy's feature order.
    pub features: Vec<f64>,
    /// A right answer.
    pub relevant: bool,
}

/// A query's candidates.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Query {
    /// Its candidates (any order).
    pub candidates: Vec<Candidate>,
}

/// How well weights rank a query set.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    /// Mean reciprocal rank of the first right answer, within the top 10.
    pub mrr10: f64,
    /// Share of queries with a right answer in the top 10.
    pub recall10: f64,
    /// Queries.
    pub queries: usize,
}

fn score(weights: &[f64], features: &[f64]) -> f64 {
    weights.iter().zip(features).map(|(w, f)| w * f).sum()
}

/// The metrics of `weights` on `queries`. Ties rank the relevant candidate
/// last (no credit for luck).
pub fn evaluate(weights: &[f64], queries: &[Query]) -> Metrics {
    let mut mrr = 0.0;
    let mut hits = 0usize;
    for q in queries {
        let mut scored: Vec<(f64, bool)> = q
            .candidates
            .iter()
            .map(|c| (score(weights, &c.features), c.relevant))
            .collect();
        scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        if let Some(rank) = scored.iter().take(10).position(|(_, r)| *r) {
            mrr += 1.0 / (rank + 1) as f64;
            hits += 1;
        }
    }
    let n = queries.len().max(1) as f64;
    Metrics {
        mrr10: mrr / n,
        recall10: hits as f64 / n,
        queries: queries.len(),
    }
}

/// The listwise softmax loss of `weights` on `queries`: how far the best
/// right answer's score falls short of the log-sum-exp of all scores
/// (0 when it stands far above the rest). Breaks ties between steps of
/// equal MRR@10.
fn loss(weights: &[f64], queries: &[Query]) -> f64 {
    let mut total = 0.0;
    for q in queries {
        let scores: Vec<f64> = q
            .candidates
            .iter()
            .map(|c| score(weights, &c.features))
            .collect();
        let Some(right) = q
            .candidates
            .iter()
            .zip(&scores)
            .filter(|(c, _)| c.relevant)
            .map(|(_, s)| *s)
            .reduce(f64::max)
        else {
            continue;
        };
        let top = scores.iter().copied().fold(f64::MIN, f64::max);
        let sum: f64 = scores.iter().map(|s| (s - top).exp()).sum();
        total += top + sum.ln() - right;
    }
    total / queries.len().max(1) as f64
}

/// Coordinate ascent on MRR@10 from `start`, at most `rounds` rounds,
/// leaving the weights at `fixed` indices alone. Every fifth query is kept
/// aside: the weights returned are those of the round that ranked those
/// best, the later round on a tie (a fit that only memorises the rest
/// stops there). No step switches a feature off outright.
pub fn fit(start: &[f64], queries: &[Query], rounds: usize, fixed: &[usize]) -> Vec<f64> {
    let (mut learn, mut check) = (Vec::new(), Vec::new());
    for (i, q) in queries.iter().enumerate() {
        if i % 5 == 4 {
            check.push(q.clone());
        } else {
            learn.push(q.clone());
        }
    }
    let mut w = start.to_vec();
    let mut best = evaluate(&w, &learn).mrr10;
    let mut kept = (evaluate(&w, &check).mrr10, w.clone());
    let mut stale = 0;
    for _ in 0..rounds {
        // The single best step over every weight: the change that matters
        // most goes first (a first-come step would let an early feature
        // bend to fit what a later one explains).
        let scale = w.iter().fold(0.0f64, |m, x| m.max(x.abs())).max(1e-6);
        let mut step_to: Option<(usize, f64)> = None;
        let mut best_loss = f64::INFINITY;
        let round_start = best;
        let current_loss = loss(&w, &learn);
        for i in (0..w.len()).filter(|i| !fixed.contains(i)) {
            let here = w[i];
            let mut tries: Vec<f64> = [0.5, 0.8, 1.25, 2.0].iter().map(|m| here * m).collect();
            for step in [0.1, 0.25, 0.5] {
                tries.extend([here + step * scale, here - step * scale]);
            }
            for t in tries {
                w[i] = t;
                let m = evaluate(&w, &learn).mrr10;
                // A step must raise the metric without widening the
                // loss (a step that lifts a few answers into the top 10
                // while pushing the rest further down fits noise); among
                // steps that reach the same metric, the lowest loss.
                if m > round_start + 1e-9 && m > best - 1e-9 {
                    let l = loss(&w, &learn);
                    if l <= current_loss + 1e-9 && (m > best + 1e-9 || l < best_loss) {
                        (best, best_loss) = (m, l);
                        step_to = Some((i, t));
                    }
                }
            }
            w[i] = here;
        }
        let improved = step_to.is_some();
        if let Some((i, t)) = step_to {
            w[i] = t;
        }
        // The best round on the kept-aside queries; a tie goes to the
        // later round, which ranks the training queries better.
        let checked = evaluate(&w, &check).mrr10;
        if checked > kept.0 + 1e-9 {
            kept = (checked, w.clone());
            stale = 0;
        } else {
            if improved && checked > kept.0 - 1e-9 {
                kept.1 = w.clone();
            }
            stale += 1;
        }
        if !improved || stale >= 3 {
            break;
        }
    }
    kept.1
}

/// What the gate decided.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    /// Whether the candidate replaces the current policy.
    pub promote: bool,
    /// The current policy on the held-out queries.
    pub current: Metrics,
    /// The candidate on the held-out queries.
    pub candidate: Metrics,
    /// Why.
    pub reason: String,
    /// The two on each source of held-out queries (`doc`, `identifier`,
    /// `history`, `feedback`), current first.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub sources: BTreeMap<String, (Metrics, Metrics)>,
}

/// Significance a gain without the margin needs (one-sided sign test).
pub const SIGN_TEST_P: f64 = 0.05;

/// Each query's reciprocal rank of its first right answer within the top
/// 10 (0 outside).
fn reciprocal_ranks(weights: &[f64], queries: &[Query]) -> Vec<f64> {
    queries
        .iter()
        .map(|q| evaluate(weights, std::slice::from_ref(q)).mrr10)
        .collect()
}

/// P(X ≥ k) for X ~ Binomial(n, ½).
fn sign_test(k: usize, n: usize) -> f64 {
    // ln C(n, i) accumulated; sums in linear space (n is small).
    let mut ln_c = 0.0f64;
    let mut tail = 0.0;
    for i in 0..=n {
        if i > 0 {
            ln_c += ((n - i + 1) as f64).ln() - (i as f64).ln();
        }
        if i >= k {
            tail += (ln_c - n as f64 * std::f64::consts::LN_2).exp();
        }
    }
    tail.min(1.0)
}

/// Promotes `candidate` over `current` only if, on the held-out queries,
/// its MRR@10 and Recall@10 are not lower and either its Recall@10 is at
/// least `margin` higher, or it ranks more queries' first right answer
/// higher than lower, by a one-sided sign test at [`SIGN_TEST_P`] (a
/// finer gain than Recall@10 sees, but not a chance one).
pub fn gate(current: &[f64], candidate: &[f64], held_out: &[Query], margin: f64) -> Verdict {
    let cur = evaluate(current, held_out);
    let cand = evaluate(candidate, held_out);
    let gain = cand.recall10 - cur.recall10;
    let (before, after) = (
        reciprocal_ranks(current, held_out),
        reciprocal_ranks(candidate, held_out),
    );
    let wins = before.iter().zip(&after).filter(|(b, a)| *a > *b).count();
    let losses = before.iter().zip(&after).filter(|(b, a)| *a < *b).count();
    let p = sign_test(wins, wins + losses);
    let (promote, reason) = if held_out.is_empty() {
        (false, "no held-out queries to judge on".to_owned())
    } else if cand.mrr10 < cur.mrr10 {
        (
            false,
            format!(
                "held-out MRR@10 fell: {:.3} vs {:.3}",
                cand.mrr10, cur.mrr10
            ),
        )
    } else if gain < 0.0 {
        (
            false,
            format!(
                "held-out Recall@10 fell: {:.3} vs {:.3}",
                cand.recall10, cur.recall10
            ),
        )
    } else if gain >= margin {
        (
            true,
            format!(
                "held-out Recall@10 {:.3} vs {:.3} ({gain:+.3}), MRR@10 {:.3} vs {:.3}",
                cand.recall10, cur.recall10, cand.mrr10, cur.mrr10
            ),
        )
    } else if wins > losses && p <= SIGN_TEST_P {
        (
            true,
            format!(
                "held-out: {wins} queries ranked better, {losses} worse (sign test p = {p:.3}); \
                 MRR@10 {:.3} vs {:.3}, Recall@10 {:.3} vs {:.3}",
                cand.mrr10, cur.mrr10, cand.recall10, cur.recall10
            ),
        )
    } else {
        (
            false,
            format!(
                "held-out Recall@10 {:.3} vs {:.3}: a gain of {gain:+.3}, under the margin {margin}; \
                 {wins} queries ranked better, {losses} worse (sign test p = {p:.3})",
                cand.recall10, cur.recall10
            ),
        )
    };
    Verdict {
        promote,
        current: cur,
        candidate: cand,
        reason,
        sources: BTreeMap::new(),
    }
}

/// [`gate`] on every source's held-out queries pooled, and then on each
/// source in `guarded` alone: the candidate may not rank a guarded
/// source's queries worse (MRR@10) than the current weights do, whatever
/// it gains elsewhere (what people corrected stays corrected).
pub fn gate_by_source(
    current: &[f64],
    candidate: &[f64],
    held_out: &BTreeMap<String, Vec<Query>>,
    margin: f64,
    guarded: &[&str],
) -> Verdict {
    let pooled: Vec<Query> = held_out.values().flatten().cloned().collect();
    let mut verdict = gate(current, candidate, &pooled, margin);
    for (source, queries) in held_out {
        if queries.is_empty() {
            continue;
        }
        let pair = (evaluate(current, queries), evaluate(candidate, queries));
        if verdict.promote
            && guarded.contains(&source.as_str())
            && pair.1.mrr10 < pair.0.mrr10 - 1e-9
        {
            verdict.promote = false;
            verdict.reason = format!(
                "loses on {source} queries: held-out MRR@10 {:.3} vs {:.3} ({})",
                pair.1.mrr10, pair.0.mrr10, verdict.reason
            );
        }
        verdict.sources.insert(source.clone(), pair);
    }
    verdict
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bandit::Rng;

    /// Queries of 30 candidates with three features: a misleading one the
    /// starting weights trust, a noisy one, and one that tells the answer
    /// (which the starting weights ignore).
    fn fixture(seed: u64, n: usize) -> Vec<Query> {
        let mut rng = Rng::new(seed);
        (0..n)
            .map(|_| {
                let answer = (rng.next_u64() % 30) as usize;
                let candidates = (0..30)
                    .map(|i| {
                        let relevant = i == answer;
                        let telling = if relevant { 0.6 } else { 0.0 } + 0.5 * rng.uniform();
                        Candidate {
                            features: vec![rng.uniform(), rng.uniform() * 0.3, telling],
                            relevant,
                        }
                    })
                    .collect();
                Query { candidates }
            })
            .collect()
    }

    #[test]
    fn training_improves_held_out_ranking() {
        let (train, held_out) = (fixture(1, 200), fixture(2, 100));
        let start = [1.0, 0.5, 0.0];
        let fitted = fit(&start, &train, 10, &[]);
        let before = evaluate(&start, &held_out);
        let after = evaluate(&fitted, &held_out);
        assert!(
            after.recall10 > before.recall10 + 0.2,
            "{before:?} → {after:?}"
        );
        assert!(fitted[2] > fitted[0], "{fitted:?}");
        // Fixed weights stay as they were.
        let held = fit(&start, &train, 10, &[0]);
        assert_eq!(held[0], start[0]);
        let verdict = gate(&start, &fitted, &held_out, 0.05);
        assert!(verdict.promote, "{verdict:?}");
    }

    #[test]
    fn the_gate_refuses_a_worse_or_equal_model() {
        let held_out = fixture(3, 100);
        let good = [0.0, 0.0, 1.0];
        let bad = [0.0, 0.0, -1.0];
        let verdict = gate(&good, &bad, &held_out, 0.01);
        assert!(!verdict.promote);
        assert!(verdict.reason.contains("MRR@10 fell"), "{}", verdict.reason);
        // The same model again is no gain.
        let same = gate(&good, &good, &held_out, 0.01);
        assert!(!same.promote);
        assert!(same.reason.contains("under the margin"), "{}", same.reason);
        assert!(same.reason.contains("0 queries ranked better, 0 worse"));
        assert!(!gate(&good, &good, &[], 0.0).promote);
    }

    #[test]
    fn a_gain_elsewhere_does_not_buy_a_loss_on_feedback() {
        // Mined queries reward the third feature; feedback queries the
        // second: the candidate wins the pool but loses on feedback.
        let mined = fixture(4, 100);
        let feedback: Vec<Query> = fixture(5, 20)
            .into_iter()
            .map(|mut q| {
                for c in &mut q.candidates {
                    c.features.swap(1, 2);
                }
                q
            })
            .collect();
        let current = [0.0, 1.0, 0.2];
        let candidate = [0.0, 0.0, 1.0];
        let mut held_out = BTreeMap::new();
        held_out.insert("doc".to_owned(), mined);
        held_out.insert("feedback".to_owned(), feedback);
        let open = gate_by_source(&current, &candidate, &held_out, 0.02, &[]);
        assert!(open.promote, "{open:?}");
        let guarded = gate_by_source(&current, &candidate, &held_out, 0.02, &["feedback"]);
        assert!(!guarded.promote);
        assert!(
            guarded.reason.starts_with("loses on feedback queries"),
            "{}",
            guarded.reason
        );
        let (cur, cand) = guarded.sources["feedback"];
        assert!(cand.mrr10 < cur.mrr10);
        assert_eq!(guarded.sources.len(), 2);
    }

    #[test]
    fn a_gain_recall_misses_passes_only_when_it_is_no_chance() {
        assert!((sign_test(0, 0) - 1.0).abs() < 1e-12);
        assert!((sign_test(3, 3) - 0.125).abs() < 1e-12);
        assert!((sign_test(9, 10) - 11.0 / 1024.0).abs() < 1e-12);
        // One query moves from rank 2 to rank 1: MRR up, Recall@10 the
        // same; a single win is chance.
        let q = |right: usize| Query {
            candidates: (0..5)
                .map(|i| Candidate {
                    features: vec![-(i as f64), if i == right { 1.0 } else { 0.0 }],
                    relevant: i == right,
                })
                .collect(),
        };
        let current = [1.0, 0.0];
        let candidate = [1.0, 1.5];
        let one = gate(&current, &candidate, &[q(1), q(0)], 0.05);
        assert!(!one.promote, "{one:?}");
        assert!(
            one.reason.contains("1 queries ranked better"),
            "{}",
            one.reason
        );
        // Seven such wins and no loss: p = 1/128.
        let many: Vec<Query> = (0..7).map(|_| q(1)).collect();
        let verdict = gate(&current, &candidate, &many, 0.05);
        assert!(verdict.promote, "{verdict:?}");
        assert!(verdict.reason.contains("sign test"), "{}", verdict.reason);
    }

    #[test]
    fn metrics_count_the_first_right_answer_in_the_top_ten() {
        let q = |ranks_relevant: usize| Query {
            candidates: (0..12)
                .map(|i| Candidate {
                    features: vec![-(i as f64)],
                    relevant: i == ranks_relevant,
                })
                .collect(),
        };
        let m = evaluate(&[1.0], &[q(0), q(1), q(11)]);
        assert!((m.mrr10 - (1.0 + 0.5) / 3.0).abs() < 1e-9, "{m:?}");
        assert!((m.recall10 - 2.0 / 3.0).abs() < 1e-9);
        // A tie with an irrelevant candidate ranks the relevant one last.
        let tie = Query {
            candidates: vec![
                Candidate {
                    features: vec![1.0],
                    relevant: false,
                },
                Candidate {
                    features: vec![1.0],
                    relevant: true,
                },
            ],
        };
        assert_eq!(evaluate(&[1.0], &[tie]).mrr10, 0.5);
    }
}
