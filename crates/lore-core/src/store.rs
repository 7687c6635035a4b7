//! Storage traits: the metadata store (files, symbols, references, chunks,
//! history) and the lexical index. The indexer and the query layer talk only
//! to these traits; SQLite and tantivy are today's implementations, and a
//! PostgreSQL backend implements the same traits.
//!
//! Consistency between the two stores rests on one number, the *generation*:
//! the lexical index is written into a fresh generation, then the metadata
//! store commits its changes and the new generation number in one
//! transaction. Readers read the generation from their metadata snapshot and
//! open that lexical generation, so they always see a matching pair.

use crate::{FileSyntax, Language, RefKind, Result, SymbolKind};

mod memory;

pub use memory::MemoryStore;
use std::collections::HashMap;
use std::sync::Arc;

/// What the store remembers about an indexed file, to detect changes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileState {
    /// Path relative to the repository root, `/`-separated.
    pub path: String,
    /// Size in bytes when indexed.
    pub size: u64,
    /// Modification time in nanoseconds since the epoch when indexed.
    pub mtime_ns: i64,
    /// blake3 of the content, hex.
    pub hash: String,
}

/// A file to store together with what parsing it produced.
#[derive(Debug)]
pub struct FileRecord<'a> {
    /// Path, size, mtime and hash.
    pub state: &'a FileState,
    /// The file's language.
    pub lang: Language,
    /// Number of lines.
    pub lines: u32,
    /// Symbols, references, imports and chunks.
    pub syntax: &'a FileSyntax,
}

/// A chunk as stored, with its storage id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredChunk {
    /// Storage id; the lexical index refers to chunks by it.
    pub id: u64,
    /// File path.
    pub path: String,
    /// Language of the file.
    pub lang: Language,
    /// First line.
    pub start_line: u32,
    /// Last line (inclusive).
    pub end_line: u32,
    /// Qualified name of the chunk's symbol.
    pub symbol: Option<String>,
    /// Kind of the chunk's symbol.
    pub kind: Option<SymbolKind>,
    /// The chunk's text.
    pub text: String,
}

/// Where a chunk is and what it defines, without its text: what ranking
/// reads of every candidate. Strings are shared, so heads clone cheaply
/// and a table of every chunk's head stores each path once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChunkHead {
    /// Storage id.
    pub id: u64,
    /// File path.
    pub path: Arc<str>,
    /// Language of the file.
    pub lang: Language,
    /// First line.
    pub start_line: u32,
    /// Last line (inclusive).
    pub end_line: u32,
    /// Qualified name of the chunk's symbol.
    pub symbol: Option<Arc<str>>,
    /// Kind of the chunk's symbol.
    pub kind: Option<SymbolKind>,
}

impl ChunkHead {
    /// Where the chunk is and what it defines, as the shared record.
    pub fn located(&self) -> crate::Located {
        crate::Located {
            path: self.path.to_string(),
            start_line: self.start_line,
            end_line: self.end_line,
            symbol: self.symbol.as_deref().map(str::to_owned),
            kind: self.kind.map(|k| k.name().to_owned()),
            lang: self.lang.name().to_owned(),
            commit: None,
        }
    }
}

impl StoredChunk {
    /// The chunk's head: everything but its text.
    pub fn head(&self) -> ChunkHead {
        ChunkHead {
            id: self.id,
            path: self.path.as_str().into(),
            lang: self.lang,
            start_line: self.start_line,
            end_line: self.end_line,
            symbol: self.symbol.as_deref().map(Arc::from),
            kind: self.kind,
        }
    }
}

/// Why a file was not indexed (or indexed with a caveat).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SkippedFile {
    /// Path relative to the root (or as reported by the walker).
    pub path: String,
    /// A short stable reason code: `binary`, `too-large`, `minified`,
    /// `generated`, `unreadable`, `non-utf8`, `symlink-loop`,
    /// `symlink-outside`, `walk-error`.
    pub reason: String,
    /// Human detail, e.g. "2.3 MiB > limit 1 MiB".
    pub detail: String,
    /// True when the file was still indexed (e.g. lossy UTF-8 decoding).
    pub indexed: bool,
    /// Size and mtime (ns) of a file skipped for its content, when they
    /// can be trusted: a later run that finds the same skips it again
    /// without reading it.
    pub seen: Option<(u64, i64)>,
}

