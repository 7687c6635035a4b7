//! Reading an index: search, symbols, references, outlines and status, all
//! from one consistent snapshot.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use globset::{Glob, GlobSetBuilder};
use lore_core::embed::{Embedder, dot};
use lore_core::store::{
    ChunkHead, LexicalQuery, LexicalSearcher, MetaStore, RefRow, RepoMeta, SkippedFile, StoreStats,
    SymbolRow,
};
use lore_core::{Language, RefKind, SymbolKind};
use lore_embed::LearnedModel;
use lore_retrieve::fusion::{
    Contribution, Expansion, Feature, Features, Policy, rrf, top_per_group,
};
use lore_retrieve::graph::{Graph, PageRankConfig, pagerank_seeded};
use lore_retrieve::text::{is_stop_word, name_match, path_match, query_terms};
use lore_search::{TantivyIndex, TantivySearcher};
use lore_store::SqliteStore;
use lore_vector::FlatVectors;
use rustc_hash::FxHashMap;

use crate::dense::{dense_dir, embedding_running, keys as dense_keys, recorded_spec};
use crate::embed::{keys, models_dir, vectors_dir};
use crate::error::{Error, Result, io};
use crate::home::{Home, repo_key};
use crate::pipeline::generation_dir;
use crate::shared::{ChunkTable, FileGraph, file_key, shared};

/// Lines of context in a snippet.
const SNIPPET_LINES: usize = 3;

/// A consistent read-only view of one repository's index.
pub struct RepoIndex {
    root: PathBuf,
    data_dir: PathBuf,
    store: SqliteStore,
    lexical: TantivySearcher,
    meta: RepoMeta,
    /// Loaded on first use (many commands never need them) and shared
    /// with the process's other snapshots of the same files.
    semantic: OnceLock<Arc<Option<Semantic>>>,
    /// Transformer vectors and their embedder, loaded on first use.
    dense: OnceLock<Arc<Option<Dense>>>,
    /// Whether this snapshot serves many queries (see [`RepoIndex::resident`]).
    resident: bool,
    /// The file graph of this generation, loaded on first use (resident only).
    graph: OnceLock<Arc<FileGraph>>,
    /// Every chunk's head, loaded on first use (resident only).
    heads: OnceLock<Arc<ChunkTable>>,
    policy: Policy,
    /// The policy when transformer vectors are available.
    transformer_policy: Policy,
}

/// Transformer vectors and the embedder that made them (for queries).
struct Dense {
    embedder: Box<dyn Embedder>,
    vectors: FlatVectors,
}

/// A word's nearest words with their cosines.
type Near = Arc<[(String, f32)]>;

/// The learned model and the vectors it produced.
struct Semantic {
    model: LearnedModel,
    vectors: FlatVectors,
    /// Nearest words already found, per (word, neighbours, min cosine):
    /// the model never changes, and finding them scans the vocabulary.
    near: Mutex<HashMap<(String, usize, u32), Near>>,
    /// Vectors of symbol names already embedded (the name feature embeds
    /// every candidate's name); cleared when it reaches [`NAME_CACHE`].
    names: Mutex<HashMap<Arc<str>, Arc<[f32]>>>,
}

/// Symbol-name vectors remembered at most (about 0.5 KiB each at 128
/// dimensions).
const NAME_CACHE: usize = 1 << 15;

impl Semantic {
    /// The learned vectors of symbol names, remembered: one lock to look
    /// them all up and one to remember the new ones (a lock per name made
    /// concurrent searches wait on each other).
    fn name_vectors(&self, names: &[&Arc<str>]) -> Vec<Arc<[f32]>> {
        let mut found: Vec<Option<Arc<[f32]>>> = {
            let cache = self.names.lock().unwrap_or_else(|p| p.into_inner());
            names.iter().map(|n| cache.get(*n).cloned()).collect()
        };
        let mut fresh: Vec<(Arc<str>, Arc<[f32]>)> = Vec::new();
        for (slot, name) in found.iter_mut().zip(names) {
            if slot.is_none() {
                let v: Arc<[f32]> = self.model.embed_one(name).into();
                fresh.push(((*name).clone(), v.clone()));
                *slot = Some(v);
            }
        }
        if !fresh.is_empty() {
            let mut cache = self.names.lock().unwrap_or_else(|p| p.into_inner());
            if cache.len() + fresh.len() > NAME_CACHE {
                cache.clear();
            }
            cache.extend(fresh);
        }
        found.into_iter().flatten().collect()
    }
}

/// Which signals rank the results.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SearchMode {
    /// Every signal, fused and scored by the policy (vectors if available).
    #[default]
    Hybrid,
    /// BM25 only.
    Lexical,
    /// Learned-model vector similarity only.
    Vector,
    /// Transformer (local or remote embedder) vector similarity only.
    Dense,
}

impl SearchMode {
    /// Stable lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            SearchMode::Hybrid => "hybrid",
            SearchMode::Lexical => "lexical",
            SearchMode::Vector => "vector",
            SearchMode::Dense => "dense",
        }
    }

    /// Parses `hybrid`, `lexical` (or `bm25`), `vector` and `dense`.
    pub fn from_name(name: &str) -> Option<SearchMode> {
        match name {
            "hybrid" => Some(SearchMode::Hybrid),
            "lexical" | "bm25" => Some(SearchMode::Lexical),
            "vector" | "semantic" | "learned" => Some(SearchMode::Vector),
            "dense" | "transformer" => Some(SearchMode::Dense),
            _ => None,
        }
    }
}

impl std::fmt::Debug for RepoIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RepoIndex")
            .field("root", &self.root)
            .finish()
    }
}

/// Search filters.
#[derive(Clone, Debug, Default)]
pub struct SearchOptions {
    /// Maximum results.
    pub limit: usize,
    /// Only these languages.
    pub langs: Vec<Language>,
    /// Only paths matching this glob (relative to the root).
    pub path_glob: Option<String>,
    /// Which signals rank the results.
    pub mode: SearchMode,
    /// Attach each feature's part in the score to every hit.
    pub explain: bool,
    /// Chunks of one file kept at most (default: the policy's), e.g. more
    /// for a search within one file.
    pub max_per_file: Option<usize>,
}

/// The candidates of one search (see [`RepoIndex::candidates`]).
#[derive(Clone, Debug, Default)]
pub struct Candidates {
    /// Every candidate chunk's head by id.
    pub chunks: FxHashMap<u64, ChunkHead>,
    /// Feature values by chunk id (vector features only when the mode uses vectors).
    pub features: FxHashMap<u64, Features>,
    /// Candidate ids with their score in the search's mode, unordered.
    pub scored: Vec<(u64, f64)>,
    /// True if transformer vectors took part (the policy with them ranked).
    pub transformer: bool,
}

