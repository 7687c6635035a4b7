//! Review of a change (`lore review`): what SmellHunt finds on the lines
//! the change added, less what people dismissed before.
//!
//! Findings come from the change's own new text (not the index), so a
//! review of a range works at any commit and of staged changes before they
//! are committed. A finding counts when its lines meet an added line; one
//! whose fingerprint (rule, path, symbol, the line's text) a user dismissed
//! is suppressed and counted. Silence is a valid result.

use serde::Serialize;

use crate::RepoIndex;
use crate::error::{Error, Result};
use crate::findings::{self, Finding, Severity, SmellConfig};

/// What to review.
#[derive(Clone, Debug)]
pub enum Change {
    /// `FROM..TO` (any revisions git accepts).
    Range(String, String),
    /// The staged changes over `HEAD`.
    Staged,
}

impl Change {
    /// Parses `FROM..TO`; a single revision `R` means `R~1..R`.
    pub fn parse(range: &str) -> Result<Change> {
        match range.split_once("..") {
            Some((a, b)) if !a.is_empty() && !b.is_empty() && !b.starts_with('.') => {
                Ok(Change::Range(a.to_owned(), b.to_owned()))
            }
            Some(_) => Err(Error::Invalid(format!(
                "review: range {range:?}: expected FROM..TO"
            ))),
            None if !range.is_empty() => Ok(Change::Range(format!("{range}~1"), range.to_owned())),
            None => Err(Error::Invalid("review: the range is empty".into())),
        }
    }
}

/// The review of one change.
#[derive(Clone, Debug, Serialize)]
pub struct Review {
    /// The base revision.
    pub from: String,
    /// The reviewed revision, or `staged`.
    pub to: String,
    /// Files the change added or modified.
    pub files: usize,
    /// Lines it added.
    pub added_lines: u32,
    /// Findings on added lines, by path and line.
    pub findings: Vec<Finding>,
    /// Findings left out because they are like ones people dismissed.
    pub suppressed: usize,
}

impl Review {
    /// The highest severity among the findings.
    pub fn worst(&self) -> Option<Severity> {
        self.findings.iter().map(|f| f.severity).max()
    }
}

/// Reviews `change` in the repository of `index`; `dismissed` holds the
/// fingerprints to suppress.
pub fn review(
    index: &RepoIndex,
    change: &Change,
    config: &SmellConfig,
    dismissed: &std::collections::HashSet<String>,
) -> Result<Review> {
    let root = index.root();
    let (from, to) = match change {
        Change::Range(a, b) => (a.as_str(), Some(b.as_str())),
        Change::Staged => ("HEAD", None),
    };
    let not_git = || Error::Invalid(format!("{}: not a git repository", root.display()));
    let files = lore_git::added_lines(root, from, to)?.ok_or_else(not_git)?;
    let mut out = Vec::new();
    let mut suppressed = 0;
    let mut added = 0;
    for file in &files {
        added += file.lines.iter().map(|(a, b)| b - a + 1).sum::<u32>();
        for f in findings::text_findings(&file.path, &file.text, config) {
            let touched = file
                .lines
                .iter()
                .any(|&(a, b)| f.start_line <= b && a <= f.end_line);
            if !touched {
                continue;
            }
            if dismissed.contains(&f.fingerprint) {
                suppressed += 1;
                continue;
            }
            out.push(f);
        }
    }
    out.sort_by(|a, b| (&a.path, a.start_line, &a.rule).cmp(&(&b.path, b.start_line, &b.rule)));
    Ok(Review {
        from: from.to_owned(),
        to: to.unwrap_or("staged").to_owned(),
        files: files.len(),
        added_lines: added,
        findings: out,
        suppressed,
    })
}

/// GitHub Actions workflow commands, one per finding (`::error file=…`).
pub fn github_annotations(findings: &[Finding]) -> String {
    let escape = |s: &str| {
        s.replace('%', "%25")
            .replace('\r', "%0D")
            .replace('\n', "%0A")
    };
    let prop = |s: &str| escape(s).replace(':', "%3A").replace(',', "%2C");
    findings
        .iter()
        .map(|f| {
            let level = match f.severity {
                Severity::High => "error",
                Severity::Medium => "warning",
                Severity::Low => "notice",
            };
            format!(
                "::{level} file={},line={},endLine={},title={}::{}\n",
                prop(&f.path),
                f.start_line,
                f.end_line,
                prop(&f.rule),
                escape(&f.message)
            )
        })
        .collect()
}
