//! Index runs started over the API: one at a time per repository, on a
//! blocking thread, with progress published to watchers (server-sent
//! events). Shutdown waits for running runs: each commits or leaves the
//! previous index in one transaction, so waiting is only for a clean exit.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use lore_index::{IndexConfig, Progress, RepoIndex};
use serde::Serialize;
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::repos::{Repo, lock};

/// What kind of run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum JobKind {
    /// The first index of a repository (or bringing an index up to date).
    Initial,
    /// Only what changed since the last run.
    Diff,
}

/// Where a run is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum JobState {
    /// Waiting for a thread.
    Queued,
    /// Reading and parsing files.
    Parsing,
    /// Writing the index and vectors, then committing.
    Writing,
    /// Committed.
    Done,
    /// Failed; the previous index is untouched.
    Failed,
}

/// A run as watchers see it.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Job {
    /// Run id (unique in this server process).
    pub id: u64,
    /// Repository id.
    pub repo: String,
    /// Kind.
    pub kind: JobKind,
    /// State.
    pub state: JobState,
    /// Files to parse (known once walking is done).
    pub total: u64,
    /// Files parsed.
    pub done: u64,
    /// Milliseconds since the run started.
    pub elapsed_ms: u64,
    /// Why it failed.
    pub error: Option<String>,
    /// Files added, modified, deleted when done.
    #[schema(value_type = Object)]
    pub summary: Option<serde_json::Value>,
}

impl Job {
    /// Whether the run is over.
    pub fn finished(&self) -> bool {
        matches!(self.state, JobState::Done | JobState::Failed)
    }
}

/// Runs by repository: the current or last one of each.
#[derive(Debug, Default)]
pub struct Jobs {
    next: AtomicU64,
    by_repo: Mutex<HashMap<String, watch::Sender<Job>>>,
    tasks: Mutex<JoinSet<()>>,
}

struct Reporter<'a> {
    tx: &'a watch::Sender<Job>,
    started: Instant,
}

impl Reporter<'_> {
    fn update(&self, f: impl FnOnce(&mut Job)) {
        let elapsed = self.started.elapsed().as_millis() as u64;
        self.tx.send_modify(|job| {
            f(job);
            job.elapsed_ms = elapsed;
        });
    }
}

impl Progress for Reporter<'_> {
    fn start(&self, total: u64) {
        self.update(|j| {
            j.state = JobState::Parsing;
            j.total = total;
        });
    }
    fn advance(&self, n: u64) {
        self.update(|j| j.done += n);
    }
    fn finish(&self) {
        self.update(|j| j.state = JobState::Writing);
    }
}

impl Jobs {
    /// The current or last run of `repo`, to watch.
    pub fn watch(&self, repo: &str) -> Option<watch::Receiver<Job>> {
        lock(&self.by_repo).get(repo).map(|tx| tx.subscribe())
    }

    /// The current or last run of `repo`.
    pub fn current(&self, repo: &str) -> Option<Job> {
        lock(&self.by_repo).get(repo).map(|tx| tx.borrow().clone())
    }

    /// Starts a run of `kind` on `repo`; refuses if one is running.
    pub fn start(&self, state: &AppState, repo: Repo, kind: JobKind) -> ApiResult<Job> {
        if kind == JobKind::Diff
            && RepoIndex::current_generation(state.registry.home(), &repo.root)? == 0
        {
            return Err(ApiError::Conflict(format!(
                "{} is not indexed yet: POST /index/{}/initial first",
                repo.root.display(),
                repo.id
            )));
        }
        let job = Job {
            id: self.next.fetch_add(1, Ordering::Relaxed) + 1,
            repo: repo.id.clone(),
            kind,
            state: JobState::Queued,
            total: 0,
            done: 0,
            elapsed_ms: 0,
            error: None,
            summary: None,
        };
        let tx = {
            let mut by_repo = lock(&self.by_repo);
            if let Some(tx) = by_repo.get(&repo.id)
                && !tx.borrow().finished()
            {
                return Err(ApiError::Conflict(format!(
                    "an index run of {} is in progress: watch GET /index/{}/events",
                    repo.id, repo.id
                )));
            }
            let (tx, _) = watch::channel(job.clone());
            by_repo.insert(repo.id.clone(), tx.clone());
            tx
        };
        let state = state.clone();
        lock(&self.tasks).spawn_blocking(move || run(&state, &repo.id, &repo.root, kind, &tx));
        Ok(job)
    }