/// A search result. Lines are 1-based and inclusive.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct SearchHit {
    /// Path relative to the repository root.
    pub path: String,
    /// First line of the chunk.
    pub start_line: u32,
    /// Last line of the chunk.
    pub end_line: u32,
    /// Qualified name of the chunk's symbol.
    pub symbol: Option<String>,
    /// Kind of the chunk's symbol.
    pub kind: Option<String>,
    /// Language.
    pub lang: String,
    /// Relevance score (higher is better).
    pub score: f32,
    /// The best-matching lines of the chunk.
    pub snippet: String,
    /// The chunk's whole text (for answers; not in JSON output).
    #[serde(skip)]
    pub text: String,
    /// Each feature's part in the score (with `--explain`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub explain: Option<Vec<Contribution>>,
}

/// A symbol lookup result.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct SymbolHit {
    /// Bare name.
    pub name: String,
    /// Qualified name.
    pub qualname: String,
    /// Kind.
    pub kind: String,
    /// Path relative to the root.
    pub path: String,
    /// First line.
    pub start_line: u32,
    /// Last line.
    pub end_line: u32,
    /// Declaration line(s).
    pub signature: String,
    /// Doc comment.
    pub doc: Option<String>,
    /// Language.
    pub lang: String,
    /// `exact`, `prefix` or `fuzzy`.
    pub matched: &'static str,
    /// Nested symbols (outline only).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub children: Vec<SymbolHit>,
}

/// A reference lookup result.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct RefHit {
    /// Path relative to the root.
    pub path: String,
    /// Line.
    pub line: u32,
    /// `call`, `use` or `import`.
    pub kind: String,
    /// The enclosing symbol (the caller, for calls).
    pub symbol: Option<String>,
    /// Language.
    pub lang: String,
    /// The line's text.
    pub text: String,
}

/// What the index knows of one path.
#[derive(Clone, Debug, PartialEq)]
pub enum FileStatus {
    /// Indexed, with the content hash.
    Indexed {
        /// blake3 of the indexed content.
        hash: String,
    },
    /// Seen and skipped (binary, generated, secret, …).
    Skipped(SkippedFile),
    /// Never seen (ignored, outside the repository, or new).
    Unknown,
}

/// Everything `lore status` shows.
#[derive(Clone, Debug)]
pub struct RepoStatus {
    /// Repository root.
    pub root: String,
    /// Data directory.
    pub data_dir: PathBuf,
    /// Facts stored with the index.
    pub meta: RepoMeta,
    /// Current HEAD of the repository, if it is a git repository.
    pub current_head: Option<String>,
    /// Counts.
    pub stats: StoreStats,
    /// Chunks in the lexical index.
    pub lexical_docs: u64,
    /// Bytes used by the data directory.
    pub index_bytes: u64,
    /// Skipped files.
    pub skipped: Vec<SkippedFile>,
    /// Vector search state.
    pub semantic: SemanticStatus,
}

impl RepoStatus {
    /// How fresh the index is against the repository's HEAD.
    pub fn freshness(&self) -> &'static str {
        match (&self.meta.head, &self.current_head) {
            (Some(a), Some(b)) if a == b => "up to date",
            (Some(_), Some(_)) => "HEAD has moved; run `lore index`",
            (None, None) => "not a git repository",
            _ => "HEAD changed",
        }
    }

    /// The status as `lore status --json` and the HTTP API show it; with
    /// `errors`, every skipped file too.
    pub fn to_json(&self, errors: bool) -> serde_json::Value {
        let fresh = self.freshness();
        serde_json::json!({
            "root": self.root,
            "data_dir": self.data_dir,
            "indexed_commit": self.meta.head,
            "head": self.current_head,
            "branch": self.meta.branch,
            "shallow": self.meta.shallow,
            "fresh": fresh,
            "files": self.stats.files_per_lang.iter().map(|(l, n, lines)| serde_json::json!({"lang": l.name(), "files": n, "lines": lines})).collect::<Vec<_>>(),
            "symbols": self.stats.symbols,
            "references": self.stats.refs,
            "chunks": self.stats.chunks,
            "lexical_docs": self.lexical_docs,
            "semantic": self.semantic,
            "commits": self.stats.commits,
            "files_with_syntax_errors": self.stats.files_with_syntax_errors,
            "skipped": self.stats.skipped_per_reason.iter().map(|(r, n)| serde_json::json!({"reason": r, "files": n})).collect::<Vec<_>>(),
            "skipped_files": if errors { self.skipped.iter().map(|s| serde_json::json!({"path": s.path, "reason": s.reason, "detail": s.detail, "indexed": s.indexed})).collect::<Vec<_>>() } else { Vec::new() },
            "index_bytes": self.index_bytes,
            "generation": self.meta.generation,
            "last_run": self.meta.last_run.as_ref().map(|r| serde_json::json!({
                "started_at": r.started_at, "duration_ms": r.duration_ms,
                "added": r.added.len(), "modified": r.modified.len(), "deleted": r.deleted.len(),
                "renamed": r.renamed.len(), "unchanged": r.unchanged, "skipped": r.skipped,
            })),
        })
    }
}

/// Whether vector search is ready.
#[derive(Clone, Debug, serde::Serialize)]
pub struct SemanticStatus {
    /// `ready`, `partial` (some chunks have no vector yet) or `lexical only`.
    pub state: &'static str,
    /// Model of the vectors.
    pub model: Option<String>,
    /// Chunks with a vector.
    pub embedded: u64,
    /// Chunks without one.
    pub pending: u64,
    /// Transformer vectors, if an embedder other than `learned` is set.
    pub dense: Option<DenseStatus>,
}

/// How far the configured transformer embedder got.
#[derive(Clone, Debug, serde::Serialize)]
pub struct DenseStatus {
    /// The embedder spec (`local:DIR`, `openai:MODEL@URL`, …).
    pub spec: String,
    /// `ready`, `partial` (search uses the vectors there are) or `pending`
    /// (none yet: search runs on the other signals).
    pub state: &'static str,
    /// Model id of the current vectors file.
    pub model: Option<String>,
    /// Chunks with a transformer vector.
    pub embedded: u64,
    /// Chunks without one.
    pub pending: u64,
    /// True while an embedding run is working on this repository.
    pub running: bool,
    /// The current vectors file.
    pub file: Option<DataFile>,
}

/// What `lore embed status` reports.
#[derive(Clone, Debug, serde::Serialize)]
pub struct EmbedStatus {
    /// `ready`, `partial` or `lexical only`, as in [`SemanticStatus`].
    pub state: &'static str,
    /// The embedder kind: `learned` (trained on this repository), or the
    /// transformer's: `local`, `openai`, `ollama`.
    pub embedder: &'static str,
    /// Model id of the current vectors.
    pub model: Option<String>,
    /// Vector dimensions.
    pub dims: Option<usize>,
    /// Words the learned model knows.
    pub vocabulary: Option<usize>,
    /// Chunks with a vector.
    pub embedded: u64,
    /// Chunks without one.
    pub pending: u64,
    /// The current vector file.
    pub vectors_file: Option<DataFile>,
    /// The current model file.
    pub model_file: Option<DataFile>,
    /// Transformer vectors, if an embedder other than `learned` is set.
    pub dense: Option<DenseStatus>,
}

