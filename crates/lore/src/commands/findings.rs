//! `lore findings`: SmellHunt's findings and imported SARIF, as text, JSON
//! or SARIF; `lore findings import FILE`.

use std::io::Write;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use lore_core::jobs::{JobState, NewJob};
use lore_index::Home;
use lore_index::findings::{self, Severity, SmellConfig};
use lore_index::worker::{self, kinds};
use lore_store::SqliteJobs;
use serde_json::json;

use crate::cli::*;
use crate::render::*;
use crate::success;

use super::{open, repo_path};

/// `lore findings [--rule R] [--severity S] [--json | --sarif] [PATH...]`.
pub(crate) fn findings(home: &Home, args: FindingsArgs, g: &GlobalArgs) -> Result<ExitCode> {
    if let Some(FindingsCommand::Import { file, json }) = &args.command {
        return import(home, file, json.json, g);
    }
    let index = open(home, g)?;
    let repo = home.repo_id(index.root());
    let config = SmellConfig::load(&home.config_file(), index.root())?;
    let path = home.thinker_db();
    let queue =
        SqliteJobs::open(&path).with_context(|| format!("{}: cannot open", path.display()))?;
    let prefixes: Vec<String> = args
        .paths
        .iter()
        .map(|p| repo_path(&index, p))
        .collect::<Result<_>>()?;
    let min = args.severity.as_deref().and_then(Severity::from_name);
    let all = findings::collect(&index, &queue, &repo, &config)?;
    // A rule is Lore's or an imported tool's: one that is neither (a typo)
    // is an error, not an empty list.
    for rule in &args.rule {
        if findings::rule_info(rule).is_none() && !all.iter().any(|f| &f.rule == rule) {
            bail!(
                "--rule {rule}: no such rule (Lore's rules: {}; imported ones are named by their tool)",
                findings::CATALOG
                    .iter()
                    .map(|r| r.id)
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
    }
    let selected: Vec<&findings::Finding> = all
        .iter()
        .filter(|f| args.rule.is_empty() || args.rule.contains(&f.rule))
        .filter(|f| min.is_none_or(|m| f.severity >= m))
        .filter(|f| {
            prefixes.is_empty()
                || prefixes.iter().any(|p| {
                    p.is_empty()
                        || f.path == *p
                        || f.path.starts_with(&format!("{}/", p.trim_end_matches('/')))
                })
        })
        .collect();
    if args.sarif {
        let owned: Vec<findings::Finding> = selected.into_iter().cloned().collect();
        return print_json(&findings::to_sarif(&owned, env!("CARGO_PKG_VERSION")));
    }
    if args.json.json {
        return print_json(&selected);
    }
    let mut out = std::io::stdout().lock();
    let mut last = "";
    let mut counts = [0u64; 3];
    for f in &selected {
        counts[f.severity as usize] += 1;
        if f.path != last {
            writeln!(out, "{}", f.path)?;
            last = &f.path;
        }
        let lines = if f.end_line > f.start_line {
            format!("{}-{}", f.start_line, f.end_line)
        } else {
            f.start_line.to_string()
        };
        writeln!(
            out,
            "  {lines:>9}  {:<6}  {}  {}",
            f.severity.name(),
            f.rule,
            f.message
        )?;
    }
    if !g.quiet {
        writeln!(
            out,
            "{} findings: {} high, {} medium, {} low",
            selected.len(),
            counts[2],
            counts[1],
            counts[0]
        )?;
    }
    Ok(success())
}

fn import(home: &Home, file: &std::path::Path, as_json: bool, g: &GlobalArgs) -> Result<ExitCode> {
    let index = open(home, g)?;
    let bytes = std::fs::read(file).with_context(|| format!("{}: cannot read", file.display()))?;
    // Checked here first, so a bad file is a clear error and no run.
    let text = std::str::from_utf8(&bytes)
        .ok()
        .with_context(|| format!("{}: not UTF-8 text", file.display()))?;
    findings::from_sarif(text, file, index.root())?;
    let abs = std::fs::canonicalize(file)?;
    let input = json!({
        "file": abs.display().to_string(),
        "sha256": worker::sha256_hex(&bytes),
    });
    let repo = home.repo_id(index.root());
    drop(index);
    let (job, output) = run_explicit(
        home,
        NewJob::new(kinds::IMPORT_FINDINGS, &repo, &input.to_string()),
    )?;
    if as_json {
        return print_json(&json!({ "run_id": job.id, "output": output }));
    }
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "imported {} findings from {} (run {})",
        output["imported"],
        file.display(),
        job.id
    )?;
    if output["outside_index"].as_u64().unwrap_or(0) > 0 {
        writeln!(
            out,
            "{} findings left out: their files are not indexed",
            output["outside_index"]
        )?;
    }
    Ok(success())
}

/// `lore risks [--level file|function] [--top N] [--json] [--explain]`.
pub(crate) fn risks(home: &Home, args: RisksArgs, g: &GlobalArgs) -> Result<ExitCode> {
    let index = open(home, g)?;
    let config = SmellConfig::load(&home.config_file(), index.root())?;
    let options = lore_index::risk::RiskOptions {
        window_days: args.window,
        prior_only: args.prior,
        ..Default::default()
    };
    let functions = args.level == "function";
    let map = lore_index::risk::risk_map(home, &index, &config, &options, functions, args.explain)?;
    let mut risks = map.risks;
    if let Some(n) = args.top {
        risks.truncate(n);
    }
    if args.json.json {
        return print_json(&risks);
    }
    let mut out = std::io::stdout().lock();
    for r in &risks {
        let place = match (&r.symbol, r.start_line, r.end_line) {
            (Some(s), Some(a), Some(b)) => format!("{}:{a}-{b} {s}", r.path),
            _ => r.path.clone(),
        };
        writeln!(out, "{:>5}  {:.3}  {place}", r.rank, r.score)?;
        if let Some(c) = &r.contributions {
            let mut parts: Vec<(&String, &f64)> = c.iter().collect();
            parts.sort_by(|a, b| b.1.abs().total_cmp(&a.1.abs()));
            let why: Vec<String> = parts
                .iter()
                .take(4)
                .map(|(k, v)| format!("{k} {} ({:+.2})", r.features[*k], v))
                .collect();
            writeln!(out, "         {}", why.join(", "))?;
        }
    }
    if !g.quiet {
        let how = match map.model.training.as_ref() {
            Some(t) if map.model.kind == "fitted" => format!(
                "fitted on this repository's history (cut {}, {} files, {} touched by fixes)",
                t["cut_time"].as_str().unwrap_or(""),
                t["files"],
                t["positives"]
            ),
            Some(t) => format!(
                "prior weights ({})",
                t["fallback"].as_str().map(str::to_owned).unwrap_or_else(|| {
                    match t["validation"]["prior_score"].as_f64() {
                        Some(p) => format!(
                            "checked on this repository's history: no alternative beat them by the margin \
                             (AUC + recall {p:.2} at the cut {})",
                            t["cut_time"].as_str().unwrap_or("")
                        ),
                        None => t["validation"]["note"]
                            .as_str()
                            .unwrap_or("asked for")
                            .to_owned(),
                    }
                })
            ),
            None => "prior weights".to_owned(),
        };
        writeln!(out, "model: {how}")?;
    }
    Ok(success())
}

/// `lore eval --risk [--cut AGE]... [--window SPAN]`.
pub(crate) fn eval_risk(
    home: &Home,
    index: &lore_index::RepoIndex,
    args: &EvalArgs,
) -> Result<ExitCode> {
    let config = SmellConfig::load(&home.config_file(), index.root())?;
    let cuts = if args.cut.is_empty() {
        vec![args.window]
    } else {
        args.cut.clone()
    };
    let reports =
        lore_index::risk::eval_risk(home, index, &config, &cuts, args.window, args.per_file)?;
    if args.json.json {
        return print_json(&reports);
    }
    let mut out = std::io::stdout().lock();
    for r in &reports {
        writeln!(
            out,
            "cut {} ({}), window {} days: {} files, {} touched by fixes; model {}",
            &r["cut"].as_str().unwrap_or("")[..12.min(r["cut"].as_str().unwrap_or("").len())],
            r["cut_time"].as_str().unwrap_or(""),
            r["window_days"],
            r["files"],
            r["fix_touched"],
            r["model"].as_str().unwrap_or("")
        )?;
        for name in ["risk", "prior", "loc", "churn"] {
            writeln!(
                out,
                "  {name:<6} ROC AUC {}  recall in riskiest 20% of lines {}",
                r[name]["auc"], r[name]["recall_at_20pct_lines"]
            )?;
        }
    }
    Ok(success())
}

/// `lore verify [--json]`: an explicit Verify run, here and now.
pub(crate) fn verify(home: &Home, args: JsonArg, g: &GlobalArgs) -> Result<ExitCode> {
    let index = open(home, g)?;
    let repo = home.repo_id(index.root());
    drop(index);
    let (job, output) = run_explicit(home, NewJob::new(kinds::VERIFY, &repo, "{}"))?;
    if args.json {
        return print_json(&json!({ "run_id": job.id, "output": output }));
    }
    let mut out = std::io::stdout().lock();
    let status = output["status"].as_str().unwrap_or("");
    match status {
        "passed" | "failed" | "timed-out" | "killed" => {
            let t = &output["tests"];
            writeln!(
                out,
                "{status}: {} passed, {} failed, {} skipped ({}, {} s; run {})",
                t["passed"],
                t["failed"],
                t["skipped"],
                output["tool"].as_str().unwrap_or(""),
                output["seconds"],
                job.id
            )?;
            for f in output["failures"].as_array().into_iter().flatten() {
                let place = match (f["file"].as_str(), f["line"].as_u64()) {
                    (Some(file), Some(line)) => format!("  {file}:{line}"),
                    _ => String::new(),
                };
                writeln!(out, "  FAILED {}{place}", f["name"].as_str().unwrap_or(""))?;
            }
            if let Some(c) = output["coverage"].as_object() {
                writeln!(
                    out,
                    "coverage: {:.1}% of {} lines in {} files",
                    c["ratio"].as_f64().unwrap_or(0.0) * 100.0,
                    c["lines"],
                    c["files"]
                )?;
            }
        }
        _ => writeln!(
            out,
            "{status}: {}",
            output["message"].as_str().unwrap_or("")
        )?,
    }
    Ok(success())
}

/// `lore lint [--json]`: an explicit run of the linters, here and now.
pub(crate) fn lint(home: &Home, args: JsonArg, g: &GlobalArgs) -> Result<ExitCode> {
    let index = open(home, g)?;
    let repo = home.repo_id(index.root());
    drop(index);
    let (job, output) = run_explicit(home, NewJob::new(kinds::LINT, &repo, "{}"))?;
    if args.json {
        return print_json(&json!({ "run_id": job.id, "output": output }));
    }
    let mut out = std::io::stdout().lock();
    for l in output["linters"].as_array().into_iter().flatten() {
        match l["status"].as_str() {
            Some("ok") => writeln!(
                out,
                "{}: {} findings",
                l["tool"].as_str().unwrap_or(""),
                l["findings"]
            )?,
            _ => writeln!(
                out,
                "{}: failed: {}",
                l["tool"].as_str().unwrap_or(""),
                l["message"].as_str().unwrap_or("")
            )?,
        }
    }
    for m in output["missing"].as_array().into_iter().flatten() {
        writeln!(out, "{} (skipped)", m.as_str().unwrap_or(""))?;
    }
    match output["status"].as_str() {
        Some("ok") | Some("partial") => writeln!(
            out,
            "{} findings (run {}); `lore findings` lists them",
            output["findings"], job.id
        )?,
        _ => writeln!(
            out,
            "{}",
            output["message"]
                .as_str()
                .unwrap_or("no linter applies and is installed")
        )?,
    }
    Ok(success())
}

/// Runs `job` here and now as the user's request; its output, or an error
/// saying how it ended.
pub(crate) fn run_explicit(
    home: &Home,
    job: NewJob,
) -> Result<(lore_core::jobs::Job, serde_json::Value)> {
    let job = worker::run_now(home, job)?;
    if job.state != JobState::Succeeded {
        bail!(
            "run {} {}: {}",
            job.id,
            job.state.name(),
            job.reason.unwrap_or_default()
        );
    }
    let output = job
        .output
        .as_deref()
        .and_then(|o| serde_json::from_str(o).ok())
        .unwrap_or_default();
    Ok((job, output))
}
