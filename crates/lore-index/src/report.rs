//! What Lore has learned about a repository, and how well it does: one
//! report for `lore report`, `GET /report` and the web UI's Learning page,
//! and the nightly `report` thought that measures retrieval quality on
//! the repository's own evaluation set (doc queries with the docs hidden)
//! and keeps the series (`quality.jsonl` in the data directory, one line
//! per run: a run that is retried does not add a second line).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use lore_core::history::HistoryStore;
use lore_core::jobs::JobStore;
use lore_core::time::{now_ms, rfc3339};
use lore_retrieve::fusion::Policy;
use lore_store::{SqliteHistory, SqliteJobs};
use serde_json::{Value, json};

use crate::error::{Error, Result, io};
use crate::home::Home;
use crate::policy::{Policies, ab_outcomes};
use crate::query::{RepoIndex, SearchMode};

const QUALITY: &str = "quality.jsonl";

/// Doc queries the nightly measurement asks.
pub const QUALITY_QUERIES: usize = 100;

/// Seconds in `7d`, `24h`, `30m` or `90s`; the error names the value.
pub fn parse_since(text: &str) -> Result<i64> {
    let text = text.trim();
    let (number, unit) = text.split_at(text.len().saturating_sub(1));
    let scale = match unit {
        "d" => 86_400,
        "h" => 3_600,
        "m" => 60,
        "s" => 1,
        _ => 0,
    };
    match number.parse::<i64>() {
        Ok(n) if scale > 0 && n > 0 => Ok(n * scale),
        _ => Err(Error::Invalid(format!(
            "--since {text:?}: expected a number and a unit, like 7d, 24h or 30m"
        ))),
    }
}

/// Measures retrieval quality on the repository's doc queries (docs
/// hidden) with the policy in force, and appends it to the series once
/// per `run`. Returns the line, or why nothing was measured.
pub fn measure_quality(
    home: &Home,
    root: &Path,
    run: i64,
) -> Result<std::result::Result<Value, String>> {
    let index = RepoIndex::open(home, root)?;
    let data_dir = index.data_dir().to_owned();
    let commit = index.indexed_commit().unwrap_or("").to_owned();
    let policy = index.policy().clone();
    drop(index);
    let report = match crate::eval::evaluate_from_docs(
        home,
        root,
        QUALITY_QUERIES,
        &[SearchMode::Hybrid],
        None,
    ) {
        Ok(mut reports) => reports.remove(0),
        Err(Error::Invalid(why)) => return Ok(Err(why)),
        Err(err) => return Err(err),
    };
    let line = json!({
        "run": run,
        "time": rfc3339(now_ms()),
        "commit": commit,
        "queries": report.queries,
        "span_r10": report.span.recall_at_10,
        "span_mrr10": report.span.mrr_at_10,
        "file_r10": report.file.recall_at_10,
        "retrieval_policy": { "version": policy.version, "repository": policy.repository },
    });
    let path = data_dir.join(QUALITY);
    if !quality_series(&data_dir)?.iter().any(|l| l["run"] == run) {
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(io(&path))?;
        writeln!(file, "{line}").map_err(io(&path))?;
        file.sync_data().map_err(io(&path))?;
    }
    Ok(Ok(line))
}

