//! `lore status`, `repos`, `forget`: what is indexed.

use std::io::Write;
use std::process::ExitCode;

use anyhow::{Result, bail};
use lore_index::{Home, RepoIndex};
use serde_json::json;

use crate::cli::*;
use crate::render::*;
use crate::success;

use super::open;

/// `lore status`.
pub(crate) fn status(home: &Home, args: StatusArgs, g: &GlobalArgs) -> Result<ExitCode> {
    let index = match args.path.as_deref() {
        Some(path) => RepoIndex::open(home, path)?,
        None => open(home, g)?,
    };
    if args.check {
        return check(&index, args.json.json);
    }
    print_status(&index, args.errors, args.json.json)?;
    Ok(success())
}

/// `lore status --check`.
fn check(index: &RepoIndex, as_json: bool) -> Result<ExitCode> {
    let problems = index.check()?;
    if as_json {
        print_json(&json!({"root": index.root(), "damaged": problems}))?;
    } else if problems.is_empty() {
        outln!("index of {} is intact", index.root().display())?;
    } else {
        for problem in &problems {
            outln!("damaged: {problem}")?;
        }
        eprintln!(
            "`lore index --rebuild` rebuilds the index from the source (questions, answers and feedback are kept)"
        );
    }
    Ok(if problems.is_empty() {
        success()
    } else {
        ExitCode::FAILURE
    })
}

/// `lore repos`.
pub(crate) fn repos(home: &Home, args: JsonArg, _g: &GlobalArgs) -> Result<ExitCode> {
    let repos = home.repos()?;
    if args.json {
        let list: Vec<_> = repos
            .iter()
            .map(|r| {
                json!({"root": r.root, "data_dir": r.data_dir, "files": r.files,
                       "head": r.head, "indexed_at": r.indexed_at, "damaged": r.damaged})
            })
            .collect();
        return print_json(&list);
    }
    if repos.is_empty() {
        eprintln!("no indexed repositories in {}", home.path().display());
    }
    let mut out = std::io::stdout().lock();
    for r in repos {
        if let Some(why) = &r.damaged {
            writeln!(
                out,
                "{}  damaged ({why}): run `lore index --rebuild` in the repository",
                r.data_dir.display()
            )?;
            continue;
        }
        let head = r
            .head
            .as_deref()
            .map(|h| &h[..h.len().min(10)])
            .unwrap_or("-");
        writeln!(
            out,
            "{}  {} files  {head}  {}",
            r.root,
            r.files,
            ago(r.indexed_at)
        )?;
    }
    Ok(success())
}

/// `lore forget`.
pub(crate) fn forget(home: &Home, args: ForgetArgs, g: &GlobalArgs) -> Result<ExitCode> {
    match home.forget(&args.path)? {
        Some(dir) => {
            if !g.quiet {
                outln!(
                    "removed index of {} ({})",
                    args.path.display(),
                    dir.display()
                )?;
            }
        }
        None => bail!("{} is not indexed", args.path.display()),
    }
    Ok(success())
}

/// `lore purge`.
pub(crate) fn purge(home: &Home, args: PurgeArgs, g: &GlobalArgs) -> Result<ExitCode> {
    let root = super::repo_root(home, g)?;
    if args.allow {
        let allowed = lore_index::allow(home, &root, &args.paths)?;
        if args.json.json {
            return print_json(&json!({"allowed": allowed}));
        }
        if allowed.is_empty() {
            eprintln!("none of these paths was purged");
        }
        for path in allowed {
            outln!("{path}: allowed again; the next `lore index` indexes it")?;
        }
        return Ok(success());
    }
    let report = lore_index::purge(
        home,
        &root,
        &args.paths,
        &lore_index::IndexConfig::default(),
        &(),
    )?;
    if args.json.json {
        return print_json(&report);
    }
    outln!(
        "purged {}: {} indexed files, {} cached vectors, {} recorded answers, {} facts and \
         {} insights removed; the index was rebuilt without them, and later runs keep them \
         out (`lore purge --allow PATH` lets them back in)",
        report.paths.join(", "),
        report.files,
        report.cached_vectors,
        report.answers,
        report.facts,
        report.insights
    )?;
    if report.stale_adapters > 0 {
        outln!(
            "{} adapter version(s) trained on them marked stale: `lore adapt --wait` retrains",
            report.stale_adapters
        )?;
    }
    Ok(success())
}

