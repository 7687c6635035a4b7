//! Damaged store files, one kind at a time: each is detected, reported with
//! its path and what to do, never a panic, and `lore index --rebuild`
//! brings the index back while keeping the questions asked.

mod common;

use std::path::{Path, PathBuf};

use common::*;

fn indexed_repo() -> TestRepo {
    let repo = TestRepo::new();
    repo.write(
        "billing/invoice.py",
        "def total_with_tax(amount, rate):\n    \"\"\"The amount with tax added.\"\"\"\n    return round(amount * (1 + rate), 2)\n",
    );
    repo.write(
        "billing/report.py",
        "from billing.invoice import total_with_tax\n\ndef monthly(items):\n    return sum(total_with_tax(i, 0.2) for i in items)\n",
    );
    repo.commit("billing");
    json(&repo, &["index"]);
    json(&repo, &["ask", "--no-llm", "where is tax added?"]);
    repo
}

/// The repository's data directory.
fn data_dir(repo: &TestRepo) -> PathBuf {
    let repos = repo.home().join("repos");
    std::fs::read_dir(&repos)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.join("lore.db").exists())
        .expect("a data directory")
}

fn files_in(dir: &Path, ext: &str) -> Vec<PathBuf> {
    files_under(dir)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == ext))
        .collect()
}

/// Overwrites `len` bytes of `path` from `at` (a share of its length).
fn garble(path: &Path, at: f64, len: usize) {
    let mut bytes = std::fs::read(path).unwrap();
    let start =
        ((bytes.len() as f64 * at) as usize).min(bytes.len().saturating_sub(len.min(bytes.len())));
    let end = start.saturating_add(len).min(bytes.len());
    for (i, b) in bytes[start..end].iter_mut().enumerate() {
        *b = (i as u8).wrapping_mul(37).wrapping_add(0x5a);
    }
    std::fs::write(path, bytes).unwrap();
}

