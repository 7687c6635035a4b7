//! Answer quality on a golden set: for each question, whether one of the
//! first three citations lands on an acceptable location, how many of the
//! answer's citations verified, and how long the answer took.

use lore_index::{EvalQuery, RepoIndex};
use lore_retrieve::metrics::Span;
use serde::Serialize;

use crate::provider::ChatProvider;
use crate::redact::Redactor;
use crate::{AskOptions, Conversation, Mode, Result, ask};

/// Citations looked at for a hit.
pub const FIRST_CITATIONS: usize = 3;

/// One question's result.
#[derive(Clone, Debug, Serialize)]
pub struct AnswerResult {
    /// The question.
    pub question: String,
    /// Rank (1-based) of the first citation on an acceptable location
    /// among the first [`FIRST_CITATIONS`], if any.
    pub hit: Option<usize>,
    /// The first citations, as `path:a-b`.
    pub cited: Vec<String>,
    /// Citations that verified.
    pub verified: usize,
    /// Citations removed.
    pub rejected: usize,
    /// How the answer was made.
    pub mode: Mode,
    /// Wall time of the answer.
    pub latency_ms: f64,
}

/// The whole golden set's result.
#[derive(Clone, Debug, Serialize)]
pub struct AnswerReport {
    /// Questions asked.
    pub questions: usize,
    /// Share with an acceptable location among the first three citations.
    pub hit_at_3: f64,
    /// Share of all citations that verified (the rest were removed).
    pub citation_precision: f64,
    /// Median latency.
    pub p50_ms: f64,
    /// 95th percentile latency.
    pub p95_ms: f64,
    /// Answers made by a model (the rest are extractive).
    pub llm_answers: usize,
    /// Per question.
    pub results: Vec<AnswerResult>,
}

/// Asks every question of `queries` (each in a fresh conversation; nothing
/// is recorded) and scores the citations.
pub fn evaluate_answers(
    index: &RepoIndex,
    queries: &[EvalQuery],
    provider: Option<&dyn ChatProvider>,
    options: &AskOptions,
) -> Result<AnswerReport> {
    let redactor = Redactor::builtin();
    let mut results = Vec::with_capacity(queries.len());
    for q in queries {
        let started = std::time::Instant::now();
        let answer = ask(
            index,
            &q.query,
            &Conversation::default(),
            provider,
            &redactor,
            options,
            &mut |_| {},
        )?;
        let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
        let first: Vec<Span> = answer
            .citations
            .iter()
            .take(FIRST_CITATIONS)
            .map(|c| Span {
                path: c.at.path.clone(),
                start_line: c.at.start_line,
                end_line: c.at.end_line,
            })
            .collect();
        let hit = first
            .iter()
            .position(|c| q.expected.iter().any(|e| e.overlaps(c)))
            .map(|i| i + 1);
        results.push(AnswerResult {
            question: q.query.clone(),
            hit,
            cited: first
                .iter()
                .map(|s| format!("{}:{}-{}", s.path, s.start_line, s.end_line))
                .collect(),
            verified: answer.citations.len(),
            rejected: answer.rejected.len(),
            mode: answer.mode,
            latency_ms,
        });
    }
    let n = results.len().max(1) as f64;
    let verified: usize = results.iter().map(|r| r.verified).sum();
    let total: usize = verified + results.iter().map(|r| r.rejected).sum::<usize>();
    let mut latencies: Vec<f64> = results.iter().map(|r| r.latency_ms).collect();
    latencies.sort_by(f64::total_cmp);
    let percentile = |p: f64| -> f64 {
        if latencies.is_empty() {
            return 0.0;
        }
        let i = ((latencies.len() as f64 - 1.0) * p).round() as usize;
        latencies[i]
    };
    Ok(AnswerReport {
        questions: results.len(),
        hit_at_3: results.iter().filter(|r| r.hit.is_some()).count() as f64 / n,
        citation_precision: if total == 0 {
            1.0
        } else {
            verified as f64 / total as f64
        },
        p50_ms: percentile(0.5),
        p95_ms: percentile(0.95),
        llm_answers: results.iter().filter(|r| r.mode == Mode::Llm).count(),
        results,
    })
}
