//! [`SqliteJobs`]: the durable job queue and the facts thoughts write, in
//! one SQLite file under LORE_HOME (`thinker.db`), so that a job's results
//! and its completion are one transaction, and run ids are unique across
//! repositories.

use std::path::{Path, PathBuf};
use std::time::Duration;

use lore_core::jobs::{
    Artifact, CadencePlan, Enqueued, Fact, Insight, Job, JobState, JobStore, KindVerdicts,
    NewInsight, NewJob, Pruned, Results, Spent, backoff_ms,
};
use lore_core::schedule::{self, Buckets, Hold, Policy};
use rusqlite::{Connection, OptionalExtension, Row, TransactionBehavior, params};

use crate::error::{Context, Error, Result};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS jobs (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    kind         TEXT NOT NULL,
    repo         TEXT NOT NULL,
    input        TEXT NOT NULL,
    input_hash   INTEGER NOT NULL,
    priority     INTEGER NOT NULL,
    state        TEXT NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    max_attempts INTEGER NOT NULL,
    reason       TEXT,
    run_after    INTEGER NOT NULL,
    lease_owner  TEXT,
    lease_until  INTEGER,
    cpu_ms       INTEGER NOT NULL DEFAULT 0,
    tokens       INTEGER NOT NULL DEFAULT 0,
    output       TEXT,
    created_at   INTEGER NOT NULL,
    started_at   INTEGER,
    finished_at  INTEGER,
    explicit     INTEGER NOT NULL DEFAULT 0,
    log          TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS artifacts (
    run    INTEGER NOT NULL,
    name   TEXT NOT NULL,
    path   TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    bytes  INTEGER NOT NULL,
    PRIMARY KEY (run, name)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS jobs_runnable ON jobs(state, run_after);
CREATE INDEX IF NOT EXISTS jobs_dedupe ON jobs(repo, kind, input_hash);
CREATE INDEX IF NOT EXISTS jobs_by_repo ON jobs(repo, id);
CREATE TABLE IF NOT EXISTS learning (
    repo       TEXT PRIMARY KEY,
    on_        INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    policy     TEXT NOT NULL DEFAULT '{}'
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS insights (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    repo        TEXT NOT NULL,
    kind        TEXT NOT NULL,
    severity    TEXT NOT NULL,
    title       TEXT NOT NULL,
    body        TEXT NOT NULL,
    evidence    TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    status      TEXT NOT NULL DEFAULT 'new',
    run         INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    UNIQUE (repo, fingerprint)
);
CREATE INDEX IF NOT EXISTS insights_by_repo ON insights(repo, updated_at);
CREATE TABLE IF NOT EXISTS deliveries (
    id TEXT PRIMARY KEY,
    at INTEGER NOT NULL
) WITHOUT ROWID;
-- The scheduler's state per repository: when it was last served (fairness),
-- its budget buckets, when its cadence last fired.
CREATE TABLE IF NOT EXISTS sched (
    repo         TEXT PRIMARY KEY,
    last_served  INTEGER NOT NULL DEFAULT 0,
    buckets      TEXT NOT NULL DEFAULT '{}',
    last_cadence INTEGER
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS facts (
    scope  TEXT NOT NULL,
    key    TEXT NOT NULL,
    commit_sha TEXT NOT NULL,
    value  TEXT NOT NULL,
    run    INTEGER NOT NULL,
    source TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (scope, key, commit_sha)
) WITHOUT ROWID;
";

/// First retry delay; doubles per attempt.
const BACKOFF_BASE_MS: i64 = 5_000;

const COLUMNS: &str = "id, kind, repo, input, priority, state, attempts, max_attempts, reason, \
     run_after, lease_owner, lease_until, cpu_ms, tokens, output, created_at, started_at, \
     finished_at, explicit, log";

const INSIGHT_COLUMNS: &str = "id, repo, kind, severity, title, body, evidence, fingerprint, \
     status, run, created_at, updated_at";

/// (run, artifact) of `SELECT run, name, path, sha256, bytes`.
fn artifact_row(r: &Row<'_>) -> rusqlite::Result<(i64, Artifact)> {
    Ok((
        r.get(0)?,
        Artifact {
            name: r.get(1)?,
            path: r.get(2)?,
            sha256: r.get(3)?,
            bytes: r.get::<_, i64>(4)? as u64,
        },
    ))
}

fn insight_row(r: &Row<'_>) -> rusqlite::Result<Insight> {
    Ok(Insight {
        id: r.get(0)?,
        repo: r.get(1)?,
        found: NewInsight {
            kind: r.get(2)?,
            severity: r.get(3)?,
            title: r.get(4)?,
            body: r.get(5)?,
            evidence: r.get(6)?,
            fingerprint: r.get(7)?,
        },
        status: r.get(8)?,
        run: r.get(9)?,
        created_at: r.get(10)?,
        updated_at: r.get(11)?,
    })
}

/// Runnable at `?1`: ready and due, or running under an expired lease (its
/// worker died).
const RUNNABLE: &str = "((state IN ('queued', 'failed', 'waiting') AND run_after <= ?1)
     OR (state = 'running' AND lease_until < ?1))";

/// The job queue and facts in SQLite (WAL: workers in several processes).
pub struct SqliteJobs {
    conn: Connection,
    path: PathBuf,
    /// The local clock's offset from UTC for quiet hours and cadences
    /// (minutes); `None`: the machine's time zone at each instant.
    utc_offset: Option<i32>,
}

/// The machine's offset from UTC at `ms`, in minutes.
pub fn local_offset_min(ms: i64) -> i32 {
    use chrono::{Offset, TimeZone};
    chrono::Local
        .timestamp_millis_opt(ms)
        .single()
        .map_or(0, |t| t.offset().fix().local_minus_utc() / 60)
}

/// A day, the hold of a repository with learning turned off (turning it on
/// wakes its jobs at once).
const DAY_MS: i64 = 86_400_000;

impl std::fmt::Debug for SqliteJobs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteJobs")
            .field("path", &self.path)
            .finish()
    }
}

/// FNV-1a of the input: the dedupe index's key (equality is then checked
/// on the text itself).
fn input_hash(input: &str) -> i64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in input.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x100_0000_01b3);
    }
    h as i64
}

