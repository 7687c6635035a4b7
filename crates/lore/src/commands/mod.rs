//! One module per command group; `run` dispatches. Rendering shared by
//! the groups lives in `crate::render`.

mod adapt;
mod change;
mod embed;
mod eval;
mod facts;
mod findings;
mod hooks;
mod index;
mod policy;
mod runs;
mod search;
mod status;
mod watch;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use lore_index::{Home, RepoIndex};

use crate::cli::{Cli, Command, EmbedCommand, GlobalArgs, ProvidersCommand};

/// Runs a parsed command line.
pub fn run(cli: Cli) -> Result<ExitCode> {
    init_tracing(cli.global.verbose);
    let home = Home::resolve(cli.global.home.clone())?;
    let g = &cli.global;
    run_command(&home, cli.command, g).map_err(|err| {
        // A damaged history says what to do itself: an index rebuild
        // does not touch it.
        if !damaged(&err) || err.chain().any(|c| c.to_string().contains("history.db")) {
            return err;
        }
        let dir = repo_root(&home, g)
            .ok()
            .map(|root| home.repo_dir(&root.canonicalize().unwrap_or(root)));
        let place = dir.map_or_else(String::new, |d| format!(" in {}", d.display()));
        err.context(format!(
            "the index{place} is damaged; `lore index --rebuild` rebuilds it from the source \
             (questions, answers and feedback are kept)"
        ))
    })
}

/// Whether `err` says a store file is damaged (SQLite's "malformed" and
/// "not a database", a damaged lexical index or vector file).
fn damaged(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        let text = cause.to_string();
        [
            "database disk image is malformed",
            "file is not a database",
            "is damaged",
            "corrupt vector file",
            "Data corrupted",
        ]
        .iter()
        .any(|sign| text.contains(sign))
    })
}

fn run_command(home: &Home, command: Command, g: &GlobalArgs) -> Result<ExitCode> {
    let home = home.clone();
    match command {
        Command::Index(args) => index::index(&home, args, g),
        Command::Search(args) => search::search(&home, args, g),
        Command::Symbols(args) => search::symbols(&home, args, g),
        Command::Refs(args) => search::refs(&home, args, g),
        Command::Outline(args) => search::outline(&home, args, g),
        Command::Map(args) => search::map(&home, args, g),
        Command::Status(args) => status::status(&home, args, g),
        Command::Repos(args) => status::repos(&home, args, g),
        Command::Forget(args) => status::forget(&home, args, g),
        Command::Purge(args) => status::purge(&home, args, g),
        Command::Embed(EmbedCommand::Use(args)) => embed::embed_use(&home, args, g),
        Command::Embed(EmbedCommand::Run(args)) => embed::embed_run(&home, args, g),
        Command::Embed(EmbedCommand::Status(args)) => embed::embed_status(&home, args, g),
        Command::Embed(EmbedCommand::Maintain(args)) => embed::embed_maintain(&home, args, g),
        Command::Eval(args) => eval::eval(&home, args, g),
        Command::Runs(args) => runs::runs(&home, args, g),
        Command::Digest(args) => runs::digest(&home, args, g),
        Command::Worker(args) => runs::worker(&home, args, g),
        Command::Learn(command) => runs::learn(&home, command, g),
        Command::Watch(args) => watch::watch(&home, args, g),
        Command::Hooks(command) => hooks::hooks(&home, command, g),
        Command::Card(args) => facts::card(&home, args, g),
        Command::Dossier(args) => facts::dossier(&home, args, g),
        Command::Insights(args) => facts::insights(&home, args, g),
        Command::Findings(args) => findings::findings(&home, args, g),
        Command::Risks(args) => findings::risks(&home, args, g),
        Command::Impact(args) => change::impact(&home, args, g),
        Command::Diagnose(args) => change::diagnose(&home, args, g),
        Command::Review(args) => change::review(&home, args, g),
        Command::Verify(args) => findings::verify(&home, args, g),
        Command::Lint(args) => findings::lint(&home, args, g),
        Command::Ask(args) => crate::ask::ask(&home, open(&home, g)?, &args, g),
        Command::Chat(args) => crate::ask::chat(&home, open(&home, g)?, &args),
        Command::History(args) => crate::ask::history(open(&home, g)?, &args),
        Command::Feedback(args) => crate::ask::feedback(open(&home, g)?, &args),
        Command::Policy(command) => policy::run(&home, command, g),
        Command::Adapt(args) => adapt::run(&home, args, g),
        Command::Complete(args) => adapt::complete(&home, args, g),
        Command::Report(args) => policy::report(&home, &args, g),
        Command::Config(args) => crate::ask::config(&home, &args),
        Command::Providers(ProvidersCommand::Check(args)) => {
            crate::ask::providers_check(&home, &args)
        }
        Command::Serve(args) => crate::serve::serve(home, args),
        Command::Mcp(args) => {
            let root = repo_root(&home, g)?;
            crate::serve::mcp(home, root, args)
        }
    }
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
pub(crate) fn discover_root(home: &Home) -> Result<PathBuf> {
    let cwd = std::env::current_dir().context("cannot read the current directory")?;
    if let Some(indexed) = cwd.ancestors().find(|d| home.layout(d).db().exists()) {
        return Ok(indexed.to_owned());
    }
    if let Some(git) = cwd.ancestors().find(|d| d.join(".git").exists()) {
        return Ok(git.to_owned());
    }
    Ok(cwd)
}

pub(crate) fn repo_root(home: &Home, g: &GlobalArgs) -> Result<PathBuf> {
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
pub(crate) fn open(home: &Home, g: &GlobalArgs) -> Result<RepoIndex> {
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

/// A path as typed, relative to the repository's root: relative to the
/// working directory if it exists there, else to the root already.
pub(crate) fn repo_path(index: &RepoIndex, path: &std::path::Path) -> Result<String> {
    Ok(match std::fs::canonicalize(path) {
        Ok(abs) => match abs.strip_prefix(index.root()) {
            Ok(rel) => lore_core::path::from_path(rel),
            Err(_) => bail!("{}: outside {}", path.display(), index.root().display()),
        },
        Err(_) => lore_core::path::from_path(path),
    })
}
