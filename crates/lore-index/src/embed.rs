//! Keeping chunk vectors current after an index run.
//!
//! Runs after the lexical commit, so search works (lexically) the whole
//! time. The learned model is trained on the repository when there is none
//! or when too much has changed since it was trained; otherwise the
//! existing model embeds only the chunks that have no vector yet, and
//! vectors of unchanged chunks (same id, same model) are carried over.
//! The new vectors go to a new file, and one metadata transaction makes
//! it current: a crash anywhere leaves the previous vectors in force.

use std::path::{Path, PathBuf};
use std::time::Instant;

use lore_core::Language;
use lore_core::embed::{Embedder, normalize};
use lore_core::store::{ChunkText, MetaStore};
use lore_embed::{LearnedModel, TrainConfig, TrainingText};
use lore_vector::FlatVectors;

use crate::error::Result;

/// Metadata keys naming the current vector and model files.
pub(crate) mod keys {
    /// File name (under `vectors/`) of the current vectors.
    pub const VECTORS: &str = "vectors.file";
    /// Model id of the current vectors.
    pub const VECTORS_MODEL: &str = "vectors.model";
    /// File name (under `models/`) of the current learned model.
    pub const LEARNED: &str = "learned.file";
}

/// Embedding settings of an index run.
#[derive(Clone, Debug)]
pub struct EmbedConfig {
    /// Compute vectors at all.
    pub enabled: bool,
    /// Learned model training settings.
    pub learned: TrainConfig,
    /// Retrain when more than this share of chunks is new since training.
    pub retrain_share: f64,
}

impl Default for EmbedConfig {
    fn default() -> EmbedConfig {
        EmbedConfig {
            enabled: true,
            learned: TrainConfig::default(),
            retrain_share: 0.1,
        }
    }
}

/// What the embedding step did.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct EmbedReport {
    /// Model of the current vectors.
    pub model: String,
    /// True if the learned model was (re)trained.
    pub trained: bool,
    /// Chunks embedded now.
    pub embedded: usize,
    /// Vectors carried over from the previous file.
    pub reused: usize,
    /// Time taken, in milliseconds.
    pub ms: u64,
}

pub(crate) fn vectors_dir(data_dir: &Path) -> PathBuf {
    crate::Layout::new(data_dir).vectors()
}

pub(crate) fn models_dir(data_dir: &Path) -> PathBuf {
    crate::Layout::new(data_dir).models()
}

/// Languages whose chunks train the learned model: code and prose written
/// by the project; data and unknown text formats would only add noise.
fn trains(lang: Language) -> bool {
    lang.is_parsed() || lang == Language::Markdown
}

pub(crate) fn next_name(dir: &Path, prefix: &str, current: Option<&str>) -> String {
    let n = current
        .and_then(|c| c.strip_prefix(prefix))
        .and_then(|c| c.split('.').next())
        .and_then(|c| c.parse::<u64>().ok())
        .unwrap_or(0);
    let mut n = n + 1;
    while dir.join(format!("{prefix}{n}.bin")).exists() {
        n += 1;
    }
    format!("{prefix}{n}.bin")
}