/// One commit of the repository's history.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Commit {
    /// Full hex sha.
    pub sha: String,
    /// Author name.
    pub author: String,
    /// Author e-mail.
    pub email: String,
    /// Author time, seconds since the epoch.
    pub time: i64,
    /// Full commit message.
    pub message: String,
    /// Paths changed relative to the first parent (all paths for a root).
    pub files: Vec<String>,
}

/// New history to record. `replace` clears what was stored before (after a
/// rewrite of history); otherwise `commits` are appended.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HistoryUpdate {
    /// HEAD sha at indexing time.
    pub head: Option<String>,
    /// Branch name at indexing time.
    pub branch: Option<String>,
    /// True for a shallow clone.
    pub shallow: bool,
    /// Forget previously stored commits first.
    pub replace: bool,
    /// New commits, newest first.
    pub commits: Vec<Commit>,
}

/// Summary of an index run, stored for `lore status`.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RunSummary {
    /// Start time, seconds since the epoch.
    pub started_at: i64,
    /// Wall time in milliseconds.
    pub duration_ms: u64,
    /// Files newly indexed.
    pub added: Vec<String>,
    /// Files re-indexed because their content changed.
    pub modified: Vec<String>,
    /// Files removed from the index.
    pub deleted: Vec<String>,
    /// Files moved: (from, to).
    pub renamed: Vec<(String, String)>,
    /// Files unchanged.
    pub unchanged: usize,
    /// Files skipped or indexed with caveats.
    pub skipped: usize,
}

/// Counts for `lore status`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StoreStats {
    /// Indexed files per language.
    pub files_per_lang: Vec<(Language, u64, u64)>,
    /// Symbol count.
    pub symbols: u64,
    /// Reference count.
    pub refs: u64,
    /// Chunk count.
    pub chunks: u64,
    /// Commit count.
    pub commits: u64,
    /// Skipped files per reason.
    pub skipped_per_reason: Vec<(String, u64)>,
    /// Files with syntax errors (indexed partially).
    pub files_with_syntax_errors: u64,
}

/// Repository-level facts recorded with the index.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RepoMeta {
    /// Absolute, canonical repository root.
    pub root: String,
    /// Current lexical generation.
    pub generation: u64,
    /// HEAD sha of the last run.
    pub head: Option<String>,
    /// Branch of the last run.
    pub branch: Option<String>,
    /// True if the repository was a shallow clone.
    pub shallow: bool,
    /// The last run's summary.
    pub last_run: Option<RunSummary>,
}

/// A symbol as returned by queries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SymbolRow {
    /// Storage id.
    pub id: i64,
    /// Parent symbol's storage id.
    pub parent_id: Option<i64>,
    /// File path.
    pub path: String,
    /// Language.
    pub lang: Language,
    /// Bare name.
    pub name: String,
    /// In-file qualified name.
    pub qualname: String,
    /// Kind.
    pub kind: SymbolKind,
    /// Declaration line(s).
    pub signature: String,
    /// Doc comment.
    pub doc: Option<String>,
    /// First line.
    pub start_line: u32,
    /// Last line.
    pub end_line: u32,
}

impl SymbolRow {
    /// The row of the `index`-th symbol of a parsed file whose symbols are
    /// stored with consecutive ids from `first_id`.
    pub fn of(
        symbols: &[crate::Symbol],
        index: usize,
        path: &str,
        lang: Language,
        first_id: i64,
    ) -> SymbolRow {
        let s = &symbols[index];
        SymbolRow {
            id: first_id + index as i64,
            parent_id: s.parent.map(|p| first_id + p as i64),
            path: path.to_owned(),
            lang,
            name: s.name.clone(),
            qualname: s.qualname.clone(),
            kind: s.kind,
            signature: s.signature.clone(),
            doc: s.doc.clone(),
            start_line: s.start_line,
            end_line: s.end_line,
        }
    }
}