/// A file of the index's data directory.
#[derive(Clone, Debug, serde::Serialize)]
pub struct DataFile {
    /// File name.
    pub name: String,
    /// Size in bytes.
    pub bytes: u64,
}

impl RepoIndex {
    /// Opens the index of the repository at `root`.
    pub fn open(home: &Home, root: &Path) -> Result<RepoIndex> {
        // The data directory is keyed by the canonical root, as indexing does.
        let canonical = root.canonicalize().ok();
        let root = canonical.as_deref().unwrap_or(root);
        let data_dir = home.repo_dir(root);
        let db = crate::Layout::new(&data_dir).db();
        if !db.exists() {
            return Err(Error::NotIndexed(root.to_owned()));
        }
        let store = SqliteStore::open_snapshot(&db)?;
        let meta = store.meta()?;
        if meta.generation == 0 {
            return Err(Error::NotIndexed(root.to_owned()));
        }
        let format = crate::stored_format(store.get_meta(crate::format_keys::FORMAT)?.as_deref());
        if format != crate::INDEX_FORMAT {
            return Err(Error::IndexFormat {
                root: root.to_owned(),
                found: format,
            });
        }
        let lexical =
            TantivyIndex::open(&generation_dir(&data_dir, meta.generation))?.searcher()?;
        Ok(RepoIndex {
            root: PathBuf::from(repo_key(root)),
            data_dir,
            store,
            lexical,
            meta,
            semantic: OnceLock::new(),
            dense: OnceLock::new(),
            resident: false,
            graph: OnceLock::new(),
            heads: OnceLock::new(),
            policy: Policy::default(),
            transformer_policy: Policy::with_transformer(),
        })
    }

    /// The model and vectors named by this snapshot, if any; an unreadable
    /// file degrades search to lexical with a warning.
    fn semantic(&self) -> Option<&Semantic> {
        self.semantic
            .get_or_init(|| {
                let vectors = self.store.get_meta(keys::VECTORS).ok().flatten();
                let model = self.store.get_meta(keys::LEARNED).ok().flatten();
                let (Some(vectors), Some(model)) = (vectors, model) else {
                    return Arc::new(None);
                };
                let model = models_dir(&self.data_dir).join(&model);
                let vectors = vectors_dir(&self.data_dir).join(&vectors);
                let key = format!("semantic|{}|{}", file_key(&model), file_key(&vectors));
                shared(key, || {
                    let load = || -> Result<Semantic> {
                        let model = LearnedModel::load(&model)?;
                        let vectors = FlatVectors::load(&vectors)?;
                        Ok(Semantic {
                            model,
                            vectors,
                            near: Mutex::default(),
                            names: Mutex::default(),
                        })
                    };
                    match load() {
                        Ok(s) if s.vectors.model_id() == s.model.model_id() => Some(s),
                        Ok(_) => {
                            tracing::warn!("vectors and model disagree; search is lexical only");
                            None
                        }
                        Err(err) => {
                            tracing::warn!(cause = %err, "vectors unavailable; search is lexical only");
                            None
                        }
                    }
                })
            })
            .as_ref()
            .as_ref()
    }

    /// The transformer vectors and their embedder, if the configured
    /// embedder made the current vectors file. Anything else degrades
    /// search to the other signals with a warning, never to mixed models.
    fn dense(&self) -> Option<&Dense> {
        self.dense
            .get_or_init(|| {
                let Some(file) = self.store.get_meta(dense_keys::FILE).ok().flatten() else {
                    return Arc::new(None);
                };
                let spec = match recorded_spec(&self.store) {
                    Ok(spec) => spec,
                    Err(err) => {
                        tracing::warn!(cause = %err, "transformer vectors unavailable");
                        return Arc::new(None);
                    }
                };
                let path = dense_dir(&self.data_dir).join(&file);
                let key = format!("dense|{spec}|{}", file_key(&path));
                shared(key, || {
                    let load = || -> Result<Option<Dense>> {
                        let vectors = FlatVectors::load(&path)?;
                        let Some(embedder) = spec.open(Some(vectors.dims()))? else {
                            return Ok(None);
                        };
                        if embedder.model_id() != vectors.model_id() {
                            tracing::warn!(
                                configured = embedder.model_id(),
                                vectors = vectors.model_id(),
                                "transformer vectors are of another model; run `lore embed run`"
                            );
                            return Ok(None);
                        }
                        Ok(Some(Dense { embedder, vectors }))
                    };
                    load().unwrap_or_else(|err| {
                        tracing::warn!(cause = %err, "transformer vectors unavailable");
                        None
                    })
                })
            })
            .as_ref()
            .as_ref()
    }

    /// The file graph of this generation (empty if it cannot be read: the
    /// graph feature then does nothing).
    fn file_graph(&self) -> &FileGraph {
        self.graph.get_or_init(|| {
            let key = format!("graph|{}", self.generation_key());
            shared(key, || match self.store.file_edges(None) {
                Ok(edges) => FileGraph::new(edges),
                Err(err) => {
                    tracing::warn!(cause = %err, "file graph unavailable");
                    FileGraph::default()
                }
            })
        })
    }

    /// Names this snapshot's generation among every index in the process:
    /// data read from it may be shared under this key.
    fn generation_key(&self) -> String {
        let run = self.meta.last_run.as_ref().map_or(0, |r| r.started_at);
        format!(
            "{}|{}|{run}|{}",
            self.data_dir.display(),
            self.meta.generation,
            self.meta.head.as_deref().unwrap_or("")
        )
    }

    /// Every chunk's head in this generation (empty if it cannot be read:
    /// heads are then read from the store per query).
    fn chunk_table(&self) -> &ChunkTable {
        self.heads.get_or_init(|| {
            let key = format!("heads|{}", self.generation_key());
            shared(key, || match self.store.all_chunk_heads() {
                Ok(heads) => ChunkTable::new(heads),
                Err(err) => {
                    tracing::warn!(cause = %err, "chunk table unavailable");
                    ChunkTable::default()
                }
            })
        })
    }

    /// Makes this snapshot fit for many queries, for a server or an MCP
    /// session: the file graph and every chunk's head are read into memory
    /// once per generation (and shared with the process's other snapshots
    /// of it), and vector searches scan 8-bit codes before scoring a short
    /// list exactly. Each search is then several times cheaper; the
    /// one-off cost (about 0.1 s on a 50k-chunk repository) is what a
    /// single command-line search should not pay. Call [`warm`](Self::warm)
    /// to pay it before the first query.
    pub fn resident(mut self) -> RepoIndex {
        self.resident = true;
        self
    }

