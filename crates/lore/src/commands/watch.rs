//! `lore watch`: a file watcher that keeps the index fresh — a burst of
//! changes becomes one incremental index run once the files are quiet for
//! the debounce time — and, with learning on, runs the ScanDiff that new
//! commits queue (and the thoughts it queues) for this repository.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use lore_index::Home;
use notify::{RecursiveMode, Watcher};

use crate::cli::*;
use crate::success;

use super::repo_root;

/// Whether a change at `path` (under `root`) can change the index or
/// HEAD: git's internals are ignored except where HEAD and branches live.
pub(crate) fn relevant(root: &Path, home: &Path, path: &Path) -> bool {
    if path.starts_with(home) {
        return false;
    }
    let Ok(rel) = path.strip_prefix(root) else {
        return false;
    };
    let mut parts = rel.components().map(|c| c.as_os_str().to_string_lossy());
    match parts.next().as_deref() {
        Some(".git") => match parts.next().as_deref() {
            Some("HEAD") | Some("packed-refs") => true,
            Some("refs") => !rel.to_string_lossy().ends_with(".lock"),
            _ => false,
        },
        Some(_) => true,
        None => false,
    }
}

/// Waits for a burst of changes and returns its paths: the first one, then
/// every one until none came for `quiet` (or `max` passed since the first,
/// so a steady stream still gets indexed). `None` when the sender is gone.
pub(crate) fn next_burst(
    rx: &Receiver<PathBuf>,
    quiet: Duration,
    max: Duration,
) -> Option<Vec<PathBuf>> {
    let first = rx.recv().ok()?;
    let start = Instant::now();
    let mut burst = vec![first];
    loop {
        let left = max.saturating_sub(start.elapsed());
        if left.is_zero() {
            return Some(burst);
        }
        match rx.recv_timeout(quiet.min(left)) {
            Ok(p) => burst.push(p),
            Err(RecvTimeoutError::Timeout) => return Some(burst),
            Err(RecvTimeoutError::Disconnected) => return Some(burst),
        }
    }
}

/// `lore watch`.
pub(crate) fn watch(home: &Home, args: WatchArgs, g: &GlobalArgs) -> Result<ExitCode> {
    let root = repo_root(home, g)?.canonicalize()?;
    let home_dir = home
        .path()
        .canonicalize()
        .unwrap_or_else(|_| home.path().to_owned());
    let config = lore_index::IndexConfig::default();
    let worker = lore_index::worker::WorkerConfig {
        repos: vec![home.repo_id(&root)],
        ..Default::default()
    };
    let run = |why: &str| -> Result<()> {
        let report = lore_index::index_repo(home, &root, &config, &())?;
        lore_index::worker::after_index(home, &report)?;
        lore_index::worker::queue_maintenance(home, &report)?;
        outln!(
            "indexed ({why}): {} added, {} modified, {} deleted, {} renamed",
            report.summary.added.len(),
            report.summary.modified.len(),
            report.summary.deleted.len(),
            report.summary.renamed.len()
        )?;
        if lore_index::learning::is_on(home, &root)? {
            while let Some(run) = lore_index::worker::run_next(home, &worker)? {
                let what = if run.committed {
                    "done"
                } else {
                    "not committed"
                };
                outln!("run {} {what}", run.id)?;
            }
        }
        Ok(())
    };
    let (tx, rx) = std::sync::mpsc::channel();
    let (filter_root, filter_home) = (root.clone(), home_dir.clone());
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        let Ok(event) = event else { return };
        if matches!(event.kind, notify::EventKind::Access(_)) {
            return;
        }
        for path in event.paths {
            if relevant(&filter_root, &filter_home, &path) {
                let _ = tx.send(path);
            }
        }
    })
    .context("cannot start the file watcher")?;
    watcher
        .watch(&root, RecursiveMode::Recursive)
        .with_context(|| format!("{}: cannot watch", root.display()))?;
    run("start")?;
    if !g.quiet {
        eprintln!(
            "watching {} (a change indexes after {} ms of quiet; Ctrl-C stops)",
            root.display(),
            args.debounce_ms
        );
    }
    let quiet = Duration::from_millis(args.debounce_ms.max(10));
    while let Some(burst) = next_burst(&rx, quiet, quiet * 20) {
        let why = format!("{} changes", burst.len());
        if let Err(err) = run(&why) {
            // A failed run (a file mid-write, a lock held) is retried at
            // the next change; the watcher goes on.
            crate::report_error(&err);
        }
    }
    Ok(success())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_ends_after_quiet_or_at_most_max() {
        let (tx, rx) = std::sync::mpsc::channel();
        let feeder = std::thread::spawn(move || {
            for i in 0..5 {
                tx.send(PathBuf::from(format!("f{i}"))).unwrap();
                std::thread::sleep(Duration::from_millis(10));
            }
            std::thread::sleep(Duration::from_millis(400));
            tx.send(PathBuf::from("late")).unwrap();
        });
        let quiet = Duration::from_millis(150);
        let first = next_burst(&rx, quiet, Duration::from_secs(5)).unwrap();
        assert_eq!(first.len(), 5, "one burst: {first:?}");
        let second = next_burst(&rx, quiet, Duration::from_secs(5)).unwrap();
        assert_eq!(second, [PathBuf::from("late")]);
        feeder.join().unwrap();
        assert!(next_burst(&rx, quiet, Duration::from_secs(5)).is_none());

        // A steady stream is cut at `max`.
        let (tx, rx) = std::sync::mpsc::channel();
        let feeder = std::thread::spawn(move || {
            for i in 0..40 {
                if tx.send(PathBuf::from(format!("s{i}"))).is_err() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        });
        let cut = next_burst(&rx, quiet, Duration::from_millis(200)).unwrap();
        assert!(cut.len() < 40, "{}", cut.len());
        drop(rx);
        feeder.join().unwrap();
    }

    #[test]
    fn git_internals_are_ignored_but_head_and_branches_are_not() {
        let (root, home) = (Path::new("/r"), Path::new("/r/.lore-home"));
        assert!(relevant(root, home, Path::new("/r/src/a.py")));
        assert!(relevant(root, home, Path::new("/r/.git/HEAD")));
        assert!(relevant(root, home, Path::new("/r/.git/refs/heads/main")));
        assert!(!relevant(
            root,
            home,
            Path::new("/r/.git/refs/heads/main.lock")
        ));
        assert!(!relevant(root, home, Path::new("/r/.git/objects/ab/cdef")));
        assert!(!relevant(root, home, Path::new("/r/.git/index")));
        assert!(!relevant(root, home, Path::new("/r/.lore-home/thinker.db")));
        assert!(!relevant(root, home, Path::new("/elsewhere/a.py")));
    }
}
