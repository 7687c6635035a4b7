//! One index run: walk, detect changes, parse in parallel, write both
//! stores, switch generations atomically.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use lore_core::store::{
    FileRecord, FileState, LexicalDoc, LexicalWriter, MetaStore, MetaWriter, RunSummary,
    SkippedFile,
};
use lore_core::{FileSyntax, Language};
use lore_git::HistoryConfig;
use lore_search::{TantivyIndex, WriterConfig};
use lore_store::SqliteStore;
use lore_syntax::ChunkLimits;
use rayon::prelude::*;

use crate::classify::{Verdict, classify, looks_binary};
use crate::embed::{EmbedConfig, EmbedReport, refresh_vectors};
use crate::error::{Error, Result, io};
use crate::home::{Home, repo_key};
use crate::walk::{Walked, walk};

/// Settings of an index run.
#[derive(Clone, Debug)]
pub struct IndexConfig {
    /// Files larger than this many bytes are skipped.
    pub max_file_size: u64,
    /// Chunk size limits.
    pub chunk_limits: ChunkLimits,
    /// How much git history to read.
    pub history: HistoryConfig,
    /// Lexical writer resources.
    pub lexical: WriterConfig,
    /// Parser threads (0: one per core).
    pub threads: usize,
    /// Vectors after the run.
    pub embed: EmbedConfig,
    /// Line ranges (first, last) blanked out of files before parsing, by
    /// path. Line numbers are kept. `lore eval --from-docs` hides doc
    /// comments this way.
    pub masks: HashMap<String, Vec<(u32, u32)>>,
}

impl Default for IndexConfig {
    fn default() -> IndexConfig {
        IndexConfig {
            max_file_size: 1 << 20,
            chunk_limits: ChunkLimits::default(),
            history: HistoryConfig::default(),
            lexical: WriterConfig::default(),
            threads: 0,
            embed: EmbedConfig::default(),
            masks: HashMap::new(),
        }
    }
}

/// Removes everything the next run rebuilds from the source (see
/// [`Layout::derived`](crate::Layout::derived)), under the index lock, so
/// that the run builds a fresh index: the way back from a damaged store.
/// Keeps the history. Returns the embedder spec the store named, if it
/// could still be read, for the caller to set again.
pub fn discard_derived(home: &Home, root: &Path) -> Result<Option<String>> {
    let root = root.canonicalize().map_err(io(root))?;
    let layout = home.layout(&root);
    if !layout.dir().exists() {
        return Ok(None);
    }
    let _lock = crate::DirLock::acquire(&layout, crate::LockKind::Index)?;
    let spec = SqliteStore::open_snapshot(&layout.db())
        .ok()
        .and_then(|store| store.get_meta(crate::dense::keys::SPEC).ok().flatten());
    for path in layout.derived() {
        let removed = if path.is_dir() {
            std::fs::remove_dir_all(&path)
        } else {
            std::fs::remove_file(&path)
        };
        match removed {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io(&path)(e)),
        }
    }
    Ok(spec)
}

/// Rebuilds the index of `root` from the source ([`discard_derived`], then
/// a run), setting the embedder the old index named again.
pub fn rebuild(
    home: &Home,
    root: &Path,
    config: &IndexConfig,
    progress: &dyn Progress,
) -> Result<IndexReport> {
    let spec = discard_derived(home, root)?;
    let report = index_repo(home, root, config, progress)?;
    if let Some(spec) = spec
        .as_deref()
        .map(lore_embed::EmbedderSpec::parse)
        .transpose()?
        && !spec.is_learned()
    {
        crate::set_embedder(home, &report.root, &spec)?;
    }
    Ok(report)
}

/// Receives progress of the parse stage. Implementations must be cheap.
pub trait Progress: Sync {
    /// The number of files to read and parse is known.
    fn start(&self, _total: u64) {}
    /// `n` more files are done.
    fn advance(&self, _n: u64) {}
    /// The parse stage is over; writing and committing follow.
    fn finish(&self) {}
}

impl Progress for () {}