fn stderr_of(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// `lore index --rebuild` restores search and keeps the history.
fn rebuild_restores(repo: &TestRepo) {
    ok(lore(repo).args(["index", "--rebuild"]));
    ok(lore(repo).args(["status", "--check"]));
    let hits = json(repo, &["search", "total_with_tax"]);
    assert!(!hit_paths(&hits).is_empty());
    let history = json(repo, &["history"]);
    assert_eq!(history[0]["question"], "where is tax added?", "{history}");
}

#[test]
fn a_damaged_metadata_store_is_reported_listed_and_rebuilt() {
    let repo = indexed_repo();
    let dir = data_dir(&repo);
    let db = dir.join("lore.db");
    // Everything but the file header: pages anywhere are garbage.
    garble(&db, 0.02, usize::MAX);
    let failed = fails(lore(&repo).args(["search", "total_with_tax"]));
    let err = stderr_of(&failed);
    assert!(!err.contains("panicked"), "{err}");
    assert!(
        err.contains("is damaged") && err.contains("lore index --rebuild"),
        "{err}"
    );
    assert!(err.contains(&dir.display().to_string()), "{err}");
    // `lore repos` lists it as damaged instead of hiding it.
    let repos = ok(lore(&repo).arg("repos"));
    assert!(repos.contains("damaged"), "{repos}");
    rebuild_restores(&repo);
}

#[test]
fn a_damaged_lexical_index_is_found_by_the_check_and_rebuilt() {
    let repo = indexed_repo();
    let dir = data_dir(&repo);
    let idx = files_in(&dir.join("lexical"), "idx");
    assert!(!idx.is_empty());
    garble(&idx[0], 0.3, 64);
    let checked = fails(lore(&repo).args(["status", "--check"]));
    let out = String::from_utf8_lossy(&checked.stdout);
    assert!(out.contains("damaged") && out.contains(".idx"), "{out}");
    assert!(stderr_of(&checked).contains("--rebuild"));
    // Found once, the damage is not built on: status says so, and the next
    // ordinary run rebuilds instead of forking the damaged generation.
    let status = ok(lore(&repo).arg("status"));
    assert!(status.contains("damaged"), "{status}");
    let report = json(&repo, &["index"]);
    assert!(
        report["rebuilt"]
            .as_str()
            .is_some_and(|r| r.contains("damaged")),
        "{report}"
    );
    ok(lore(&repo).args(["status", "--check"]));
    assert!(!ok(lore(&repo).arg("status")).contains("damaged"));
    rebuild_restores(&repo);
}

#[test]
fn a_missing_or_truncated_lexical_file_is_reported_not_a_panic() {
    let repo = indexed_repo();
    let dir = data_dir(&repo);
    let meta: Vec<PathBuf> = files_in(&dir.join("lexical"), "json")
        .into_iter()
        .filter(|p| p.ends_with("meta.json"))
        .collect();
    assert_eq!(meta.len(), 1, "{meta:?}");
    std::fs::remove_file(&meta[0]).unwrap();
    let failed = fails(lore(&repo).args(["search", "total_with_tax"]));
    let err = stderr_of(&failed);
    assert!(!err.contains("panicked"), "{err}");
    assert!(
        err.contains("is damaged") && err.contains("--rebuild"),
        "{err}"
    );
    rebuild_restores(&repo);

    let dir = data_dir(&repo);
    for term in files_in(&dir.join("lexical"), "term") {
        let bytes = std::fs::read(&term).unwrap();
        std::fs::write(&term, &bytes[..bytes.len() / 2]).unwrap();
    }
    let out = lore(&repo)
        .args(["search", "total_with_tax"])
        .output()
        .unwrap();
    let err = stderr_of(&out);
    assert!(!err.contains("panicked"), "{err}");
    if !out.status.success() {
        assert!(err.contains("--rebuild"), "{err}");
    }
    fails(lore(&repo).args(["status", "--check"]));
    rebuild_restores(&repo);
}

#[test]
fn damaged_vectors_are_detected_and_rewritten_by_the_next_run() {
    let repo = indexed_repo();
    let dir = data_dir(&repo);
    let vectors = files_in(&dir.join("vectors"), "seg");
    assert_eq!(vectors.len(), 1, "{vectors:?}");
    // Damage in the vectors themselves: a search reads only what it needs,
    // so the full check finds it, and the next run rewrites them.
    garble(&vectors[0], 0.5, 64);
    let checked = fails(lore(&repo).args(["status", "--check"]));
    assert!(String::from_utf8_lossy(&checked.stdout).contains("checksum"));
    // Search still answers meanwhile.
    assert!(!hit_paths(&json(&repo, &["search", "total_with_tax"])).is_empty());
    let report = json(&repo, &["index"]);
    assert_eq!(report["embed"]["segments"], 1, "{report}");
    ok(lore(&repo).args(["status", "--check"]));
    let status = json(&repo, &["status"]);
    assert_eq!(status["semantic"]["state"], "ready", "{status}");
    // Damage in what opening reads (the ids at the end): the vectors are
    // reported damaged at once and search goes on lexically.
    // (The previous segment stays a run for readers; the new one is last.)
    let vectors = files_in(&dir.join("vectors"), "seg");
    garble(vectors.last().unwrap(), 1.0, 40);
    let status = json(&repo, &["status"]);
    assert_eq!(status["semantic"]["state"], "damaged", "{status}");
    assert!(!hit_paths(&json(&repo, &["search", "total_with_tax"])).is_empty());
    fails(lore(&repo).args(["status", "--check"]));
    json(&repo, &["index"]);
    ok(lore(&repo).args(["status", "--check"]));
}

#[test]
fn a_failed_first_run_leaves_no_scratch_and_a_full_disk_is_refused_up_front() {
    let repo = TestRepo::new();
    repo.write("a.py", "def alpha():\n    return 1\n");
    repo.commit("a");
    let failed = fails(
        lore(&repo)
            .arg("index")
            .env("LORE_FAULT", "error:before-install"),
    );
    assert!(stderr_of(&failed).contains("simulated failure"));
    let repos = repo.home().join("repos");
    let leftovers: Vec<PathBuf> = std::fs::read_dir(&repos)
        .unwrap()
        .flatten()
        .flat_map(|d| {
            std::fs::read_dir(d.path())
                .unwrap()
                .flatten()
                .map(|e| e.path())
        })
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            name.starts_with("lore.db")
                || (p.is_dir() && name == "lexical" && p.join("g1").exists())
        })
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    // Too little room: refused before anything is written, with the numbers.
    let failed = fails(lore(&repo).arg("index").env("LORE_FREE_SPACE", "1000"));
    let err = stderr_of(&failed);
    assert!(
        err.contains("not enough free space") && err.contains("MB free"),
        "{err}"
    );
    // With room, the run works.
    json(&repo, &["index"]);
    assert!(!hit_paths(&json(&repo, &["search", "alpha"])).is_empty());
}

