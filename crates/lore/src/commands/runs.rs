//! `lore runs`: the thinker's runs — list, show, rerun, cancel; and
//! `lore digest`, what its ScanDiff thought records for a commit range.

use std::io::Write;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use lore_core::jobs::{Job, JobStore};
use lore_core::time::{now_ms, rfc3339};
use lore_index::Home;
use lore_store::SqliteJobs;
use serde_json::Value;

use crate::cli::*;
use crate::render::*;
use crate::success;

use super::repo_root;

fn find(queue: &SqliteJobs, id: i64) -> Result<Job> {
    match queue.job(id)? {
        Some(job) => Ok(job),
        None => bail!("no run {id}: `lore runs --all` lists them"),
    }
}

/// `lore runs ...`.
pub(crate) fn runs(home: &Home, args: RunsArgs, g: &GlobalArgs) -> Result<ExitCode> {
    let path = home.thinker_db();
    let mut queue =
        SqliteJobs::open(&path).with_context(|| format!("{}: cannot open", path.display()))?;
    match args.command {
        None => {
            let repo = match args.all {
                true => None,
                false => Some(home.repo_id(&repo_root(home, g)?.canonicalize()?)),
            };
            let jobs = queue.jobs(repo.as_deref(), args.limit)?;
            if args.json.json {
                return print_json(
                    &jobs
                        .iter()
                        .map(lore_index::learning::run_json)
                        .collect::<Vec<_>>(),
                );
            }
            let mut out = std::io::stdout().lock();
            if jobs.is_empty() {
                writeln!(out, "no runs yet")?;
            }
            for job in &jobs {
                writeln!(
                    out,
                    "{:>6}  {:<10} {:<14} attempts {}/{}  {}{}",
                    job.id,
                    job.state.name(),
                    job.kind,
                    job.attempts,
                    job.max_attempts,
                    rfc3339(job.started_at.unwrap_or(job.created_at)),
                    job.reason
                        .as_deref()
                        .map(|r| format!("  ({r})"))
                        .unwrap_or_default()
                )?;
            }
            Ok(success())
        }
        Some(RunsCommand::Show { id, json }) => {
            let job = find(&queue, id)?;
            let artifacts = queue.artifacts(id)?;
            let detail = lore_index::learning::run_detail_json(&job, &artifacts);
            if json.json {
                return print_json(&detail);
            }
            let mut out = std::io::stdout().lock();
            writeln!(
                out,
                "run {} · {} · {} · attempts {}/{} · CPU {} ms",
                job.id,
                job.kind,
                job.state.name(),
                job.attempts,
                job.max_attempts,
                job.cpu_ms
            )?;
            if let Some(reason) = &job.reason {
                writeln!(out, "reason: {reason}")?;
            }
            for line in job.log.lines() {
                writeln!(out, "  {line}")?;
            }
            for a in &artifacts {
                writeln!(
                    out,
                    "artifact {} ({} bytes, sha256 {}): {}",
                    a.name, a.bytes, a.sha256, a.path
                )?;
            }
            if let Some(output) = &job.output {
                writeln!(out, "output: {output}")?;
            }
            Ok(success())
        }
        Some(RunsCommand::Rerun { id, json }) => {
            let job = find(&queue, id)?;
            let again = lore_index::learning::rerun_of(&job);
            let queued = queue.enqueue(&again, now_ms())?;
            let new = find(&queue, queued.id)?;
            if json.json {
                return print_json(&lore_index::learning::run_json(&new));
            }
            writeln!(
                std::io::stdout().lock(),
                "run {id} queued again as run {}",
                new.id
            )?;
            Ok(success())
        }
        Some(RunsCommand::Cancel { id }) => {
            let job = find(&queue, id)?;
            if !queue.cancel(id, now_ms())? {
                bail!("run {id} has already finished ({})", job.state.name());
            }
            if !g.quiet {
                eprintln!("run {id} cancelled");
            }
            Ok(success())
        }
    }
}

/// `lore digest [FROM..TO]`.
pub(crate) fn digest(home: &Home, args: DigestArgs, g: &GlobalArgs) -> Result<ExitCode> {
    let root = repo_root(home, g)?.canonicalize()?;
    let Some((from, to)) = args.range.split_once("..") else {
        bail!(
            "{}: give a range as FROM..TO (e.g. HEAD~3..HEAD)",
            args.range
        );
    };
    let digest = lore_index::digest::digest(&root, from, to)?;
    if args.json.json {
        return print_json(&digest);
    }
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "{}..{}: {} files changed, {} symbols",
        &digest.from[..digest.from.len().min(10)],
        &digest.to[..digest.to.len().min(10)],
        digest.files,
        digest.symbols.len()
    )?;
    for s in &digest.symbols {
        let mark = match s.change {
            lore_index::digest::Change::Added => "A",
            lore_index::digest::Change::Removed => "D",
            lore_index::digest::Change::Modified => "M",
            lore_index::digest::Change::Renamed => "R",
        };
        write!(
            out,
            "{mark} {}:{}-{}  {} ({})",
            s.path, s.start_line, s.end_line, s.symbol, s.kind
        )?;
        if let Some(from) = &s.from {
            write!(out, "  from {from}")?;
        }
        writeln!(out)?;
    }
    Ok(success())
}