/// How often a name is referred to (see [`MetaStore::ref_counts`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RefCounts {
    /// Call sites.
    pub calls: usize,
    /// Files with a call site.
    pub call_files: usize,
    /// Other uses (attribute reads, decorators, values passed around), not
    /// imports.
    pub uses: usize,
    /// Files with such a use.
    pub use_files: usize,
}

impl RefCounts {
    /// Adds one file's call sites and other uses.
    pub fn add_file(&mut self, calls: usize, uses: usize) {
        self.calls += calls;
        self.call_files += usize::from(calls > 0);
        self.uses += uses;
        self.use_files += usize::from(uses > 0);
    }
}

/// A reference as returned by queries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefRow {
    /// File path.
    pub path: String,
    /// Line.
    pub line: u32,
    /// Referenced name.
    pub name: String,
    /// Call, use or import.
    pub kind: RefKind,
    /// Qualified name of the enclosing symbol (the caller for calls).
    pub enclosing: Option<String>,
    /// Language.
    pub lang: Language,
}

/// An import as stored (see [`crate::syntax::Import`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportRow {
    /// The importing file.
    pub path: String,
    /// Its language.
    pub lang: Language,
    /// The module, package, header or path imported from.
    pub module: String,
    /// The imported name, when the import names one.
    pub name: Option<String>,
    /// Line of the import.
    pub line: u32,
}

