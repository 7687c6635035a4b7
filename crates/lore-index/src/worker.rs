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

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use std::time::Duration;

use lore_core::jobs::{Artifact, Fact, Job, JobStore, NewInsight, NewJob, Results, Spent};
use lore_core::time::now_ms;
use lore_store::SqliteJobs;

use crate::error::{Error, Result};
use crate::home::Home;

/// Thoughts running in this process now.
static RUNNING: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Measures the CPU a thought uses: the whole process's while it is the
/// only thought running here — its index refresh parses on other threads
/// (rayon, the parallel walk), which a thread's own clock misses, and
/// whatever else the process does meanwhile is charged too (a budget
/// errs on the side of holding back) —, else its own thread's.
struct CpuMeter {
    alone: bool,
    process: Option<u64>,
    thread: Option<u64>,
    wall: i64,
}

impl CpuMeter {
    fn start() -> CpuMeter {
        let alone = RUNNING.fetch_add(1, Ordering::AcqRel) == 0;
        CpuMeter {
            alone,
            process: cpu_ms_of("/proc/self/stat"),
            thread: cpu_ms_of("/proc/thread-self/stat"),
            wall: now_ms(),
        }
    }

    /// CPU milliseconds since [`start`](Self::start).
    fn stop(self) -> u64 {
        // Alone at the start and at the end (a thought that came and went
        // meanwhile is charged here too).
        let alone = RUNNING.fetch_sub(1, Ordering::AcqRel) == 1 && self.alone;
        let (before, now) = if alone {
            (self.process, cpu_ms_of("/proc/self/stat"))
        } else {
            (self.thread, cpu_ms_of("/proc/thread-self/stat"))
        };
        match (before, now) {
            (Some(a), Some(b)) => b.saturating_sub(a),
            _ => (now_ms() - self.wall).max(0) as u64,
        }
    }
}

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
    /// Retrain the learned model on vocabulary drift, or merge vector
    /// segments (`{"retrain": bool}`).
    pub const MAINTAIN_VECTORS: &str = "maintain-vectors";
    /// SmellHunt: Lore's rules over every file; findings become insights.
    pub const SMELL_HUNT: &str = "smell-hunt";
    /// Findings of a SARIF file (`{"file", "sha256"}`) become insights.
    pub const IMPORT_FINDINGS: &str = "import-findings";
    /// Runs the repository's tests in the sandbox (executes its code).
    pub const VERIFY: &str = "verify";
    /// Runs the repository's linters in the sandbox (executes its code).
    pub const LINT: &str = "lint";
    /// Trains a retrieval policy for the repository (`{"queries": N,
    /// "margin": M}`), promoted if it passes the held-out gate.
    pub const TRAIN_POLICY: &str = "train-policy";
    /// Measures retrieval quality on the repository's own evaluation set
    /// and reports what Lore learned (nightly, on the cadence).
    pub const REPORT: &str = "report";
    /// Trains the repository's LoRA adapter over a local base model
    /// (`{"base": PATH, "steps": N, "rank": R, "budget_secs": S,
    /// "checkpoint_every": K}`), put in force if it passes the held-out
    /// gate; a killed run resumes from its last checkpoint when run again.
    pub const ADAPT: &str = "adapt";
    /// Every kind a policy may allow.
    pub const ALL: &[&str] = &[
        SCAN_DIFF,
        MAP_REPO,
        SUMMARIZE,
        PRIORITIZE,
        MAINTAIN_VECTORS,
        SMELL_HUNT,
        IMPORT_FINDINGS,
        VERIFY,
        LINT,
        TRAIN_POLICY,
        REPORT,
        ADAPT,
    ];
    /// Kinds that execute the repository's code: allowed only from the CLI
    /// or with the server's token.
    pub const EXECUTES_CODE: &[&str] = &[VERIFY, LINT];
    /// Kinds a cadence queues.
    pub const PERIODIC: &[&str] = &[
        MAP_REPO,
        SUMMARIZE,
        SMELL_HUNT,
        PRIORITIZE,
        TRAIN_POLICY,
        REPORT,
    ];
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

use crate::thoughts::{self, Produced};