/// `lore worker [PATH...] [--once] [--threads N]`.
pub(crate) fn worker(home: &Home, args: WorkerArgs, g: &GlobalArgs) -> Result<ExitCode> {
    let mut repos = Vec::new();
    for path in args.repos.iter().chain(&g.repo) {
        let root = path
            .canonicalize()
            .with_context(|| format!("{}: no such repository", path.display()))?;
        repos.push(home.repo_id(&root));
    }
    let ran = std::sync::atomic::AtomicU64::new(0);
    let run = |i: usize| -> Result<()> {
        let mut config = lore_index::worker::WorkerConfig {
            repos: repos.clone(),
            ..Default::default()
        };
        if args.threads > 1 {
            config.name = format!("{}-{i}", config.name);
        }
        loop {
            match lore_index::worker::run_next(home, &config)? {
                Some(run) => {
                    ran.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    if !g.quiet {
                        let what = if run.committed {
                            "done"
                        } else {
                            "not committed"
                        };
                        eprintln!("run {} {what}", run.id);
                    }
                }
                None if args.once => return Ok(()),
                None => std::thread::sleep(std::time::Duration::from_millis(args.poll_ms.max(10))),
            }
        }
    };
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..args.threads.max(1))
            .map(|i| scope.spawn(move || run(i)))
            .collect();
        handles
            .into_iter()
            .try_for_each(|h| h.join().expect("a worker thread panicked"))
    })?;
    if !g.quiet {
        eprintln!("{} runs", ran.into_inner());
    }
    Ok(success())
}

/// `lore learn webhook-secret [--rotate]`.
fn webhook_secret(home: &Home, rotate: bool, g: &GlobalArgs) -> Result<ExitCode> {
    let (secret, new) = lore_server::security::create_webhook_secret(home.path(), rotate)
        .with_context(|| format!("{}: cannot write the webhook secret", home.path().display()))?;
    writeln!(std::io::stdout().lock(), "{secret}")?;
    if !g.quiet {
        eprintln!(
            "{} in {}; GitHub: Settings → Webhooks → content type application/json, this secret, URL https://HOST/webhooks/github",
            if new { "new secret" } else { "secret" },
            home.path()
                .join(lore_server::security::WEBHOOK_SECRET_FILE)
                .display()
        );
    }
    Ok(success())
}

/// `lore learn on|off|status|webhook-secret`.
pub(crate) fn learn(home: &Home, command: LearnCommand, g: &GlobalArgs) -> Result<ExitCode> {
    let on = matches!(command, LearnCommand::On(_));
    match command {
        LearnCommand::WebhookSecret { rotate } => webhook_secret(home, rotate, g),
        LearnCommand::On(args) | LearnCommand::Off(args) => {
            let root = repo_root(home, g)?.canonicalize()?;
            if on && !home.layout(&root).db().exists() {
                bail!(
                    "{} is not indexed yet: run `lore index` there first (thoughts work from the index)",
                    root.display()
                );
            }
            let repo = home.repo_id(&root);
            let settings = lore_index::learning::Settings {
                budgets: args.budget,
                quiet_hours: args.quiet_hours,
                cadence: args.cadence,
                allow: args.allow,
            };
            lore_index::learning::toggle(home, &repo, on, &settings)?;
            if !g.quiet {
                let status = lore_index::learning::status(home, &root)?;
                eprintln!(
                    "learning {} for {}: {}",
                    if on { "on" } else { "off" },
                    root.display(),
                    status["status_line"].as_str().unwrap_or_default()
                );
            }
            Ok(success())
        }
        LearnCommand::Status(args) => {
            let root = repo_root(home, g)?.canonicalize()?;
            let status = lore_index::learning::status(home, &root)?;
            if args.json {
                return print_json(&status);
            }
            let mut out = std::io::stdout().lock();
            writeln!(
                out,
                "{}",
                status["status_line"].as_str().unwrap_or_default()
            )?;
            let text = |v: &Value| v.as_str().map(str::to_owned);
            for (name, key) in [("cpu", "cpu"), ("tokens", "tokens")] {
                let b = &status["budgets"][key];
                if !b.is_null() {
                    writeln!(
                        out,
                        "budget {name}: {} (left {} {})",
                        b["limit"].as_str().unwrap_or_default(),
                        b["left"],
                        b["unit"].as_str().unwrap_or_default()
                    )?;
                }
            }
            if let Some(q) = text(&status["quiet_hours"]) {
                writeln!(out, "quiet hours: {q}")?;
            }
            if let Some(c) = text(&status["cadence"]) {
                let next = text(&status["next_cadence"]).unwrap_or_else(|| "-".into());
                writeln!(out, "cadence: {c} (next {next})")?;
            }
            for r in status["waiting_reasons"].as_array().into_iter().flatten() {
                writeln!(
                    out,
                    "waiting: {} ({} runs)",
                    r["reason"].as_str().unwrap_or_default(),
                    r["runs"]
                )?;
            }
            writeln!(
                out,
                "allowed: {}",
                status["allow"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join(", ")
            )?;
            // The scheduler bandit: kinds whose insights people judged.
            for k in status["attention"].as_array().into_iter().flatten() {
                writeln!(
                    out,
                    "attention: {} — {} insights read, {} dismissed (posterior {})",
                    k["kind"].as_str().unwrap_or_default(),
                    k["read"],
                    k["dismissed"],
                    k["mean"]
                )?;
            }
            Ok(success())
        }
    }
}
