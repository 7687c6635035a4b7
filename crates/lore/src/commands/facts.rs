//! `lore card`, `lore dossier`, `lore insights`: what the thinker's
//! thoughts wrote, read back.

use std::io::Write;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use lore_core::jobs::JobStore;
use lore_index::Home;
use lore_store::SqliteJobs;
use serde_json::Value;

use crate::cli::*;
use crate::render::*;
use crate::success;

use super::open;

fn queue(home: &Home) -> Result<SqliteJobs> {
    let path = home.thinker_db();
    SqliteJobs::open(&path).with_context(|| format!("{}: cannot open", path.display()))
}

/// `lore card SYMBOL`.
pub(crate) fn card(home: &Home, args: CardArgs, g: &GlobalArgs) -> Result<ExitCode> {
    let index = open(home, g)?;
    let repo = home.repo_id(index.root());
    let cards = lore_index::thoughts::read::cards(&index, &queue(home)?, &repo, &args.symbol)?;
    if args.json.json {
        return print_json(&cards);
    }
    let mut out = std::io::stdout().lock();
    for (i, c) in cards.iter().enumerate() {
        if i > 0 {
            writeln!(out)?;
        }
        let text = |k: &str| c[k].as_str().unwrap_or_default().to_owned();
        writeln!(
            out,
            "{} ({}) {}:{}-{}{}",
            text("symbol"),
            text("kind"),
            text("path"),
            c["start_line"],
            c["end_line"],
            if c["stale"] == true {
                "  [stale: the code moved]"
            } else {
                ""
            }
        )?;
        writeln!(out, "  {}", text("signature"))?;
        if let Some(doc) = c["doc"].as_str() {
            writeln!(out, "  {}", doc.lines().next().unwrap_or_default())?;
        }
        writeln!(
            out,
            "  complexity {} · {} lines · {} call sites by name",
            c["complexity"], c["lines"], c["callers_total"]
        )?;
        let places = |k: &str| -> Vec<String> {
            c[k].as_array()
                .into_iter()
                .flatten()
                .map(|r| format!("{}:{}", r["path"].as_str().unwrap_or_default(), r["line"]))
                .collect()
        };
        for (label, key) in [("callers", "callers"), ("tests", "tests")] {
            let p = places(key);
            if !p.is_empty() {
                writeln!(out, "  {label}: {}", p.join(", "))?;
            }
        }
        let callees: Vec<&str> = c["callees"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|r| r["name"].as_str())
            .collect();
        if !callees.is_empty() {
            writeln!(out, "  calls: {}", callees.join(", "))?;
        }
        if !c["churn"].is_null() {
            writeln!(
                out,
                "  churn: {} commits, last {}, {} authors",
                c["churn"]["commits"],
                c["churn"]["last_change"].as_str().unwrap_or_default(),
                c["churn"]["authors"]
            )?;
        }
        let owners: Vec<String> = c["owners"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|o| {
                format!(
                    "{} ({})",
                    o["author"].as_str().unwrap_or_default(),
                    o["commits"]
                )
            })
            .collect();
        if !owners.is_empty() {
            writeln!(out, "  owners: {}", owners.join(", "))?;
        }
    }
    Ok(success())
}

/// `lore dossier PATH`.
pub(crate) fn dossier(home: &Home, args: DossierArgs, g: &GlobalArgs) -> Result<ExitCode> {
    let index = open(home, g)?;
    let repo = home.repo_id(index.root());
    let rel = super::repo_path(&index, &args.path)?;
    let d = lore_index::thoughts::read::dossier(&index, &queue(home)?, &repo, &rel)?;
    if args.json.json {
        return print_json(&d);
    }
    let mut out = std::io::stdout().lock();
    let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
    writeln!(
        out,
        "{} ({}){}",
        text(&d["path"]),
        text(&d["kind"]),
        if d["stale"] == true {
            "  [stale: the code moved]"
        } else {
            ""
        }
    )?;
    if let Some(p) = d["purpose"].as_str() {
        writeln!(out, "  {p}")?;
    }
    let list = |key: &str, field: &str| -> Vec<String> {
        d[key]
            .as_array()
            .into_iter()
            .flatten()
            .map(|v| {
                v[field]
                    .as_str()
                    .map_or_else(|| v.to_string(), str::to_owned)
            })
            .collect()
    };
    for (label, key, field) in [
        ("public API", "public_api", "symbol"),
        ("key files", "key_files", "path"),
        (
            "depends on",
            "dependencies",
            if d["kind"] == "file" {
                "path"
            } else {
                "module"
            },
        ),
        (
            "used by",
            "dependents",
            if d["kind"] == "file" {
                "path"
            } else {
                "module"
            },
        ),
        ("hot spots", "hot_spots", "symbol"),
    ] {
        let items = list(key, field);
        if !items.is_empty() {
            writeln!(out, "  {label}: {}", items.join(", "))?;
        }
    }
    Ok(success())
}

/// `lore insights [read|dismiss ID]`.
pub(crate) fn insights(home: &Home, args: InsightsArgs, g: &GlobalArgs) -> Result<ExitCode> {
    let mut q = queue(home)?;
    if let Some(command) = args.command {
        let (id, status) = match command {
            InsightsCommand::Read { id } => (id, "read"),
            InsightsCommand::Dismiss { id } => (id, "dismissed"),
        };
        if !q.set_insight_status(id, status)? {
            bail!("no insight {id}: `lore insights` lists them");
        }
        if !g.quiet {
            eprintln!("insight {id} {status}");
        }
        return Ok(success());
    }
    let root = super::repo_root(home, g)?.canonicalize()?;
    let repo = home.repo_id(&root);
    let found = q.insights(
        &repo,
        args.kind.as_deref(),
        args.status.as_deref(),
        args.limit,
    )?;
    if args.json.json {
        return print_json(
            &found
                .iter()
                .map(lore_index::learning::insight_json)
                .collect::<Vec<_>>(),
        );
    }
    let mut out = std::io::stdout().lock();
    if found.is_empty() {
        writeln!(out, "no insights yet (`lore learn on` lets Lore look)")?;
    }
    for i in &found {
        writeln!(
            out,
            "{:>5}  {:<6} {:<9} {:<16} {}",
            i.id, i.found.severity, i.status, i.found.kind, i.found.title
        )?;
    }
    Ok(success())
}
