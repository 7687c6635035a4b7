//! One function per command.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use lore_index::{Home, IndexConfig, RepoIndex, SearchOptions, SymbolHit, request};
use serde_json::json;

use crate::cli::{Cli, Command, EmbedCommand, EmbedWhen, GlobalArgs, ProvidersCommand};
use crate::progress::Bar;
use crate::success;

/// Runs a parsed command line.
pub fn run(cli: Cli) -> Result<ExitCode> {
    init_tracing(cli.global.verbose);
    let home = Home::resolve(cli.global.home.clone())?;
    let g = &cli.global;
    match cli.command {
        Command::Index(args) => {
            let root = match args.path.as_deref().or(g.repo.as_deref()) {
                Some(path) => path.to_owned(),
                None => discover_root(&home)?,
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
            let bar = Bar::new(!g.quiet && std::io::stderr().is_terminal());
            let report = lore_index::index_repo(&home, &root, &config, &bar)?;
            if let Some(spec) = &spec {
                lore_index::set_embedder(&home, &report.root, spec)?;
            }
            let index = RepoIndex::open(&home, &report.root)?;
            let mut dense_report = None;
            let mut background = None;
            if let Some(dense) = index.embed_status()?.dense
                && dense.pending > 0
                && !args.no_vectors
            {
                match args.embed {
                    EmbedWhen::Off => {}
                    EmbedWhen::Wait => {
                        dense_report =
                            Some(run_dense(&home, &report.root, &Default::default(), g)?);
                    }
                    EmbedWhen::Background => {
                        spawn_embedding(&home, &report.root)?;
                        background = Some(dense);
                    }
                }
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
        }
        Command::Search(args) => {
            let index = open(&home, g)?;
            let options = SearchOptions {
                limit: request::limit(args.limit)?,
                langs: request::languages(&args.langs)?,
                path_glob: args.path_glob,
                mode: request::mode(&args.mode)?,
                explain: args.explain,
                max_per_file: None,
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
                let symbol = match (&hit.symbol, &hit.kind) {
                    (Some(s), Some(k)) => format!("  {s} [{k}]"),
                    _ => String::new(),
                };
                writeln!(
                    out,
                    "{}:{}-{}{symbol}  ({:.2})",
                    hit.path, hit.start_line, hit.end_line, hit.score
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
        }
        Command::Symbols(args) => {
            let index = open(&home, g)?;
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
        }
        Command::Refs(args) => {
            let index = open(&home, g)?;
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
        }
        Command::Outline(args) => {
            let index = open(&home, g)?;
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
        }
        Command::Map(args) => {
            let index = open(&home, g)?;
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
        }
        Command::Status(args) => {
            let index = match args.path.as_deref() {
                Some(path) => RepoIndex::open(&home, path)?,
                None => open(&home, g)?,
            };
            print_status(&index, args.errors, args.json.json)?;
        }
        Command::Repos(args) => {
            let repos = home.repos()?;
            if args.json {
                let list: Vec<_> = repos
                    .iter()
                    .map(|r| {
                        json!({"root": r.root, "data_dir": r.data_dir, "files": r.files,
                               "head": r.head, "indexed_at": r.indexed_at})
                    })
                    .collect();
                return print_json(&list);
            }
            if repos.is_empty() {
                eprintln!("no indexed repositories in {}", home.path().display());
            }
            let mut out = std::io::stdout().lock();
            for r in repos {
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
        }
        Command::Embed(EmbedCommand::Use(args)) => {
            let root = repo_root(&home, g)?;
            let spec = lore_embed::EmbedderSpec::parse(&args.spec)?;
            lore_index::set_embedder(&home, &root, &spec)?;
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
        }
        Command::Embed(EmbedCommand::Run(args)) => {
            let root = repo_root(&home, g)?;
            let options = lore_index::DenseOptions {
                batch: args.batch,
                limit: args.limit,
                ..Default::default()
            };
            let report = run_dense(&home, &root, &options, g)?;
            if args.json.json {
                return print_json(&report);
            }
            if !g.quiet {
                print_dense_report(&report)?;
            }
        }
        Command::Embed(EmbedCommand::Status(args)) => {
            let index = open(&home, g)?;
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
        }
        Command::Ask(args) => return crate::ask::ask(&home, open(&home, g)?, &args, g),
        Command::Chat(args) => return crate::ask::chat(&home, open(&home, g)?, &args),
        Command::History(args) => return crate::ask::history(open(&home, g)?, &args),
        Command::Config(args) => return crate::ask::config(&home, &args),
        Command::Serve(args) => return crate::serve::serve(home, args),
        Command::Mcp(args) => {
            let root = repo_root(&home, g)?;
            return crate::serve::mcp(home, root, args);
        }
        Command::Providers(ProvidersCommand::Check(args)) => {
            return crate::ask::providers_check(&home, &args);
        }
        Command::Eval(args) => {
            let modes = args
                .mode
                .split(',')
                .map(|m| Ok(request::mode(m)?))
                .collect::<Result<Vec<_>>>()?;
            let index = open(&home, g)?;
            if args.ask {
                let file = args.file.as_deref().expect("clap requires a file");
                return crate::ask::eval(&home, index, file, args.no_llm, args.json.json);
            }
            let reports = if args.from_docs {
                let root = index.root().to_owned();
                drop(index);
                lore_index::evaluate_from_docs(
                    &home,
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
        }
        Command::Forget(args) => match home.forget(&args.path)? {
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
        },
    }
    Ok(success())
}

fn init_tracing(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env(crate::cli::env::RUST_LOG)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(crate::colour_stderr())
        .try_init();
}

/// The repository the current directory belongs to: the nearest ancestor
/// that is indexed, else the enclosing git work tree, else the directory.
fn discover_root(home: &Home) -> Result<PathBuf> {
    let cwd = std::env::current_dir().context("cannot read the current directory")?;
    if let Some(indexed) = cwd.ancestors().find(|d| home.layout(d).db().exists()) {
        return Ok(indexed.to_owned());
    }
    if let Some(git) = cwd.ancestors().find(|d| d.join(".git").exists()) {
        return Ok(git.to_owned());
    }
    Ok(cwd)
}

fn repo_root(home: &Home, g: &GlobalArgs) -> Result<PathBuf> {
    let root = match &g.repo {
        Some(repo) => repo.clone(),
        None => discover_root(home)?,
    };
    if !root.exists() {
        bail!("{}: no such directory", root.display());
    }
    Ok(root)
}

/// The index of the repository the command is about. Outside any indexed
/// repository or git work tree, says so instead of offering to index the
/// current directory (which may be a home directory or `/tmp`).
fn open(home: &Home, g: &GlobalArgs) -> Result<RepoIndex> {
    let root = repo_root(home, g)?;
    match RepoIndex::open(home, &root) {
        Err(lore_index::Error::NotIndexed(_))
            if g.repo.is_none() && !root.ancestors().any(|d| d.join(".git").exists()) =>
        {
            bail!(
                "no indexed repository contains {}: run `lore index PATH` on a repository, \
                 or pass --repo PATH (`lore repos` lists the indexed ones)",
                root.display()
            )
        }
        other => Ok(other?),
    }
}

/// Runs an embedding run in this process with a progress bar.
fn run_dense(
    home: &Home,
    root: &std::path::Path,
    options: &lore_index::DenseOptions,
    g: &GlobalArgs,
) -> Result<lore_index::DenseReport> {
    let bar = crate::progress::EmbedBar::new(!g.quiet && std::io::stderr().is_terminal());
    let report =
        lore_index::embed_dense(home, root, options, &|done, total| bar.update(done, total))?;
    bar.finish();
    Ok(report)
}

fn print_dense_report(report: &lore_index::DenseReport) -> Result<()> {
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

pub(crate) fn print_json<T: serde::Serialize>(value: &T) -> Result<ExitCode> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, value)?;
    writeln!(out)?;
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

pub(crate) fn ago(time: Option<i64>) -> String {
    let Some(time) = time else {
        return "never".into();
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let secs = (now - time).max(0);
    match secs {
        0..60 => format!("{secs}s ago"),
        60..3600 => format!("{}m ago", secs / 60),
        3600..86400 => format!("{}h ago", secs / 3600),
        _ => format!("{}d ago", secs / 86400),
    }
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
            "  vectors: {} embedded, {} reused{} ({})",
            e.embedded,
            e.reused,
            if e.trained { ", model trained" } else { "" },
            e.model
        )?;
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

fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["B", "KiB", "MiB", "GiB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}
