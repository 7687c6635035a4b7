//! `lore index`: runs the index and reports what changed.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use anyhow::{Context, Result};
use lore_index::{Home, RepoIndex};
use serde_json::json;

use crate::cli::*;
use crate::progress::Bar;
use crate::render::*;
use crate::success;
use lore_index::IndexConfig;

use super::discover_root;

/// `lore index`.
pub(crate) fn index(home: &Home, args: IndexArgs, g: &GlobalArgs) -> Result<ExitCode> {
    let root = match args.path.as_deref().or(g.repo.as_deref()) {
        Some(path) => path.to_owned(),
        None => discover_root(home)?,
    };
    let mut config = IndexConfig {
        max_file_size: args.max_file_size,
        ..IndexConfig::default()
    };
    config.history.max_commits = args.max_commits;
    config.embed.enabled = !args.no_vectors;
    if let Some(threads) = args.threads {
        config.threads = threads;
    }
    // Parse the spec before a long run, so a typo fails at once.
    let spec = args
        .embedder
        .as_deref()
        .map(lore_embed::EmbedderSpec::parse)
        .transpose()?;
    if let Some(spec) = &spec {
        super::embed::refuse_off_machine(home, spec)?;
    }
    let bar = Bar::new(!g.quiet && std::io::stderr().is_terminal());
    let report = if args.rebuild {
        if !g.quiet {
            eprintln!("rebuilding the index of {} from the source", root.display());
        }
        // Keeps the embedder the old index named (an --embedder given here wins below).
        lore_index::rebuild(home, &root, &config, &bar)?
    } else {
        lore_index::index_repo(home, &root, &config, &bar)?
    };
    if let Some(spec) = &spec {
        lore_index::set_embedder(home, &report.root, spec)?;
    }
    let mut dense_report = None;
    let mut background = None;
    // Opening the index to count pending chunks is only worth it with a
    // transformer configured.
    // (An embedder given to this run was recorded after it.)
    let transformer = match &spec {
        Some(spec) => !spec.is_learned(),
        None => report.transformer,
    };
    let dense = match transformer {
        true => RepoIndex::open(home, &report.root)?.transformer_status()?,
        false => None,
    };
    if let Some(dense) = dense
        && dense.pending > 0
        && !args.no_vectors
    {
        match args.embed {
            EmbedWhen::Off => {}
            EmbedWhen::Wait => {
                dense_report = Some(run_dense(home, &report.root, &Default::default(), g)?);
            }
            EmbedWhen::Background => {
                spawn_embedding(home, &report.root)?;
                background = Some(dense);
            }
        }
    }
    // With learning on, new commits queue a digest (never fails the run).
    match lore_index::worker::after_index(home, &report) {
        Ok(Some(run)) => tracing::info!(run, "queued a digest of the new commits"),
        Ok(None) => {}
        Err(err) => tracing::warn!(cause = %err, "could not queue the digest"),
    }
    // ... and due vector maintenance becomes a budgeted thought.
    if let Err(err) = lore_index::worker::queue_maintenance(home, &report) {
        tracing::warn!(cause = %err, "could not queue vector maintenance");
    }
    print_index_report(&report, dense_report.as_ref(), args.json.json, g.quiet)?;
    if let Some(dense) = background
        && !g.quiet
        && !args.json.json
    {
        eprintln!(
            "transformer vectors: {} chunks pending for {}; embedding in the \
             background (`lore embed status` shows progress)",
            dense.pending, dense.spec
        );
    }
    Ok(success())
}

/// Runs an embedding run in this process with a progress bar.
pub(crate) fn run_dense(
    home: &Home,
    root: &std::path::Path,
    options: &lore_index::DenseOptions,
    g: &GlobalArgs,
) -> Result<lore_index::DenseReport> {
    // The code goes to the embedder: the privacy setting that keeps it on
    // this machine for answers keeps it here for embeddings too.
    let config = lore_ask::config::Config::load(&lore_ask::config::Config::path(home.path()))?;
    let options = lore_index::DenseOptions {
        no_remote: options.no_remote || config.privacy.no_remote,
        ..options.clone()
    };
    let bar = crate::progress::EmbedBar::new(!g.quiet && std::io::stderr().is_terminal());
    let report =
        lore_index::embed_dense(home, root, &options, &|done, total| bar.update(done, total))?;
    bar.finish();
    Ok(report)
}

