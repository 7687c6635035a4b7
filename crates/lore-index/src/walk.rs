//! Walking a repository with the `ignore` crate: .gitignore,
//! .git/info/exclude and .loreignore are honoured, hidden files skipped,
//! symlinks followed only while they stay inside the repository.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use ignore::{WalkBuilder, WalkState};
use lore_core::store::SkippedFile;

/// A file found by the walk.
#[derive(Clone, Debug)]
pub(crate) struct Walked {
    /// Path relative to the root, `/`-separated.
    pub(crate) rel: String,
    pub(crate) abs: PathBuf,
    pub(crate) size: u64,
    pub(crate) mtime_ns: i64,
    /// For a symlink, the file it resolves to (relative to the root): its
    /// name decides secrecy as much as the link's.
    pub(crate) target: Option<String>,
}

/// A symlink the walk followed, inside the repository.
struct Link {
    alias: String,
    target: String,
    dir: bool,
}

pub(crate) struct WalkOutput {
    pub(crate) files: Vec<Walked>,
    pub(crate) skipped: Vec<SkippedFile>,
}

/// `path` relative to `root` as stored: lossless for names that are not
/// UTF-8 (see `lore_core::path`).
fn rel_path(root: &Path, path: &Path) -> String {
    lore_core::path::from_path(path.strip_prefix(root).unwrap_or(path))
}

fn skipped(path: String, reason: &str, detail: String) -> SkippedFile {
    SkippedFile {
        path,
        reason: reason.to_owned(),
        detail,
        indexed: false,
        seen: None,
    }
}

/// Whether `rel` is `purged` or inside a purged directory.
pub(crate) fn is_purged(rel: &str, purged: &[String]) -> bool {
    purged.iter().any(|p| {
        rel == p
            || rel
                .strip_prefix(p.as_str())
                .is_some_and(|rest| rest.starts_with('/'))
    })
}

pub(crate) fn walk(root: &Path, max_file_size: u64, purged: &[String]) -> WalkOutput {
    let files = Mutex::new(Vec::new());
    let skips = Mutex::new(Vec::new());
    let links: Mutex<Vec<Link>> = Mutex::new(Vec::new());
    let dirs: Mutex<HashSet<String>> = Mutex::new(HashSet::new());
    let walker = WalkBuilder::new(root)
        .follow_links(true)
        .require_git(false)
        .add_custom_ignore_filename(".loreignore")
        .threads(
            std::thread::available_parallelism()
                .map_or(2, |n| n.get())
                .min(4),
        )
        .build_parallel();
    walker.run(|| {
        let files = &files;
        let skips = &skips;
        let links = &links;
        let dirs = &dirs;
        Box::new(move |entry| {
            let entry = match entry {
                Ok(entry) => entry,
                Err(err) => {
                    let (reason, path) = describe_walk_error(root, &err);
                    skips
                        .lock()
                        .unwrap()
                        .push(skipped(path, reason, err.to_string()));
                    return WalkState::Continue;
                }
            };
            let path = entry.path();
            let mut target_rel = None;
            if entry.path_is_symlink() {
                match path.canonicalize() {
                    Ok(target) if target.starts_with(root) => {
                        let target = rel_path(root, &target);
                        links.lock().unwrap().push(Link {
                            alias: rel_path(root, path),
                            target: target.clone(),
                            dir: entry.file_type().is_some_and(|t| t.is_dir()),
                        });
                        target_rel = Some(target);
                    }
                    Ok(target) => {
                        let detail = format!("points to {}", target.display());
                        skips.lock().unwrap().push(skipped(
                            rel_path(root, path),
                            "symlink-outside",
                            detail,
                        ));
                        return WalkState::Skip;
                    }
                    Err(err) => {
                        skips.lock().unwrap().push(skipped(
                            rel_path(root, path),
                            "unreadable",
                            err.to_string(),
                        ));
                        return WalkState::Skip;
                    }
                }
            }
            let Some(file_type) = entry.file_type() else {
                return WalkState::Continue;
            };
            if file_type.is_dir() && target_rel.is_none() {
                dirs.lock().unwrap().insert(rel_path(root, path));
            }
            if !file_type.is_file() {
                return WalkState::Continue;
            }
            let rel = rel_path(root, path);
            if is_purged(&rel, purged) {
                let detail = "purged by the user; `lore purge --allow` lets it back in".to_owned();
                skips.lock().unwrap().push(skipped(rel, "purged", detail));
                return WalkState::Continue;
            }
            let meta = match entry.metadata() {
                Ok(meta) => meta,
                Err(err) => {
                    skips
                        .lock()
                        .unwrap()
                        .push(skipped(rel, "unreadable", err.to_string()));
                    return WalkState::Continue;
                }
            };
            if meta.len() > max_file_size {
                let detail = format!("{} bytes > limit {max_file_size}", meta.len());
                skips
                    .lock()
                    .unwrap()
                    .push(skipped(rel, "too-large", detail));
                return WalkState::Continue;
            }
            let mtime_ns = meta
                .modified()
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_nanos() as i64);
            files.lock().unwrap().push(Walked {
                rel,
                abs: path.to_owned(),
                size: meta.len(),
                mtime_ns,
                target: target_rel,
            });
            WalkState::Continue
        })
    });
    let mut files = files.into_inner().unwrap();
    let mut skipped = skips.into_inner().unwrap();
    drop_links_to_unwalked(
        &mut files,
        &mut skipped,
        links.into_inner().unwrap(),
        &dirs.into_inner().unwrap(),
    );
    files.sort_by(|a, b| a.rel.cmp(&b.rel));
    skipped.sort_by(|a, b| a.path.cmp(&b.path));
    WalkOutput { files, skipped }
}

