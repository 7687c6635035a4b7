//! Risk: where the next bug is likely to be, per file and per function,
//! and how well that held in the repository's own past.
//!
//! Features per file, all taken at a moment `at` (HEAD's commit time, or a
//! cut point's): size, churn (commits weighted by recency, lines changed in
//! the past year), authors, age, past bug fixes (weighted by recency),
//! complexity, centrality (PageRank of the file graph), findings (weighted
//! by severity). Counts enter as `ln(1 + x)`, standardized over the
//! repository's files.
//!
//! They combine in a logistic model fitted on the repository's own history:
//! at a training cut a window before `at`, a scratch index of the tree then
//! and the history up to it give each file's features, and the label is
//! whether a fix commit touched the file in the window after. Fewer than
//! [`MIN_CLASS`] files on either side (a young repository, or one whose
//! history has few fix commits) falls back to the documented prior weights
//! in [`PRIOR`]. `--explain` shows each feature's contribution to the
//! linear score.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;

use lore_core::Language;
use lore_git::CommitStat;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::error::{Error, Result};
use crate::findings::{self, FileReport, Hunt, Severity, SmellConfig};
use crate::home::Home;
use crate::query::RepoIndex;

const DAY: i64 = 86_400;

/// The features, in model order.
pub const FEATURES: &[&str] = &[
    "lines",
    "commits",
    "churn_lines",
    "authors",
    "age_days",
    "past_fixes",
    "complexity",
    "centrality",
    "findings",
    "coverage_gap",
];

/// Weights of the prior model (on standardized features), used when the
/// history is too short or has too few fixes to fit one. From the defect
/// prediction literature's consensus, not fitted to any corpus: recent
/// churn and past defects predict best, then size; more authors and
/// younger files are riskier; complexity, centrality and findings add a
/// little beyond size.
pub const PRIOR: &[(&str, f64)] = &[
    ("lines", 0.6),
    ("commits", 0.8),
    ("churn_lines", 0.3),
    ("authors", 0.3),
    ("age_days", -0.2),
    ("past_fixes", 0.6),
    ("complexity", 0.2),
    ("centrality", 0.2),
    ("findings", 0.2),
    ("coverage_gap", 0.3),
];

/// Files needed on each side (fix-touched, not) to fit a model.
pub const MIN_CLASS: usize = 5;

/// Whether a commit subject names a bug fix: fix/bug/crash/regression
/// words, not documentation, typos, releases or merges. Noisy by nature
/// (a "fix" of a typo in a comment, a bug fix whose subject says neither).
pub fn is_fix(subject: &str) -> bool {
    let s = subject.to_lowercase();
    let words: Vec<&str> = s
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    let fixy = words.iter().any(|w| {
        matches!(
            *w,
            "fix"
                | "fixes"
                | "fixed"
                | "fixing"
                | "bug"
                | "bugs"
                | "bugfix"
                | "hotfix"
                | "crash"
                | "crashes"
                | "crashed"
                | "regression"
                | "regressions"
                | "segfault"
                | "panic"
                | "panics"
                | "deadlock"
                | "leak"
                | "broken"
        )
    });
    // Not the product's bugs: documentation, releases, dependencies, the
    // build and CI, linters and type checkers, tests, merges.
    const NOT: &[&str] = &[
        "typo",
        "typos",
        "doc",
        "docs",
        "documentation",
        "readme",
        "changelog",
        "release",
        "bump",
        "spelling",
        "whitespace",
        "lint",
        "linter",
        "formatting",
        "flake8",
        "mypy",
        "clippy",
        "warning",
        "warnings",
        "deps",
        "dependency",
        "dependencies",
        "build",
        "ci",
        "version",
        "conflicts",
    ];
    let not = words.iter().any(|w| NOT.contains(w))
        || ["merge ", "test:", "tests:", "chore", "style", "ci:"]
            .iter()
            .any(|p| s.starts_with(p));
    fixy && !not
}

/// One file's features (raw values) at a moment.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FileFeatures {
    /// Path.
    pub path: String,
    /// Raw values, in [`FEATURES`] order.
    pub raw: Vec<f64>,
}

/// What a history says about each file at `at`.
#[derive(Default)]
struct Churn {
    commits: f64,
    churn_lines: f64,
    authors: HashSet<String>,
    first: Option<i64>,
    past_fixes: f64,
    /// Commits in the past year, unweighted (the churn baseline).
    commits_year: u32,
}

fn churn_by_path(history: &[CommitStat], at: i64) -> HashMap<&str, Churn> {
    let mut by: HashMap<&str, Churn> = HashMap::new();
    for c in history.iter().filter(|c| c.time <= at && !c.merge) {
        let age = (at - c.time) as f64 / DAY as f64;
        let fix = is_fix(&c.subject);
        for f in &c.files {
            let e = by.entry(f.path.as_str()).or_default();
            e.first = Some(e.first.map_or(c.time, |t: i64| t.min(c.time)));
            if age <= 730.0 {
                e.commits += (-age / 180.0).exp();
                e.authors.insert(c.author.clone());
            }
            if age <= 365.0 {
                e.churn_lines += f64::from(f.added + f.deleted);
                e.commits_year += 1;
            }
            if fix {
                e.past_fixes += (-age / 365.0).exp();
            }
        }
    }
    by
}

