//! Where Lore keeps its data: one directory per repository under LORE_HOME.

use std::path::{Component, Path, PathBuf};

use lore_core::store::MetaStore;
use lore_store::SqliteStore;

use crate::error::{Error, Result, io};

/// Lore's data root.
#[derive(Clone, Debug)]
pub struct Home {
    root: PathBuf,
}

/// An indexed repository, as listed by `lore repos`.
#[derive(Clone, Debug)]
pub struct RepoEntry {
    /// The repository root.
    pub root: String,
    /// Its data directory.
    pub data_dir: PathBuf,
    /// Indexed files.
    pub files: u64,
    /// HEAD at the last run.
    pub head: Option<String>,
    /// Start of the last run, seconds since the epoch.
    pub indexed_at: Option<i64>,
    /// Why the index cannot be read, when it is damaged (its root is then
    /// unknown: it is stored inside).
    pub damaged: Option<String>,
}

impl Home {
    /// `explicit` if given, else `LORE_HOME`, else the platform data
    /// directory (e.g. `~/.local/share/lore`).
    pub fn resolve(explicit: Option<PathBuf>) -> Result<Home> {
        let from_env = std::env::var_os("LORE_HOME").map(PathBuf::from);
        let root = match explicit.or(from_env).filter(|p| !p.as_os_str().is_empty()) {
            Some(root) => root,
            None => dirs::data_dir().map(|d| d.join("lore")).ok_or_else(|| {
                Error::Invalid("no data directory on this platform; set LORE_HOME".into())
            })?,
        };
        Ok(Home { root })
    }

    /// A data root at `root`.
    pub fn at(root: &Path) -> Home {
        Home {
            root: root.to_owned(),
        }
    }

    /// The data root.
    pub fn path(&self) -> &Path {
        &self.root
    }

    /// The embedding cache shared by every repository of this data root.
    pub fn embedding_cache(&self) -> PathBuf {
        self.root.join("embeddings.db")
    }

    /// The thinker's queue and facts, shared by every repository of this
    /// data root (run ids are unique across repositories).
    pub fn thinker_db(&self) -> PathBuf {
        self.root.join("thinker.db")
    }

    /// Settings (`config.toml`): providers, privacy, `[smells]`.
    pub fn config_file(&self) -> PathBuf {
        self.root.join("config.toml")
    }

    /// The id of the repository at `root`: its data directory's name.
    pub fn repo_id(&self, root: &Path) -> String {
        self.repo_dir(root)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    }

    /// The layout of `root`'s data directory.
    pub fn layout(&self, root: &Path) -> crate::Layout {
        crate::Layout::new(self.repo_dir(root))
    }

    /// The data directory of the repository at `root` (which need not exist).
    pub fn repo_dir(&self, root: &Path) -> PathBuf {
        let key = repo_key(root);
        let name: String = root
            .file_name()
            .map(|n| {
                n.to_string_lossy()
                    .chars()
                    .filter(|c| c.is_alphanumeric() || "-_.".contains(*c))
                    .collect()
            })
            .unwrap_or_default();
        let hash = blake3::hash(key.as_bytes()).to_hex();
        let name = if name.is_empty() {
            "root".to_owned()
        } else {
            name
        };
        self.root
            .join("repos")
            .join(format!("{name}-{}", &hash[..12]))
    }

    /// Every indexed repository.
    pub fn repos(&self) -> Result<Vec<RepoEntry>> {
        let dir = self.root.join("repos");
        let Ok(entries) = std::fs::read_dir(&dir) else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        for entry in entries {
            let entry = entry.map_err(io(&dir))?;
            let db = crate::Layout::new(entry.path()).db();
            if !db.exists() {
                continue;
            }
            let read = || -> lore_core::Result<Option<(lore_core::store::RepoMeta, u64)>> {
                let store = SqliteStore::open_snapshot(&db)?;
                let meta = store.meta()?;
                if meta.generation == 0 {
                    return Ok(None);
                }
                let files = store
                    .stats()?
                    .files_per_lang
                    .iter()
                    .map(|(_, n, _)| n)
                    .sum();
                Ok(Some((meta, files)))
            };
            match read() {
                Ok(Some((meta, files))) => out.push(RepoEntry {
                    root: meta.root,
                    data_dir: entry.path(),
                    files,
                    head: meta.head,
                    indexed_at: meta.last_run.map(|r| r.started_at),
                    damaged: None,
                }),
                Ok(None) => {}
                // Listed, not hidden: the user must learn it is damaged.
                Err(err) => out.push(RepoEntry {
                    root: String::new(),
                    data_dir: entry.path(),
                    files: 0,
                    head: None,
                    indexed_at: None,
                    damaged: Some(
                        std::iter::successors(Some(&err as &dyn std::error::Error), |e| e.source())
                            .last()
                            .map_or_else(|| err.to_string(), |e| e.to_string()),
                    ),
                }),
            }
        }
        out.sort_by(|a, b| a.root.cmp(&b.root));
        Ok(out)
    }

    /// Deletes a repository's index entirely. Returns the removed directory.
    pub fn forget(&self, root: &Path) -> Result<Option<PathBuf>> {
        let mut dir = self.repo_dir(root);
        if !dir.exists() {
            // The path may have been given differently; match stored roots.
            let key = repo_key(root);
            match self.repos()?.into_iter().find(|r| r.root == key) {
                Some(entry) => dir = entry.data_dir,
                None => return Ok(None),
            }
        }
        let lock = crate::DirLock::try_acquire(&crate::Layout::new(&dir), crate::LockKind::Index)?;
        // The thinker's runs and facts of the repository go with it.
        let id = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if self.thinker_db().exists() {
            use lore_core::jobs::JobStore;
            lore_store::SqliteJobs::open(&self.thinker_db())?.forget_repo(&id)?;
        }
        std::fs::remove_dir_all(&dir).map_err(io(&dir))?;
        drop(lock);
        Ok(Some(dir))
    }
}

/// The canonical string form of a repository root: canonicalized when it
/// exists, otherwise made absolute and normalized lexically.
pub(crate) fn repo_key(root: &Path) -> String {
    if let Ok(canonical) = root.canonicalize() {
        return canonical.to_string_lossy().into_owned();
    }
    let absolute = std::env::current_dir()
        .map(|cwd| cwd.join(root))
        .unwrap_or_else(|_| root.to_owned());
    let mut out = PathBuf::new();
    for component in absolute.components() {
        match component {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out.to_string_lossy().into_owned()
}