/// CPU time (user + system) of `/proc/{thread-self,self}/stat`, in
/// milliseconds (Linux; elsewhere `None`, and wall time is charged).
fn cpu_ms_of(stat: &str) -> Option<u64> {
    let stat = std::fs::read_to_string(stat).ok()?;
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

fn run_thought(home: &Home, job: &Job) -> Result<Produced> {
    let input: serde_json::Value = serde_json::from_str(&job.input)
        .map_err(|e| Error::Invalid(format!("run {}: bad input: {e}", job.id)))?;
    let root = repo_root(home, &job.repo)?;
    // Every thought works on a fresh index, so its facts cite the code as
    // it is (a run with nothing changed costs a stat of each file).
    let report = crate::index_repo(home, &root, &crate::IndexConfig::default(), &())?;
    let indexed = format!(
        "index refreshed: {} added, {} modified, {} deleted",
        report.summary.added.len(),
        report.summary.modified.len(),
        report.summary.deleted.len()
    );
    let open = || crate::RepoIndex::open(home, &root);
    let mut produced = thought(home, job, &root, &input, open)?;
    produced.log.insert(0, indexed);
    Ok(produced)
}

fn thought(
    home: &Home,
    job: &Job,
    root: &std::path::Path,
    input: &serde_json::Value,
    open: impl Fn() -> Result<crate::RepoIndex>,
) -> Result<Produced> {
    let root = root.to_owned();
    match job.kind.as_str() {
        kinds::SCAN_DIFF => {
            let field = |name: &str| {
                input[name]
                    .as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| Error::Invalid(format!("run {}: input has no `{name}`", job.id)))
            };
            let (from, to) = (field("from")?, field("to")?);
            // A push announced by a webhook: its commits come with a fetch
            // (the user's git, their credentials), retried with the run.
            if let Some(remote) = input["fetch"].as_str() {
                lore_git::fetch_with_git(&root, remote, Duration::from_secs(120))
                    .map_err(|e| Error::Invalid(e.to_string()))?;
            }
            let digest = crate::digest::digest(&root, &from, &to)?;
            let insights = digest_insights(&open()?, &digest)?;
            let value = serde_json::to_string(&digest).expect("a digest serializes");
            let mut paths: Vec<String> = digest.symbols.iter().map(|s| s.path.clone()).collect();
            paths.sort();
            paths.dedup();
            Ok(Produced {
                log: vec![format!(
                    "digested {}..{}: {} files, {} symbols changed",
                    &digest.from[..digest.from.len().min(10)],
                    &digest.to[..digest.to.len().min(10)],
                    digest.files,
                    digest.symbols.len()
                )],
                files: Vec::new(),
                output: serde_json::json!({
                    "files": digest.files,
                    "symbols": digest.symbols.len(),
                    "paths": paths,
                }),
                facts: vec![Fact {
                    // Facts of one repository share its scope prefix, so
                    // forgetting it (or a path in it) reaches them.
                    scope: thoughts::repo_scope(&job.repo),
                    key: format!("digest:{}", digest.from),
                    commit: digest.to.clone(),
                    value,
                }],
                insights,
            })
        }
        kinds::MAP_REPO => thoughts::map_repo(&open()?, &job.repo),
        kinds::SUMMARIZE => {
            let paths: Vec<String> = input["paths"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|p| p.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default();
            thoughts::summarize(&open()?, &job.repo, &paths)
        }
        kinds::PRIORITIZE => {
            let index = open()?;
            // The frontier follows the risk map (a young repository's is
            // the prior's); without one, centrality, recency and churn.
            let risk = crate::findings::SmellConfig::load(&home.config_file(), &root)
                .and_then(|config| {
                    crate::risk::risk_map(
                        home,
                        &index,
                        &config,
                        &crate::risk::RiskOptions::default(),
                        false,
                        false,
                    )
                })
                .map(|map| {
                    map.risks
                        .into_iter()
                        .map(|r| (r.path, r.score))
                        .collect::<std::collections::HashMap<_, _>>()
                });
            let mut produced = match &risk {
                Ok(scores) => thoughts::prioritize(&index, &job.repo, now_ms(), scores)?,
                Err(_) => thoughts::prioritize(&index, &job.repo, now_ms(), &Default::default())?,
            };
            if let Err(e) = risk {
                produced
                    .log
                    .push(format!("no risk map ({e}): ranked without it"));
            }
            Ok(produced)
        }
        kinds::MAINTAIN_VECTORS => {
            let retrain = input["retrain"].as_bool().unwrap_or(false);
            let report =
                crate::maintain_vectors(home, &root, &crate::EmbedConfig::default(), retrain)?;
            Ok(Produced {
                log: vec![match &report {
                    Some(r) => format!("vectors maintained: {r:?}"),
                    None => "nothing to do (or maintenance already running)".to_owned(),
                }],
                output: serde_json::json!({ "maintained": report.is_some() }),
                ..Produced::default()
            })
        }
        kinds::SMELL_HUNT => {
            let config = crate::findings::SmellConfig::load(&home.config_file(), &root)?;
            crate::findings::smell_hunt(&open()?, &config)
        }
        kinds::IMPORT_FINDINGS => {
            let file = input["file"]
                .as_str()
                .ok_or_else(|| Error::Invalid(format!("run {}: input has no `file`", job.id)))?;
            crate::findings::import_thought(
                &open()?,
                std::path::Path::new(file),
                input["sha256"].as_str(),
            )
        }
        kinds::VERIFY => {
            let index = open()?;
            let commit = index.indexed_commit().unwrap_or("").to_owned();
            drop(index);
            crate::verify::verify(
                &root,
                &job.repo,
                &commit,
                home.path(),
                &crate::sandbox::Limits::default(),
            )
        }
        kinds::LINT => {
            let index = open()?;
            let commit = index.indexed_commit().unwrap_or("").to_owned();
            let paths = index.store().paths()?;
            drop(index);
            let config = crate::findings::SmellConfig::load(&home.config_file(), &root)?;
            crate::lint::lint(
                &root,
                &paths,
                &commit,
                &config,
                home.path(),
                &crate::sandbox::Limits::default(),
            )
        }
        kinds::REPORT => {
            let measured = crate::report::measure_quality(home, &root, job.id)?;
            let report = crate::report::report(home, &root, 7 * 86_400)?;
            let first = match &measured {
                Ok(q) => format!(
                    "span R@10 {:.3}, MRR@10 {:.3} on {} doc queries (docs hidden)",
                    q["span_r10"].as_f64().unwrap_or(0.0),
                    q["span_mrr10"].as_f64().unwrap_or(0.0),
                    q["queries"]
                ),
                Err(why) => format!("quality not measured: {why}"),
            };
            let f = &report["feedback"];
            Ok(Produced {
                log: vec![
                    first,
                    format!(
                        "last 7 days: {} answers, {} with feedback; {} retrieval policy versions",
                        f["answers"],
                        f["judged"],
                        report["policies"].as_array().map_or(0, Vec::len)
                    ),
                ],
                output: report,
                ..Produced::default()
            })
        }
        kinds::ADAPT => {
            let base = input["base"].as_str().ok_or_else(|| {
                Error::Invalid(format!("run {}: no base model in its input", job.id))
            })?;
            let defaults = crate::adapt::AdaptOptions::default();
            let rank = input["rank"]
                .as_u64()
                .map_or(defaults.config.rank, |r| r as usize);
            let options = crate::adapt::AdaptOptions {
                steps: input["steps"]
                    .as_u64()
                    .map_or(defaults.steps, |s| s as usize),
                config: lore_llm::lora::AdapterConfig {
                    rank,
                    alpha: 2.0 * rank as f32,
                    ..defaults.config.clone()
                },
                budget: input["budget_secs"]
                    .as_u64()
                    .map_or(defaults.budget, std::time::Duration::from_secs),
                checkpoint_every: input["checkpoint_every"]
                    .as_u64()
                    .map_or(defaults.checkpoint_every, |n| n as usize),
                incremental: input["incremental"].as_bool().unwrap_or(false),
                language: match input["language"].as_str() {
                    Some(name) => Some(lore_core::Language::from_name(name).ok_or_else(|| {
                        Error::Invalid(format!("run {}: no language named {name:?}", job.id))
                    })?),
                    None => None,
                },
                ..defaults
            };
            let base = std::path::Path::new(base);
            let index = open()?;
            let train: Vec<String> = index
                .store()
                .paths()?
                .into_iter()
                .filter(|p| !crate::adapt::is_held_out(p))
                .collect();
            let extras = crate::adapt::Extras::gather(home, &index, &train)?;
            if options.incremental
                && let Some(why) =
                    crate::adapt::nothing_new(&index, base, options.language, &extras)?
            {
                return Ok(Produced {
                    log: vec![format!("not retrained: {why}")],
                    output: serde_json::json!({ "skipped": why }),
                    ..Produced::default()
                });
            }
            let mut log = Vec::new();
            let v = crate::adapt::adapt(&index, base, &options, &extras, &mut |l| {
                log.push(l.to_owned());
            })?;
            log.push(v.verdict.clone());
            Ok(Produced {
                output: serde_json::json!({
                    "version": v.version,
                    "promoted": v.passed,
                    "verdict": v.verdict,
                    "held_out": {
                        "base_perplexity": v.held_out.base_perplexity,
                        "adapter_perplexity": v.held_out.adapter_perplexity,
                        "base_exact_match": v.held_out.base_exact_match,
                        "adapter_exact_match": v.held_out.adapter_exact_match,
                        "windows": v.held_out.windows,
                        "lines": v.held_out.lines,
                        "in_force_perplexity": v.held_out.in_force_perplexity,
                    },
                    "examples": v.examples,
                    "continued_from": v.continued_from,
                    "language": v.language,
                    "train": {
                        "tokens": v.train.tokens,
                        "seconds": v.train.seconds,
                        "steps": v.train.steps,
                        "first_loss": v.train.first_loss,
                        "last_loss": v.train.last_loss,
                        "resumed_from": v.train.resumed_from,
                    },
                }),
                log,
                ..Produced::default()
            })
        }
        kinds::TRAIN_POLICY => {
            let skip = |why: String| Produced {
                log: vec![
                    format!("not retrained: {why}"),
                    "the retrieval policy in force stays".to_owned(),
                ],
                output: serde_json::json!({ "skipped": why }),
                ..Produced::default()
            };
            // On cadence, only when there is something new to learn from.
            if !job.explicit
                && let Some(why) = crate::policy::nothing_new(home, &root)?
            {
                return Ok(skip(why));
            }
            let queries = input["queries"].as_u64().unwrap_or(300) as usize;
            let margin = input["margin"].as_f64().unwrap_or(0.02);
            let trained = match crate::policy::train(home, &root, queries, margin) {
                Ok(trained) => trained,
                // A small repository is no failure of the cadence's.
                Err(Error::TooFewQueries(why)) if !job.explicit => return Ok(skip(why)),
                Err(err) => return Err(err),
            };
            let mined: Vec<String> = trained
                .record
                .sources
                .iter()
                .map(|(source, n)| format!("{n} {source}"))
                .collect();
            Ok(Produced {
                log: vec![
                    format!(
                        "v{}: mined {} queries ({}), {} held out",
                        trained.version,
                        trained.queries.0 + trained.queries.1,
                        mined.join(", "),
                        trained.queries.1,
                    ),
                    format!(
                        "{}{}",
                        trained.record.verdict.reason,
                        if trained.promoted {
                            "; promoted"
                        } else {
                            "; not promoted"
                        }
                    ),
                ],
                output: serde_json::to_value(&trained).expect("a trained policy serializes"),
                ..Produced::default()
            })
        }
        other => Err(Error::Invalid(format!(
            "run {}: no thought of kind `{other}` in this lore",
            job.id
        ))),
    }
}

/// The run's new insights of a kind and rule (or title shape) the team dismissed
/// [`lore_learn::similar::SUPPRESS_AFTER`] times or more become
/// `suppressed`: kept (a user may still list them), not shown as new.
fn suppress_like_dismissed(queue: &mut SqliteJobs, job: &Job) -> Result<()> {
    use lore_learn::similar::{SUPPRESS_AFTER, key};
    let dismissed = queue.insights(&job.repo, None, Some("dismissed"), 100_000)?;
    let mut count: HashMap<String, usize> = HashMap::new();
    for i in &dismissed {
        *count.entry(key(&i.found.kind, &i.found.title)).or_default() += 1;
    }
    if count.values().all(|n| *n < SUPPRESS_AFTER) {
        return Ok(());
    }
    for i in queue.insights(&job.repo, None, Some("new"), 100_000)? {
        if i.run == job.id
            && count
                .get(&key(&i.found.kind, &i.found.title))
                .is_some_and(|n| *n >= SUPPRESS_AFTER)
        {
            queue.set_insight_status(i.id, "suppressed")?;
        }
    }
    Ok(())
}

/// Insights of a digest: what changed (one per range), and symbols
/// removed while code still refers to their name.
fn digest_insights(
    index: &crate::RepoIndex,
    digest: &crate::digest::Digest,
) -> Result<Vec<NewInsight>> {
    use crate::digest::Change;
    let mut out = Vec::new();
    if digest.symbols.is_empty() {
        return Ok(out);
    }
    let short = |sha: &str| sha[..sha.len().min(10)].to_owned();
    let cite = |s: &crate::digest::SymbolChange| {
        let commit = if s.change == Change::Removed {
            &digest.from
        } else {
            &digest.to
        };
        serde_json::json!({ "path": s.path, "start_line": s.start_line, "end_line": s.end_line, "commit": commit })
    };
    let count = |c: Change| digest.symbols.iter().filter(|s| s.change == c).count();
    out.push(NewInsight {
        kind: "change".into(),
        severity: "low".into(),
        title: format!(
            "{}..{}: {} added, {} modified, {} removed, {} renamed in {} files",
            short(&digest.from),
            short(&digest.to),
            count(Change::Added),
            count(Change::Modified),
            count(Change::Removed),
            count(Change::Renamed),
            digest.files
        ),
        body: digest
            .symbols
            .iter()
            .take(40)
            .map(|s| {
                format!(
                    "- {:?} {} — {}:{}",
                    s.change, s.symbol, s.path, s.start_line
                )
            })
            .collect::<Vec<_>>()
            .join("\n"),
        evidence: serde_json::Value::Array(digest.symbols.iter().take(40).map(cite).collect())
            .to_string(),
        fingerprint: format!("digest:{}..{}", digest.from, digest.to),
    });
    for s in digest
        .symbols
        .iter()
        .filter(|s| s.change == Change::Removed)
    {
        let name = s.symbol.rsplit(['.', ':']).next().unwrap_or(&s.symbol);
        // Still defined elsewhere: the references may mean that one.
        if !index
            .symbols(name, None, 1)?
            .iter()
            .all(|h| h.matched != "exact")
        {
            continue;
        }
        let calls: Vec<_> = index
            .ref_rows(name)?
            .into_iter()
            .filter(|r| r.kind != lore_core::RefKind::Import)
            .collect();
        if calls.is_empty() {
            continue;
        }
        let mut evidence = vec![cite(s)];
        evidence.extend(
            calls
                .iter()
                .take(10)
                .map(|r| thoughts::cite(&r.path, r.line, r.line, &digest.to)),
        );
        out.push(NewInsight {
            kind: "broken-reference".into(),
            severity: "medium".into(),
            title: format!(
                "{} was removed but {} places still refer to `{name}`",
                s.symbol,
                calls.len()
            ),
            body: format!(
                "{} was removed from {} in {}..{}; no definition of `{name}` is left, yet the code refers to it (by name).",
                s.symbol,
                s.path,
                short(&digest.from),
                short(&digest.to)
            ),
            evidence: serde_json::Value::Array(evidence).to_string(),
            fingerprint: format!("removed:{}#{}", s.path, s.symbol),
        });
    }
    Ok(out)
}

/// Forgets `repo`'s artifacts whose content names one of `paths` (a
/// purge); returns how many.
pub fn forget_artifacts_citing(
    queue: &mut SqliteJobs,
    repo: &str,
    paths: &[String],
) -> Result<u64> {
    let mut n = 0;
    for (run, a) in queue.repo_artifacts(repo)? {
        let Ok(text) = std::fs::read(&a.path) else {
            continue;
        };
        if paths
            .iter()
            .any(|p| memchr::memmem::find(&text, p.as_bytes()).is_some())
        {
            queue.forget_artifact(run, &a.name)?;
            remove_artifact_files(std::slice::from_ref(&a.path));
            n += 1;
        }
    }
    Ok(n)
}

/// SHA-256 of `bytes`, lower-case hex (artifacts' checksums).
pub fn sha256_hex(bytes: &[u8]) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, bytes);
    digest.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