fn severity_weight(s: Severity) -> f64 {
    match s {
        Severity::High => 3.0,
        Severity::Medium => 1.0,
        Severity::Low => 0.25,
    }
}

fn findings_weight(findings: &[findings::Finding]) -> f64 {
    findings.iter().map(|f| severity_weight(f.severity)).sum()
}

fn is_source(path: &str) -> bool {
    Language::from_path(Path::new(path)).is_parsed()
}

/// What the last Verify run's coverage said about one file.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Gap {
    /// Share of its runnable lines that did not run.
    pub ratio: f64,
    /// Runnable lines that did not run.
    pub missing: Vec<u32>,
    /// Lines that ran, as `[first, last]` runs.
    pub ran: Vec<[u32; 2]>,
}

impl Gap {
    /// Share of the runnable lines in `start..=end` that did not run;
    /// `None` when the report knows no runnable line there.
    pub fn within(&self, start: u32, end: u32) -> Option<f64> {
        let missing = self
            .missing
            .iter()
            .filter(|l| (start..=end).contains(*l))
            .count() as f64;
        let ran: u32 = self
            .ran
            .iter()
            .map(|[a, b]| {
                (*b).min(end)
                    .saturating_add(1)
                    .saturating_sub((*a).max(start))
            })
            .sum();
        let runnable = missing + f64::from(ran);
        (runnable > 0.0).then(|| missing / runnable)
    }
}

/// Each file's coverage gap from the last Verify run's `coverage` fact
/// (empty when Verify has not run).
pub fn coverage_gaps(
    queue: &dyn lore_core::jobs::JobStore,
    repo: &str,
) -> Result<HashMap<String, Gap>> {
    let scope = crate::thoughts::repo_scope(repo);
    let Some((_, value)) = queue.fact_latest(&scope, crate::verify::COVERAGE_KEY)? else {
        return Ok(HashMap::new());
    };
    let v: Value = serde_json::from_str(&value).unwrap_or_default();
    Ok(v.as_object()
        .into_iter()
        .flatten()
        .filter_map(|(path, f)| {
            let lines = f["lines"].as_f64()?;
            let covered = f["covered"].as_f64()?;
            let gap = Gap {
                ratio: 1.0 - covered / lines,
                missing: serde_json::from_value(f["missing"].clone()).unwrap_or_default(),
                ran: serde_json::from_value(f["ran"].clone()).unwrap_or_default(),
            };
            (lines > 0.0).then(|| (path.clone(), gap))
        })
        .collect())
}

/// A file's coverage gap: from the report; a source file the report
/// does not name was never run by the tests (test files count as covered);
/// no report at all, 0 for every file.
fn coverage_gap(gaps: &HashMap<String, Gap>, path: &str) -> f64 {
    match gaps.get(path) {
        Some(gap) => gap.ratio,
        None if gaps.is_empty() || crate::thoughts::is_test_path(path) => 0.0,
        None => 1.0,
    }
}

/// Features of every indexed source file at `at` (`gaps`: coverage gaps
/// by path, when Verify ran; files it did not see count as covered).
pub fn file_features(
    index: &RepoIndex,
    hunt: &Hunt,
    history: &[CommitStat],
    at: i64,
    gaps: &HashMap<String, Gap>,
) -> Result<Vec<FileFeatures>> {
    let graph = crate::thoughts::RepoGraph::of(index)?;
    let n = graph.paths.len().max(1) as f64;
    let churn = churn_by_path(history, at);
    let mut out = Vec::new();
    for file in hunt.files.iter().filter(|f| is_source(&f.path)) {
        let c = churn.get(file.path.as_str());
        let complexity: u32 = file
            .functions
            .iter()
            .map(|f| f.cyclomatic.saturating_sub(1))
            .sum();
        let raw = vec![
            f64::from(file.lines),
            c.map_or(0.0, |c| c.commits),
            c.map_or(0.0, |c| c.churn_lines),
            c.map_or(0.0, |c| c.authors.len() as f64),
            c.and_then(|c| c.first)
                .map_or(0.0, |first| ((at - first).max(0) / DAY) as f64),
            c.map_or(0.0, |c| c.past_fixes),
            f64::from(complexity),
            graph.rank.get(&file.path).copied().unwrap_or(0.0) * n,
            findings_weight(&file.findings),
            coverage_gap(gaps, &file.path),
        ];
        out.push(FileFeatures {
            path: file.path.clone(),
            raw,
        });
    }
    Ok(out)
}

/// How the features combine.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Model {
    /// `fitted` (on this repository's history) or `prior`.
    pub kind: String,
    /// Feature names, in order.
    pub features: Vec<String>,
    /// Mean of each transformed feature over the files it was made on.
    pub mean: Vec<f64>,
    /// Standard deviation of each (1 where it was 0).
    pub std: Vec<f64>,
    /// Weight of each standardized feature.
    pub weights: Vec<f64>,
    /// Intercept.
    pub bias: f64,
    /// How it was fitted (none for the prior).
    pub training: Option<Value>,
}

fn transform(raw: &[f64]) -> Vec<f64> {
    raw.iter().map(|x| x.max(0.0).ln_1p()).collect()
}

