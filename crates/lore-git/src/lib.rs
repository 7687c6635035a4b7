//! Git history: HEAD, commits, and the paths each commit touched, read with
//! git2 (vendored libgit2, no network features).
//!
//! A directory that is not in a git repository has no history; a shallow
//! clone has the history it has. Neither is an error.

use std::path::{Path, PathBuf};

mod replay;

use git2::{DiffOptions, Repository, Sort};
use lore_core::store::{Commit, HistoryUpdate};
pub use replay::{CommitStat, FileStat, commit_at, commit_stats, commit_time, write_tree};

/// Errors reading history.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// libgit2 failed.
    #[error("git repository at {path}: {source}")]
    Git {
        path: PathBuf,
        #[source]
        source: git2::Error,
    },
    /// The git command failed.
    #[error("{0}")]
    Command(String),
}

/// Result with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Limits for reading history.
#[derive(Clone, Debug)]
pub struct HistoryConfig {
    /// Most commits read in one run (newest first); older ones are left out.
    pub max_commits: usize,
}

impl Default for HistoryConfig {
    fn default() -> HistoryConfig {
        HistoryConfig {
            max_commits: 20_000,
        }
    }
}

/// The repository containing `root`, and `root`'s path inside its work tree
/// (`""` at the top, `"sub/dir/"` below it).
/// The repository containing `root`: `Ok(None)` when there is none (a
/// plain directory), an error when there is one git cannot read (a
/// damaged `.git` is not an empty history).
fn try_open(root: &Path) -> Result<Option<(Repository, String)>> {
    match Repository::discover(root) {
        Ok(_) => Ok(open(root)),
        Err(e) if e.code() == git2::ErrorCode::NotFound => Ok(None),
        Err(source) => Err(Error::Git {
            path: root.to_owned(),
            source,
        }),
    }
}

fn open(root: &Path) -> Option<(Repository, String)> {
    let repo = Repository::discover(root).ok()?;
    let workdir = repo.workdir()?.canonicalize().ok()?;
    let root = root.canonicalize().ok()?;
    let rel = root.strip_prefix(&workdir).ok()?;
    let mut prefix = lore_core::path::from_path(rel);
    if !prefix.is_empty() {
        prefix.push('/');
    }
    Some((repo, prefix))
}

/// The current HEAD commit sha of the repository containing `root`.
pub fn head(root: &Path) -> Option<String> {
    let (repo, _) = open(root)?;
    let head = repo.head().ok()?.peel_to_commit().ok()?;
    Some(head.id().to_string())
}

/// Reads the history added since `since` (the HEAD recorded by the last
/// run). When `since` is not an ancestor of HEAD any more (rebase, reset),
/// the whole history is read again and `replace` is set. Returns `None`
/// outside a git repository.
pub fn read_history(
    root: &Path,
    since: Option<&str>,
    config: &HistoryConfig,
) -> Result<Option<HistoryUpdate>> {
    let Some((repo, prefix)) = try_open(root)? else {
        return Ok(None);
    };
    let err = |source| Error::Git {
        path: root.to_owned(),
        source,
    };
    let shallow = repo.is_shallow();
    let head_ref = match repo.head() {
        Ok(head) => Some(head),
        // No commit yet.
        Err(e)
            if matches!(
                e.code(),
                git2::ErrorCode::UnbornBranch | git2::ErrorCode::NotFound
            ) =>
        {
            None
        }
        Err(e) => return Err(err(e)),
    };
    if let Some(head) = &head_ref
        && let Err(e) = head.peel_to_commit()
    {
        return Err(err(e));
    }
    let branch = head_ref
        .as_ref()
        .filter(|h| h.is_branch())
        .and_then(|h| h.shorthand().ok().map(str::to_owned));
    let Some(head) = head_ref.and_then(|h| h.peel_to_commit().ok()) else {
        // A repository without commits yet.
        return Ok(Some(HistoryUpdate {
            branch,
            shallow,
            replace: since.is_some(),
            ..HistoryUpdate::default()
        }));
    };
    let head_id = head.id();

    let mut walk = repo.revwalk().map_err(err)?;
    walk.set_sorting(Sort::TOPOLOGICAL | Sort::TIME)
        .map_err(err)?;
    walk.push(head_id).map_err(err)?;
    let mut replace = true;
    if let Some(since) = since.and_then(|s| git2::Oid::from_str(s).ok()) {
        let is_ancestor =
            since == head_id || repo.graph_descendant_of(head_id, since).unwrap_or(false);
        if is_ancestor {
            walk.hide(since).map_err(err)?;
            replace = false;
        }
    }

    let mut commits = Vec::new();
    for oid in walk.take(config.max_commits) {
        // A shallow boundary can make the walk fail past its end; stop there.
        let Ok(oid) = oid else { break };
        let commit = repo.find_commit(oid).map_err(err)?;
        let tree = commit.tree().map_err(err)?;
        let files = match commit.parent_count() {
            0 => Some(None),
            _ => commit.parent(0).ok().and_then(|p| p.tree().ok()).map(Some),
        };
        let mut paths = Vec::new();
        // `None` here: the parent is missing (shallow boundary); the
        // commit is kept, its touched files unknown.
        if let Some(parent_tree) = files {
            let mut opts = DiffOptions::new();
            opts.skip_binary_check(true);
            let diff = repo
                .diff_tree_to_tree(parent_tree.as_ref(), Some(&tree), Some(&mut opts))
                .map_err(err)?;
            for delta in diff.deltas() {
                let file = delta.new_file().path().or_else(|| delta.old_file().path());
                if let Some(rel) = file
                    .map(lore_core::path::from_path)
                    .as_deref()
                    .and_then(|p| p.strip_prefix(prefix.as_str()))
                {
                    paths.push(rel.to_owned());
                }
            }
        }
        if !prefix.is_empty() && paths.is_empty() {
            continue;
        }
        let author = commit.author();
        commits.push(Commit {
            sha: oid.to_string(),
            author: author.name().unwrap_or("").to_owned(),
            email: author.email().unwrap_or("").to_owned(),
            time: author.when().seconds(),
            message: commit.message().unwrap_or("").trim_end().to_owned(),
            files: paths,
        });
    }
    Ok(Some(HistoryUpdate {
        head: Some(head_id.to_string()),
        branch,
        shallow,
        replace,
        commits,
    }))
}