    /// Loads what searches use (vectors, models; with
    /// [`resident`](Self::resident) also the file graph, chunk heads and
    /// vector codes) so that the first query does not wait for it.
    pub fn warm(&self) {
        let semantic = self.semantic();
        let dense = self.dense();
        if self.resident {
            if let Some(s) = semantic {
                s.vectors.prepare_fast_search();
            }
            if let Some(d) = dense {
                d.vectors.prepare_fast_search();
            }
            self.file_graph();
            self.chunk_table();
        }
    }

    /// The `k` vectors nearest to `query`; a resident snapshot scans their
    /// 8-bit codes (built on first use).
    fn nearest(&self, vectors: &FlatVectors, query: &[f32], k: usize) -> Vec<(u64, f32)> {
        if self.resident {
            vectors.prepare_fast_search();
        }
        vectors.search(query, k, |_| true)
    }

    /// Heads of the chunks `ids`, by id; unknown ids are left out.
    fn heads(&self, ids: &[u64]) -> Result<FxHashMap<u64, ChunkHead>> {
        if self.resident {
            let table = self.chunk_table();
            if !table.is_empty() {
                return Ok(ids
                    .iter()
                    .filter_map(|&id| Some((id, table.get(id)?.clone())))
                    .collect());
            }
        }
        Ok(self
            .store
            .chunk_heads(ids)?
            .into_iter()
            .map(|h| (h.id, h))
            .collect())
    }

    /// The ranking policy of hybrid search (it depends on whether
    /// transformer vectors are available).
    pub fn policy(&self) -> &Policy {
        self.policy_for(self.dense().is_some())
    }

    fn policy_for(&self, transformer: bool) -> &Policy {
        if transformer {
            &self.transformer_policy
        } else {
            &self.policy
        }
    }

    /// The repository's data directory under `LORE_HOME`.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// The repository root.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Whether `path` differs on disk from what was indexed (changed,
    /// deleted or unreadable), judged by content hash.
    pub fn is_stale(&self, path: &str) -> Result<bool> {
        let Some(state) = self.store.file_state(path)? else {
            return Ok(true);
        };
        Ok(match std::fs::read(self.root.join(path)) {
            Ok(bytes) => blake3::hash(&bytes).to_hex().as_str() != state.hash,
            Err(_) => true,
        })
    }

    /// What the index knows of `path` (relative to the root).
    pub fn file_status(&self, path: &str) -> Result<FileStatus> {
        if let Some(state) = self.store.file_state(path)? {
            return Ok(FileStatus::Indexed { hash: state.hash });
        }
        Ok(
            match self.store.skipped()?.into_iter().find(|s| s.path == path) {
                Some(skipped) => FileStatus::Skipped(skipped),
                None => FileStatus::Unknown,
            },
        )
    }

    /// The generation of this snapshot (it grows with every committed run).
    pub fn generation(&self) -> u64 {
        self.meta.generation
    }

    /// The generation committed now for the repository at `root` (0 if not
    /// indexed): cheaper than opening, to tell whether a snapshot is behind.
    pub fn current_generation(home: &Home, root: &Path) -> Result<u64> {
        let db = home.layout(root).db();
        if !db.exists() {
            return Ok(0);
        }
        Ok(SqliteStore::open_snapshot(&db)?.meta()?.generation)
    }

    /// The commit the index was built at (`None` outside git).
    pub fn indexed_commit(&self) -> Option<&str> {
        self.meta.head.as_deref()
    }

    /// Calls made on lines `start..=end` of `path`: (called name, line).
    pub fn calls_in(&self, path: &str, start: u32, end: u32) -> Result<Vec<(String, u32)>> {
        Ok(self.store.calls_in(path, start, end)?)
    }

    /// Call sites and other uses of `name` (bare or qualified) and the
    /// files they are in.
    pub fn ref_counts(&self, name: &str) -> Result<lore_core::store::RefCounts> {
        Ok(self.store.ref_counts(bare_name(name))?)
    }

    /// References to `name` without their line text (cheap: no file is
    /// read), calls first, then imports, then other uses.
    pub fn ref_rows(&self, name: &str) -> Result<Vec<RefRow>> {
        let mut rows = self.store.refs(bare_name(name))?;
        rows.sort_by_key(|r| (ref_order(r.kind), r.path.clone(), r.line));
        Ok(rows)
    }

    /// The definition of `qualname` in `path` (the first, if several).
    pub fn definition(&self, path: &str, qualname: &str) -> Result<Option<SymbolHit>> {
        Ok(self
            .store
            .outline(path)?
            .into_iter()
            .find(|s| s.qualname == qualname)
            .map(|s| symbol_hit(s, "exact")))
    }

    /// Every definition of `qualname` in `path`, in line order.
    pub fn definitions_in(&self, path: &str, qualname: &str) -> Result<Vec<SymbolHit>> {
        Ok(self
            .store
            .outline(path)?
            .into_iter()
            .filter(|s| s.qualname == qualname)
            .map(|s| symbol_hit(s, "exact"))
            .collect())
    }

    /// The metadata store snapshot.
    pub(crate) fn store(&self) -> &SqliteStore {
        &self.store
    }

    /// Search over chunks: lexical, vector or both fused (see [`SearchMode`]).
    pub fn search(&self, query: &str, options: &SearchOptions) -> Result<Vec<SearchHit>> {
        let query = crate::request::text(query, "search query")?;
        crate::request::limit(options.limit)?;
        let Candidates {
            chunks,
            features,
            scored,
            transformer,
        } = self.candidates(query, options)?;
        let policy = self.policy_for(transformer);
        let terms: Vec<String> = lore_core::tokens::token_texts(query);
        let top = top_per_group(
            scored,
            |id| &*chunks[&id].path,
            options.max_per_file.unwrap_or(policy.max_per_file).max(1),
            options.limit.max(1),
        );
        // Texts only for the results: candidates are ranked on their heads.
        let top_ids: Vec<u64> = top.iter().map(|&(id, _)| id).collect();
        let mut texts: HashMap<u64, String> = self
            .store
            .chunks(&top_ids)?
            .into_iter()
            .map(|c| (c.id, c.text))
            .collect();
        Ok(top
            .into_iter()
            .map(|(id, score)| {
                let chunk = &chunks[&id];
                let text = texts.remove(&id).unwrap_or_default();
                SearchHit {
                    snippet: snippet(&text, &terms),
                    text,
                    path: chunk.path.to_string(),
                    start_line: chunk.start_line,
                    end_line: chunk.end_line,
                    symbol: chunk.symbol.as_deref().map(str::to_owned),
                    kind: chunk.kind.map(|k| k.name().to_owned()),
                    lang: chunk.lang.name().to_owned(),
                    score: score as f32,
                    explain: options.explain.then(|| {
                        features
                            .get(&id)
                            .cloned()
                            .unwrap_or_default()
                            .score(policy)
                            .1
                    }),
                }
            })
            .collect())
    }