fn moments(rows: &[Vec<f64>]) -> (Vec<f64>, Vec<f64>) {
    let k = rows.first().map_or(FEATURES.len(), Vec::len);
    let n = rows.len().max(1) as f64;
    let mut mean = vec![0.0; k];
    for r in rows {
        for (m, x) in mean.iter_mut().zip(r) {
            *m += x / n;
        }
    }
    let mut std = vec![0.0; k];
    for r in rows {
        for ((s, x), m) in std.iter_mut().zip(r).zip(&mean) {
            *s += (x - m).powi(2) / n;
        }
    }
    let std = std
        .into_iter()
        .map(|v| if v > 1e-12 { v.sqrt() } else { 1.0 })
        .collect();
    (mean, std)
}

fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

impl Model {
    /// The prior model, standardized over `files`.
    pub fn prior(files: &[FileFeatures]) -> Model {
        let rows: Vec<Vec<f64>> = files.iter().map(|f| transform(&f.raw)).collect();
        let (mean, std) = moments(&rows);
        Model {
            kind: "prior".to_owned(),
            features: FEATURES.iter().map(|s| (*s).to_owned()).collect(),
            mean,
            std,
            weights: PRIOR.iter().map(|(_, w)| *w).collect(),
            bias: -2.0,
            training: None,
        }
    }

    /// A logistic regression of `labels` on `files`' standardized
    /// features (Newton's method), its weights shrunk toward [`PRIOR`].
    pub fn fit(files: &[FileFeatures], labels: &[bool], training: Value) -> Model {
        let rows: Vec<Vec<f64>> = files.iter().map(|f| transform(&f.raw)).collect();
        let (mean, std) = moments(&rows);
        let z: Vec<Vec<f64>> = rows
            .iter()
            .map(|r| {
                let mut v: Vec<f64> = r
                    .iter()
                    .zip(&mean)
                    .zip(&std)
                    .map(|((x, m), s)| (x - m) / s)
                    .collect();
                v.push(1.0);
                v
            })
            .collect();
        let k = FEATURES.len() + 1;
        // Shrunk toward the prior, not toward zero: a few dozen fixed
        // files move the weights only as far as they agree with each
        // other (the intercept is free).
        let prior: Vec<f64> = PRIOR.iter().map(|(_, w)| *w).collect();
        let mut w = prior.clone();
        // The intercept starts at the base rate's log-odds.
        let rate =
            (labels.iter().filter(|l| **l).count() as f64 + 0.5) / (labels.len() as f64 + 1.0);
        w.push((rate / (1.0 - rate)).ln());
        const LAMBDA: f64 = 10.0;
        let loss = |w: &[f64]| -> f64 {
            let mut l = 0.0;
            for (x, &y) in z.iter().zip(labels) {
                let t: f64 = x.iter().zip(w).map(|(a, b)| a * b).sum();
                // log(1 + e^t) - y t, computed without overflow.
                l += t.max(0.0) + (-t.abs()).exp().ln_1p() - if y { t } else { 0.0 };
            }
            l + LAMBDA / 2.0
                * w.iter()
                    .zip(&prior)
                    .map(|(a, b)| (a - b).powi(2))
                    .sum::<f64>()
        };
        for _ in 0..50 {
            let mut grad = vec![0.0; k];
            let mut hess = vec![vec![0.0; k]; k];
            for (x, &y) in z.iter().zip(labels) {
                let p = sigmoid(x.iter().zip(&w).map(|(a, b)| a * b).sum());
                let r = p - f64::from(u8::from(y));
                let v = (p * (1.0 - p)).max(1e-9);
                for i in 0..k {
                    grad[i] += r * x[i];
                    for j in 0..k {
                        hess[i][j] += v * x[i] * x[j];
                    }
                }
            }
            for i in 0..k - 1 {
                grad[i] += LAMBDA * (w[i] - prior[i]);
                hess[i][i] += LAMBDA;
            }
            let Some(step) = solve(hess, grad) else { break };
            // Damped: halve the step until the penalized loss goes down
            // (a plain Newton step can overshoot from the prior's start).
            let before = loss(&w);
            let mut scale = 1.0;
            let mut next = w.clone();
            for _ in 0..30 {
                next = w
                    .iter()
                    .zip(&step)
                    .map(|(wi, si)| wi - scale * si)
                    .collect();
                if loss(&next) <= before {
                    break;
                }
                scale /= 2.0;
            }
            let moved = w
                .iter()
                .zip(&next)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0, f64::max);
            if !next.iter().all(|x| x.is_finite()) || loss(&next) > before {
                break;
            }
            w = next;
            if moved < 1e-8 {
                break;
            }
        }
        let bias = w.pop().unwrap_or(0.0);
        Model {
            kind: "fitted".to_owned(),
            features: FEATURES.iter().map(|s| (*s).to_owned()).collect(),
            mean,
            std,
            weights: w,
            bias,
            training: Some(training),
        }
    }

    /// Each feature's contribution to the linear score of `raw`.
    pub fn contributions(&self, raw: &[f64]) -> Vec<f64> {
        transform(raw)
            .iter()
            .zip(&self.mean)
            .zip(&self.std)
            .zip(&self.weights)
            .map(|(((x, m), s), w)| w * (x - m) / s)
            .collect()
    }

    /// The probability-like score of `raw`.
    pub fn score(&self, raw: &[f64]) -> f64 {
        sigmoid(self.bias + self.contributions(raw).iter().sum::<f64>())
    }
}