/// A commit's subject and the lines it changed that are still where they
/// were: hunks (new-side line ranges, 1-based inclusive) in files whose
/// content at HEAD is the content the commit left.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommitHunks {
    /// Commit sha.
    pub sha: String,
    /// First line of the message.
    pub subject: String,
    /// (path relative to the root, first line, last line).
    pub hunks: Vec<(String, u32, u32)>,
}

/// Recent non-merge commits (newest first, at most `max_commits` looked
/// at) that touched at most `max_files` files, with their still-valid
/// hunks; commits left with no hunk are dropped. Pure deletions count as
/// the line where the text was removed. `None` outside a git repository.
pub fn commit_hunks(
    root: &Path,
    max_commits: usize,
    max_files: usize,
) -> Result<Option<Vec<CommitHunks>>> {
    let mut out = Vec::new();
    let walked = each_commit_diff(
        root,
        max_commits,
        max_files,
        0,
        &mut |head, prefix, commit, diff| {
            let head_tree = head.tree()?;
            let mut hunks: Vec<(String, u32, u32)> = Vec::new();
            diff.foreach(
                &mut |_, _| true,
                None,
                Some(&mut |delta, hunk| {
                    let Some(path) = delta.new_file().path().and_then(|p| p.to_str()) else {
                        return true;
                    };
                    // Still valid only if HEAD has exactly this version.
                    let unchanged = head_tree
                        .get_path(Path::new(path))
                        .is_ok_and(|e| e.id() == delta.new_file().id());
                    if let (true, Some(rel)) = (unchanged, path.strip_prefix(prefix)) {
                        let start = hunk.new_start().max(1);
                        let end = start + hunk.new_lines().max(1) - 1;
                        hunks.push((rel.to_owned(), start, end));
                    }
                    true
                }),
                None,
            )?;
            if !hunks.is_empty() {
                let message = commit.message().unwrap_or("");
                let subject = message.lines().next().unwrap_or("").trim().to_owned();
                out.push(CommitHunks {
                    sha: commit.id().to_string(),
                    subject,
                    hunks,
                });
            }
            Ok(())
        },
    )?;
    Ok(walked.then_some(out))
}

/// What [`each_commit_diff`] calls: HEAD, the path prefix of the root in
/// the work tree, the commit and its diff.
type OnCommitDiff<'a> = dyn FnMut(
        &git2::Commit<'_>,
        &str,
        &git2::Commit<'_>,
        &git2::Diff<'_>,
    ) -> std::result::Result<(), git2::Error>
    + 'a;