    /// Waits for every running run to finish (at shutdown).
    pub async fn drain(&self) {
        let mut tasks = std::mem::take(&mut *lock(&self.tasks));
        while tasks.join_next().await.is_some() {}
    }
}

fn run(state: &AppState, id: &str, root: &Path, kind: JobKind, tx: &watch::Sender<Job>) {
    let reporter = Reporter {
        tx,
        started: Instant::now(),
    };
    let _span = tracing::info_span!("index_run", repo = id, ?kind).entered();
    let config = IndexConfig::default();
    let result = lore_index::index_repo(state.registry.home(), root, &config, &reporter);
    let seconds = reporter.started.elapsed().as_secs_f64();
    let kind_name = match kind {
        JobKind::Initial => "initial",
        JobKind::Diff => "diff",
    };
    state.metrics.index_run(kind_name, result.is_ok(), seconds);
    state.registry.invalidate(id);
    match result {
        Ok(report) => {
            let s = &report.summary;
            let summary = serde_json::json!({
                "added": s.added.len(),
                "modified": s.modified.len(),
                "deleted": s.deleted.len(),
                "renamed": s.renamed.len(),
                "unchanged": s.unchanged,
                "files": report.files,
                "skipped": report.skipped.len(),
                "head": report.head,
                "generation": report.generation,
            });
            tracing::info!(files = report.files, seconds, "index run done");
            reporter.update(|j| {
                j.state = JobState::Done;
                j.summary = Some(summary);
            });
            if let Err(err) = lore_index::worker::after_index(state.registry.home(), &report) {
                tracing::warn!(cause = %err, "could not queue the digest");
            }
            // With learning on, maintenance is a budgeted thought; else it
            // runs here, on a thread of its own.
            let queued = lore_index::worker::queue_maintenance(state.registry.home(), &report)
                .unwrap_or_else(|err| {
                    tracing::warn!(cause = %err, "cannot queue vector maintenance");
                    false
                });
            if !queued && report.embed.as_ref().is_some_and(|e| e.maintenance_due) {
                maintain(state.clone(), id.to_owned(), root.to_owned());
            }
            // Load the new generation's resident data now, so that the
            // first search after the run does not wait for it.
            match state.registry.lease(id) {
                Ok(index) => index.warm(),
                Err(err) => tracing::warn!(cause = %err, "could not warm the new index"),
            }
        }
        Err(err) => {
            tracing::error!(cause = %err, "index run failed");
            reporter.update(|j| {
                j.state = JobState::Failed;
                j.error = Some(err.to_string());
            });
        }
    }
}

/// Retrains the learned model or merges vector segments on a thread of its
/// own, beside searches and later index runs (it takes the index lock only
/// to switch). Not awaited at shutdown: killed midway it leaves the
/// vectors in force, and the next due run starts it again.
fn maintain(state: AppState, id: String, root: std::path::PathBuf) {
    let spawned = std::thread::Builder::new()
        .name("lore-maintain".into())
        .spawn(move || {
            let _span = tracing::info_span!("maintain_vectors", repo = %id).entered();
            let config = lore_index::EmbedConfig::default();
            match lore_index::maintain_vectors(state.registry.home(), &root, &config, false) {
                Ok(Some(report)) => {
                    tracing::info!(?report, "vectors maintained");
                    state.registry.invalidate(&id);
                }
                Ok(None) => {}
                Err(err) => tracing::warn!(cause = %err, "vector maintenance failed"),
            }
        });
    if let Err(err) = spawned {
        tracing::warn!(cause = %err, "cannot start vector maintenance");
    }
}