/// What an index run did.
#[derive(Clone, Debug)]
pub struct IndexReport {
    /// Canonical repository root.
    pub root: PathBuf,
    /// Data directory of the repository.
    pub data_dir: PathBuf,
    /// Added, modified, deleted, renamed and unchanged files.
    pub summary: RunSummary,
    /// Files skipped (or indexed with caveats) and why.
    pub skipped: Vec<SkippedFile>,
    /// Files with syntax errors, indexed partially.
    pub syntax_errors: Vec<String>,
    /// Lexical generation now current.
    pub generation: u64,
    /// Files in the index after the run.
    pub files: usize,
    /// Lines parsed in this run.
    pub parsed_lines: u64,
    /// Bytes parsed in this run.
    pub parsed_bytes: u64,
    /// HEAD commit recorded.
    pub head: Option<String>,
    /// The commit the index was at before this run (`None`: first run or
    /// outside git).
    pub previous_head: Option<String>,
    /// What the embedding step did, if it ran and succeeded.
    pub embed: Option<EmbedReport>,
    /// Why the embedding step failed; the index itself is committed.
    pub embed_error: Option<String>,
    /// Set when the run rebuilt an index of an older format: what it was.
    pub rebuilt: Option<String>,
    /// A transformer embedder is configured (its vectors are a separate
    /// step, `lore embed run`).
    pub transformer: bool,
}

impl IndexReport {
    /// True if the run changed the index.
    pub fn changed(&self) -> bool {
        let s = &self.summary;
        !(s.added.is_empty()
            && s.modified.is_empty()
            && s.deleted.is_empty()
            && s.renamed.is_empty())
    }
}

/// Test hook: `LORE_FAULT=<point>` aborts the process at that point, to
/// prove that a crash there leaves a usable index.
pub(crate) fn fault(point: &str) {
    if std::env::var_os("LORE_FAULT").is_some_and(|v| v == point) {
        tracing::error!(point, "LORE_FAULT: aborting");
        std::process::abort();
    }
}

/// Test hook: `LORE_FAULT=error:<point>` makes the run fail there with an
/// error (as a full disk would), where [`fault`] kills it.
fn failpoint(point: &str) -> Result<()> {
    match std::env::var("LORE_FAULT") {
        Ok(v) if v.strip_prefix("error:") == Some(point) => Err(Error::Invalid(format!(
            "LORE_FAULT: simulated failure at {point}"
        ))),
        _ => Ok(()),
    }
}

/// Test hook: `LORE_THROTTLE_MS` slows each parsed file, to hold a run open.
fn throttle() {
    if let Some(ms) = std::env::var("LORE_THROTTLE_MS")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        std::thread::sleep(std::time::Duration::from_millis(ms));
    }
}

pub(crate) fn generation_dir(data_dir: &Path, generation: u64) -> PathBuf {
    crate::Layout::new(data_dir).generation(generation)
}

/// Removes lexical generations other than `keep`.
fn prune_generations(data_dir: &Path, keep: &[u64]) {
    let Ok(entries) = std::fs::read_dir(crate::Layout::new(data_dir).lexical()) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let generation = name
            .to_str()
            .and_then(|n| n.strip_prefix('g'))
            .and_then(|n| n.parse::<u64>().ok());
        if generation.is_some_and(|g| !keep.contains(&g))
            && let Err(err) = std::fs::remove_dir_all(entry.path())
        {
            tracing::warn!(path = %entry.path().display(), cause = %err, "could not remove old generation");
        }
    }
}

enum Outcome {
    Parsed {
        state: FileState,
        lang: Language,
        lines: u32,
        bytes: u64,
        syntax: FileSyntax,
        warning: Option<SkippedFile>,
    },
    Unchanged {
        state: FileState,
    },
    Skipped(SkippedFile),
}

/// The index takes about twice the source; a run needs room for what it
/// rewrites plus its scratch copies (bulk load, new segments, journal).
const SPACE_PER_SOURCE_BYTE: u64 = 3;

/// Refuses a run that would fill the disk (a full disk mid-run breaks
/// every repository's next write until space is freed).
fn check_free_space(data_dir: &Path, candidates: &[&Walked]) -> Result<()> {
    let source: u64 = candidates.iter().map(|w| w.size).sum();
    let need = source * SPACE_PER_SOURCE_BYTE + (16 << 20);
    let probe = data_dir
        .ancestors()
        .find(|d| d.exists())
        .unwrap_or(data_dir);
    // Test hook: `LORE_FREE_SPACE` (bytes) stands in for the real figure.
    let have = match std::env::var("LORE_FREE_SPACE")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        Some(fake) => fake,
        None => match fs4::available_space(probe) {
            Ok(have) => have,
            Err(_) => return Ok(()),
        },
    };
    if have < need {
        return Err(Error::NoSpace {
            dir: data_dir.to_owned(),
            need: need >> 20,
            have: have >> 20,
        });
    }
    Ok(())
}

