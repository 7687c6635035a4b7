//! Change intelligence: `lore impact`, `lore diagnose`, `lore review`.

use std::io::Write;
use std::process::ExitCode;

use anyhow::{Context, Result};
use lore_index::Home;
use lore_index::impact::{ImpactOptions, impact as run_impact};

use crate::cli::*;
use crate::render::*;

use super::open;

pub(crate) fn impact(home: &Home, args: ImpactArgs, g: &GlobalArgs) -> Result<ExitCode> {
    let index = open(home, g)?;
    let opts = ImpactOptions {
        depth: args.depth.max(1),
        limit: args.limit.max(1),
    };
    let result = run_impact(&index, &args.target, &opts)?;
    if args.json.json {
        return print_json(&result);
    }
    let mut out = std::io::stdout().lock();
    let t = &result.target;
    match t.kind {
        "symbol" => {
            let defs: Vec<String> = t
                .definitions
                .iter()
                .map(|d| format!("{} {}:{}-{}", d.symbol, d.path, d.start_line, d.end_line))
                .collect();
            if defs.len() > 1 {
                writeln!(
                    out,
                    "`{}` names {} definitions, all taken:",
                    t.query,
                    defs.len()
                )?;
            }
            for d in defs {
                writeln!(out, "target  {d}")?;
            }
        }
        _ => writeln!(
            out,
            "target  {} ({}: {} file{}, {} symbol{})",
            t.query,
            t.kind,
            t.files.len(),
            if t.files.len() == 1 { "" } else { "s" },
            t.definitions.len(),
            if t.definitions.len() == 1 { "" } else { "s" }
        )?,
    }
    for r in &t.risk {
        writeln!(
            out,
            "risk    {} {:.2} (rank {} of {} files)",
            r.path, r.score, r.rank, r.of
        )?;
    }
    writeln!(out, "\nfiles likely to change too:")?;
    if result.files.is_empty() {
        writeln!(out, "  (none found)")?;
    }
    for f in &result.files {
        match f.risk {
            Some(risk) => writeln!(out, "  {:>6.3}  {}  (risk {risk:.2})", f.score, f.path)?,
            None => writeln!(out, "  {:>6.3}  {}", f.score, f.path)?,
        }
        for r in f.reasons.iter().take(2) {
            writeln!(out, "          {r}")?;
        }
    }
    if !result.symbols.is_empty() {
        writeln!(out, "\nsymbols that use it:")?;
        for s in result.symbols.iter().take(40) {
            writeln!(
                out,
                "  {} {:<9} {}:{}-{} {} ({} {})",
                s.distance,
                s.edge,
                s.path,
                s.start_line,
                s.end_line,
                s.symbol.as_deref().unwrap_or("<module>"),
                s.relation,
                s.uses
            )?;
        }
        if result.symbols.len() > 40 {
            writeln!(
                out,
                "  … {} more (--json has all)",
                result.symbols.len() - 40
            )?;
        }
    }
    if !result.tests.is_empty() {
        writeln!(out, "\ntests:")?;
        for f in &result.tests {
            writeln!(
                out,
                "  {}  {}",
                f.path,
                f.reasons.first().map_or("", String::as_str)
            )?;
            for run in &f.runs {
                writeln!(out, "      {run}")?;
            }
        }
    }
    for u in &result.uncertain {
        writeln!(out, "\nnote: {u}")?;
    }
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn diagnose(home: &Home, args: DiagnoseArgs, g: &GlobalArgs) -> Result<ExitCode> {
    let index = open(home, g)?;
    let symptom = if args.symptom == "-" {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut text)
            .context("read the symptom from standard input")?;
        text
    } else {
        args.symptom.clone()
    };
    let opts = lore_index::diagnose::DiagnoseOptions {
        limit: args.limit.max(1),
    };
    let places = lore_index::diagnose::diagnose(&index, &symptom, &opts)?;
    let wanted = args.hypothesis || (!args.json.json && !args.no_llm);
    let hypothesis = if wanted && !places.is_empty() {
        hypothesis(home, &index, &symptom, &places, args.hypothesis)?
    } else {
        None
    };
    if args.json.json {
        if args.hypothesis {
            let hypothesis = match &hypothesis {
                Some(Ok(w)) => serde_json::to_value(w)?,
                Some(Err(why)) => serde_json::json!({ "not_written": why }),
                None => serde_json::Value::Null,
            };
            return print_json(&serde_json::json!({ "places": places, "hypothesis": hypothesis }));
        }
        return print_json(&places);
    }
    let mut out = std::io::stdout().lock();
    if places.is_empty() {
        writeln!(out, "nothing in the index matches the symptom")?;
    }
    for (i, p) in places.iter().enumerate() {
        writeln!(
            out,
            "{:>2}. {}:{}-{} {}  ({:.3})",
            i + 1,
            p.path,
            p.start_line,
            p.end_line,
            p.symbol.as_deref().unwrap_or(""),
            p.score
        )?;
        for e in p.evidence.iter().take(4) {
            match &e.at {
                Some(at) => writeln!(out, "      {}: {} [{at}]", e.kind, e.detail)?,
                None => writeln!(out, "      {}: {}", e.kind, e.detail)?,
            }
        }
    }
    match hypothesis {
        Some(Ok(w)) => {
            writeln!(
                out,
                "\nhypothesis ({}, citations checked):\n{}",
                w.model,
                w.text.trim()
            )?;
            for c in &w.citations {
                writeln!(
                    out,
                    "  [{}] {}:{}-{}",
                    c.n, c.at.path, c.at.start_line, c.at.end_line
                )?;
            }
            if !w.rejected.is_empty() {
                writeln!(
                    out,
                    "  ({} citation(s) removed: not in the evidence shown)",
                    w.rejected.len()
                )?;
            }
        }
        Some(Err(why)) => writeln!(out, "\nno hypothesis: {why}")?,
        None => {}
    }
    Ok(ExitCode::SUCCESS)
}