    /// Every candidate of a search with its features and its score in
    /// `options.mode`, before the per-file cap and the limit: what a
    /// learned ranker would be fitted on (`lore eval --features`).
    pub fn candidates(&self, query: &str, options: &SearchOptions) -> Result<Candidates> {
        let limit = options.limit.max(1);
        let policy = &self.policy;
        let max_per_file = options.max_per_file.unwrap_or(policy.max_per_file).max(1);
        let paths = match &options.path_glob {
            Some(glob) => Some(self.matching_paths(glob)?),
            None => None,
        };
        let wanted = policy.candidates_per_signal.max(limit * max_per_file + 16);
        let semantic = match options.mode {
            SearchMode::Hybrid | SearchMode::Vector => self.semantic(),
            SearchMode::Lexical | SearchMode::Dense => None,
        };
        let dense = match options.mode {
            SearchMode::Hybrid | SearchMode::Dense => self.dense(),
            SearchMode::Lexical | SearchMode::Vector => None,
        };
        let policy = self.policy_for(dense.is_some());
        if options.mode == SearchMode::Dense && dense.is_none() {
            return Err(Error::Invalid(format!(
                "{}: no transformer vectors; choose an embedder with `lore embed use SPEC` \
                 and run `lore embed run`",
                self.root.display()
            )));
        }

        let lexical: Vec<(u64, f32)> =
            if matches!(options.mode, SearchMode::Vector | SearchMode::Dense) {
                Vec::new()
            } else {
                let expansions = match (options.mode, semantic) {
                    (SearchMode::Hybrid, Some(s)) => expand(s, query, &policy.expansion),
                    _ => Vec::new(),
                };
                let lexical_query = LexicalQuery {
                    text: query.to_owned(),
                    limit: wanted,
                    langs: options.langs.clone(),
                    paths: paths.clone(),
                    expansions,
                };
                self.lexical
                    .search(&lexical_query)?
                    .into_iter()
                    .map(|h| (h.chunk_id, h.score))
                    .collect()
            };
        // Filters apply after the vector scans; take extra to make up for them.
        let filtered = !options.langs.is_empty() || paths.is_some();
        let vector_k = if filtered { wanted * 4 } else { wanted };
        let query_vector = semantic.map(|s| s.model.embed_one(query));
        let vector: Vec<(u64, f32)> = match (semantic, &query_vector) {
            (Some(s), Some(q)) if q.iter().any(|&x| x != 0.0) => {
                self.nearest(&s.vectors, q, vector_k)
            }
            _ => Vec::new(),
        };
        let dense_query: Option<Vec<f32>> = match dense {
            Some(d) => Some(d.embedder.embed(&[query])?.remove(0)),
            None => None,
        };
        let dense_hits: Vec<(u64, f32)> = match (dense, &dense_query) {
            (Some(d), Some(q)) => self.nearest(&d.vectors, q, vector_k),
            _ => Vec::new(),
        };

        let mut ids: Vec<u64> = lexical
            .iter()
            .chain(&vector)
            .chain(&dense_hits)
            .map(|&(id, _)| id)
            .collect();
        ids.sort_unstable();
        ids.dedup();
        let path_set: Option<HashSet<&str>> = paths
            .as_ref()
            .map(|p| p.iter().map(String::as_str).collect());
        let mut chunks = self.heads(&ids)?;
        chunks.retain(|_, c| {
            (options.langs.is_empty() || options.langs.contains(&c.lang))
                && path_set.as_ref().is_none_or(|p| p.contains(&*c.path))
        });
        let lexical: Vec<(u64, f32)> = lexical
            .into_iter()
            .filter(|(id, _)| chunks.contains_key(id))
            .collect();
        let vector: Vec<(u64, f32)> = vector
            .into_iter()
            .filter(|(id, _)| chunks.contains_key(id))
            .take(wanted)
            .collect();
        let dense_hits: Vec<(u64, f32)> = dense_hits
            .into_iter()
            .filter(|(id, _)| chunks.contains_key(id))
            .take(wanted)
            .collect();

        let mut features: FxHashMap<u64, Features> = FxHashMap::default();
        let best_bm25 = lexical.iter().map(|&(_, s)| s).fold(0.0f32, f32::max);
        let lexical_ids: Vec<u64> = lexical.iter().map(|&(id, _)| id).collect();
        let vector_ids: Vec<u64> = vector.iter().map(|&(id, _)| id).collect();
        let dense_ids: Vec<u64> = dense_hits.iter().map(|&(id, _)| id).collect();
        let fused = rrf(&[&lexical_ids, &vector_ids, &dense_ids], policy.rrf_k);
        let name_terms = query_terms(query);
        // Several candidates share a file: match each path once.
        let mut path_scores: FxHashMap<&str, f64> = FxHashMap::default();
        let name_vectors: FxHashMap<u64, Arc<[f32]>> = match (semantic, &query_vector) {
            (Some(s), Some(_)) => {
                let named: Vec<(u64, &Arc<str>)> = fused
                    .keys()
                    .filter_map(|id| Some((*id, chunks[id].symbol.as_ref()?)))
                    .collect();
                let names: Vec<&Arc<str>> = named.iter().map(|&(_, n)| n).collect();
                let ids = named.iter().map(|&(id, _)| id);
                ids.zip(s.name_vectors(&names)).collect()
            }
            _ => FxHashMap::default(),
        };
        for (&id, &rrf_score) in &fused {
            let chunk = &chunks[&id];
            let f = features.entry(id).or_default();
            f.set(Feature::Rrf, rrf_score);
            if let (Some(s), Some(q)) = (semantic, &query_vector)
                && let Some(v) = s.vectors.get(id)
            {
                f.set(Feature::Vector, f64::from(dot(q, v).max(0.0)));
            }
            if let (Some(d), Some(q)) = (dense, &dense_query)
                && let Some(v) = d.vectors.get(id)
            {
                f.set(Feature::Dense, f64::from(dot(q, v).max(0.0)));
            }
            let name = name_match(&name_terms, chunk.symbol.as_deref().unwrap_or(""));
            f.set(Feature::Name, name.precision);
            f.set(Feature::NameRecall, name.recall);
            let path_score = *path_scores
                .entry(&chunk.path)
                .or_insert_with(|| path_match(&name_terms, &chunk.path));
            f.set(Feature::Path, path_score);
            if let (Some(q), Some(v)) = (&query_vector, name_vectors.get(&id)) {
                f.set(Feature::NameVector, f64::from(dot(q, v).max(0.0)));
            }
        }
        for &(id, score) in &lexical {
            if best_bm25 > 0.0 {
                features
                    .entry(id)
                    .or_default()
                    .set(Feature::Lexical, f64::from(score / best_bm25));
            }
        }
        for (id, f) in features.iter_mut() {
            // The prior scales with the evidence, so that it orders
            // relevant chunks but never outweighs an exact match.
            let evidence = f
                .get(Feature::Lexical)
                .max(f.get(Feature::Vector))
                .max(f.get(Feature::Dense));
            f.set(Feature::Kind, kind_prior(chunks[id].kind) * evidence);
        }

        if options.mode == SearchMode::Hybrid && policy.weight(Feature::Graph) != 0.0 {
            self.graph_feature(policy, &chunks, &mut features)?;
        }

        let scored: Vec<(u64, f64)> = match options.mode {
            SearchMode::Lexical => lexical.iter().map(|&(id, s)| (id, f64::from(s))).collect(),
            SearchMode::Vector => vector.iter().map(|&(id, s)| (id, f64::from(s))).collect(),
            SearchMode::Dense => dense_hits
                .iter()
                .map(|&(id, s)| (id, f64::from(s)))
                .collect(),
            SearchMode::Hybrid => {
                let weights = policy.weight_table();
                features
                    .iter()
                    .map(|(&id, f)| (id, f.total(&weights)))
                    .collect()
            }
        };
        Ok(Candidates {
            chunks,
            features,
            scored,
            transformer: dense.is_some(),
        })
    }