/// A symlink is followed only to what the walk itself takes: a link to an
/// ignored or hidden file (`env_alias.txt -> .env`) or directory would
/// otherwise index, serve and send what the user kept out.
fn drop_links_to_unwalked(
    files: &mut Vec<Walked>,
    skipped: &mut Vec<SkippedFile>,
    links: Vec<Link>,
    dirs: &HashSet<String>,
) {
    let walked: HashSet<String> = files
        .iter()
        .filter(|f| f.target.is_none())
        .map(|f| f.rel.clone())
        .collect();
    let mut dropped_dirs: Vec<String> = Vec::new();
    for link in links {
        let taken = if link.dir {
            dirs.contains(&link.target)
        } else {
            walked.contains(&link.target)
        };
        if taken {
            continue;
        }
        let detail = format!(
            "points to {}, which is ignored (.gitignore, .loreignore or hidden)",
            link.target
        );
        if link.dir {
            dropped_dirs.push(format!("{}/", link.alias));
        }
        skipped.push(self::skipped(link.alias, "symlink-ignored", detail));
    }
    files.retain(|f| {
        let under_dropped = dropped_dirs.iter().any(|d| f.rel.starts_with(d.as_str()));
        let dropped_file = f.target.as_ref().is_some_and(|t| !walked.contains(t));
        !under_dropped && !dropped_file
    });
}

fn describe_walk_error(root: &Path, err: &ignore::Error) -> (&'static str, String) {
    let mut err = err;
    let mut path = None;
    loop {
        match err {
            ignore::Error::WithPath {
                path: p,
                err: inner,
            } => {
                path = Some(p.clone());
                err = inner;
            }
            ignore::Error::WithDepth { err: inner, .. }
            | ignore::Error::WithLineNumber { err: inner, .. } => err = inner,
            ignore::Error::Loop { child, .. } => return ("symlink-loop", rel_path(root, child)),
            ignore::Error::Io(_) => {
                return (
                    "unreadable",
                    path.map(|p| rel_path(root, &p)).unwrap_or_default(),
                );
            }
            _ => break,
        }
    }
    (
        "walk-error",
        path.map(|p| rel_path(root, &p)).unwrap_or_default(),
    )
}
