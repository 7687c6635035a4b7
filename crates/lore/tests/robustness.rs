//! Crash safety, concurrent readers, and bad input.

mod common;

use std::process::Stdio;
use std::time::{Duration, Instant};

use common::*;
use serde_json::Value;

fn small_repo() -> TestRepo {
    let repo = TestRepo::new();
    repo.write("old.py", "def old_marker_function():\n    return 1\n");
    repo.commit("Initial");
    ok(lore(&repo).arg("index"));
    repo
}

/// Adds `n` files, each defining a unique function `fresh_fn_<i>`.
fn add_many(repo: &TestRepo, n: usize) {
    for i in 0..n {
        repo.write(
            &format!("pkg/mod_{i}.py"),
            format!("def fresh_fn_{i}():\n    return {i}\n"),
        );
    }
}

/// Whether BM25 finds `query`'s words (vectors would find a neighbour for
/// any words).
fn finds(repo: &TestRepo, query: &str) -> bool {
    !json(repo, &["search", query, "--mode", "lexical"])
        .as_array()
        .unwrap()
        .is_empty()
}

/// Runs `lore index` with the `LORE_FAULT` hook set to `point`; the run
/// must abort there.
fn crash_at(repo: &TestRepo, point: &str) {
    fails(lore(repo).arg("index").env("LORE_FAULT", point));
}

/// True if a search for `name` returns the chunk of the function `name`.
fn defines(repo: &TestRepo, name: &str) -> bool {
    json(repo, &["search", name, "-k", "3"])
        .as_array()
        .unwrap()
        .iter()
        .any(|h| h["symbol"] == name)
}

#[test]
fn crash_before_switch_keeps_previous_index() {
    let repo = small_repo();
    add_many(&repo, 5);
    crash_at(&repo, "after-lexical-commit");
    // The previous index is intact and consistent.
    assert!(finds(&repo, "old_marker_function"));
    assert!(!defines(&repo, "fresh_fn_3"));
    assert_eq!(json(&repo, &["status"])["generation"], 1);
    // The next run completes and cleans up the abandoned generation.
    let report = json(&repo, &["index"]);
    assert_eq!(report["added"].as_array().unwrap().len(), 5);
    assert!(defines(&repo, "fresh_fn_3"));
    assert!(finds(&repo, "old_marker_function"));
}

/// Killed after writing a vector segment but before the manifest names it:
/// the next run does the vector work once — the new chunks embedded once,
/// the old ones deleted once.
#[test]
fn crash_before_the_vector_manifest_lands_exactly_once() {
    let repo = small_repo();
    add_many(&repo, 3);
    ok(lore(&repo).arg("index"));
    repo.write("pkg/mod_1.py", "def fresh_fn_1():\n    return 'changed'\n");
    repo.remove("pkg/mod_2.py");
    crash_at(&repo, "vectors-before-manifest");
    // Lexically current; the vectors are the previous ones.
    assert!(defines(&repo, "fresh_fn_1"));
    let report = json(&repo, &["index"]);
    assert_eq!(report["added"], Value::Array(vec![]), "{report}");
    let embed = &report["embed"];
    assert_eq!(embed["embedded"], 1, "{report}");
    assert_eq!(embed["deleted"], 2, "{report}");
    let report = json(&repo, &["index"]);
    assert_eq!(report["embed"]["embedded"], 0, "{report}");
    assert_eq!(report["embed"]["deleted"], 0, "{report}");
    let status = json(&repo, &["embed", "status"]);
    assert_eq!(status["pending"], 0, "{status}");
    let chunks = json(&repo, &["status"])["chunks"].as_u64();
    assert_eq!(status["embedded"].as_u64(), chunks, "{status}");
}

#[test]
fn crash_after_switch_keeps_new_index() {
    let repo = small_repo();
    add_many(&repo, 5);
    crash_at(&repo, "after-store-commit");
    assert!(defines(&repo, "fresh_fn_3"));
    let report = json(&repo, &["index"]);
    assert_eq!(
        report["added"],
        Value::Array(vec![]),
        "the committed run is complete: {report}"
    );
}

/// A first run is bulk-loaded into a scratch store; until it is moved into
/// place the repository is simply not indexed.
#[test]
fn crash_during_a_first_run_leaves_no_index_then_recovers() {
    let repo = TestRepo::new();
    add_many(&repo, 5);
    repo.commit("Initial");
    let not_indexed = |repo: &TestRepo| {
        let out = fails(lore(repo).args(["search", "fresh_fn_1"]));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("not indexed yet"), "{stderr}");
    };
    crash_at(&repo, "after-lexical-commit");
    not_indexed(&repo);

    let mut child = lore(&repo)
        .args(["index", "--threads", "1", "--quiet"])
        .env("LORE_THROTTLE_MS", "100")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(250));
    not_indexed(&repo);
    child.kill().unwrap();
    assert!(
        !child.wait().unwrap().success(),
        "run finished before the kill"
    );
    not_indexed(&repo);

    let report = json(&repo, &["index"]);
    assert_eq!(report["added"].as_array().unwrap().len(), 5);
    assert!(defines(&repo, "fresh_fn_3"));
    assert_eq!(json(&repo, &["status"])["generation"], 1);
}

#[test]
fn crash_right_after_a_first_run_commits_keeps_it() {
    let repo = TestRepo::new();
    add_many(&repo, 5);
    repo.commit("Initial");
    crash_at(&repo, "after-store-commit");
    assert!(defines(&repo, "fresh_fn_4"));
    let report = json(&repo, &["index"]);
    assert_eq!(report["added"], Value::Array(vec![]), "{report}");
}

