//! External linters (ruff, eslint, golangci-lint, clippy, semgrep) run in
//! the sandbox on a scratch copy of the tree, their reports read as
//! findings.
//!
//! A linter's configuration and plugins are repository code (an eslint
//! config is JavaScript, clippy compiles build scripts), so the `lint`
//! thought runs only when the user allowed it, like Verify, and only in the
//! sandbox. A linter runs when the tree is in its language and the tool is
//! there: on PATH, or in the tree (`node_modules/.bin/eslint`,
//! `.venv/bin/ruff`). Reports are read through SARIF where the tool writes
//! it (ruff, golangci-lint, semgrep) and from the tool's own JSON where it
//! does not (eslint, cargo's diagnostics). Rule ids carry the tool
//! (`ruff/F401`, `clippy/needless_return`), so `.lore.toml` can disable or
//! re-grade them; a linter's errors count as medium and its warnings as low
//! (they are style and correctness hints, not the severity SARIF's `error`
//! means for a security scanner) except semgrep's, which keep their level.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::error::{Error, Result};
use crate::findings::{self, Finding, Severity, SmellConfig};
use crate::sandbox::{self, Ended, Limits};
use crate::thoughts::Produced;

/// Where reports go inside the scratch copy.
const OUT: &str = ".lore-lint";

/// How a linter reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Report {
    /// SARIF 2.1.0.
    Sarif,
    /// `eslint -f json`.
    EslintJson,
    /// `cargo --message-format=json` lines.
    CargoJson,
}

/// A linter found for the tree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Linter {
    /// `ruff`, `eslint`, `golangci-lint`, `clippy`, `semgrep`.
    pub tool: &'static str,
    /// A shell script run with `sh -c` in the scratch copy.
    pub script: String,
    /// The report it writes, relative to the tree.
    pub report: String,
    /// Its format.
    pub format: Report,
    /// Environment added.
    pub env: Vec<(String, String)>,
}