/// Changes to the metadata store, applied atomically by [`MetaWriter::commit`].
/// Dropping a writer without committing discards every change.
pub trait MetaWriter {
    /// Removes a file and everything derived from it. Unknown paths are a no-op.
    fn remove_file(&mut self, path: &str) -> Result<()>;
    /// Inserts or replaces a file; returns the new chunks' ids in chunk order.
    fn put_file(&mut self, file: &FileRecord<'_>) -> Result<Vec<u64>>;
    /// Records a new mtime/size for a file whose content did not change.
    fn touch_file(&mut self, state: &FileState) -> Result<()>;
    /// Replaces the list of skipped files.
    fn replace_skipped(&mut self, skipped: &[SkippedFile]) -> Result<()>;
    /// Records git history.
    fn add_history(&mut self, history: &HistoryUpdate) -> Result<()>;
    /// Sets a metadata value, committed with everything else.
    fn put_meta(&mut self, key: &str, value: &str) -> Result<()>;
    /// Commits every change together with the run summary and the lexical
    /// generation that matches it.
    fn commit(self: Box<Self>, run: &RunSummary, generation: u64) -> Result<()>;
}

/// The metadata store of one repository.
pub trait MetaStore {
    /// Repository facts (root, generation, HEAD, last run).
    fn meta(&self) -> Result<RepoMeta>;
    /// Every indexed file's change-detection state.
    fn file_states(&self) -> Result<Vec<FileState>>;
    /// One indexed file's change-detection state.
    fn file_state(&self, path: &str) -> Result<Option<FileState>>;
    /// Starts a write; only one writer exists at a time.
    fn begin(&mut self, root: &str) -> Result<Box<dyn MetaWriter + '_>>;
    /// Chunks by id, in the order given; unknown ids are left out and a
    /// repeated id comes once.
    fn chunks(&self, ids: &[u64]) -> Result<Vec<StoredChunk>>;
    /// Heads of chunks by id, as [`chunks`](Self::chunks) orders them.
    fn chunk_heads(&self, ids: &[u64]) -> Result<Vec<ChunkHead>>;
    /// The head of every chunk, by ascending id.
    fn all_chunk_heads(&self) -> Result<Vec<ChunkHead>>;
    /// Every indexed path.
    fn paths(&self) -> Result<Vec<String>>;
    /// Symbols whose name or qualified name equals `name` (case-insensitive).
    fn symbols_exact(&self, name: &str, kind: Option<SymbolKind>) -> Result<Vec<SymbolRow>>;
    /// Symbols whose name starts with `prefix` (case-insensitive).
    fn symbols_prefix(
        &self,
        prefix: &str,
        kind: Option<SymbolKind>,
        limit: usize,
    ) -> Result<Vec<SymbolRow>>;
    /// Distinct symbol names, for fuzzy matching.
    fn symbol_names(&self) -> Result<Vec<String>>;
    /// Symbols of one file in source order.
    fn outline(&self, path: &str) -> Result<Vec<SymbolRow>>;
    /// A free-form metadata value (e.g. which vector file is current).
    fn get_meta(&self, key: &str) -> Result<Option<String>>;
    /// Sets (or, with `None`, removes) metadata values in one transaction.
    fn set_meta(&mut self, pairs: &[(&str, Option<&str>)]) -> Result<()>;
    /// Every chunk id, ascending.
    fn chunk_ids(&self) -> Result<Vec<u64>>;
    /// Every chunk with its text and its symbol's name, signature and doc,
    /// in id order: the input of embedders.
    fn chunk_texts(&self) -> Result<Vec<ChunkText>>;
    /// Like [`chunk_texts`](Self::chunk_texts), for at most `limit` chunks
    /// with an id above `after`: what an index run added since a reader
    /// last looked (ids only grow), read without touching the rest; or the
    /// whole table a page at a time.
    fn chunk_texts_after(&self, after: u64, limit: usize) -> Result<Vec<ChunkText>>;
    /// Ids of chunks deleted since they were last consumed (see
    /// [`set_meta_consuming`](Self::set_meta_consuming)), ascending.
    fn deleted_chunks(&self) -> Result<Vec<u64>>;
    /// Sets metadata values and forgets the deleted chunk ids `consumed`,
    /// in one transaction: a reader of the deletions records what it did
    /// with them and consumes them at once, so each lands exactly once.
    fn set_meta_consuming(
        &mut self,
        pairs: &[(&str, Option<&str>)],
        consumed: &[u64],
    ) -> Result<()>;
    /// Every symbol of one of `kinds` that has a doc comment, by path and line.
    fn documented_symbols(&self, kinds: &[SymbolKind]) -> Result<Vec<SymbolRow>>;
    /// References to `name`.
    fn refs(&self, name: &str) -> Result<Vec<RefRow>>;
    /// Call sites and other uses of `name` and the files they are in,
    /// counted without resolving callers (cheap even for common names).
    fn ref_counts(&self, name: &str) -> Result<RefCounts>;
    /// Calls made on lines `start..=end` of `path`: (called name, line),
    /// by line.
    fn calls_in(&self, path: &str, start: u32, end: u32) -> Result<Vec<(String, u32)>>;
    /// Edges of the file graph (see [`FileEdge`]) that touch one of
    /// `paths`, or every edge with `None`.
    fn file_edges(&self, paths: Option<&[String]>) -> Result<Vec<FileEdge>>;
    /// For each name that `path` defines, how often other files use it,
    /// divided by the number of files defining the name (names defined in
    /// more than [`MAX_DEFINING_FILES`] files are left out).
    fn defined_name_uses(&self, path: &str) -> Result<Vec<(String, f64)>>;
    /// Counts for status.
    fn stats(&self) -> Result<StoreStats>;
    /// Skipped files.
    fn skipped(&self) -> Result<Vec<SkippedFile>>;
    /// Churn of a file: (commits touching it, last change time, distinct authors).
    fn churn(&self, path: &str) -> Result<Option<(u64, i64, u64)>>;
    /// Every path the history knows with the time of its last change.
    fn last_changes(&self) -> Result<Vec<(String, i64)>>;
    /// The most recent `limit` commits with their files, newest first.
    fn commits(&self, limit: usize) -> Result<Vec<Commit>>;
    /// Every commit that touched `path`: its time and every path it
    /// touched (`path` included), newest first.
    fn co_changes(&self, path: &str) -> Result<Vec<(i64, Vec<String>)>>;
    /// Every import of every file, in file and line order.
    fn imports(&self) -> Result<Vec<ImportRow>>;
    /// Who changed a file most: (author, commits, last change time), most
    /// commits first, at most `limit`.
    fn owners(&self, path: &str, limit: usize) -> Result<Vec<(String, u64, i64)>>;
    /// Reads the whole store and reports damage (empty: intact). Costs a
    /// full read: for `lore status --check`, not for every run.
    fn check(&self) -> Result<Vec<String>>;
}

/// An edge of the file graph: `src` uses names that `dst` defines.
///
/// The weight sums, over those names, the uses in `src` divided by the
/// number of files defining the name; names defined in more than
/// [`MAX_DEFINING_FILES`] files are too ambiguous to link anything.
#[derive(Clone, Debug, PartialEq)]
pub struct FileEdge {
    /// The referring file.
    pub src: String,
    /// The defining file.
    pub dst: String,
    /// Strength of the link.
    pub weight: f64,
}

/// Names defined in more files than this make no graph edges.
pub const MAX_DEFINING_FILES: u32 = 20;

/// A chunk as handed to embedders.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChunkText {
    /// Storage id.
    pub id: u64,
    /// Language of the file.
    pub lang: Language,
    /// Chunk text.
    pub text: String,
    /// The chunk symbol's name and signature, empty if none.
    pub name: String,
    /// The chunk symbol's qualified name, empty if none.
    pub symbol: String,
    /// The chunk symbol's doc comment, empty if none.
    pub doc: String,
}