/// Writes a thought's files under the repository's data directory
/// (`runs/ID/NAME`, whole then renamed) and describes them for the
/// completion. A later attempt of the same run writes the same paths.
fn keep_files(home: &Home, job: &Job, files: &[(String, Vec<u8>)]) -> Result<Vec<Artifact>> {
    if files.is_empty() {
        return Ok(Vec::new());
    }
    let root = repo_root(home, &job.repo)?;
    let dir = home
        .layout(&root)
        .dir()
        .join("runs")
        .join(job.id.to_string());
    std::fs::create_dir_all(&dir).map_err(|e| Error::Invalid(format!("{}: {e}", dir.display())))?;
    let mut out = Vec::new();
    for (name, bytes) in files {
        let path = dir.join(name);
        let tmp = dir.join(format!(".{name}.tmp"));
        std::fs::write(&tmp, bytes)
            .and_then(|()| std::fs::rename(&tmp, &path))
            .map_err(|e| Error::Invalid(format!("{}: {e}", path.display())))?;
        out.push(Artifact {
            name: name.clone(),
            path: path.to_string_lossy().into_owned(),
            sha256: sha256_hex(bytes),
            bytes: bytes.len() as u64,
        });
    }
    Ok(out)
}

/// Queues a Summarize of the files a digest touched, if learning is on
/// for the repository and its policy allows it.
fn follow_up(queue: &mut SqliteJobs, job: &Job, paths: &serde_json::Value) -> Result<()> {
    if paths.as_array().is_none_or(|p| p.is_empty())
        || !queue.learning(&job.repo)?
        || !queue.policy(&job.repo)?.allows(kinds::SUMMARIZE)
    {
        return Ok(());
    }
    let input = serde_json::json!({ "paths": paths }).to_string();
    queue.enqueue(&NewJob::new(kinds::SUMMARIZE, &job.repo, &input), now_ms())?;
    Ok(())
}

