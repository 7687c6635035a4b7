//! Coverage reports read into one shape: for each file (relative to the
//! repository root), the lines that can run and the lines that ran.
//!
//! Formats: coverage.py JSON (`coverage json`), Go cover profiles
//! (`go test -coverprofile`), LCOV (`llvm-cov export -format=lcov`, c8,
//! nyc, genhtml's input), istanbul's `coverage-final.json` (jest, nyc, c8).
//! Paths are made relative to the root the tests ran in; files outside it
//! (the standard library, dependencies) are left out.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::error::{Error, Result};

/// Lines of one file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FileCoverage {
    /// Lines that can run (statements).
    pub lines: BTreeSet<u32>,
    /// Of those, the ones that ran.
    pub covered: BTreeSet<u32>,
    /// Which test ran which lines (`tests/test_x.py::TestY.test_z` → lines),
    /// when the report records a context per test; test files themselves
    /// and lines run outside any test are not listed. At most
    /// [`MAX_TESTS_PER_FILE`] tests, those running the most lines.
    pub by_test: BTreeMap<String, BTreeSet<u32>>,
}

/// Tests kept per file in [`FileCoverage::by_test`].
pub const MAX_TESTS_PER_FILE: usize = 30;

impl FileCoverage {
    /// Share of runnable lines that ran (1 when none can run).
    pub fn ratio(&self) -> f64 {
        if self.lines.is_empty() {
            1.0
        } else {
            self.covered.len() as f64 / self.lines.len() as f64
        }
    }

    /// Share of the runnable lines in `start..=end` that ran, or `None`
    /// when none can run there.
    pub fn ratio_in(&self, start: u32, end: u32) -> Option<f64> {
        let total = self.lines.range(start..=end).count();
        (total > 0).then(|| self.covered.range(start..=end).count() as f64 / total as f64)
    }
}

/// Coverage of a test run, by path.
pub type Coverage = BTreeMap<String, FileCoverage>;

/// A coverage report's format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// coverage.py's JSON report.
    CoveragePy,
    /// A Go cover profile.
    GoProfile,
    /// LCOV tracefile.
    Lcov,
    /// istanbul's coverage-final.json.
    Istanbul,
}

/// Which format `text` is, by its content.
pub fn sniff(text: &str) -> Option<Format> {
    let t = text.trim_start();
    if t.starts_with("mode:") {
        return Some(Format::GoProfile);
    }
    if t.starts_with("TN:") || t.starts_with("SF:") {
        return Some(Format::Lcov);
    }
    if t.starts_with('{') {
        let v: Value = serde_json::from_str(t).ok()?;
        if v.get("files").is_some() && v.get("meta").is_some() {
            return Some(Format::CoveragePy);
        }
        if v.as_object()?
            .values()
            .next()?
            .get("statementMap")
            .is_some()
        {
            return Some(Format::Istanbul);
        }
    }
    None
}

/// `path` relative to `root` (`/`-separated), or `None` outside it.
fn relative(path: &str, root: &str) -> Option<String> {
    let path = path.replace('\\', "/");
    let root = root.trim_end_matches('/');
    if let Some(rest) = path.strip_prefix(root) {
        return rest.strip_prefix('/').map(str::to_owned);
    }
    if path.starts_with('/') {
        return None;
    }
    Some(path.trim_start_matches("./").to_owned())
}

/// Fills each source file's `by_test` from per-line contexts: a context's
/// test file is the test file where it ran the most lines, and its id
/// `path::Class.test_fn` (the context's name after the test file's module
/// stem).
fn attribute_tests(
    out: &mut Coverage,
    contexts: BTreeMap<String, BTreeMap<String, BTreeSet<u32>>>,
) {
    let mut home: BTreeMap<&str, (&str, usize)> = BTreeMap::new();
    for (path, by) in &contexts {
        if !crate::thoughts::is_test_path(path) {
            continue;
        }
        for (name, lines) in by {
            let e = home.entry(name).or_insert((path, 0));
            if lines.len() > e.1 {
                *e = (path, lines.len());
            }
        }
    }
    let id = |name: &str, path: &str| {
        let stem = path
            .rsplit('/')
            .next()
            .unwrap_or(path)
            .split('.')
            .next()
            .unwrap_or("");
        let parts: Vec<&str> = name.split('.').collect();
        let func = match parts.iter().rposition(|p| *p == stem) {
            Some(i) if i + 1 < parts.len() => parts[i + 1..].join("."),
            _ => name.to_owned(),
        };
        format!("{path}::{func}")
    };
    for (path, by) in &contexts {
        if crate::thoughts::is_test_path(path) {
            continue;
        }
        let Some(file) = out.get_mut(path) else {
            continue;
        };
        let mut tests: Vec<(String, &BTreeSet<u32>)> = by
            .iter()
            .filter_map(|(name, lines)| {
                home.get(name.as_str())
                    .map(|(test_path, _)| (id(name, test_path), lines))
            })
            .collect();
        tests.sort_by(|a, b| b.1.len().cmp(&a.1.len()).then_with(|| a.0.cmp(&b.0)));
        for (test, lines) in tests.into_iter().take(MAX_TESTS_PER_FILE) {
            file.by_test.entry(test).or_default().extend(lines);
        }
    }
}

