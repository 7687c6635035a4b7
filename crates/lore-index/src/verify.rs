//! Verify: the repository's own tests, run in the sandbox on a scratch
//! copy of the tree, read back as pass/fail per test and coverage per file.
//!
//! The test command is detected from the tree (pytest, go test, cargo
//! test, npm/jest, maven, gradle). The sandbox has no network, so the
//! dependencies must already be there (a virtualenv or node_modules in the
//! tree, system packages, vendored crates); when they are not, the result
//! is `deps-unavailable` with what was missing — a clear result, not a
//! failure. Failing tests become insights; the log, the JUnit report and
//! the coverage file are the run's artifacts; coverage per file is a fact
//! that risk reads (`coverage_gap`).

use std::path::{Path, PathBuf};
use std::time::Duration;

use lore_core::jobs::{Fact, NewInsight};
use serde_json::{Value, json};

use crate::coverage::{self, Coverage, Format};
use crate::error::{Error, Result};
use crate::sandbox::{self, Ended, Limits};
use crate::thoughts::Produced;

/// Where reports go inside the scratch copy.
const OUT: &str = ".lore-verify";

/// A detected test command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TestCommand {
    /// `pytest`, `go`, `cargo`, `jest`, `npm`, `maven`, `gradle`.
    pub tool: &'static str,
    /// A shell script run with `sh -c` in the scratch copy.
    pub script: String,
    /// A check run first: when it fails, the dependencies are missing.
    pub probe: Option<(String, String)>,
    /// Environment added.
    pub env: Vec<(String, String)>,
    /// The coverage report it writes (relative to the tree) and its format.
    pub coverage: Option<(String, Format)>,
    /// The JUnit XML report it writes, if any.
    pub junit: Option<String>,
}

fn exists(root: &Path, rel: &str) -> bool {
    root.join(rel).exists()
}

fn has_python_tests(root: &Path) -> bool {
    ["pytest.ini", "conftest.py", "tests", "test"]
        .iter()
        .any(|f| exists(root, f))
        || std::fs::read_to_string(root.join("pyproject.toml")).is_ok_and(|t| t.contains("pytest"))
        || std::fs::read_to_string(root.join("setup.cfg")).is_ok_and(|t| t.contains("pytest"))
        || std::fs::read_to_string(root.join("tox.ini")).is_ok_and(|t| t.contains("pytest"))
}

/// Whether the tree configures coverage.py itself (then its `source` and
/// `omit` hold; otherwise Verify measures every Python file of the tree, so
/// one the tests never import shows as uncovered rather than absent).
fn configures_coverage(root: &Path) -> bool {
    let has = |file: &str, section: &str| {
        std::fs::read_to_string(root.join(file)).is_ok_and(|t| t.contains(section))
    };
    exists(root, ".coveragerc")
        || has("pyproject.toml", "[tool.coverage")
        || has("setup.cfg", "[coverage:")
        || has("tox.ini", "[coverage:")
}

/// The environment of a Python test run: no bytecode files, and a `src`
/// layout's packages importable from the tree itself (otherwise the tests
/// would import whatever version of the project is installed, or fail).
fn python_env(root: &Path) -> Vec<(String, String)> {
    let mut env = vec![("PYTHONDONTWRITEBYTECODE".to_owned(), "1".to_owned())];
    let src_layout = std::fs::read_dir(root.join("src"))
        .into_iter()
        .flatten()
        .flatten()
        .any(|e| e.path().join("__init__.py").is_file());
    if src_layout {
        env.push(("PYTHONPATH".to_owned(), "src".to_owned()));
    }
    env
}

/// This machine's Go module cache, if it has one.
fn go_module_cache() -> Option<String> {
    let cache = std::env::var_os("GOMODCACHE")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("GOPATH")
                .and_then(|p| std::env::split_paths(&p).next())
                .map(|p| p.join("pkg/mod"))
        })
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join("go/pkg/mod")))?;
    cache.is_dir().then(|| cache.to_string_lossy().into_owned())
}

