//! The right to forget: `lore purge PATH...` removes paths from every store
//! of a repository and keeps them out of later runs.
//!
//! What holds something of a file, and how purge reaches it:
//! - the metadata store (rows, chunk texts) and the lexical generations
//!   (postings, stored text; deleted documents linger in segments until a
//!   merge, and SQLite keeps freed pages): rebuilt from the source without
//!   the path ([`crate::rebuild`]), old generations and vector files
//!   deleted with the rest of the derived data;
//! - learned and transformer vector files: rebuilt with them;
//! - the embedding cache shared by the repositories of `LORE_HOME`: the
//!   vectors of the path's chunk texts are deleted (`secure_delete`, WAL
//!   truncated);
//! - the history (`history.db`): every answer that used evidence from the
//!   path or cited it, with its retrieval log and feedback;
//! - `purged` in the data directory: the list later runs skip (status says
//!   `purged`), until `lore purge --allow`.
//!
//! Stores added later (facts, training sets, adapters) join this list.

use std::path::Path;

use lore_core::history::HistoryStore;
use lore_core::store::{EmbeddingCache, MetaStore};
use lore_store::{SqliteEmbeddingCache, SqliteHistory, SqliteStore};

use crate::error::{Error, Result, io};
use crate::home::Home;
use crate::layout::Layout;
use crate::pipeline::{IndexConfig, Progress};
use crate::walk::is_purged;

/// What a purge removed.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct PurgeReport {
    /// The paths now kept out, relative to the root.
    pub paths: Vec<String>,
    /// Indexed files that matched (removed by the rebuild).
    pub files: usize,
    /// Cached transformer vectors removed.
    pub cached_vectors: usize,
    /// Recorded answers removed.
    pub answers: usize,
    /// Facts the thinker derived from them (cards, dossiers, digests).
    pub facts: u64,
    /// Insights citing them.
    pub insights: u64,
    /// Run artifacts naming them.
    pub artifacts: u64,
    /// Translation tables of retrieval policies removed (learned from
    /// every documented function, these among them; the feature scores 0
    /// until the next training).
    pub translation_tables: usize,
    /// Adapter versions trained on the paths: marked stale (for
    /// retraining), the paths' names taken out of their records.
    pub stale_adapters: usize,
}