/// Reads `text` in `format`; `root` is the directory the tests ran in, and
/// `module` the Go module path (Go profiles name files by import path).
pub fn parse(
    text: &str,
    format: Format,
    root: &str,
    module: Option<&str>,
    name: &str,
) -> Result<Coverage> {
    let bad = |what: &str| Error::Invalid(format!("{name}: {what}"));
    let mut out = Coverage::new();
    match format {
        Format::CoveragePy => {
            let v: Value =
                serde_json::from_str(text).map_err(|e| bad(&format!("not JSON: {e}")))?;
            let files = v["files"]
                .as_object()
                .ok_or_else(|| bad("no `files` object"))?;
            // Contexts (`--show-contexts` with a dynamic context per test
            // function) name a test as `module.Class.test_fn`; its file is
            // the test file whose own lines that context ran.
            let mut contexts: BTreeMap<String, BTreeMap<String, BTreeSet<u32>>> = BTreeMap::new();
            for (path, f) in files {
                let Some(rel) = relative(path, root) else {
                    continue;
                };
                let nums = |k: &str| -> BTreeSet<u32> {
                    f[k].as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|n| n.as_u64().map(|n| n as u32))
                        .collect()
                };
                let covered = nums("executed_lines");
                let mut lines = nums("missing_lines");
                lines.extend(covered.iter().copied());
                for (line, names) in f["contexts"].as_object().into_iter().flatten() {
                    let Ok(line) = line.parse::<u32>() else {
                        continue;
                    };
                    for name in names.as_array().into_iter().flatten() {
                        let Some(name) = name.as_str().filter(|n| !n.is_empty()) else {
                            continue;
                        };
                        contexts
                            .entry(rel.clone())
                            .or_default()
                            .entry(name.to_owned())
                            .or_default()
                            .insert(line);
                    }
                }
                out.insert(
                    rel,
                    FileCoverage {
                        lines,
                        covered,
                        by_test: BTreeMap::new(),
                    },
                );
            }
            attribute_tests(&mut out, contexts);
        }
        Format::GoProfile => {
            for (i, line) in text.lines().enumerate().skip(1) {
                if line.trim().is_empty() {
                    continue;
                }
                // name.go:12.34,15.2 3 1
                let parse_line = || -> Option<(String, u32, u32, u64)> {
                    let (file, rest) = line.rsplit_once(':')?;
                    let mut parts = rest.split_whitespace();
                    let range = parts.next()?;
                    let _stmts = parts.next()?;
                    let count: u64 = parts.next()?.parse().ok()?;
                    let (a, b) = range.split_once(',')?;
                    let start: u32 = a.split('.').next()?.parse().ok()?;
                    let end: u32 = b.split('.').next()?.parse().ok()?;
                    Some((file.to_owned(), start, end, count))
                };
                let (file, start, end, count) = parse_line()
                    .ok_or_else(|| bad(&format!("line {}: not a cover profile block", i + 1)))?;
                let file = match module {
                    Some(m) => file
                        .strip_prefix(m)
                        .map(|r| r.trim_start_matches('/').to_owned())
                        .unwrap_or(file),
                    None => file,
                };
                let Some(rel) = relative(&file, root) else {
                    continue;
                };
                let entry = out.entry(rel).or_default();
                for l in start..=end.max(start) {
                    entry.lines.insert(l);
                    if count > 0 {
                        entry.covered.insert(l);
                    }
                }
            }
        }
        Format::Lcov => {
            let mut current: Option<String> = None;
            for line in text.lines() {
                if let Some(path) = line.strip_prefix("SF:") {
                    current = relative(path.trim(), root);
                } else if let Some(da) = line.strip_prefix("DA:") {
                    let Some(file) = &current else { continue };
                    let mut parts = da.split(',');
                    let (Some(l), Some(n)) = (parts.next(), parts.next()) else {
                        return Err(bad(&format!("bad DA line: {line}")));
                    };
                    let l: u32 = l
                        .trim()
                        .parse()
                        .map_err(|_| bad(&format!("bad DA line: {line}")))?;
                    let n: u64 = n.trim().parse().unwrap_or(0);
                    let entry = out.entry(file.clone()).or_default();
                    entry.lines.insert(l);
                    if n > 0 {
                        entry.covered.insert(l);
                    }
                } else if line.trim() == "end_of_record" {
                    current = None;
                }
            }
        }
        Format::Istanbul => {
            let v: Value =
                serde_json::from_str(text).map_err(|e| bad(&format!("not JSON: {e}")))?;
            let files = v.as_object().ok_or_else(|| bad("not an object of files"))?;
            for (path, f) in files {
                let path = f["path"].as_str().unwrap_or(path);
                let Some(rel) = relative(path, root) else {
                    continue;
                };
                let map = f["statementMap"]
                    .as_object()
                    .ok_or_else(|| bad("no statementMap"))?;
                let entry = out.entry(rel).or_default();
                for (id, loc) in map {
                    let Some(start) = loc["start"]["line"].as_u64() else {
                        continue;
                    };
                    let hits = f["s"][id].as_u64().unwrap_or(0);
                    entry.lines.insert(start as u32);
                    if hits > 0 {
                        entry.covered.insert(start as u32);
                    }
                }
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