fn on_path(name: &str) -> Option<PathBuf> {
    let paths = std::env::var_os("PATH")?;
    std::env::split_paths(&paths)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// The first of `in_tree` (relative to `root`) that exists, else `name` if
/// it is on PATH.
fn tool(root: &Path, in_tree: &[&str], name: &str) -> Option<String> {
    in_tree
        .iter()
        .find(|p| root.join(p).is_file())
        .map(|p| (*p).to_owned())
        .or_else(|| on_path(name).map(|_| name.to_owned()))
}

fn has_ext(paths: &[String], exts: &[&str]) -> bool {
    paths
        .iter()
        .any(|p| exts.iter().any(|e| p.ends_with(&format!(".{e}"))))
}

/// The linters that apply to the tree at `root` (whose indexed files are
/// `paths`), and a note per linter that applies but is not installed.
pub fn detect(root: &Path, paths: &[String]) -> (Vec<Linter>, Vec<String>) {
    let mut found = Vec::new();
    let mut missing = Vec::new();
    let mut want = |applies: bool,
                    tool: Option<String>,
                    name: &str,
                    make: &dyn Fn(&str) -> Linter| match (applies, tool) {
        (true, Some(t)) => found.push(make(&t)),
        (true, None) => missing.push(format!("{name}: not installed")),
        _ => {}
    };
    want(
        has_ext(paths, &["py", "pyi"]),
        tool(root, &[".venv/bin/ruff", "venv/bin/ruff"], "ruff"),
        "ruff",
        &|bin| Linter {
            tool: "ruff",
            script: format!(
                "mkdir -p {OUT}; {bin} check --output-format sarif --exit-zero --no-cache -o {OUT}/ruff.sarif ."
            ),
            report: format!("{OUT}/ruff.sarif"),
            format: Report::Sarif,
            env: Vec::new(),
        },
    );
    want(
        root.join("package.json").is_file()
            && has_ext(paths, &["js", "jsx", "ts", "tsx", "mjs", "cjs"]),
        tool(root, &["node_modules/.bin/eslint"], "eslint"),
        "eslint",
        &|bin| Linter {
            tool: "eslint",
            script: format!(
                "mkdir -p {OUT}; {bin} -f json -o {OUT}/eslint.json .; test -s {OUT}/eslint.json"
            ),
            report: format!("{OUT}/eslint.json"),
            format: Report::EslintJson,
            env: Vec::new(),
        },
    );
    want(
        root.join("go.mod").is_file(),
        tool(root, &[], "golangci-lint"),
        "golangci-lint",
        &|bin| Linter {
            tool: "golangci-lint",
            // Version 2 names the output by flag, version 1 by format.
            script: format!(
                "mkdir -p {OUT}; if {bin} --version | grep -q 'version v\\?2'; then \
                 {bin} run --issues-exit-code=0 --output.sarif.path={OUT}/golangci.sarif ./...; \
                 else {bin} run --issues-exit-code=0 --out-format sarif ./... > {OUT}/golangci.sarif; fi"
            ),
            report: format!("{OUT}/golangci.sarif"),
            format: Report::Sarif,
            env: vec![
                ("GOFLAGS".to_owned(), "-mod=mod".to_owned()),
                ("GOPROXY".to_owned(), "off".to_owned()),
                ("GOCACHE".to_owned(), "/tmp/go-cache".to_owned()),
                (
                    "GOLANGCI_LINT_CACHE".to_owned(),
                    "/tmp/golangci-cache".to_owned(),
                ),
            ],
        },
    );
    want(
        root.join("Cargo.toml").is_file(),
        tool(root, &[], "cargo-clippy"),
        "clippy",
        &|_| Linter {
            tool: "clippy",
            script: format!(
                "mkdir -p {OUT}; cargo clippy --offline --quiet --message-format=json > {OUT}/clippy.json; \
                 test -s {OUT}/clippy.json"
            ),
            report: format!("{OUT}/clippy.json"),
            format: Report::CargoJson,
            env: vec![("CARGO_TARGET_DIR".to_owned(), "/tmp/target".to_owned())],
        },
    );
    let semgrep_config = [".semgrep.yml", ".semgrep.yaml", "semgrep.yml", ".semgrep"]
        .into_iter()
        .find(|c| root.join(c).exists());
    want(
        semgrep_config.is_some(),
        tool(root, &[], "semgrep"),
        "semgrep",
        &|bin| Linter {
            tool: "semgrep",
            // The repository's own rules only: `--config auto` would fetch
            // rules from the network, which the sandbox does not have.
            script: format!(
                "mkdir -p {OUT}; {bin} scan --metrics=off --disable-version-check --sarif \
                 --config {} -o {OUT}/semgrep.sarif .",
                semgrep_config.unwrap_or(".semgrep.yml")
            ),
            report: format!("{OUT}/semgrep.sarif"),
            format: Report::Sarif,
            env: vec![("SEMGREP_SEND_METRICS".to_owned(), "off".to_owned())],
        },
    );
    (found, missing)
}

/// Findings of an `eslint -f json` report.
pub fn parse_eslint(text: &str, root: &Path) -> Result<Vec<Finding>> {
    let v: Value = serde_json::from_str(text)
        .map_err(|e| Error::Invalid(format!("eslint report: not JSON: {e}")))?;
    let mut out = Vec::new();
    for file in v.as_array().into_iter().flatten() {
        let path = relative(file["filePath"].as_str().unwrap_or(""), root);
        for m in file["messages"].as_array().into_iter().flatten() {
            // A message without a rule is a parse error of the file.
            let rule = m["ruleId"].as_str().unwrap_or("parse-error");
            let line = m["line"].as_u64().unwrap_or(1).max(1) as u32;
            out.push(finding(
                "eslint",
                rule,
                if m["severity"].as_u64() == Some(2) {
                    Severity::Medium
                } else {
                    Severity::Low
                },
                m["message"].as_str().unwrap_or(""),
                path.clone(),
                line,
                m["endLine"].as_u64().map_or(line, |l| (l as u32).max(line)),
            ));
        }
    }
    Ok(out)
}

/// Findings of cargo's JSON diagnostics (clippy's and the compiler's
/// warnings at their primary span).
pub fn parse_cargo(text: &str, root: &Path) -> Vec<Finding> {
    let mut out = Vec::new();
    for line in text.lines() {
        let Ok(v) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        if v["reason"] != "compiler-message" {
            continue;
        }
        let m = &v["message"];
        let Some(span) = m["spans"]
            .as_array()
            .and_then(|s| s.iter().find(|s| s["is_primary"] == true))
        else {
            continue; // "N warnings emitted" and the like
        };
        let code = m["code"]["code"].as_str().unwrap_or("rustc");
        let (tool, rule) = match code.strip_prefix("clippy::") {
            Some(rule) => ("clippy", rule),
            None => ("rustc", code),
        };
        let start = span["line_start"].as_u64().unwrap_or(1).max(1) as u32;
        out.push(finding(
            tool,
            rule,
            if m["level"] == "error" {
                Severity::Medium
            } else {
                Severity::Low
            },
            m["message"].as_str().unwrap_or(""),
            relative(span["file_name"].as_str().unwrap_or(""), root),
            start,
            span["line_end"]
                .as_u64()
                .map_or(start, |l| (l as u32).max(start)),
        ));
    }
    out
}

fn relative(path: &str, root: &Path) -> String {
    let root = root.to_string_lossy();
    path.strip_prefix(&format!("{}/", root.trim_end_matches('/')))
        .unwrap_or(path)
        .trim_start_matches("./")
        .to_owned()
}

fn finding(
    tool: &str,
    rule: &str,
    severity: Severity,
    message: &str,
    path: String,
    start_line: u32,
    end_line: u32,
) -> Finding {
    Finding {
        rule: rule.to_owned(),
        severity,
        message: message.to_owned(),
        hint: String::new(),
        path,
        start_line,
        end_line,
        symbol: None,
        tool: tool.to_owned(),
        fingerprint: String::new(),
    }
}

/// A linter's findings in Lore's terms: rule ids prefixed by the tool,
/// severities capped (semgrep's kept), the repository's settings applied,
/// and fingerprints from the line's text so a finding keeps its identity
/// when lines move.
fn settle(mut found: Vec<Finding>, tool: &str, root: &Path, config: &SmellConfig) -> Vec<Finding> {
    let prefix = match tool {
        "golangci-lint" => "golangci",
        other => other,
    };
    for f in &mut found {
        let own = if f.tool == "rustc" { "rustc" } else { prefix };
        if !f.rule.starts_with(&format!("{own}/")) {
            f.rule = format!("{own}/{}", f.rule);
        }
        if tool != "semgrep" && f.severity == Severity::High {
            f.severity = Severity::Medium;
        }
        if f.tool != "rustc" {
            f.tool = tool.to_owned();
        }
    }
    found.retain(|f| config.enabled(&f.rule));
    for f in &mut found {
        f.severity = config.severity_override(&f.rule).unwrap_or(f.severity);
    }
    let mut by_path: BTreeMap<String, Vec<Finding>> = BTreeMap::new();
    for f in found {
        by_path.entry(f.path.clone()).or_default().push(f);
    }
    let mut out = Vec::new();
    for (path, mut fs) in by_path {
        fs.sort_by_key(|f| (f.start_line, f.rule.clone()));
        let text = std::fs::read_to_string(root.join(&path)).unwrap_or_default();
        findings::fingerprint_all(&mut fs, &text);
        out.extend(fs);
    }
    out
}

/// The `lint` thought on the tree at `root`: each linter that applies, in
/// the sandbox; findings on indexed files become insights.
pub fn lint(
    root: &Path,
    paths: &[String],
    commit: &str,
    config: &SmellConfig,
    lore_home: &Path,
    limits: &Limits,
) -> Result<Produced> {
    let (linters, missing) = detect(root, paths);
    let mut log: Vec<String> = missing.clone();
    if linters.is_empty() {
        log.push("no linter applies and is installed".to_owned());
        return Ok(Produced {
            output: json!({ "status": "no-linters", "linters": [], "missing": missing }),
            log,
            ..Produced::default()
        });
    }
    if let Err(why) = sandbox::available() {
        log.push(why.clone());
        return Ok(Produced {
            output: json!({ "status": "unavailable", "message": why }),
            log,
            ..Produced::default()
        });
    }
    let (_scratch, work, _) = crate::verify::scratch_copy(root, "lint-")?;
    let known: std::collections::HashSet<&str> = paths.iter().map(String::as_str).collect();
    let mut all: Vec<Finding> = Vec::new();
    let mut runs = Vec::new();
    let mut files = Vec::new();
    for linter in &linters {
        let argv = vec!["sh".to_owned(), "-c".to_owned(), linter.script.clone()];
        let out =
            sandbox::run(&work, &argv, &linter.env, limits, lore_home).map_err(Error::Invalid)?;
        let report = std::fs::read_to_string(work.join(&linter.report)).ok();
        let name = linter
            .report
            .rsplit('/')
            .next()
            .unwrap_or("report")
            .to_owned();
        files.push((
            format!("{}.log", linter.tool),
            format!("$ {}\n{}\n{}", linter.script, out.stdout, out.stderr).into_bytes(),
        ));
        let parsed = match (&report, linter.format) {
            (None, _) => Err(Error::Invalid("wrote no report".to_owned())),
            (Some(text), Report::Sarif) => {
                findings::from_sarif(text, Path::new(&linter.report), &work)
            }
            (Some(text), Report::EslintJson) => parse_eslint(text, &work),
            (Some(text), Report::CargoJson) => Ok(parse_cargo(text, &work)),
        };
        if let Some(text) = report {
            files.push((name, text.into_bytes()));
        }
        let ended = match out.ended {
            Ended::Exited(code) => format!("exit {code}"),
            Ended::TimedOut => "timed out".to_owned(),
            Ended::Signal(s) => format!("killed by signal {s}"),
        };
        match parsed {
            Ok(found) => {
                let found = settle(found, linter.tool, &work, config);
                let (inside, outside): (Vec<Finding>, Vec<Finding>) = found
                    .into_iter()
                    .partition(|f| known.contains(f.path.as_str()));
                log.push(format!(
                    "{}: {} findings on indexed files, {} elsewhere ({ended}, {:.1} s)",
                    linter.tool,
                    inside.len(),
                    outside.len(),
                    out.wall.as_secs_f64()
                ));
                runs.push(json!({ "tool": linter.tool, "status": "ok", "findings": inside.len() }));
                all.extend(inside);
            }
            Err(e) => {
                let tail: String = out
                    .stderr
                    .lines()
                    .rev()
                    .take(3)
                    .collect::<Vec<_>>()
                    .join(" | ");
                log.push(format!("{}: failed ({ended}): {e}: {tail}", linter.tool));
                runs.push(json!({ "tool": linter.tool, "status": "failed", "message": format!("{e} ({ended}): {tail}") }));
            }
        }
    }
    let mut by_rule: BTreeMap<&str, usize> = BTreeMap::new();
    for f in &all {
        *by_rule.entry(f.rule.as_str()).or_default() += 1;
    }
    Ok(Produced {
        output: json!({
            "status": if runs.iter().all(|r| r["status"] == "ok") { "ok" } else { "partial" },
            "linters": runs,
            "missing": missing,
            "findings": all.len(),
            "by_rule": by_rule,
        }),
        insights: all
            .iter()
            .map(|f| findings::to_insight(f, commit))
            .collect(),
        log,
        files,
        facts: Vec::new(),
    })
}

#[cfg(test)]
mod tests;