#[test]
fn deeply_nested_definitions_are_capped_and_reported() {
    let repo = TestRepo::new();
    let n = 3000;
    let source: String = (0..n)
        .map(|i| format!("class C{i} {{\n"))
        .collect::<String>()
        + &"}\n".repeat(n);
    repo.write("Deep.java", &source);
    repo.commit("deep");
    json(&repo, &["index"]);
    let db = std::fs::metadata(data_dir(&repo).join("lore.db"))
        .unwrap()
        .len();
    assert!(
        db < 4 << 20,
        "lore.db is {db} bytes for a {} byte file",
        source.len()
    );
    let outline = ok(lore(&repo).args(["outline", "Deep.java", "--json"]));
    assert!(
        outline.len() < 1 << 20,
        "outline JSON is {} bytes",
        outline.len()
    );
    let status = json(&repo, &["status", "--errors"]);
    let capped = status["skipped_files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["reason"] == "capped")
        .expect("the cap is reported");
    assert_eq!(capped["path"], "Deep.java");
    assert!(
        capped["detail"]
            .as_str()
            .unwrap()
            .contains("2968 definitions"),
        "{capped}"
    );
}

#[test]
fn a_damaged_git_directory_is_reported_not_taken_for_an_empty_history() {
    let repo = TestRepo::new();
    repo.write("a.py", "def alpha():\n    return 1\n");
    repo.commit("first");
    // The commit objects are gone: HEAD names a commit git cannot read.
    let objects = repo.join(".git/objects");
    for entry in std::fs::read_dir(&objects).unwrap().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.len() == 2 {
            std::fs::remove_dir_all(entry.path()).unwrap();
        }
    }
    json(&repo, &["index"]);
    // The files are indexed all the same; the history's failure is said.
    assert!(!hit_paths(&json(&repo, &["search", "alpha"])).is_empty());
    let status = json(&repo, &["status", "--errors"]);
    let git = status["skipped_files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["path"] == ".git")
        .unwrap_or_else(|| panic!("no .git entry: {status}"));
    assert_eq!(git["reason"], "git-error", "{git}");
}

#[test]
fn a_run_summary_adds_up_whatever_changed() {
    let repo = TestRepo::new();
    for i in 1..=6 {
        repo.write(
            &format!("m{i}.py"),
            format!("def f{i}():\n    return {i}\n"),
        );
    }
    repo.commit("six");
    json(&repo, &["index"]);
    repo.write("m1.py", "def f1():\n    return 10\n");
    // Same content, new mtime: read again, found unchanged.
    let content = std::fs::read(repo.join("m2.py")).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(20));
    std::fs::write(repo.join("m2.py"), content).unwrap();
    std::fs::remove_file(repo.join("m3.py")).unwrap();
    std::fs::rename(repo.join("m4.py"), repo.join("m9.py")).unwrap();
    repo.write("new.py", "def g():\n    pass\n");
    let report = json(&repo, &["index"]);
    let n = |k: &str| {
        report[k]
            .as_array()
            .map_or_else(|| report[k].as_u64().unwrap(), |a| a.len() as u64)
    };
    assert_eq!(
        n("files"),
        n("added") + n("modified") + n("renamed") + n("unchanged"),
        "{report}"
    );
    assert_eq!(
        (
            n("added"),
            n("modified"),
            n("deleted"),
            n("renamed"),
            n("unchanged")
        ),
        (1, 1, 1, 1, 3),
        "{report}"
    );
}

