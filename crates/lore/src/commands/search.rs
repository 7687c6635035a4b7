//! `lore search`, `symbols`, `refs`, `outline`, `map`: reading the index.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Result;
use lore_index::{Home, SearchOptions, request};

use crate::cli::*;
use crate::render::*;
use crate::success;
use lore_index::SymbolHit;

use super::open;

/// `lore search`.
pub(crate) fn search(home: &Home, args: SearchArgs, g: &GlobalArgs) -> Result<ExitCode> {
    let index = open(home, g)?;
    let options = SearchOptions {
        limit: request::limit(args.limit)?,
        langs: request::languages(&args.langs)?,
        path_glob: args.path_glob,
        mode: request::mode(&args.mode)?,
        explain: args.explain,
        max_per_file: None,
        all_features: false,
    };
    let hits = index.search(&args.query.join(" "), &options)?;
    if args.json.json {
        return print_json(&hits);
    }
    let mut out = std::io::stdout().lock();
    if hits.is_empty() {
        eprintln!("no results");
    }
    for hit in hits {
        let symbol = match (&hit.at.symbol, &hit.at.kind) {
            (Some(s), Some(k)) => format!("  {s} [{k}]"),
            _ => String::new(),
        };
        writeln!(
            out,
            "{}:{}-{}{symbol}  ({:.2})",
            hit.at.path, hit.at.start_line, hit.at.end_line, hit.score
        )?;
        for line in hit.snippet.lines() {
            writeln!(out, "    {line}")?;
        }
        if let Some(parts) = &hit.explain {
            let shown: Vec<String> = parts
                .iter()
                .filter(|p| p.value != 0.0)
                .map(|p| {
                    format!(
                        "{} {:.3}×{} = {:.3}",
                        p.feature.name(),
                        p.value,
                        p.weight,
                        p.contribution
                    )
                })
                .collect();
            writeln!(out, "    why: {}", shown.join(" + "))?;
        }
    }
    Ok(success())
}

/// `lore symbols`.
pub(crate) fn symbols(home: &Home, args: SymbolsArgs, g: &GlobalArgs) -> Result<ExitCode> {
    let index = open(home, g)?;
    let kind = request::kind(args.kind.as_deref())?;
    let hits = index.symbols(&args.name, kind, args.limit)?;
    if args.json.json {
        return print_json(&hits);
    }
    if hits.is_empty() {
        eprintln!("no symbol matches {:?}", args.name);
    }
    let mut out = std::io::stdout().lock();
    for hit in hits {
        writeln!(
            out,
            "{}:{}-{}  {} {}",
            hit.path, hit.start_line, hit.end_line, hit.kind, hit.qualname
        )?;
        writeln!(out, "    {}", hit.signature)?;
    }
    Ok(success())
}

/// `lore refs`.
pub(crate) fn refs(home: &Home, args: RefsArgs, g: &GlobalArgs) -> Result<ExitCode> {
    let index = open(home, g)?;
    let hits = index.refs(&args.name)?;
    if args.json.json {
        return print_json(&hits);
    }
    if hits.is_empty() {
        eprintln!("no references to {:?}", args.name);
    }
    let mut out = std::io::stdout().lock();
    for hit in hits {
        let within = hit
            .symbol
            .as_deref()
            .map(|s| format!(" in {s}"))
            .unwrap_or_default();
        writeln!(
            out,
            "{}:{}  [{}]{within}  {}",
            hit.path, hit.line, hit.kind, hit.text
        )?;
    }
    Ok(success())
}

/// `lore outline`.
pub(crate) fn outline(home: &Home, args: OutlineArgs, g: &GlobalArgs) -> Result<ExitCode> {
    let index = open(home, g)?;
    let tree = index.outline(&args.file)?;
    if args.json.json {
        return print_json(&tree);
    }
    if tree.is_empty() {
        let lang = lore_core::Language::from_path(std::path::Path::new(&args.file));
        if lang.is_parsed() {
            eprintln!("{}: no definitions in this file", args.file);
        } else {
            eprintln!(
                "{}: no symbols ({} is indexed as text; `lore search` finds its contents)",
                args.file,
                lang.name()
            );
        }
    }
    let mut out = std::io::stdout().lock();
    print_tree(&mut out, &tree, 0)?;
    Ok(success())
}

/// `lore map`.
pub(crate) fn map(home: &Home, args: MapArgs, g: &GlobalArgs) -> Result<ExitCode> {
    let index = open(home, g)?;
    let map = index.map(&lore_index::MapOptions {
        tokens: args.tokens,
        focus: args.focus,
    })?;
    if args.json.json {
        return print_json(&map);
    }
    let mut out = std::io::stdout().lock();
    out.write_all(map.text.as_bytes())?;
    if !g.quiet {
        eprintln!(
            "{} files, {} tokens of {}",
            map.files.len(),
            map.tokens,
            map.budget
        );
    }
    Ok(success())
}

fn print_tree(out: &mut impl Write, nodes: &[SymbolHit], depth: usize) -> Result<()> {
    for node in nodes {
        let indent = "  ".repeat(depth);
        writeln!(
            out,
            "{indent}{} {}  {}-{}",
            node.kind, node.name, node.start_line, node.end_line
        )?;
        print_tree(out, &node.children, depth + 1)?;
    }
    Ok(())
}
