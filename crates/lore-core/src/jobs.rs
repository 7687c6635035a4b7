//! Durable background jobs ("thoughts"): the queue the thinker's workers
//! take work from, behind a trait so a PostgreSQL backend (`FOR UPDATE
//! SKIP LOCKED`) can follow the SQLite one.
//!
//! Execution is at least once, effects exactly once: a worker holds a job
//! by a lease it renews with heartbeats; killed, it stops renewing, the
//! lease expires and another worker takes the job again. A job's results
//! ([`Fact`]s) are written in the same transaction as its completion, keyed
//! by (scope, key, commit), and only by the lease holder, so a second
//! attempt cannot add them twice.
//!
//! Every method takes the time (`now`, milliseconds since the Unix epoch)
//! from its caller: the scheduler owns the clock, and tests inject one.

use crate::Result;
use crate::schedule::{Buckets, Policy};

/// Where a job is. The names are stable (`lore runs --json`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum JobState {
    /// Ready to run once `run_after` has passed.
    Queued,
    /// Held by the scheduler (budget, quiet hours); `reason` says why.
    Waiting,
    /// Leased by a worker.
    Running,
    /// Done; its results are committed.
    Succeeded,
    /// This attempt failed; it will be retried after a backoff.
    Failed,
    /// Cancelled before it finished.
    Cancelled,
    /// Out of attempts.
    Dead,
}

impl JobState {
    /// Stable lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Waiting => "waiting",
            JobState::Running => "running",
            JobState::Succeeded => "succeeded",
            JobState::Failed => "failed",
            JobState::Cancelled => "cancelled",
            JobState::Dead => "dead",
        }
    }

    /// Parses [`name`](Self::name).
    pub fn parse(name: &str) -> Option<JobState> {
        Some(match name {
            "queued" => JobState::Queued,
            "waiting" => JobState::Waiting,
            "running" => JobState::Running,
            "succeeded" => JobState::Succeeded,
            "failed" => JobState::Failed,
            "cancelled" => JobState::Cancelled,
            "dead" => JobState::Dead,
            _ => return None,
        })
    }

    /// No further attempt will run.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            JobState::Succeeded | JobState::Cancelled | JobState::Dead
        )
    }
}

/// A job to enqueue.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewJob {
    /// Thought kind (`scan-diff`, `map-repo`, ...).
    pub kind: String,
    /// Repository id.
    pub repo: String,
    /// Input, as JSON text.
    pub input: String,
    /// Higher runs first.
    pub priority: i32,
    /// Not before this time (ms).
    pub run_after: i64,
    /// Attempts before the job is dead.
    pub max_attempts: u32,
    /// A user's explicit request (a rerun): never merged into a queued twin.
    pub explicit: bool,
}

impl NewJob {
    /// A job of `kind` for `repo` with `input`, runnable now, 5 attempts.
    pub fn new(kind: &str, repo: &str, input: &str) -> NewJob {
        NewJob {
            kind: kind.to_owned(),
            repo: repo.to_owned(),
            input: input.to_owned(),
            priority: 0,
            run_after: 0,
            max_attempts: 5,
            explicit: false,
        }
    }
}

/// A job as stored.
#[derive(Clone, Debug, PartialEq)]
pub struct Job {
    /// Unique across repositories.
    pub id: i64,
    /// Thought kind.
    pub kind: String,
    /// Repository id.
    pub repo: String,
    /// Input, as JSON text.
    pub input: String,
    /// Higher runs first.
    pub priority: i32,
    /// Where it is.
    pub state: JobState,
    /// Attempts started so far.
    pub attempts: u32,
    /// Attempts before it is dead.
    pub max_attempts: u32,
    /// Why it waits or failed, for the user.
    pub reason: Option<String>,
    /// Not before this time (ms).
    pub run_after: i64,
    /// The worker holding the lease, while running.
    pub lease_owner: Option<String>,
    /// When the lease runs out unless renewed (ms).
    pub lease_until: Option<i64>,
    /// CPU milliseconds charged, every attempt included.
    pub cpu_ms: u64,
    /// LLM tokens charged, every attempt included.
    pub tokens: u64,
    /// Output of the successful attempt (JSON text).
    pub output: Option<String>,
    /// Enqueued at (ms).
    pub created_at: i64,
    /// The last attempt started at (ms).
    pub started_at: Option<i64>,
    /// Finished (succeeded, cancelled, dead) at (ms).
    pub finished_at: Option<i64>,
    /// Asked for by a user (a rerun): runs in quiet hours and over budget
    /// (charged all the same).
    pub explicit: bool,
    /// What its attempts logged (one line per event; failures included).
    pub log: String,
}

/// A file a run produced, kept in the repository's data directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Artifact {
    /// Its name in the run (`overview.md`).
    pub name: String,
    /// Where it is (absolute).
    pub path: String,
    /// SHA-256 of its content, hex.
    pub sha256: String,
    /// Its size.
    pub bytes: u64,
}