/// `lore ARGS` as a user who may read but not write the repository and its
/// LORE_HOME: as root (whom permission bits do not stop) through `setpriv`
/// as `nobody`, else as the current user once write bits are gone.
fn as_reader(repo: &TestRepo, args: &[&str]) -> std::process::Output {
    let root = String::from_utf8(
        std::process::Command::new("id")
            .arg("-u")
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap()
    .trim()
        == "0";
    let mut cmd = if root {
        let mut cmd = std::process::Command::new("setpriv");
        cmd.args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
            .arg(env!("CARGO_BIN_EXE_lore"));
        cmd
    } else {
        std::process::Command::new(env!("CARGO_BIN_EXE_lore"))
    };
    cmd.args(args)
        .current_dir(repo.path())
        .env("LORE_HOME", repo.home())
        .env("HOME", std::env::temp_dir())
        .env_remove("RUST_LOG")
        .env_remove("LORE_FAULT")
        .output()
        .expect("run lore")
}

fn chmod(path: &Path, mode: &str) {
    let done = std::process::Command::new("chmod")
        .args(["-R", mode])
        .arg(path)
        .status()
        .unwrap();
    assert!(done.success());
}

#[test]
fn a_read_only_lore_home_can_be_read_and_asked_without_recording() {
    let repo = indexed_repo();
    for dir in [repo.home(), repo.path()] {
        chmod(dir, "a+rX,a-w");
    }
    let searched = as_reader(&repo, &["search", "--json", "total_with_tax"]);
    let restore = || {
        for dir in [repo.home(), repo.path()] {
            chmod(dir, "u+w");
        }
    };
    let err = String::from_utf8_lossy(&searched.stderr).into_owned();
    if !searched.status.success() {
        restore();
        panic!("search failed on a read-only home: {err}");
    }
    let hits: serde_json::Value = serde_json::from_slice(&searched.stdout).unwrap();
    let status = as_reader(&repo, &["status"]);
    let symbols = as_reader(&repo, &["symbols", "total_with_tax"]);
    let asked = as_reader(&repo, &["ask", "--no-llm", "where is tax added?"]);
    restore();
    assert_eq!(hit_paths(&hits)[0], "billing/invoice.py", "{hits}");
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
    assert!(String::from_utf8_lossy(&symbols.stdout).contains("billing/invoice.py"));
    let answer = String::from_utf8_lossy(&asked.stdout);
    let said = String::from_utf8_lossy(&asked.stderr);
    assert!(asked.status.success(), "{said}");
    assert!(answer.contains("billing/invoice.py"), "{answer}");
    assert!(
        format!("{answer}{said}").contains("nothing was recorded"),
        "{answer}{said}"
    );
    // Nothing was: the history still holds the one question asked before.
    assert_eq!(json(&repo, &["history"]).as_array().unwrap().len(), 1);
}

#[test]
fn names_that_are_not_utf8_stay_apart_and_stable() {
    use std::os::unix::ffi::OsStrExt;
    let repo = TestRepo::new();
    let name = |b: &[u8]| repo.path().join(std::ffi::OsStr::from_bytes(b));
    std::fs::write(name(b"bad\xffn.py"), "def from_ff():\n    return 1\n").unwrap();
    std::fs::write(
        name(b"bad\xfen.py"),
        "def from_fe():\n    return from_ff()\n",
    )
    .unwrap();
    repo.write("ok.py", "def fine():\n    pass\n");
    let first = json(&repo, &["index"]);
    assert_eq!(first["files"], 3, "{first}");
    // A second run finds nothing changed (one used to show as modified
    // on every run, the other lost).
    let again = json(&repo, &["index"]);
    assert_eq!(again["unchanged"], 3, "{again}");
    assert_eq!(
        again["modified"].as_array().map_or(0, Vec::len),
        0,
        "{again}"
    );
    let ff = hit_paths(&json(&repo, &["search", "from_ff"]));
    let fe = hit_paths(&json(&repo, &["search", "from_fe"]));
    assert!(ff.contains(&"bad\\xffn.py".to_owned()), "{ff:?}");
    assert!(fe.contains(&"bad\\xfen.py".to_owned()), "{fe:?}");
    // Stored paths name the files: a call site's line is read from it.
    let refs = json(&repo, &["refs", "from_ff"]);
    let call = refs
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["kind"] == "call")
        .unwrap_or_else(|| panic!("{refs}"));
    assert_eq!(call["path"], "bad\\xfen.py");
    assert_eq!(call["text"], "return from_ff()");
}

#[test]
fn a_damaged_history_is_named_and_asking_still_answers() {
    let repo = indexed_repo();
    let history = data_dir(&repo).join("history.db");
    std::fs::write(&history, vec![0x5a; 16384]).unwrap();
    let failed = fails(lore(&repo).arg("history"));
    let err = stderr_of(&failed);
    assert!(!err.contains("panicked"), "{err}");
    assert!(
        err.contains("history.db is damaged") && err.contains("move it aside"),
        "{err}"
    );
    assert!(
        !err.contains("--rebuild"),
        "a rebuild does not mend the history: {err}"
    );
    // Questions are still answered, and the user told nothing was kept.
    let asked = lore(&repo)
        .args(["ask", "--no-llm", "where is tax added?"])
        .output()
        .unwrap();
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&asked.stdout),
        stderr_of(&asked)
    );
    assert!(asked.status.success(), "{all}");
    assert!(
        all.contains("billing/invoice.py") && all.contains("nothing was recorded"),
        "{all}"
    );
    assert!(all.contains("damaged"), "{all}");
}
