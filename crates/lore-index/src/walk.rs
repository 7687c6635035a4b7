//! Walking a repository with the `ignore` crate: .gitignore,
//! .git/info/exclude and .loreignore are honoured, hidden files skipped,
//! symlinks followed only while they stay inside the repository.

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
}

pub(crate) struct WalkOutput {
    pub(crate) files: Vec<Walked>,
    pub(crate) skipped: Vec<SkippedFile>,
}

fn rel_path(root: &Path, path: &Path) -> String {
    path.strip_prefix(root)
        .unwrap_or(path)
        .to_string_lossy()
        .replace('\\', "/")
}

fn skipped(path: String, reason: &str, detail: String) -> SkippedFile {
    SkippedFile {
        path,
        reason: reason.to_owned(),
        detail,
        indexed: false,
    }
}

pub(crate) fn walk(root: &Path, max_file_size: u64) -> WalkOutput {
    let files = Mutex::new(Vec::new());
    let skips = Mutex::new(Vec::new());
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
            if entry.path_is_symlink() {
                match path.canonicalize() {
                    Ok(target) if target.starts_with(root) => {}
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
            if !file_type.is_file() {
                return WalkState::Continue;
            }
            let rel = rel_path(root, path);
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
            });
            WalkState::Continue
        })
    });
    let mut files = files.into_inner().unwrap();
    files.sort_by(|a, b| a.rel.cmp(&b.rel));
    let mut skipped = skips.into_inner().unwrap();
    skipped.sort_by(|a, b| a.path.cmp(&b.path));
    WalkOutput { files, skipped }
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