/// The configured provider's hypothesis over the first places (`None`
/// when no provider is configured, an error then if `required`).
fn hypothesis(
    home: &Home,
    index: &lore_index::RepoIndex,
    symptom: &str,
    places: &[lore_index::diagnose::Place],
    required: bool,
) -> Result<Option<std::result::Result<lore_ask::written::Written, String>>> {
    let config = lore_ask::asker::load_config(home.path())?;
    let Some(provider) = config.provider(&lore_ask::asker::env)? else {
        anyhow::ensure!(
            !required,
            "--hypothesis needs a provider: `lore config set provider.kind ...` (see `lore providers check`)"
        );
        return Ok(None);
    };
    let provider = lore_ask::provider::open(provider);
    let done = lore_ask::written::hypothesis(index, provider.as_ref(), &config, symptom, places)?;
    Ok(Some(done.map_err(|e| e.to_string())))
}

pub(crate) fn review(home: &Home, args: ReviewArgs, g: &GlobalArgs) -> Result<ExitCode> {
    use lore_index::findings::{self, Severity};
    use lore_index::review::{Change, github_annotations, review as run_review};
    let index = open(home, g)?;
    let change = if args.staged {
        Change::Staged
    } else {
        Change::parse(args.range.as_deref().unwrap_or("HEAD"))?
    };
    let config = findings::SmellConfig::load(&home.config_file(), index.root())?;
    let queue = lore_store::SqliteJobs::open(&home.thinker_db())
        .with_context(|| format!("{}: cannot open", home.thinker_db().display()))?;
    let dismissed = findings::dismissed(&queue, &home.repo_id(index.root()))?;
    let mut result = run_review(&index, &change, &config, &dismissed)?;
    if !args.no_llm
        && let Some(why) = lore_ask::written::review_comments(
            home.path(),
            &index,
            &change,
            &config,
            &dismissed,
            &mut result,
        )?
    {
        eprintln!("lore: no model comments: {why}");
    }
    let fail_on = args.fail_on.as_deref().and_then(Severity::from_name);
    let code = match (fail_on, result.worst()) {
        (Some(min), Some(worst)) if worst >= min => ExitCode::FAILURE,
        _ => ExitCode::SUCCESS,
    };
    match args.format.as_str() {
        "json" => {
            print_json(&result)?;
        }
        "sarif" => {
            print_json(&findings::to_sarif(
                &result.findings,
                env!("CARGO_PKG_VERSION"),
            ))?;
        }
        "github" => {
            print!("{}", github_annotations(&result.findings));
        }
        _ => {
            let mut out = std::io::stdout().lock();
            for f in &result.findings {
                writeln!(
                    out,
                    "{}:{}  {:<6} {}  {}",
                    f.path,
                    f.start_line,
                    f.severity.name(),
                    f.rule,
                    f.message
                )?;
            }
            if !g.quiet {
                writeln!(
                    out,
                    "{} finding{} on {} added line{} in {} file{} ({}..{}){}",
                    result.findings.len(),
                    if result.findings.len() == 1 { "" } else { "s" },
                    result.added_lines,
                    if result.added_lines == 1 { "" } else { "s" },
                    result.files,
                    if result.files == 1 { "" } else { "s" },
                    result.from,
                    result.to,
                    if result.suppressed > 0 {
                        format!("; {} like dismissed ones left out", result.suppressed)
                    } else {
                        String::new()
                    }
                )?;
            }
        }
    }
    Ok(code)
}
