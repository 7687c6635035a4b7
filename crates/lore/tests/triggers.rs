//! What tells the thinker the code moved: git hooks (installed once,
//! chained with the hooks already there, never failing git).

mod common;

use std::time::{Duration, Instant};

use common::*;

fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "timed out: {what}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[cfg(unix)]
#[test]
fn hooks_install_idempotently_chain_existing_hooks_and_never_fail_git() {
    use std::os::unix::fs::PermissionsExt;
    let repo = TestRepo::new();
    repo.write("a.py", "def alpha():\n    return 1\n");
    repo.commit("One");
    ok(lore(&repo).arg("index"));
    let hooks = repo.join(".git/hooks");
    std::fs::create_dir_all(&hooks).unwrap();
    let mine = "#!/bin/sh\necho \"$@\" >> hook.log\n";
    std::fs::write(hooks.join("post-checkout"), mine).unwrap();
    std::fs::set_permissions(
        hooks.join("post-checkout"),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();

    ok(lore(&repo).args(["hooks", "install"]));
    ok(lore(&repo).args(["hooks", "install"]));
    for hook in ["post-commit", "post-merge", "post-checkout", "post-rewrite"] {
        let text = std::fs::read_to_string(hooks.join(hook)).unwrap();
        assert_eq!(text.matches("lore-hook:").count(), 1, "{hook}: {text}");
    }
    assert_eq!(
        std::fs::read_to_string(hooks.join("post-checkout.pre-lore")).unwrap(),
        mine,
        "the hook that was there is kept, once"
    );

    // With learning on, a commit is digested without a server.
    ok(lore(&repo).args(["learn", "on", "--allow", "scan-diff"]));
    repo.write("b.py", "def beta():\n    return 2\n");
    repo.commit("Two");
    wait_for("a ScanDiff of the new commit", || {
        let runs = json(&repo, &["runs"]);
        runs.as_array().unwrap().iter().any(|r| {
            r["kind"] == "scan-diff" && r["state"] == "succeeded" && r["output"]["symbols"] == 1
        })
    });
    // The chained hook still runs, with git's arguments.
    repo.git(&["checkout", "-q", "-b", "topic"]);
    wait_for("the chained hook", || {
        std::fs::read_to_string(repo.join("hook.log"))
            .is_ok_and(|t| t.split_whitespace().count() == 3)
    });

    // A broken Lore does not fail git.
    std::fs::write(repo.home().join("thinker.db"), b"not a database").unwrap();
    repo.write("c.py", "def gamma():\n    return 3\n");
    repo.commit("Three");
    repo.git(&["checkout", "-q", "-b", "other"]);

    ok(lore(&repo).args(["hooks", "uninstall"]));
    assert_eq!(
        std::fs::read_to_string(hooks.join("post-checkout")).unwrap(),
        mine
    );
    assert!(!hooks.join("post-checkout.pre-lore").exists());
    assert!(!hooks.join("post-commit").exists());
}

#[test]
fn the_watcher_turns_a_burst_into_one_index_run_and_digests_commits() {
    use std::io::BufRead;
    let repo = TestRepo::new();
    repo.write("a.py", "def alpha():\n    return 1\n");
    repo.commit("One");
    ok(lore(&repo).arg("index"));
    ok(lore(&repo).args(["learn", "on", "--allow", "scan-diff"]));
    let mut child = lore(&repo)
        .args(["watch", "--debounce-ms", "300"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let (tx, lines) = std::sync::mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let next = |what: &str| {
        lines
            .recv_timeout(Duration::from_secs(30))
            .unwrap_or_else(|_| panic!("no line: {what}"))
    };
    assert!(next("start").starts_with("indexed (start)"));
    for i in 0..5 {
        repo.write(
            &format!("m{i}.py"),
            format!("def f{i}():\n    return {i}\n"),
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let burst = next("the burst");
    assert!(burst.contains("5 added"), "{burst}");
    // One run for the burst: nothing more comes while nothing changes.
    assert!(lines.recv_timeout(Duration::from_millis(1200)).is_err());
    assert_eq!(json(&repo, &["status"])["files"][0]["files"], 6);

    repo.commit("Five more");
    let mut seen = Vec::new();
    let digested = loop {
        let line = next("the digest");
        seen.push(line.clone());
        if line.starts_with("run ") {
            break line;
        }
    };
    assert!(digested.ends_with("done"), "{seen:?}");
    let runs = json(&repo, &["runs"]);
    assert_eq!(runs[0]["kind"], "scan-diff");
    assert_eq!(runs[0]["state"], "succeeded");
    assert_eq!(runs[0]["output"]["symbols"], 5);
    child.kill().unwrap();
    child.wait().unwrap();
}