/// The purged paths of a data directory.
pub(crate) fn purged_paths(layout: &Layout) -> Result<Vec<String>> {
    match std::fs::read_to_string(layout.purged()) {
        Ok(text) => Ok(text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(io(layout.purged())(e)),
    }
}

fn write_purged(layout: &Layout, paths: &[String]) -> Result<()> {
    let path = layout.purged();
    let tmp = path.with_extension("tmp");
    let mut text = paths.join("\n");
    text.push('\n');
    std::fs::write(&tmp, text).map_err(io(&tmp))?;
    std::fs::rename(&tmp, &path).map_err(io(&path))
}

/// `path` relative to `root` as stored (`/`-separated, names that are not
/// UTF-8 kept; see `lore_core::path`); refused if it leaves the
/// repository.
fn relative(root: &Path, path: &Path) -> Result<String> {
    let absolute = if path.is_absolute() {
        path.to_owned()
    } else {
        std::env::current_dir().map_err(io("."))?.join(path)
    };
    let mut normal = std::path::PathBuf::new();
    for c in absolute.components() {
        match c {
            std::path::Component::ParentDir => {
                normal.pop();
            }
            std::path::Component::CurDir => {}
            other => normal.push(other.as_os_str()),
        }
    }
    match normal.strip_prefix(root) {
        Ok(rel) if !rel.as_os_str().is_empty() => Ok(lore_core::path::from_path(rel)),
        _ => Err(Error::Invalid(format!(
            "{}: not inside {}",
            path.display(),
            root.display()
        ))),
    }
}

/// Removes `paths` (files or directories, relative to the current
/// directory or absolute) from every store of the repository at `root`
/// (see the module docs) and keeps them out of later runs.
pub fn purge(
    home: &Home,
    root: &Path,
    paths: &[std::path::PathBuf],
    config: &IndexConfig,
    progress: &dyn Progress,
) -> Result<PurgeReport> {
    let root = root.canonicalize().map_err(io(root))?;
    let layout = home.layout(&root);
    let mut report = PurgeReport::default();
    for path in paths {
        report.paths.push(relative(&root, path)?);
    }
    {
        let _lock = crate::DirLock::acquire(&layout, crate::LockKind::Index)?;
        // First the list: from here on no run takes the paths back in.
        std::fs::create_dir_all(layout.dir()).map_err(io(layout.dir()))?;
        let mut purged = purged_paths(&layout)?;
        for p in &report.paths {
            if !purged.contains(p) {
                purged.push(p.clone());
            }
        }
        write_purged(&layout, &purged)?;
        let matches = |p: &str| is_purged(p, &report.paths);
        // The embedding cache: vectors of the paths' chunk texts.
        if let Ok(store) = SqliteStore::open_snapshot(&layout.db()) {
            let heads = store.all_chunk_heads()?;
            report.files = store.paths()?.iter().filter(|p| matches(p)).count();
            let ids: std::collections::HashSet<u64> = heads
                .iter()
                .filter(|h| matches(&h.path))
                .map(|h| h.id)
                .collect();
            let hashes: Vec<_> = store
                .chunk_texts()?
                .into_iter()
                .filter(|c| ids.contains(&c.id))
                .map(|c| crate::dense::input_hash(Some(&c.symbol), &c.text))
                .collect();
            let cache_path = home.embedding_cache();
            if !hashes.is_empty() && cache_path.exists() {
                let mut cache = SqliteEmbeddingCache::open(&cache_path)?;
                report.cached_vectors = cache.remove(&hashes)?;
            }
        }
        // The thinker's facts and insights about them.
        {
            use lore_core::jobs::JobStore;
            let repo = home.repo_id(&root);
            let mut thinker = lore_store::SqliteJobs::open(&home.thinker_db())?;
            for p in &report.paths {
                let (facts, insights) = thinker.forget_path(&repo, p)?;
                report.facts += facts;
                report.insights += insights;
            }
            report.artifacts =
                crate::worker::forget_artifacts_citing(&mut thinker, &repo, &report.paths)?;
        }
        // The history: answers that used or cited the paths.
        if layout.history_db().exists() {
            let mut history = SqliteHistory::open(&layout.history_db())?;
            report.answers = history.purge(&matches)?;
        }
        // Retrieval policies' translation tables hold words of the code.
        for entry in std::fs::read_dir(layout.dir())
            .into_iter()
            .flatten()
            .flatten()
        {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with("translation-v") && name.ends_with(".json") {
                std::fs::remove_file(entry.path()).map_err(io(&entry.path()))?;
                report.translation_tables += 1;
            }
        }
        // Adapters hold in their weights what they learned from the paths.
        report.stale_adapters = crate::adapt::mark_stale(layout.dir(), &matches)?;
    }
    // The index and its vectors, rebuilt without the paths.
    crate::rebuild(home, &root, config, progress)?;
    Ok(report)
}

/// Lets purged `paths` back in: the next run indexes them again. Returns
/// the paths that were purged.
pub fn allow(home: &Home, root: &Path, paths: &[std::path::PathBuf]) -> Result<Vec<String>> {
    let root = root.canonicalize().map_err(io(root))?;
    let layout = home.layout(&root);
    let _lock = crate::DirLock::acquire(&layout, crate::LockKind::Index)?;
    let wanted: Vec<String> = paths
        .iter()
        .map(|p| relative(&root, p))
        .collect::<Result<_>>()?;
    let mut purged = purged_paths(&layout)?;
    let before = purged.clone();
    purged.retain(|p| !wanted.contains(p));
    write_purged(&layout, &purged)?;
    Ok(before.into_iter().filter(|p| wanted.contains(p)).collect())
}
