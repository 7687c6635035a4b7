//! Why a file or a function is risky: each feature's contribution to its
//! score, in words, with the commits, lines, findings and referring files
//! behind it (the function card of the Risk heatmap, `GET /risks/why`).

use std::collections::HashMap;

use lore_core::store::FileEdge;
use serde::Serialize;

use super::{
    Computed, DAY, FEATURES, FileFeatures, Gap, Risk, RiskOptions, compute, is_fix, rank_files,
    rank_functions,
};
use crate::error::{Error, Result};
use crate::findings::{FileReport, SmellConfig};
use crate::home::Home;
use crate::query::RepoIndex;

/// Commits, referring files or functions shown per reason.
const SHOWN: usize = 5;

/// A place, or a commit at a place, that backs a reason.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Source {
    /// File.
    pub path: String,
    /// First line.
    pub start_line: u32,
    /// Last line.
    pub end_line: u32,
    /// The commit, when the evidence is a change.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    /// What it shows ("fix: crash on empty input · ann · 2026-03-02").
    pub note: String,
}

/// One feature's part in a score.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Reason {
    /// The feature (one of [`FEATURES`]).
    pub feature: String,
    /// Its raw value.
    pub value: f64,
    /// Its contribution to the linear score (positive raises the risk).
    pub contribution: f64,
    /// In words.
    pub text: String,
    /// What backs it.
    pub evidence: Vec<Source>,
}

/// A file's or function's risk with its reasons.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RiskCard {
    /// Score, rank and features (the rank among all files, or among its
    /// file's functions).
    #[serde(flatten)]
    pub risk: Risk,
    /// `fitted` or `prior`.
    pub model: String,
    /// The commit the map was made at.
    pub commit: String,
    /// Reasons, the largest contribution first.
    pub reasons: Vec<Reason>,
    /// For a file: its functions, riskiest first.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub functions: Vec<Risk>,
}

/// Why `path` (or its function `symbol`, the one starting at `start_line`
/// when several share the name) is as risky as it is.
pub fn why(
    home: &Home,
    index: &RepoIndex,
    config: &SmellConfig,
    options: &RiskOptions,
    path: &str,
    symbol: Option<&str>,
    start_line: Option<u32>,
) -> Result<RiskCard> {
    let c = compute(home, index, config, options, true)?;
    let Some(file) = c.files.iter().find(|f| f.path == path) else {
        return Err(Error::UnknownFile(format!(
            "{path} (risk covers the indexed source files)"
        )));
    };
    let report = c
        .hunt
        .files
        .iter()
        .find(|f| f.path == path)
        .expect("every scored file has a report");
    let one = std::slice::from_ref(file);
    let functions = rank_functions(&c.model, one, &c.hunt, &c.gaps, true);
    let (risk, functions) = match symbol {
        None => {
            let rank = rank_files(&c.model, &c.files, true)
                .into_iter()
                .find(|r| r.path == path)
                .expect("the file is ranked");
            (rank, functions)
        }
        Some(name) => {
            let found = functions
                .into_iter()
                .filter(|f| f.symbol.as_deref() == Some(name))
                .find(|f| start_line.is_none_or(|l| f.start_line == Some(l)));
            let Some(f) = found else {
                return Err(Error::Invalid(format!(
                    "{path}: no function {name}{} (GET /risks/why?path= lists its functions)",
                    start_line
                        .map(|l| format!(" at line {l}"))
                        .unwrap_or_default()
                )));
            };
            (f, Vec::new())
        }
    };
    let edges = index.store().file_edges(None)?;
    let reasons = reasons(&c, &edges, file, report, &risk);
    Ok(RiskCard {
        model: c.model.kind.clone(),
        commit: c.commit.clone(),
        risk,
        reasons,
        functions,
    })
}

fn day(time: i64) -> String {
    lore_core::time::rfc3339(time * 1000)
        .get(..10)
        .unwrap_or_default()
        .to_owned()
}