/// Walks the non-merge commits from HEAD of the repository containing
/// `root` (newest first, at most `max_commits` looked at) and calls `f`
/// with each one's diff against its parent (`context` lines around each
/// hunk) when it touched at most `max_files` files. False outside a git
/// repository.
fn each_commit_diff(
    root: &Path,
    max_commits: usize,
    max_files: usize,
    context: u32,
    f: &mut OnCommitDiff<'_>,
) -> Result<bool> {
    let Some((repo, prefix)) = open(root) else {
        return Ok(false);
    };
    let err = |source| Error::Git {
        path: root.to_owned(),
        source,
    };
    let Some(head) = repo.head().ok().and_then(|h| h.peel_to_commit().ok()) else {
        return Ok(true);
    };
    let mut walk = repo.revwalk().map_err(err)?;
    walk.set_sorting(Sort::TOPOLOGICAL | Sort::TIME)
        .map_err(err)?;
    walk.push(head.id()).map_err(err)?;
    for oid in walk.take(max_commits) {
        let Ok(oid) = oid else { break };
        let commit = repo.find_commit(oid).map_err(err)?;
        if commit.parent_count() != 1 {
            continue;
        }
        let Ok(parent) = commit.parent(0).and_then(|p| p.tree()) else {
            continue;
        };
        let tree = commit.tree().map_err(err)?;
        let mut opts = DiffOptions::new();
        opts.context_lines(context);
        let diff = repo
            .diff_tree_to_tree(Some(&parent), Some(&tree), Some(&mut opts))
            .map_err(err)?;
        if diff.deltas().len() > max_files {
            continue;
        }
        f(&head, &prefix, &commit, &diff).map_err(err)?;
    }
    Ok(true)
}

/// A commit's message and its patch, file by file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommitPatch {
    /// Commit sha.
    pub sha: String,
    /// The whole message.
    pub message: String,
    /// (path relative to the root, unified diff of that file with three
    /// lines of context, headers included).
    pub files: Vec<(String, String)>,
}

/// Recent non-merge commits (newest first, at most `max_commits` looked
/// at) that touched at most `max_files` files, each with its patch per
/// file (text files only; a file's patch longer than `max_patch_bytes` is
/// left out). Commits left with no file are dropped. `None` outside a git
/// repository.
pub fn commit_patches(
    root: &Path,
    max_commits: usize,
    max_files: usize,
    max_patch_bytes: usize,
) -> Result<Option<Vec<CommitPatch>>> {
    let mut out = Vec::new();
    let walked = each_commit_diff(
        root,
        max_commits,
        max_files,
        3,
        &mut |_, prefix, commit, diff| {
            let mut files = Vec::new();
            for i in 0..diff.deltas().len() {
                let Ok(Some(mut patch)) = git2::Patch::from_diff(diff, i) else {
                    continue;
                };
                let delta = patch.delta();
                if delta.new_file().is_binary() || delta.old_file().is_binary() {
                    continue;
                }
                let Some(rel) = delta
                    .new_file()
                    .path()
                    .or_else(|| delta.old_file().path())
                    .map(lore_core::path::from_path)
                    .and_then(|p| p.strip_prefix(prefix).map(str::to_owned))
                else {
                    continue;
                };
                let Ok(buf) = patch.to_buf() else { continue };
                let Ok(text) = buf.as_str() else { continue };
                if text.len() <= max_patch_bytes && text.contains("\n@@") {
                    files.push((rel, text.to_owned()));
                }
            }
            if !files.is_empty() {
                out.push(CommitPatch {
                    sha: commit.id().to_string(),
                    message: commit.message().unwrap_or("").trim().to_owned(),
                    files,
                });
            }
            Ok(())
        },
    )?;
    Ok(walked.then_some(out))
}

/// A file a commit range changed, with both versions' text (UTF-8 files
/// only; a side is `None` where the file did not exist or is binary).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileChange {
    /// Path before (relative to the root), if it existed.
    pub old_path: Option<String>,
    /// Path after, if it exists.
    pub new_path: Option<String>,
    /// Text before.
    pub old_text: Option<String>,
    /// Text after.
    pub new_text: Option<String>,
}

/// The commit `rev` names, as a full sha.
pub fn resolve(root: &Path, rev: &str) -> Result<Option<String>> {
    let Some((repo, _)) = open(root) else {
        return Ok(None);
    };
    let object = repo.revparse_single(rev).map_err(|source| Error::Git {
        path: root.to_owned(),
        source,
    })?;
    let commit = object.peel_to_commit().map_err(|source| Error::Git {
        path: root.to_owned(),
        source,
    })?;
    Ok(Some(commit.id().to_string()))
}