/// Files a failed first run removes on the way out (emptied on success).
struct Scratch(Vec<PathBuf>);

impl Drop for Scratch {
    fn drop(&mut self) {
        for path in &self.0 {
            let _ = if path.is_dir() {
                std::fs::remove_dir_all(path)
            } else {
                std::fs::remove_file(path)
            };
            for suffix in ["-journal", "-wal", "-shm"] {
                let mut name = path.clone().into_os_string();
                name.push(suffix);
                let _ = std::fs::remove_file(PathBuf::from(name));
            }
        }
    }
}

/// What a run has written so far: the summary's lists and counts, the
/// paths still present, and what it skipped or parsed.
#[derive(Default)]
struct Written {
    summary: RunSummary,
    present: HashSet<String>,
    skipped: Vec<SkippedFile>,
    syntax_errors: Vec<String>,
    parsed_lines: u64,
    parsed_bytes: u64,
    /// (path, hash) of files new to the store: renames are found among them.
    added_hashes: Vec<(String, String)>,
}

impl Written {
    /// Writes one file's outcome to the store and the next lexical
    /// generation, and counts it.
    fn record(
        &mut self,
        outcome: Outcome,
        stored: &HashMap<String, FileState>,
        writer: &mut dyn MetaWriter,
        lexical: &mut NextGeneration<'_>,
    ) -> Result<()> {
        match outcome {
            Outcome::Unchanged { state } => {
                // Read and hashed (mtime moved or racily clean), same content.
                writer.touch_file(&state)?;
                self.summary.unchanged += 1;
                self.present.insert(state.path);
            }
            Outcome::Skipped(s) => self.skipped.push(s),
            Outcome::Parsed {
                state,
                lang,
                lines,
                bytes,
                syntax,
                warning,
            } => {
                let lex = lexical.writer()?;
                if stored.contains_key(&state.path) {
                    lex.delete_path(&state.path)?;
                    self.summary.modified.push(state.path.clone());
                } else {
                    self.added_hashes
                        .push((state.path.clone(), state.hash.clone()));
                }
                let record = FileRecord {
                    state: &state,
                    lang,
                    lines,
                    syntax: &syntax,
                };
                let ids = writer.put_file(&record)?;
                for (chunk, id) in syntax.chunks.iter().zip(ids) {
                    let symbol = syntax.chunk_symbol(chunk);
                    lex.add(&LexicalDoc {
                        chunk_id: id,
                        path: &state.path,
                        lang,
                        name: symbol.map_or("", |s| s.name.as_str()),
                        qualname: symbol.map_or("", |s| s.qualname.as_str()),
                        doc: symbol.and_then(|s| s.doc.as_deref()).unwrap_or(""),
                        text: &chunk.text,
                    })?;
                }
                if syntax.syntax_errors > 0 {
                    self.syntax_errors.push(state.path.clone());
                }
                self.parsed_lines += lines as u64;
                self.parsed_bytes += bytes;
                self.skipped.extend(warning);
                self.present.insert(state.path);
            }
        }
        Ok(())
    }
}

/// The lexical generation a run writes, opened on first need: a run that
/// changes nothing writes no generation.
struct NextGeneration<'a> {
    data_dir: &'a Path,
    current: u64,
    rebuilding: bool,
    config: &'a WriterConfig,
    writer: Option<Box<dyn LexicalWriter>>,
}

impl NextGeneration<'_> {
    /// The writer of generation `current + 1`, forked from the current one
    /// (unless rebuilding) the first time it is asked for.
    fn writer(&mut self) -> Result<&mut dyn LexicalWriter> {
        if self.writer.is_none() {
            let previous = generation_dir(self.data_dir, self.current);
            let from =
                (self.current > 0 && !self.rebuilding && previous.join("meta.json").exists())
                    .then_some(previous.as_path());
            let dir = generation_dir(self.data_dir, self.current + 1);
            lore_search::fork(from, &dir)?;
            let index = TantivyIndex::open_or_create(&dir)?;
            self.writer = Some(Box::new(index.writer(self.config)?));
        }
        Ok(self.writer.as_deref_mut().expect("lexical writer opened"))
    }
}