fn job_row(r: &Row<'_>) -> rusqlite::Result<Job> {
    let state: String = r.get(5)?;
    Ok(Job {
        id: r.get(0)?,
        kind: r.get(1)?,
        repo: r.get(2)?,
        input: r.get(3)?,
        priority: r.get(4)?,
        state: JobState::parse(&state).ok_or_else(|| {
            rusqlite::Error::FromSqlConversionFailure(
                5,
                rusqlite::types::Type::Text,
                format!("unknown job state {state}").into(),
            )
        })?,
        attempts: r.get(6)?,
        max_attempts: r.get(7)?,
        reason: r.get(8)?,
        run_after: r.get(9)?,
        lease_owner: r.get(10)?,
        lease_until: r.get(11)?,
        cpu_ms: r.get::<_, i64>(12)? as u64,
        tokens: r.get::<_, i64>(13)? as u64,
        output: r.get(14)?,
        created_at: r.get(15)?,
        started_at: r.get(16)?,
        finished_at: r.get(17)?,
        explicit: r.get(18)?,
        log: r.get(19)?,
    })
}

impl SqliteJobs {
    /// Opens (creating if needed) the queue at `path`.
    pub fn open(path: &Path) -> Result<SqliteJobs> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|source| Error::Io {
                path: dir.to_owned(),
                source,
            })?;
        }
        let mut conn = Connection::open(path).ctx("open job queue")?;
        conn.busy_timeout(Duration::from_secs(30))
            .ctx("set busy timeout")?;
        // auto_vacuum takes effect only in a new file (before its tables):
        // pruning then gives pages back without a full VACUUM.
        conn.execute_batch(
            "PRAGMA auto_vacuum = INCREMENTAL; PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;",
        )
            .ctx("set pragmas")?;
        conn.execute_batch(SCHEMA).ctx("create job queue")?;
        migrate(&mut conn)?;
        Ok(SqliteJobs {
            conn,
            path: path.to_owned(),
            utc_offset: None,
        })
    }

    /// Quiet hours and cadences of policies that name no clock read it
    /// `minutes` east of UTC (tests inject it; by default the machine's).
    pub fn with_utc_offset(mut self, minutes: i32) -> SqliteJobs {
        self.utc_offset = Some(minutes);
        self
    }

    fn offset_at(&self, now: i64) -> i32 {
        self.utc_offset.unwrap_or_else(|| local_offset_min(now))
    }

    /// Charges the job and its repository's budget buckets.
    fn charge(tx: &Connection, id: i64, spent: Spent, now: i64) -> Result<()> {
        tx.execute(
            "UPDATE jobs SET cpu_ms = cpu_ms + ?2, tokens = tokens + ?3 WHERE id = ?1",
            params![id, spent.cpu_ms as i64, spent.tokens as i64],
        )
        .ctx("charge job")?;
        let repo: Option<String> = tx
            .query_row("SELECT repo FROM jobs WHERE id = ?1", [id], |r| r.get(0))
            .optional()
            .ctx("read job")?;
        let Some(repo) = repo else { return Ok(()) };
        let (_, policy) = read_policy(tx, &repo)?;
        if policy.cpu.is_none() && policy.tokens.is_none() {
            return Ok(());
        }
        let (mut buckets, _, _) = read_sched(tx, &repo)?;
        buckets.charge(&policy, now, spent.cpu_ms, spent.tokens);
        write_buckets(tx, &repo, &buckets)
    }
}

/// The queue's schema version (`PRAGMA user_version`): 1 the scheduler's
/// columns, 2 run logs, 3 facts' source.
const QUEUE_VERSION: i64 = 3;

/// Brings a queue written by an older lore up to this schema (in one
/// transaction: two processes may open it at once).
fn migrate(conn: &mut Connection) -> Result<()> {
    // Current already (every open after the first): no write lock taken.
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .ctx("read queue version")?;
    if version >= QUEUE_VERSION {
        return Ok(());
    }
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .ctx("begin migration")?;
    let version: i64 = tx
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .ctx("read queue version")?;
    if version < QUEUE_VERSION {
        for (table, column, ddl) in [
            (
                "jobs",
                "explicit",
                "ALTER TABLE jobs ADD COLUMN explicit INTEGER NOT NULL DEFAULT 0",
            ),
            (
                "learning",
                "policy",
                "ALTER TABLE learning ADD COLUMN policy TEXT NOT NULL DEFAULT '{}'",
            ),
            (
                "jobs",
                "log",
                "ALTER TABLE jobs ADD COLUMN log TEXT NOT NULL DEFAULT ''",
            ),
            (
                "facts",
                "source",
                "ALTER TABLE facts ADD COLUMN source TEXT NOT NULL DEFAULT ''",
            ),
        ] {
            let has: i64 = tx
                .query_row(
                    &format!("SELECT count(*) FROM pragma_table_info('{table}') WHERE name = ?1"),
                    [column],
                    |r| r.get(0),
                )
                .ctx("read queue schema")?;
            if has == 0 {
                tx.execute_batch(ddl).ctx("migrate queue")?;
            }
        }
        tx.execute_batch(&format!("PRAGMA user_version = {QUEUE_VERSION}"))
            .ctx("write queue version")?;
    }
    tx.commit().ctx("commit migration")
}