/// The test command of the tree at `root`, if one is recognized.
pub fn detect(root: &Path) -> Option<TestCommand> {
    if exists(root, "go.mod") {
        let mut env = vec![
            ("GOPROXY".to_owned(), "off".to_owned()),
            ("GOFLAGS".to_owned(), "-mod=mod".to_owned()),
            ("GOCACHE".to_owned(), "/tmp/go-cache".to_owned()),
            ("GOTOOLCHAIN".to_owned(), "local".to_owned()),
        ];
        // Modules already downloaded on this machine are dependencies
        // already present: the sandbox reads the module cache.
        if let Some(cache) = go_module_cache() {
            env.push(("GOMODCACHE".to_owned(), cache));
        }
        if exists(root, "vendor") {
            env[1].1 = "-mod=vendor".to_owned();
        }
        return Some(TestCommand {
            tool: "go",
            script: format!("mkdir -p {OUT} && go test -json -coverprofile={OUT}/cover.out ./..."),
            probe: Some((
                "command -v go".to_owned(),
                "the go toolchain is not installed".to_owned(),
            )),
            env,
            coverage: Some((format!("{OUT}/cover.out"), Format::GoProfile)),
            junit: None,
        });
    }
    if exists(root, "Cargo.toml") {
        return Some(TestCommand {
            tool: "cargo",
            script: "cargo test --offline --no-fail-fast 2>&1".to_owned(),
            probe: Some((
                "command -v cargo".to_owned(),
                "cargo is not installed".to_owned(),
            )),
            env: vec![("CARGO_TARGET_DIR".to_owned(), "target".to_owned())],
            coverage: None,
            junit: None,
        });
    }
    if exists(root, "package.json") {
        let jest = exists(root, "node_modules/.bin/jest");
        return Some(TestCommand {
            tool: if jest { "jest" } else { "npm" },
            script: if jest {
                format!(
                    "mkdir -p {OUT} && node_modules/.bin/jest --ci --json --outputFile={OUT}/jest.json \
                     --coverage --coverageReporters=json --coverageDirectory={OUT}/coverage"
                )
            } else {
                "npm test --silent".to_owned()
            },
            probe: Some((
                "test -d node_modules".to_owned(),
                "node_modules is not in the tree (npm install needs the network)".to_owned(),
            )),
            env: Vec::new(),
            coverage: jest.then(|| {
                (
                    format!("{OUT}/coverage/coverage-final.json"),
                    Format::Istanbul,
                )
            }),
            junit: None,
        });
    }
    if exists(root, "pom.xml") {
        return Some(TestCommand {
            tool: "maven",
            script: "mvn -o -q test".to_owned(),
            probe: Some((
                "command -v mvn".to_owned(),
                "maven is not installed".to_owned(),
            )),
            env: Vec::new(),
            coverage: None,
            junit: Some("target/surefire-reports".to_owned()),
        });
    }
    if exists(root, "build.gradle") || exists(root, "build.gradle.kts") {
        let gradle = if exists(root, "gradlew") {
            "./gradlew"
        } else {
            "gradle"
        };
        return Some(TestCommand {
            tool: "gradle",
            script: format!("{gradle} --offline test"),
            probe: None,
            env: Vec::new(),
            coverage: None,
            junit: Some("build/test-results/test".to_owned()),
        });
    }
    if has_python_tests(root) {
        let python = [".venv/bin/python", "venv/bin/python"]
            .into_iter()
            .find(|p| exists(root, p))
            .unwrap_or("python3");
        // Without a configuration of the tree's own, coverage records which
        // test ran each line (a dynamic context per test function): impact
        // names the tests that run a symbol from it.
        let (rc, source) = if configures_coverage(root) {
            (String::new(), String::new())
        } else {
            (
                format!(
                    "printf '[run]\\nsource = .\\ndynamic_context = test_function\\n' > {OUT}/coveragerc; "
                ),
                format!(" --rcfile={OUT}/coveragerc"),
            )
        };
        return Some(TestCommand {
            tool: "pytest",
            script: format!(
                "mkdir -p {OUT}; {rc}if {python} -c 'import coverage' 2>/dev/null; then \
                 {python} -m coverage run --data-file={OUT}/.coverage{source} -m pytest -q -p no:cacheprovider -o junit_family=xunit1 \
                 --junitxml={OUT}/junit.xml; s=$?; \
                 {python} -m coverage json -q{source} --show-contexts --data-file={OUT}/.coverage -o {OUT}/coverage.json; exit $s; \
                 else {python} -m pytest -q -p no:cacheprovider -o junit_family=xunit1 --junitxml={OUT}/junit.xml; fi"
            ),
            probe: Some((
                format!("{python} -c 'import pytest'"),
                "pytest is not installed for the tree's Python (no virtualenv in the tree has it)"
                    .to_owned(),
            )),
            env: python_env(root),
            coverage: Some((format!("{OUT}/coverage.json"), Format::CoveragePy)),
            junit: Some(format!("{OUT}/junit.xml")),
        });
    }
    None
}