/// After an index run that reports vector maintenance due: with learning
/// on (and the kind allowed), queues it as a budgeted thought and returns
/// true; false leaves it to the caller (`lore serve` runs it on a thread).
pub fn queue_maintenance(home: &Home, report: &crate::IndexReport) -> Result<bool> {
    if !report.embed.as_ref().is_some_and(|e| e.maintenance_due) {
        return Ok(false);
    }
    let repo = home.repo_id(&report.root);
    let mut queue = SqliteJobs::open(&home.thinker_db())?;
    if !queue.learning(&repo)? || !queue.policy(&repo)?.allows(kinds::MAINTAIN_VECTORS) {
        return Ok(false);
    }
    let job = NewJob::new(kinds::MAINTAIN_VECTORS, &repo, r#"{"retrain":false}"#);
    queue.enqueue(&job, now_ms())?;
    Ok(true)
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
    if !queue.learning(&repo)? || !queue.policy(&repo)?.allows(kinds::SCAN_DIFF) {
        return Ok(None);
    }
    let input = serde_json::json!({ "from": from, "to": to }).to_string();
    let job = lore_core::jobs::NewJob::new(kinds::SCAN_DIFF, &repo, &input);
    Ok(Some(queue.enqueue(&job, now_ms())?.id))
}

/// How long finished runs, digests and dismissed insights are kept
/// (`LORE_RETAIN_DAYS`, default 30), how many finished runs at most
/// (`LORE_RETAIN_RUNS`, default 10,000) and how much artifacts may take
/// in all (`LORE_RETAIN_ARTIFACTS_MB`, default 256).
fn retention() -> (i64, u64, u64) {
    let env = |name: &str| std::env::var(name).ok().and_then(|v| v.parse::<u64>().ok());
    let days = env("LORE_RETAIN_DAYS").unwrap_or(30);
    (
        days as i64 * 86_400_000,
        env("LORE_RETAIN_RUNS").unwrap_or(10_000),
        env("LORE_RETAIN_ARTIFACTS_MB").unwrap_or(256) << 20,
    )
}

fn remove_artifact_files(files: &[String]) {
    for file in files {
        let _ = std::fs::remove_file(file);
        if let Some(dir) = std::path::Path::new(file).parent() {
            // Only when empty: the run's other artifacts may remain.
            let _ = std::fs::remove_dir(dir);
        }
    }
}

/// Prunes by the retention settings, at most once an hour per process,
/// when a worker finds nothing to do.
fn maybe_prune(queue: &mut SqliteJobs, now: i64) -> Result<()> {
    static LAST: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(0);
    let last = LAST.load(Ordering::Relaxed);
    if now - last < 3_600_000
        || LAST
            .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
            .is_err()
    {
        return Ok(());
    }
    let (age, runs, bytes) = retention();
    let pruned = queue.prune(now, age, runs)?;
    remove_artifact_files(&pruned.files);
    remove_artifact_files(&queue.prune_artifacts(bytes)?.files);
    if pruned.runs + pruned.facts + pruned.insights > 0 {
        tracing::info!(
            runs = pruned.runs,
            facts = pruned.facts,
            insights = pruned.insights,
            "pruned"
        );
    }
    Ok(())
}

/// What [`run_next`] did with a job.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ran {
    /// The run.
    pub id: i64,
    /// Its result was committed by this attempt (false: it failed, or the
    /// lease was lost and the result dropped).
    pub committed: bool,
}