/// Whether learning is on (`None`: never set) and the policy of `repo`.
fn read_policy(conn: &Connection, repo: &str) -> Result<(Option<bool>, Policy)> {
    let row: Option<(bool, String)> = conn
        .query_row(
            "SELECT on_, policy FROM learning WHERE repo = ?1",
            [repo],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()
        .ctx("read learning")?;
    let Some((on, text)) = row else {
        return Ok((None, Policy::default()));
    };
    let policy = serde_json::from_str(&text)
        .map_err(|e| Error::Corrupt(format!("learning policy of repository {repo}: {e}")))?;
    Ok((Some(on), policy))
}

/// Buckets, last served and last cadence of `repo`.
fn read_sched(conn: &Connection, repo: &str) -> Result<(Buckets, i64, Option<i64>)> {
    let row: Option<(String, i64, Option<i64>)> = conn
        .query_row(
            "SELECT buckets, last_served, last_cadence FROM sched WHERE repo = ?1",
            [repo],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()
        .ctx("read scheduler state")?;
    let Some((buckets, served, cadence)) = row else {
        return Ok((Buckets::default(), 0, None));
    };
    let buckets = serde_json::from_str(&buckets)
        .map_err(|e| Error::Corrupt(format!("budget buckets of repository {repo}: {e}")))?;
    Ok((buckets, served, cadence))
}

fn write_buckets(conn: &Connection, repo: &str, buckets: &Buckets) -> Result<()> {
    let text = serde_json::to_string(buckets).expect("buckets serialize");
    conn.execute(
        "INSERT INTO sched(repo, buckets) VALUES (?1, ?2)
         ON CONFLICT(repo) DO UPDATE SET buckets = ?2",
        params![repo, text],
    )
    .ctx("write budget buckets")?;
    Ok(())
}

/// Held jobs of `repo` are looked at again by the next claim.
fn wake(tx: &Connection, repo: &str, now: i64) -> Result<()> {
    tx.execute(
        "UPDATE jobs SET run_after = ?2 WHERE repo = ?1 AND state = 'waiting' AND run_after > ?2",
        params![repo, now],
    )
    .ctx("wake held jobs")?;
    Ok(())
}

/// Inserts `job`, or finds its queued twin (see [`JobStore::enqueue`]).
fn enqueue_in(tx: &Connection, job: &NewJob, now: i64) -> Result<Enqueued> {
    let hash = input_hash(&job.input);
    if !job.explicit {
        let twin: Option<i64> = tx
            .query_row(
                "SELECT id FROM jobs WHERE repo = ?1 AND kind = ?2 AND input_hash = ?3
                 AND input = ?4 AND state IN ('queued', 'waiting') ORDER BY id LIMIT 1",
                params![job.repo, job.kind, hash, job.input],
                |r| r.get(0),
            )
            .optional()
            .ctx("find a queued twin")?;
        if let Some(id) = twin {
            return Ok(Enqueued {
                id,
                deduplicated: true,
            });
        }
    }
    tx.execute(
        "INSERT INTO jobs(kind, repo, input, input_hash, priority, state, max_attempts,
                          run_after, created_at, explicit)
         VALUES (?1, ?2, ?3, ?4, ?5, 'queued', ?6, ?7, ?8, ?9)",
        params![
            job.kind,
            job.repo,
            job.input,
            hash,
            job.priority,
            job.max_attempts.max(1),
            job.run_after,
            now,
            job.explicit
        ],
    )
    .ctx("enqueue")?;
    Ok(Enqueued {
        id: tx.last_insert_rowid(),
        deduplicated: false,
    })
}

/// What people did with each thought kind's insights in `repo`.
fn verdicts_in(conn: &rusqlite::Connection, repo: &str) -> lore_core::Result<Vec<KindVerdicts>> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT j.kind, count(*) FILTER (WHERE i.status = 'read'),
                    count(*) FILTER (WHERE i.status = 'dismissed'),
                    count(*) FILTER (WHERE i.status = 'new')
             FROM insights i JOIN jobs j ON j.id = i.run
             WHERE i.repo = ?1 GROUP BY j.kind ORDER BY j.kind",
        )
        .ctx("read insight verdicts")?;
    let rows = stmt
        .query_map([repo], |r| {
            Ok(KindVerdicts {
                kind: r.get(0)?,
                read: r.get::<_, i64>(1)? as u64,
                dismissed: r.get::<_, i64>(2)? as u64,
                new: r.get::<_, i64>(3)? as u64,
            })
        })
        .ctx("read insight verdicts")?
        .collect::<rusqlite::Result<_>>()
        .ctx("read insight verdicts")?;
    Ok(rows)
}

