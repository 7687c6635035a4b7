//! Change intelligence: `lore impact`.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Result;
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
    writeln!(out, "\nfiles likely to change too:")?;
    if result.files.is_empty() {
        writeln!(out, "  (none found)")?;
    }
    for f in &result.files {
        writeln!(out, "  {:>6.3}  {}", f.score, f.path)?;
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
        }
    }
    for u in &result.uncertain {
        writeln!(out, "\nnote: {u}")?;
    }
    Ok(ExitCode::SUCCESS)
}