    /// Sets [`Feature::Graph`]: personalised PageRank over the file graph,
    /// seeded by the files of the best candidates so far, so that files
    /// linked to them (callers, callees, definitions) rise.
    fn graph_feature(
        &self,
        policy: &Policy,
        chunks: &FxHashMap<u64, ChunkHead>,
        features: &mut FxHashMap<u64, Features>,
    ) -> Result<()> {
        let weights = policy.weight_table();
        let mut ranked: Vec<(u64, f64)> = features
            .iter()
            .map(|(&id, f)| (id, f.total(&weights)))
            .collect();
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        let mut seeds: Vec<&str> = Vec::new();
        for (id, _) in ranked {
            let path = &*chunks[&id].path;
            if !seeds.contains(&path) {
                seeds.push(path);
                if seeds.len() == policy.graph_seeds {
                    break;
                }
            }
        }
        // Every edge touching a seed (an edge between two seeds once per
        // seed): from memory in a resident snapshot, else from the store.
        if self.resident {
            let files = self.file_graph();
            // A seed without edges has no id in the graph but still takes
            // its share of the jumps: it gets one from the top of the range.
            let key = |path: &str| {
                files.id(path).or_else(|| {
                    let at = seeds.iter().position(|s| *s == path)?;
                    Some(u32::MAX - at as u32)
                })
            };
            let seed_ids: Vec<u32> = seeds.iter().filter_map(|s| key(s)).collect();
            let edges = seed_ids.iter().flat_map(|&s| files.touching_ids(s));
            let rank = neighbourhood_rank(&seed_ids, edges);
            for (id, f) in features.iter_mut() {
                if let Some(r) = key(&chunks[id].path).and_then(|file| rank.get(&file)) {
                    f.set(Feature::Graph, *r);
                }
            }
        } else {
            let paths: Vec<String> = seeds.iter().map(|&s| s.to_owned()).collect();
            let edges = self.store.file_edges(Some(&paths))?;
            let rank = neighbourhood_rank(
                &seeds,
                edges
                    .iter()
                    .map(|e| (e.src.as_str(), e.dst.as_str(), e.weight)),
            );
            for (id, f) in features.iter_mut() {
                if let Some(r) = rank.get(&*chunks[id].path) {
                    f.set(Feature::Graph, *r);
                }
            }
        }
        Ok(())
    }

    fn matching_paths(&self, glob: &str) -> Result<Vec<String>> {
        let mut builder = GlobSetBuilder::new();
        let pattern = Glob::new(glob)
            .map_err(|e| Error::Invalid(format!("invalid --path glob {glob:?}: {e}")))?;
        builder.add(pattern);
        // A glob without a slash matches at any depth, like .gitignore.
        if !glob.contains('/') {
            let deep =
                Glob::new(&format!("**/{glob}")).map_err(|e| Error::Invalid(e.to_string()))?;
            builder.add(deep);
        }
        let set = builder.build().map_err(|e| Error::Invalid(e.to_string()))?;
        Ok(self
            .store
            .paths()?
            .into_iter()
            .filter(|p| set.is_match(p))
            .collect())
    }

    /// Definitions named `name`: exact matches, else prefix matches, else
    /// fuzzy matches (small edit distance or subsequence).
    pub fn symbols(
        &self,
        name: &str,
        kind: Option<SymbolKind>,
        limit: usize,
    ) -> Result<Vec<SymbolHit>> {
        let exact = self.store.symbols_exact(name, kind)?;
        if !exact.is_empty() {
            return Ok(exact
                .into_iter()
                .take(limit)
                .map(|s| symbol_hit(s, "exact"))
                .collect());
        }
        let prefix = self.store.symbols_prefix(name, kind, limit)?;
        if !prefix.is_empty() {
            return Ok(prefix
                .into_iter()
                .map(|s| symbol_hit(s, "prefix"))
                .collect());
        }
        let mut scored: Vec<(usize, String)> = self
            .store
            .symbol_names()?
            .into_iter()
            .filter_map(|candidate| fuzzy_score(name, &candidate).map(|score| (score, candidate)))
            .collect();
        scored.sort();
        let mut out = Vec::new();
        for (_, candidate) in scored.into_iter().take(limit) {
            for row in self.store.symbols_exact(&candidate, kind)? {
                if out.len() < limit {
                    out.push(symbol_hit(row, "fuzzy"));
                }
            }
        }
        Ok(out)
    }

