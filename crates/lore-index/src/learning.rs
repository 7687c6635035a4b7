//! Learning per repository: turning it on or off with its policy, and its
//! status — one implementation for the CLI (`lore learn`), the HTTP API
//! (`/learning/*`) and MCP (`learning_status`).

use std::path::Path;

use lore_core::jobs::{Insight, Job, JobStore};
use lore_core::schedule::{self, Budget, Cron, Policy, QuietHours};
use lore_core::store::MetaStore;
use lore_core::time::{now_ms, rfc3339};
use lore_store::SqliteJobs;
use serde_json::{Value, json};

use crate::error::{Error, Result};
use crate::home::Home;

/// Changes to a repository's policy; `None` keeps a setting, the word
/// `none` clears it.
#[derive(Clone, Debug, Default)]
pub struct Settings {
    /// `cpu=20m/h`, `tokens=50k/day`, `cpu=none`.
    pub budgets: Vec<String>,
    /// `09:00-18:00` or `none`.
    pub quiet_hours: Option<String>,
    /// A five-field cron expression or `none`.
    pub cadence: Option<String>,
    /// Thought kinds allowed (replaces the list; `default` restores it).
    pub allow: Option<Vec<String>>,
}

impl Settings {
    /// Whether anything changes.
    pub fn is_empty(&self) -> bool {
        self.budgets.is_empty()
            && self.quiet_hours.is_none()
            && self.cadence.is_none()
            && self.allow.is_none()
    }

    /// `policy` with these changes; an error names the value at fault.
    pub fn apply(&self, mut policy: Policy) -> Result<Policy> {
        for text in &self.budgets {
            let (name, value) = text.split_once('=').ok_or_else(|| {
                Error::Invalid(format!(
                    "budget `{text}`: expected cpu=AMOUNT/PERIOD or tokens=AMOUNT/PERIOD"
                ))
            })?;
            let cpu = match name.trim() {
                "cpu" => true,
                "tokens" => false,
                other => {
                    return Err(Error::Invalid(format!(
                        "budget `{text}`: `{other}` is not cpu or tokens"
                    )));
                }
            };
            let budget = match value.trim() {
                "none" => None,
                v => Some(Budget::parse(v, cpu).map_err(Error::Invalid)?),
            };
            if cpu {
                policy.cpu = budget;
            } else {
                policy.tokens = budget;
            }
        }
        if let Some(q) = &self.quiet_hours {
            policy.quiet_hours = match q.trim() {
                "none" => None,
                q => Some(QuietHours::parse(q).map_err(Error::Invalid)?),
            };
        }
        if let Some(c) = &self.cadence {
            policy.cadence = match c.trim() {
                "none" => None,
                c => Some(Cron::parse(c).map_err(Error::Invalid)?),
            };
        }
        if let Some(allow) = &self.allow {
            let mut kinds: Vec<String> = Vec::new();
            for k in allow.iter().flat_map(|a| a.split(',')) {
                let k = k.trim();
                if k == "default" || k.is_empty() {
                    continue;
                }
                if !crate::worker::kinds::ALL.contains(&k) {
                    return Err(Error::Invalid(format!(
                        "--allow {k}: no thought of that kind (kinds: {})",
                        crate::worker::kinds::ALL.join(", ")
                    )));
                }
                kinds.push(k.to_owned());
            }
            kinds.sort();
            kinds.dedup();
            policy.allow = kinds;
        }
        Ok(policy)
    }
}

/// Thought kinds that execute the repository's code: allowing them takes
/// the CLI or the server's token, never an anonymous request.
pub fn executes_code(kind: &str) -> bool {
    crate::worker::kinds::EXECUTES_CODE.contains(&kind)
}

