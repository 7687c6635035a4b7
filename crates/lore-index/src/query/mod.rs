//! Reading an index: search, symbols, references, outlines and status, all
//! from one consistent snapshot.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use globset::{Glob, GlobSetBuilder};
pub use lore_core::Located;
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
use lore_search::TantivyIndex;
use lore_store::SqliteStore;
use lore_vector::{FlatVectors, VectorSet};
use rustc_hash::FxHashMap;

use crate::dense::{dense_dir, embedding_running, keys as dense_keys, recorded_spec};
use crate::embed::{keys, models_dir, vectors_dir};
use crate::error::{Error, Result, io};
use crate::home::{Home, repo_key};
use crate::pipeline::generation_dir;
use crate::shared::{ChunkTable, FileGraph, file_key, shared};

mod lookup;
mod search;
pub(crate) use search::is_aux_path;
mod status;

/// Lines of context in a snippet.
const SNIPPET_LINES: usize = 3;

/// A consistent read-only view of one repository's index.
pub struct RepoIndex {
    root: PathBuf,
    data_dir: PathBuf,
    /// The metadata store, through its trait: SQLite today; the in-memory
    /// twin in tests (`RepoIndex::from_stores`); PostgreSQL later.
    store: Box<dyn MetaStore + Send>,
    lexical: Box<dyn LexicalSearcher + Send>,
    meta: RepoMeta,
    /// Loaded on first use (many commands never need them) and shared
    /// with the process's other snapshots of the same files.
    semantic: OnceLock<Arc<Option<Semantic>>>,
    /// Transformer vectors and their embedder, loaded on first use.
    dense: OnceLock<Arc<Option<Dense>>>,
    /// Whether this snapshot serves many queries (see [`RepoIndex::resident`]).
    resident: bool,
    /// Memory a resident snapshot's data may take ([`RepoIndex::resident_within`]).
    budget: u64,
    /// What a resident snapshot keeps in memory under its budget.
    keep: OnceLock<Keep>,
    /// The file graph of this generation, loaded on first use (resident only).
    graph: OnceLock<Arc<FileGraph>>,
    /// Every chunk's head, loaded on first use (resident only).
    heads: OnceLock<Arc<ChunkTable>>,
    /// Recency and feedback utility of places, loaded on first use by a
    /// policy that weighs them (or a learner).
    priors: OnceLock<Arc<Priors>>,
    /// The translation table of the repository policy in force (or the
    /// one a learner set), loaded on first use.
    translation: OnceLock<Option<Arc<lore_learn::translate::Table>>>,
    policy: Policy,
    /// The policy when transformer vectors are available.
    transformer_policy: Policy,
    /// When `policies.json` was last written, as this snapshot read it.
    policy_stamp: Option<std::time::SystemTime>,
}

fn policy_stamp(data_dir: &Path) -> Option<std::time::SystemTime> {
    std::fs::metadata(data_dir.join(crate::policy::FILE))
        .and_then(|m| m.modified())
        .ok()
}

/// What the place-prior features ([`Feature::PRIORS`]) read.
#[derive(Debug, Default)]
struct Priors {
    /// Each file's last change as its rank among the history's files
    /// (0 the oldest, 1 the newest).
    recency: FxHashMap<String, f64>,
    /// Credit of places from people's feedback.
    utility: crate::utility::Utility,
}

/// Transformer vectors and the embedder that made them (for queries).
struct Dense {
    embedder: Box<dyn Embedder>,
    vectors: FlatVectors,
}

/// Which parts of the data a resident snapshot keeps in memory.
#[derive(Clone, Copy, Debug, Default)]
struct Keep {
    codes: bool,
    graph: bool,
    heads: bool,
    /// The vector rows themselves (rescoring without a read per row).
    rows: bool,
}

/// Estimated memory of the file graph per chunk (measured: edges grow with
/// the code, about 3 per chunk on a large Rust tree, 40 bytes each).
const GRAPH_BYTES_PER_CHUNK: u64 = 120;