/// Solves `a x = b` by Gaussian elimination with partial pivoting.
fn solve(mut a: Vec<Vec<f64>>, mut b: Vec<f64>) -> Option<Vec<f64>> {
    let n = b.len();
    for col in 0..n {
        let pivot = (col..n).max_by(|&i, &j| a[i][col].abs().total_cmp(&a[j][col].abs()))?;
        if a[pivot][col].abs() < 1e-12 {
            return None;
        }
        a.swap(col, pivot);
        b.swap(col, pivot);
        let pivot_row = a[col].clone();
        for row in col + 1..n {
            let f = a[row][col] / pivot_row[col];
            for (x, p) in a[row][col..].iter_mut().zip(&pivot_row[col..]) {
                *x -= f * p;
            }
            b[row] -= f * b[col];
        }
    }
    let mut x = vec![0.0; n];
    for row in (0..n).rev() {
        let s: f64 = (row + 1..n).map(|c| a[row][c] * x[c]).sum();
        x[row] = (b[row] - s) / a[row][row];
    }
    Some(x)
}

/// A file's or function's risk: stable JSON (`lore risks --json`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Risk {
    /// File.
    pub path: String,
    /// Function (qualified name), at function level.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub symbol: Option<String>,
    /// First line, at function level.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_line: Option<u32>,
    /// Last line, at function level.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_line: Option<u32>,
    /// 0..1, higher is riskier.
    pub score: f64,
    /// 1 is the riskiest.
    pub rank: usize,
    /// Raw feature values.
    pub features: BTreeMap<String, f64>,
    /// Each feature's contribution to the score (with `--explain`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contributions: Option<BTreeMap<String, f64>>,
}

fn round4(x: f64) -> f64 {
    (x * 10_000.0).round() / 10_000.0
}

/// Scores and ranks `files` with `model`.
pub fn rank_files(model: &Model, files: &[FileFeatures], explain: bool) -> Vec<Risk> {
    let mut out: Vec<Risk> = files
        .iter()
        .map(|f| Risk {
            path: f.path.clone(),
            symbol: None,
            start_line: None,
            end_line: None,
            score: round4(model.score(&f.raw)),
            rank: 0,
            features: named(&f.raw),
            contributions: explain.then(|| named(&model.contributions(&f.raw))),
        })
        .collect();
    sort_ranked(&mut out);
    out
}

fn named(values: &[f64]) -> BTreeMap<String, f64> {
    FEATURES
        .iter()
        .zip(values)
        .map(|(k, v)| ((*k).to_owned(), round4(*v)))
        .collect()
}

fn sort_ranked(out: &mut [Risk]) {
    out.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then_with(|| a.path.cmp(&b.path))
            .then_with(|| a.start_line.cmp(&b.start_line))
    });
    for (i, r) in out.iter_mut().enumerate() {
        r.rank = i + 1;
    }
}

/// Functions scored by the file model with their own size, complexity and
/// findings in place of their file's, and their file's history.
pub fn rank_functions(
    model: &Model,
    files: &[FileFeatures],
    hunt: &Hunt,
    gaps: &HashMap<String, Gap>,
    explain: bool,
) -> Vec<Risk> {
    let by_path: HashMap<&str, &FileReport> =
        hunt.files.iter().map(|f| (f.path.as_str(), f)).collect();
    let mut out = Vec::new();
    for file in files {
        let Some(report) = by_path.get(file.path.as_str()) else {
            continue;
        };
        for f in &report.functions {
            let inside: Vec<findings::Finding> = report
                .findings
                .iter()
                .filter(|x| f.start_line <= x.start_line && x.start_line <= f.end_line)
                .cloned()
                .collect();
            let mut raw = file.raw.clone();
            raw[0] = f64::from(f.end_line - f.start_line + 1);
            raw[6] = f64::from(f.cyclomatic.saturating_sub(1));
            raw[8] = findings_weight(&inside);
            if let Some(gap) = gaps
                .get(&file.path)
                .and_then(|g| g.within(f.start_line, f.end_line))
            {
                raw[9] = gap;
            }
            out.push(Risk {
                path: file.path.clone(),
                symbol: Some(f.symbol.clone()),
                start_line: Some(f.start_line),
                end_line: Some(f.end_line),
                score: round4(model.score(&raw)),
                rank: 0,
                features: named(&raw),
                contributions: explain.then(|| named(&model.contributions(&raw))),
            });
        }
    }
    sort_ranked(&mut out);
    out
}

/// Options of a risk computation.
#[derive(Clone, Debug)]
pub struct RiskOptions {
    /// The training window: labels are fixes within it after the
    /// training cut (and the cut is this long before `at`).
    pub window_days: i64,
    /// Years of history read before a moment.
    pub history_years: i64,
    /// Use the prior even if a model could be fitted.
    pub prior_only: bool,
}

impl Default for RiskOptions {
    fn default() -> RiskOptions {
        RiskOptions {
            window_days: 365,
            history_years: 4,
            prior_only: false,
        }
    }
}

/// The history of `root` up to `rev` (sha), read for a moment `at`.
fn history_to(root: &Path, rev: &str, at: i64, options: &RiskOptions) -> Result<Vec<CommitStat>> {
    Ok(lore_git::commit_stats(
        root,
        rev,
        at - options.history_years * 365 * DAY,
        at - 365 * DAY,
    )?
    .unwrap_or_default())
}

