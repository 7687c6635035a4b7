//! Keeping the learned chunk vectors current after an index run.
//!
//! Runs after the lexical commit, so search works (lexically) the whole
//! time. The vectors are segments (`lore_vector::VectorSet`): a run embeds
//! only the chunks the index added since the vectors last looked (chunk ids
//! only grow) into one new segment, and adds the ids of the chunks it
//! deleted (logged by the store in the same transaction that deleted them)
//! to the deleted set; nothing else is read or rewritten, so a one-file
//! change costs what it changes. The manifest naming the files in force
//! and the consumption of the deletion log are one metadata transaction:
//! a crash anywhere leaves the previous vectors in force and the log
//! unconsumed, and the next run does the work once.
//!
//! The learned model is trained on the first run (on a sample of the
//! chunks when the repository is large) and then kept: new chunks are
//! embedded with it while the share of their words it has never seen
//! stays small. When that *drift* passes [`EmbedConfig::retrain_drift`],
//! or segments pile up, the manifest says maintenance is due and
//! [`maintain_vectors`] (a background step: `lore serve`, `lore embed
//! maintain`) retrains and rewrites the vectors as one segment without
//! holding up index runs.

use std::path::{Path, PathBuf};
use std::time::Instant;

use lore_core::Language;
use lore_core::embed::{Embedder, normalize};
use lore_core::store::{ChunkText, MetaStore};
use lore_embed::{LearnedModel, TrainConfig, TrainingText};
use lore_vector::{SegmentWriter, VectorSet};

use crate::error::{Error, Result};

/// Metadata keys naming the current vector and model files.
pub(crate) mod keys {
    /// The vectors in force ([`super::Manifest`], JSON).
    pub const MANIFEST: &str = "vectors.manifest";
    /// File name (under `models/`) of the current learned model.
    pub const LEARNED: &str = "learned.file";
    /// The single vectors file of indexes written before segments; removed
    /// when the first manifest is written.
    pub const OLD_VECTORS: &str = "vectors.file";
    /// Model id of that file.
    pub const OLD_MODEL: &str = "vectors.model";
}

/// Embedding settings of an index run.
#[derive(Clone, Debug)]
pub struct EmbedConfig {
    /// Compute vectors at all.
    pub enabled: bool,
    /// Learned model training settings.
    pub learned: TrainConfig,
    /// Maintenance (retraining) is due when the chunks added since training
    /// hold more unknown words than the training corpus's own rate would
    /// give, by this share of the corpus's word occurrences.
    pub retrain_drift: f64,
    /// Train on at most this many chunks (an even sample of them).
    pub train_sample: usize,
    /// Segments beyond this number are merged.
    pub max_segments: usize,
    /// An index run merges the segments after the first itself while they
    /// hold fewer rows than this; beyond, maintenance is due.
    pub inline_merge_rows: usize,
    /// Chunks read and embedded per batch.
    pub batch: usize,
}