/// The tree of the commit `rev` names.
fn tree_of<'r>(
    repo: &'r Repository,
    rev: &str,
) -> std::result::Result<git2::Tree<'r>, git2::Error> {
    repo.revparse_single(rev)?.peel_to_commit()?.tree()
}

/// The files that differ between commits `from` and `to` (any revision
/// syntax git accepts), renames detected, under `root` only. `None`
/// outside a git repository.
pub fn changed_files(root: &Path, from: &str, to: &str) -> Result<Option<Vec<FileChange>>> {
    let Some((repo, prefix)) = open(root) else {
        return Ok(None);
    };
    let err = |source| Error::Git {
        path: root.to_owned(),
        source,
    };
    let tree = |rev: &str| tree_of(&repo, rev).map_err(err);
    let (old, new) = (tree(from)?, tree(to)?);
    let mut diff = repo
        .diff_tree_to_tree(Some(&old), Some(&new), None)
        .map_err(err)?;
    let mut find = git2::DiffFindOptions::new();
    find.renames(true);
    diff.find_similar(Some(&mut find)).map_err(err)?;
    let text = |id: git2::Oid| -> Option<String> {
        if id.is_zero() {
            return None;
        }
        let blob = repo.find_blob(id).ok()?;
        if blob.is_binary() {
            return None;
        }
        String::from_utf8(blob.content().to_vec()).ok()
    };
    let under = |p: Option<&Path>| -> Option<String> {
        let p = p?.to_str()?;
        p.strip_prefix(prefix.as_str()).map(str::to_owned)
    };
    let mut out = Vec::new();
    for delta in diff.deltas() {
        let (old_file, new_file) = (delta.old_file(), delta.new_file());
        let old_path = under(old_file.path()).filter(|_| !old_file.id().is_zero());
        let new_path = under(new_file.path()).filter(|_| !new_file.id().is_zero());
        if old_path.is_none() && new_path.is_none() {
            continue;
        }
        out.push(FileChange {
            old_text: old_path.as_ref().and_then(|_| text(old_file.id())),
            new_text: new_path.as_ref().and_then(|_| text(new_file.id())),
            old_path,
            new_path,
        });
    }
    Ok(Some(out))
}

/// A file a change added or modified: its new text and the line ranges
/// (1-based, inclusive) the change added there.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AddedLines {
    /// Path after the change, relative to the root.
    pub path: String,
    /// Its text after the change (UTF-8 files only).
    pub text: String,
    /// Its text before, when it existed (and was UTF-8).
    pub old_text: Option<String>,
    /// Added or rewritten line ranges.
    pub lines: Vec<(u32, u32)>,
}

/// What `from..to` added, or with `to = None` what the index (staged
/// changes) adds over `from`: per file, its new text and added lines.
/// Deleted, binary and non-UTF-8 files are left out. `None` outside a git
/// repository.
pub fn added_lines(root: &Path, from: &str, to: Option<&str>) -> Result<Option<Vec<AddedLines>>> {
    let Some((repo, prefix)) = open(root) else {
        return Ok(None);
    };
    let err = |source| Error::Git {
        path: root.to_owned(),
        source,
    };
    let tree = |rev: &str| tree_of(&repo, rev).map_err(err);
    // `R~1` of a root commit is the empty tree: everything was added.
    let old = match tree(from) {
        Ok(t) => Some(t),
        Err(e) => {
            let root_commit = from
                .strip_suffix("~1")
                .and_then(|r| repo.revparse_single(r).ok())
                .and_then(|o| o.peel_to_commit().ok())
                .is_some_and(|c| c.parent_count() == 0);
            if !root_commit {
                return Err(e);
            }
            None
        }
    };
    let mut opts = DiffOptions::new();
    opts.context_lines(0);
    let diff = match to {
        Some(to) => {
            let new = tree(to)?;
            repo.diff_tree_to_tree(old.as_ref(), Some(&new), Some(&mut opts))
        }
        None => {
            let index = repo.index().map_err(err)?;
            repo.diff_tree_to_index(old.as_ref(), Some(&index), Some(&mut opts))
        }
    }
    .map_err(err)?;
    let mut hunks: Vec<(String, git2::Oid, git2::Oid, u32, u32)> = Vec::new();
    diff.foreach(
        &mut |_, _| true,
        None,
        Some(&mut |delta, hunk| {
            if hunk.new_lines() == 0 || delta.new_file().id().is_zero() {
                return true;
            }
            if let Some(rel) = delta
                .new_file()
                .path()
                .and_then(|p| p.to_str())
                .and_then(|p| p.strip_prefix(prefix.as_str()))
            {
                let start = hunk.new_start().max(1);
                hunks.push((
                    rel.to_owned(),
                    delta.new_file().id(),
                    delta.old_file().id(),
                    start,
                    start + hunk.new_lines() - 1,
                ));
            }
            true
        }),
        None,
    )
    .map_err(err)?;
    let mut out: Vec<AddedLines> = Vec::new();
    for (path, id, old_id, start, end) in hunks {
        if let Some(last) = out.last_mut().filter(|l| l.path == path) {
            last.lines.push((start, end));
            continue;
        }
        let Ok(blob) = repo.find_blob(id) else {
            continue;
        };
        if blob.is_binary() {
            continue;
        }
        let Ok(text) = String::from_utf8(blob.content().to_vec()) else {
            continue;
        };
        let old_text = (!old_id.is_zero())
            .then(|| repo.find_blob(old_id).ok())
            .flatten()
            .filter(|b| !b.is_binary())
            .and_then(|b| String::from_utf8(b.content().to_vec()).ok());
        out.push(AddedLines {
            path,
            text,
            old_text,
            lines: vec![(start, end)],
        });
    }
    Ok(Some(out))
}