/// A scratch index of `root`'s tree at `rev`, under a temporary directory
/// in `home` (removed when the returned guard drops).
pub struct Scratch {
    _dir: tempfile::TempDir,
    /// The index.
    pub index: RepoIndex,
}

/// Builds a [`Scratch`] index of commit `rev` (no vectors, no history).
pub fn scratch_index(home: &Home, root: &Path, rev: &str) -> Result<Scratch> {
    let dir = tempfile::Builder::new()
        .prefix("risk-")
        .tempdir_in(home.path())
        .map_err(|source| Error::Io {
            path: home.path().to_owned(),
            source,
        })?;
    let tree = dir.path().join("tree");
    std::fs::create_dir_all(&tree).map_err(|source| Error::Io {
        path: tree.clone(),
        source,
    })?;
    lore_git::write_tree(root, rev, &tree)?;
    let scratch_home = Home::at(&dir.path().join("home"));
    let config = crate::IndexConfig {
        embed: crate::EmbedConfig {
            enabled: false,
            ..crate::EmbedConfig::default()
        },
        history: lore_git::HistoryConfig { max_commits: 0 },
        ..crate::IndexConfig::default()
    };
    crate::index_repo(&scratch_home, &tree, &config, &())?;
    let index = RepoIndex::open(&scratch_home, &tree)?;
    Ok(Scratch { _dir: dir, index })
}

/// Files touched by fix commits in `(from, to]`.
fn fixed_between(history: &[CommitStat], from: i64, to: i64) -> HashSet<String> {
    history
        .iter()
        .filter(|c| c.time > from && c.time <= to && !c.merge && is_fix(&c.subject))
        .flat_map(|c| c.files.iter().map(|f| f.path.clone()))
        .collect()
}

/// Features of the files at commit `cut` (time `cut_at`, on `rev`'s line)
/// from a scratch index and the history up to it, and whether a fix commit
/// touched each in `(cut_at, until]`.
#[allow(clippy::too_many_arguments)]
fn labelled_cut(
    home: &Home,
    root: &Path,
    rev: &str,
    cut: &str,
    cut_at: i64,
    until: i64,
    config: &SmellConfig,
    options: &RiskOptions,
) -> Result<(Vec<FileFeatures>, Vec<bool>)> {
    let scratch = scratch_index(home, root, cut)?;
    let hunt = findings::hunt(&scratch.index, config)?;
    let before = history_to(root, cut, cut_at, options)?;
    let files = file_features(&scratch.index, &hunt, &before, cut_at, &HashMap::new())?;
    let after = lore_git::commit_stats(root, rev, cut_at, i64::MAX)?.unwrap_or_default();
    let fixed = fixed_between(&after, cut_at, until);
    let labels = files.iter().map(|f| fixed.contains(&f.path)).collect();
    Ok((files, labels))
}

fn classes(labels: &[bool]) -> (usize, usize) {
    let positives = labels.iter().filter(|l| **l).count();
    (positives, labels.len() - positives)
}

/// How well `model` with its size weight lowered by `beta` ranks `files`
/// against `labels`: ROC AUC + recall within the riskiest 20% of lines.
fn effort_score(model: &Model, beta: f64, files: &[FileFeatures], labels: &[bool]) -> f64 {
    let m = with_size_adjust(model.clone(), beta);
    let lines: Vec<f64> = files.iter().map(|f| f.raw[0]).collect();
    let scores: Vec<f64> = files.iter().map(|f| m.score(&f.raw)).collect();
    roc_auc(&scores, labels).unwrap_or(0.5) + recall_at_lines(&scores, labels, &lines, 0.2)
}

fn with_size_adjust(mut model: Model, beta: f64) -> Model {
    model.weights[0] -= beta * model.std[0];
    model
}

/// How much better (ROC AUC + recall within 20% of lines, on the training
/// cut) a fitted model or a size adjustment must judge than the plain prior
/// to be used instead. Chosen on a corpus of ten public repositories that
/// are neither in the benchmark nor in the reserved set (`bench/risk.py
/// --set train`): without a margin, choices made on one window of a few
/// dozen fixes lost more than they won on the next (0.785 / 0.133 mean AUC
/// / recall there, against 0.811 / 0.133 with it).
const CHOICE_MARGIN: f64 = 0.1;

/// Size adjustments tried (standard deviations of ln lines taken off the
/// size weight).
const BETAS: [f64; 4] = [0.0, 0.25, 0.5, 1.0];

