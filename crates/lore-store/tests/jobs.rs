//! The durable job queue with an injected clock: leases and their expiry,
//! one job to one worker, dedupe, backoff and dead letters, cancellation,
//! and results that land exactly once.

use lore_core::jobs::{Fact, JobState, JobStore, NewJob, Spent, backoff_ms};
use lore_core::schedule::{Budget, Cron, Policy, QuietHours};
use lore_store::SqliteJobs;

fn queue() -> (tempfile::TempDir, SqliteJobs) {
    let dir = tempfile::tempdir().unwrap();
    let jobs = SqliteJobs::open(&dir.path().join("thinker.db")).unwrap();
    (dir, jobs)
}

fn fact(value: &str) -> Fact {
    Fact {
        scope: "file:src/app.py".into(),
        key: "dossier".into(),
        commit: "c1".into(),
        value: value.into(),
    }
}

const LEASE: i64 = 30_000;

#[test]
fn a_trigger_merges_into_a_queued_twin_but_a_rerun_always_runs() {
    let (_dir, mut q) = queue();
    let job = NewJob::new("scan-diff", "repo-a", r#"{"range":"a..b"}"#);
    let first = q.enqueue(&job, 0).unwrap();
    assert!(!first.deduplicated);
    let twin = q.enqueue(&job, 1).unwrap();
    assert_eq!((twin.id, twin.deduplicated), (first.id, true));
    // Other input, kind or repository: another job.
    let other = NewJob::new("scan-diff", "repo-a", r#"{"range":"b..c"}"#);
    assert!(!q.enqueue(&other, 2).unwrap().deduplicated);
    assert!(
        !q.enqueue(&NewJob::new("scan-diff", "repo-b", &job.input), 2)
            .unwrap()
            .deduplicated
    );
    // An explicit rerun is never merged.
    let rerun = NewJob {
        explicit: true,
        ..job.clone()
    };
    let again = q.enqueue(&rerun, 3).unwrap();
    assert!(!again.deduplicated && again.id != first.id);
    // Once the first runs, a new trigger is a new job (the code moved on).
    let claimed = q.claim("w1", 10, LEASE).unwrap().unwrap();
    assert_eq!(claimed.id, first.id);
    let later = q.enqueue(&job, 11).unwrap();
    assert_eq!(later.id, again.id, "the rerun is the queued twin now");
    assert_eq!(q.jobs(Some("repo-b"), 10).unwrap().len(), 1);
    assert_eq!(q.jobs(None, 10).unwrap().len(), 4);
}

#[test]
fn one_job_goes_to_one_worker_and_a_dead_workers_job_to_the_next() {
    let (_dir, mut q) = queue();
    let id = q
        .enqueue(&NewJob::new("summarize", "r", "{}"), 0)
        .unwrap()
        .id;
    let a = q.claim("worker-a", 100, LEASE).unwrap().unwrap();
    assert_eq!((a.id, a.state, a.attempts), (id, JobState::Running, 1));
    assert_eq!(q.claim("worker-b", 200, LEASE).unwrap(), None, "leased");
    // A keeps its lease with heartbeats.
    assert!(q.heartbeat(id, "worker-a", 20_000, LEASE).unwrap());
    assert_eq!(q.claim("worker-b", 40_000, LEASE).unwrap(), None);
    assert!(
        !q.heartbeat(id, "worker-b", 40_000, LEASE).unwrap(),
        "not its lease"
    );
    // A stops answering (killed): its lease runs out and B takes the job.
    let b = q.claim("worker-b", 50_001, LEASE).unwrap().unwrap();
    assert_eq!(
        (b.id, b.attempts, b.lease_owner.as_deref()),
        (id, 2, Some("worker-b"))
    );
    // A comes back: it lost the lease, its results are refused, its spent
    // CPU is still charged.
    assert!(!q.heartbeat(id, "worker-a", 50_002, LEASE).unwrap());
    let late = q
        .complete(
            id,
            "worker-a",
            50_003,
            "{}",
            &[fact("stale")],
            Spent {
                cpu_ms: 700,
                tokens: 0,
            },
        )
        .unwrap();
    assert!(!late);
    assert_eq!(q.fact_count().unwrap(), 0);
    // B completes: output and fact land once, with its completion.
    let done = q
        .complete(
            id,
            "worker-b",
            51_000,
            r#"{"ok":1}"#,
            &[fact("v2")],
            Spent {
                cpu_ms: 300,
                tokens: 40,
            },
        )
        .unwrap();
    assert!(done);
    let job = q.job(id).unwrap().unwrap();
    assert_eq!(job.state, JobState::Succeeded);
    assert_eq!((job.cpu_ms, job.tokens), (1000, 40));
    assert_eq!(job.output.as_deref(), Some(r#"{"ok":1}"#));
    assert_eq!(
        q.fact("file:src/app.py", "dossier", "c1")
            .unwrap()
            .as_deref(),
        Some("v2")
    );
    assert_eq!(q.fact_count().unwrap(), 1);
    // A finished job is never claimed again, and a second completion is refused.
    assert_eq!(q.claim("worker-c", 999_999, LEASE).unwrap(), None);
    assert!(
        !q.complete(
            id,
            "worker-b",
            52_000,
            "{}",
            &[fact("v3")],
            Spent::default()
        )
        .unwrap()
    );
    assert_eq!(
        q.fact("file:src/app.py", "dossier", "c1")
            .unwrap()
            .as_deref(),
        Some("v2")
    );
}

#[test]
fn failures_back_off_then_the_job_is_dead() {
    let (_dir, mut q) = queue();
    let job = NewJob {
        max_attempts: 3,
        ..NewJob::new("map-repo", "r", "{}")
    };
    let id = q.enqueue(&job, 0).unwrap().id;
    let mut now = 0;
    for attempt in 1..=2u32 {
        q.claim("w", now, LEASE).unwrap().unwrap();
        let state = q
            .fail(
                id,
                "w",
                now,
                "parse error",
                Spent {
                    cpu_ms: 10,
                    tokens: 0,
                },
            )
            .unwrap();
        assert_eq!(state, JobState::Failed);
        let failed = q.job(id).unwrap().unwrap();
        assert_eq!(failed.reason.as_deref(), Some("parse error"));
        assert_eq!(failed.run_after, now + backoff_ms(attempt, 5_000, id));
        // Not before its backoff is over.
        assert_eq!(q.claim("w", failed.run_after - 1, LEASE).unwrap(), None);
        now = failed.run_after;
    }
    q.claim("w", now, LEASE).unwrap().unwrap();
    assert_eq!(
        q.fail(id, "w", now, "still failing", Spent::default())
            .unwrap(),
        JobState::Dead
    );
    let dead = q.job(id).unwrap().unwrap();
    assert_eq!(
        (dead.state, dead.attempts, dead.cpu_ms),
        (JobState::Dead, 3, 20)
    );
    assert_eq!(q.claim("w", now + 10_000_000, LEASE).unwrap(), None);
    // A worker dying on the last attempt buries it too.
    let id = q
        .enqueue(
            &NewJob {
                max_attempts: 1,
                ..NewJob::new("x", "r", "1")
            },
            0,
        )
        .unwrap()
        .id;
    q.claim("w", 0, LEASE).unwrap().unwrap();
    assert_eq!(q.claim("w2", LEASE + 1, LEASE).unwrap(), None);
    assert_eq!(q.job(id).unwrap().unwrap().state, JobState::Dead);
}

#[test]
fn cancellation_stops_queued_and_running_jobs_and_the_queue_survives_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("thinker.db");
    let mut q = SqliteJobs::open(&path).unwrap();
    let queued = q.enqueue(&NewJob::new("a", "r", "1"), 0).unwrap().id;
    let running = q
        .enqueue(
            &NewJob {
                priority: 5,
                ..NewJob::new("b", "r", "2")
            },
            0,
        )
        .unwrap()
        .id;
    let high = q.claim("w", 1, LEASE).unwrap().unwrap();
    assert_eq!(high.id, running, "higher priority first");
    assert!(q.cancel(queued, 2).unwrap());
    assert!(q.cancel(running, 2).unwrap());
    assert!(!q.cancel(running, 3).unwrap(), "already finished");
    assert!(
        !q.heartbeat(running, "w", 3, LEASE).unwrap(),
        "the worker must stop"
    );
    assert!(
        !q.complete(running, "w", 4, "{}", &[fact("x")], Spent::default())
            .unwrap()
    );
    assert_eq!(q.fact_count().unwrap(), 0);
    assert_eq!(q.claim("w", 5, LEASE).unwrap(), None);
    let kept = q.enqueue(&NewJob::new("c", "r", "3"), 6).unwrap().id;
    drop(q);
    let mut q = SqliteJobs::open(&path).unwrap();
    assert_eq!(q.job(queued).unwrap().unwrap().state, JobState::Cancelled);
    assert_eq!(q.claim("w", 7, LEASE).unwrap().unwrap().id, kept);
}

// 2026-12-02T00:00:00Z.
const DAY0: i64 = 1_796_169_600_000;
const HOUR: i64 = 3_600_000;

fn policy(f: impl FnOnce(&mut Policy)) -> Policy {
    let mut p = Policy {
        utc_offset_min: Some(0),
        ..Policy::default()
    };
    f(&mut p);
    p
}

fn complete(q: &mut SqliteJobs, id: i64, now: i64, cpu_ms: u64) {
    let spent = Spent { cpu_ms, tokens: 0 };
    assert!(q.complete(id, "w1", now, "{}", &[], spent).unwrap());
}

#[test]
fn a_spent_cpu_budget_holds_background_work_until_it_refills() {
    let (_dir, q) = queue();
    let mut q = q.with_utc_offset(0);
    q.set_learning("r", true, DAY0).unwrap();
    let p = policy(|p| p.cpu = Some(Budget::parse("6m/h", true).unwrap()));
    q.set_policy("r", &p, DAY0).unwrap();
    for i in 0..2 {
        q.enqueue(&NewJob::new("summarize", "r", &format!("{i}")), DAY0)
            .unwrap();
    }
    // The first thought spends 60 s: the 30 s burst is overdrawn by 30 s.
    let first = q.claim("w1", DAY0, LEASE).unwrap().unwrap();
    complete(&mut q, first.id, DAY0 + 1_000, 60_000);
    assert!(q.claim("w1", DAY0 + 2_000, LEASE).unwrap().is_none());
    let waiting = q.jobs(Some("r"), 10).unwrap();
    let held = waiting.iter().find(|j| j.id != first.id).unwrap();
    assert_eq!(held.state, JobState::Waiting);
    let reason = held.reason.clone().unwrap();
    assert!(
        reason.starts_with("cpu budget exhausted until 00:05"),
        "{reason}"
    );
    assert_eq!(q.counts("r").unwrap(), (0, 0, 1));
    assert_eq!(q.waiting_reasons("r").unwrap(), vec![(reason, 1)]);
    // A user's rerun is not held (and is charged all the same).
    let rerun = NewJob {
        explicit: true,
        ..NewJob::new("summarize", "r", "0")
    };
    let rerun = q.enqueue(&rerun, DAY0 + 3_000).unwrap().id;
    assert_eq!(
        q.claim("w1", DAY0 + 3_000, LEASE).unwrap().unwrap().id,
        rerun
    );
    complete(&mut q, rerun, DAY0 + 4_000, 6_000);
    // Refilled at 6 s a minute: the 36 s owed take 6 minutes more.
    assert!(q.claim("w1", held.run_after, LEASE).unwrap().is_none());
    let until = q.job(held.id).unwrap().unwrap().run_after;
    assert!(
        (until - DAY0 - 6 * 60_000).abs() < 2_000,
        "{}",
        until - DAY0
    );
    assert_eq!(q.claim("w1", until, LEASE).unwrap().unwrap().id, held.id);
    let (buckets, _) = q.sched("r").unwrap();
    assert!(buckets.cpu.unwrap().level <= 1_000.0);
}

#[test]
fn quiet_hours_hold_background_work_but_not_a_users() {
    let (_dir, q) = queue();
    let mut q = q.with_utc_offset(0);
    q.set_learning("r", true, DAY0).unwrap();
    let p = policy(|p| p.quiet_hours = Some(QuietHours::parse("09:00-18:00").unwrap()));
    q.set_policy("r", &p, DAY0).unwrap();
    let bg = q
        .enqueue(&NewJob::new("map-repo", "r", "{}"), DAY0)
        .unwrap()
        .id;
    assert!(q.claim("w1", DAY0 + 10 * HOUR, LEASE).unwrap().is_none());
    let job = q.job(bg).unwrap().unwrap();
    assert_eq!(job.state, JobState::Waiting);
    assert_eq!(
        job.reason.as_deref(),
        Some("quiet hours (09:00-18:00) until 18:00")
    );
    assert_eq!(job.run_after, DAY0 + 18 * HOUR);
    let user = NewJob {
        explicit: true,
        ..NewJob::new("map-repo", "r", "{}")
    };
    let user = q.enqueue(&user, DAY0 + 10 * HOUR).unwrap().id;
    let claimed = q.claim("w1", DAY0 + 10 * HOUR, LEASE).unwrap().unwrap();
    assert_eq!(claimed.id, user);
    assert!(claimed.explicit);
    complete(&mut q, user, DAY0 + 10 * HOUR, 0);
    assert!(q.claim("w2", DAY0 + 17 * HOUR, LEASE).unwrap().is_none());
    assert_eq!(
        q.claim("w2", DAY0 + 18 * HOUR, LEASE).unwrap().unwrap().id,
        bg
    );
}

#[test]
fn learning_off_holds_background_work_and_turning_it_on_wakes_it() {
    let (_dir, mut q) = queue();
    q.set_learning("r", true, 0).unwrap();
    let id = q
        .enqueue(&NewJob::new("scan-diff", "r", "{}"), 0)
        .unwrap()
        .id;
    q.set_learning("r", false, 1).unwrap();
    assert!(q.claim("w1", 2, LEASE).unwrap().is_none());
    let job = q.job(id).unwrap().unwrap();
    assert_eq!(
        job.reason.as_deref(),
        Some("learning is off for this repository")
    );
    q.set_learning("r", true, 3).unwrap();
    assert_eq!(q.claim("w1", 3, LEASE).unwrap().unwrap().id, id);
}

#[test]
fn the_repository_served_longest_ago_goes_first() {
    let (_dir, mut q) = queue();
    let a: Vec<i64> = (0..3)
        .map(|i| {
            let job = NewJob {
                priority: 5,
                ..NewJob::new("summarize", "busy", &i.to_string())
            };
            q.enqueue(&job, 0).unwrap().id
        })
        .collect();
    let b = q
        .enqueue(&NewJob::new("summarize", "quiet", "{}"), 1)
        .unwrap()
        .id;
    let mut order = Vec::new();
    for t in 10..14 {
        let job = q.claim("w1", t, LEASE).unwrap().unwrap();
        complete(&mut q, job.id, t, 0);
        order.push(job.id);
    }
    // One repository's queue of high-priority work does not starve another.
    assert_eq!(order, vec![a[0], b, a[1], a[2]]);
}

#[test]
fn a_cadence_fires_once_per_due_time_with_the_allowed_kinds() {
    let (_dir, q) = queue();
    let mut q = q.with_utc_offset(0);
    let kinds = ["map-repo", "summarize", "verify"];
    let p = policy(|p| p.cadence = Some(Cron::parse("0 3 * * *").unwrap()));
    q.set_policy("r", &p, DAY0).unwrap();
    // Not while learning is off.
    assert!(q.fire_cadences(DAY0 + 4 * HOUR, &kinds).unwrap().is_empty());
    q.set_learning("r", true, DAY0 + 4 * HOUR).unwrap();
    assert!(q.fire_cadences(DAY0 + 5 * HOUR, &kinds).unwrap().is_empty());
    let next_day = DAY0 + 27 * HOUR;
    assert!(q.fire_cadences(next_day - 1, &kinds).unwrap().is_empty());
    let fired = q.fire_cadences(next_day, &kinds).unwrap();
    assert_eq!(fired.len(), 2, "verify is not allowed by default");
    let mut fired_kinds: Vec<String> = fired
        .iter()
        .map(|e| q.job(e.id).unwrap().unwrap().kind)
        .collect();
    fired_kinds.sort();
    assert_eq!(fired_kinds, ["map-repo", "summarize"]);
    assert!(
        q.fire_cadences(next_day + 60_000, &kinds)
            .unwrap()
            .is_empty()
    );
    // A day later, its jobs still queued: merged, not doubled.
    let again = q.fire_cadences(next_day + 24 * HOUR, &kinds).unwrap();
    assert!(again.iter().all(|e| e.deduplicated) && again.len() == 2);
    let (_, last) = q.sched("r").unwrap();
    assert_eq!(last, Some(next_day + 24 * HOUR));
}

#[test]
fn a_queue_written_before_the_scheduler_is_migrated() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("thinker.db");
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(
            "CREATE TABLE jobs (id INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL,
                repo TEXT NOT NULL, input TEXT NOT NULL, input_hash INTEGER NOT NULL,
                priority INTEGER NOT NULL, state TEXT NOT NULL,
                attempts INTEGER NOT NULL DEFAULT 0, max_attempts INTEGER NOT NULL, reason TEXT,
                run_after INTEGER NOT NULL, lease_owner TEXT, lease_until INTEGER,
                cpu_ms INTEGER NOT NULL DEFAULT 0, tokens INTEGER NOT NULL DEFAULT 0, output TEXT,
                created_at INTEGER NOT NULL, started_at INTEGER, finished_at INTEGER);
             INSERT INTO jobs(kind, repo, input, input_hash, priority, state, max_attempts,
                run_after, created_at) VALUES ('scan-diff', 'r', '{}', 0, 0, 'queued', 5, 0, 0);
             CREATE TABLE learning (repo TEXT PRIMARY KEY, on_ INTEGER NOT NULL,
                updated_at INTEGER NOT NULL) WITHOUT ROWID;
             INSERT INTO learning VALUES ('r', 1, 0);",
        )
        .unwrap();
    }
    let mut q = SqliteJobs::open(&path).unwrap();
    assert_eq!(q.policy("r").unwrap(), Policy::default());
    let job = q.claim("w1", 1, LEASE).unwrap().unwrap();
    assert!(!job.explicit);
    drop(q);
    SqliteJobs::open(&path).unwrap();
}

