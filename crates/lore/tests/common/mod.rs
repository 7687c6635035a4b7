//! Helpers for driving the `lore` binary against a [`TestRepo`].
#![allow(dead_code)] // Each test binary uses a different subset.

use std::path::Path;
use std::process::{Command, Output};

pub use lore_test_support::TestRepo;
use serde_json::Value;

/// A `lore` command run inside the repository with its own LORE_HOME.
pub fn lore(repo: &TestRepo) -> Command {
    lore_in(repo, repo.path())
}

/// A `lore` command run from `cwd`.
pub fn lore_in(repo: &TestRepo, cwd: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_lore"));
    cmd.current_dir(cwd)
        .env("LORE_HOME", repo.home())
        .env_remove("RUST_LOG")
        .env_remove("LORE_FAULT");
    cmd
}

/// Runs and asserts success; returns stdout.
pub fn ok(cmd: &mut Command) -> String {
    let out = cmd.output().expect("run lore");
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}):\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 stdout")
}

/// Runs and asserts failure; returns the output.
pub fn fails(cmd: &mut Command) -> Output {
    let out = cmd.output().expect("run lore");
    assert!(
        !out.status.success(),
        "{cmd:?} unexpectedly succeeded: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    out
}

/// Runs `lore ARGS --json` in the repository and parses the output.
pub fn json(repo: &TestRepo, args: &[&str]) -> Value {
    let stdout = ok(lore(repo).args(args).arg("--json"));
    serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("bad JSON from {args:?}: {e}\n{stdout}"))
}

/// The paths of search hits.
pub fn hit_paths(hits: &Value) -> Vec<String> {
    hits.as_array()
        .expect("array")
        .iter()
        .map(|h| h["path"].as_str().unwrap().to_owned())
        .collect()
}

/// 1-based line number of the first line of `content` containing `needle`.
pub fn line_of(content: &str, needle: &str) -> u64 {
    content
        .lines()
        .position(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("{needle:?} not found")) as u64
        + 1
}

/// Every file under `dir`, recursively.
pub fn files_under(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push(path);
        }
    }
    out
}

/// `path reason` of every file `lore status --errors` lists.
pub fn skipped(repo: &TestRepo) -> Vec<String> {
    json(repo, &["status", "--errors"])["skipped_files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            format!(
                "{} {}",
                s["path"].as_str().unwrap(),
                s["reason"].as_str().unwrap()
            )
        })
        .collect()
}

/// The signals of the feedback on answer `id`, oldest first, and the
/// answer as `lore history --show` prints it.
pub fn feedback_signals(repo: &TestRepo, id: &str) -> (Vec<String>, Value) {
    let shown = json(repo, &["history", "--show", id]);
    let signals = shown["feedback"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["signal"].as_str().unwrap().to_owned())
        .collect();
    (signals, shown)
}

/// The latest run of `kind` (`lore runs`).
pub fn latest_run(repo: &TestRepo, kind: &str) -> Value {
    json(repo, &["runs"])
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["kind"] == kind)
        .unwrap_or_else(|| panic!("no {kind} run"))
        .clone()
}