/// The model for moment `at` (commit `rev` of `root`), chosen the way a
/// forecast is checked: at the training cut T one window before `at`
/// (features from a scratch index of the tree then and the history up to
/// it, labels = fixes in the window after), and at a validation cut V one
/// window before T. A model fitted at V and the prior, each with each size
/// adjustment, are scored on T's labels (ROC AUC + recall in 20% of
/// lines); the winner's family is then made again at T (fitted on T, or
/// the prior) with the winning adjustment — if it beat the plain prior by
/// [`CHOICE_MARGIN`]; otherwise, and when too few fix-touched files at T
/// or no usable V leave nothing to check a choice on, the plain prior.
/// Knows nothing after `at`.
pub fn model_at(
    home: &Home,
    root: &Path,
    rev: &str,
    at: i64,
    config: &SmellConfig,
    options: &RiskOptions,
    prior_files: &[FileFeatures],
) -> Result<Model> {
    let prior = Model::prior(prior_files);
    if options.prior_only {
        return Ok(prior);
    }
    let window = options.window_days * DAY;
    let Some((cut, cut_at)) = lore_git::commit_at(root, rev, at - window)? else {
        return Ok(with_note(prior, "history shorter than the window"));
    };
    let (files, labels) = labelled_cut(home, root, rev, &cut, cut_at, at, config, options)?;
    let (positives, negatives) = classes(&labels);
    if positives < MIN_CLASS || negatives < MIN_CLASS {
        return Ok(with_note(
            prior,
            &format!(
                "{positives} of {} files touched by fixes in the training window: too few to fit",
                labels.len()
            ),
        ));
    }
    let mut training = json!({
        "cut": cut,
        "cut_time": lore_core::time::rfc3339(cut_at * 1000),
        "window_days": options.window_days,
        "files": labels.len(),
        "positives": positives,
    });
    // Validation: models made one window earlier, judged on T.
    let validation = match lore_git::commit_at(root, rev, cut_at - window)? {
        Some((v, v_at)) => {
            let (v_files, v_labels) =
                labelled_cut(home, root, rev, &v, v_at, cut_at, config, options)?;
            let (p, n) = classes(&v_labels);
            (p >= MIN_CLASS && n >= MIN_CLASS).then_some((v, v_at, v_files, v_labels))
        }
        None => None,
    };
    let (family, beta) = match &validation {
        Some((v, v_at, v_files, v_labels)) => {
            let fitted_v = Model::fit(v_files, v_labels, json!({}));
            let prior_v = Model::prior(v_files);
            // The prior as it is, unless something else is clearly better.
            let plain = effort_score(&prior_v, 0.0, &files, &labels);
            let mut best = ("prior", 0.0, plain + CHOICE_MARGIN);
            for (name, model) in [("fitted", &fitted_v), ("prior", &prior_v)] {
                for beta in BETAS {
                    let j = effort_score(model, beta, &files, &labels);
                    // Ties keep the earlier: fitted before prior, less
                    // adjustment before more.
                    if j > best.2 + 1e-9 {
                        best = (name, beta, j);
                    }
                }
            }
            training["validation"] = json!({
                "cut": v,
                "cut_time": lore_core::time::rfc3339(v_at * 1000),
                "positives": classes(v_labels).0,
                "chosen": best.0,
                "score": round4(if best.1 == 0.0 && best.0 == "prior" { plain } else { best.2 }),
                "prior_score": round4(plain),
            });
            (best.0, best.1)
        }
        None => {
            training["validation"] = json!({ "chosen": "prior", "note": "no earlier window with enough fixes to validate a fit" });
            ("prior", 0.0)
        }
    };
    training["size_adjust"] = json!(beta);
    let model = match family {
        "fitted" => Model::fit(&files, &labels, training.clone()),
        _ => prior,
    };
    Ok(Model {
        training: Some(training),
        ..with_size_adjust(model, beta)
    })
}

fn with_note(mut model: Model, note: &str) -> Model {
    model.training = Some(json!({ "fallback": note }));
    model
}

/// `lore risks`: the ranked files or functions of the index, with the
/// model that scored them.
pub struct RiskMap {
    /// Riskiest first.
    pub risks: Vec<Risk>,
    /// The model.
    pub model: Model,
    /// The commit.
    pub commit: String,
}

#[derive(Serialize, Deserialize)]
struct CachedModel {
    commit: String,
    window_days: i64,
    config: String,
    model: Model,
}

const MODEL_FILE: &str = "risk-model.json";

const FEATURES_FILE: &str = "risk-features.json";

#[derive(Serialize, Deserialize)]
struct CachedFeatures {
    key: String,
    files: Vec<FileFeatures>,
}

/// A cache file, written whole (temp file and rename) or not at all.
fn write_cache(path: &Path, value: &impl Serialize) {
    let bytes = serde_json::to_vec(value).expect("a cache serializes");
    let tmp = path.with_extension("json.tmp");
    if std::fs::write(&tmp, bytes).is_ok() {
        let _ = std::fs::rename(&tmp, path);
    }
}

/// A digest of the coverage gaps (they change when Verify runs).
fn gaps_digest(gaps: &HashMap<String, Gap>) -> String {
    let mut keys: Vec<(&String, &Gap)> = gaps.iter().collect();
    keys.sort_by(|a, b| a.0.cmp(b.0));
    let mut h = blake3::Hasher::new();
    for (path, g) in keys {
        h.update(path.as_bytes());
        h.update(&g.ratio.to_le_bytes());
        for l in &g.missing {
            h.update(&l.to_le_bytes());
        }
    }
    h.finalize().to_hex()[..16].to_owned()
}

/// What a risk map is made of.
struct Computed {
    hunt: Hunt,
    files: Vec<FileFeatures>,
    history: Vec<CommitStat>,
    gaps: HashMap<String, Gap>,
    model: Model,
    commit: String,
    at: i64,
}