fn fact_at(scope: &str, key: &str, commit: &str, value: &str) -> Fact {
    Fact {
        scope: scope.into(),
        key: key.into(),
        commit: commit.into(),
        value: value.into(),
    }
}

fn run_with(
    q: &mut SqliteJobs,
    now: i64,
    facts: &[Fact],
    insights: &[lore_core::jobs::NewInsight],
) -> i64 {
    let id = q
        .enqueue(&NewJob::new("summarize", "r", &now.to_string()), now)
        .unwrap()
        .id;
    let job = q.claim("w1", now, LEASE).unwrap().unwrap();
    assert_eq!(job.id, id);
    let results = lore_core::jobs::Results {
        output: "{}",
        facts,
        insights,
        ..Default::default()
    };
    assert!(
        q.complete_with(id, "w1", now, &results, Spent::default())
            .unwrap()
    );
    id
}

#[test]
fn retention_keeps_current_facts_and_recent_runs() {
    let (_dir, mut q) = queue();
    let day = 86_400_000;
    let card = "repo:r/file:a.py#f";
    run_with(
        &mut q,
        0,
        &[
            fact_at(card, "card", "c1", "old"),
            fact_at("repo:r", "digest:c0", "c1", "d1"),
        ],
        &[],
    );
    let newer = run_with(&mut q, 40 * day, &[fact_at(card, "card", "c2", "new")], &[]);
    for i in 0..3 {
        run_with(&mut q, 41 * day + i, &[], &[]);
    }
    let pruned = q.prune(41 * day + 10, 30 * day, 3).unwrap();
    assert_eq!(
        pruned.runs, 2,
        "the old run by age, the next beyond the newest 3"
    );
    assert_eq!(pruned.facts, 2, "the superseded card and the old digest");
    assert_eq!(q.fact(card, "card", "c2").unwrap().as_deref(), Some("new"));
    assert_eq!(q.fact(card, "card", "c1").unwrap(), None);
    assert_eq!(q.fact("repo:r", "digest:c0", "c1").unwrap(), None);
    assert!(q.job(newer).unwrap().is_none());
    assert_eq!(q.jobs(None, 10).unwrap().len(), 3);
    assert_eq!(
        q.fact_latest(card, "card").unwrap().unwrap().1,
        "new",
        "the card outlives its run"
    );
}

