//! The repositories a long-lived process (the HTTP server, an MCP session)
//! knows, by id, and a pool of open index snapshots per repository.
//!
//! A repository's id is the name of its data directory under LORE_HOME
//! (`django-3f2a…`): stable, URL-safe, and the same for the CLI. A
//! [`RepoIndex`] holds a SQLite connection, so it is used by one request at
//! a time; the pool keeps a few open so that requests skip the open and the
//! lazily loaded vectors. A snapshot behind the committed generation is
//! dropped instead of reused.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::{Home, RepoIndex};

/// Snapshots open at once per repository: as many as searches run at once
/// ([`search_slots`]).
/// Memory a repository's resident data may take by default: 512 MiB holds
/// everything for about 1.5 million chunks (8 million lines of Rust).
pub const DEFAULT_RESIDENT_BUDGET: u64 = 512 << 20;

fn pool_size() -> usize {
    search_slots()
}

/// Searches that run at once: three per core. Search is CPU bound, but with
/// one per core a core idles while a finished search hands its result to
/// the async side and the next one is woken (measured on 2 cores: a fifth
/// of the CPU idle under load). Two and three per core filled the gaps
/// (three had the higher throughput in repeated runs); four added memory
/// and tail latency, not throughput.
pub fn search_slots() -> usize {
    3 * std::thread::available_parallelism().map_or(1, |n| n.get())
}
/// How often a pool checks the committed generation.
const GENERATION_CHECK: Duration = Duration::from_secs(1);

/// A repository the server serves.
#[derive(Clone, Debug)]
pub struct Repo {
    /// Its id (data directory name).
    pub id: String,
    /// Its root.
    pub root: PathBuf,
}

struct Pool {
    idle: Vec<RepoIndex>,
    /// Snapshots open, idle or leased.
    open: usize,
    /// The committed generation, as last checked.
    generation: u64,
    checked: Option<Instant>,
}

/// Known repositories and their open snapshots.
pub struct Registry {
    home: Home,
    /// Repositories registered in this process (by `lore serve PATH` or
    /// `POST /repos`) or already looked up among the indexed ones under
    /// LORE_HOME.
    registered: Mutex<BTreeMap<String, PathBuf>>,
    pools: Mutex<HashMap<String, Pool>>,
    /// Signalled when a snapshot is given back.
    returned: Condvar,
    size: usize,
    /// Memory each repository's resident data may take.
    budget: u64,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field("home", &self.home)
            .finish()
    }
}

/// A snapshot checked out of the pool; returned to it on drop.
pub struct Lease<'a> {
    registry: &'a Registry,
    id: String,
    index: Option<RepoIndex>,
}

impl std::ops::Deref for Lease<'_> {
    type Target = RepoIndex;
    fn deref(&self) -> &RepoIndex {
        self.index.as_ref().expect("leased index")
    }
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        if let Some(index) = self.index.take() {
            self.registry.give_back(&self.id, index);
        }
    }
}

impl Registry {
    /// A registry over `home`.
    pub fn new(home: Home) -> Registry {
        Registry {
            home,
            registered: Mutex::new(BTreeMap::new()),
            pools: Mutex::new(HashMap::new()),
            returned: Condvar::new(),
            size: pool_size(),
            budget: DEFAULT_RESIDENT_BUDGET,
        }
    }

    /// Limits the memory each repository's resident data may take (see
    /// [`RepoIndex::resident_within`]).
    pub fn with_resident_budget(mut self, bytes: u64) -> Registry {
        self.budget = bytes;
        self
    }

    /// Lore's data root.
    pub fn home(&self) -> &Home {
        &self.home
    }

    /// The id of the repository at `root`.
    pub fn id_of(&self, root: &Path) -> String {
        self.home
            .repo_dir(root)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    }

    /// Registers the repository at `root` (which must be a directory);
    /// returns it.
    pub fn register(&self, root: &Path) -> Result<Repo> {
        if !root.is_absolute() {
            return Err(Error::Invalid(format!(
                "{}: give the repository as an absolute path",
                root.display()
            )));
        }
        let root = root
            .canonicalize()
            .map_err(|e| Error::Invalid(format!("{}: {e}", root.display())))?;
        if !root.is_dir() {
            return Err(Error::NotADirectory(root));
        }
        let id = self.id_of(&root);
        lock(&self.registered).insert(id.clone(), root.clone());
        Ok(Repo { id, root })
    }

