//! Retrieval quality metrics: Recall@k and MRR@10 at file and span level.
//!
//! A query has one or more expected locations. A result *hits* an expected
//! location at file level when the paths are equal, and at span level when
//! the paths are equal and the line ranges overlap. Recall@k is 1 if any of
//! the first k results hits any expected location (the usual definition
//! for code search, where one right place answers the question); MRR@10 is
//! the reciprocal rank of the first hit within the first 10, else 0.

use serde::Serialize;

/// A location: path and 1-based inclusive line range.
#[derive(Clone, Debug, PartialEq, Eq, serde::Deserialize, Serialize)]
pub struct Span {
    /// Path relative to the repository root.
    pub path: String,
    /// First line.
    pub start_line: u32,
    /// Last line.
    pub end_line: u32,
}

impl Span {
    /// True if both spans are in the same file and their lines overlap.
    pub fn overlaps(&self, other: &Span) -> bool {
        self.path == other.path
            && self.start_line <= other.end_line
            && other.start_line <= self.end_line
    }
}

/// Rank (1-based) of the first result matching any expected span, by `hit`.
fn first_hit(
    results: &[Span],
    expected: &[Span],
    hit: impl Fn(&Span, &Span) -> bool,
) -> Option<usize> {
    results
        .iter()
        .position(|r| expected.iter().any(|e| hit(r, e)))
        .map(|i| i + 1)
}

/// Ranks of the first file-level and span-level hits of one query.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct QueryOutcome {
    /// Rank of the first result in an expected file.
    pub file_rank: Option<usize>,
    /// Rank of the first result overlapping an expected span.
    pub span_rank: Option<usize>,
}

/// Judges one query's results against its expected locations.
pub fn judge(results: &[Span], expected: &[Span]) -> QueryOutcome {
    QueryOutcome {
        file_rank: first_hit(results, expected, |r, e| r.path == e.path),
        span_rank: first_hit(results, expected, Span::overlaps),
    }
}

/// Recall@1/5/10 and MRR@10 over a set of queries, for one level.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct LevelMetrics {
    /// Share of queries with a hit at rank 1.
    pub recall_at_1: f64,
    /// Share of queries with a hit in the first 5.
    pub recall_at_5: f64,
    /// Share of queries with a hit in the first 10.
    pub recall_at_10: f64,
    /// Mean reciprocal rank of the first hit within the first 10.
    pub mrr_at_10: f64,
}

impl LevelMetrics {
    /// Aggregates first-hit ranks (`None`: no hit at any rank).
    pub fn from_ranks(ranks: impl IntoIterator<Item = Option<usize>>) -> LevelMetrics {
        let mut n = 0usize;
        let mut acc = LevelMetrics::default();
        for rank in ranks {
            n += 1;
            let Some(rank) = rank else { continue };
            let within = |k: usize| if rank <= k { 1.0 } else { 0.0 };
            acc.recall_at_1 += within(1);
            acc.recall_at_5 += within(5);
            acc.recall_at_10 += within(10);
            if rank <= 10 {
                acc.mrr_at_10 += 1.0 / rank as f64;
            }
        }
        if n > 0 {
            let n = n as f64;
            acc.recall_at_1 /= n;
            acc.recall_at_5 /= n;
            acc.recall_at_10 /= n;
            acc.mrr_at_10 /= n;
        }
        acc
    }
}

/// The `p`-th percentile (0–100) of `values` by nearest rank; 0 if empty.
pub fn percentile(values: &[f64], p: f64) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(path: &str, start_line: u32, end_line: u32) -> Span {
        Span {
            path: path.into(),
            start_line,
            end_line,
        }
    }

    #[test]
    fn file_and_span_hits_are_judged_separately() {
        let expected = [span("a.py", 10, 20)];
        let results = [
            span("b.py", 1, 5),
            span("a.py", 30, 40), // right file, wrong lines
            span("a.py", 18, 25), // overlaps
        ];
        assert_eq!(
            judge(&results, &expected),
            QueryOutcome {
                file_rank: Some(2),
                span_rank: Some(3)
            }
        );
        assert_eq!(judge(&results[..1], &expected), QueryOutcome::default());
        // Touching ranges overlap; adjacent ones do not.
        assert!(span("a.py", 20, 22).overlaps(&expected[0]));
        assert!(!span("a.py", 21, 22).overlaps(&expected[0]));
    }

    #[test]
    fn recall_and_mrr_by_hand() {
        // Ranks 1, 3, 7, 12 and a miss.
        let m = LevelMetrics::from_ranks([Some(1), Some(3), Some(7), Some(12), None]);
        assert_eq!(m.recall_at_1, 0.2);
        assert_eq!(m.recall_at_5, 0.4);
        assert_eq!(m.recall_at_10, 0.6);
        let mrr = (1.0 + 1.0 / 3.0 + 1.0 / 7.0) / 5.0;
        assert!((m.mrr_at_10 - mrr).abs() < 1e-12);
        assert_eq!(LevelMetrics::from_ranks([]), LevelMetrics::default());
    }

    #[test]
    fn percentiles_by_nearest_rank() {
        let v: Vec<f64> = (1..=20).map(f64::from).collect();
        assert_eq!(percentile(&v, 50.0), 10.0);
        assert_eq!(percentile(&v, 95.0), 19.0);
        assert_eq!(percentile(&v, 100.0), 20.0);
        assert_eq!(percentile(&[], 50.0), 0.0);
    }
}