#[test]
fn forgetting_a_path_reaches_its_cards_dossiers_digests_and_insights() {
    let (_dir, mut q) = queue();
    let insight = |path: &str| lore_core::jobs::NewInsight {
        kind: "hotspot".into(),
        severity: "low".into(),
        title: format!("{path} is hot"),
        body: String::new(),
        evidence: format!(r#"[{{"path":"{path}","start_line":1,"end_line":2,"commit":"c"}}]"#),
        fingerprint: path.into(),
    };
    run_with(
        &mut q,
        0,
        &[
            fact_at("repo:r/file:secret/keys.py", "dossier", "c", "{}"),
            fact_at("repo:r/file:secret/keys.py#load", "card", "c", "{}"),
            fact_at("repo:r/dir:secret", "dossier", "c", "{}"),
            fact_at(
                "repo:r",
                "digest:b",
                "c",
                r#"{"symbols":[{"path":"secret/keys.py"}]}"#,
            ),
            fact_at("repo:r/file:secrets.md", "dossier", "c", "{}"),
            fact_at("repo:r/file:app.py", "dossier", "c", "{}"),
            fact_at("repo:other/file:secret/keys.py", "dossier", "c", "{}"),
        ],
        &[insight("secret/keys.py"), insight("app.py")],
    );
    let (facts, insights) = q.forget_path("r", "secret").unwrap();
    assert_eq!((facts, insights), (4, 1));
    assert!(
        q.fact("repo:r/file:secrets.md", "dossier", "c")
            .unwrap()
            .is_some()
    );
    assert!(
        q.fact("repo:r/file:app.py", "dossier", "c")
            .unwrap()
            .is_some()
    );
    assert!(
        q.fact("repo:other/file:secret/keys.py", "dossier", "c")
            .unwrap()
            .is_some()
    );
    let left = q.insights("r", None, None, 10).unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].found.fingerprint, "app.py");
}

