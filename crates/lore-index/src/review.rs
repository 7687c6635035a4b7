//! Review of a change (`lore review`): what SmellHunt finds on the lines
//! the change added, less what people dismissed before.
//!
//! Findings come from the change's own new text (not the index), so a
//! review of a range works at any commit and of staged changes before they
//! are committed. A finding counts when its lines meet an added line; one
//! whose fingerprint (rule, path, symbol, the line's text) a user dismissed
//! is suppressed and counted. Silence is a valid result.
//!
//! Two review rules look at the change as a whole: `review/missing-tests`
//! (a source file's functions changed and no test file did; it names the
//! tests that exercise the file today, from impact) and
//! `review/docs-mention` (a document the change left alone names a symbol
//! it modified). The review also carries an impact summary: the files
//! likeliest to need a change too that the change did not touch.

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
    /// The base revision and the reviewed one (`None`: the staged changes).
    fn bounds(&self) -> (&str, Option<&str>) {
        match self {
            Change::Range(a, b) => (a.as_str(), Some(b.as_str())),
            Change::Staged => ("HEAD", None),
        }
    }

    /// What the change added, per file.
    fn added(&self, root: &std::path::Path) -> Result<Vec<lore_git::AddedLines>> {
        let (from, to) = self.bounds();
        lore_git::added_lines(root, from, to)?
            .ok_or_else(|| Error::Invalid(format!("{}: not a git repository", root.display())))
    }

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
    /// Symbols whose lines the change added to (functions, methods, types).
    pub changed_symbols: Vec<String>,
    /// Files likeliest to need a change too, not in the change (ranges).
    pub impact: Vec<ImpactNote>,
}