fn print_status(index: &RepoIndex, errors: bool, as_json: bool) -> Result<()> {
    let st = index.status()?;
    let m = &st.meta;
    let fresh = st.freshness();
    if as_json {
        print_json(&st.to_json(errors))?;
        return Ok(());
    }
    let mut out = std::io::stdout().lock();
    let short = |h: &Option<String>| {
        h.as_deref()
            .map(|h| h[..h.len().min(10)].to_owned())
            .unwrap_or("-".into())
    };
    writeln!(out, "repository  {}", st.root)?;
    writeln!(
        out,
        "commit      {} (HEAD {}, {fresh}){}",
        short(&m.head),
        short(&st.current_head),
        if m.shallow { ", shallow clone" } else { "" }
    )?;
    if let Ok(found) =
        std::fs::read_to_string(lore_index::Layout::new(&st.data_dir).damage_marker())
    {
        writeln!(
            out,
            "damaged     {} (the next `lore index` rebuilds it)",
            found.lines().next().unwrap_or("")
        )?;
    }
    let total: u64 = st.stats.files_per_lang.iter().map(|(_, n, _)| n).sum();
    writeln!(out, "files       {total}")?;
    for (lang, n, lines) in &st.stats.files_per_lang {
        writeln!(out, "  {:<12}{n:>7} files {lines:>9} lines", lang.name())?;
    }
    writeln!(
        out,
        "symbols     {}   references {}   chunks {}   commits {}",
        st.stats.symbols, st.stats.refs, st.stats.chunks, st.stats.commits
    )?;
    let sem = &st.semantic;
    match &sem.model {
        Some(model) => writeln!(
            out,
            "search      lexical + vectors ({}; {model}; {} embedded, {} pending)",
            sem.state, sem.embedded, sem.pending
        )?,
        None => writeln!(out, "search      lexical only (no vectors yet)")?,
    }
    if st.stats.files_with_syntax_errors > 0 {
        writeln!(
            out,
            "partial     {} files with syntax errors",
            st.stats.files_with_syntax_errors
        )?;
    }
    let skipped: u64 = st.stats.skipped_per_reason.iter().map(|(_, n)| n).sum();
    let reasons: Vec<String> = st
        .stats
        .skipped_per_reason
        .iter()
        .map(|(r, n)| format!("{r} {n}"))
        .collect();
    writeln!(
        out,
        "skipped     {skipped}{}",
        if reasons.is_empty() {
            String::new()
        } else {
            format!(" ({})", reasons.join(", "))
        }
    )?;
    writeln!(
        out,
        "index size  {}  ({})",
        human_bytes(st.index_bytes),
        st.data_dir.display()
    )?;
    if let Some(run) = &m.last_run {
        writeln!(
            out,
            "last run    {} took {:.2}s: {} added, {} modified, {} deleted, {} renamed",
            ago(Some(run.started_at)),
            run.duration_ms as f64 / 1000.0,
            run.added.len(),
            run.modified.len(),
            run.deleted.len(),
            run.renamed.len()
        )?;
    }
    if errors {
        writeln!(out)?;
        if st.skipped.is_empty() {
            writeln!(out, "no skipped files")?;
        }
        for s in &st.skipped {
            let note = if s.indexed { " (indexed)" } else { "" };
            writeln!(out, "{}  {}{note}: {}", s.path, s.reason, s.detail)?;
        }
    }
    Ok(())
}