#[test]
fn artifacts_stay_within_their_size_cap_newest_kept() {
    let (_dir, mut q) = queue();
    for (i, bytes) in [(0, 600u64), (1, 300), (2, 300)] {
        let id = q
            .enqueue(&NewJob::new("map-repo", "r", &i.to_string()), i)
            .unwrap()
            .id;
        q.claim("w1", i, LEASE).unwrap().unwrap();
        let artifacts = [lore_core::jobs::Artifact {
            name: "overview.md".into(),
            path: format!("/data/runs/{id}/overview.md"),
            sha256: "0".repeat(64),
            bytes,
        }];
        let results = lore_core::jobs::Results {
            output: "{}",
            artifacts: &artifacts,
            ..Default::default()
        };
        assert!(
            q.complete_with(id, "w1", i, &results, Spent::default())
                .unwrap()
        );
    }
    let pruned = q.prune_artifacts(700).unwrap();
    assert_eq!(pruned.files, ["/data/runs/1/overview.md"]);
    // The two newest fit in 700 bytes; the oldest run's goes.
    assert!(q.artifacts(1).unwrap().is_empty());
    assert_eq!(q.artifacts(2).unwrap().len(), 1);
    assert_eq!(q.artifacts(3).unwrap().len(), 1);
    let left: Vec<i64> = q
        .repo_artifacts("r")
        .unwrap()
        .iter()
        .map(|(run, _)| *run)
        .collect();
    assert_eq!(left, [2, 3]);
}