/// A file impact says may need a change too.
#[derive(Clone, Debug, Serialize)]
pub struct ImpactNote {
    /// Path.
    pub path: String,
    /// Impact's score.
    pub score: f64,
    /// Its strongest reason.
    pub reason: String,
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
    let (from, to) = change.bounds();
    let files = change.added(index.root())?;
    let mut out = Vec::new();
    let mut suppressed = 0;
    let mut added = 0;
    let changed = changed_symbols(&files);
    let mut whole = Vec::new();
    if config.enabled(findings::MISSING_TESTS) {
        whole.extend(missing_tests(index, &files, &changed, config)?);
    }
    if config.enabled(findings::DOCS_MENTION) {
        whole.extend(docs_mentions(index, &files, &changed, config)?);
    }
    if config.enabled(findings::CONVENTION) {
        whole.extend(convention_departures(index, &files, &changed, config)?);
    }
    if config.enabled(findings::DUPLICATE) {
        whole.extend(duplicated_blocks(index, &files, config)?);
    }
    for f in whole {
        if dismissed.contains(&f.fingerprint) {
            suppressed += 1;
        } else {
            out.push(f);
        }
    }
    for file in &files {
        added += file.lines.iter().map(|(a, b)| b - a + 1).sum::<u32>();
        // A function that was already over a metric's threshold is the
        // hunt's business, not this change's: metric findings count only
        // when the old version of the symbol did not have them.
        let before: std::collections::HashSet<(String, Option<String>)> = file
            .old_text
            .as_deref()
            .map(|old| findings::text_findings(&file.path, old, config))
            .unwrap_or_default()
            .into_iter()
            .filter(|f| is_metric(&f.rule))
            .map(|f| (f.rule, f.symbol))
            .collect();
        for f in findings::text_findings(&file.path, &file.text, config) {
            if is_metric(&f.rule) && before.contains(&(f.rule.clone(), f.symbol.clone())) {
                continue;
            }
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
    sort_findings(&mut out);
    let impact = match to {
        Some(to) if !files.is_empty() => {
            let opts = crate::impact::ImpactOptions { depth: 1, limit: 5 };
            crate::impact::impact(index, &format!("{from}..{to}"), &opts)
                .map(|r| {
                    r.files
                        .into_iter()
                        .map(|f| ImpactNote {
                            reason: f.reasons.first().cloned().unwrap_or_default(),
                            path: f.path,
                            score: f.score,
                        })
                        .collect()
                })
                .unwrap_or_default()
        }
        _ => Vec::new(),
    };
    Ok(Review {
        from: from.to_owned(),
        to: to.unwrap_or("staged").to_owned(),
        files: files.len(),
        added_lines: added,
        findings: out,
        suppressed,
        changed_symbols: changed
            .iter()
            .map(|c| format!("{}:{}", c.path, c.qualname))
            .collect(),
        impact,
    })
}

/// Findings in a review's order: by path, line and rule.
pub fn sort_findings(findings: &mut [Finding]) {
    findings
        .sort_by(|a, b| (&a.path, a.start_line, &a.rule).cmp(&(&b.path, b.start_line, &b.rule)));
}

/// A stretch of a change to show a reviewer: added lines with a few lines
/// of context, near stretches merged.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hunk {
    /// Path.
    pub path: String,
    /// First line (new text).
    pub start: u32,
    /// Last line.
    pub end: u32,
    /// Its lines as the change left them.
    pub text: String,
}

/// Lines of context around added lines in a [`Hunk`], and the longest hunk.
const HUNK_CONTEXT: u32 = 3;
const HUNK_MAX: u32 = 80;

/// The change's hunks, file by file (the order the diff gives).
pub fn hunks(index: &RepoIndex, change: &Change) -> Result<Vec<Hunk>> {
    let files = change.added(index.root())?;
    let mut out: Vec<Hunk> = Vec::new();
    for file in &files {
        let last = file.text.lines().count() as u32;
        for &(a, b) in &file.lines {
            let start = a.saturating_sub(HUNK_CONTEXT).max(1);
            let end = (b + HUNK_CONTEXT).min(last.max(1));
            match out.last_mut() {
                Some(h)
                    if h.path == file.path && start <= h.end + 1 && end - h.start < HUNK_MAX =>
                {
                    h.end = h.end.max(end);
                }
                _ => out.push(Hunk {
                    path: file.path.clone(),
                    start,
                    end: end.min(start + HUNK_MAX - 1),
                    text: String::new(),
                }),
            }
        }
        let lines: Vec<&str> = file.text.lines().collect();
        for h in out.iter_mut().filter(|h| h.path == file.path) {
            let (a, b) = (h.start as usize - 1, (h.end as usize).min(lines.len()));
            h.text = lines.get(a..b).map(|l| l.join("\n")).unwrap_or_default();
        }
    }
    Ok(out)
}

/// A model's review comment on `path` lines `start..=end` as a finding
/// (fingerprinted like every other, so dismissing it sticks).
pub fn model_comment(
    index: &RepoIndex,
    config: &SmellConfig,
    path: &str,
    (start, end): (u32, u32),
    comment: &str,
    model: &str,
) -> Finding {
    let mut f = vec![Finding {
        rule: findings::MODEL_COMMENT.to_owned(),
        severity: config.severity_of(findings::MODEL_COMMENT),
        message: format!("{comment} ({model}; the cited lines verified)"),
        hint: findings::rule_info(findings::MODEL_COMMENT)
            .map(|r| r.hint.to_owned())
            .unwrap_or_default(),
        path: path.to_owned(),
        start_line: start,
        end_line: end,
        symbol: None,
        tool: "lore".to_owned(),
        fingerprint: String::new(),
    }];
    let text = std::fs::read_to_string(index.root().join(path)).unwrap_or_default();
    findings::fingerprint_all(&mut f, &text);
    f.pop().expect("one finding")
}

/// Rules that measure a whole function (complexity, size): a change
/// inside one already over the threshold did not cause it.
fn is_metric(rule: &str) -> bool {
    rule.starts_with("complexity/") || rule.starts_with("size/")
}

/// A symbol whose lines the change added to.
struct ChangedSymbol {
    path: String,
    qualname: String,
    name: String,
    start: u32,
    function: bool,
    lang: lore_core::Language,
    signature: String,
    /// The change wrote its declaration line (new or re-declared).
    declared: bool,
    /// The added lines that are its own (not a nested function's), with
    /// their numbers.
    added: Vec<(u32, String)>,
}

/// The innermost functions, methods and types of each file's new text
/// that meet an added line.
fn changed_symbols(files: &[lore_git::AddedLines]) -> Vec<ChangedSymbol> {
    use lore_core::SymbolKind;
    let mut out = Vec::new();
    for file in files {
        let lang = lore_core::Language::from_path(std::path::Path::new(&file.path));
        if !lang.is_parsed() {
            continue;
        }
        let syntax = lore_syntax::parse(&file.text, lang);
        for (i, s) in syntax.symbols.iter().enumerate() {
            let function = matches!(s.kind, SymbolKind::Function | SymbolKind::Method);
            let container = matches!(
                s.kind,
                SymbolKind::Class
                    | SymbolKind::Struct
                    | SymbolKind::Enum
                    | SymbolKind::Trait
                    | SymbolKind::Interface
            );
            if !function && !container {
                continue;
            }
            // Only where the added lines are the symbol's own, not a
            // nested function's.
            let own = |line: u32| {
                s.start_line <= line
                    && line <= s.end_line
                    && !syntax.symbols.iter().skip(i + 1).any(|n| {
                        n.parent.is_some_and(|p| p == i)
                            && n.start_line <= line
                            && line <= n.end_line
                    })
            };
            let touched = file.lines.iter().any(|&(a, b)| (a..=b).any(own));
            if touched {
                let text: Vec<&str> = file.text.lines().collect();
                let added = file
                    .lines
                    .iter()
                    .flat_map(|&(a, b)| a..=b)
                    .filter(|&l| own(l))
                    .filter_map(|l| Some((l, (*text.get(l as usize - 1)?).to_owned())))
                    .collect();
                out.push(ChangedSymbol {
                    path: file.path.clone(),
                    qualname: s.qualname.clone(),
                    name: s.name.clone(),
                    start: s.start_line,
                    function,
                    lang,
                    signature: s.signature.clone(),
                    declared: file
                        .lines
                        .iter()
                        .any(|&(a, b)| a <= s.start_line && s.start_line <= b),
                    added,
                });
            }
        }
    }
    out
}

/// `review/missing-tests`: per source file whose functions changed, when
/// no test file is in the change.
fn missing_tests(
    index: &RepoIndex,
    files: &[lore_git::AddedLines],
    changed: &[ChangedSymbol],
    config: &SmellConfig,
) -> Result<Vec<Finding>> {
    use crate::thoughts::entry::is_test_path;
    if files.iter().any(|f| is_test_path(&f.path)) {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for file in files {
        if is_test_path(&file.path) || crate::query::is_aux_path(&file.path) {
            continue;
        }
        let mine: Vec<&ChangedSymbol> = changed
            .iter()
            .filter(|c| c.path == file.path && c.function)
            .collect();
        let Some(first) = mine.first() else {
            continue;
        };
        let opts = crate::impact::ImpactOptions { depth: 2, limit: 5 };
        let tests: Vec<String> = crate::impact::impact(index, &file.path, &opts)
            .map(|r| r.tests.into_iter().take(3).map(|t| t.path).collect())
            .unwrap_or_default();
        let more = if mine.len() > 1 {
            format!(" and {} more", mine.len() - 1)
        } else {
            String::new()
        };
        let known = if tests.is_empty() {
            "no test is known to exercise this file".to_owned()
        } else {
            format!("tests that exercise it: {}", tests.join(", "))
        };
        let mut f = vec![Finding {
            rule: findings::MISSING_TESTS.to_owned(),
            severity: config.severity_of(findings::MISSING_TESTS),
            message: format!(
                "`{}`{more} changed and no test changed with it; {known}",
                first.qualname
            ),
            hint: findings::rule_info(findings::MISSING_TESTS)
                .map(|r| r.hint.to_owned())
                .unwrap_or_default(),
            path: file.path.clone(),
            start_line: first.start,
            end_line: first.start,
            symbol: Some(first.qualname.clone()),
            tool: "lore".to_owned(),
            fingerprint: String::new(),
        }];
        findings::fingerprint_all(&mut f, &file.text);
        out.extend(f);
    }
    Ok(out)
}

/// `review/docs-mention`: documents outside the change that name a
/// changed symbol (distinctive names only: five characters or more).
fn docs_mentions(
    index: &RepoIndex,
    files: &[lore_git::AddedLines],
    changed: &[ChangedSymbol],
    config: &SmellConfig,
) -> Result<Vec<Finding>> {
    let in_change: std::collections::HashSet<&str> =
        files.iter().map(|f| f.path.as_str()).collect();
    let mut out = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for c in changed {
        if c.name.len() < 5 || !seen.insert(c.name.clone()) {
            continue;
        }
        let hits = index
            .search(
                &c.name,
                &crate::SearchOptions {
                    limit: 20,
                    mode: crate::SearchMode::Lexical,
                    ..Default::default()
                },
            )
            .unwrap_or_default();
        for hit in hits {
            let path = &hit.at.path;
            let doc = [".md", ".rst", ".txt", ".adoc"]
                .iter()
                .any(|e| path.ends_with(e));
            if !doc || in_change.contains(path.as_str()) {
                continue;
            }
            let Some((offset, _)) = hit
                .text
                .lines()
                .enumerate()
                .find(|(_, l)| names_word(l, &c.name))
            else {
                continue;
            };
            let line = hit.at.start_line + offset as u32;
            let text = std::fs::read_to_string(index.root().join(path)).unwrap_or_default();
            let mut f = vec![Finding {
                rule: findings::DOCS_MENTION.to_owned(),
                severity: config.severity_of(findings::DOCS_MENTION),
                message: format!(
                    "names `{}`, which this change modified ({}:{})",
                    c.name, c.path, c.start
                ),
                hint: findings::rule_info(findings::DOCS_MENTION)
                    .map(|r| r.hint.to_owned())
                    .unwrap_or_default(),
                path: path.clone(),
                start_line: line,
                end_line: line,
                symbol: None,
                tool: "lore".to_owned(),
                fingerprint: String::new(),
            }];
            findings::fingerprint_all(&mut f, &text);
            out.extend(f);
            if out.len() >= 10 {
                return Ok(out);
            }
        }
    }
    Ok(out)
}

/// `review/convention`: functions the change declared that depart from
/// a convention of their directory (see [`crate::conventions`]).
fn convention_departures(
    index: &RepoIndex,
    files: &[lore_git::AddedLines],
    changed: &[ChangedSymbol],
    config: &SmellConfig,
) -> Result<Vec<Finding>> {
    use crate::conventions::{self, Convention};
    let mut learned: std::collections::HashMap<(String, lore_core::Language), Vec<Convention>> =
        std::collections::HashMap::new();
    let mut out = Vec::new();
    for c in changed.iter().filter(|c| c.function) {
        if crate::thoughts::entry::is_test_path(&c.path) {
            continue;
        }
        let dir = c.path.rfind('/').map_or("", |i| &c.path[..i]).to_owned();
        let key = (dir.clone(), c.lang);
        if !learned.contains_key(&key) {
            learned.insert(key.clone(), conventions::learn(index, &dir, c.lang)?);
        }
        for conv in &learned[&key] {
            // The first added line of the function written the other way.
            let added_line = |way: fn(lore_core::Language, &str) -> Option<&'static str>,
                              odd: &str| {
                c.added
                    .iter()
                    .find(|(_, l)| way(c.lang, l) == Some(odd))
                    .map(|(n, l)| (*n, l.trim().to_owned()))
            };
            let (found, what, line) = match conv.kind {
                "return-type" if c.declared => match conventions::return_type(c.lang, &c.signature)
                {
                    Some(t) => (t.clone(), format!("returns `{t}`"), c.start),
                    None => continue,
                },
                "naming" if c.declared => match conventions::naming(&c.name) {
                    Some(style) => (style.to_owned(), format!("is named in {style}"), c.start),
                    None => continue,
                },
                // Only the departure that matters: printing where the
                // directory logs, a bare error where it wraps.
                "logging" if conv.value == conventions::LOGGER => {
                    match added_line(conventions::logging, conventions::PRINT) {
                        Some((n, l)) => {
                            (conventions::PRINT.to_owned(), format!("prints (`{l}`)"), n)
                        }
                        None => continue,
                    }
                }
                "error-wrapping" if conv.value == conventions::WRAPPED => {
                    match added_line(conventions::error_returns, conventions::BARE) {
                        Some((n, l)) => (
                            conventions::BARE.to_owned(),
                            format!("returns an error as it came (`{l}`)"),
                            n,
                        ),
                        None => continue,
                    }
                }
                _ => continue,
            };
            if found == conv.value {
                continue;
            }
            let text = files
                .iter()
                .find(|f| f.path == c.path)
                .map_or("", |f| f.text.as_str());
            let mut f = vec![Finding {
                rule: findings::CONVENTION.to_owned(),
                severity: config.severity_of(findings::CONVENTION),
                message: format!(
                    "`{}` {what}; {} (e.g. {})",
                    c.qualname,
                    conv.statement(),
                    conv.examples.join(", ")
                ),
                hint: findings::rule_info(findings::CONVENTION)
                    .map(|r| r.hint.to_owned())
                    .unwrap_or_default(),
                path: c.path.clone(),
                start_line: line,
                end_line: line,
                symbol: Some(c.qualname.clone()),
                tool: "lore".to_owned(),
                fingerprint: String::new(),
            }];
            findings::fingerprint_all(&mut f, text);
            out.extend(f);
        }
    }
    Ok(out)
}

/// Blocks the change added that repeat code elsewhere (or each other):
/// SmellHunt's duplicate detection over the changed files' new text and
/// every other indexed file of a parsed language as it is on disk, kept
/// where a copy meets added lines.
fn duplicated_blocks(
    index: &RepoIndex,
    files: &[lore_git::AddedLines],
    config: &SmellConfig,
) -> Result<Vec<Finding>> {
    use rayon::prelude::*;
    let changed: std::collections::HashSet<&str> = files.iter().map(|f| f.path.as_str()).collect();
    let root = index.root();
    let others: Vec<(String, lore_core::Language, String)> = index
        .store()
        .paths()?
        .into_par_iter()
        .filter(|p| !changed.contains(p.as_str()))
        .filter_map(|p| {
            let lang = lore_core::Language::from_path(std::path::Path::new(&p));
            if !lang.is_parsed() {
                return None;
            }
            let text = std::fs::read_to_string(root.join(&p)).ok()?;
            Some((p, lang, text))
        })
        .collect();
    let mut inputs: Vec<(&str, lore_core::Language, &str)> = files
        .iter()
        .map(|f| {
            (
                f.path.as_str(),
                lore_core::Language::from_path(std::path::Path::new(&f.path)),
                f.text.as_str(),
            )
        })
        .filter(|(_, lang, _)| lang.is_parsed())
        .collect();
    inputs.extend(others.iter().map(|(p, l, t)| (p.as_str(), *l, t.as_str())));
    let mut out = Vec::new();
    for block in findings::duplicate_blocks(&inputs, config.duplicate_lines as usize) {
        let Some(file) = files.iter().find(|f| f.path == block.path) else {
            continue;
        };
        if !file
            .lines
            .iter()
            .any(|&(a, b)| block.start_line <= b && a <= block.end_line)
        {
            continue;
        }
        let mut f = vec![Finding {
            rule: findings::DUPLICATE.to_owned(),
            severity: config.severity_of(findings::DUPLICATE),
            message: format!(
                "{} lines repeated at {}:{}",
                block.end_line - block.start_line + 1,
                block.other_path,
                block.other_line
            ),
            hint: findings::rule_info(findings::DUPLICATE)
                .map(|r| r.hint.to_owned())
                .unwrap_or_default(),
            path: block.path.clone(),
            start_line: block.start_line,
            end_line: block.end_line,
            symbol: None,
            tool: "lore".to_owned(),
            fingerprint: String::new(),
        }];
        findings::fingerprint_all(&mut f, &file.text);
        out.extend(f);
    }
    Ok(out)
}

fn names_word(line: &str, name: &str) -> bool {
    line.match_indices(name).any(|(i, _)| {
        let before = line[..i].chars().next_back();
        let after = line[i + name.len()..].chars().next();
        !before.is_some_and(|c| c.is_alphanumeric() || c == '_')
            && !after.is_some_and(|c| c.is_alphanumeric() || c == '_')
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