/// The features of `index` at its indexed commit and the model that scores
/// them. The fitted model is kept in the data directory for the commit it
/// was made at.
fn compute(
    home: &Home,
    index: &RepoIndex,
    config: &SmellConfig,
    options: &RiskOptions,
    with_history: bool,
) -> Result<Computed> {
    let hunt = findings::hunt_cached(index, config)?;
    let root = index.root().to_owned();
    let head = lore_git::commit_time(&root, index.indexed_commit().unwrap_or("HEAD"))
        .ok()
        .flatten();
    let (commit, at) = match &head {
        Some((sha, at)) => (sha.clone(), *at),
        None => (String::new(), lore_core::time::now_ms() / 1000),
    };
    // Read at most once, and only when needed (features not cached, or
    // evidence asked for).
    let read_history = || -> Result<Vec<CommitStat>> {
        match &head {
            Some(_) => history_to(&root, &commit, at, options),
            None => Ok(Vec::new()),
        }
    };
    let mut history: Option<Vec<CommitStat>> = None;
    let gaps = match lore_store::SqliteJobs::open(&home.thinker_db()) {
        Ok(queue) => coverage_gaps(&queue, &home.repo_id(index.root()))?,
        Err(_) => HashMap::new(),
    };
    // The features are kept per commit, index generation, settings and
    // coverage: reading years of history with line counts is most of a
    // risk map's time.
    let feature_key = format!(
        "{commit}|{}|{options:?}|{}|{}",
        index.generation(),
        config.key(),
        gaps_digest(&gaps)
    );
    let features_file = index.data_dir().join(FEATURES_FILE);
    let files = match std::fs::read(&features_file)
        .ok()
        .and_then(|b| serde_json::from_slice::<CachedFeatures>(&b).ok())
        .filter(|c| c.key == feature_key)
    {
        Some(c) => c.files,
        None => {
            let read = read_history()?;
            let files = file_features(index, &hunt, &read, at, &gaps)?;
            history = Some(read);
            write_cache(
                &features_file,
                &CachedFeatures {
                    key: feature_key,
                    files: files.clone(),
                },
            );
            files
        }
    };
    let cache = index.data_dir().join(MODEL_FILE);
    let key = format!("{options:?}");
    let cached = std::fs::read(&cache)
        .ok()
        .and_then(|b| serde_json::from_slice::<CachedModel>(&b).ok())
        .filter(|c| c.commit == commit && c.window_days == options.window_days && c.config == key);
    let model = match (cached, head.is_some()) {
        (Some(c), _) => c.model,
        (None, false) => with_note(Model::prior(&files), "not a git repository"),
        (None, true) => {
            let model = model_at(home, &root, &commit, at, config, options, &files)?;
            write_cache(
                &cache,
                &CachedModel {
                    commit: commit.clone(),
                    window_days: options.window_days,
                    config: key,
                    model: model.clone(),
                },
            );
            model
        }
    };
    let history = match (with_history, history) {
        (false, _) => Vec::new(),
        (true, Some(read)) => read,
        (true, None) => read_history()?,
    };
    Ok(Computed {
        hunt,
        files,
        history,
        gaps,
        model,
        commit,
        at,
    })
}

/// Each file's risk from the last risk map made at `index`'s indexed commit
/// and generation (by `lore risk`, the risk view or a thought), read from
/// its caches and never computed here: `None` when there is none yet.
/// Impact and review quote it; making a risk map can take minutes.
pub fn cached_file_risks(index: &RepoIndex) -> Option<HashMap<String, Risk>> {
    let read = |name: &str| std::fs::read(index.data_dir().join(name)).ok();
    let features: CachedFeatures = serde_json::from_slice(&read(FEATURES_FILE)?).ok()?;
    let model: CachedModel = serde_json::from_slice(&read(MODEL_FILE)?).ok()?;
    let commit = features.key.split('|').next()?;
    let generation = features.key.split('|').nth(1)?;
    let indexed = index.indexed_commit().unwrap_or("");
    let fresh = !commit.is_empty()
        && model.commit == commit
        && indexed.starts_with(commit)
        && generation == index.generation().to_string();
    fresh.then(|| {
        rank_files(&model.model, &features.files, false)
            .into_iter()
            .map(|r| (r.path.clone(), r))
            .collect()
    })
}

/// The risk map of `index` at its indexed commit.
pub fn risk_map(
    home: &Home,
    index: &RepoIndex,
    config: &SmellConfig,
    options: &RiskOptions,
    functions: bool,
    explain: bool,
) -> Result<RiskMap> {
    let c = compute(home, index, config, options, false)?;
    let risks = if functions {
        rank_functions(&c.model, &c.files, &c.hunt, &c.gaps, explain)
    } else {
        rank_files(&c.model, &c.files, explain)
    };
    Ok(RiskMap {
        risks,
        model: c.model,
        commit: c.commit,
    })
}