#[test]
fn an_insight_without_evidence_is_refused_and_facts_name_their_source() {
    let (_dir, mut q) = queue();
    let id = q
        .enqueue(&NewJob::new("map-repo", "r", "{}"), 0)
        .unwrap()
        .id;
    q.claim("w1", 0, LEASE).unwrap().unwrap();
    let bare = lore_core::jobs::NewInsight {
        kind: "hotspot".into(),
        severity: "low".into(),
        title: "something is off".into(),
        body: String::new(),
        evidence: "[]".into(),
        fingerprint: "x".into(),
    };
    let facts = [fact("v")];
    let results = lore_core::jobs::Results {
        output: "{}",
        facts: &facts,
        insights: std::slice::from_ref(&bare),
        ..Default::default()
    };
    let err = q
        .complete_with(id, "w1", 1, &results, Spent::default())
        .unwrap_err();
    assert!(err.to_string().contains("something is off"), "{err}");
    assert_eq!(q.fact_count().unwrap(), 0, "nothing landed");
    let results = lore_core::jobs::Results {
        insights: &[],
        ..results
    };
    assert!(
        q.complete_with(id, "w1", 1, &results, Spent::default())
            .unwrap()
    );
    drop(q);
    let conn = rusqlite::Connection::open(_dir.path().join("thinker.db")).unwrap();
    let source: String = conn
        .query_row("SELECT source FROM facts", [], |r| r.get(0))
        .unwrap();
    assert_eq!(source, "map-repo");
}