/// One test's result.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TestResult {
    /// `Class.test_name` or the package and test.
    pub name: String,
    /// `passed`, `failed` or `skipped`.
    pub outcome: &'static str,
    /// Its file, when the report says.
    pub file: Option<String>,
    /// Its line, when the report says.
    pub line: Option<u32>,
    /// The failure message.
    pub message: String,
}

fn attr(tag: &str, name: &str) -> Option<String> {
    // ` name="`: preceded by a space, so `classname` is not `name`.
    let key = format!(" {name}=\"");
    let start = tag.find(&key)? + key.len();
    let end = tag[start..].find('"')? + start;
    Some(
        tag[start..end]
            .replace("&quot;", "\"")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&"),
    )
}

/// Test cases of a JUnit XML report (pytest, surefire, gradle).
pub fn parse_junit(xml: &str) -> Vec<TestResult> {
    let mut out = Vec::new();
    let mut rest = xml;
    while let Some(at) = rest.find("<testcase") {
        rest = &rest[at..];
        let Some(tag_end) = rest.find('>') else { break };
        let tag = &rest[..tag_end];
        let self_closing = tag.ends_with('/');
        let body_end = if self_closing {
            tag_end + 1
        } else {
            rest.find("</testcase>")
                .map_or(rest.len(), |e| e + "</testcase>".len())
        };
        let body = &rest[tag_end..body_end];
        let name = attr(tag, "name").unwrap_or_default();
        let class = attr(tag, "classname").unwrap_or_default();
        let outcome = if body.contains("<failure") || body.contains("<error") {
            "failed"
        } else if body.contains("<skipped") {
            "skipped"
        } else {
            "passed"
        };
        let message = ["<failure", "<error"]
            .iter()
            .find_map(|t| body.find(t).map(|i| &body[i..]))
            .and_then(|t| attr(&t[..t.find('>').unwrap_or(t.len())], "message"))
            .unwrap_or_default();
        out.push(TestResult {
            name: if class.is_empty() {
                name
            } else {
                format!("{class}.{name}")
            },
            outcome,
            file: attr(tag, "file"),
            line: attr(tag, "line")
                .and_then(|l| l.parse::<u32>().ok())
                .map(|l| l + 1),
            message: message.chars().take(500).collect(),
        });
        rest = &rest[body_end.min(rest.len())..];
    }
    out
}

/// Test results of `go test -json` output.
pub fn parse_go_json(output: &str) -> Vec<TestResult> {
    output
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["Test"].is_string())
        .filter_map(|v| {
            let outcome = match v["Action"].as_str()? {
                "pass" => "passed",
                "fail" => "failed",
                "skip" => "skipped",
                _ => return None,
            };
            Some(TestResult {
                name: format!(
                    "{}.{}",
                    v["Package"].as_str().unwrap_or(""),
                    v["Test"].as_str().unwrap_or("")
                ),
                outcome,
                file: None,
                line: None,
                message: String::new(),
            })
        })
        .collect()
}