/// Estimated memory of a chunk head (the record and its symbol name).
const HEAD_BYTES_PER_CHUNK: u64 = 110;

/// A word's nearest words with their cosines.
type Near = Arc<[(String, f32)]>;

/// The learned model and the vectors it produced.
struct Semantic {
    model: LearnedModel,
    /// Segments read by pages (codes kept in memory once resident).
    vectors: VectorSet,
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
    /// Compute every feature, also the place priors the policy does not
    /// weigh (for a learner fitting a policy).
    pub all_features: bool,
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
    /// The chunk: path, lines, symbol, kind, language.
    #[serde(flatten)]
    pub at: Located,
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
    /// The retrieval policy ranking hybrid search: its global version and
    /// the repository's own version in force, if any.
    pub retrieval_policy: (u32, Option<u32>),
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
            "retrieval_policy": { "version": self.retrieval_policy.0, "repository": self.retrieval_policy.1 },
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
    /// `ready`, `partial` (some chunks have no vector yet), `damaged` (the
    /// vectors file does not load; the next index run rewrites it) or
    /// `lexical only`.
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
    /// `ready`, `partial`, `damaged` or `lexical only`, as in [`SemanticStatus`].
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
        RepoIndex::from_stores(root, data_dir, Box::new(store), Box::new(lexical))
    }

    /// A snapshot over stores opened by the caller: what [`RepoIndex::open`]
    /// does with the SQLite and tantivy stores of a data directory, and what
    /// tests do with the in-memory twin (`lore_core::store::MemoryStore`).
    /// Models and vectors are looked up in `data_dir` as the store names
    /// them (none: lexical search only).
    pub fn from_stores(
        root: &Path,
        data_dir: PathBuf,
        store: Box<dyn MetaStore + Send>,
        lexical: Box<dyn LexicalSearcher + Send>,
    ) -> Result<RepoIndex> {
        let meta = store.meta()?;
        // The repository's own retrieval policy when one is in force; an
        // unreadable record falls back to the global policy, with a warning.
        let policy_stamp = policy_stamp(&data_dir);
        let (policy, transformer_policy) = match crate::policy::Policies::load(&data_dir) {
            Ok(policies) => (
                policies.active(&Policy::default()),
                policies.active(&Policy::with_transformer()),
            ),
            Err(err) => {
                tracing::warn!(cause = %err, "the repository's retrieval policy is unreadable");
                (Policy::default(), Policy::with_transformer())
            }
        };
        Ok(RepoIndex {
            root: PathBuf::from(repo_key(root)),
            data_dir,
            store,
            lexical,
            meta,
            semantic: OnceLock::new(),
            dense: OnceLock::new(),
            resident: false,
            budget: u64::MAX,
            keep: OnceLock::new(),
            graph: OnceLock::new(),
            heads: OnceLock::new(),
            priors: OnceLock::new(),
            translation: OnceLock::new(),
            policy,
            transformer_policy,
            policy_stamp,
        })
    }

    /// The model and vectors named by this snapshot, if any; an unreadable
    /// file degrades search to lexical with a warning.
    fn semantic(&self) -> Option<&Semantic> {
        self.semantic
            .get_or_init(|| {
                let manifest = crate::embed::read_manifest(&*self.store)
                    .map_err(|err| tracing::warn!(cause = %err, "vectors unavailable"))
                    .ok()
                    .flatten();
                let model = self.store.get_meta(keys::LEARNED).ok().flatten();
                let (Some(manifest), Some(model)) = (manifest, model) else {
                    return Arc::new(None);
                };
                let model = models_dir(&self.data_dir).join(&model);
                let vdir = vectors_dir(&self.data_dir);
                let files: Vec<&str> = manifest.files().collect();
                let key = format!(
                    "semantic|{}|{}|{}",
                    file_key(&model),
                    vdir.display(),
                    files.join(",")
                );
                shared(key, || {
                    let load = || -> Result<Semantic> {
                        let model = LearnedModel::load(&model)?;
                        let vectors = manifest.open(&vdir)?;
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
                            tracing::warn!(
                                cause = %err,
                                "vectors unavailable; search is lexical only until `lore index` rewrites them"
                            );
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
                let spec = match recorded_spec(&*self.store) {
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

    /// [`resident`](Self::resident) within `bytes` of memory for this
    /// repository's data: the learned model and vector ids always; then, as
    /// long as their estimated size fits, the vector codes, the file graph,
    /// the chunk heads and the vector rows, in that order (each saves the
    /// most per byte before the next). What does not fit is read per query, as a
    /// one-shot search does. [`resident_bytes`](Self::resident_bytes) says
    /// what is held.
    pub fn resident_within(mut self, bytes: u64) -> RepoIndex {
        self.resident = true;
        self.budget = bytes;
        self
    }

    /// What this snapshot keeps in memory (nothing unless resident).
    fn keep(&self) -> Keep {
        *self.keep.get_or_init(|| {
            if !self.resident {
                return Keep::default();
            }
            let (rows, dims, model) = match self.semantic() {
                Some(s) => (
                    s.vectors.len() as u64,
                    s.vectors.dims() as u64,
                    s.model.memory_bytes(),
                ),
                None => (0, 0, 0),
            };
            let mut left = self.budget.saturating_sub(model + rows * 8);
            let mut take = |bytes: u64| {
                let fits = bytes <= left;
                if fits {
                    left -= bytes;
                }
                fits
            };
            let keep = Keep {
                codes: take(rows * (dims + 4)),
                graph: take(rows * GRAPH_BYTES_PER_CHUNK),
                heads: take(rows * HEAD_BYTES_PER_CHUNK),
                rows: take(rows * dims * 2),
            };
            if !(keep.codes && keep.graph && keep.heads && keep.rows) {
                tracing::info!(
                    ?keep,
                    budget = self.budget,
                    "resident data limited by the budget"
                );
            }
            keep
        })
    }

    /// Loads what searches use (vectors, models; with
    /// [`resident`](Self::resident) also the file graph, chunk heads and
    /// vector codes) so that the first query does not wait for it.
    pub fn warm(&self) {
        let semantic = self.semantic();
        let dense = self.dense();
        let keep = self.keep();
        if keep.codes
            && let Some(s) = semantic
            && let Err(err) = s.vectors.make_resident()
        {
            tracing::warn!(cause = %err, "vector codes not loaded");
        }
        if keep.rows
            && let Some(s) = semantic
            && let Err(err) = s.vectors.make_rows_resident()
        {
            tracing::warn!(cause = %err, "vector rows not loaded");
        }
        if self.resident
            && let Some(d) = dense
        {
            d.vectors.prepare_fast_search();
        }
        if keep.graph {
            self.file_graph();
        }
        if keep.heads {
            self.chunk_table();
        }
    }

    /// Bytes this snapshot's loaded data holds in memory (shared with the
    /// process's other snapshots of the same generation): the learned
    /// model, the vector ids and codes, transformer vectors, and in a
    /// resident snapshot the file graph and chunk heads. A resident
    /// snapshot's size is about 150 bytes per chunk plus the model; vector
    /// rows themselves stay on disk.
    pub fn resident_bytes(&self) -> u64 {
        let semantic = self.semantic.get().and_then(|s| s.as_ref().as_ref());
        let dense = self.dense.get().and_then(|d| d.as_ref().as_ref());
        semantic.map_or(0, |s| s.model.memory_bytes() + s.vectors.resident_bytes())
            + dense.map_or(0, |d| d.vectors.memory_bytes())
            + self.graph.get().map_or(0, |g| g.memory_bytes())
            + self.heads.get().map_or(0, |h| h.memory_bytes())
    }

    /// The `k` learned vectors nearest to `query`: their 8-bit codes are
    /// scanned (read by pages, or from memory in a resident snapshot) and a
    /// short list scored exactly. A read error leaves the signal out.
    fn nearest(&self, vectors: &VectorSet, query: &[f32], k: usize) -> Vec<(u64, f32)> {
        let keep = self.keep();
        if keep.codes {
            let _ = vectors.make_resident();
        }
        if keep.rows {
            let _ = vectors.make_rows_resident();
        }
        vectors.search(query, k).unwrap_or_else(|err| {
            tracing::warn!(cause = %err, "vector search failed; lexical signals only");
            Vec::new()
        })
    }

    /// The `k` transformer vectors nearest to `query`; a resident snapshot
    /// scans their 8-bit codes (built on first use).
    fn nearest_dense(&self, vectors: &FlatVectors, query: &[f32], k: usize) -> Vec<(u64, f32)> {
        if self.resident {
            vectors.prepare_fast_search();
        }
        vectors.search(query, k, |_| true)
    }

    /// Heads of the chunks `ids`, by id; unknown ids are left out.
    fn heads(&self, ids: &[u64]) -> Result<FxHashMap<u64, ChunkHead>> {
        if self.keep().heads {
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

    /// Whether the repository's retrieval policies are as this snapshot
    /// read them (a promotion, rollback or A/B change since means a
    /// resident snapshot must be opened again).
    pub fn policy_current(&self) -> bool {
        policy_stamp(&self.data_dir) == self.policy_stamp
    }

    /// The translation table for the `translation` feature: the one a
    /// learner set, else the one saved with the repository policy in
    /// force (none for the global policy, or when it does not load).
    pub(crate) fn translation(&self) -> Option<&lore_learn::translate::Table> {
        self.translation
            .get_or_init(|| {
                let version = self.policy.repository?;
                crate::policy::load_translation(&self.data_dir, version).map(Arc::new)
            })
            .as_deref()
    }

    /// Ranks with `table` as the translation table (a learner fitting a
    /// policy; before the first search of this snapshot).
    pub fn set_translation(&self, table: Arc<lore_learn::translate::Table>) {
        let _ = self.translation.set(Some(table));
    }

    /// The place priors, read on first use: the history's last change of
    /// each file and the feedback in `history.db` (a failure to read either
    /// leaves that prior at 0, with a warning).
    fn priors(&self) -> &Priors {
        self.priors.get_or_init(|| {
            let mut priors = Priors::default();
            match self.store.last_changes() {
                Ok(mut changes) => {
                    changes.sort_by_key(|&(_, t)| t);
                    let last = changes.len().saturating_sub(1).max(1) as f64;
                    let mut older = 0;
                    for i in 0..changes.len() {
                        if i > 0 && changes[i].1 != changes[i - 1].1 {
                            older = i;
                        }
                        priors
                            .recency
                            .insert(std::mem::take(&mut changes[i].0), older as f64 / last);
                    }
                }
                Err(err) => tracing::warn!(cause = %err, "file history unreadable: no recency"),
            }
            let history = crate::layout::Layout::new(&self.data_dir).history_db();
            match crate::utility::judged_in(&history, 0) {
                Ok(judged) => priors.utility = crate::utility::Utility::from_judged(&judged),
                Err(err) => tracing::warn!(cause = %err, "feedback unreadable: no utility"),
            }
            Arc::new(priors)
        })
    }

    /// The repository's data directory under `LORE_HOME`.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// The repository root.
    pub fn root(&self) -> &Path {
        &self.root
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

    /// The metadata store snapshot.
    /// Records that damage was found, so the next index run rebuilds
    /// instead of building on it (best effort: a read-only data directory
    /// keeps no note).
    pub(crate) fn note_damage(&self, what: &str) {
        let marker = crate::Layout::new(&self.data_dir).damage_marker();
        if let Err(err) = std::fs::write(&marker, what) {
            tracing::debug!(cause = %err, "cannot note the damage");
        }
    }

    pub(crate) fn store(&self) -> &dyn MetaStore {
        &*self.store
    }
}
