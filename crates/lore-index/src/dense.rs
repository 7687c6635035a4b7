//! Transformer vectors (local model or remote endpoint): a resumable
//! background step after the lexical commit.
//!
//! Embedding with a transformer is slow on a laptop CPU (about 15 chunks/s
//! at 128 tokens on 2 cores), so it never holds up `lore index` or
//! search. A run embeds the chunks that have no cached vector in batches;
//! each batch is committed to the embedding cache (keyed by model id and
//! the hash of the exact input text) before the next starts, so killing
//! the run loses at most one batch, and the next run resumes where it
//! stopped. Every `flush_every` and at the end, the vectors of every chunk
//! that has one are written to a new file under `dense/` and one metadata
//! transaction makes it current: search uses them at once ("partial").
//!
//! **Architecture Invariant:** a dense vectors file holds vectors of one
//! model only, and query vectors come from that same model: if the
//! configured embedder's id differs from the file's, the file is not used.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use lore_core::embed::Embedder;
use lore_core::store::{ContentHash, EmbeddingCache, MetaStore};
use lore_embed::EmbedderSpec;
use lore_store::{SqliteEmbeddingCache, SqliteStore};
use lore_vector::FlatVectors;

use crate::embed::{next_name, prune};
use crate::error::{Error, Result, io};
use crate::home::Home;

/// Metadata keys of the transformer vectors.
pub(crate) mod keys {
    /// The configured embedder spec (absent: `learned`).
    pub const SPEC: &str = "embedder.spec";
    /// File name (under `dense/`) of the current transformer vectors.
    pub const FILE: &str = "dense.file";
    /// Model id of that file.
    pub const MODEL: &str = "dense.model";
}

/// Settings of an embedding run.
#[derive(Clone, Debug)]
pub struct DenseOptions {
    /// Texts per embedding call (and per cache commit).
    pub batch: usize,
    /// Write the vectors file at least this often, so search sees progress.
    pub flush_every: Duration,
    /// Embed at most this many chunks in this run (`None`: all).
    pub limit: Option<usize>,
    /// The embedding cache file (`None`: the home's `embeddings.db`).
    pub cache: Option<PathBuf>,
    /// Refuse an embedder that is not on this machine (the code would be
    /// sent to it): `privacy.no_remote`.
    pub no_remote: bool,
}

impl Default for DenseOptions {
    fn default() -> DenseOptions {
        DenseOptions {
            batch: 32,
            flush_every: Duration::from_secs(60),
            limit: None,
            no_remote: false,
            cache: None,
        }
    }
}

/// What an embedding run did.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct DenseReport {
    /// Model of the vectors.
    pub model: String,
    /// Chunks in the index.
    pub chunks: usize,
    /// Chunks whose vector came from the cache.
    pub from_cache: usize,
    /// Chunks embedded by this run.
    pub embedded: usize,
    /// Chunks still without a vector.
    pub pending: usize,
    /// Wall time, in milliseconds.
    pub ms: u64,
    /// Embedding throughput of this run (embedded chunks per second).
    pub chunks_per_sec: f64,
}

pub(crate) fn dense_dir(data_dir: &Path) -> PathBuf {
    crate::Layout::new(data_dir).dense()
}

/// What the embedder sees of a chunk: its qualified symbol name (if any),
/// then its text.
pub(crate) fn dense_input(symbol: Option<&str>, text: &str) -> String {
    match symbol.filter(|s| !s.is_empty()) {
        Some(symbol) => format!("{symbol}\n{text}"),
        None => text.to_owned(),
    }
}

/// The cache key of a chunk's transformer input (see [`dense_input`]).
pub(crate) fn input_hash(symbol: Option<&str>, text: &str) -> ContentHash {
    content_hash(&dense_input(symbol, text))
}

fn content_hash(input: &str) -> ContentHash {
    let hash = blake3::hash(input.as_bytes());
    let mut out = [0u8; 16];
    out.copy_from_slice(&hash.as_bytes()[..16]);
    out
}

/// The embedder spec recorded for the repository (`learned` if none).
pub(crate) fn recorded_spec(store: &dyn MetaStore) -> Result<EmbedderSpec> {
    match store.get_meta(keys::SPEC)? {
        Some(spec) => Ok(EmbedderSpec::parse(&spec)?),
        None => Ok(EmbedderSpec::Learned),
    }
}