impl Default for EmbedConfig {
    fn default() -> EmbedConfig {
        EmbedConfig {
            enabled: true,
            learned: TrainConfig::default(),
            retrain_drift: 0.02,
            // LORE_TRAIN_SAMPLE: a benchmark knob (the quality effect of
            // training on a sample is measured by setting it low).
            train_sample: std::env::var("LORE_TRAIN_SAMPLE")
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(200_000),
            max_segments: 8,
            inline_merge_rows: 65_536,
            batch: 4096,
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
    /// Vectors kept from before (live rows not embedded now).
    pub reused: usize,
    /// Vectors deleted now (their chunks were removed or changed).
    pub deleted: usize,
    /// Segments in force after the run.
    pub segments: usize,
    /// Vocabulary drift since training (see [`EmbedConfig::retrain_drift`]).
    pub drift: f64,
    /// Retraining or merging is due (done by [`maintain_vectors`]).
    pub maintenance_due: bool,
    /// Time taken, in milliseconds.
    pub ms: u64,
}

impl EmbedReport {
    /// The vectors `manifest` names, none embedded or deleted now.
    fn unchanged(manifest: &Manifest, config: &EmbedConfig, started: Instant) -> EmbedReport {
        EmbedReport {
            model: manifest.model.clone(),
            reused: manifest.live_rows() as usize,
            segments: manifest.segments.len(),
            drift: manifest.drift(),
            maintenance_due: manifest.maintenance_due(config),
            ms: started.elapsed().as_millis() as u64,
            ..EmbedReport::default()
        }
    }
}

/// The learned vectors in force, as the metadata store records them.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Manifest {
    /// Model id of every segment.
    pub model: String,
    /// Vector length.
    pub dims: usize,
    /// Segment files under `vectors/`, oldest first.
    pub segments: Vec<String>,
    /// Rows per segment, in the same order.
    pub rows: Vec<u64>,
    /// The deleted-id file under `vectors/`, if any.
    pub deleted: Option<String>,
    /// Deleted ids in that file.
    pub deleted_rows: u64,
    /// Every chunk with an id up to this one has had its vector computed.
    pub max_id: u64,
    /// Word occurrences of the chunks embedded at the last full build, and
    /// how many of them the model had no vector for.
    pub corpus_tokens: u64,
    pub corpus_unknown: u64,
    /// The same for the chunks added since.
    pub added_tokens: u64,
    pub added_unknown: u64,
}

impl Manifest {
    /// Unknown words in the chunks added since training beyond the
    /// training corpus's own rate, as a share of the corpus's words.
    pub fn drift(&self) -> f64 {
        if self.corpus_tokens == 0 {
            return if self.added_tokens > 0 { 1.0 } else { 0.0 };
        }
        let rate = self.corpus_unknown as f64 / self.corpus_tokens as f64;
        let excess = self.added_unknown as f64 - rate * self.added_tokens as f64;
        excess.max(0.0) / self.corpus_tokens as f64
    }

    /// Files this manifest keeps in force.
    pub fn files(&self) -> impl Iterator<Item = &str> {
        self.segments
            .iter()
            .map(String::as_str)
            .chain(self.deleted.as_deref())
    }

    /// Live rows.
    pub fn live_rows(&self) -> u64 {
        self.rows
            .iter()
            .sum::<u64>()
            .saturating_sub(self.deleted_rows)
    }

    /// Whether maintenance (retraining or a full merge) is due.
    pub fn maintenance_due(&self, config: &EmbedConfig) -> bool {
        let rows: u64 = self.rows.iter().sum();
        self.drift() > config.retrain_drift
            || self.segments.len() > config.max_segments
            || self.deleted_rows * 5 > rows.max(1)
    }

    /// Opens the files under `dir`.
    pub fn open(&self, dir: &Path) -> Result<VectorSet> {
        Ok(VectorSet::open(
            dir,
            &self.segments,
            self.deleted.as_deref(),
        )?)
    }
}

/// The manifest recorded in `store`, if any; an unreadable one is damage.
pub(crate) fn read_manifest(store: &dyn MetaStore) -> Result<Option<Manifest>> {
    match store.get_meta(keys::MANIFEST)? {
        Some(json) => serde_json::from_str(&json).map(Some).map_err(|e| {
            Error::Invalid(format!(
                "the vectors manifest is damaged ({e}); `lore index --rebuild` rewrites it"
            ))
        }),
        None => Ok(None),
    }
}

fn manifest_json(manifest: &Manifest) -> String {
    serde_json::to_string(manifest).expect("a manifest serializes")
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

/// A free file name `{prefix}{n}.{ext}` in `dir`, numbered after every
/// existing one.
fn next_file(dir: &Path, prefix: &str, ext: &str) -> String {
    let highest = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            name.strip_prefix(prefix)?
                .split('.')
                .next()?
                .parse::<u64>()
                .ok()
        })
        .max()
        .unwrap_or(0);
    format!("{prefix}{}.{ext}", highest + 1)
}

fn load_model(mdir: &Path, name: Option<&str>) -> Option<(LearnedModel, String)> {
    let name = name?;
    match LearnedModel::load(&mdir.join(name)) {
        Ok(model) => Some((model, name.to_owned())),
        Err(err) => {
            tracing::warn!(cause = %err, "learned model unreadable; retraining");
            None
        }
    }
}