/// What a completed attempt commits, in one transaction.
#[derive(Clone, Copy, Debug, Default)]
pub struct Results<'a> {
    /// The run's output (JSON text).
    pub output: &'a str,
    /// Facts, one per (scope, key, commit).
    pub facts: &'a [Fact],
    /// Insights, merged by fingerprint.
    pub insights: &'a [NewInsight],
    /// Files it wrote (before completing; a refused completion leaves them
    /// to the next attempt, which writes the same paths).
    pub artifacts: &'a [Artifact],
    /// Lines for the run's log.
    pub log: &'a str,
}

/// What [`JobStore::prune`] removed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Pruned {
    /// Finished runs.
    pub runs: u64,
    /// Facts.
    pub facts: u64,
    /// Insights.
    pub insights: u64,
    /// Artifact files of the runs removed, for the caller to delete.
    pub files: Vec<String>,
}

/// What [`JobStore::enqueue`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Enqueued {
    /// The job's id.
    pub id: i64,
    /// A matching job was already waiting to run: no new one.
    pub deduplicated: bool,
}

/// A result of a thought: one value per (scope, key, commit).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fact {
    /// What it is about (`repo`, `file:PATH`, `symbol:PATH#NAME`).
    pub scope: String,
    /// Which fact (`card`, `dossier`, `entry-points`).
    pub key: String,
    /// The commit it holds at ("" outside git).
    pub commit: String,
    /// JSON text.
    pub value: String,
}

/// Something a thought found worth a user's attention. No insight without
/// evidence: `evidence` holds citations (`{path, start_line, end_line,
/// commit}`) and artifacts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewInsight {
    /// `change`, `hotspot`, `entry-points`, ...
    pub kind: String,
    /// `low`, `medium` or `high`.
    pub severity: String,
    /// One line.
    pub title: String,
    /// Markdown.
    pub body: String,
    /// JSON array of citations.
    pub evidence: String,
    /// The same finding across runs has the same fingerprint: one insight.
    pub fingerprint: String,
}

/// An insight as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Insight {
    /// Unique across repositories.
    pub id: i64,
    /// Repository id.
    pub repo: String,
    /// What it is.
    pub found: NewInsight,
    /// `new`, `read` or `dismissed` (kept when the finding recurs), or
    /// `suppressed`: like three or more the team dismissed.
    pub status: String,
    /// The run that last found it.
    pub run: i64,
    /// First found (ms).
    pub created_at: i64,
    /// Last found (ms).
    pub updated_at: i64,
}

/// Insight statuses a user may set.
pub const INSIGHT_STATUSES: &[&str] = &["new", "read", "dismissed"];

/// Insight statuses a listing may filter on: the user's, and `suppressed`
/// (set by the worker for insights like ones the team dismissed).
pub const INSIGHT_FILTERS: &[&str] = &["new", "read", "dismissed", "suppressed"];

/// Resources an attempt used, charged whether or not it succeeded.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Spent {
    /// CPU milliseconds the attempt used.
    pub cpu_ms: u64,
    /// LLM tokens the attempt used.
    pub tokens: u64,
}