fn now_ns() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i64)
}

fn process(
    walked: &Walked,
    stored: Option<&FileState>,
    config: &IndexConfig,
    racy_after: i64,
) -> Outcome {
    let skipped = |reason: &str, detail: String| {
        Outcome::Skipped(SkippedFile {
            path: walked.rel.clone(),
            reason: reason.into(),
            detail,
            indexed: false,
            seen: None,
        })
    };
    // Probe for binary content before reading a whole large file.
    let bytes = match std::fs::read(&walked.abs) {
        Ok(bytes) => bytes,
        Err(err) => return skipped("unreadable", err.to_string()),
    };
    if looks_binary(&bytes) {
        return skipped("binary", "contains NUL bytes".into());
    }
    let hash = blake3::hash(&bytes).to_hex().to_string();
    // A file modified within the last moments may change again without its
    // mtime moving; store mtime 0 so the next run re-checks its content.
    let mtime_ns = if walked.mtime_ns >= racy_after {
        0
    } else {
        walked.mtime_ns
    };
    let state = FileState {
        path: walked.rel.clone(),
        size: walked.size,
        mtime_ns,
        hash,
    };
    if stored.is_some_and(|s| s.hash == state.hash) {
        return Outcome::Unchanged { state };
    }
    let n_bytes = bytes.len() as u64;
    let (text, warning) = match classify(&walked.rel, walked.target.as_deref(), bytes) {
        Verdict::Skip(s) => return Outcome::Skipped(s),
        Verdict::Index { text, warning } => (text, warning),
    };
    throttle();
    let text = match config.masks.get(&walked.rel) {
        Some(ranges) => mask_lines(&text, ranges),
        None => text,
    };
    let lang = Language::from_path(Path::new(&walked.rel));
    let syntax = {
        let _span = tracing::debug_span!("parse", path = %walked.rel).entered();
        lore_syntax::parse_with(&text, lang, &config.chunk_limits)
    };
    let lines = text.lines().count() as u32;
    // What a file could not contribute is said in `status --errors`.
    let warning = warning.or_else(|| {
        (syntax.capped > 0).then(|| SkippedFile {
            path: walked.rel.clone(),
            reason: "capped".into(),
            detail: format!(
                "{} definitions nested deeper than {} levels left out",
                syntax.capped,
                lore_syntax::MAX_NESTING
            ),
            indexed: true,
            seen: None,
        })
    });
    Outcome::Parsed {
        state,
        lang,
        lines,
        bytes: n_bytes,
        syntax,
        warning,
    }
}

/// `text` with the lines in `ranges` (1-based, inclusive) emptied; line
/// breaks are kept so every other line keeps its number.
fn mask_lines(text: &str, ranges: &[(u32, u32)]) -> String {
    let mut out = String::with_capacity(text.len());
    for (i, line) in text.split_inclusive('\n').enumerate() {
        let n = i as u32 + 1;
        if ranges.iter().any(|&(first, last)| first <= n && n <= last) {
            if line.ends_with("\r\n") {
                out.push_str("\r\n");
            } else if line.ends_with('\n') {
                out.push('\n');
            }
        } else {
            out.push_str(line);
        }
    }
    out
}

/// Whether an existing index must be rebuilt for this lore's format: `None`
/// if it has it, a note on what is rebuilt if it is older, an error if it
/// is newer (never read or overwritten).
fn format_rebuild(store: &dyn MetaStore, root: &Path) -> Result<Option<String>> {
    let format = crate::stored_format(store.get_meta(crate::format_keys::FORMAT)?.as_deref());
    if format > crate::INDEX_FORMAT {
        return Err(Error::IndexFormat {
            root: root.to_owned(),
            found: format,
        });
    }
    if format == crate::INDEX_FORMAT {
        return Ok(None);
    }
    // Rebuilt in place: every file parsed again into a lexical generation
    // started from scratch, in one commit.
    let by = store
        .get_meta(crate::format_keys::WRITTEN_BY)?
        .unwrap_or_else(|| "an older lore".into());
    tracing::info!(format, %by, "rebuilding an index of an older format");
    Ok(Some(format!(
        "index format {format} (written by {by}) rebuilt as format {}",
        crate::INDEX_FORMAT
    )))
}