/// Brings the vectors of the store's chunks up to date after an index run
/// (which holds the index lock). A `rebuild` (of a damaged or outdated
/// index) writes them all again, with the current model if it loads.
pub(crate) fn refresh_vectors(
    data_dir: &Path,
    store: &mut dyn MetaStore,
    config: &EmbedConfig,
    rebuild: bool,
) -> Result<EmbedReport> {
    let started = Instant::now();
    let _span = tracing::info_span!("embed").entered();
    let vdir = vectors_dir(data_dir);
    let mdir = models_dir(data_dir);
    std::fs::create_dir_all(&vdir).map_err(crate::error::io(&vdir))?;
    std::fs::create_dir_all(&mdir).map_err(crate::error::io(&mdir))?;

    let manifest = read_manifest(store).unwrap_or_else(|err| {
        tracing::warn!(cause = %err, "rebuilding the vectors");
        None
    });
    let in_force = manifest.clone();
    let manifest = manifest.filter(|_| !rebuild);
    let model = load_model(&mdir, store.get_meta(keys::LEARNED)?.as_deref());
    let current = match (manifest, model) {
        (Some(m), Some(model)) if m.model == model.0.model_id() && m.dims == model.0.dims() => {
            Some((m, model))
        }
        (_, model) => {
            // First run, a model that no longer loads, or vectors of another
            // model (or of the single-file format before segments): all of
            // them, with the model if there is one.
            let deleted = store.deleted_chunks()?;
            let built = build_all(&vdir, &mdir, store, config, model)?;
            store.set_meta_consuming(
                &[
                    (keys::MANIFEST, Some(&manifest_json(&built.manifest))),
                    (keys::LEARNED, Some(&built.model_name)),
                    (keys::OLD_VECTORS, None),
                    (keys::OLD_MODEL, None),
                ],
                &deleted,
            )?;
            let old_files: Vec<&str> = in_force.iter().flat_map(Manifest::files).collect();
            keep_only(&vdir, built.manifest.files().chain(old_files));
            keep_only(&mdir, std::iter::once(built.model_name.as_str()));
            return Ok(built.report(started, config));
        }
    };
    let (manifest, (model, _)) = current.expect("handled above");
    let step = add_and_delete(&vdir, store, config, &manifest, &model)?;
    crate::pipeline::fault("vectors-before-manifest");
    let Some(step) = step else {
        return Ok(EmbedReport::unchanged(&manifest, config, started));
    };
    store.set_meta_consuming(
        &[(keys::MANIFEST, Some(&manifest_json(&step.manifest)))],
        &step.consumed,
    )?;
    // Keep the previous files for readers that opened before the switch.
    keep_only(&vdir, step.manifest.files().chain(manifest.files()));
    let report = EmbedReport {
        model: model.model_id().to_owned(),
        trained: false,
        embedded: step.embedded,
        reused: (step.manifest.live_rows() as usize).saturating_sub(step.embedded),
        deleted: step.deleted,
        segments: step.manifest.segments.len(),
        drift: step.manifest.drift(),
        maintenance_due: step.manifest.maintenance_due(config),
        ms: started.elapsed().as_millis() as u64,
    };
    tracing::info!(?report, "vectors current");
    Ok(report)
}

/// Removes the files of `dir` not named in `keep` (and not being written).
fn keep_only<'a>(dir: &Path, keep: impl Iterator<Item = &'a str>) {
    let keep: Vec<&str> = keep.collect();
    prune(dir, &keep);
}

/// What one incremental vector step wrote.
struct Step {
    manifest: Manifest,
    /// Deleted-chunk log entries it consumed.
    consumed: Vec<u64>,
    embedded: usize,
    deleted: usize,
}

