//! `lore runs`: the thinker's runs of this repository (or all), one in
//! full, a rerun that is never merged, cancellation.

mod common;

use common::*;
use lore_core::jobs::{JobStore, NewJob, Spent};
use lore_store::SqliteJobs;

#[test]
fn runs_are_listed_shown_rerun_and_cancelled() {
    let repo = TestRepo::new();
    repo.write("a.py", "def alpha():\n    return 1\n");
    repo.commit("Initial");
    ok(lore(&repo).arg("index"));
    let status = json(&repo, &["status"]);
    let data_dir = std::path::PathBuf::from(status["data_dir"].as_str().unwrap());
    let id = data_dir.file_name().unwrap().to_string_lossy().into_owned();

    let mut q = SqliteJobs::open(&repo.home().join("thinker.db")).unwrap();
    let scan = q
        .enqueue(&NewJob::new("scan-diff", &id, r#"{"range":"a..b"}"#), 1_000)
        .unwrap()
        .id;
    let map = q
        .enqueue(&NewJob::new("map-repo", &id, "{}"), 2_000)
        .unwrap()
        .id;
    q.enqueue(&NewJob::new("map-repo", "another-repo", "{}"), 3_000)
        .unwrap();
    let claimed = q.claim("worker-1", 5_000, 60_000).unwrap().unwrap();
    assert_eq!(claimed.id, scan);
    assert!(
        q.complete(
            scan,
            "worker-1",
            6_000,
            r#"{"symbols":3}"#,
            &[],
            Spent {
                cpu_ms: 12,
                tokens: 0
            }
        )
        .unwrap()
    );
    drop(q);

    let runs = json(&repo, &["runs"]);
    let runs = runs.as_array().unwrap();
    assert_eq!(runs.len(), 2, "this repository's only: {runs:?}");
    assert_eq!(runs[0]["id"], map, "newest first");
    assert_eq!(runs[0]["state"], "queued");
    assert_eq!(runs[0]["started_at"], serde_json::Value::Null);
    let done = &runs[1];
    assert_eq!(done["state"], "succeeded");
    assert_eq!(done["kind"], "scan-diff");
    assert_eq!(done["attempts"], 1);
    assert_eq!(done["input"]["range"], "a..b");
    assert_eq!(done["output"]["symbols"], 3);
    assert_eq!(done["started_at"], "1970-01-01T00:00:05Z");
    assert_eq!(done["finished_at"], "1970-01-01T00:00:06Z");
    assert_eq!(done["cpu_ms"], 12);
    assert_eq!(json(&repo, &["runs", "--all"]).as_array().unwrap().len(), 3);
    let text = ok(lore(&repo).arg("runs"));
    assert!(
        text.contains("succeeded") && text.contains("scan-diff"),
        "{text}"
    );

    // Cancel the queued one; a finished run cannot be cancelled.
    ok(lore(&repo).args(["runs", "cancel", &map.to_string()]));
    let shown = json(&repo, &["runs", "show", &map.to_string()]);
    assert_eq!(shown["state"], "cancelled", "{shown}");
    let again = fails(lore(&repo).args(["runs", "cancel", &scan.to_string()]));
    let err = String::from_utf8_lossy(&again.stderr);
    assert!(err.contains("already finished"), "{err}");

    // A rerun is a new run with the same input.
    let rerun = json(&repo, &["runs", "rerun", &scan.to_string()]);
    assert_eq!(rerun["state"], "queued");
    assert_eq!(rerun["input"]["range"], "a..b");
    assert!(rerun["id"].as_i64().unwrap() > map, "{rerun}");

    let missing = fails(lore(&repo).args(["runs", "show", "9999"]));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no run 9999"));
}

/// `lore digest` on scripted history: added, removed, modified and renamed
/// symbols with their lines; a changed method is not a changed class.
#[test]
fn digest_lists_the_symbols_a_range_changed() {
    let repo = TestRepo::new();
    repo.write(
        "shop/cart.py",
        "def total(items):\n    return sum(items)\n\n\ndef legacy_tax(x):\n    return x * 2\n\n\ndef old_name(price, rate):\n    return price * rate + 1\n\n\nclass Cart:\n    size = 0\n\n    def add(self, item):\n        self.items.append(item)\n",
    );
    repo.write("README.md", "# shop\n");
    repo.commit("Initial");
    repo.write(
        "shop/cart.py",
        "def total(items):\n    return sum(i.price for i in items)\n\n\ndef new_name(price, rate):\n    return price * rate + 1\n\n\nclass Cart:\n    size = 0\n\n    def add(self, item):\n        self.items.insert(0, item)\n\n\ndef checkout(cart):\n    return total(cart.items)\n",
    );
    repo.write("README.md", "# shop\n\nNow with checkout.\n");
    repo.commit("Checkout");
    let digest = json(&repo, &["digest"]);
    assert_eq!(digest["files"], 2, "{digest}");
    let changes: Vec<(String, String, u64, u64)> = digest["symbols"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["symbol"].as_str().unwrap().to_owned(),
                s["change"].as_str().unwrap().to_owned(),
                s["start_line"].as_u64().unwrap(),
                s["end_line"].as_u64().unwrap(),
            )
        })
        .collect();
    let expect = |name: &str, change: &str, start: u64, end: u64| {
        assert!(
            changes.contains(&(name.to_owned(), change.to_owned(), start, end)),
            "{name} {change} {start}-{end} in {changes:?}"
        );
    };
    expect("total", "modified", 1, 2);
    expect("legacy_tax", "removed", 5, 6);
    expect("new_name", "renamed", 5, 6);
    expect("Cart.add", "modified", 12, 13);
    expect("checkout", "added", 16, 17);
    assert!(
        !changes.iter().any(|c| c.0 == "Cart" || c.0 == "old_name"),
        "{changes:?}"
    );
    let renamed = digest["symbols"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["symbol"] == "new_name")
        .unwrap();
    assert_eq!(renamed["from"], "shop/cart.py:old_name");
    assert_eq!(changes.len(), 5, "{changes:?}");
    // Text output and a bad range.
    let text = ok(lore(&repo).args(["digest", "HEAD~1..HEAD"]));
    assert!(text.contains("R shop/cart.py:5-6  new_name"), "{text}");
    let bad = fails(lore(&repo).args(["digest", "HEAD"]));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("FROM..TO"));
}