/// Test results of `cargo test`'s human output (`test x ... ok`).
pub fn parse_cargo(output: &str) -> Vec<TestResult> {
    output
        .lines()
        .filter_map(|l| {
            let rest = l.strip_prefix("test ")?;
            let (name, result) = rest.rsplit_once(" ... ")?;
            let outcome = match result.trim() {
                "ok" => "passed",
                "FAILED" => "failed",
                r if r.starts_with("ignored") => "skipped",
                _ => return None,
            };
            Some(TestResult {
                name: name.trim().to_owned(),
                outcome,
                file: None,
                line: None,
                message: String::new(),
            })
        })
        .collect()
}

/// A scratch copy of the tree at `root`: the temporary directory (removed
/// when dropped), the copy inside it, and the bytes copied.
pub(crate) fn scratch_copy(root: &Path, prefix: &str) -> Result<(tempfile::TempDir, PathBuf, u64)> {
    let scratch = tempfile::Builder::new()
        .prefix(prefix)
        .tempdir()
        .map_err(|source| Error::Io {
            path: std::env::temp_dir(),
            source,
        })?;
    let work = scratch.path().join("tree");
    std::fs::create_dir_all(&work).map_err(|source| Error::Io {
        path: work.clone(),
        source,
    })?;
    let copied = copy_tree(root, &work)?;
    Ok((scratch, work, copied))
}

/// Copies the tree at `root` into `dest`: everything but `.git` and build
/// output directories (`target`), symlinks as links.
fn copy_tree(root: &Path, dest: &Path) -> Result<u64> {
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| Error::Io { path, source }
    };
    let mut bytes = 0;
    let mut stack: Vec<PathBuf> = vec![PathBuf::new()];
    while let Some(rel) = stack.pop() {
        let from = root.join(&rel);
        for entry in std::fs::read_dir(&from).map_err(io(&from))? {
            let entry = entry.map_err(io(&from))?;
            let name = entry.file_name();
            if rel.as_os_str().is_empty() && (name == ".git" || name == "target" || name == OUT) {
                continue;
            }
            let rel_child = rel.join(&name);
            let to = dest.join(&rel_child);
            let kind = entry.file_type().map_err(io(&entry.path()))?;
            if kind.is_dir() {
                std::fs::create_dir_all(&to).map_err(io(&to))?;
                stack.push(rel_child);
            } else if kind.is_symlink() {
                let target = std::fs::read_link(entry.path()).map_err(io(&entry.path()))?;
                #[cfg(unix)]
                std::os::unix::fs::symlink(target, &to).map_err(io(&to))?;
            } else {
                bytes += std::fs::copy(entry.path(), &to).map_err(io(&to))?;
            }
        }
    }
    Ok(bytes)
}