/// Embeds the chunks added since `manifest` into a new segment and adds
/// the chunks deleted since to the deleted set; `None` if nothing changed.
fn add_and_delete(
    vdir: &Path,
    store: &dyn MetaStore,
    config: &EmbedConfig,
    manifest: &Manifest,
    model: &LearnedModel,
) -> Result<Option<Step>> {
    let consumed = store.deleted_chunks()?;
    // Chunks above `max_id` were added and deleted before any vector step
    // saw them: they have no vector to delete.
    let deleted: Vec<u64> = consumed
        .iter()
        .copied()
        .filter(|&id| id <= manifest.max_id)
        .collect();
    let mut next = manifest.clone();
    let mut writer: Option<(SegmentWriter, String)> = None;
    let mut embedded = 0;
    loop {
        let page = store.chunk_texts_after(next.max_id, config.batch)?;
        let Some(last) = page.last() else { break };
        next.max_id = last.id;
        let (writer, _) = match &mut writer {
            Some(w) => w,
            None => {
                let name = next_file(vdir, "s", "seg");
                let w = SegmentWriter::create(&vdir.join(&name), model.model_id(), model.dims())?;
                writer.insert((w, name))
            }
        };
        let (seen, unknown) = coverage(model, &page);
        next.added_tokens += seen;
        next.added_unknown += unknown;
        let vectors = chunk_vectors(model, &page)?;
        for (chunk, v) in page.iter().zip(&vectors) {
            writer.push(chunk.id, v)?;
        }
        embedded += page.len();
    }
    if writer.is_none() && consumed.is_empty() {
        return Ok(None);
    }
    if let Some((writer, name)) = writer {
        next.rows.push(writer.len() as u64);
        writer.finish()?;
        next.segments.push(name);
    }
    if !deleted.is_empty() {
        let mut all = match &manifest.deleted {
            Some(name) => lore_vector::read_deleted(&vdir.join(name))?,
            None => Vec::new(),
        };
        all.extend(&deleted);
        all.sort_unstable();
        all.dedup();
        let name = next_file(vdir, "t", "del");
        lore_vector::write_deleted(&vdir.join(&name), &all)?;
        next.deleted_rows = all.len() as u64;
        next.deleted = Some(name);
    }
    merge_tail(vdir, config, &mut next)?;
    Ok(Some(Step {
        manifest: next,
        consumed,
        embedded,
        deleted: deleted.len(),
    }))
}

/// Merges the segments after the first into one when there are too many
/// and they are small (the first, usually the large one, stays; a larger
/// merge is maintenance).
fn merge_tail(vdir: &Path, config: &EmbedConfig, manifest: &mut Manifest) -> Result<()> {
    let tail_rows: u64 = manifest.rows.iter().skip(1).sum();
    if manifest.segments.len() <= config.max_segments || tail_rows > config.inline_merge_rows as u64
    {
        return Ok(());
    }
    let tail = VectorSet::open(vdir, &manifest.segments[1..], manifest.deleted.as_deref())?;
    let name = next_file(vdir, "s", "seg");
    lore_vector::merge(&tail, &vdir.join(&name))?;
    manifest.segments.truncate(1);
    manifest.rows.truncate(1);
    manifest.segments.push(name);
    manifest.rows.push(tail.len() as u64);
    // The deleted ids of the tail are gone with it, but they stay listed
    // (and counted) until maintenance: telling them apart would mean
    // reading the first segment's ids.
    Ok(())
}

/// A full build of the vectors.
struct Built {
    manifest: Manifest,
    model: LearnedModel,
    model_name: String,
    trained: bool,
}

impl Built {
    fn report(&self, started: Instant, config: &EmbedConfig) -> EmbedReport {
        let report = EmbedReport {
            model: self.model.model_id().to_owned(),
            trained: self.trained,
            embedded: self.manifest.live_rows() as usize,
            reused: 0,
            deleted: 0,
            segments: self.manifest.segments.len(),
            drift: self.manifest.drift(),
            maintenance_due: self.manifest.maintenance_due(config),
            ms: started.elapsed().as_millis() as u64,
        };
        tracing::info!(?report, "vectors built");
        report
    }
}