    /// Every repository: indexed under LORE_HOME or registered.
    pub fn list(&self) -> Result<Vec<Repo>> {
        let mut all: BTreeMap<String, PathBuf> = lock(&self.registered).clone();
        for entry in self.home.repos()? {
            if entry.damaged.is_some() {
                continue;
            }
            let id = entry
                .data_dir
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            all.entry(id).or_insert_with(|| PathBuf::from(entry.root));
        }
        Ok(all
            .into_iter()
            .map(|(id, root)| Repo { id, root })
            .collect())
    }

    /// The repository with id `id`.
    pub fn get(&self, id: &str) -> Result<Repo> {
        if let Some(root) = lock(&self.registered).get(id) {
            return Ok(Repo {
                id: id.to_owned(),
                root: root.clone(),
            });
        }
        // Scanning LORE_HOME opens every index: do it once per repository,
        // not on every request.
        let repo = self
            .list()?
            .into_iter()
            .find(|r| r.id == id)
            .ok_or_else(|| Error::UnknownRepo(id.to_owned()))?;
        lock(&self.registered).insert(repo.id.clone(), repo.root.clone());
        Ok(repo)
    }

    /// Per repository with open snapshots, the bytes its loaded data holds
    /// in memory (snapshots of a generation share it: counted once).
    pub fn resident_bytes(&self) -> Vec<(String, u64)> {
        let pools = lock(&self.pools);
        let mut out: Vec<(String, u64)> = pools
            .iter()
            .filter_map(|(id, pool)| {
                let bytes = pool.idle.iter().map(RepoIndex::resident_bytes).max()?;
                Some((id.clone(), bytes))
            })
            .collect();
        out.sort();
        out
    }

    /// An open snapshot of repository `id`, current as of the last second.
    /// At most one per core is open; callers beyond wait for one to be
    /// given back (they run on blocking threads).
    pub fn lease(&self, id: &str) -> Result<Lease<'_>> {
        let repo = self.get(id)?;
        let generation = self.generation(&repo)?;
        let mut pools = lock(&self.pools);
        loop {
            let pool = pools.entry(id.to_owned()).or_insert_with(|| Pool {
                idle: Vec::new(),
                open: 0,
                generation,
                checked: None,
            });
            while let Some(index) = pool.idle.pop() {
                if index.generation() == generation && index.policy_current() {
                    return Ok(self.leased(id, index));
                }
                pool.open = pool.open.saturating_sub(1);
            }
            if pool.open < self.size {
                pool.open += 1;
                break;
            }
            pools = self.returned.wait(pools).unwrap_or_else(|e| e.into_inner());
        }
        drop(pools);
        match RepoIndex::open(&self.home, &repo.root) {
            Ok(index) => Ok(self.leased(id, index.resident_within(self.budget))),
            Err(err) => {
                if let Some(pool) = lock(&self.pools).get_mut(id) {
                    pool.open = pool.open.saturating_sub(1);
                }
                self.returned.notify_one();
                Err(err)
            }
        }
    }

    fn leased(&self, id: &str, index: RepoIndex) -> Lease<'_> {
        Lease {
            registry: self,
            id: id.to_owned(),
            index: Some(index),
        }
    }

    /// The committed generation of `repo`, checked at most once a second.
    fn generation(&self, repo: &Repo) -> Result<u64> {
        {
            let pools = lock(&self.pools);
            if let Some(pool) = pools.get(&repo.id)
                && pool.checked.is_some_and(|t| t.elapsed() < GENERATION_CHECK)
            {
                return Ok(pool.generation);
            }
        }
        let generation = RepoIndex::current_generation(&self.home, &repo.root)?;
        let mut pools = lock(&self.pools);
        let pool = pools.entry(repo.id.clone()).or_insert_with(|| Pool {
            idle: Vec::new(),
            open: 0,
            generation,
            checked: None,
        });
        pool.generation = generation;
        pool.checked = Some(Instant::now());
        Ok(generation)
    }

    fn give_back(&self, id: &str, index: RepoIndex) {
        let mut pools = lock(&self.pools);
        if let Some(pool) = pools.get_mut(id) {
            if index.generation() == pool.generation {
                pool.idle.push(index);
            } else {
                pool.open = pool.open.saturating_sub(1);
            }
        }
        drop(pools);
        self.returned.notify_one();
    }

    /// Forgets the open snapshots of `id` (after an index run).
    pub fn invalidate(&self, id: &str) {
        if let Some(pool) = lock(&self.pools).get_mut(id) {
            pool.open = pool.open.saturating_sub(pool.idle.len());
            pool.idle.clear();
            pool.checked = None;
        }
        self.returned.notify_all();
    }
}

/// Locks a mutex, recovering from a panicked holder (the data are caches
/// and maps that stay consistent between statements).
pub fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}