/// The reasons of `risk` (a file's or one of its functions').
fn reasons(
    c: &Computed,
    edges: &[FileEdge],
    file: &FileFeatures,
    report: &FileReport,
    risk: &Risk,
) -> Vec<Reason> {
    let (start, end) = match (risk.start_line, risk.end_line) {
        (Some(s), Some(e)) => (s, e),
        _ => (1, report.lines.max(1)),
    };
    let whole = |note: String| Source {
        path: file.path.clone(),
        start_line: start,
        end_line: end,
        commit: None,
        note,
    };
    // The file's commits, newest first (a function shares its file's
    // history).
    let commits: Vec<_> = c
        .history
        .iter()
        .filter(|x| !x.merge && x.time <= c.at)
        .filter_map(|x| {
            let f = x.files.iter().find(|f| f.path == file.path)?;
            Some((x, f))
        })
        .collect();
    let commit_source = |(x, f): &(&lore_git::CommitStat, &lore_git::FileStat)| Source {
        path: file.path.clone(),
        start_line: start,
        end_line: end,
        commit: Some(x.sha.clone()),
        note: format!(
            "{} · {} · {}{}",
            x.subject,
            x.author,
            day(x.time),
            if f.added + f.deleted > 0 {
                format!(" · +{} −{}", f.added, f.deleted)
            } else {
                String::new()
            }
        ),
    };
    let year: Vec<_> = commits
        .iter()
        .filter(|(x, _)| c.at - x.time <= 365 * DAY)
        .collect();
    let contributions = risk.contributions.clone().unwrap_or_default();
    let mut out = Vec::new();
    for name in FEATURES {
        let value = risk.features.get(*name).copied().unwrap_or(0.0);
        let contribution = contributions.get(*name).copied().unwrap_or(0.0);
        let (text, evidence) = match *name {
            "lines" => (
                format!("{value} lines"),
                vec![whole(format!("{value} lines"))],
            ),
            "commits" => (
                format!(
                    "{} commits touched the file in the past two years ({value:.2} weighted by recency)",
                    commits
                        .iter()
                        .filter(|(x, _)| c.at - x.time <= 730 * DAY)
                        .count()
                ),
                commits.iter().take(SHOWN).map(commit_source).collect(),
            ),
            "churn_lines" => (
                format!(
                    "{value} lines changed by {} commits in the past year",
                    year.len()
                ),
                year.iter().take(SHOWN).map(|x| commit_source(x)).collect(),
            ),
            "authors" => {
                let mut by: HashMap<&str, usize> = HashMap::new();
                let mut first: Vec<&(&lore_git::CommitStat, &lore_git::FileStat)> = Vec::new();
                for x in commits.iter().filter(|(x, _)| c.at - x.time <= 730 * DAY) {
                    let n = by.entry(x.0.author.as_str()).or_default();
                    if *n == 0 {
                        first.push(x);
                    }
                    *n += 1;
                }
                (
                    format!("{value} authors in the past two years"),
                    first
                        .into_iter()
                        .take(SHOWN)
                        .map(|x| {
                            let mut s = commit_source(x);
                            s.note = format!(
                                "{} ({} commits) · {}",
                                x.0.author,
                                by[x.0.author.as_str()],
                                s.note
                            );
                            s
                        })
                        .collect(),
                )
            }
            "age_days" => (
                format!("first seen {value} days before the map's commit"),
                commits.last().map(commit_source).into_iter().collect(),
            ),
            "past_fixes" => {
                let fixes: Vec<_> = commits.iter().filter(|(x, _)| is_fix(&x.subject)).collect();
                (
                    format!(
                        "{} bug-fix commits touched it ({value:.2} weighted by recency)",
                        fixes.len()
                    ),
                    fixes.into_iter().take(SHOWN).map(&commit_source).collect(),
                )
            }
            "complexity" => {
                let mut fs: Vec<_> = report
                    .functions
                    .iter()
                    .filter(|f| start <= f.start_line && f.end_line <= end)
                    .collect();
                fs.sort_by(|a, b| {
                    b.cyclomatic
                        .cmp(&a.cyclomatic)
                        .then(a.start_line.cmp(&b.start_line))
                });
                (
                    format!("{value} decision points"),
                    fs.into_iter()
                        .take(SHOWN)
                        .map(|f| Source {
                            path: file.path.clone(),
                            start_line: f.start_line,
                            end_line: f.end_line,
                            commit: None,
                            note: format!(
                                "{}: cyclomatic {}, cognitive {}, nesting {}",
                                f.symbol, f.cyclomatic, f.cognitive, f.nesting
                            ),
                        })
                        .collect(),
                )
            }
            "centrality" => {
                let mut users: Vec<_> = edges
                    .iter()
                    .filter(|e| e.dst == file.path && e.src != file.path)
                    .collect();
                users.sort_by(|a, b| b.weight.total_cmp(&a.weight).then(a.src.cmp(&b.src)));
                (
                    format!(
                        "{} files use names it defines (PageRank {value:.2} times the average file)",
                        users.len()
                    ),
                    users
                        .into_iter()
                        .take(SHOWN)
                        .map(|e| Source {
                            path: e.src.clone(),
                            start_line: 1,
                            end_line: 1,
                            commit: None,
                            note: format!("uses {} (weight {:.2})", file.path, e.weight),
                        })
                        .collect(),
                )
            }
            "findings" => {
                let inside: Vec<_> = report
                    .findings
                    .iter()
                    .filter(|f| start <= f.start_line && f.start_line <= end)
                    .collect();
                (
                    format!("{} findings ({value} weighted by severity)", inside.len()),
                    inside
                        .into_iter()
                        .take(SHOWN)
                        .map(|f| Source {
                            path: f.path.clone(),
                            start_line: f.start_line,
                            end_line: f.end_line,
                            commit: None,
                            note: format!("{} [{}]: {}", f.rule, f.severity.name(), f.message),
                        })
                        .collect(),
                )
            }
            "coverage_gap" => coverage_reason(
                c.gaps.get(&file.path),
                c.gaps.is_empty(),
                &file.path,
                start,
                end,
                value,
            ),
            _ => (format!("{value}"), Vec::new()),
        };
        out.push(Reason {
            feature: (*name).to_owned(),
            value,
            contribution,
            text,
            evidence,
        });
    }
    out.sort_by(|a, b| b.contribution.total_cmp(&a.contribution));
    out
}

