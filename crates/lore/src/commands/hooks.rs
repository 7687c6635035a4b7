//! `lore hooks install|uninstall`: git hooks that tell Lore the code moved
//! (post-commit, post-merge, post-checkout, post-rewrite), and `lore hooks
//! fire`, what they run.
//!
//! A hook never blocks or fails git: Lore runs detached in the background,
//! its output and exit status ignored; the hook exits with the status of
//! the hook it replaced (kept beside it as `HOOK.pre-lore` and run first,
//! with the same arguments and input). Installing twice changes nothing;
//! uninstalling puts the earlier hook back.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use anyhow::{Context, Result, bail};
use lore_index::Home;

use crate::cli::*;
use crate::success;

use super::repo_root;

/// The hooks Lore installs.
pub(crate) const HOOKS: &[&str] = &["post-commit", "post-merge", "post-checkout", "post-rewrite"];

/// Marks a hook file as Lore's.
const MARKER: &str = "# lore-hook: installed by `lore hooks install`";

/// The repository's hooks directory, as git resolves it (core.hooksPath,
/// worktrees).
fn hooks_dir(root: &Path) -> Result<PathBuf> {
    let out = Command::new("git")
        .args(["rev-parse", "--git-path", "hooks"])
        .current_dir(root)
        .output()
        .with_context(|| format!("{}: cannot run git", root.display()))?;
    if !out.status.success() {
        bail!(
            "{}: not a git repository ({})",
            root.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    Ok(if dir.is_absolute() {
        dir
    } else {
        root.join(dir)
    })
}

/// Single-quoted for sh.
fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

fn script(hook: &str, lore: &Path, home: &Path) -> String {
    format!(
        r#"#!/bin/sh
{MARKER}; `lore hooks uninstall` removes it.
# The hook that was here before runs first; git gets its status. Lore runs
# detached, its output and status ignored: it never blocks or fails git.
status=0
chained="$(dirname "$0")/{hook}.pre-lore"
if [ -x "$chained" ]; then
    "$chained" "$@"
    status=$?
fi
if [ -x {lore} ]; then
    (LORE_HOME={home} {lore} --quiet hooks fire {hook} --repo "$(git rev-parse --show-toplevel)" </dev/null >/dev/null 2>&1 &) >/dev/null 2>&1
fi
exit $status
"#,
        lore = sh_quote(&lore.to_string_lossy()),
        home = sh_quote(&home.to_string_lossy()),
    )
}

#[cfg(unix)]
fn make_executable(path: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
        .with_context(|| format!("{}: cannot make it executable", path.display()))
}

#[cfg(not(unix))]
fn make_executable(_: &Path) -> Result<()> {
    Ok(())
}

fn is_ours(path: &Path) -> bool {
    std::fs::read_to_string(path).is_ok_and(|t| t.contains(MARKER))
}

/// Installs the hooks; returns the ones written.
pub(crate) fn install(root: &Path, home: &Home) -> Result<Vec<PathBuf>> {
    let dir = hooks_dir(root)?;
    std::fs::create_dir_all(&dir).with_context(|| format!("{}: cannot create", dir.display()))?;
    let lore = std::env::current_exe().context("cannot find the lore binary")?;
    let mut written = Vec::new();
    for hook in HOOKS {
        let path = dir.join(hook);
        let chained = dir.join(format!("{hook}.pre-lore"));
        if path.exists() && !is_ours(&path) {
            if chained.exists() {
                bail!(
                    "{}: a hook is there and so is {}; move one aside first",
                    path.display(),
                    chained.display()
                );
            }
            std::fs::rename(&path, &chained)
                .with_context(|| format!("{}: cannot move aside", path.display()))?;
        }
        // Written whole beside, then renamed: git never sees half a hook.
        let tmp = dir.join(format!(".{hook}.lore-tmp"));
        std::fs::write(&tmp, script(hook, &lore, home.path()))
            .with_context(|| format!("{}: cannot write", tmp.display()))?;
        make_executable(&tmp)?;
        std::fs::rename(&tmp, &path)
            .with_context(|| format!("{}: cannot write", path.display()))?;
        written.push(path);
    }
    Ok(written)
}

/// Removes Lore's hooks and puts back the ones they replaced.
pub(crate) fn uninstall(root: &Path) -> Result<Vec<PathBuf>> {
    let dir = hooks_dir(root)?;
    let mut removed = Vec::new();
    for hook in HOOKS {
        let path = dir.join(hook);
        if !is_ours(&path) {
            continue;
        }
        let chained = dir.join(format!("{hook}.pre-lore"));
        if chained.exists() {
            std::fs::rename(&chained, &path)
                .with_context(|| format!("{}: cannot restore", chained.display()))?;
        } else {
            std::fs::remove_file(&path)
                .with_context(|| format!("{}: cannot remove", path.display()))?;
        }
        removed.push(path);
    }
    Ok(removed)
}

/// `lore hooks ...`.
pub(crate) fn hooks(home: &Home, command: HooksCommand, g: &GlobalArgs) -> Result<ExitCode> {
    let root = repo_root(home, g)?.canonicalize()?;
    match command {
        HooksCommand::Install => {
            let written = install(&root, home)?;
            if !g.quiet {
                eprintln!(
                    "{} hooks installed in {}",
                    written.len(),
                    written[0].parent().unwrap_or(&root).display()
                );
            }
        }
        HooksCommand::Uninstall => {
            let removed = uninstall(&root)?;
            if !g.quiet {
                eprintln!("{} hooks removed", removed.len());
            }
        }
        HooksCommand::Fire { hook } => fire(home, &root, &hook)?,
    }
    Ok(success())
}

/// What a hook runs (detached): an index run, which queues a ScanDiff of
/// new commits when learning is on, then this repository's runnable
/// thoughts, so the digest is done without a server.
fn fire(home: &Home, root: &Path, hook: &str) -> Result<()> {
    tracing::info!(hook, "hook fired");
    if !lore_index::learning::is_on(home, root)? {
        return Ok(());
    }
    let report = lore_index::index_repo(home, root, &lore_index::IndexConfig::default(), &())?;
    lore_index::worker::after_index(home, &report)?;
    lore_index::worker::queue_maintenance(home, &report)?;
    let config = lore_index::worker::WorkerConfig {
        repos: vec![home.repo_id(root)],
        ..Default::default()
    };
    while lore_index::worker::run_next(home, &config)?.is_some() {}
    let _ = std::io::stderr().flush();
    Ok(())
}