/// Verify as a thought on the tree at `root` (indexed at `commit`):
/// detect, copy, run in the sandbox, read the reports.
pub fn verify(
    root: &Path,
    repo: &str,
    commit: &str,
    lore_home: &Path,
    limits: &Limits,
) -> Result<Produced> {
    let Some(command) = detect(root) else {
        return Ok(result_only(json!({
            "status": "no-tests",
            "message": "no test command recognized (pytest, go test, cargo test, npm/jest, maven, gradle)",
        })));
    };
    if let Err(why) = sandbox::available() {
        return Ok(result_only(json!({
            "status": "unavailable",
            "tool": command.tool,
            "message": why,
        })));
    }
    let (_scratch, work, copied) = scratch_copy(root, "verify-")?;
    let sh = |script: &str| vec!["sh".to_owned(), "-c".to_owned(), script.to_owned()];
    let mut log = vec![format!(
        "{}: copied {} MB of the tree into the sandbox",
        command.tool,
        copied / 1_000_000
    )];
    if let Some((probe, missing)) = &command.probe {
        let quick = Limits {
            wall: Duration::from_secs(60),
            ..limits.clone()
        };
        let out = sandbox::run(&work, &sh(probe), &command.env, &quick, lore_home)
            .map_err(Error::Invalid)?;
        if out.ended != Ended::Exited(0) {
            log.push(format!("dependencies unavailable offline: {missing}"));
            return Ok(Produced {
                log,
                ..result_only(json!({
                    "status": "deps-unavailable",
                    "tool": command.tool,
                    "message": format!("dependencies unavailable offline: {missing}"),
                }))
            });
        }
    }
    let out = sandbox::run(&work, &sh(&command.script), &command.env, limits, lore_home)
        .map_err(Error::Invalid)?;
    let text = format!("$ {}\n{}\n{}", command.script, out.stdout, out.stderr);
    let mut files = vec![("verify.log".to_owned(), text.clone().into_bytes())];
    let mut tests = match command.tool {
        "go" => parse_go_json(&out.stdout),
        "cargo" => parse_cargo(&out.stdout),
        _ => Vec::new(),
    };
    if let Some(junit) = &command.junit {
        let path = work.join(junit);
        let reports: Vec<PathBuf> = if path.is_dir() {
            std::fs::read_dir(&path)
                .into_iter()
                .flatten()
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == "xml"))
                .collect()
        } else {
            vec![path]
        };
        for report in reports {
            if let Ok(xml) = std::fs::read_to_string(&report) {
                tests.extend(parse_junit(&xml));
                let name = report.file_name().map(|n| n.to_string_lossy().into_owned());
                files.push((
                    name.unwrap_or_else(|| "junit.xml".to_owned()),
                    xml.into_bytes(),
                ));
            }
        }
    }
    if command.tool == "jest"
        && let Ok(text) = std::fs::read_to_string(work.join(OUT).join("jest.json"))
        && let Ok(v) = serde_json::from_str::<Value>(&text)
    {
        for suite in v["testResults"].as_array().into_iter().flatten() {
            let file = suite["name"]
                .as_str()
                .and_then(|p| p.strip_prefix(&format!("{}/", work.display())))
                .map(str::to_owned);
            for t in suite["assertionResults"].as_array().into_iter().flatten() {
                tests.push(TestResult {
                    name: t["fullName"].as_str().unwrap_or("").to_owned(),
                    outcome: match t["status"].as_str() {
                        Some("passed") => "passed",
                        Some("failed") => "failed",
                        _ => "skipped",
                    },
                    file: file.clone(),
                    line: None,
                    message: t["failureMessages"][0]
                        .as_str()
                        .unwrap_or("")
                        .chars()
                        .take(500)
                        .collect(),
                });
            }
        }
    }
    let mut cov: Option<Coverage> = None;
    if let Some((rel, format)) = &command.coverage
        && let Ok(text) = std::fs::read_to_string(work.join(rel))
    {
        let module = std::fs::read_to_string(work.join("go.mod"))
            .ok()
            .and_then(|t| {
                t.lines()
                    .find_map(|l| l.strip_prefix("module ").map(|m| m.trim().to_owned()))
            });
        let name = rel.rsplit('/').next().unwrap_or(rel).to_owned();
        match coverage::parse(
            &text,
            *format,
            &work.to_string_lossy(),
            module.as_deref(),
            &name,
        ) {
            Ok(c) => cov = Some(c),
            Err(e) => log.push(format!("coverage not read: {e}")),
        }
        files.push((name, text.into_bytes()));
    }
    let count = |o: &str| tests.iter().filter(|t| t.outcome == o).count();
    let (passed, failed, skipped) = (count("passed"), count("failed"), count("skipped"));
    let missing = (passed == 0)
        .then(|| {
            missing_dependency(
                command.tool,
                &format!("{}\n{}", out.stdout, out.stderr),
                root,
            )
        })
        .flatten();
    if let Some(what) = missing {
        let message = format!("dependencies unavailable offline: {what}");
        log.push(message.clone());
        return Ok(Produced {
            log,
            files,
            ..result_only(json!({
                "status": "deps-unavailable",
                "tool": command.tool,
                "message": message,
            }))
        });
    }
    let status = match out.ended {
        Ended::TimedOut => "timed-out",
        Ended::Exited(0) => "passed",
        _ if failed > 0 => "failed",
        Ended::Exited(_) => "failed",
        Ended::Signal(_) => "killed",
    };
    log.push(format!(
        "{status} in {:.1} s: {passed} passed, {failed} failed, {skipped} skipped",
        out.wall.as_secs_f64()
    ));
    let coverage_json = cov.as_ref().map(|c| {
        let lines: usize = c.values().map(|f| f.lines.len()).sum();
        let covered: usize = c.values().map(|f| f.covered.len()).sum();
        // The least covered files, for the Runs tab.
        let mut worst: Vec<_> = c.iter().filter(|(_, f)| !f.lines.is_empty()).collect();
        worst.sort_by(|a, b| a.1.ratio().total_cmp(&b.1.ratio()).then(a.0.cmp(b.0)));
        json!({
            "files": c.len(),
            "lines": lines,
            "covered": covered,
            "ratio": if lines == 0 { 1.0 } else { covered as f64 / lines as f64 },
            "least_covered": worst.iter().take(10).map(|(p, f)| json!({
                "path": p, "lines": f.lines.len(), "covered": f.covered.len(),
            })).collect::<Vec<_>>(),
        })
    });
    let insights = tests
        .iter()
        .filter(|t| t.outcome == "failed")
        .take(100)
        .map(|t| {
            let path = t.file.clone().unwrap_or_else(|| "verify.log".to_owned());
            let line = t.line.unwrap_or(1);
            NewInsight {
                kind: "test-failure".to_owned(),
                severity: "high".to_owned(),
                title: format!("test fails: {}", t.name),
                body: format!(
                    "`{}` failed under `{}` in the sandbox.{}",
                    t.name,
                    command.tool,
                    if t.message.is_empty() {
                        String::new()
                    } else {
                        format!("\n\n```\n{}\n```", t.message)
                    }
                ),
                evidence: Value::Array(vec![crate::thoughts::cite(&path, line, line, commit)])
                    .to_string(),
                fingerprint: format!("test-failure:{}", t.name),
            }
        })
        .collect();
    let facts = cov
        .as_ref()
        .map(|c| {
            let per_file: serde_json::Map<String, Value> = c
                .iter()
                .map(|(p, f)| {
                    (
                        p.clone(),
                        json!({ "lines": f.lines.len(), "covered": f.covered.len(),
                                "missing": f.lines.difference(&f.covered).copied().collect::<Vec<_>>(),
                                "ran": ranges(&f.covered),
                                "tests": f.by_test.iter().map(|(t, l)| (t.clone(), json!(ranges(l))))
                                    .collect::<serde_json::Map<_, _>>() }),
                    )
                })
                .collect();
            vec![Fact {
                scope: crate::thoughts::repo_scope(repo),
                key: COVERAGE_KEY.to_owned(),
                commit: commit.to_owned(),
                value: Value::Object(per_file).to_string(),
            }]
        })
        .unwrap_or_default();
    Ok(Produced {
        output: json!({
            "status": status,
            "tool": command.tool,
            "command": command.script,
            "tests": { "passed": passed, "failed": failed, "skipped": skipped },
            "failures": tests.iter().filter(|t| t.outcome == "failed").take(50).map(|t| json!({
                "name": t.name, "file": t.file, "line": t.line, "message": t.message,
            })).collect::<Vec<_>>(),
            "coverage": coverage_json,
            "seconds": (out.wall.as_secs_f64() * 10.0).round() / 10.0,
        }),
        facts,
        insights,
        log,
        files,
    })
}