/// Embeds every chunk into one new segment with `model`, or with a model
/// trained first (on an even sample of at most `train_sample` chunks) if
/// there is none. Reads the chunks a page at a time.
fn build_all(
    vdir: &Path,
    mdir: &Path,
    store: &dyn MetaStore,
    config: &EmbedConfig,
    model: Option<(LearnedModel, String)>,
) -> Result<Built> {
    let page_size = config.batch.max(1);
    let pages = |f: &mut dyn FnMut(Vec<ChunkText>) -> Result<()>| -> Result<()> {
        let mut after = 0;
        loop {
            let page = store.chunk_texts_after(after, page_size)?;
            let Some(last) = page.last() else { break };
            after = last.id;
            f(page)?;
        }
        Ok(())
    };
    // A corpus within the sample cap is read once: kept from training to
    // embedding (what a page-at-a-time second read would cost Django: 3%
    // of its cold index).
    let mut kept: Option<Vec<ChunkText>> = None;
    let (model, model_name, trained) = match model {
        Some((model, name)) => (model, name, false),
        None => {
            let count = store.chunk_ids()?.len();
            let stride = count.div_ceil(config.train_sample.max(1)).max(1);
            let mut sample: Vec<ChunkText> = Vec::new();
            let mut i = 0usize;
            pages(&mut |page| {
                for chunk in page {
                    if stride == 1 {
                        sample.push(chunk);
                    } else if trains(chunk.lang) {
                        if i.is_multiple_of(stride) {
                            sample.push(chunk);
                        }
                        i += 1;
                    }
                }
                Ok(())
            })?;
            tracing::info!(
                chunks = count,
                sample = sample.len(),
                "training the learned model"
            );
            let model = train(&sample, &config.learned);
            if stride == 1 {
                kept = Some(sample);
            }
            let name = next_file(mdir, "learned-", "bin");
            model.save(&mdir.join(&name))?;
            (model, name, true)
        }
    };
    let name = next_file(vdir, "s", "seg");
    let mut writer = SegmentWriter::create(&vdir.join(&name), model.model_id(), model.dims())?;
    let mut manifest = Manifest {
        model: model.model_id().to_owned(),
        dims: model.dims(),
        ..Manifest::default()
    };
    let mut embed_page = |page: &[ChunkText]| -> Result<()> {
        let (seen, unknown) = coverage(&model, page);
        manifest.corpus_tokens += seen;
        manifest.corpus_unknown += unknown;
        let vectors = chunk_vectors(&model, page)?;
        for (chunk, v) in page.iter().zip(&vectors) {
            writer.push(chunk.id, v)?;
        }
        manifest.max_id = page.last().map_or(manifest.max_id, |c| c.id);
        Ok(())
    };
    match kept {
        Some(all) => all.chunks(page_size).try_for_each(&mut embed_page)?,
        None => pages(&mut |page| embed_page(&page))?,
    }
    manifest.rows.push(writer.len() as u64);
    writer.finish()?;
    manifest.segments.push(name);
    Ok(Built {
        manifest,
        model,
        model_name,
        trained,
    })
}