impl JobStore for SqliteJobs {
    fn enqueue(&mut self, job: &NewJob, now: i64) -> lore_core::Result<Enqueued> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .ctx("begin enqueue")?;
        let done = enqueue_in(&tx, job, now)?;
        tx.commit().ctx("commit enqueue")?;
        Ok(done)
    }

    fn claim_for(
        &mut self,
        worker: &str,
        repos: &[String],
        now: i64,
        lease_ms: i64,
    ) -> lore_core::Result<Option<Job>> {
        let offset = self.offset_at(now);
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .ctx("begin claim")?;
        // A running job whose lease expired lost its worker: its attempt
        // counts; out of attempts it is dead, else runnable again.
        tx.execute(
            "UPDATE jobs SET state = 'dead', lease_owner = NULL, lease_until = NULL,
                    finished_at = ?1, reason = 'the worker stopped answering on its last attempt'
             WHERE state = 'running' AND lease_until < ?1 AND attempts >= max_attempts",
            [now],
        )
        .ctx("expire leases")?;
        // Repositories with runnable jobs: hold those their policy holds,
        // then serve the one served longest ago.
        let candidates: Vec<(String, bool, i64, i64)> = {
            let mut stmt = tx
                .prepare_cached(&format!(
                    "SELECT j.repo, max(j.explicit), coalesce(s.last_served, 0), min(j.id)
                     FROM jobs j LEFT JOIN sched s ON s.repo = j.repo
                     WHERE {RUNNABLE} GROUP BY j.repo"
                ))
                .ctx("find runnable repositories")?;
            stmt.query_map([now], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
                .ctx("find runnable repositories")?
                .collect::<rusqlite::Result<_>>()
                .ctx("find runnable repositories")?
        };
        // (last served, oldest runnable job, repository): ties go first come.
        let mut eligible: Vec<(i64, i64, String)> = Vec::new();
        for (repo, has_explicit, served, oldest) in candidates {
            if !repos.is_empty() && !repos.contains(&repo) {
                continue;
            }
            let (on, policy) = read_policy(&tx, &repo)?;
            let hold = if on == Some(false) {
                Some(Hold {
                    until: now + DAY_MS,
                    reason: "learning is off for this repository".to_owned(),
                })
            } else {
                let (buckets, _, _) = read_sched(&tx, &repo)?;
                schedule::hold(&policy, &buckets, now, offset)
            };
            if let Some(hold) = hold {
                tx.execute(
                    &format!(
                        "UPDATE jobs SET state = 'waiting', reason = ?2, run_after = ?3,
                                lease_owner = NULL, lease_until = NULL
                         WHERE repo = ?4 AND explicit = 0 AND {RUNNABLE}"
                    ),
                    params![now, hold.reason, hold.until, repo],
                )
                .ctx("hold jobs")?;
                if !has_explicit {
                    continue;
                }
            }
            eligible.push((served, oldest, repo));
        }
        let Some((_, _, repo)) = eligible.into_iter().min() else {
            tx.commit().ctx("commit claim")?;
            return Ok(None);
        };
        let id: i64 = tx
            .query_row(
                &format!(
                    "SELECT id FROM jobs WHERE repo = ?2 AND {RUNNABLE}
                     ORDER BY priority DESC, id LIMIT 1"
                ),
                params![now, repo],
                |r| r.get(0),
            )
            .ctx("find a runnable job")?;
        tx.execute(
            "INSERT INTO sched(repo, last_served) VALUES (?1, ?2)
             ON CONFLICT(repo) DO UPDATE SET last_served = ?2",
            params![repo, now],
        )
        .ctx("record service")?;
        tx.execute(
            "UPDATE jobs SET state = 'running', attempts = attempts + 1, lease_owner = ?2,
                    lease_until = ?3, started_at = ?4, reason = NULL
             WHERE id = ?1",
            params![id, worker, now + lease_ms, now],
        )
        .ctx("lease job")?;
        let job = tx
            .query_row(
                &format!("SELECT {COLUMNS} FROM jobs WHERE id = ?1"),
                [id],
                job_row,
            )
            .ctx("read job")?;
        tx.commit().ctx("commit claim")?;
        Ok(Some(job))
    }

    fn heartbeat(
        &mut self,
        id: i64,
        worker: &str,
        now: i64,
        lease_ms: i64,
    ) -> lore_core::Result<bool> {
        let n = self
            .conn
            .execute(
                "UPDATE jobs SET lease_until = ?3
                 WHERE id = ?1 AND state = 'running' AND lease_owner = ?2 AND lease_until >= ?4",
                params![id, worker, now + lease_ms, now],
            )
            .ctx("renew lease")?;
        Ok(n == 1)
    }

    fn complete_with(
        &mut self,
        id: i64,
        worker: &str,
        now: i64,
        results: &Results<'_>,
        spent: Spent,
    ) -> lore_core::Result<bool> {
        let Results {
            output,
            facts,
            insights,
            artifacts,
            log,
        } = *results;
        // No insight without evidence: a thought that finds one is wrong.
        if let Some(bare) = insights.iter().find(|i| {
            serde_json::from_str::<serde_json::Value>(&i.evidence)
                .ok()
                .and_then(|v| v.as_array().map(|a| a.is_empty()))
                .unwrap_or(true)
        }) {
            return Err(lore_core::Error::Invalid(format!(
                "run {id}: insight `{}` has no evidence (a JSON array of citations)",
                bare.title
            )));
        }
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .ctx("begin completion")?;
        Self::charge(&tx, id, spent, now)?;
        let n = tx
            .execute(
                "UPDATE jobs SET state = 'succeeded', output = ?3, finished_at = ?4,
                        lease_owner = NULL, lease_until = NULL, log = log || ?5
                 WHERE id = ?1 AND state = 'running' AND lease_owner = ?2",
                params![id, worker, output, now, log],
            )
            .ctx("complete job")?;
        if n == 1 {
            let mut put = tx
                .prepare_cached(
                    "INSERT INTO facts(scope, key, commit_sha, value, run, source)
                     SELECT ?1, ?2, ?3, ?4, ?5, kind FROM jobs WHERE id = ?5
                     ON CONFLICT(scope, key, commit_sha) DO UPDATE SET value = ?4, run = ?5,
                        source = excluded.source
                     WHERE facts.value != excluded.value",
                )
                .ctx("prepare fact")?;
            for f in facts {
                put.execute(params![f.scope, f.key, f.commit, f.value, id])
                    .ctx("write fact")?;
            }
            let mut found = tx
                .prepare_cached(
                    "INSERT INTO insights(repo, kind, severity, title, body, evidence, fingerprint,
                                          run, created_at, updated_at)
                     SELECT repo, ?2, ?3, ?4, ?5, ?6, ?7, id, ?8, ?8 FROM jobs WHERE id = ?1
                     ON CONFLICT(repo, fingerprint) DO UPDATE SET kind = ?2, severity = ?3,
                        title = ?4, body = ?5, evidence = ?6, run = ?1, updated_at = ?8",
                )
                .ctx("prepare insight")?;
            let mut file = tx
                .prepare_cached(
                    "INSERT INTO artifacts(run, name, path, sha256, bytes) VALUES (?1, ?2, ?3, ?4, ?5)
                     ON CONFLICT(run, name) DO UPDATE SET path = ?3, sha256 = ?4, bytes = ?5",
                )
                .ctx("prepare artifact")?;
            for a in artifacts {
                file.execute(params![id, a.name, a.path, a.sha256, a.bytes as i64])
                    .ctx("write artifact")?;
            }
            for i in insights {
                found
                    .execute(params![
                        id,
                        i.kind,
                        i.severity,
                        i.title,
                        i.body,
                        i.evidence,
                        i.fingerprint,
                        now
                    ])
                    .ctx("write insight")?;
            }
        }
        tx.commit().ctx("commit completion")?;
        Ok(n == 1)
    }

    fn fail(
        &mut self,
        id: i64,
        worker: &str,
        now: i64,
        error: &str,
        spent: Spent,
    ) -> lore_core::Result<JobState> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .ctx("begin failure")?;
        Self::charge(&tx, id, spent, now)?;
        let held: Option<(u32, u32)> = tx
            .query_row(
                "SELECT attempts, max_attempts FROM jobs
                 WHERE id = ?1 AND state = 'running' AND lease_owner = ?2",
                params![id, worker],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .ctx("read job")?;
        let state = match held {
            Some((attempts, max)) if attempts >= max => {
                tx.execute(
                    "UPDATE jobs SET state = 'dead', reason = ?2, finished_at = ?3,
                            lease_owner = NULL, lease_until = NULL,
                            log = log || 'attempt ' || attempts || ' failed: ' || ?2 || char(10)
                     WHERE id = ?1",
                    params![id, error, now],
                )
                .ctx("bury job")?;
                JobState::Dead
            }
            Some((attempts, _)) => {
                let retry = now + backoff_ms(attempts, BACKOFF_BASE_MS, id);
                tx.execute(
                    "UPDATE jobs SET state = 'failed', reason = ?2, run_after = ?3,
                            lease_owner = NULL, lease_until = NULL,
                            log = log || 'attempt ' || attempts || ' failed: ' || ?2 || char(10)
                     WHERE id = ?1",
                    params![id, error, retry],
                )
                .ctx("reschedule job")?;
                JobState::Failed
            }
            // The lease was lost meanwhile: another attempt owns the job.
            None => tx
                .query_row("SELECT state FROM jobs WHERE id = ?1", [id], |r| {
                    r.get::<_, String>(0)
                })
                .optional()
                .ctx("read job")?
                .and_then(|s| JobState::parse(&s))
                .unwrap_or(JobState::Dead),
        };
        tx.commit().ctx("commit failure")?;
        Ok(state)
    }

    fn cancel(&mut self, id: i64, now: i64) -> lore_core::Result<bool> {
        let n = self
            .conn
            .execute(
                "UPDATE jobs SET state = 'cancelled', finished_at = ?2, lease_owner = NULL,
                        lease_until = NULL, reason = 'cancelled'
                 WHERE id = ?1 AND state NOT IN ('succeeded', 'cancelled', 'dead')",
                params![id, now],
            )
            .ctx("cancel job")?;
        Ok(n == 1)
    }

    fn job(&self, id: i64) -> lore_core::Result<Option<Job>> {
        Ok(self
            .conn
            .query_row(
                &format!("SELECT {COLUMNS} FROM jobs WHERE id = ?1"),
                [id],
                job_row,
            )
            .optional()
            .ctx("read job")?)
    }

    fn jobs(&self, repo: Option<&str>, limit: usize) -> lore_core::Result<Vec<Job>> {
        let mut stmt = self
            .conn
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM jobs WHERE ?1 IS NULL OR repo = ?1 ORDER BY id DESC LIMIT ?2"
            ))
            .ctx("list jobs")?;
        let rows = stmt
            .query_map(params![repo, limit.min(i64::MAX as usize) as i64], job_row)
            .ctx("list jobs")?
            .collect::<rusqlite::Result<Vec<Job>>>()
            .ctx("list jobs")?;
        Ok(rows)
    }

    fn fact(&self, scope: &str, key: &str, commit: &str) -> lore_core::Result<Option<String>> {
        Ok(self
            .conn
            .query_row(
                "SELECT value FROM facts WHERE scope = ?1 AND key = ?2 AND commit_sha = ?3",
                params![scope, key, commit],
                |r| r.get(0),
            )
            .optional()
            .ctx("read fact")?)
    }

    fn forget_repo(&mut self, repo: &str) -> lore_core::Result<(u64, u64)> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .ctx("begin forget")?;
        tx.execute_batch("PRAGMA secure_delete = ON;")
            .ctx("secure delete")?;
        tx.execute(
            "DELETE FROM artifacts WHERE run IN (SELECT id FROM jobs WHERE repo = ?1)",
            [repo],
        )
        .ctx("forget artifacts")?;
        let jobs = tx
            .execute("DELETE FROM jobs WHERE repo = ?1", [repo])
            .ctx("forget jobs")?;
        tx.execute("DELETE FROM learning WHERE repo = ?1", [repo])
            .ctx("forget learning")?;
        tx.execute("DELETE FROM sched WHERE repo = ?1", [repo])
            .ctx("forget scheduler state")?;
        tx.execute("DELETE FROM insights WHERE repo = ?1", [repo])
            .ctx("forget insights")?;
        // `repo:ID` and anything under it (`repo:ID/...`), not `repo:ID2`.
        let facts = tx
            .execute(
                "DELETE FROM facts WHERE scope = 'repo:' || ?1 OR substr(scope, 1, length(?1) + 6) = 'repo:' || ?1 || '/'",
                [repo],
            )
            .ctx("forget facts")?;
        tx.commit().ctx("commit forget")?;
        Ok((jobs as u64, facts as u64))
    }

    fn fact_latest(&self, scope: &str, key: &str) -> lore_core::Result<Option<(String, String)>> {
        Ok(self
            .conn
            .query_row(
                "SELECT commit_sha, value FROM facts WHERE scope = ?1 AND key = ?2
                 ORDER BY run DESC LIMIT 1",
                params![scope, key],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .ctx("read fact")?)
    }

    fn facts_under(
        &self,
        prefix: &str,
        key: &str,
        limit: usize,
    ) -> lore_core::Result<Vec<(Fact, i64)>> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT scope, key, commit_sha, value, run FROM facts
                 WHERE scope >= ?1 AND scope < ?1 || x'ff' AND key = ?2
                 ORDER BY run DESC LIMIT ?3",
            )
            .ctx("list facts")?;
        let rows = stmt
            .query_map(
                params![prefix, key, limit.min(i64::MAX as usize) as i64],
                |r| {
                    Ok((
                        Fact {
                            scope: r.get(0)?,
                            key: r.get(1)?,
                            commit: r.get(2)?,
                            value: r.get(3)?,
                        },
                        r.get(4)?,
                    ))
                },
            )
            .ctx("list facts")?
            .collect::<rusqlite::Result<_>>()
            .ctx("list facts")?;
        Ok(rows)
    }

    fn forget_scope(&mut self, scope: &str) -> lore_core::Result<u64> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .ctx("begin forget")?;
        tx.execute_batch("PRAGMA secure_delete = ON;")
            .ctx("secure delete")?;
        let n = tx
            .execute(
                "DELETE FROM facts WHERE scope = ?1
                   OR substr(scope, 1, length(?1) + 1) IN (?1 || '#', ?1 || '/')",
                [scope],
            )
            .ctx("forget facts")?;
        tx.commit().ctx("commit forget")?;
        Ok(n as u64)
    }

    fn insights(
        &self,
        repo: &str,
        kind: Option<&str>,
        status: Option<&str>,
        limit: usize,
    ) -> lore_core::Result<Vec<Insight>> {
        let mut stmt = self
            .conn
            .prepare_cached(&format!(
                "SELECT {INSIGHT_COLUMNS} FROM insights WHERE repo = ?1
                 AND (?2 IS NULL OR kind = ?2) AND (?3 IS NULL OR status = ?3)
                 ORDER BY updated_at DESC, id DESC LIMIT ?4"
            ))
            .ctx("list insights")?;
        let rows = stmt
            .query_map(
                params![repo, kind, status, limit.min(i64::MAX as usize) as i64],
                insight_row,
            )
            .ctx("list insights")?
            .collect::<rusqlite::Result<_>>()
            .ctx("list insights")?;
        Ok(rows)
    }

    fn insight(&self, id: i64) -> lore_core::Result<Option<Insight>> {
        Ok(self
            .conn
            .query_row(
                &format!("SELECT {INSIGHT_COLUMNS} FROM insights WHERE id = ?1"),
                [id],
                insight_row,
            )
            .optional()
            .ctx("read insight")?)
    }

    fn forget_path(&mut self, repo: &str, path: &str) -> lore_core::Result<(u64, u64)> {
        // The path as it appears in JSON values (escaped), opening a string.
        let quoted = serde_json::to_string(path).expect("a path serializes");
        let opening = &quoted[..quoted.len() - 1];
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .ctx("begin forget")?;
        tx.execute_batch("PRAGMA secure_delete = ON;")
            .ctx("secure delete")?;
        let mut facts = 0;
        for scope in [
            format!("repo:{repo}/file:{path}"),
            format!("repo:{repo}/dir:{path}"),
        ] {
            facts += tx
                .execute(
                    "DELETE FROM facts WHERE scope = ?1
                       OR substr(scope, 1, length(?1) + 1) IN (?1 || '#', ?1 || '/')",
                    [&scope],
                )
                .ctx("forget facts")?;
        }
        facts += tx
            .execute(
                "DELETE FROM facts
                 WHERE (scope = 'repo:' || ?1 OR substr(scope, 1, length(?1) + 6) = 'repo:' || ?1 || '/')
                   AND instr(value, ?2) > 0",
                params![repo, opening],
            )
            .ctx("forget facts citing the path")?;
        let insights = tx
            .execute(
                "DELETE FROM insights WHERE repo = ?1
                   AND (instr(evidence, ?2) > 0 OR instr(body, ?3) > 0 OR instr(title, ?3) > 0)",
                params![repo, opening, path],
            )
            .ctx("forget insights citing the path")?;
        tx.commit().ctx("commit forget")?;
        Ok((facts as u64, insights as u64))
    }

    fn prune(&mut self, now: i64, max_age_ms: i64, max_runs: u64) -> lore_core::Result<Pruned> {
        let before = now - max_age_ms;
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .ctx("begin prune")?;
        let mut runs = tx
            .execute(
                "DELETE FROM jobs WHERE state IN ('succeeded', 'cancelled', 'dead')
                   AND coalesce(finished_at, created_at) < ?1",
                [before],
            )
            .ctx("prune old runs")?;
        runs += tx
            .execute(
                "DELETE FROM jobs WHERE state IN ('succeeded', 'cancelled', 'dead')
                   AND id NOT IN (SELECT id FROM jobs ORDER BY id DESC LIMIT ?1)",
                [max_runs.min(i64::MAX as u64) as i64],
            )
            .ctx("prune runs beyond the limit")?;
        // A card, dossier, map or frontier at an older commit than the
        // newest one written is history nobody reads.
        let mut facts = tx
            .execute(
                "DELETE FROM facts WHERE key IN ('card', 'dossier', 'map', 'frontier')
                   AND run < (SELECT max(f.run) FROM facts f
                              WHERE f.scope = facts.scope AND f.key = facts.key)",
                [],
            )
            .ctx("prune superseded facts")?;
        facts += tx
            .execute(
                "DELETE FROM facts WHERE key LIKE 'digest:%'
                   AND run IN (SELECT id FROM jobs WHERE finished_at < ?1)
                    OR (key LIKE 'digest:%' AND run NOT IN (SELECT id FROM jobs))",
                [before],
            )
            .ctx("prune old digests")?;
        let insights = tx
            .execute(
                "DELETE FROM insights WHERE status = 'dismissed' AND updated_at < ?1",
                [before],
            )
            .ctx("prune dismissed insights")?;
        // Artifacts of runs gone: their rows here, their files the caller's.
        let files: Vec<String> = {
            let mut stmt = tx
                .prepare("SELECT path FROM artifacts WHERE run NOT IN (SELECT id FROM jobs)")
                .ctx("find orphaned artifacts")?;
            stmt.query_map([], |r| r.get(0))
                .ctx("find orphaned artifacts")?
                .collect::<rusqlite::Result<_>>()
                .ctx("find orphaned artifacts")?
        };
        tx.execute(
            "DELETE FROM artifacts WHERE run NOT IN (SELECT id FROM jobs)",
            [],
        )
        .ctx("prune artifacts")?;
        tx.commit().ctx("commit prune")?;
        if runs + facts + insights > 0 {
            // Give the space back a page budget at a time (no long lock).
            self.conn
                .execute_batch("PRAGMA incremental_vacuum(2000);")
                .ctx("vacuum")?;
        }
        Ok(Pruned {
            runs: runs as u64,
            facts: facts as u64,
            insights: insights as u64,
            files,
        })
    }

    fn prune_artifacts(&mut self, max_bytes: u64) -> lore_core::Result<Pruned> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .ctx("begin artifact prune")?;
        let rows: Vec<(i64, String, String, i64)> = {
            let mut stmt = tx
                .prepare("SELECT run, name, path, bytes FROM artifacts ORDER BY run DESC, name")
                .ctx("list artifacts")?;
            stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
                .ctx("list artifacts")?
                .collect::<rusqlite::Result<_>>()
                .ctx("list artifacts")?
        };
        let mut kept = 0u64;
        let mut files = Vec::new();
        for (run, name, path, bytes) in rows {
            kept += bytes as u64;
            if kept > max_bytes {
                tx.execute(
                    "DELETE FROM artifacts WHERE run = ?1 AND name = ?2",
                    params![run, name],
                )
                .ctx("prune artifact")?;
                files.push(path);
            }
        }
        tx.commit().ctx("commit artifact prune")?;
        Ok(Pruned {
            files,
            ..Pruned::default()
        })
    }

    fn repo_artifacts(&self, repo: &str) -> lore_core::Result<Vec<(i64, Artifact)>> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT a.run, a.name, a.path, a.sha256, a.bytes FROM artifacts a
                 JOIN jobs j ON j.id = a.run WHERE j.repo = ?1 ORDER BY a.run, a.name",
            )
            .ctx("list artifacts")?;
        let rows = stmt
            .query_map([repo], artifact_row)
            .ctx("list artifacts")?
            .collect::<rusqlite::Result<_>>()
            .ctx("list artifacts")?;
        Ok(rows)
    }

    fn forget_artifact(&mut self, run: i64, name: &str) -> lore_core::Result<()> {
        self.conn
            .execute(
                "DELETE FROM artifacts WHERE run = ?1 AND name = ?2",
                params![run, name],
            )
            .ctx("forget artifact")?;
        Ok(())
    }

    fn artifacts(&self, id: i64) -> lore_core::Result<Vec<Artifact>> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT run, name, path, sha256, bytes FROM artifacts WHERE run = ?1 ORDER BY name",
            )
            .ctx("list artifacts")?;
        let rows = stmt
            .query_map([id], |r| artifact_row(r).map(|(_, a)| a))
            .ctx("list artifacts")?
            .collect::<rusqlite::Result<_>>()
            .ctx("list artifacts")?;
        Ok(rows)
    }

    fn charge_more(&mut self, id: i64, spent: Spent, now: i64) -> lore_core::Result<()> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .ctx("begin charge")?;
        Self::charge(&tx, id, spent, now)?;
        tx.commit().ctx("commit charge")?;
        Ok(())
    }

    fn first_delivery(&mut self, id: &str, now: i64) -> lore_core::Result<bool> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .ctx("begin delivery")?;
        tx.execute("DELETE FROM deliveries WHERE at < ?1", [now - 7 * DAY_MS])
            .ctx("forget old deliveries")?;
        let n = tx
            .execute(
                "INSERT OR IGNORE INTO deliveries(id, at) VALUES (?1, ?2)",
                params![id, now],
            )
            .ctx("record delivery")?;
        tx.commit().ctx("commit delivery")?;
        Ok(n == 1)
    }

    fn set_insight_status(&mut self, id: i64, status: &str) -> lore_core::Result<bool> {
        let n = self
            .conn
            .execute(
                "UPDATE insights SET status = ?2 WHERE id = ?1",
                params![id, status],
            )
            .ctx("set insight status")?;
        Ok(n == 1)
    }

    fn set_learning(&mut self, repo: &str, on: bool, now: i64) -> lore_core::Result<()> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .ctx("begin set learning")?;
        tx.execute(
            "INSERT INTO learning(repo, on_, updated_at) VALUES (?1, ?2, ?3)
             ON CONFLICT(repo) DO UPDATE SET on_ = ?2, updated_at = ?3",
            params![repo, on, now],
        )
        .ctx("set learning")?;
        wake(&tx, repo, now)?;
        tx.commit().ctx("commit set learning")?;
        Ok(())
    }

    fn set_policy(&mut self, repo: &str, policy: &Policy, now: i64) -> lore_core::Result<()> {
        let text = serde_json::to_string(policy).expect("a policy serializes");
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .ctx("begin set policy")?;
        tx.execute(
            "INSERT INTO learning(repo, on_, updated_at, policy) VALUES (?1, 0, ?2, ?3)
             ON CONFLICT(repo) DO UPDATE SET policy = ?3, updated_at = ?2",
            params![repo, now, text],
        )
        .ctx("set policy")?;
        wake(&tx, repo, now)?;
        tx.commit().ctx("commit set policy")?;
        Ok(())
    }

    fn policy(&self, repo: &str) -> lore_core::Result<Policy> {
        Ok(read_policy(&self.conn, repo)?.1)
    }

    fn sched(&self, repo: &str) -> lore_core::Result<(Buckets, Option<i64>)> {
        let (buckets, _, cadence) = read_sched(&self.conn, repo)?;
        Ok((buckets, cadence))
    }

    fn waiting_reasons(&self, repo: &str) -> lore_core::Result<Vec<(String, u64)>> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT coalesce(reason, ''), count(*) FROM jobs
                 WHERE repo = ?1 AND state = 'waiting' GROUP BY 1 ORDER BY 2 DESC, 1",
            )
            .ctx("read waiting reasons")?;
        let rows = stmt
            .query_map([repo], |r| Ok((r.get(0)?, r.get::<_, i64>(1)? as u64)))
            .ctx("read waiting reasons")?
            .collect::<rusqlite::Result<_>>()
            .ctx("read waiting reasons")?;
        Ok(rows)
    }

    fn insight_verdicts(&self, repo: &str) -> lore_core::Result<Vec<KindVerdicts>> {
        verdicts_in(&self.conn, repo)
    }

    fn fire_cadences_with(
        &mut self,
        now: i64,
        plan: &mut CadencePlan<'_>,
    ) -> lore_core::Result<Vec<Enqueued>> {
        let offset = self.offset_at(now);
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .ctx("begin cadences")?;
        let rows: Vec<(String, i64, Option<i64>)> = {
            let mut stmt = tx
                .prepare_cached(
                    "SELECT l.repo, l.updated_at, s.last_cadence FROM learning l
                     LEFT JOIN sched s ON s.repo = l.repo
                     WHERE l.on_ = 1",
                )
                .ctx("read cadences")?;
            stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .ctx("read cadences")?
                .collect::<rusqlite::Result<_>>()
                .ctx("read cadences")?
        };
        let mut queued = Vec::new();
        for (repo, set_up, last) in rows {
            let (_, policy) = read_policy(&tx, &repo)?;
            let Some(cron) = &policy.cadence else {
                continue;
            };
            let offset = policy.utc_offset_min.unwrap_or(offset);
            let since = last.unwrap_or(set_up);
            if cron.next_after(since, offset).is_none_or(|t| t > now) {
                continue;
            }
            let verdicts = verdicts_in(&tx, &repo)?;
            for (kind, priority) in plan(&repo, &verdicts) {
                if policy.allows(&kind) {
                    let job = NewJob {
                        priority,
                        ..NewJob::new(&kind, &repo, "{}")
                    };
                    queued.push(enqueue_in(&tx, &job, now)?);
                }
            }
            tx.execute(
                "INSERT INTO sched(repo, last_cadence) VALUES (?1, ?2)
                 ON CONFLICT(repo) DO UPDATE SET last_cadence = ?2",
                params![repo, now],
            )
            .ctx("record cadence")?;
        }
        tx.commit().ctx("commit cadences")?;
        Ok(queued)
    }

    fn learning(&self, repo: &str) -> lore_core::Result<bool> {
        Ok(self
            .conn
            .query_row("SELECT on_ FROM learning WHERE repo = ?1", [repo], |r| {
                r.get::<_, bool>(0)
            })
            .optional()
            .ctx("read learning")?
            .unwrap_or(false))
    }

    fn counts(&self, repo: &str) -> lore_core::Result<(u64, u64, u64)> {
        Ok(self
            .conn
            .query_row(
                "SELECT count(*) FILTER (WHERE state = 'running'),
                        count(*) FILTER (WHERE state IN ('queued', 'failed')),
                        count(*) FILTER (WHERE state = 'waiting')
                 FROM jobs WHERE repo = ?1",
                [repo],
                |r| {
                    Ok((
                        r.get::<_, i64>(0)? as u64,
                        r.get::<_, i64>(1)? as u64,
                        r.get::<_, i64>(2)? as u64,
                    ))
                },
            )
            .ctx("count jobs")?)
    }

    fn fact_count(&self) -> lore_core::Result<u64> {
        Ok(self
            .conn
            .query_row("SELECT count(*) FROM facts", [], |r| r.get::<_, i64>(0))
            .ctx("count facts")? as u64)
    }
}