    /// References to `name` (a bare or qualified name; the last segment is used).
    pub fn refs(&self, name: &str) -> Result<Vec<RefHit>> {
        let rows = self.store.refs(bare_name(name))?;
        let mut lines_cache: HashMap<String, Option<Vec<String>>> = HashMap::new();
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let lines = lines_cache.entry(row.path.clone()).or_insert_with(|| {
                std::fs::read(self.root.join(&row.path)).ok().map(|b| {
                    String::from_utf8_lossy(&b)
                        .lines()
                        .map(str::to_owned)
                        .collect()
                })
            });
            let text = lines
                .as_ref()
                .and_then(|l| l.get(row.line as usize - 1))
                .map(|l| l.trim().to_owned())
                .unwrap_or_default();
            out.push(RefHit {
                path: row.path,
                line: row.line,
                kind: row.kind.name().to_owned(),
                symbol: row.enclosing,
                lang: row.lang.name().to_owned(),
                text,
            });
        }
        // Calls first, then imports, then other uses; each by location.
        let order = |k: &str| RefKind::from_name(k).map_or(2, ref_order);
        out.sort_by(|a, b| {
            (order(&a.kind), &a.path, a.line).cmp(&(order(&b.kind), &b.path, b.line))
        });
        Ok(out)
    }

    /// The symbols of one file as a tree. `path` may be relative to the root
    /// or to the current directory.
    pub fn outline(&self, path: &str) -> Result<Vec<SymbolHit>> {
        let rel = self.relative(path);
        let rows = self.store.outline(&rel)?;
        if rows.is_empty() && !self.store.paths()?.contains(&rel) {
            return Err(Error::UnknownFile(path.to_owned()));
        }
        Ok(build_tree(rows))
    }

    fn relative(&self, path: &str) -> String {
        let p = Path::new(path);
        let absolute = if p.is_absolute() {
            p.to_owned()
        } else {
            std::env::current_dir()
                .map(|d| d.join(p))
                .unwrap_or_else(|_| p.to_owned())
        };
        let absolute = absolute.canonicalize().unwrap_or(absolute);
        match absolute.strip_prefix(&self.root) {
            Ok(rel) => rel.to_string_lossy().replace('\\', "/"),
            Err(_) => path.trim_start_matches("./").to_owned(),
        }
    }

    /// Index status.
    pub fn status(&self) -> Result<RepoStatus> {
        let stats = self.store.stats()?;
        let semantic = self.semantic_status(stats.chunks)?;
        Ok(RepoStatus {
            root: self.meta.root.clone(),
            data_dir: self.data_dir.clone(),
            meta: self.meta.clone(),
            current_head: lore_git::head(&self.root),
            stats,
            lexical_docs: self.lexical.num_docs(),
            index_bytes: dir_size(&self.data_dir)?,
            skipped: self.store.skipped()?,
            semantic,
        })
    }

    /// Status of the transformer vectors, read from the files alone (the
    /// embedder itself is not loaded).
    fn dense_status(&self, ids: &[u64]) -> Result<Option<DenseStatus>> {
        let spec = recorded_spec(&self.store)?;
        if spec.is_learned() {
            return Ok(None);
        }
        let name = self.store.get_meta(dense_keys::FILE)?;
        let dir = dense_dir(&self.data_dir);
        let vectors = name
            .as_ref()
            .and_then(|n| FlatVectors::load(&dir.join(n)).ok());
        let embedded = vectors.as_ref().map_or(0, |v| {
            ids.iter().filter(|&&id| v.get(id).is_some()).count() as u64
        });
        let chunks = ids.len() as u64;
        Ok(Some(DenseStatus {
            spec: spec.to_string(),
            state: if embedded == 0 {
                "pending"
            } else if embedded >= chunks {
                "ready"
            } else {
                "partial"
            },
            model: vectors.as_ref().map(|v| v.model_id().to_owned()),
            embedded,
            pending: chunks.saturating_sub(embedded),
            running: embedding_running(&self.data_dir),
            file: name.map(|name| {
                let bytes = std::fs::metadata(dir.join(&name)).map_or(0, |m| m.len());
                DataFile { name, bytes }
            }),
        }))
    }

    fn semantic_status(&self, chunks: u64) -> Result<SemanticStatus> {
        let ids = self.store.chunk_ids()?;
        let dense = self.dense_status(&ids)?;
        Ok(match self.semantic() {
            Some(s) => {
                let embedded = ids
                    .iter()
                    .filter(|&&id| s.vectors.get(id).is_some())
                    .count() as u64;
                SemanticStatus {
                    state: if embedded >= chunks {
                        "ready"
                    } else {
                        "partial"
                    },
                    model: Some(s.vectors.model_id().to_owned()),
                    embedded,
                    pending: chunks.saturating_sub(embedded),
                    dense,
                }
            }
            None => SemanticStatus {
                state: "lexical only",
                model: None,
                embedded: 0,
                pending: chunks,
                dense,
            },
        })
    }

    /// Which embedder produced the vectors and how far embedding got.
    pub fn embed_status(&self) -> Result<EmbedStatus> {
        let chunks = self.store.chunk_ids()?.len() as u64;
        let semantic = self.semantic_status(chunks)?;
        let file = |dir: PathBuf, key: &str| -> Result<Option<DataFile>> {
            Ok(self.store.get_meta(key)?.map(|name| {
                let bytes = std::fs::metadata(dir.join(&name)).map_or(0, |m| m.len());
                DataFile { name, bytes }
            }))
        };
        let loaded = self.semantic();
        let kind = recorded_spec(&self.store)?.kind();
        Ok(EmbedStatus {
            state: semantic.state,
            embedder: kind,
            model: semantic.model,
            dims: loaded.map(|s| s.vectors.dims()),
            vocabulary: loaded.map(|s| s.model.vocab_len()),
            embedded: semantic.embedded,
            pending: semantic.pending,
            vectors_file: file(vectors_dir(&self.data_dir), keys::VECTORS)?,
            model_file: file(models_dir(&self.data_dir), keys::LEARNED)?,
            dense: semantic.dense,
        })
    }

    /// Churn of a file: (commits touching it, last change, distinct authors).
    pub fn churn(&self, path: &str) -> Result<Option<(u64, i64, u64)>> {
        Ok(self.store.churn(path)?)
    }
}

/// The last segment of a qualified name: `send` for `Session.send` or
/// `http::Client::send`.
fn bare_name(name: &str) -> &str {
    let bare = name.rsplit("::").next().unwrap_or(name);
    bare.rsplit('.').next().unwrap_or(bare)
}

/// Calls first, then imports, then other uses.
fn ref_order(kind: RefKind) -> u8 {
    match kind {
        RefKind::Call => 0,
        RefKind::Import => 1,
        RefKind::Use => 2,
    }
}

fn symbol_hit(s: SymbolRow, matched: &'static str) -> SymbolHit {
    SymbolHit {
        name: s.name,
        qualname: s.qualname,
        kind: s.kind.name().to_owned(),
        path: s.path,
        start_line: s.start_line,
        end_line: s.end_line,
        signature: s.signature,
        doc: s.doc,
        lang: s.lang.name().to_owned(),
        matched,
        children: Vec::new(),
    }
}

fn build_tree(rows: Vec<SymbolRow>) -> Vec<SymbolHit> {
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let parents: Vec<Option<usize>> = rows
        .iter()
        .map(|r| r.parent_id.and_then(|p| ids.iter().position(|&id| id == p)))
        .collect();
    let mut nodes: Vec<Option<SymbolHit>> = rows
        .into_iter()
        .map(|r| Some(symbol_hit(r, "exact")))
        .collect();
    // Attach children deepest-first: later rows are nested in earlier ones.
    for i in (0..nodes.len()).rev() {
        if let Some(p) = parents[i] {
            let child = nodes[i].take().expect("each node attached once");
            nodes[p]
                .as_mut()
                .expect("parent precedes child")
                .children
                .insert(0, child);
        }
    }
    nodes.into_iter().flatten().collect()
}