/// Retrains the learned model when its vocabulary has drifted (or when
/// `force`), and rewrites the vectors as one segment; else merges the
/// segments and drops deleted rows when they have piled up. Meant to run
/// beside index runs: the long part holds no lock; the switch waits for
/// the index lock, embeds what was indexed meanwhile with the model it
/// switches to, and is one metadata transaction. `Ok(None)`: nothing to
/// do, or maintenance is already running.
pub fn maintain_vectors(
    home: &crate::Home,
    root: &Path,
    config: &EmbedConfig,
    force: bool,
) -> Result<Option<EmbedReport>> {
    let started = Instant::now();
    let canonical = root.canonicalize().map_err(crate::error::io(root))?;
    let layout = home.layout(&canonical);
    let db = layout.db();
    if !db.exists() {
        return Err(Error::NotIndexed(canonical));
    }
    let Ok(_maintaining) = crate::DirLock::try_acquire(&layout, crate::LockKind::Maintain) else {
        return Ok(None);
    };
    let data_dir = layout.dir().to_owned();
    let vdir = vectors_dir(&data_dir);
    let mdir = models_dir(&data_dir);
    let mut store = lore_store::SqliteStore::open(&db)?;
    let Some(before) = read_manifest(&store)? else {
        // Never embedded: the next index run builds the vectors.
        return Ok(None);
    };
    let retrain = force || before.drift() > config.retrain_drift;
    if !retrain && !before.maintenance_due(config) {
        return Ok(None);
    }
    let _span = tracing::info_span!("maintain_vectors", retrain).entered();
    if retrain {
        let built = build_all(&vdir, &mdir, &store, config, None)?;
        let _lock = crate::DirLock::acquire(&layout, crate::LockKind::Index)?;
        let now = read_manifest(&store)?.unwrap_or_default();
        // Rows of chunks deleted while the model trained, and chunks
        // added meanwhile (embedded now with the new model).
        let live = store.chunk_ids()?;
        let built_set = built.manifest.open(&vdir)?;
        let gone: Vec<u64> = built_set.segments()[0]
            .ids()
            .iter()
            .copied()
            .filter(|id| live.binary_search(id).is_err())
            .collect();
        drop(built_set);
        let mut manifest = built.manifest.clone();
        if !gone.is_empty() {
            let name = next_file(&vdir, "t", "del");
            lore_vector::write_deleted(&vdir.join(&name), &gone)?;
            manifest.deleted = Some(name);
            manifest.deleted_rows = gone.len() as u64;
        }
        let consumed = store.deleted_chunks()?;
        let previous_model = store.get_meta(keys::LEARNED)?;
        let mut catch_up = manifest.clone();
        catch_up.deleted = None;
        let step = add_and_delete(&vdir, &store, config, &catch_up, &built.model)?;
        if let Some(step) = step {
            manifest.segments = step.manifest.segments;
            manifest.rows = step.manifest.rows;
            manifest.max_id = step.manifest.max_id;
            manifest.added_tokens = step.manifest.added_tokens;
            manifest.added_unknown = step.manifest.added_unknown;
        }
        store.set_meta_consuming(
            &[
                (keys::MANIFEST, Some(&manifest_json(&manifest))),
                (keys::LEARNED, Some(&built.model_name)),
            ],
            &consumed,
        )?;
        keep_only(&vdir, manifest.files().chain(now.files()));
        keep_only(
            &mdir,
            std::iter::once(built.model_name.as_str()).chain(previous_model.as_deref()),
        );
        let report = Built { manifest, ..built }.report(started, config);
        return Ok(Some(report));
    }
    // Merge everything into one segment without the deleted rows.
    let set = before.open(&vdir)?;
    let name = next_file(&vdir, "s", "seg");
    lore_vector::merge(&set, &vdir.join(&name))?;
    let merged_rows = set.len() as u64;
    drop(set);
    let _lock = crate::DirLock::acquire(&layout, crate::LockKind::Index)?;
    let now = read_manifest(&store)?.unwrap_or_default();
    if now.model != before.model
        || now.segments.get(..before.segments.len()) != Some(&before.segments[..])
    {
        // Rebuilt meanwhile: this merge is of files no longer in force.
        let _ = std::fs::remove_file(vdir.join(&name));
        return Ok(None);
    }
    let mut manifest = now.clone();
    manifest.segments = std::iter::once(name)
        .chain(now.segments[before.segments.len()..].iter().cloned())
        .collect();
    manifest.rows = std::iter::once(merged_rows)
        .chain(now.rows[before.segments.len()..].iter().copied())
        .collect();
    // Ids deleted before the merge are gone with it; ids deleted since stay.
    let dropped = match &before.deleted {
        Some(n) => lore_vector::read_deleted(&vdir.join(n))?,
        None => Vec::new(),
    };
    let still = match &now.deleted {
        Some(n) => lore_vector::read_deleted(&vdir.join(n))?,
        None => Vec::new(),
    };
    let remaining: Vec<u64> = still
        .into_iter()
        .filter(|id| dropped.binary_search(id).is_err())
        .collect();
    manifest.deleted_rows = remaining.len() as u64;
    manifest.deleted = if remaining.is_empty() {
        None
    } else {
        let name = next_file(&vdir, "t", "del");
        lore_vector::write_deleted(&vdir.join(&name), &remaining)?;
        Some(name)
    };
    store.set_meta(&[(keys::MANIFEST, Some(&manifest_json(&manifest)))])?;
    keep_only(&vdir, manifest.files().chain(now.files()));
    let report = EmbedReport::unchanged(&manifest, config, started);
    tracing::info!(?report, "vectors merged");
    Ok(Some(report))
}

/// Word occurrences of `chunks` and how many the model has no vector for
/// (across cores: it tokenizes every chunk once more).
fn coverage(model: &LearnedModel, chunks: &[ChunkText]) -> (u64, u64) {
    use rayon::prelude::*;
    chunks
        .par_iter()
        .map(|c| model.coverage(&c.text))
        .reduce(|| (0, 0), |a, b| (a.0 + b.0, a.1 + b.1))
}

/// A chunk's vector: its text's vector plus its symbol name's, so that
/// the name — what a question's words most often map to — is not drowned
/// by the body.
fn chunk_vectors(model: &LearnedModel, chunks: &[ChunkText]) -> Result<Vec<Vec<f32>>> {
    let texts: Vec<&str> = chunks.iter().map(|c| c.text.as_str()).collect();
    let names: Vec<&str> = chunks.iter().map(|c| c.symbol.as_str()).collect();
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
