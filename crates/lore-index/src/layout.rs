//! The layout of one repository's data directory and its locks: the one
//! place that knows the names of the files under `LORE_HOME/repos/<name>/`
//! (see the crate docs for the tree).

use std::fs::File;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result, io};

/// One repository's data directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layout {
    dir: PathBuf,
}

impl Layout {
    /// The layout of data directory `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> Layout {
        Layout { dir: dir.into() }
    }

    /// The directory itself.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The metadata store (SQLite).
    pub fn db(&self) -> PathBuf {
        self.dir.join("lore.db")
    }

    /// Where a first run bulk-loads the store before renaming it to [`db`](Self::db).
    pub fn db_scratch(&self) -> PathBuf {
        self.dir.join("lore.db.new")
    }

    /// Questions, answers and feedback (kept apart from the index, which a
    /// rebuild replaces).
    pub fn history_db(&self) -> PathBuf {
        self.dir.join("history.db")
    }

    /// The lexical generations' parent directory.
    pub fn lexical(&self) -> PathBuf {
        self.dir.join("lexical")
    }

    /// Lexical generation `generation`.
    pub fn generation(&self, generation: u64) -> PathBuf {
        self.lexical().join(format!("g{generation}"))
    }

    /// Learned-model vector files.
    pub fn vectors(&self) -> PathBuf {
        self.dir.join("vectors")
    }

    /// Learned models.
    pub fn models(&self) -> PathBuf {
        self.dir.join("models")
    }

    /// Transformer vector files.
    pub fn dense(&self) -> PathBuf {
        self.dir.join("dense")
    }

    /// Paths the user purged (`lore purge`), one per line: kept out of
    /// every run until allowed again. Not derived data: a rebuild keeps it.
    pub fn purged(&self) -> PathBuf {
        self.dir.join("purged")
    }

    /// Written when a search or `lore status --check` finds the lexical
    /// index or vectors damaged (what was found): the next run rebuilds
    /// them instead of building on them.
    pub fn damage_marker(&self) -> PathBuf {
        self.dir.join("damaged")
    }

    /// The log of a background embedding run.
    pub fn embed_log(&self) -> PathBuf {
        self.dir.join("embed.log")
    }

    /// Everything rebuilt from the source by `lore index --rebuild`: the
    /// metadata store (and its journal files), lexical generations, vectors
    /// and models. Not the history (questions, answers, feedback), which
    /// nothing could rebuild.
    pub fn derived(&self) -> Vec<PathBuf> {
        let db = self.db();
        let with = |suffix: &str| {
            let mut name = db.clone().into_os_string();
            name.push(suffix);
            PathBuf::from(name)
        };
        vec![
            with("-wal"),
            with("-shm"),
            db.clone(),
            self.db_scratch(),
            self.lexical(),
            self.vectors(),
            self.models(),
            self.dense(),
        ]
    }

    fn lock_path(&self, kind: LockKind) -> PathBuf {
        self.dir.join(match kind {
            LockKind::Index => "write.lock",
            LockKind::Embed => "embed.lock",
            LockKind::Maintain => "maintain.lock",
        })
    }
}

/// Which run a lock admits one of per repository.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LockKind {
    /// Index runs (`write.lock`).
    Index,
    /// Transformer embedding runs (`embed.lock`).
    Embed,
    /// Vector maintenance: retraining the learned model, merging segments
    /// (`maintain.lock`).
    Maintain,
}

impl LockKind {
    fn run(self) -> &'static str {
        match self {
            LockKind::Index => "an index run",
            LockKind::Embed => "an embedding run",
            LockKind::Maintain => "vector maintenance",
        }
    }
}

/// An OS file lock on a data directory, released when dropped or when the
/// process dies, so a killed run never blocks the next.
#[derive(Debug)]
pub struct DirLock {
    _file: File,
}

impl DirLock {
    fn open(layout: &Layout, kind: LockKind) -> Result<File> {
        std::fs::create_dir_all(layout.dir()).map_err(io(layout.dir()))?;
        let path = layout.lock_path(kind);
        File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(io(&path))
    }

    /// Takes the lock, waiting for a run that holds it.
    pub fn acquire(layout: &Layout, kind: LockKind) -> Result<DirLock> {
        let file = DirLock::open(layout, kind)?;
        if file.try_lock().is_err() {
            tracing::info!(dir = %layout.dir().display(), "waiting for {} to finish", kind.run());
            file.lock().map_err(io(layout.lock_path(kind)))?;
        }
        Ok(DirLock { _file: file })
    }

    /// Takes the lock, or says which run holds it.
    pub fn try_acquire(layout: &Layout, kind: LockKind) -> Result<DirLock> {
        let file = DirLock::open(layout, kind)?;
        file.try_lock().map_err(|_| {
            Error::Invalid(format!(
                "{}: {} is in progress",
                layout.dir().display(),
                kind.run()
            ))
        })?;
        Ok(DirLock { _file: file })
    }

    /// True while a run holds the lock.
    pub fn held(layout: &Layout, kind: LockKind) -> bool {
        let Ok(file) = File::options().write(true).open(layout.lock_path(kind)) else {
            return false;
        };
        file.try_lock().is_err()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_run_of_each_kind_at_a_time() {
        let dir = tempfile::tempdir().unwrap();
        let layout = Layout::new(dir.path().join("repo"));
        assert!(!DirLock::held(&layout, LockKind::Index));
        let index = DirLock::try_acquire(&layout, LockKind::Index).unwrap();
        assert!(DirLock::held(&layout, LockKind::Index));
        let err = DirLock::try_acquire(&layout, LockKind::Index).unwrap_err();
        assert!(
            err.to_string().contains("an index run is in progress"),
            "{err}"
        );
        // The other kind is independent.
        let embed = DirLock::try_acquire(&layout, LockKind::Embed).unwrap();
        drop(index);
        assert!(!DirLock::held(&layout, LockKind::Index));
        assert!(DirLock::held(&layout, LockKind::Embed));
        drop(embed);
        assert_eq!(
            layout.generation(7),
            layout.dir().join("lexical").join("g7")
        );
    }
}