/// The durable queue.
pub trait JobStore {
    /// Adds a job, or returns the matching one (same repo, kind and input)
    /// still waiting to run unless `job.explicit`.
    fn enqueue(&mut self, job: &NewJob, now: i64) -> Result<Enqueued>;
    /// Leases the next runnable job to `worker` until `now + lease_ms`,
    /// starting an attempt; a running job whose lease expired is runnable
    /// again (its worker died), and one out of attempts becomes dead
    /// instead. The scheduler decides which: background jobs of a
    /// repository held by its policy (learning turned off, quiet hours, a
    /// budget spent: [`crate::schedule::hold`]) become `waiting` with the
    /// reason and the time it ends; of the rest, the repository served
    /// longest ago goes first (fairness), and within it the highest
    /// priority, then the oldest job. Explicit jobs are never held.
    fn claim(&mut self, worker: &str, now: i64, lease_ms: i64) -> Result<Option<Job>> {
        self.claim_for(worker, &[], now, lease_ms)
    }
    /// [`claim`](Self::claim) among the jobs of `repos` only (all with an
    /// empty list: a worker started for some repositories).
    fn claim_for(
        &mut self,
        worker: &str,
        repos: &[String],
        now: i64,
        lease_ms: i64,
    ) -> Result<Option<Job>>;
    /// Renews `worker`'s lease; false if it lost it (expired and taken, or
    /// cancelled): the worker must stop without committing.
    fn heartbeat(&mut self, id: i64, worker: &str, now: i64, lease_ms: i64) -> Result<bool>;
    /// Completes `worker`'s attempt: the output and the facts commit with
    /// the completion, in one transaction, if the worker still holds the
    /// lease (false otherwise: nothing is written but the spent budget).
    fn complete(
        &mut self,
        id: i64,
        worker: &str,
        now: i64,
        output: &str,
        facts: &[Fact],
        spent: Spent,
    ) -> Result<bool> {
        let results = Results {
            output,
            facts,
            ..Results::default()
        };
        self.complete_with(id, worker, now, &results, spent)
    }
    /// [`complete`](Self::complete) with everything a thought produced:
    /// insights (merged by fingerprint with the repository's earlier ones;
    /// a dismissed one stays dismissed), artifacts and log lines.
    fn complete_with(
        &mut self,
        id: i64,
        worker: &str,
        now: i64,
        results: &Results<'_>,
        spent: Spent,
    ) -> Result<bool>;
    /// Charges run `id` (and its repository's buckets) for resources used
    /// after its completion was recorded (writing its results).
    fn charge_more(&mut self, id: i64, spent: Spent, now: i64) -> Result<()>;
    /// The files run `id` produced.
    fn artifacts(&self, id: i64) -> Result<Vec<Artifact>>;
    /// The newest value of a fact at any commit: (commit, value).
    fn fact_latest(&self, scope: &str, key: &str) -> Result<Option<(String, String)>>;
    /// Facts whose scope starts with `prefix`, with their key, commit and
    /// value (newest run first).
    fn facts_under(&self, prefix: &str, key: &str, limit: usize) -> Result<Vec<(Fact, i64)>>;
    /// Removes the facts scoped to `scope` or under it (`scope#...`,
    /// `scope/...`): a purged path's cards and dossiers. Returns how many.
    fn forget_scope(&mut self, scope: &str) -> Result<u64>;
    /// Insights of `repo`, newest first, by kind and status if given.
    fn insights(
        &self,
        repo: &str,
        kind: Option<&str>,
        status: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Insight>>;
    /// One insight.
    fn insight(&self, id: i64) -> Result<Option<Insight>>;
    /// Removes what the thoughts derived from `path` (a file or directory
    /// of `repo`): its cards and dossiers, and the repository's facts and
    /// insights that cite it (digests, the map; rebuilt by the next
    /// thoughts). Returns (facts, insights) removed.
    fn forget_path(&mut self, repo: &str, path: &str) -> Result<(u64, u64)>;
    /// Retention: removes finished runs older than `max_age_ms` or beyond
    /// the newest `max_runs`, facts superseded by a newer run (older
    /// commits of the same card, dossier, map or frontier), digests and
    /// dismissed insights older than `max_age_ms`; then gives the space
    /// back.
    fn prune(&mut self, now: i64, max_age_ms: i64, max_runs: u64) -> Result<Pruned>;
    /// Keeps artifacts within `max_bytes` in all: the oldest runs' go
    /// first (their rows here, their files in [`Pruned::files`]).
    fn prune_artifacts(&mut self, max_bytes: u64) -> Result<Pruned>;
    /// Every artifact of `repo`'s runs: (run, artifact).
    fn repo_artifacts(&self, repo: &str) -> Result<Vec<(i64, Artifact)>>;
    /// Forgets one artifact (its file is the caller's to delete).
    fn forget_artifact(&mut self, run: i64, name: &str) -> Result<()>;
    /// Records a webhook delivery id; false if it was seen before (a
    /// replay, ignored). Ids older than a week are forgotten.
    fn first_delivery(&mut self, id: &str, now: i64) -> Result<bool>;
    /// Marks an insight `new`, `read` or `dismissed`; false if there is no
    /// such insight.
    fn set_insight_status(&mut self, id: i64, status: &str) -> Result<bool>;
    /// Records a failed attempt: retried after an exponential backoff with
    /// jitter, or dead when out of attempts. Returns the new state.
    fn fail(
        &mut self,
        id: i64,
        worker: &str,
        now: i64,
        error: &str,
        spent: Spent,
    ) -> Result<JobState>;
    /// Cancels a job that has not finished; a running attempt loses its
    /// lease. False if it had already finished.
    fn cancel(&mut self, id: i64, now: i64) -> Result<bool>;
    /// One job.
    fn job(&self, id: i64) -> Result<Option<Job>>;
    /// Jobs of `repo` (all repositories with `None`), newest first.
    fn jobs(&self, repo: Option<&str>, limit: usize) -> Result<Vec<Job>>;
    /// The current value of a fact.
    fn fact(&self, scope: &str, key: &str, commit: &str) -> Result<Option<String>>;
    /// Number of facts stored (all scopes).
    fn fact_count(&self) -> Result<u64>;
    /// Removes everything of `repo`: its jobs, its learning setting and the
    /// facts scoped to it (`repo:ID...`). Returns (jobs, facts) removed.
    fn forget_repo(&mut self, repo: &str) -> Result<(u64, u64)>;
    /// Turns learning on or off for `repo` (`lore learn on|off`).
    fn set_learning(&mut self, repo: &str, on: bool, now: i64) -> Result<()>;
    /// Whether learning is on for `repo` (off unless turned on).
    fn learning(&self, repo: &str) -> Result<bool>;
    /// Jobs of `repo` by state: (running, queued or failed awaiting a
    /// retry, waiting).
    fn counts(&self, repo: &str) -> Result<(u64, u64, u64)>;
    /// Sets `repo`'s learning policy (kept while learning is off); held
    /// jobs are looked at again at once.
    fn set_policy(&mut self, repo: &str, policy: &Policy, now: i64) -> Result<()>;
    /// `repo`'s learning policy (the default if never set).
    fn policy(&self, repo: &str) -> Result<Policy>;
    /// The scheduler's state of `repo`: its budget buckets and when its
    /// cadence last fired.
    fn sched(&self, repo: &str) -> Result<(Buckets, Option<i64>)>;
    /// Why `repo`'s waiting jobs wait: (reason, jobs), most jobs first.
    fn waiting_reasons(&self, repo: &str) -> Result<Vec<(String, u64)>>;
    /// Fires the cadences due at `now`: for each repository with learning
    /// on whose cadence has a time after its last firing (or after learning
    /// was set up) that has come, enqueues `kinds` its policy allows, in
    /// the transaction that records the firing (a crash neither loses nor
    /// repeats it). Returns the jobs enqueued.
    fn fire_cadences(&mut self, now: i64, kinds: &[&str]) -> Result<Vec<Enqueued>> {
        let mut every = |_: &str, _: &[KindVerdicts]| -> Vec<(String, i32)> {
            kinds.iter().map(|k| ((*k).to_owned(), 0)).collect()
        };
        self.fire_cadences_with(now, &mut every)
    }
    /// [`fire_cadences`](Self::fire_cadences) with what to queue decided
    /// per repository by `plan`, from the verdicts people gave the
    /// insights of each thought kind: `(kind, priority)`, higher runs
    /// first; kinds the policy does not allow are still left out.
    fn fire_cadences_with(&mut self, now: i64, plan: &mut CadencePlan<'_>)
    -> Result<Vec<Enqueued>>;
    /// What people did with the insights of each thought kind of `repo`
    /// (insights whose last run is still recorded).
    fn insight_verdicts(&self, repo: &str) -> Result<Vec<KindVerdicts>>;
}

/// Decides what a cadence queues for a repository (see
/// [`JobStore::fire_cadences_with`]).
pub type CadencePlan<'a> = dyn FnMut(&str, &[KindVerdicts]) -> Vec<(String, i32)> + 'a;

/// What people did with one thought kind's insights.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KindVerdicts {
    /// The thought kind whose runs found them.
    pub kind: String,
    /// Insights people read.
    pub read: u64,
    /// Insights people dismissed.
    pub dismissed: u64,
    /// Insights nobody looked at yet.
    pub new: u64,
}

/// Delay before retry `attempt` (1-based): 2^(attempt-1) × `base_ms`,
/// capped at an hour, times a jitter in [0.5, 1.5) drawn from `seed` (the
/// job id: retries of many jobs spread out, and a test can predict them).
pub fn backoff_ms(attempt: u32, base_ms: i64, seed: i64) -> i64 {
    let exp = base_ms.saturating_mul(1i64 << attempt.saturating_sub(1).min(20));
    let capped = exp.min(3_600_000);
    let mut x = (seed as u64) ^ (u64::from(attempt) << 32) ^ 0x9E37_79B9_7F4A_7C15;
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    let jitter = 0.5 + (x % 1000) as f64 / 1000.0;
    (capped as f64 * jitter) as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_with_jitter_and_is_capped() {
        let d: Vec<i64> = (1..=4).map(|a| backoff_ms(a, 1000, 7)).collect();
        for (a, ms) in (1..=4).zip(&d) {
            let base = 1000i64 << (a - 1);
            assert!(*ms >= base / 2 && *ms < base * 3 / 2, "{a}: {ms}");
        }
        assert!(backoff_ms(40, 1000, 7) < 3_600_000 * 3 / 2);
        assert_ne!(backoff_ms(3, 1000, 1), backoff_ms(3, 1000, 2), "jitter");
        assert_eq!(backoff_ms(3, 1000, 1), backoff_ms(3, 1000, 1));
        for s in [
            JobState::Queued,
            JobState::Waiting,
            JobState::Running,
            JobState::Succeeded,
            JobState::Failed,
            JobState::Cancelled,
            JobState::Dead,
        ] {
            assert_eq!(JobState::parse(s.name()), Some(s));
        }
    }
}