/// Turns learning on or off for `repo` (an id) with `settings` applied to
/// its policy; returns the policy in force.
pub fn toggle(home: &Home, repo: &str, on: bool, settings: &Settings) -> Result<Policy> {
    let mut queue = SqliteJobs::open(&home.thinker_db())?;
    let policy = settings.apply(queue.policy(repo)?)?;
    let now = now_ms();
    if !settings.is_empty() {
        queue.set_policy(repo, &policy, now)?;
    }
    queue.set_learning(repo, on, now)?;
    // The first time on: map and summarize the repository without waiting
    // for a cadence.
    let scope = crate::thoughts::repo_scope(repo);
    if on
        && queue
            .fact_latest(&scope, crate::thoughts::keys::MAP)?
            .is_none()
    {
        for kind in crate::worker::kinds::PERIODIC {
            if policy.allows(kind) {
                let job = lore_core::jobs::NewJob::new(kind, repo, "{}");
                queue.enqueue(&job, now)?;
            }
        }
    }
    Ok(policy)
}

/// Whether learning is on for the repository at `root`.
pub fn is_on(home: &Home, root: &Path) -> Result<bool> {
    Ok(SqliteJobs::open(&home.thinker_db())?.learning(&home.repo_id(root))?)
}

/// "2m ago", "3h ago" for a status line.
fn ago(ms: i64, now: i64) -> String {
    let s = ((now - ms) / 1000).max(0);
    match s {
        0..60 => format!("{s}s ago"),
        60..3600 => format!("{}m ago", s / 60),
        3600..86_400 => format!("{}h ago", s / 3600),
        _ => format!("{}d ago", s / 86_400),
    }
}

/// The stable status of learning for the repository at `root` (`lore learn
/// status --json`, `GET /learning/status`): `{on, running, queued,
/// waiting, waiting_reasons, budgets, quiet_hours, cadence, next_cadence,
/// allow, last_index, attention, status_line}`.
pub fn status(home: &Home, root: &Path) -> Result<Value> {
    let repo = home.repo_id(root);
    let queue = SqliteJobs::open(&home.thinker_db())?;
    let now = now_ms();
    let on = queue.learning(&repo)?;
    let policy = queue.policy(&repo)?;
    let (buckets, last_cadence) = queue.sched(&repo)?;
    let (running, queued, waiting) = queue.counts(&repo)?;
    let reasons: Vec<Value> = queue
        .waiting_reasons(&repo)?
        .into_iter()
        .map(|(reason, runs)| json!({ "reason": reason, "runs": runs }))
        .collect();
    let db = home.layout(root).db();
    let last_index_ms = if db.exists() {
        lore_store::SqliteStore::open_snapshot(&db)?
            .meta()?
            .last_run
            .map(|r| r.started_at * 1000)
    } else {
        None
    };
    let (cpu_left, tokens_left) = buckets.left(&policy, now);
    let budget = |b: &Option<Budget>, left: Option<f64>, cpu: bool| {
        b.as_ref().map(|b| {
            json!({
                "limit": b.display(cpu),
                "burst": b.burst().round() as u64,
                "left": left.unwrap_or(0.0).round() as i64,
                "unit": if cpu { "cpu_ms" } else { "tokens" },
            })
        })
    };
    let offset = policy
        .utc_offset_min
        .unwrap_or_else(|| lore_store::local_offset_min(now));
    let next_cadence = match (&policy.cadence, on) {
        (Some(cron), true) => cron.next_after(last_cadence.unwrap_or(now).max(now - 1), offset),
        _ => None,
    };
    let hold = on
        .then(|| schedule::hold(&policy, &buckets, now, offset))
        .flatten();
    let allow: Vec<String> = if policy.allow.is_empty() {
        schedule::DEFAULT_ALLOW
            .iter()
            .map(|k| (*k).to_owned())
            .collect()
    } else {
        policy.allow.clone()
    };
    let mut line = vec![match last_index_ms {
        Some(ms) => format!("indexed {}", ago(ms, now)),
        None => "not indexed".to_owned(),
    }];
    line.push(format!(
        "{running} thought{} running",
        if running == 1 { "" } else { "s" }
    ));
    line.push(format!("{queued} queued"));
    if waiting > 0 {
        line.push(format!("{waiting} waiting"));
    }
    if !on {
        line.push("learning off".to_owned());
    } else if let Some(h) = &hold {
        line.push(h.reason.clone());
    }
    Ok(json!({
        "repo_id": repo,
        "on": on,
        "running": running,
        "queued": queued,
        "waiting": waiting,
        "waiting_reasons": reasons,
        "held": hold.as_ref().map(|h| json!({ "reason": h.reason, "until": rfc3339(h.until) })),
        "budgets": {
            "cpu": budget(&policy.cpu, cpu_left, true),
            "tokens": budget(&policy.tokens, tokens_left, false),
        },
        "quiet_hours": policy.quiet_hours.map(|q| q.display()),
        "cadence": policy.cadence.as_ref().map(|c| c.text().to_owned()),
        "next_cadence": next_cadence.map(rfc3339),
        "allow": allow,
        "last_index": last_index_ms.map(rfc3339),
        "attention": attention(&queue.insight_verdicts(&repo)?),
        "status_line": line.join(" · "),
    }))
}