fn open_store(home: &Home, root: &Path) -> Result<(PathBuf, SqliteStore)> {
    let canonical = root.canonicalize().map_err(io(root))?;
    let data_dir = home.repo_dir(&canonical);
    let db = crate::Layout::new(&data_dir).db();
    if !db.exists() {
        return Err(Error::NotIndexed(canonical));
    }
    let store = SqliteStore::open(&db)?;
    Ok((data_dir, store))
}

/// Records which embedder computes the repository's transformer vectors
/// (`learned`: none). The embedder is opened first, so a wrong directory,
/// URL or key fails here. Vectors of another model stay in use by nothing
/// and are replaced by the next run.
pub fn set_embedder(home: &Home, root: &Path, spec: &EmbedderSpec) -> Result<()> {
    let (_, mut store) = open_store(home, root)?;
    let model = spec.open(None)?.map(|e| e.model_id().to_owned());
    let text = spec.to_string();
    if model.is_some() && store.get_meta(keys::MODEL)? == model {
        store.set_meta(&[(keys::SPEC, Some(&text))])?;
    } else {
        // Vectors of another model must never answer this model's queries.
        store.set_meta(&[
            (keys::SPEC, Some(&text)),
            (keys::FILE, None),
            (keys::MODEL, None),
        ])?;
    }
    tracing::info!(spec = %text, ?model, "embedder configured");
    Ok(())
}

/// True while an embedding run holds the repository's lock.
pub(crate) fn embedding_running(data_dir: &Path) -> bool {
    crate::DirLock::held(&crate::Layout::new(data_dir), crate::LockKind::Embed)
}

/// Computes the missing transformer vectors of the repository at `root`
/// with its configured embedder; `progress(done, todo)` after each batch.
pub fn embed_dense(
    home: &Home,
    root: &Path,
    options: &DenseOptions,
    progress: &dyn Fn(usize, usize),
) -> Result<DenseReport> {
    let (data_dir, mut store) = open_store(home, root)?;
    let spec = recorded_spec(&store)?;
    if let EmbedderSpec::Remote { base_url, .. } = &spec
        && options.no_remote
        && !lore_core::Endpoint::parse(base_url).is_ok_and(|e| e.is_loopback())
    {
        return Err(Error::Invalid(format!(
            "{}: the embedder {spec} is not on this machine and remote providers are refused \
             (privacy.no_remote); choose a local one with `lore embed use`",
            root.display()
        )));
    }
    let Some(embedder) = spec.open(None)? else {
        return Err(Error::Invalid(format!(
            "{}: the embedder is `learned`, whose vectors are made by `lore index`; \
             choose a transformer with `lore embed use SPEC`",
            root.display()
        )));
    };
    let _lock =
        crate::DirLock::try_acquire(&crate::Layout::new(&data_dir), crate::LockKind::Embed)?;
    let cache_path = options
        .cache
        .clone()
        .unwrap_or_else(|| home.embedding_cache());
    let mut cache = SqliteEmbeddingCache::open(&cache_path)?;
    refresh_dense(
        &data_dir,
        &mut store,
        embedder.as_ref(),
        &mut cache,
        options,
        progress,
    )
}