pub(crate) fn print_dense_report(report: &lore_index::DenseReport) -> Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "transformer vectors ({}): {} embedded now ({:.1} chunks/s), {} from cache, {} pending, in {:.1}s",
        report.model,
        report.embedded,
        report.chunks_per_sec,
        report.from_cache,
        report.pending,
        report.ms as f64 / 1000.0
    )?;
    Ok(())
}

/// Starts `lore embed run` for `root` as a detached background process
/// writing to `embed.log` in the repository's data directory.
fn spawn_embedding(home: &Home, root: &std::path::Path) -> Result<()> {
    let exe = std::env::current_exe().context("cannot find the lore executable")?;
    let log_path = home.layout(root).embed_log();
    let log = std::fs::File::create(&log_path)
        .with_context(|| format!("{}: cannot create", log_path.display()))?;
    std::process::Command::new(exe)
        .arg("--home")
        .arg(home.path())
        .arg("--repo")
        .arg(root)
        .args(["--quiet", "embed", "run"])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(log)
        .spawn()
        .context("cannot start the background embedding run")?;
    Ok(())
}

fn print_index_report(
    report: &lore_index::IndexReport,
    dense: Option<&lore_index::DenseReport>,
    as_json: bool,
    quiet: bool,
) -> Result<()> {
    let s = &report.summary;
    if as_json {
        let value = json!({
            "root": report.root,
            "files": report.files,
            "added": s.added, "modified": s.modified, "deleted": s.deleted,
            "renamed": s.renamed.iter().map(|(a, b)| json!({"from": a, "to": b})).collect::<Vec<_>>(),
            "unchanged": s.unchanged,
            "skipped": report.skipped.len(),
            "syntax_errors": report.syntax_errors,
            "generation": report.generation,
            "head": report.head,
            "duration_ms": s.duration_ms,
            "parsed_lines": report.parsed_lines,
            "embed": report.embed,
            "embed_error": report.embed_error,
            "rebuilt": report.rebuilt,
            "dense": dense,
        });
        print_json(&value)?;
        return Ok(());
    }
    if quiet {
        return Ok(());
    }
    let mut out = std::io::stdout().lock();
    let secs = s.duration_ms as f64 / 1000.0;
    writeln!(
        out,
        "indexed {}: {} files ({} added, {} modified, {} deleted, {} renamed, {} unchanged), {} skipped in {secs:.2}s",
        report.root.display(),
        report.files,
        s.added.len(),
        s.modified.len(),
        s.deleted.len(),
        s.renamed.len(),
        s.unchanged,
        report.skipped.len(),
    )?;
    if let Some(rebuilt) = &report.rebuilt {
        writeln!(out, "  {rebuilt}")?;
    }
    const LIST: usize = 20;
    let changes = s.added.len() + s.modified.len() + s.deleted.len() + s.renamed.len();
    if changes > 0 && changes <= LIST {
        for p in &s.added {
            writeln!(out, "  A {p}")?;
        }
        for p in &s.modified {
            writeln!(out, "  M {p}")?;
        }
        for p in &s.deleted {
            writeln!(out, "  D {p}")?;
        }
        for (from, to) in &s.renamed {
            writeln!(out, "  R {from} -> {to}")?;
        }
    }
    if report.parsed_lines > 0 && secs > 0.0 {
        writeln!(
            out,
            "  parsed {} lines ({:.0} lines/s)",
            report.parsed_lines,
            report.parsed_lines as f64 / secs
        )?;
    }
    if !report.syntax_errors.is_empty() {
        writeln!(
            out,
            "  {} files had syntax errors and were indexed partially",
            report.syntax_errors.len()
        )?;
    }
    if let Some(e) = &report.embed {
        writeln!(
            out,
            "  vectors: {} embedded, {} reused, {} deleted{} ({})",
            e.embedded,
            e.reused,
            e.deleted,
            if e.trained { ", model trained" } else { "" },
            e.model
        )?;
        if e.maintenance_due {
            writeln!(
                out,
                "  vector maintenance is due (vocabulary drift {:.3}, {} segments): \
                 `lore embed maintain`, or leave it to `lore serve`",
                e.drift, e.segments
            )?;
        }
    }
    if let Some(err) = &report.embed_error {
        writeln!(out, "  vectors not updated, search stays lexical: {err}")?;
    }
    drop(out);
    if let Some(dense) = dense {
        print_dense_report(dense)?;
    }
    let mut out = std::io::stdout().lock();
    if !report.skipped.is_empty() {
        writeln!(out, "  see `lore status --errors` for skipped files")?;
    }
    Ok(())
}