/// What the scheduler bandit believes of each thought kind: people's
/// verdicts on its insights and the posterior mean (0..1) of a verdict
/// being a read.
pub(crate) fn attention(verdicts: &[lore_core::jobs::KindVerdicts]) -> Value {
    let bandit = crate::thought_bandit::posterior(verdicts);
    verdicts
        .iter()
        .map(|v| {
            let mean = bandit
                .arms
                .iter()
                .find(|a| a.name == v.kind)
                .map(|a| a.mean());
            json!({
                "kind": v.kind,
                "read": v.read,
                "dismissed": v.dismissed,
                "new": v.new,
                "mean": mean.map(|m| (m * 1000.0).round() / 1000.0),
            })
        })
        .collect()
}

/// A run as `lore runs --json` and `GET /runs` give it (stable): times in
/// RFC 3339 UTC.
pub fn run_json(job: &Job) -> Value {
    let time = |ms: Option<i64>| ms.map(rfc3339);
    let parsed = |text: &str| serde_json::from_str(text).unwrap_or(Value::String(text.into()));
    json!({
        "id": job.id,
        "kind": job.kind,
        "repo": job.repo,
        "state": job.state.name(),
        "reason": job.reason,
        "attempts": job.attempts,
        "max_attempts": job.max_attempts,
        "priority": job.priority,
        "explicit": job.explicit,
        "input": parsed(&job.input),
        "output": job.output.as_deref().map(parsed),
        "cpu_ms": job.cpu_ms,
        "tokens": job.tokens,
        "created_at": rfc3339(job.created_at),
        "run_after": rfc3339(job.run_after),
        "started_at": time(job.started_at),
        "finished_at": time(job.finished_at),
        "worker": job.lease_owner,
        "log": job.log.lines().collect::<Vec<_>>(),
    })
}

/// [`run_json`] with the run's artifacts (`lore runs show`, `GET
/// /runs/{id}`): `[{name, sha256, bytes}]`.
pub fn run_detail_json(job: &Job, artifacts: &[lore_core::jobs::Artifact]) -> Value {
    let mut v = run_json(job);
    v["artifacts"] = artifacts
        .iter()
        .map(|a| json!({ "name": a.name, "sha256": a.sha256, "bytes": a.bytes }))
        .collect();
    v
}

/// An insight as `lore insights --json` and `GET /insights` give it
/// (stable).
pub fn insight_json(i: &Insight) -> Value {
    json!({
        "id": i.id,
        "repo": i.repo,
        "kind": i.found.kind,
        "severity": i.found.severity,
        "title": i.found.title,
        "body": i.found.body,
        "evidence": serde_json::from_str::<Value>(&i.found.evidence).unwrap_or(Value::Null),
        "fingerprint": i.found.fingerprint,
        "status": i.status,
        "run": i.run,
        "created_at": rfc3339(i.created_at),
        "updated_at": rfc3339(i.updated_at),
    })
}

/// A user's rerun of `job`: a new run, never merged with a queued twin.
pub fn rerun_of(job: &Job) -> lore_core::jobs::NewJob {
    lore_core::jobs::NewJob {
        kind: job.kind.clone(),
        repo: job.repo.clone(),
        input: job.input.clone(),
        priority: job.priority,
        run_after: 0,
        max_attempts: job.max_attempts,
        explicit: true,
    }
}