pub(crate) fn refresh_dense(
    data_dir: &Path,
    store: &mut dyn MetaStore,
    embedder: &dyn Embedder,
    cache: &mut dyn EmbeddingCache,
    options: &DenseOptions,
    progress: &dyn Fn(usize, usize),
) -> Result<DenseReport> {
    let started = Instant::now();
    let _span = tracing::info_span!("embed_dense", model = embedder.model_id()).entered();
    let dir = dense_dir(data_dir);
    std::fs::create_dir_all(&dir).map_err(io(&dir))?;
    let model = embedder.model_id().to_owned();
    let dims = embedder.dims();

    let chunks = store.chunk_texts()?;
    let inputs: Vec<(u64, String, ContentHash)> = chunks
        .into_iter()
        .map(|c| {
            let input = dense_input(Some(&c.symbol), &c.text);
            let hash = content_hash(&input);
            (c.id, input, hash)
        })
        .collect();
    let hashes: Vec<ContentHash> = inputs.iter().map(|(_, _, h)| *h).collect();
    let mut known = cache.get(&model, &hashes)?;
    known.retain(|_, v| v.len() == dims);
    let from_cache = inputs
        .iter()
        .filter(|(_, _, h)| known.contains_key(h))
        .count();

    // The current file is stale if any chunk's presence in it differs
    // from whether its vector is known (a re-index changed ids, or the
    // cache already holds vectors another repository or run computed).
    let current_file = store.get_meta(keys::FILE)?;
    let current_model = store.get_meta(keys::MODEL)?;
    let current = match (&current_file, &current_model) {
        (Some(file), Some(m)) if *m == model => FlatVectors::load(&dir.join(file)).ok(),
        _ => None,
    };
    let stale = inputs.iter().any(|(id, _, h)| {
        known.contains_key(h) != current.as_ref().is_some_and(|c| c.get(*id).is_some())
    }) || current
        .as_ref()
        .is_some_and(|c| c.len() != known_count(&inputs, &known));
    drop(current);
    let write = |store: &mut dyn MetaStore,
                 known: &std::collections::HashMap<ContentHash, Vec<f32>>|
     -> Result<usize> {
        let rows: Vec<(u64, Vec<f32>)> = inputs
            .iter()
            .filter_map(|(id, _, h)| known.get(h).map(|v| (*id, v.clone())))
            .collect();
        let n = rows.len();
        let flat = FlatVectors::from_rows(&model, dims, rows)?;
        let previous = store.get_meta(keys::FILE)?;
        let name = next_name(&dir, "d", previous.as_deref());
        flat.save(&dir.join(&name))?;
        store.set_meta(&[(keys::FILE, Some(&name)), (keys::MODEL, Some(&model))])?;
        // Keep the previous file for readers that opened before the switch.
        let keep: Vec<&str> = [Some(name.as_str()), previous.as_deref()]
            .into_iter()
            .flatten()
            .collect();
        prune(&dir, &keep);
        Ok(n)
    };

    let mut todo: Vec<&(u64, String, ContentHash)> = Vec::new();
    let mut queued: HashSet<ContentHash> = HashSet::new();
    for item in &inputs {
        if !known.contains_key(&item.2) && queued.insert(item.2) {
            todo.push(item);
        }
    }
    if let Some(limit) = options.limit {
        todo.truncate(limit);
    }
    let mut written = known_count(&inputs, &known);
    if stale {
        written = write(store, &known)?;
    }
    let total = todo.len();
    let mut embedded = 0;
    let mut last_flush = Instant::now();
    progress(0, total);
    for batch in todo.chunks(options.batch.max(1)) {
        let texts: Vec<&str> = batch.iter().map(|(_, t, _)| t.as_str()).collect();
        let vectors = embedder.embed(&texts)?;
        let rows: Vec<(ContentHash, Vec<f32>)> =
            batch.iter().map(|(_, _, h)| *h).zip(vectors).collect();
        cache.put(&model, &rows)?;
        known.extend(rows);
        embedded += batch.len();
        crate::pipeline::fault("dense-after-batch");
        progress(embedded, total);
        if last_flush.elapsed() >= options.flush_every {
            written = write(store, &known)?;
            last_flush = Instant::now();
        }
    }
    if embedded > 0 {
        written = write(store, &known)?;
    }
    let elapsed = started.elapsed();
    let report = DenseReport {
        model: model.clone(),
        chunks: inputs.len(),
        from_cache,
        embedded,
        pending: inputs.len().saturating_sub(written),
        ms: elapsed.as_millis() as u64,
        chunks_per_sec: embedded as f64 / elapsed.as_secs_f64().max(1e-9),
    };
    tracing::info!(?report, "transformer vectors written");
    Ok(report)
}

fn known_count(
    inputs: &[(u64, String, ContentHash)],
    known: &std::collections::HashMap<ContentHash, Vec<f32>>,
) -> usize {
    inputs
        .iter()
        .filter(|(_, _, h)| known.contains_key(h))
        .count()
}