/// What a test run that passed nothing says it lacked, when what it lacked
/// is a dependency the sandbox cannot fetch (not a module of the tree
/// itself, whose absence is a real failure).
pub fn missing_dependency(tool: &str, output: &str, root: &Path) -> Option<String> {
    let after = |marker: &str| {
        output.lines().find_map(|l| {
            let at = l.find(marker)?;
            Some(l[at + marker.len()..].trim().to_owned())
        })
    };
    let quoted = |s: String| {
        s.trim_start_matches(['\'', '"', '`'])
            .split(['\'', '"', '`'])
            .next()
            .unwrap_or("")
            .to_owned()
    };
    let in_tree = |name: &str| {
        let top = name.split(['.', '/']).next().unwrap_or(name);
        !top.is_empty()
            && [
                top.to_owned(),
                format!("{top}.py"),
                format!("src/{top}"),
                format!("src/{top}.py"),
            ]
            .iter()
            .any(|p| root.join(p).exists())
    };
    match tool {
        "go" => output
            .lines()
            .find(|l| {
                l.contains("module lookup disabled by GOPROXY=off")
                    || l.contains("cannot find module providing package")
                    || l.contains("missing go.sum entry")
            })
            .map(|l| {
                format!(
                    "Go modules not in the module cache ({})",
                    l.trim_start_matches("go: ").trim()
                )
            }),
        "pytest" => after("ModuleNotFoundError: No module named ")
            .map(quoted)
            .filter(|m| !in_tree(m))
            .map(|m| format!("the Python package `{m}` is not installed for the tree's Python")),
        "cargo" => [
            "no matching package named",
            "failed to get `",
            "--offline was specified",
        ]
        .iter()
        .find_map(|m| output.lines().find(|l| l.contains(m)))
        .map(|l| format!("crates not vendored or cached ({})", l.trim())),
        "jest" | "npm" => after("Cannot find module ")
            .map(quoted)
            .filter(|m| !m.starts_with('.') && !m.starts_with('/'))
            .map(|m| format!("the npm package `{m}` is not in node_modules")),
        _ => None,
    }
}