/// ROC AUC of `scores` against `labels` (ties count half); `None` when one
/// class is empty.
pub fn roc_auc(scores: &[f64], labels: &[bool]) -> Option<f64> {
    let mut idx: Vec<usize> = (0..scores.len()).collect();
    idx.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    let pos = labels.iter().filter(|l| **l).count() as f64;
    let neg = labels.len() as f64 - pos;
    if pos == 0.0 || neg == 0.0 {
        return None;
    }
    // Average ranks over ties.
    let mut rank_sum = 0.0;
    let mut i = 0;
    while i < idx.len() {
        let mut j = i;
        while j + 1 < idx.len() && scores[idx[j + 1]] == scores[idx[i]] {
            j += 1;
        }
        let avg = (i + j) as f64 / 2.0 + 1.0;
        for &k in &idx[i..=j] {
            if labels[k] {
                rank_sum += avg;
            }
        }
        i = j + 1;
    }
    Some((rank_sum - pos * (pos + 1.0) / 2.0) / (pos * neg))
}

/// Share of the positive files found within the riskiest files holding
/// `fraction` of all lines (taken riskiest first until the next one would
/// not fit).
pub fn recall_at_lines(scores: &[f64], labels: &[bool], lines: &[f64], fraction: f64) -> f64 {
    let total: f64 = lines.iter().sum();
    let pos = labels.iter().filter(|l| **l).count();
    if pos == 0 {
        return 0.0;
    }
    let mut idx: Vec<usize> = (0..scores.len()).collect();
    idx.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]).then(a.cmp(&b)));
    let budget = total * fraction;
    let (mut used, mut found) = (0.0, 0);
    for i in idx {
        if used + lines[i] > budget {
            break;
        }
        used += lines[i];
        found += usize::from(labels[i]);
    }
    found as f64 / pos as f64
}

/// `lore eval --risk`: at each cut (days before HEAD), the risk map as it
/// would have been computed then — a scratch index of the tree at the cut,
/// the history up to it, a model fitted a window before it — against the
/// files fix commits touched in the window after; with LOC-only and
/// churn-only (commits in the year before) baselines scored the same way.
pub fn eval_risk(
    home: &Home,
    index: &RepoIndex,
    config: &SmellConfig,
    cut_days: &[i64],
    window_days: i64,
    per_file: bool,
) -> Result<Vec<Value>> {
    let root = index.root().to_owned();
    let Some((head, head_at)) =
        lore_git::commit_time(&root, index.indexed_commit().unwrap_or("HEAD"))?
    else {
        return Err(Error::Invalid(format!(
            "{}: not a git repository: risk is evaluated on its history",
            root.display()
        )));
    };
    let options = RiskOptions {
        window_days,
        ..RiskOptions::default()
    };
    let mut out = Vec::new();
    for &days in cut_days {
        if days < window_days {
            return Err(Error::Invalid(format!(
                "--cut {days}d: a cut must be at least the window ({window_days}d) before HEAD, \
                 or fixes after it are not all known yet"
            )));
        }
        let Some((cut, cut_at)) = lore_git::commit_at(&root, &head, head_at - days * DAY)? else {
            return Err(Error::Invalid(format!(
                "--cut {days}d: the history does not reach that far back"
            )));
        };
        let scratch = scratch_index(home, &root, &cut)?;
        let hunt = findings::hunt(&scratch.index, config)?;
        let before = history_to(&root, &cut, cut_at, &options)?;
        let files = file_features(&scratch.index, &hunt, &before, cut_at, &HashMap::new())?;
        let model = model_at(home, &root, &cut, cut_at, config, &options, &files)?;
        let after = lore_git::commit_stats(&root, &head, cut_at, i64::MAX)?.unwrap_or_default();
        let fixed = fixed_between(&after, cut_at, cut_at + window_days * DAY);
        let labels: Vec<bool> = files.iter().map(|f| fixed.contains(&f.path)).collect();
        let lines: Vec<f64> = files.iter().map(|f| f.raw[0]).collect();
        let year = churn_by_path(&before, cut_at);
        let churn: Vec<f64> = files
            .iter()
            .map(|f| {
                year.get(f.path.as_str())
                    .map_or(0.0, |c| f64::from(c.commits_year))
            })
            .collect();
        let risk: Vec<f64> = files.iter().map(|f| model.score(&f.raw)).collect();
        let prior = Model::prior(&files);
        let prior_scores: Vec<f64> = files.iter().map(|f| prior.score(&f.raw)).collect();
        let metric = |scores: &[f64]| {
            json!({
                "auc": roc_auc(scores, &labels).map(round4),
                "recall_at_20pct_lines": round4(recall_at_lines(scores, &labels, &lines, 0.2)),
            })
        };
        let mut report = json!({
            "cut": cut,
            "cut_time": lore_core::time::rfc3339(cut_at * 1000),
            "window_days": window_days,
            "files": files.len(),
            "fix_touched": labels.iter().filter(|l| **l).count(),
            "model": model.kind,
            "training": model.training,
            "weights": named(&model.weights),
            "bias": round4(model.bias),
            "risk": metric(&risk),
            "prior": metric(&prior_scores),
            "loc": metric(&lines),
            "churn": metric(&churn),
        });
        if per_file {
            report["per_file"] = files
                .iter()
                .enumerate()
                .map(|(i, f)| {
                    json!({
                        "path": f.path,
                        "label": labels[i],
                        "features": named(&f.raw),
                        "risk": risk[i],
                        "prior": prior_scores[i],
                        "churn": churn[i],
                    })
                })
                .collect();
        }
        out.push(report);
    }
    Ok(out)
}

mod why;
pub use why::{Reason, RiskCard, Source, why};

#[cfg(test)]
mod tests;