/// The quality series, oldest first (a torn last line is skipped).
fn quality_series(data_dir: &Path) -> Result<Vec<Value>> {
    let path = data_dir.join(QUALITY);
    match std::fs::read_to_string(&path) {
        Ok(text) => Ok(text
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(Error::Io { path, source: e }),
    }
}

/// The report of the repository at `root` over the last `since` seconds
/// (stable JSON: `{repo_id, since, retrieval_policy, policies, ab,
/// feedback, quality, attention}`).
pub fn report(home: &Home, root: &Path, since: i64) -> Result<Value> {
    let index = RepoIndex::open(home, root)?;
    let data_dir = index.data_dir().to_owned();
    let in_force = index.policy().clone();
    drop(index);
    let from = now_ms() / 1000 - since;
    let policies = Policies::load(&data_dir)?;
    let versions: Vec<Value> = policies
        .versions
        .iter()
        .map(|v| {
            let m = |m: &lore_learn::rank::Metrics| {
                json!({ "recall10": round(m.recall10), "mrr10": round(m.mrr10), "queries": m.queries })
            };
            json!({
                "version": v.version,
                "created_at": rfc3339(v.created_at),
                "commit": v.commit,
                "base": v.base,
                "sources": v.sources,
                "held_out": { "current": m(&v.verdict.current), "candidate": m(&v.verdict.candidate) },
                "passed_gate": v.verdict.promote,
                "reason": v.verdict.reason,
                "in_force": policies.current == Some(v.version),
            })
        })
        .collect();
    let history_path = crate::layout::Layout::new(&data_dir).history_db();
    let (feedback, outcomes) = if history_path.exists() {
        let history = SqliteHistory::open(&history_path)?;
        (
            feedback_summary(&history, from)?,
            ab_outcomes(&history, from)?,
        )
    } else {
        (feedback_summary_empty(), Vec::new())
    };
    let quality: Vec<Value> = quality_series(&data_dir)?
        .into_iter()
        .filter(|l| {
            l["time"]
                .as_str()
                .is_some_and(|t| t >= rfc3339(from * 1000).as_str())
        })
        .collect();
    let repo = home.repo_id(root);
    let attention = match SqliteJobs::open(&home.thinker_db()) {
        Ok(queue) => crate::learning::attention(&queue.insight_verdicts(&repo)?),
        Err(_) => Value::Array(Vec::new()),
    };
    Ok(json!({
        "repo_id": repo,
        "since": rfc3339(from * 1000),
        "retrieval_policy": {
            "version": in_force.version,
            "repository": in_force.repository,
            "global": Policy::default().version,
        },
        "policies": versions,
        "ab": {
            "running": policies.ab.as_ref().map(|ab| json!({
                "challenger": ab.challenger,
                "started_at": rfc3339(ab.started_at),
            })),
            "outcomes": outcomes,
        },
        "feedback": feedback,
        "quality": quality,
        "attention": attention,
    }))
}

fn round(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

fn feedback_summary_empty() -> Value {
    json!({ "answers": 0, "judged": 0, "rate": null, "mean_reward": null, "signals": {} })
}

/// Answers since `from`, how many got feedback, the signals, the mean
/// reward of the judged ones.
fn feedback_summary(history: &dyn HistoryStore, from: i64) -> Result<Value> {
    let answers = history
        .recent(usize::MAX >> 1)?
        .into_iter()
        .filter(|a| a.time >= from)
        .count();
    let mut by_answer: BTreeMap<i64, Vec<lore_core::history::FeedbackRecord>> = BTreeMap::new();
    let mut signals: BTreeMap<String, usize> = BTreeMap::new();
    for f in history.feedback_since(from)? {
        *signals.entry(f.signal.clone()).or_default() += 1;
        by_answer.entry(f.answer).or_default().push(f);
    }
    let rewards: Vec<f64> = by_answer
        .values()
        .map(|rows| crate::utility::reward_of(rows))
        .filter(|r| r.people > 0)
        .map(|r| r.value)
        .collect();
    let judged = by_answer.len();
    Ok(json!({
        "answers": answers,
        "judged": judged,
        "rate": (answers > 0).then(|| round(judged as f64 / answers as f64)),
        "mean_reward": (!rewards.is_empty())
            .then(|| round(rewards.iter().sum::<f64>() / rewards.len() as f64)),
        "signals": signals,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_reads_a_number_and_a_unit() {
        assert_eq!(parse_since("7d").unwrap(), 7 * 86_400);
        assert_eq!(parse_since("24h").unwrap(), 86_400);
        assert_eq!(parse_since("30m").unwrap(), 1_800);
        for bad in ["", "7", "d", "7w", "-1d", "0h"] {
            let err = parse_since(bad).unwrap_err().to_string();
            assert!(err.contains("--since"), "{bad}: {err}");
        }
    }
}
