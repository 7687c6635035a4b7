//! The durable job queue with an injected clock: leases and their expiry,
//! one job to one worker, dedupe, backoff and dead letters, cancellation,
//! and results that land exactly once.

use lore_core::jobs::{Fact, JobState, JobStore, NewJob, Spent, backoff_ms};
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