/// What a run must read: the walked files whose size or mtime differ from
/// the store (or all of them, for a rebuild), and those it can skip.
struct Plan<'w> {
    candidates: Vec<&'w Walked>,
    unchanged: usize,
    present: HashSet<String>,
    /// Files skipped for their content before, with the same size and
    /// mtime: skipped again without being read.
    still_skipped: Vec<SkippedFile>,
}

fn plan<'w>(
    files: &'w [Walked],
    stored: &HashMap<String, FileState>,
    stored_skipped: &HashMap<String, SkippedFile>,
    rebuilding: bool,
) -> Plan<'w> {
    let mut plan = Plan {
        candidates: Vec::new(),
        unchanged: 0,
        present: HashSet::with_capacity(files.len()),
        still_skipped: Vec::new(),
    };
    for file in files {
        if !rebuilding
            && let Some(skip) = stored_skipped.get(&file.rel)
            && skip.seen == Some((file.size, file.mtime_ns))
        {
            plan.still_skipped.push(skip.clone());
            continue;
        }
        match stored.get(&file.rel) {
            Some(s)
                if !rebuilding
                    && s.size == file.size
                    && s.mtime_ns == file.mtime_ns
                    && s.mtime_ns != 0 =>
            {
                plan.unchanged += 1;
                plan.present.insert(file.rel.clone());
            }
            _ => plan.candidates.push(file),
        }
    }
    plan
}

/// Sorts new paths into added and renamed (a deleted file's content under a
/// new path) and fills the summary's deleted list with the rest.
fn classify_changes(
    deleted: &[&FileState],
    added_hashes: &mut [(String, String)],
    summary: &mut RunSummary,
) {
    let mut deleted_by_hash: HashMap<&str, Vec<&str>> = HashMap::new();
    for state in deleted {
        deleted_by_hash
            .entry(state.hash.as_str())
            .or_default()
            .push(state.path.as_str());
    }
    let mut renamed_from = HashSet::new();
    added_hashes.sort();
    for (path, hash) in added_hashes.iter() {
        match deleted_by_hash
            .get_mut(hash.as_str())
            .and_then(|paths| paths.pop())
        {
            Some(from) => {
                renamed_from.insert(from.to_owned());
                summary.renamed.push((from.to_owned(), path.clone()));
            }
            None => summary.added.push(path.clone()),
        }
    }
    summary.deleted = deleted
        .iter()
        .map(|s| s.path.clone())
        .filter(|p| !renamed_from.contains(p))
        .collect();
    summary.modified.sort();
}

