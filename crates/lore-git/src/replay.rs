//! History for risk: commits with the lines they changed per file, the
//! tree of any commit written out, and commits by time — what a risk map
//! needs to be computed as it would have been at an earlier commit.

use std::path::Path;

use git2::{DiffOptions, ObjectType, Oid, Repository, Sort, TreeWalkMode, TreeWalkResult};

use crate::{Error, Result, open};

/// A commit and what it changed, file by file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommitStat {
    /// Full sha.
    pub sha: String,
    /// Author time (seconds since the epoch).
    pub time: i64,
    /// Author email (name when there is none), lowercased.
    pub author: String,
    /// First line of the message.
    pub subject: String,
    /// More than one parent (its files are left empty: the branch's own
    /// commits carry the changes).
    pub merge: bool,
    /// Files under the root it touched, relative to the root.
    pub files: Vec<FileStat>,
}

/// One file of a commit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileStat {
    /// Path relative to the root (the new path, or the old one if deleted).
    pub path: String,
    /// Lines added (0 when not measured).
    pub added: u32,
    /// Lines deleted (0 when not measured).
    pub deleted: u32,
}

fn git_err(root: &Path) -> impl Fn(git2::Error) -> Error + '_ {
    move |source| Error::Git {
        path: root.to_owned(),
        source,
    }
}

fn commit_of<'r>(repo: &'r Repository, root: &Path, rev: &str) -> Result<git2::Commit<'r>> {
    repo.revparse_single(rev)
        .and_then(|o| o.peel_to_commit())
        .map_err(git_err(root))
}

/// Commits reachable from `rev` with author time at or after `since`,
/// newest first, each with the files it touched under `root`; lines added
/// and deleted are counted for commits at or after `lines_since` (patches
/// cost more than the list of files). `None` outside a git repository.
pub fn commit_stats(
    root: &Path,
    rev: &str,
    since: i64,
    lines_since: i64,
) -> Result<Option<Vec<CommitStat>>> {
    let Some((repo, prefix)) = open(root) else {
        return Ok(None);
    };
    let err = git_err(root);
    let start = commit_of(&repo, root, rev)?;
    let mut walk = repo.revwalk().map_err(&err)?;
    walk.set_sorting(Sort::TIME).map_err(&err)?;
    walk.push(start.id()).map_err(&err)?;
    let mut out = Vec::new();
    // Author times are not ordered strictly; a month of slack before
    // stopping covers rebased and cherry-picked commits.
    const SLACK: i64 = 30 * 86_400;
    for oid in walk {
        let Ok(oid) = oid else { break };
        let commit = repo.find_commit(oid).map_err(&err)?;
        let time = commit.author().when().seconds();
        if commit.time().seconds() < since - SLACK {
            break;
        }
        if time < since {
            continue;
        }
        let merge = commit.parent_count() > 1;
        let mut files = Vec::new();
        if !merge {
            let tree = commit.tree().map_err(&err)?;
            let parent = match commit.parent_count() {
                0 => None,
                _ => match commit.parent(0).and_then(|p| p.tree()) {
                    Ok(t) => Some(t),
                    // A shallow boundary: its files are unknown.
                    Err(_) => continue,
                },
            };
            let mut opts = DiffOptions::new();
            if !prefix.is_empty() {
                opts.pathspec(&prefix);
            }
            let diff = repo
                .diff_tree_to_tree(parent.as_ref(), Some(&tree), Some(&mut opts))
                .map_err(&err)?;
            let with_lines = time >= lines_since;
            for (i, delta) in diff.deltas().enumerate() {
                let file = delta.new_file().path().or_else(|| delta.old_file().path());
                let Some(rel) = file
                    .map(lore_core::path::from_path)
                    .and_then(|p| p.strip_prefix(prefix.as_str()).map(str::to_owned))
                else {
                    continue;
                };
                let (mut added, mut deleted) = (0, 0);
                if with_lines
                    && let Ok(Some(patch)) = git2::Patch::from_diff(&diff, i)
                    && let Ok((_, a, d)) = patch.line_stats()
                {
                    added = a as u32;
                    deleted = d as u32;
                }
                files.push(FileStat {
                    path: rel,
                    added,
                    deleted,
                });
            }
        }
        let author = commit.author();
        let who = author
            .email()
            .ok()
            .filter(|e| !e.is_empty())
            .or(author.name().ok())
            .unwrap_or("")
            .to_lowercase();
        out.push(CommitStat {
            sha: oid.to_string(),
            time,
            author: who,
            subject: commit.summary().ok().flatten().unwrap_or("").to_owned(),
            merge,
            files,
        });
    }
    Ok(Some(out))
}

/// The sha and author time of `rev`. `None` outside a git repository.
pub fn commit_time(root: &Path, rev: &str) -> Result<Option<(String, i64)>> {
    let Some((repo, _)) = open(root) else {
        return Ok(None);
    };
    let commit = commit_of(&repo, root, rev)?;
    Ok(Some((commit.id().to_string(), commit.time().seconds())))
}

/// The newest commit on `rev`'s first-parent line committed at or before
/// `time`, with its commit time: the state of the main line then.
pub fn commit_at(root: &Path, rev: &str, time: i64) -> Result<Option<(String, i64)>> {
    let Some((repo, _)) = open(root) else {
        return Ok(None);
    };
    let mut commit = commit_of(&repo, root, rev)?;
    loop {
        if commit.time().seconds() <= time {
            return Ok(Some((commit.id().to_string(), commit.time().seconds())));
        }
        match commit.parent(0) {
            Ok(parent) => commit = parent,
            Err(_) => return Ok(None),
        }
    }
}

/// Writes the files of commit `rev` under `root`'s path in the repository
/// into `dest` (regular and executable files; links and submodules left
/// out). Returns how many files it wrote.
pub fn write_tree(root: &Path, rev: &str, dest: &Path) -> Result<usize> {
    let Some((repo, prefix)) = open(root) else {
        return Err(Error::Command(format!(
            "{}: not in a git repository",
            root.display()
        )));
    };
    let err = git_err(root);
    let tree = commit_of(&repo, root, rev)?.tree().map_err(&err)?;
    let mut blobs: Vec<(String, Oid)> = Vec::new();
    tree.walk(TreeWalkMode::PreOrder, |dir, entry| {
        if entry.kind() == Some(ObjectType::Blob) && matches!(entry.filemode(), 0o100644 | 0o100755)
        {
            let path = format!("{dir}{}", entry.name().unwrap_or(""));
            if let Some(rel) = path.strip_prefix(prefix.as_str()) {
                blobs.push((rel.to_owned(), entry.id()));
            }
        }
        TreeWalkResult::Ok
    })
    .map_err(&err)?;
    let io = |path: &Path, e: std::io::Error| Error::Command(format!("{}: {e}", path.display()));
    for (rel, oid) in &blobs {
        let blob = repo.find_blob(*oid).map_err(&err)?;
        let path = dest.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| io(parent, e))?;
        }
        std::fs::write(&path, blob.content()).map_err(|e| io(&path, e))?;
    }
    Ok(blobs.len())
}
