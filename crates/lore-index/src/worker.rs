//! The thinker's worker: takes jobs from the durable queue, runs the
//! thought each names, and commits its results with its completion.
//!
//! While a thought runs, a heartbeat thread renews the lease every third
//! of its length; a lost lease (expired after a stall, or the job was
//! cancelled) makes the worker drop the result. Killed at any moment, the
//! worker stops renewing; the lease runs out and another worker runs the
//! job again — its results land once, with the completion of the attempt
//! that still held the lease (`lore_core::jobs`). CPU time is measured on
//! the thought's thread and charged to the job, failed attempts included.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use lore_core::jobs::{Fact, Job, JobStore, Spent};
use lore_core::time::now_ms;
use lore_store::SqliteJobs;

use crate::error::{Error, Result};
use crate::home::Home;

/// Thought kinds this worker runs.
pub mod kinds {
    /// Digest a commit range and refresh the index (`{"from", "to"}`).
    pub const SCAN_DIFF: &str = "scan-diff";
    /// Entry points, module graph with PageRank, frameworks, test layout.
    pub const MAP_REPO: &str = "map-repo";
    /// Function cards and module dossiers.
    pub const SUMMARIZE: &str = "summarize";
    /// The frontier: what to think about next.
    pub const PRIORITIZE: &str = "prioritize";
    /// Runs the repository's tests in the sandbox (executes its code).
    pub const VERIFY: &str = "verify";
    /// Runs the repository's linters in the sandbox (executes its code).
    pub const LINT: &str = "lint";
    /// Every kind a policy may allow.
    pub const ALL: &[&str] = &[SCAN_DIFF, MAP_REPO, SUMMARIZE, PRIORITIZE, VERIFY, LINT];
    /// Kinds that execute the repository's code: allowed only from the CLI
    /// or with the server's token.
    pub const EXECUTES_CODE: &[&str] = &[VERIFY, LINT];
    /// Kinds a cadence queues.
    pub const PERIODIC: &[&str] = &[MAP_REPO, SUMMARIZE, PRIORITIZE];
}

/// Worker settings.
#[derive(Clone, Debug)]
pub struct WorkerConfig {
    /// This worker's name in leases.
    pub name: String,
    /// Lease length; renewed every third of it.
    pub lease_ms: i64,
    /// Only these repositories (ids; empty: all).
    pub repos: Vec<String>,
}

impl Default for WorkerConfig {
    fn default() -> WorkerConfig {
        WorkerConfig {
            name: format!("worker-{}", std::process::id()),
            // LORE_LEASE_MS: tests shorten it to see a killed worker's job
            // taken over quickly.
            lease_ms: std::env::var("LORE_LEASE_MS")
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(60_000),
            repos: Vec::new(),
        }
    }
}

/// What a thought produced.
struct Outcome {
    output: serde_json::Value,
    facts: Vec<Fact>,
}

/// CPU time of the calling thread, in milliseconds (Linux: from
/// `/proc/thread-self/stat`; elsewhere `None`, and wall time is charged).
fn thread_cpu_ms() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").ok()?;
    // Fields after the command name (which may hold spaces) in parentheses.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the line, 12 and 13 here.
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // The kernel reports them in USER_HZ, 100 on every Linux ABI.
    Some(ticks * 10)
}

fn repo_root(home: &Home, repo: &str) -> Result<PathBuf> {
    home.repos()?
        .into_iter()
        .find(|r| {
            r.data_dir
                .file_name()
                .is_some_and(|n| n.to_string_lossy() == repo)
        })
        .map(|r| PathBuf::from(r.root))
        .ok_or_else(|| Error::Invalid(format!("no indexed repository with id {repo}")))
}