fn two_commits(files: usize) -> TestRepo {
    let repo = TestRepo::new();
    for i in 0..files {
        repo.write(
            &format!("pkg/m{i}.py"),
            format!("def f{i}():\n    return {i}\n"),
        );
    }
    repo.commit("Initial");
    ok(lore(&repo).arg("index"));
    for i in 0..files {
        repo.write(
            &format!("pkg/m{i}.py"),
            format!("def f{i}():\n    return {i} + 1\n\n\ndef g{i}():\n    return 0\n"),
        );
    }
    repo.commit("Change");
    repo
}

fn scan_diff(repo: &TestRepo) -> (SqliteJobs, i64, String, String) {
    let status = json(repo, &["status"]);
    let data_dir = std::path::PathBuf::from(status["data_dir"].as_str().unwrap());
    let id = data_dir.file_name().unwrap().to_string_lossy().into_owned();
    let from = repo.git(&["rev-parse", "HEAD~1"]);
    let to = repo.git(&["rev-parse", "HEAD"]);
    let mut q = SqliteJobs::open(&repo.home().join("thinker.db")).unwrap();
    let input = format!(r#"{{"from":"{from}","to":"{to}"}}"#);
    let job = q
        .enqueue(&NewJob::new("scan-diff", &id, &input), 0)
        .unwrap()
        .id;
    (q, job, from, to)
}

#[test]
fn a_worker_runs_scan_diff_and_commits_its_digest_as_a_fact() {
    let repo = two_commits(3);
    let (q, job, from, to) = scan_diff(&repo);
    ok(lore(&repo).args(["worker", "--once"]));
    let run = json(&repo, &["runs", "show", &job.to_string()]);
    assert_eq!(run["state"], "succeeded", "{run}");
    assert_eq!(run["output"]["files"], 3, "{run}");
    assert_eq!(run["output"]["symbols"], 6, "3 modified, 3 added: {run}");
    let id = json(&repo, &["runs", "show", &job.to_string()])["repo"]
        .as_str()
        .unwrap()
        .to_owned();
    let fact = q
        .fact(&format!("repo:{id}"), &format!("digest:{from}"), &to)
        .unwrap()
        .unwrap();
    assert!(fact.contains("\"g2\""), "{fact}");
    assert_eq!(q.fact_count().unwrap(), 1);
    // The index was refreshed by the thought.
    assert!(
        !json(&repo, &["symbols", "g1"])
            .as_array()
            .unwrap()
            .is_empty()
    );
    // Forgetting the repository forgets its runs and facts, not another's.
    let mut q = q;
    let other = q
        .enqueue(&NewJob::new("scan-diff", "other", "{}"), 0)
        .unwrap()
        .id;
    q.claim("w", 1, 60_000).unwrap().unwrap();
    let kept = lore_core::jobs::Fact {
        scope: format!("repo:{id}2"),
        key: "digest:x".into(),
        commit: "y".into(),
        value: "{}".into(),
    };
    assert!(
        q.complete(other, "w", 2, "{}", &[kept], Spent::default())
            .unwrap()
    );
    ok(lore(&repo).arg("forget").arg(repo.path()));
    assert!(q.jobs(Some(&id), 10).unwrap().is_empty());
    assert_eq!(
        q.fact(&format!("repo:{id}"), &format!("digest:{from}"), &to)
            .unwrap(),
        None
    );
    assert_eq!(
        q.fact_count().unwrap(),
        1,
        "the other repository's fact stays"
    );
    assert_eq!(q.jobs(None, 10).unwrap().len(), 1);
}

/// kill -9 a worker mid-thought: its lease runs out, the next worker runs
/// the job again, and the digest lands once.
#[test]
fn a_killed_workers_thought_completes_exactly_once() {
    let repo = two_commits(6);
    let (q, job, _, _) = scan_diff(&repo);
    let mut child = lore(&repo)
        .args(["worker", "--poll-ms", "50"])
        .env("LORE_LEASE_MS", "1500")
        .env("LORE_THROTTLE_MS", "400")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    loop {
        let state = q.job(job).unwrap().unwrap().state;
        if state == lore_core::jobs::JobState::Running {
            break;
        }
        assert!(
            started.elapsed().as_secs() < 30,
            "the worker never took the job"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    std::thread::sleep(std::time::Duration::from_millis(300));
    child.kill().unwrap();
    child.wait().unwrap();
    let after_kill = q.job(job).unwrap().unwrap();
    assert_eq!(
        after_kill.state,
        lore_core::jobs::JobState::Running,
        "killed mid-thought"
    );
    assert_eq!(q.fact_count().unwrap(), 0);
    // Until its lease runs out nobody else takes it; then one worker does.
    std::thread::sleep(std::time::Duration::from_millis(1600));
    ok(lore(&repo).args(["worker", "--once"]));
    let run = q.job(job).unwrap().unwrap();
    assert_eq!(run.state, lore_core::jobs::JobState::Succeeded, "{run:?}");
    assert_eq!(run.attempts, 2);
    assert_eq!(q.fact_count().unwrap(), 1);
    ok(lore(&repo).args(["worker", "--once"]));
    assert_eq!(q.job(job).unwrap().unwrap().attempts, 2, "done once");
}

/// `lore serve` runs a worker: a queued thought completes without a
/// separate `lore worker`.
#[test]
fn the_server_runs_queued_thoughts() {
    let repo = two_commits(2);
    let (q, job, _, _) = scan_diff(&repo);
    let mut server = lore(&repo)
        .args(["serve", "--addr", "127.0.0.1:0"])
        .arg(repo.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    let state = loop {
        let state = q.job(job).unwrap().unwrap().state;
        if state.is_final() || started.elapsed().as_secs() > 60 {
            break state;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    server.kill().unwrap();
    server.wait().unwrap();
    assert_eq!(state, lore_core::jobs::JobState::Succeeded);
    assert_eq!(q.fact_count().unwrap(), 1);
}

/// With learning on, an index run that finds new commits queues their
/// digest; off, it does not; `lore learn status` counts the queue.
#[test]
fn learning_on_queues_a_digest_of_new_commits() {
    let repo = TestRepo::new();
    repo.write("a.py", "def alpha():\n    return 1\n");
    repo.commit("Initial");
    ok(lore(&repo).arg("index"));
    let status = json(&repo, &["learn", "status"]);
    assert_eq!(status["on"], false, "{status}");
    assert!(
        status["last_index"].as_str().unwrap().ends_with('Z'),
        "{status}"
    );

    // Off: a new commit queues nothing.
    repo.write("a.py", "def alpha():\n    return 2\n");
    repo.commit("Two");
    ok(lore(&repo).arg("index"));
    assert_eq!(json(&repo, &["runs"]).as_array().unwrap().len(), 0);

    ok(lore(&repo).args(["learn", "on", "--allow", "scan-diff"]));
    repo.write("b.py", "def beta():\n    return 3\n");
    repo.commit("Three");
    ok(lore(&repo).arg("index"));
    // Nothing new: nothing more queued.
    ok(lore(&repo).arg("index"));
    let runs = json(&repo, &["runs"]);
    let runs = runs.as_array().unwrap();
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert_eq!(runs[0]["kind"], "scan-diff");
    assert_eq!(
        runs[0]["input"]["to"],
        repo.git(&["rev-parse", "HEAD"]).as_str()
    );
    assert_eq!(
        runs[0]["input"]["from"],
        repo.git(&["rev-parse", "HEAD~1"]).as_str()
    );
    let status = json(&repo, &["learn", "status"]);
    assert_eq!(
        (status["on"].clone(), status["queued"].clone()),
        (true.into(), 1.into()),
        "{status}"
    );
    ok(lore(&repo).args(["worker", "--once"]));
    let done = json(&repo, &["runs"]);
    assert_eq!(done[0]["state"], "succeeded", "{done}");
    assert_eq!(done[0]["output"]["symbols"], 1, "beta added: {done}");
    assert_eq!(json(&repo, &["learn", "status"])["queued"], 0);
    ok(lore(&repo).args(["learn", "off"]));
    assert_eq!(json(&repo, &["learn", "status"])["on"], false);
}

#[test]
fn learn_sets_a_policy_that_status_reports_and_refuses_bad_values() {
    let repo = TestRepo::new();
    repo.write("a.py", "def alpha():\n    return 1\n");
    repo.commit("Initial");
    ok(lore(&repo).arg("index"));
    ok(lore(&repo).args([
        "learn",
        "on",
        "--budget",
        "cpu=6m/h",
        "--budget",
        "tokens=50k/day",
        "--quiet-hours",
        "22:00-06:00",
        "--cadence",
        "0 3 * * *",
    ]));
    let status = json(&repo, &["learn", "status"]);
    assert_eq!(status["on"], true);
    assert_eq!(status["budgets"]["cpu"]["limit"], "6m/h");
    assert_eq!(
        status["budgets"]["cpu"]["burst"], 30_000,
        "five minutes' worth"
    );
    assert_eq!(status["budgets"]["tokens"]["limit"], "50k/day");
    assert_eq!(status["quiet_hours"], "22:00-06:00");
    assert_eq!(status["cadence"], "0 3 * * *");
    assert!(status["next_cadence"].as_str().unwrap().ends_with('Z'));
    assert_eq!(
        status["allow"],
        serde_json::json!([
            "scan-diff",
            "map-repo",
            "summarize",
            "prioritize",
            "maintain-vectors",
            "smell-hunt",
            "train-policy",
            "report",
            "adapt"
        ])
    );
    // The first time on, the repository is mapped, summarized, hunted
    // for smells, its retrieval policy trained and a report made at once.
    assert_eq!(status["queued"], 6);
    for key in ["running", "waiting"] {
        assert_eq!(status[key], 0, "{key}");
    }
    // Off keeps the policy; `none` clears one setting.
    ok(lore(&repo).args(["learn", "off", "--quiet-hours", "none"]));
    let status = json(&repo, &["learn", "status"]);
    assert_eq!(status["on"], false);
    assert_eq!(status["quiet_hours"], serde_json::Value::Null);
    assert_eq!(status["budgets"]["cpu"]["limit"], "6m/h");

    let unindexed = TestRepo::new();
    unindexed.write("a.py", "x = 1\n");
    unindexed.commit("One");
    let out = fails(lore(&unindexed).args(["learn", "on"]));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("not indexed yet"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for (args, named) in [
        (vec!["--budget", "cpu=6x/h"], "6x/h"),
        (vec!["--budget", "gpu=1h/h"], "gpu"),
        (vec!["--quiet-hours", "9-18"], "9-18"),
        (vec!["--cadence", "0 3 * *"], "0 3 * *"),
        (vec!["--allow", "banana"], "banana"),
    ] {
        let out = fails(lore(&repo).args(["learn", "on"]).args(&args));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(named), "{args:?}: {err}");
    }
    assert_eq!(
        json(&repo, &["learn", "status"])["on"],
        false,
        "nothing changed"
    );
}