/// A chunk as handed to the lexical index.
#[derive(Clone, Copy, Debug)]
pub struct LexicalDoc<'a> {
    /// Metadata-store id of the chunk.
    pub chunk_id: u64,
    /// File path.
    pub path: &'a str,
    /// Language.
    pub lang: Language,
    /// Bare symbol name, empty for non-symbol chunks.
    pub name: &'a str,
    /// Qualified symbol name, empty for non-symbol chunks.
    pub qualname: &'a str,
    /// Doc comment of the symbol.
    pub doc: &'a str,
    /// Chunk text.
    pub text: &'a str,
}

/// Changes to the lexical index, made visible by [`LexicalWriter::commit`].
/// `Send` so that its commit can overlap other work.
pub trait LexicalWriter: Send {
    /// Deletes every chunk of a file.
    fn delete_path(&mut self, path: &str) -> Result<()>;
    /// Adds a chunk.
    fn add(&mut self, doc: &LexicalDoc<'_>) -> Result<()>;
    /// Makes the changes durable.
    fn commit(self: Box<Self>) -> Result<()>;
}

/// A lexical query.
#[derive(Clone, Debug, Default)]
pub struct LexicalQuery {
    /// The user's query text.
    pub text: String,
    /// Maximum hits.
    pub limit: usize,
    /// Only these languages (empty: all).
    pub langs: Vec<Language>,
    /// Only these paths (`None`: all).
    pub paths: Option<Vec<String>>,
    /// Extra tokens (already in index form) that may match, each with a
    /// weight relative to a query token: query expansion.
    pub expansions: Vec<(String, f32)>,
}

/// A lexical hit.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LexicalHit {
    /// Metadata-store id of the chunk.
    pub chunk_id: u64,
    /// BM25 score with field weights.
    pub score: f32,
}

/// A read-only view of one lexical generation.
pub trait LexicalSearcher {
    /// Runs a query.
    fn search(&self, query: &LexicalQuery) -> Result<Vec<LexicalHit>>;
    /// Number of indexed chunks.
    fn num_docs(&self) -> u64;
    /// Reads every file of this generation against its checksum and
    /// reports the damaged ones (empty: intact). A full read.
    fn check(&self) -> Result<Vec<String>>;
}

/// Content hash of an embedder's input text: the key, with the model id,
/// of a cached vector.
pub type ContentHash = [u8; 16];

/// Vectors already computed, by (model id, hash of the exact input text),
/// shared by every repository of a data root: an unchanged chunk is never
/// embedded twice, whatever re-indexing did to its id.
pub trait EmbeddingCache: Send {
    /// The cached vectors of `hashes` for `model` (missing ones absent).
    fn get(&self, model: &str, hashes: &[ContentHash]) -> Result<HashMap<ContentHash, Vec<f32>>>;
    /// Stores vectors durably (committed when this returns).
    fn put(&mut self, model: &str, rows: &[(ContentHash, Vec<f32>)]) -> Result<()>;
    /// Number of vectors cached for `model`.
    fn count(&self, model: &str) -> Result<u64>;
    /// Forgets the vectors of these input hashes, for every model (`lore
    /// purge`). Returns how many went.
    fn remove(&mut self, hashes: &[ContentHash]) -> Result<usize>;
}