fn run_thought(home: &Home, job: &Job) -> Result<Outcome> {
    match job.kind.as_str() {
        kinds::SCAN_DIFF => {
            let input: serde_json::Value = serde_json::from_str(&job.input)
                .map_err(|e| Error::Invalid(format!("run {}: bad input: {e}", job.id)))?;
            let field = |name: &str| {
                input[name]
                    .as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| Error::Invalid(format!("run {}: input has no `{name}`", job.id)))
            };
            let (from, to) = (field("from")?, field("to")?);
            let root = repo_root(home, &job.repo)?;
            crate::index_repo(home, &root, &crate::IndexConfig::default(), &())?;
            let digest = crate::digest::digest(&root, &from, &to)?;
            let value = serde_json::to_string(&digest).expect("a digest serializes");
            Ok(Outcome {
                output: serde_json::json!({
                    "files": digest.files,
                    "symbols": digest.symbols.len(),
                }),
                facts: vec![Fact {
                    // Facts of one repository share its scope prefix, so
                    // forgetting it (or a path in it) reaches them.
                    scope: format!("repo:{}", job.repo),
                    key: format!("digest:{}", digest.from),
                    commit: digest.to.clone(),
                    value,
                }],
            })
        }
        other => Err(Error::Invalid(format!(
            "run {}: no thought of kind `{other}`",
            job.id
        ))),
    }
}

/// After an index run: with learning on for the repository and HEAD moved
/// since the last run, queues a ScanDiff of the new commits (merged into a
/// queued twin). Returns the run id queued, if any.
pub fn after_index(home: &Home, report: &crate::IndexReport) -> Result<Option<i64>> {
    let (Some(from), Some(to)) = (&report.previous_head, &report.head) else {
        return Ok(None);
    };
    if from == to {
        return Ok(None);
    }
    let repo = home.repo_id(&report.root);
    let mut queue = SqliteJobs::open(&home.thinker_db())?;
    if !queue.learning(&repo)? {
        return Ok(None);
    }
    let input = serde_json::json!({ "from": from, "to": to }).to_string();
    let job = lore_core::jobs::NewJob::new(kinds::SCAN_DIFF, &repo, &input);
    Ok(Some(queue.enqueue(&job, now_ms())?.id))
}

/// Runs the next runnable job, if any; returns its id. The result is
/// committed only if this worker still holds the lease.
pub fn run_next(home: &Home, config: &WorkerConfig) -> Result<Option<i64>> {
    let path = home.thinker_db();
    let mut queue = SqliteJobs::open(&path)?;
    let now = now_ms();
    // Cadences first: what they queue competes with the rest.
    queue.fire_cadences(now, kinds::PERIODIC)?;
    let Some(job) = queue.claim_for(&config.name, &config.repos, now, config.lease_ms)? else {
        return Ok(None);
    };
    let _span = tracing::info_span!("thought", run = job.id, kind = %job.kind).entered();
    // Heartbeats on their own connection, while the thought runs.
    let done = Arc::new(AtomicBool::new(false));
    let lost = Arc::new(AtomicBool::new(false));
    let beat = {
        let (done, lost) = (done.clone(), lost.clone());
        let (path, name, lease, id) = (path.clone(), config.name.clone(), config.lease_ms, job.id);
        std::thread::spawn(move || {
            let Ok(mut queue) = SqliteJobs::open(&path) else {
                return;
            };
            let period = Duration::from_millis((lease / 3).max(10) as u64);
            while !done.load(Ordering::Acquire) {
                std::thread::sleep(period);
                if done.load(Ordering::Acquire) {
                    break;
                }
                if !queue.heartbeat(id, &name, now_ms(), lease).unwrap_or(false) {
                    lost.store(true, Ordering::Release);
                    break;
                }
            }
        })
    };
    let (cpu0, wall0) = (thread_cpu_ms(), now_ms());
    let result = run_thought(home, &job);
    let cpu_ms = match (cpu0, thread_cpu_ms()) {
        (Some(a), Some(b)) => b.saturating_sub(a),
        _ => (now_ms() - wall0).max(0) as u64,
    };
    done.store(true, Ordering::Release);
    let _ = beat.join();
    let spent = Spent { cpu_ms, tokens: 0 };
    match result {
        Ok(outcome) => {
            let output = outcome.output.to_string();
            let committed = queue.complete(
                job.id,
                &config.name,
                now_ms(),
                &output,
                &outcome.facts,
                spent,
            )?;
            if !committed || lost.load(Ordering::Acquire) {
                tracing::warn!("lease lost: the result of this attempt is dropped");
            }
        }
        Err(err) => {
            let state = queue.fail(job.id, &config.name, now_ms(), &err.to_string(), spent)?;
            tracing::warn!(cause = %err, state = state.name(), "thought failed");
        }
    }
    Ok(Some(job.id))
}