/// The remotes of the repository containing `root`: (name, fetch URL).
pub fn remotes(root: &Path) -> Vec<(String, String)> {
    let Some((repo, _)) = open(root) else {
        return Vec::new();
    };
    let Ok(names) = repo.remotes() else {
        return Vec::new();
    };
    names
        .iter()
        .filter_map(|name| {
            let name = name.ok()??;
            let remote = repo.find_remote(name).ok()?;
            let url = remote.url().ok()?.to_owned();
            Some((name.to_owned(), url))
        })
        .collect()
}

/// A remote URL reduced to `host/owner/name` (lower case), so the https,
/// ssh and scp-like forms of one repository compare equal; a local path
/// stays a path.
pub fn normalize_remote(url: &str) -> String {
    let url = url.trim().trim_end_matches('/');
    let url = url.strip_suffix(".git").unwrap_or(url);
    let rest = match url.split_once("://") {
        Some((_, rest)) => rest.to_owned(),
        // scp-like `git@host:owner/name`
        None => match url.split_once(':') {
            Some((host, path)) if !host.contains('/') && !url.starts_with('/') => {
                format!("{host}/{path}")
            }
            _ => return url.to_owned(),
        },
    };
    let rest = rest.rsplit_once('@').map_or(rest.as_str(), |(_, r)| r);
    // A port in the authority (`host:22/…`) is not part of the name.
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    let host = host.split(':').next().unwrap_or(host);
    format!("{host}/{path}").to_ascii_lowercase()
}

/// Runs `git fetch --quiet REMOTE` in `root` with the user's git (their
/// credentials and configuration), killed after `timeout`.
pub fn fetch_with_git(root: &Path, remote: &str, timeout: std::time::Duration) -> Result<()> {
    let fail =
        |msg: String| Error::Command(format!("git fetch {remote} in {}: {msg}", root.display()));
    let mut child = std::process::Command::new("git")
        .args(["fetch", "--quiet", "--", remote])
        .current_dir(root)
        .env("GIT_TERMINAL_PROMPT", "0")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| fail(e.to_string()))?;
    let start = std::time::Instant::now();
    loop {
        match child.try_wait().map_err(|e| fail(e.to_string()))? {
            Some(status) if status.success() => return Ok(()),
            Some(status) => {
                let mut err = String::new();
                if let Some(mut e) = child.stderr.take() {
                    let _ = std::io::Read::read_to_string(&mut e, &mut err);
                }
                return Err(fail(format!("{status}: {}", err.trim())));
            }
            None if start.elapsed() > timeout => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(fail(format!("no answer in {} s", timeout.as_secs())));
            }
            None => std::thread::sleep(std::time::Duration::from_millis(50)),
        }
    }
}

#[cfg(test)]
mod remote_tests {
    use super::normalize_remote;

    #[test]
    fn remote_forms_of_one_repository_compare_equal() {
        let want = "github.com/owner/name";
        for url in [
            "https://github.com/Owner/name.git",
            "https://github.com/owner/name",
            "git@github.com:owner/name.git",
            "ssh://git@github.com:22/owner/name.git",
            "https://token@github.com/owner/name/",
        ] {
            assert_eq!(normalize_remote(url), want, "{url}");
        }
        assert_eq!(normalize_remote("/srv/git/x.git"), "/srv/git/x");
        assert_ne!(normalize_remote("git@github.com:owner/other"), want);
    }
}