#[test]
fn kill_9_at_any_moment_leaves_a_usable_index() {
    let repo = small_repo();
    add_many(&repo, 60);
    // Each parsed file is slowed down so the run is still going when killed.
    for delay_ms in [50u64, 400, 900] {
        let mut child = lore(&repo)
            .args(["index", "--threads", "1", "--quiet"])
            .env("LORE_THROTTLE_MS", "20")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(delay_ms));
        // Search works while the index run is going, and sees the old state.
        assert!(finds(&repo, "old_marker_function"));
        child.kill().unwrap();
        let status = child.wait().unwrap();
        assert!(
            !status.success(),
            "run finished before the kill at {delay_ms} ms; slow it down"
        );
        assert!(
            finds(&repo, "old_marker_function"),
            "after kill at {delay_ms} ms"
        );
        // Never a mix: either none or all of the new files are searchable.
        let found = (0..60)
            .filter(|i| defines(&repo, &format!("fresh_fn_{i}")))
            .count();
        assert!(
            found == 0 || found == 60,
            "mixed state after kill at {delay_ms} ms: {found}/60"
        );
    }
    let report = json(&repo, &["index"]);
    assert_eq!(report["added"].as_array().unwrap().len(), 60);
    assert!(defines(&repo, "fresh_fn_59"));
}

#[test]
fn search_during_indexing_sees_the_previous_state() {
    let repo = small_repo();
    add_many(&repo, 30);
    let mut child = lore(&repo)
        .args(["index", "--threads", "1", "--quiet"])
        .env("LORE_THROTTLE_MS", "30")
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    let mut searches = 0;
    while child.try_wait().unwrap().is_none() && start.elapsed() < Duration::from_secs(30) {
        assert!(finds(&repo, "old_marker_function"));
        searches += 1;
    }
    assert!(child.wait().unwrap().success());
    assert!(searches > 0, "no search ran during the index run");
    assert!(defines(&repo, "fresh_fn_29"));
}

#[test]
fn missing_or_non_directory_path_is_a_clear_error() {
    let repo = TestRepo::new();
    let missing = repo.join("does-not-exist");
    let out = fails(lore(&repo).arg("index").arg(&missing));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("does-not-exist") && stderr.contains("no such directory"),
        "{stderr}"
    );

    repo.write("file.txt", "x");
    let out = fails(lore(&repo).arg("index").arg(repo.join("file.txt")));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("file.txt") && stderr.contains("not a directory"),
        "{stderr}"
    );
}

#[test]
fn index_from_a_newer_schema_is_refused() {
    let repo = small_repo();
    let db = std::fs::read_dir(repo.home().join("repos"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path()
        .join("lore.db");
    rusqlite::Connection::open(&db)
        .unwrap()
        .pragma_update(None, "user_version", 999)
        .unwrap();
    for args in [&["index"][..], &["search", "old_marker_function"][..]] {
        let out = fails(lore(&repo).args(args));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("schema version 999") && stderr.contains("lore.db"),
            "{args:?}: {stderr}"
        );
    }
}

#[test]
fn symlinks_loops_and_unreadable_entries_are_reported_not_fatal() {
    let repo = TestRepo::new();
    repo.write("src/a.py", "def kept():\n    pass\n");
    std::os::unix::fs::symlink("..", repo.join("src/loop")).unwrap();
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("secret.py"), "def outside(): pass\n").unwrap();
    std::os::unix::fs::symlink(outside.path(), repo.join("outside")).unwrap();
    std::os::unix::fs::symlink("missing-target.py", repo.join("dangling.py")).unwrap();
    std::os::unix::fs::symlink("src/a.py", repo.join("alias.py")).unwrap();
    let report = json(&repo, &["index"]);
    assert!(
        report["added"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p == "src/a.py"),
        "{report}"
    );
    assert!(!finds(&repo, "outside"));
    let reasons = skipped(&repo);
    for expected in [
        "src/loop symlink-loop",
        "outside symlink-outside",
        "dangling.py unreadable",
    ] {
        assert!(
            reasons.iter().any(|r| r == expected),
            "{expected} not in {reasons:?}"
        );
    }
}

#[test]
fn plain_directories_and_shallow_clones_index_fine() {
    let plain = TestRepo::plain();
    plain.write("main.go", "package main\n\nfunc main() {}\n");
    json(&plain, &["index"]);
    let status = json(&plain, &["status"]);
    assert_eq!(status["indexed_commit"], Value::Null);
    assert_eq!(status["commits"], 0);
    assert_eq!(hit_paths(&json(&plain, &["search", "main"]))[0], "main.go");

    let origin = TestRepo::new();
    for i in 0..3 {
        origin.write("lib.rs", format!("pub fn version_{i}() {{}}\n"));
        origin.commit(&format!("Version {i}"));
    }
    let clone = TestRepo::plain();
    let url = format!("file://{}", origin.path().display());
    let dest = clone.join("shallow");
    let out = std::process::Command::new("git")
        .args(["clone", "-q", "--depth", "1", &url])
        .arg(&dest)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    ok(lore_in(&clone, &dest).arg("index"));
    let status =
        serde_json::from_str::<Value>(&ok(lore_in(&clone, &dest).args(["status", "--json"])))
            .unwrap();
    assert_eq!(status["shallow"], true);
    assert_eq!(status["commits"], 1);
    assert_eq!(
        status["indexed_commit"],
        origin.git(&["rev-parse", "HEAD"]).as_str()
    );
}