/// When a worker finds nothing to do (at most once a minute per process,
/// or as often as the idle time when that is shorter): queues a
/// consolidation of the adapter in force of each repository with learning
/// on and `adapt` allowed that has been idle long enough and has something
/// new ([`crate::adapt::consolidations_due`]). Its training is bounded by
/// what the repository's CPU budget holds now (spread over the threads
/// training uses), and by 30 minutes.
fn maybe_consolidate(
    home: &Home,
    queue: &mut SqliteJobs,
    now: i64,
    repos: &[String],
) -> Result<()> {
    static LAST: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(0);
    let last = LAST.load(Ordering::Relaxed);
    if now - last < crate::adapt::idle_ms().min(60_000)
        || LAST
            .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
            .is_err()
    {
        return Ok(());
    }
    for entry in home.repos()? {
        let Some(repo) = entry
            .data_dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
        else {
            continue;
        };
        if entry.damaged.is_some()
            || !repos.is_empty() && !repos.contains(&repo)
            || !queue.learning(&repo)?
        {
            continue;
        }
        let policy = queue.policy(&repo)?;
        if !policy.allows(kinds::ADAPT)
            || queue
                .jobs(Some(&repo), 200)?
                .iter()
                .any(|j| j.kind == kinds::ADAPT && !j.state.is_final())
        {
            continue;
        }
        let mut budget_secs = 30 * 60;
        if let Some(b) = &policy.cpu {
            let (buckets, _) = queue.sched(&repo)?;
            let level = buckets
                .cpu
                .unwrap_or_else(|| lore_core::schedule::Bucket::full(b, now))
                .refill(b, now)
                .level;
            if level <= 0.0 {
                continue;
            }
            let threads = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
            budget_secs = budget_secs.min((level / 1000.0 / threads) as u64).max(1);
        }
        for due in crate::adapt::consolidations_due(&entry.data_dir, now, budget_secs)? {
            let job = NewJob::new(kinds::ADAPT, &repo, &due.input.to_string());
            let queued = queue.enqueue(&job, now)?;
            tracing::info!(
                run = queued.id,
                version = due.version,
                "adapter consolidation queued"
            );
        }
    }
    Ok(())
}

