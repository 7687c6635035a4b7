//! `lore eval`: retrieval and answer quality on a query set.

use std::io::Write;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use lore_index::{Home, request};

use crate::cli::*;
use crate::render::*;
use crate::success;

use super::open;

/// `lore eval`.
pub(crate) fn eval(home: &Home, args: EvalArgs, g: &GlobalArgs) -> Result<ExitCode> {
    let modes = args
        .mode
        .split(',')
        .map(|m| Ok(request::mode(m)?))
        .collect::<Result<Vec<_>>>()?;
    let index = open(home, g)?;
    if args.risk {
        return super::findings::eval_risk(home, &index, &args);
    }
    if args.ask {
        let file = args.file.as_deref().expect("clap requires a file");
        return crate::ask::eval(home, index, file, args.no_llm, args.json.json);
    }
    let reports = if args.from_docs {
        let root = index.root().to_owned();
        drop(index);
        lore_index::evaluate_from_docs(
            home,
            &root,
            args.n.unwrap_or(300),
            &modes,
            args.features.as_deref(),
        )?
    } else {
        let queries = if args.from_history {
            let queries = lore_index::queries_from_history(&index, args.n.unwrap_or(200))?;
            if queries.is_empty() {
                bail!(
                    "{}: no commit has changes still present at HEAD to build queries from",
                    index.root().display()
                );
            }
            queries
        } else {
            let file = args.file.as_deref().expect("clap requires a source");
            lore_index::load_queries(file)?
        };
        if let Some(path) = &args.features {
            lore_index::write_features(&index, &queries, path)?;
        }
        modes
            .iter()
            .map(|&mode| lore_index::evaluate(&index, &queries, mode))
            .collect::<lore_index::Result<Vec<_>>>()?
    };
    if let (Some(save), Some(first)) = (&args.save, reports.first()) {
        save_queries(save, first)?;
    }
    if args.json.json {
        return match reports.as_slice() {
            [one] => print_json(one),
            many => print_json(&many),
        };
    }
    for report in &reports {
        print_eval(report)?;
    }
    Ok(success())
}

fn save_queries(path: &std::path::Path, report: &lore_index::EvalReport) -> Result<()> {
    let mut out = String::new();
    for r in &report.results {
        let q = lore_index::EvalQuery {
            query: r.query.clone(),
            expected: r.expected.clone(),
        };
        out.push_str(&serde_json::to_string(&q)?);
        out.push('\n');
    }
    std::fs::write(path, out).with_context(|| format!("cannot write {}", path.display()))
}

fn print_eval(report: &lore_index::EvalReport) -> Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "mode {}  policy v{}  queries {}",
        report.mode, report.policy_version, report.queries
    )?;
    writeln!(out, "level   R@1    R@5    R@10   MRR@10")?;
    for (name, m) in [("file", &report.file), ("span", &report.span)] {
        writeln!(
            out,
            "{name:<6}  {:.3}  {:.3}  {:.3}  {:.3}",
            m.recall_at_1, m.recall_at_5, m.recall_at_10, m.mrr_at_10
        )?;
    }
    writeln!(
        out,
        "latency p50 {:.1} ms  p95 {:.1} ms",
        report.latency.p50_ms, report.latency.p95_ms
    )?;
    Ok(())
}