fn coverage_reason(
    gap: Option<&Gap>,
    no_report: bool,
    path: &str,
    start: u32,
    end: u32,
    value: f64,
) -> (String, Vec<Source>) {
    if no_report {
        return ("no coverage: Verify has not run".to_owned(), Vec::new());
    }
    let Some(gap) = gap else {
        return (
            "the tests never ran this file (the last Verify run's coverage does not name it)"
                .to_owned(),
            Vec::new(),
        );
    };
    let missing: Vec<u32> = gap
        .missing
        .iter()
        .copied()
        .filter(|l| (start..=end).contains(l))
        .collect();
    // Runs of missing lines, as places.
    let mut runs: Vec<(u32, u32)> = Vec::new();
    for l in &missing {
        match runs.last_mut() {
            Some(r) if r.1 + 1 == *l => r.1 = *l,
            _ => runs.push((*l, *l)),
        }
    }
    (
        format!(
            "{} runnable lines did not run in the last Verify run ({:.0}% of its lines)",
            missing.len(),
            value * 100.0
        ),
        runs.into_iter()
            .take(SHOWN)
            .map(|(a, b)| Source {
                path: path.to_owned(),
                start_line: a,
                end_line: b,
                commit: None,
                note: "not run by the tests".to_owned(),
            })
            .collect(),
    )
}