/// Queues `job` as a user's request (explicit, first in its repository's
/// line) and runs the queue for that repository here until it is done:
/// `lore findings import`, `lore verify`. Returns the run as it ended.
pub fn run_now(home: &Home, mut job: NewJob) -> Result<lore_core::jobs::Job> {
    job.explicit = true;
    job.priority = i32::MAX;
    job.max_attempts = 1;
    let mut queue = SqliteJobs::open(&home.thinker_db())?;
    let id = queue.enqueue(&job, now_ms())?.id;
    let config = WorkerConfig {
        repos: vec![job.repo.clone()],
        ..WorkerConfig::default()
    };
    loop {
        let current = queue
            .job(id)?
            .ok_or_else(|| Error::Invalid(format!("run {id} vanished from the queue")))?;
        if current.state.is_final() {
            return Ok(current);
        }
        if run_next(home, &config)?.is_none() {
            // Another worker holds it: wait for it to finish.
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

/// Runs the next runnable job, if any. The result is committed only if
/// this worker still holds the lease.
pub fn run_next(home: &Home, config: &WorkerConfig) -> Result<Option<Ran>> {
    let path = home.thinker_db();
    let mut queue = SqliteJobs::open(&path)?;
    let now = now_ms();
    // Cadences first: what they queue competes with the rest.
    // The scheduler bandit orders (and sometimes skips) the kinds whose
    // insights people judged.
    let mut rng = lore_learn::bandit::Rng::new(now as u64);
    queue.fire_cadences_with(now, &mut |_, verdicts| {
        crate::thought_bandit::plan(kinds::PERIODIC, verdicts, &mut rng)
    })?;
    let Some(job) = queue.claim_for(&config.name, &config.repos, now, config.lease_ms)? else {
        maybe_prune(&mut queue, now)?;
        maybe_consolidate(home, &mut queue, now, &config.repos)?;
        return Ok(None);
    };
    let _span = tracing::info_span!("thought", run = job.id, kind = %job.kind).entered();
    // Heartbeats on their own connection, while the thought runs.
    // Dropping `done` ends the heartbeats at once (not at the next beat).
    let (done, stop) = std::sync::mpsc::channel::<()>();
    let lost = Arc::new(AtomicBool::new(false));
    let beat = {
        let lost = lost.clone();
        let (path, name, lease, id) = (path.clone(), config.name.clone(), config.lease_ms, job.id);
        std::thread::spawn(move || {
            let Ok(mut queue) = SqliteJobs::open(&path) else {
                return;
            };
            let period = Duration::from_millis((lease / 3).max(10) as u64);
            while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) = stop.recv_timeout(period) {
                if !queue.heartbeat(id, &name, now_ms(), lease).unwrap_or(false) {
                    lost.store(true, Ordering::Release);
                    break;
                }
            }
        })
    };
    let meter = CpuMeter::start();
    let result = run_thought(home, &job);
    let cpu_ms = meter.stop();
    drop(done);
    let _ = beat.join();
    let spent = Spent { cpu_ms, tokens: 0 };
    let mut committed = false;
    match result {
        Ok(outcome) => {
            // Writing the results is the thought's work too (tens of
            // thousands of cards): measured, and charged once recorded.
            let writing = CpuMeter::start();
            let output = outcome.output.to_string();
            let artifacts = keep_files(home, &job, &outcome.files)?;
            let mut log: String = outcome.log.iter().map(|l| format!("{l}\n")).collect();
            log.push_str(&format!("done in {cpu_ms} ms of CPU\n"));
            let results = Results {
                output: &output,
                facts: &outcome.facts,
                insights: &outcome.insights,
                artifacts: &artifacts,
                log: &log,
            };
            let done = queue.complete_with(job.id, &config.name, now_ms(), &results, spent)?;
            let written = writing.stop();
            if written > 0 {
                let more = Spent {
                    cpu_ms: written,
                    tokens: 0,
                };
                queue.charge_more(job.id, more, now_ms())?;
            }
            if done && !outcome.insights.is_empty() {
                suppress_like_dismissed(&mut queue, &job)?;
            }
            if !done || lost.load(Ordering::Acquire) {
                tracing::warn!("lease lost: the result of this attempt is dropped");
            } else if job.kind == kinds::SCAN_DIFF {
                // The changed files' cards and dossiers follow the code (a
                // queued twin absorbs a repeat).
                follow_up(&mut queue, &job, &outcome.output["paths"])?;
            }
            committed = done;
        }
        Err(err) => {
            let state = queue.fail(job.id, &config.name, now_ms(), &err.to_string(), spent)?;
            tracing::warn!(cause = %err, state = state.name(), "thought failed");
        }
    }
    Ok(Some(Ran {
        id: job.id,
        committed,
    }))
}
