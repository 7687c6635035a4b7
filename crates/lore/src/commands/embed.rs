//! `lore embed use|run|status`: transformer embeddings.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Result;
use lore_index::Home;

use crate::cli::*;
use crate::render::*;
use crate::success;

use super::{open, repo_root};

use super::index::{print_dense_report, run_dense};

/// `lore embed use`.
pub(crate) fn embed_use(home: &Home, args: EmbedUseArgs, g: &GlobalArgs) -> Result<ExitCode> {
    let root = repo_root(home, g)?;
    let spec = lore_embed::EmbedderSpec::parse(&args.spec)?;
    refuse_off_machine(home, &spec)?;
    lore_index::set_embedder(home, &root, &spec)?;
    if !g.quiet {
        eprintln!(
            "embedder set to {spec}; {}",
            if spec.is_learned() {
                "search uses the learned model only"
            } else {
                "run `lore embed run` (or `lore index`) to compute its vectors"
            }
        );
    }
    Ok(success())
}

/// With `privacy.no_remote`, an embedder off this machine is refused before
/// anything is sent to it (setting one probes it).
pub(crate) fn refuse_off_machine(home: &Home, spec: &lore_embed::EmbedderSpec) -> Result<()> {
    let lore_embed::EmbedderSpec::Remote { base_url, .. } = spec else {
        return Ok(());
    };
    let config = lore_ask::config::Config::load(&lore_ask::config::Config::path(home.path()))?;
    if config.privacy.no_remote
        && !lore_core::Endpoint::parse(base_url).is_ok_and(|e| e.is_loopback())
    {
        anyhow::bail!(
            "the embedder {spec} is not on this machine and remote providers are refused \
             (privacy.no_remote); choose a local one"
        );
    }
    Ok(())
}

/// `lore embed run`.
pub(crate) fn embed_run(home: &Home, args: EmbedRunArgs, g: &GlobalArgs) -> Result<ExitCode> {
    let root = repo_root(home, g)?;
    let options = lore_index::DenseOptions {
        batch: args.batch,
        limit: args.limit,
        ..Default::default()
    };
    let report = run_dense(home, &root, &options, g)?;
    if args.json.json {
        return print_json(&report);
    }
    if !g.quiet {
        print_dense_report(&report)?;
    }
    Ok(success())
}

/// `lore embed maintain`.
pub(crate) fn embed_maintain(
    home: &Home,
    args: EmbedMaintainArgs,
    g: &GlobalArgs,
) -> Result<ExitCode> {
    let root = repo_root(home, g)?;
    let config = lore_index::EmbedConfig::default();
    let report = lore_index::maintain_vectors(home, &root, &config, args.retrain)?;
    if args.json.json {
        return print_json(&report);
    }
    if !g.quiet {
        match report {
            Some(r) => println!(
                "vectors maintained: {} segment(s){}, {} embedded, drift {:.3} ({} ms)",
                r.segments,
                if r.trained { ", model retrained" } else { "" },
                r.embedded,
                r.drift,
                r.ms
            ),
            None => println!("nothing to do: the learned vectors are current"),
        }
    }
    Ok(success())
}

/// `lore embed status`.
pub(crate) fn embed_status(home: &Home, args: JsonArg, g: &GlobalArgs) -> Result<ExitCode> {
    let index = open(home, g)?;
    let status = index.embed_status()?;
    if args.json {
        return print_json(&status);
    }
    let mut out = std::io::stdout().lock();
    writeln!(out, "embedder   {}", status.embedder)?;
    writeln!(out, "state      {}", status.state)?;
    if let Some(model) = &status.model {
        writeln!(out, "model      {model}")?;
    }
    if let (Some(dims), Some(vocabulary)) = (status.dims, status.vocabulary) {
        writeln!(out, "dims       {dims}  vocabulary {vocabulary} words")?;
    }
    writeln!(
        out,
        "chunks     {} embedded, {} pending",
        status.embedded, status.pending
    )?;
    for (label, file) in [
        ("vectors", &status.vectors_file),
        ("model", &status.model_file),
    ] {
        if let Some(f) = file {
            writeln!(out, "{label:<10} {} ({})", f.name, human_bytes(f.bytes))?;
        }
    }
    if let Some(d) = &status.dense {
        writeln!(out, "transformer {}", d.spec)?;
        writeln!(
            out,
            "  state    {}{}",
            d.state,
            if d.running { " (embedding now)" } else { "" }
        )?;
        if let Some(model) = &d.model {
            writeln!(out, "  model    {model}")?;
        }
        writeln!(
            out,
            "  chunks   {} embedded, {} pending",
            d.embedded, d.pending
        )?;
        if let Some(f) = &d.file {
            writeln!(out, "  vectors  {} ({})", f.name, human_bytes(f.bytes))?;
        }
    }
    Ok(success())
}