/// Lower is better; `None` means no match.
fn fuzzy_score(query: &str, candidate: &str) -> Option<usize> {
    let q = query.to_lowercase();
    let c = candidate.to_lowercase();
    let distance = levenshtein(&q, &c);
    let allowed = (q.chars().count() / 4).clamp(1, 3);
    if distance <= allowed {
        return Some(distance);
    }
    // Subsequence: `snd_req` finds `send_request`.
    let mut chars = c.chars();
    if q.chars().all(|qc| chars.by_ref().any(|cc| cc == qc)) {
        return Some(10 + c.len() - q.len());
    }
    None
}

fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.chars().enumerate() {
        cur[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let cost = usize::from(ca != cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// The `SNIPPET_LINES` lines of `text` with the most query-term matches.
fn snippet(text: &str, terms: &[String]) -> String {
    let lines: Vec<&str> = text.lines().collect();
    // Per line, how many of the terms occur in it (a term listed twice
    // counts twice).
    let mut found = vec![false; terms.len()];
    let mut score = |line: &str| {
        found.fill(false);
        lore_core::tokens::tokenize_with(line, |token| {
            for (seen, term) in found.iter_mut().zip(terms) {
                *seen |= term == token.text;
            }
        });
        found.iter().filter(|&&seen| seen).count()
    };
    let scores: Vec<usize> = lines.iter().map(|l| score(l)).collect();
    let window = SNIPPET_LINES.min(lines.len());
    let best = (0..=lines.len() - window)
        .max_by_key(|&start| {
            // Most matches, then a match on the middle line, then earliest.
            let middle = scores[start + window / 2];
            (
                scores[start..start + window].iter().sum::<usize>(),
                middle,
                std::cmp::Reverse(start),
            )
        })
        .unwrap_or(0);
    lines[best..best + window]
        .iter()
        .map(|l| {
            if l.len() > 200 {
                &l[..l.floor_char_boundary(200)]
            } else {
                l
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn dir_size(dir: &Path) -> Result<u64> {
    let mut total = 0;
    let entries = std::fs::read_dir(dir).map_err(io(dir))?;
    for entry in entries.flatten() {
        let meta = entry.metadata().map_err(io(entry.path()))?;
        total += if meta.is_dir() {
            dir_size(&entry.path())?
        } else {
            meta.len()
        };
    }
    Ok(total)
}

/// How likely a chunk of this kind answers a question: behaviour lives in
/// functions; types and modules describe it; plain text only mentions it.
fn kind_prior(kind: Option<SymbolKind>) -> f64 {
    match kind {
        Some(SymbolKind::Function | SymbolKind::Method) => 1.0,
        Some(
            SymbolKind::Class
            | SymbolKind::Struct
            | SymbolKind::Enum
            | SymbolKind::Trait
            | SymbolKind::Interface
            | SymbolKind::Macro,
        ) => 0.5,
        Some(_) => 0.25,
        None => 0.0,
    }
}

/// Personalised PageRank from `seeds` over the `edges` touching them (taken
/// both ways: a caller is as related as a callee), divided by the best
/// node's rank. Empty when no edge touches a seed.
fn neighbourhood_rank<K: Copy + Eq + std::hash::Hash>(
    seeds: &[K],
    edges: impl Iterator<Item = (K, K, f64)>,
) -> FxHashMap<K, f64> {
    // Seeds are nodes 0..seeds.len().
    let mut nodes: FxHashMap<K, usize> = FxHashMap::default();
    let mut keys: Vec<K> = Vec::new();
    let mut node = |key: K| {
        *nodes.entry(key).or_insert_with(|| {
            keys.push(key);
            keys.len() - 1
        })
    };
    let seed_nodes: Vec<usize> = seeds.iter().map(|&s| node(s)).collect();
    let mut both_ways: Vec<(usize, usize, f64)> = Vec::new();
    for (src, dst, weight) in edges {
        let (src, dst) = (node(src), node(dst));
        both_ways.push((src, dst, weight));
        both_ways.push((dst, src, weight));
    }
    if both_ways.is_empty() {
        return FxHashMap::default();
    }
    let graph = Graph::from_edges(keys.len(), both_ways);
    let rank = pagerank_seeded(&graph, &seed_nodes, &PageRankConfig::default());
    let best = rank.iter().copied().fold(0.0f64, f64::max);
    if best <= 0.0 {
        return FxHashMap::default();
    }
    keys.into_iter()
        .zip(rank)
        .map(|(key, r)| (key, r / best))
        .collect()
}

/// Query expansion from the learned model: each query word's nearest
/// words in this repository's vocabulary, weighted by similarity.
fn expand(semantic: &Semantic, query: &str, expansion: &Expansion) -> Vec<(String, f32)> {
    let terms = query_terms(query);
    let key = |term: &str| {
        (
            term.to_owned(),
            expansion.neighbours,
            expansion.min_cosine.to_bits(),
        )
    };
    let mut lists: Vec<Option<Near>> = {
        let near = semantic.near.lock().unwrap_or_else(|p| p.into_inner());
        terms.iter().map(|t| near.get(&key(t)).cloned()).collect()
    };
    let missing: Vec<&str> = terms
        .iter()
        .zip(&lists)
        .filter(|(_, list)| list.is_none())
        .map(|(t, _)| t.as_str())
        .collect();
    if !missing.is_empty() {
        let found =
            semantic
                .model
                .neighbours_of(&missing, expansion.neighbours, expansion.min_cosine);
        let mut near = semantic.near.lock().unwrap_or_else(|p| p.into_inner());
        let mut found = missing.iter().zip(found);
        for (term, list) in terms.iter().zip(lists.iter_mut()) {
            if list.is_none()
                && let Some((_, words)) = found.next()
            {
                let words: Near = words.into_iter().map(|(w, c)| (w.to_owned(), c)).collect();
                near.insert(key(term), words.clone());
                *list = Some(words);
            }
        }
    }
    let mut out: Vec<(String, f32)> = Vec::new();
    for (word, cosine) in lists.iter().flatten().flat_map(|l| l.iter()) {
        if is_stop_word(word) {
            continue;
        }
        let weight = expansion.weight * cosine;
        match out.iter_mut().find(|(w, _)| w == word) {
            Some((_, w)) => *w = w.max(weight),
            None => out.push((word.clone(), weight)),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fuzzy_matching() {
        assert_eq!(fuzzy_score("sesion", "Session"), Some(1));
        assert!(fuzzy_score("snd_req", "send_request").is_some());
        assert_eq!(fuzzy_score("zzz", "Session"), None);
        assert_eq!(levenshtein("kitten", "sitting"), 3);
    }

    #[test]
    fn snippet_picks_matching_lines() {
        let text = "a\nb\nc\nretry the request\nd\ne";
        assert_eq!(snippet(text, &["retry".into()]), "c\nretry the request\nd");
        assert_eq!(snippet("one", &[]), "one");
    }
}