/// Removes files in `dir` other than `keep`.
pub(crate) fn prune(dir: &Path, keep: &[&str]) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        if !keep.iter().any(|k| name == std::ffi::OsStr::new(k)) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// Brings the vectors of the store's chunks up to date.
pub(crate) fn refresh_vectors(
    data_dir: &Path,
    store: &mut dyn MetaStore,
    config: &EmbedConfig,
) -> Result<EmbedReport> {
    let started = Instant::now();
    let _span = tracing::info_span!("embed").entered();
    let vdir = vectors_dir(data_dir);
    let mdir = models_dir(data_dir);
    std::fs::create_dir_all(&vdir).map_err(crate::error::io(&vdir))?;
    std::fs::create_dir_all(&mdir).map_err(crate::error::io(&mdir))?;

    let current_vectors = store.get_meta(keys::VECTORS)?;
    let current_model = store.get_meta(keys::LEARNED)?;
    let previous: FlatVectors = match &current_vectors {
        Some(name) => FlatVectors::load(&vdir.join(name)).unwrap_or_else(|err| {
            tracing::warn!(cause = %err, "previous vectors unreadable; embedding everything");
            FlatVectors::default()
        }),
        None => FlatVectors::default(),
    };
    let model =
        current_model
            .as_deref()
            .and_then(|name| match LearnedModel::load(&mdir.join(name)) {
                Ok(model) => Some(model),
                Err(err) => {
                    tracing::warn!(cause = %err, "learned model unreadable; retraining");
                    None
                }
            });

    // Ids decide what to do; texts are read only for what needs them (all
    // of them to train, else just the chunks without a vector), so a small
    // change stays cheap on a large repository.
    let ids = store.chunk_ids()?;
    let reusable = |model: &LearnedModel| {
        previous.model_id() == model.model_id() && previous.dims() == model.dims()
    };
    let new_chunks = match &model {
        Some(m) if reusable(m) => ids.iter().filter(|&&id| previous.get(id).is_none()).count(),
        _ => ids.len(),
    };
    let retrain =
        model.is_none() || new_chunks as f64 > config.retrain_share * ids.len().max(1) as f64;
    let all_texts = if retrain {
        store.chunk_texts()?
    } else {
        Vec::new()
    };
    let (model, model_name) = if retrain {
        let model = train(&all_texts, &config.learned);
        let name = next_name(&mdir, "learned-", current_model.as_deref());
        model.save(&mdir.join(&name))?;
        (model, name)
    } else {
        let name = current_model.clone().expect("a model was loaded");
        (model.expect("a model was loaded"), name)
    };

    let carry = reusable(&model);
    let mut rows: Vec<(u64, Vec<f32>)> = Vec::with_capacity(ids.len());
    let mut todo: Vec<u64> = Vec::new();
    for &id in &ids {
        match previous.get(id).filter(|_| carry) {
            Some(v) => rows.push((id, v.to_vec())),
            None => todo.push(id),
        }
    }
    let reused = rows.len();
    // (id, text, qualified symbol name or "").
    let todo_texts: Vec<(u64, String, String)> = if retrain {
        // Usually every chunk: a retrained model has a new id.
        let wanted: std::collections::HashSet<u64> = todo.iter().copied().collect();
        all_texts
            .into_iter()
            .filter(|c| wanted.contains(&c.id))
            .map(|c| (c.id, c.text, c.symbol))
            .collect()
    } else {
        store
            .chunks(&todo)?
            .into_iter()
            .map(|c| (c.id, c.text, c.symbol.unwrap_or_default()))
            .collect()
    };
    let vectors = chunk_vectors(&model, &todo_texts)?;
    rows.extend(todo_texts.iter().map(|(id, _, _)| *id).zip(vectors));
    let embedded = todo_texts.len();

    let unchanged = !retrain && embedded == 0 && reused == previous.len();
    if !unchanged {
        let flat = FlatVectors::from_rows(model.model_id(), model.dims(), rows)?;
        let name = next_name(&vdir, "v", current_vectors.as_deref());
        flat.save(&vdir.join(&name))?;
        store.set_meta(&[
            (keys::VECTORS, Some(&name)),
            (keys::VECTORS_MODEL, Some(model.model_id())),
            (keys::LEARNED, Some(&model_name)),
        ])?;
        // Keep the previous files for readers that opened before the switch.
        let keep_v: Vec<&str> = [Some(name.as_str()), current_vectors.as_deref()]
            .into_iter()
            .flatten()
            .collect();
        prune(&vdir, &keep_v);
        let keep_m: Vec<&str> = [Some(model_name.as_str()), current_model.as_deref()]
            .into_iter()
            .flatten()
            .collect();
        prune(&mdir, &keep_m);
    }
    let report = EmbedReport {
        model: model.model_id().to_owned(),
        trained: retrain,
        embedded,
        reused,
        ms: started.elapsed().as_millis() as u64,
    };
    tracing::info!(?report, "vectors current");
    Ok(report)
}

/// A chunk's vector: its text's vector plus its symbol name's, so that
/// the name — what a question's words most often map to — is not drowned
/// by the body.
fn chunk_vectors(model: &LearnedModel, chunks: &[(u64, String, String)]) -> Result<Vec<Vec<f32>>> {
    let texts: Vec<&str> = chunks.iter().map(|(_, t, _)| t.as_str()).collect();
    let names: Vec<&str> = chunks.iter().map(|(_, _, n)| n.as_str()).collect();
    let mut vectors = model.embed(&texts)?;
    let name_vectors = model.embed(&names)?;
    for (v, n) in vectors.iter_mut().zip(&name_vectors) {
        for (x, y) in v.iter_mut().zip(n) {
            *x += y;
        }
        normalize(v);
    }
    Ok(vectors)
}

fn train(chunks: &[ChunkText], config: &TrainConfig) -> LearnedModel {
    let texts: Vec<TrainingText<'_>> = chunks
        .iter()
        .filter(|c| trains(c.lang))
        .map(|c| TrainingText {
            text: &c.text,
            name: &c.name,
            doc: &c.doc,
        })
        .collect();
    LearnedModel::train(&texts, config)
}