/// The fact key of the last coverage (scope `repo:ID`).
pub const COVERAGE_KEY: &str = "coverage";

fn result_only(output: Value) -> Produced {
    Produced {
        log: vec![output["message"].as_str().unwrap_or("").to_owned()],
        output,
        ..Produced::default()
    }
}

/// The tests that ran each file's lines in the last Verify run, from its
/// `coverage` fact: path → test (`tests/test_x.py::test_y`) → lines, and
/// the commit the run was at. `None` when Verify has not run with
/// coverage; files no test ran are absent.
pub fn tests_by_file(
    queue: &dyn lore_core::jobs::JobStore,
    repo: &str,
) -> Result<Option<(String, TestsByFile)>> {
    let scope = crate::thoughts::repo_scope(repo);
    let Some((commit, value)) = queue.fact_latest(&scope, COVERAGE_KEY)? else {
        return Ok(None);
    };
    let v: Value = serde_json::from_str(&value).unwrap_or_default();
    let mut out = TestsByFile::new();
    for (path, f) in v.as_object().into_iter().flatten() {
        for (test, runs) in f["tests"].as_object().into_iter().flatten() {
            let runs: Vec<[u32; 2]> = serde_json::from_value(runs.clone()).unwrap_or_default();
            let lines = out
                .entry(path.clone())
                .or_default()
                .entry(test.clone())
                .or_default();
            for [a, b] in runs {
                lines.extend(a..=b);
            }
        }
    }
    Ok(Some((commit, out)))
}

/// Path → test → lines it ran.
pub type TestsByFile = std::collections::BTreeMap<
    String,
    std::collections::BTreeMap<String, std::collections::BTreeSet<u32>>,
>;

/// Sorted lines as `[first, last]` runs (the covered lines of a coverage
/// fact: a few runs where a list would be thousands of numbers).
fn ranges(lines: &std::collections::BTreeSet<u32>) -> Vec<[u32; 2]> {
    let mut out: Vec<[u32; 2]> = Vec::new();
    for &l in lines {
        match out.last_mut() {
            Some(r) if r[1] + 1 == l => r[1] = l,
            _ => out.push([l, l]),
        }
    }
    out
}

#[cfg(test)]
mod tests;