#[test]
fn an_unchanged_fact_is_not_written_again_and_extra_work_is_charged() {
    let (_dir, mut q) = queue();
    let card = "repo:r/file:a.py#f";
    let first = run_with(&mut q, 0, &[fact_at(card, "card", "c1", "same")], &[]);
    let second = run_with(&mut q, 1, &[fact_at(card, "card", "c1", "same")], &[]);
    let rows = |q: &SqliteJobs| {
        q.facts_under("repo:r/", "card", 10)
            .unwrap()
            .into_iter()
            .map(|(_, run)| run)
            .collect::<Vec<_>>()
    };
    assert_eq!(rows(&q), [first], "the same value keeps its first writer");
    let third = run_with(&mut q, 2, &[fact_at(card, "card", "c1", "changed")], &[]);
    assert_eq!(rows(&q), [third]);
    assert_ne!(second, third);
    q.charge_more(
        third,
        Spent {
            cpu_ms: 700,
            tokens: 0,
        },
        3,
    )
    .unwrap();
    assert_eq!(q.job(third).unwrap().unwrap().cpu_ms, 700);
}

#[test]
fn a_cadence_queues_what_the_plan_decides_from_insight_verdicts() {
    let (_dir, q) = queue();
    let mut q = q.with_utc_offset(0);
    let insight = |n: usize| lore_core::jobs::NewInsight {
        kind: "hotspot".into(),
        severity: "low".into(),
        title: format!("file {n} is hot"),
        body: String::new(),
        evidence: format!(r#"[{{"path":"f{n}.py","start_line":1,"end_line":2,"commit":"c"}}]"#),
        fingerprint: n.to_string(),
    };
    let found: Vec<_> = (0..4).map(insight).collect();
    run_with(&mut q, DAY0, &[], &found);
    let ids: Vec<i64> = q
        .insights("r", None, None, 10)
        .unwrap()
        .iter()
        .map(|i| i.id)
        .collect();
    q.set_insight_status(ids[0], "read").unwrap();
    q.set_insight_status(ids[1], "dismissed").unwrap();
    q.set_insight_status(ids[2], "dismissed").unwrap();
    let verdicts = q.insight_verdicts("r").unwrap();
    assert_eq!(
        verdicts,
        [lore_core::jobs::KindVerdicts {
            kind: "summarize".into(),
            read: 1,
            dismissed: 2,
            new: 1,
        }]
    );

    let p = policy(|p| p.cadence = Some(Cron::parse("0 3 * * *").unwrap()));
    q.set_policy("r", &p, DAY0).unwrap();
    q.set_learning("r", true, DAY0).unwrap();
    let mut seen = Vec::new();
    let fired = q
        .fire_cadences_with(DAY0 + 27 * HOUR, &mut |repo, v| {
            seen.push((repo.to_owned(), v.to_vec()));
            vec![
                ("map-repo".into(), 0),
                ("summarize".into(), 30),
                ("verify".into(), 50),
            ]
        })
        .unwrap();
    assert_eq!(seen, [("r".to_owned(), verdicts)]);
    assert_eq!(fired.len(), 2, "verify is still not allowed by default");
    let job = q.claim("w1", DAY0 + 27 * HOUR, LEASE).unwrap().unwrap();
    assert_eq!(
        (job.kind.as_str(), job.priority),
        ("summarize", 30),
        "the plan's priority runs first"
    );
}