/// Indexes the repository at `root` into its data directory under `home`:
/// a full index the first time, only what changed afterwards.
pub fn index_repo(
    home: &Home,
    root: &Path,
    config: &IndexConfig,
    progress: &dyn Progress,
) -> Result<IndexReport> {
    let started = Instant::now();
    let started_at = now_ns();
    if !root.exists() {
        return Err(Error::RootMissing(root.to_owned()));
    }
    if !root.is_dir() {
        return Err(Error::NotADirectory(root.to_owned()));
    }
    let root = root.canonicalize().map_err(io(root))?;
    let root_str = repo_key(&root);
    let layout = home.layout(&root);
    let data_dir = layout.dir().to_owned();
    let _lock = crate::DirLock::acquire(&layout, crate::LockKind::Index)?;
    let _span = tracing::info_span!("index", root = %root.display()).entered();

    // A first index is bulk-loaded into a scratch file and moved into place
    // at commit; later runs update the store in one WAL transaction.
    let db_path = layout.db();
    let fresh = !db_path.exists();
    let mut store = if fresh {
        SqliteStore::create_fresh(&layout.db_scratch())?
    } else {
        SqliteStore::open(&db_path)?
    };
    let meta = store.meta()?;
    let current_gen = meta.generation;
    let damage = std::fs::read_to_string(layout.damage_marker()).ok();
    let rebuild = if fresh {
        None
    } else if let Some(found) = &damage {
        // Damage found since the last run: parse everything again into a
        // lexical generation started from scratch, not forked from the
        // damaged one.
        tracing::warn!(%found, "rebuilding a damaged index");
        Some(format!("found damaged: {}", found.trim()))
    } else {
        format_rebuild(&store, &root)?
    };
    let rebuilding = rebuild.is_some();
    // Leftovers of a crashed run are newer than the committed generation.
    prune_generations(&data_dir, &[current_gen, current_gen.saturating_sub(1)]);

    let purged = crate::purge::purged_paths(&layout)?;
    // The walk (a stat per file) runs while the store's states are read.
    let (walked, states) = std::thread::scope(|scope| {
        let walking = scope.spawn(|| walk(&root, config.max_file_size, &purged));
        let states = (|| -> Result<_> { Ok((store.file_states()?, store.skipped()?)) })();
        (walking.join().expect("walk thread"), states)
    });
    let (states, skipped_before) = states?;
    let stored: HashMap<String, FileState> =
        states.into_iter().map(|s| (s.path.clone(), s)).collect();
    let stored_skipped: HashMap<String, SkippedFile> = skipped_before
        .into_iter()
        .filter(|s| s.seen.is_some() && !s.indexed)
        .map(|s| (s.path.clone(), s))
        .collect();
    let Plan {
        candidates,
        unchanged,
        mut present,
        still_skipped,
    } = plan(&walked.files, &stored, &stored_skipped, rebuilding);
    tracing::info!(
        files = walked.files.len(),
        candidates = candidates.len(),
        ms = started.elapsed().as_millis() as u64,
        "walked"
    );
    check_free_space(&data_dir, &candidates)?;
    // A first run that fails (a full disk, a kill) leaves no scratch store
    // behind to fill the disk for every other repository.
    let mut scratch =
        fresh.then(|| Scratch(vec![layout.db_scratch(), generation_dir(&data_dir, 1)]));

    let threads = if config.threads == 0 {
        std::thread::available_parallelism().map_or(2, |n| n.get())
    } else {
        config.threads
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(|i| format!("lore-parse-{i}"))
        .build()
        .map_err(|e| Error::Invalid(format!("cannot start parser threads: {e}")))?;
    let racy_after = started_at - 2_000_000_000;
    progress.start(candidates.len() as u64);

    let mut written = Written {
        summary: RunSummary {
            started_at: started_at / 1_000_000_000,
            unchanged,
            ..RunSummary::default()
        },
        present: std::mem::take(&mut present),
        skipped: walked
            .skipped
            .iter()
            .cloned()
            .chain(still_skipped)
            .collect(),
        ..Written::default()
    };
    let next_gen = current_gen + 1;
    let mut lexical = NextGeneration {
        data_dir: &data_dir,
        current: current_gen,
        rebuilding,
        config: &config.lexical,
        writer: None,
    };

    let history_since = meta.head.clone();
    let history_since_kept = history_since.clone();
    let (history, write_result) = std::thread::scope(|scope| {
        let history = scope
            .spawn(|| lore_git::read_history(&root, history_since.as_deref(), &config.history));
        let (tx, rx) = crossbeam_channel::bounded::<Outcome>(256);
        let stored_ref = &stored;
        let candidates_ref = &candidates;
        let pool_ref = &pool;
        scope.spawn(move || {
            pool_ref.install(|| {
                candidates_ref.par_iter().for_each_with(tx, |tx, file| {
                    let stored = stored_ref.get(&file.rel).filter(|_| !rebuilding);
                    let mut outcome = process(file, stored, config, racy_after);
                    // Skipped for its content: remembered with its size and
                    // mtime (unless they may still move, or reading failed).
                    if let Outcome::Skipped(skip) = &mut outcome
                        && skip.reason != "unreadable"
                        && file.mtime_ns < racy_after
                    {
                        skip.seen = Some((file.size, file.mtime_ns));
                    }
                    let _ = tx.send(outcome);
                });
            });
        });

        let write = (|| -> Result<Box<dyn lore_core::store::MetaWriter + '_>> {
            let mut writer = store.begin(&root_str)?;
            for outcome in rx {
                progress.advance(1);
                written.record(outcome, &stored, &mut *writer, &mut lexical)?;
            }
            Ok(writer)
        })();
        (history.join().expect("history thread"), write)
    });
    progress.finish();
    let mut writer = write_result?;
    tracing::info!(
        ms = started.elapsed().as_millis() as u64,
        "parsed and written"
    );

    // Deleted: stored but not present (gone, ignored, or now skipped).
    let mut deleted: Vec<&FileState> = stored
        .values()
        .filter(|s| !written.present.contains(s.path.as_str()))
        .collect();
    deleted.sort_by(|a, b| a.path.cmp(&b.path));
    for state in &deleted {
        writer.remove_file(&state.path)?;
        lexical.writer()?.delete_path(&state.path)?;
    }
    let Written {
        mut summary,
        present,
        mut skipped,
        syntax_errors,
        parsed_lines,
        parsed_bytes,
        mut added_hashes,
    } = written;
    classify_changes(&deleted, &mut added_hashes, &mut summary);

    match history {
        Ok(Some(update)) => writer.add_history(&update)?,
        Ok(None) => writer.add_history(&Default::default())?,
        Err(err) => {
            tracing::warn!(cause = %err, "git history unavailable");
            skipped.push(SkippedFile {
                path: ".git".into(),
                reason: "git-error".into(),
                detail: err.to_string(),
                indexed: false,
                seen: None,
            });
        }
    }
    skipped.sort_by(|a, b| a.path.cmp(&b.path));
    writer.replace_skipped(&skipped)?;
    writer.put_meta(crate::format_keys::FORMAT, &crate::INDEX_FORMAT.to_string())?;
    writer.put_meta(
        crate::format_keys::WRITTEN_BY,
        concat!("lore ", env!("CARGO_PKG_VERSION")),
    )?;
    summary.skipped = skipped.len();
    summary.duration_ms = started.elapsed().as_millis() as u64;

    if current_gen == 0 || rebuilding {
        // The first run writes a generation even for an empty repository.
        lexical.writer()?;
    }
    let lexical = lexical.writer.take();
    let generation = if lexical.is_some() {
        next_gen
    } else {
        current_gen
    };
    let commit_lexical = move || -> Result<()> {
        if let Some(lexical) = lexical {
            lexical.commit()?;
        }
        Ok(())
    };
    if fresh {
        // The scratch store stays invisible until installed, so its indexes
        // are built while tantivy writes its segments; the rename after both
        // is the commit point.
        let lexical_thread = std::thread::Builder::new()
            .name("lore-lexical-commit".into())
            .spawn(commit_lexical)
            .map_err(|e| Error::Invalid(format!("cannot start a thread: {e}")))?;
        let store_result = writer
            .commit(&summary, generation)
            .map_err(Error::from)
            .and_then(|()| store.seal().map_err(Error::from));
        lexical_thread.join().expect("lexical commit thread")?;
        fault("after-lexical-commit");
        let sealed = store_result?;
        failpoint("before-install")?;
        sealed.install(&db_path)?;
        if let Some(scratch) = &mut scratch {
            scratch.0.clear();
        }
        store = SqliteStore::open(&db_path)?;
    } else {
        let t = Instant::now();
        commit_lexical()?;
        tracing::info!(ms = t.elapsed().as_millis() as u64, "lexical committed");
        fault("after-lexical-commit");
        let t = Instant::now();
        writer.commit(&summary, generation)?;
        tracing::info!(ms = t.elapsed().as_millis() as u64, "store committed");
    }
    fault("after-store-commit");
    if damage.is_some() {
        // The damaged generation goes: readers are on the new one.
        prune_generations(&data_dir, &[generation]);
        let _ = std::fs::remove_file(layout.damage_marker());
    }
    prune_generations(&data_dir, &[generation, generation.saturating_sub(1)]);

    let head = store.meta()?.head;
    let (mut embed, mut embed_error) = (None, None);
    if config.embed.enabled {
        match refresh_vectors(&data_dir, &mut store, &config.embed, rebuilding) {
            Ok(report) => embed = Some(report),
            Err(err) => {
                tracing::warn!(cause = %err, "embedding failed; search stays lexical");
                embed_error = Some(err.to_string());
            }
        }
    }
    tracing::info!(
        ms = started.elapsed().as_millis() as u64,
        generation,
        "index run committed"
    );
    Ok(IndexReport {
        root,
        data_dir,
        files: present.len(),
        summary,
        skipped,
        syntax_errors,
        generation,
        parsed_lines,
        parsed_bytes,
        head,
        previous_head: history_since_kept,
        embed,
        embed_error,
        rebuilt: rebuild,
        transformer: !crate::dense::recorded_spec(&store)?.is_learned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masking_keeps_line_numbers() {
        let text = "a\nb\r\nc\nd";
        assert_eq!(mask_lines(text, &[(2, 3)]), "a\n\r\n\nd");
        assert_eq!(mask_lines(text, &[(4, 9)]), "a\nb\r\nc\n");
        assert_eq!(mask_lines(text, &[]), text);
    }
}
