//! The repository's own specialist: a LoRA adapter over a local base model
//! (`lore adapt`, the `adapt` thought), trained on the repository's code,
//! judged on files it never saw, versioned with what it was made from.
//!
//! Data: the indexed source files as they are on disk, secrets redacted
//! first (files the index leaves out never enter). About one file in ten —
//! chosen by a hash of its path, so the choice is stable — is held out and
//! never trained on. Files are cut into windows of `seq_len` tokens.
//!
//! The gate: the adapter is promoted only if, on the held-out windows, its
//! perplexity is lower than the base's by `margin` (relative) and its
//! next-line exact match on held-out lines is not lower. Every version
//! keeps its metrics, the base model's hash, the data commit and the files
//! it was trained on (`adapters.json` in the repository's data directory;
//! the tensors in `adapters/vN/`).

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use lore_core::Language;
use lore_llm::lora::{AdapterConfig, TrainOptions, Trainer, nll};
use lore_llm::{Generator, Sampling};
use serde::{Deserialize, Serialize};

use crate::RepoIndex;
use crate::error::{Error, Result};

mod data;

pub use data::{Extras, Kind, Pair, Provenance};

/// The versions file in the repository's data directory.
pub const FILE: &str = "adapters.json";
/// The directory of the versions' tensors.
pub const DIR: &str = "adapters";

/// Held-out measurements of the base and the adapter.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct HeldOut {
    /// Perplexity of the base model on the held-out windows.
    pub base_perplexity: f64,
    /// …with the adapter.
    pub adapter_perplexity: f64,
    /// Share of held-out lines the base writes exactly, given the lines
    /// before.
    pub base_exact_match: f64,
    /// …with the adapter.
    pub adapter_exact_match: f64,
    /// Windows measured.
    pub windows: usize,
    /// Lines tried.
    pub lines: usize,
    /// Perplexity of the adapter that was in force (a consolidation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_force_perplexity: Option<f64>,
    /// …its exact match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_force_exact_match: Option<f64>,
}

/// What training took.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TrainStats {
    /// Tokens trained on (steps × window).
    pub tokens: usize,
    /// Wall time of training, seconds.
    pub seconds: f64,
    /// Optimizer steps.
    pub steps: usize,
    /// Mean loss of the first and the last tenth of the steps.
    pub first_loss: f64,
    /// …
    pub last_loss: f64,
    /// The step a killed run's checkpoint let this one resume from.
    #[serde(default)]
    pub resumed_from: Option<usize>,
}

/// One trained adapter.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AdapterVersion {
    /// 1, 2, …
    pub version: u32,
    /// When it was made (ms since the epoch).
    pub created_at: i64,
    /// The base model's file.
    pub base_model: String,
    /// BLAKE3 of the base model's file: an adapter runs only on it.
    pub base_hash: String,
    /// The indexed commit its data came from.
    pub data_commit: Option<String>,
    /// Rank, scale, targets.
    pub config: AdapterConfig,
    /// The gate's measurements.
    pub held_out: HeldOut,
    /// Training.
    pub train: TrainStats,
    /// Whether it passed the gate.
    pub passed: bool,
    /// Why it passed or not, in words.
    pub verdict: String,
    /// Files its examples were made from (`provenance.jsonl` beside the
    /// tensors has each example's kind, file, lines and commit).
    pub files: Vec<String>,
    /// Files held out.
    pub held_out_files: Vec<String>,
    /// Marked for retraining: a file it was trained on was purged.
    #[serde(default)]
    pub stale: bool,
    /// Examples trained on, by kind (`code`, `doc_code`, `commit_diff`,
    /// `card`, `dossier`, `rated_answer`).
    #[serde(default)]
    pub examples: BTreeMap<String, usize>,
    /// The newest judged answer its data saw (a consolidation learns from
    /// the ones after).
    #[serde(default)]
    pub answers_seen: i64,
    /// The version a consolidation continued.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub continued_from: Option<u32>,
    /// The language it was trained on alone (`lore adapt --language`);
    /// none: the whole repository.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
}

/// Every version, the one in force and the ones before it.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Adapters {
    /// Versions, oldest first.
    pub versions: Vec<AdapterVersion>,
    /// The version in force.
    pub current: Option<u32>,
    /// Versions in force before (`None`: the base alone), for rollback.
    #[serde(default)]
    pub previous: Vec<Option<u32>>,
    /// The state the last consolidation was queued for, by slot (`""`:
    /// the repository's adapter; else a language).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub consolidated: BTreeMap<String, String>,
    /// The language adapters in force, by language.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub by_language: BTreeMap<String, u32>,
    /// Language adapters in force before, by language, for rollback.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub previous_by_language: BTreeMap<String, Vec<Option<u32>>>,
}

impl Adapters {
    /// The adapters of the repository whose data directory is `data_dir`.
    pub fn load(data_dir: &Path) -> Result<Adapters> {
        let path = data_dir.join(FILE);
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map_err(|e| Error::Invalid(format!("{}: {e}", path.display()))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Adapters::default()),
            Err(source) => Err(Error::Io { path, source }),
        }
    }

    fn save(&self, data_dir: &Path) -> Result<()> {
        let path = data_dir.join(FILE);
        let tmp = path.with_extension("json.tmp");
        let bytes = serde_json::to_vec_pretty(self).expect("adapters serialize");
        std::fs::write(&tmp, bytes).map_err(|source| Error::Io {
            path: tmp.clone(),
            source,
        })?;
        std::fs::rename(&tmp, &path).map_err(|source| Error::Io { path, source })
    }

    /// Version `version`.
    pub fn get(&self, version: u32) -> Result<&AdapterVersion> {
        self.versions
            .iter()
            .find(|v| v.version == version)
            .ok_or_else(|| {
                Error::Invalid(format!("no adapter version {version} (`lore adapt list`)"))
            })
    }

    /// The directory of `version`'s tensors.
    pub fn dir(data_dir: &Path, version: u32) -> PathBuf {
        data_dir.join(DIR).join(format!("v{version}"))
    }

    /// The version in force in a slot: the repository's (`None`) or a
    /// language's.
    pub fn slot(&self, language: Option<&str>) -> Option<u32> {
        match language {
            None => self.current,
            Some(l) => self.by_language.get(l).copied(),
        }
    }

    /// Puts `version` in force in its slot, remembering the one before.
    fn put_in_force(&mut self, version: u32) -> Result<()> {
        let language = self.get(version)?.language.clone();
        let before = self.slot(language.as_deref());
        if before == Some(version) {
            return Ok(());
        }
        match language {
            None => {
                self.previous.push(before);
                self.current = Some(version);
            }
            Some(l) => {
                self.previous_by_language
                    .entry(l.clone())
                    .or_default()
                    .push(before);
                self.by_language.insert(l, version);
            }
        }
        Ok(())
    }

    /// The repository's version in force (not a language's) and its
    /// directory.
    pub fn in_force(data_dir: &Path) -> Result<Option<(AdapterVersion, PathBuf)>> {
        Adapters::in_slot(data_dir, None)
    }

    /// The version in force in a slot and its directory.
    pub fn in_slot(
        data_dir: &Path,
        language: Option<&str>,
    ) -> Result<Option<(AdapterVersion, PathBuf)>> {
        let a = Adapters::load(data_dir)?;
        Ok(a.slot(language).and_then(|c| a.with_dir(data_dir, c)))
    }

    fn with_dir(&self, data_dir: &Path, version: u32) -> Option<(AdapterVersion, PathBuf)> {
        let v = self.get(version).ok()?.clone();
        let dir = Adapters::dir(data_dir, v.version);
        Some((v, dir))
    }

    /// The adapter to wear for code in `language` (none: a question about
    /// the repository): that language's adapter in force, else the
    /// repository's, else — for a question — the language adapter trained
    /// on the most files.
    pub fn for_language(
        data_dir: &Path,
        language: Option<&str>,
    ) -> Result<Option<(AdapterVersion, PathBuf)>> {
        let a = Adapters::load(data_dir)?;
        let chosen = language
            .and_then(|l| a.by_language.get(l).copied())
            .or(a.current)
            .or_else(|| {
                if language.is_some() {
                    return None;
                }
                a.by_language
                    .values()
                    .filter_map(|v| a.get(*v).ok())
                    .max_by_key(|v| v.files.len())
                    .map(|v| v.version)
            });
        Ok(chosen.and_then(|c| a.with_dir(data_dir, c)))
    }

    /// Puts `version` in force (for its language, if it has one).
    pub fn promote(data_dir: &Path, version: u32) -> Result<Adapters> {
        let mut a = Adapters::load(data_dir)?;
        a.put_in_force(version)?;
        a.save(data_dir)?;
        Ok(a)
    }

    /// Puts `version` in force again, or, without one, the version in
    /// force before the current one (the base alone if there was none).
    pub fn rollback(data_dir: &Path, version: Option<u32>) -> Result<Adapters> {
        let mut a = Adapters::load(data_dir)?;
        match version {
            // Into its own slot (a language adapter into its language's).
            Some(v) => match a.get(v)?.language.clone() {
                None => a.current = Some(v),
                Some(l) => {
                    a.by_language.insert(l, v);
                }
            },
            None => {
                a.current = a.previous.pop().ok_or_else(|| {
                    Error::Invalid(
                        "nothing to roll back to: no earlier adapter was in force".into(),
                    )
                })?;
            }
        }
        a.save(data_dir)?;
        Ok(a)
    }
}

/// The directory of an unfinished run's checkpoints, under [`DIR`].
const PARTIAL: &str = "partial";

/// Where an unfinished run was: written after the adapter it names, so a
/// kill at any moment leaves the last whole checkpoint.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Checkpoint {
    /// Base hash, data commit, settings: a checkpoint resumes only its own
    /// kind of run.
    key: String,
    /// Steps done.
    step: usize,
    /// Their losses.
    losses: Vec<f64>,
    /// Tokens trained on.
    tokens: usize,
    /// Training seconds spent (they count against the budget).
    seconds: f64,
    /// The adapter's directory, under the partial directory.
    dir: String,
}

impl Checkpoint {
    fn load(partial: &Path) -> Option<Checkpoint> {
        let bytes = std::fs::read(partial.join("checkpoint.json")).ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    /// Saves `adapter`, then the record naming it, then lets older
    /// checkpoints go. The optimizer's moments are not kept: a resumed run
    /// warms them up again.
    fn save(&self, partial: &Path, adapter: &lore_llm::lora::Adapter) -> Result<()> {
        adapter.save(&partial.join(&self.dir)).map_err(llm)?;
        let path = partial.join("checkpoint.json");
        let tmp = partial.join("checkpoint.json.tmp");
        std::fs::write(&tmp, serde_json::to_vec(self).expect("serializable")).map_err(
            |source| Error::Io {
                path: tmp.clone(),
                source,
            },
        )?;
        std::fs::rename(&tmp, &path).map_err(|source| Error::Io { path, source })?;
        if let Ok(entries) = std::fs::read_dir(partial) {
            for e in entries.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                if name.starts_with("step-") && name != self.dir {
                    let _ = std::fs::remove_dir_all(e.path());
                }
            }
        }
        Ok(())
    }
}

/// Marks the versions trained on a path `matches` stale (for retraining)
/// and takes the paths' names out of their records (`lore purge`); how
/// many were marked.
pub fn mark_stale(data_dir: &Path, matches: &dyn Fn(&str) -> bool) -> Result<usize> {
    let mut all = Adapters::load(data_dir)?;
    let mut marked = 0;
    for v in &mut all.versions {
        let trained_on = v.files.iter().any(|f| matches(f));
        v.files.retain(|f| !matches(f));
        v.held_out_files.retain(|f| !matches(f));
        if trained_on && !v.stale {
            v.stale = true;
            marked += 1;
        }
    }
    if !all.versions.is_empty() {
        all.save(data_dir)?;
    }
    Ok(marked)
}

/// How to train.
#[derive(Clone, Debug)]
pub struct AdaptOptions {
    /// Optimizer steps at most.
    pub steps: usize,
    /// Tokens per training window.
    pub seq_len: usize,
    /// The adapter's shape.
    pub config: AdapterConfig,
    /// Learning rate.
    pub lr: f64,
    /// Wall-time budget of training (evaluation comes on top).
    pub budget: Duration,
    /// Relative perplexity drop the gate asks for.
    pub margin: f64,
    /// Held-out windows measured.
    pub eval_windows: usize,
    /// Held-out lines tried for exact match.
    pub eval_lines: usize,
    /// Steps between checkpoints (a killed run resumes from the last).
    pub checkpoint_every: usize,
    /// Continue the adapter in force on what changed, with replay
    /// (consolidation), when there is a good one.
    pub incremental: bool,
    /// Train on this language's files alone: an adapter worn for code in
    /// it (the repository's adapter otherwise).
    pub language: Option<Language>,
}

impl Default for AdaptOptions {
    fn default() -> Self {
        AdaptOptions {
            steps: 200,
            seq_len: 256,
            config: AdapterConfig::default(),
            lr: 2e-3,
            budget: Duration::from_secs(30 * 60),
            margin: 0.02,
            eval_windows: 24,
            eval_lines: 40,
            checkpoint_every: 25,
            incremental: false,
            language: None,
        }
    }
}

/// A source file of the training data.
struct Source {
    path: String,
    text: String,
}

/// Whether `path` is held out (about one in ten, by a hash of the path).
pub fn is_held_out(path: &str) -> bool {
    blake3::hash(path.as_bytes()).as_bytes()[0].is_multiple_of(10)
}

/// The repository's code as training data: indexed, parsed-language files
/// read from disk, secrets redacted, split into (train, held out).
fn sources(index: &RepoIndex, only: Option<Language>) -> Result<(Vec<Source>, Vec<Source>)> {
    let redactor = crate::redact::Redactor::builtin();
    let mut train = Vec::new();
    let mut held = Vec::new();
    for path in index.store().paths()? {
        let language = Language::from_path(Path::new(&path));
        if !language.is_parsed() || only.is_some_and(|l| l != language) {
            continue;
        }
        let Ok(text) = std::fs::read_to_string(index.root().join(&path)) else {
            continue;
        };
        // Minified or generated text teaches nothing about the project.
        if text.len() > 200_000 || text.lines().any(|l| l.len() > 400) {
            continue;
        }
        let (text, _) = redactor.redact(&text, &path);
        let source = Source { path, text };
        if is_held_out(&source.path) {
            held.push(source);
        } else {
            train.push(source);
        }
    }
    // Both sides need something.
    if held.is_empty() && train.len() > 1 {
        held.push(train.pop().expect("more than one"));
    }
    if train.is_empty() && held.len() > 1 {
        train.push(held.pop().expect("more than one"));
    }
    if train.is_empty() || held.is_empty() {
        return Err(Error::Invalid(format!(
            "too little code to adapt to: at least two {}source files are needed (one is held out)",
            only.map(|l| format!("{} ", l.name())).unwrap_or_default()
        )));
    }
    Ok((train, held))
}

/// Windows of `len + 1` tokens over each source (the last shorter ones
/// kept if at least a quarter long).
fn windows(g: &Generator, sources: &[Source], len: usize) -> Result<Vec<Vec<u32>>> {
    let mut out = Vec::new();
    for s in sources {
        let ids = lore_llm::tokenizer::encode(g.tokenizer(), &s.text).map_err(llm)?;
        let mut at = 0;
        while at + 1 < ids.len() {
            let end = (at + len + 1).min(ids.len());
            if end - at > len / 4 {
                out.push(ids[at..end].to_vec());
            }
            at += len;
        }
    }
    Ok(out)
}

fn llm(e: lore_llm::Error) -> Error {
    Error::Invalid(e.to_string())
}

/// A held-out line to complete: the lines before it, and it.
struct LineCase {
    prompt: String,
    expected: String,
}

/// Lines of held-out files worth predicting (not blank, not a lone
/// bracket), after at least five lines of context, spread evenly.
fn line_cases(held: &[Source], n: usize) -> Vec<LineCase> {
    let mut all = Vec::new();
    for s in held {
        let lines: Vec<&str> = s.text.lines().collect();
        for i in 5..lines.len() {
            let t = lines[i].trim();
            if t.len() < 8 {
                continue;
            }
            let from = i.saturating_sub(30);
            // No newline at the end: the tokenizer joins a line break with
            // the next line's indentation, so the model writes both.
            let prompt = lines[from..i].join("\n");
            all.push(LineCase {
                prompt,
                expected: t.to_owned(),
            });
        }
    }
    if all.len() <= n {
        return all;
    }
    let step = all.len() as f64 / n as f64;
    let keep: std::collections::HashSet<usize> =
        (0..n).map(|k| (k as f64 * step) as usize).collect();
    all.into_iter()
        .enumerate()
        .filter(|(i, _)| keep.contains(i))
        .map(|(_, c)| c)
        .collect()
}

/// Held-out perplexity and next-line exact match of the model as it is.
fn measure(g: &mut Generator, windows: &[Vec<u32>], cases: &[LineCase]) -> Result<(f64, f64)> {
    Ok((perplexity(g, windows)?, exact_match(g, cases)?))
}

impl HeldOut {
    /// `(perplexity, exact match)` of the base and of the adapter.
    fn of(
        base: (f64, f64),
        adapter: (f64, f64),
        windows: &[Vec<u32>],
        cases: &[LineCase],
    ) -> HeldOut {
        HeldOut {
            base_perplexity: round4(base.0),
            adapter_perplexity: round4(adapter.0),
            base_exact_match: base.1,
            adapter_exact_match: adapter.1,
            windows: windows.len(),
            lines: cases.len(),
            in_force_perplexity: None,
            in_force_exact_match: None,
        }
    }
}

fn perplexity(g: &mut Generator, windows: &[Vec<u32>]) -> Result<f64> {
    let (mut total, mut count) = (0.0, 0usize);
    for w in windows {
        let (t, c) = nll(g.model_mut(), w).map_err(llm)?;
        total += t;
        count += c;
    }
    Ok((total / count.max(1) as f64).exp())
}

fn exact_match(g: &mut Generator, cases: &[LineCase]) -> Result<f64> {
    if cases.is_empty() {
        return Ok(0.0);
    }
    let mut hits = 0;
    let sampling = Sampling {
        stop_after_lines: 1,
        ..Sampling::default()
    };
    for c in cases {
        let done = g
            .complete(&c.prompt, 48, sampling, &mut |_| {})
            .map_err(llm)?;
        let line = done
            .text
            .lines()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("");
        if line.trim() == c.expected {
            hits += 1;
        }
    }
    Ok(round4(f64::from(hits) / cases.len() as f64))
}

fn round4(x: f64) -> f64 {
    (x * 10_000.0).round() / 10_000.0
}

/// One thing to train on: token ids and the index from which the loss is
/// taken (1 for a code window; an answer's first token for a pair).
struct Item {
    ids: Vec<u32>,
    from: usize,
    /// Index into the provenance records.
    source: usize,
    /// Whether it is new since the adapter in force (incremental runs).
    new: bool,
}

/// Where a consolidation starts: the adapter in force and what it saw.
struct Start {
    version: AdapterVersion,
    adapter: lore_llm::lora::Adapter,
    /// Training files changed (or added) since its data commit.
    changed: HashSet<String>,
}

/// The adapter in force, when a consolidation can start from it: made
/// from the same base, not stale, its tensors readable; and the training
/// files changed since its data commit.
fn start_from(
    index: &RepoIndex,
    base_hash: &str,
    train: &[Source],
    language: Option<Language>,
) -> Result<Option<Start>> {
    let Some((version, dir)) = Adapters::in_slot(index.data_dir(), language.map(|l| l.name()))?
    else {
        return Ok(None);
    };
    if version.base_hash != base_hash || version.stale {
        return Ok(None);
    }
    let Ok(adapter) = lore_llm::lora::Adapter::load(&dir) else {
        return Ok(None);
    };
    let seen: HashSet<&str> = version.files.iter().map(String::as_str).collect();
    let moved: HashSet<String> = match &version.data_commit {
        Some(c) if Some(c.as_str()) != index.indexed_commit() => {
            lore_git::changed_files(index.root(), c, "HEAD")
                .ok()
                .flatten()
                .unwrap_or_default()
                .into_iter()
                .filter_map(|f| f.new_path)
                .collect()
        }
        _ => HashSet::new(),
    };
    let changed = train
        .iter()
        .map(|s| s.path.as_str())
        .filter(|p| !seen.contains(p) || moved.contains(*p))
        .map(str::to_owned)
        .collect();
    Ok(Some(Start {
        version,
        adapter,
        changed,
    }))
}

/// Why a consolidation has nothing to learn, if so: no adapter in force to
/// start from that is still good, or nothing changed and no answer rated
/// since it was made.
pub fn nothing_new(
    index: &RepoIndex,
    base: &Path,
    language: Option<Language>,
    extras: &Extras,
) -> Result<Option<String>> {
    let base_hash = lore_llm::gguf::file_hash(base).map_err(llm)?;
    let (train, _) = sources(index, language)?;
    let Some(start) = start_from(index, &base_hash, &train, language)? else {
        return Ok(None);
    };
    let answers = extras
        .judged
        .iter()
        .filter(|j| j.id > start.version.answers_seen)
        .count();
    Ok((start.changed.is_empty() && answers == 0).then(|| {
        format!(
            "nothing new since adapter v{}: no training file changed and no answer was rated",
            start.version.version
        )
    }))
}

/// Trains, measures and records an adapter of the repository over the base
/// model at `base`, on its code and on the pairs `extras` and the history
/// offer; puts it in force if it passes the gate. With
/// `options.incremental` and a good adapter in force, continues that one
/// on what changed since it was made plus as much replay of the rest
/// (consolidation), and the gate also asks that it do no worse than the
/// one in force on the held-out files. `progress` gets a line now and then.
pub fn adapt(
    index: &RepoIndex,
    base: &Path,
    options: &AdaptOptions,
    extras: &Extras,
    progress: &mut dyn FnMut(&str),
) -> Result<AdapterVersion> {
    let data_dir = index.data_dir().to_owned();
    let (train, held) = sources(index, options.language)?;
    let mut g = Generator::load(base).map_err(llm)?;
    let base_hash = lore_llm::gguf::file_hash(base).map_err(llm)?;
    let start = if options.incremental {
        start_from(index, &base_hash, &train, options.language)?
    } else {
        None
    };
    let commit = index.indexed_commit().map(str::to_owned);

    // What to train on, each item with its provenance.
    let mut provenance: Vec<Provenance> = Vec::new();
    let mut items: Vec<Item> = Vec::new();
    let is_new = |p: &Provenance| {
        start.as_ref().is_none_or(|s| {
            std::iter::once(&p.path)
                .chain(&p.also)
                .any(|f| s.changed.contains(f))
                || p.answer.is_some_and(|a| a > s.version.answers_seen)
        })
    };
    for s in &train {
        let p = Provenance {
            kind: Kind::Code,
            path: s.path.clone(),
            lines: None,
            commit: commit.clone(),
            also: Vec::new(),
            answer: None,
        };
        let new = is_new(&p);
        for ids in windows(&g, std::slice::from_ref(s), options.seq_len)? {
            items.push(Item {
                ids,
                from: 1,
                source: provenance.len(),
                new,
            });
        }
        provenance.push(p);
    }
    let code_windows = items.len();
    let pairs = data::pairs(index, &train, &held, extras, data::Limits::default())?;
    let longest = 2 * options.seq_len + 1;
    let mut paired = 0;
    for pair in pairs {
        // Pairs add to the code; they do not crowd it out.
        if paired >= (code_windows / 2).max(MIN_PAIRS) {
            break;
        }
        let turns: Vec<(&str, &str)> = pair.turns.iter().map(|(r, c)| (*r, c.as_str())).collect();
        let (mut ids, from) = g.example(&turns, &pair.answer).map_err(llm)?;
        if from + 8 > longest {
            continue;
        }
        ids.truncate(longest);
        let new = is_new(&pair.provenance);
        items.push(Item {
            ids,
            from,
            source: provenance.len(),
            new,
        });
        provenance.push(pair.provenance);
        paired += 1;
    }
    let answers_seen = extras
        .judged
        .iter()
        .map(|j| j.id)
        .max()
        .unwrap_or(0)
        .max(start.as_ref().map_or(0, |s| s.version.answers_seen));
    // A consolidation: what is new, and as much replay of the rest (a
    // fixed sample), so that what the adapter knew is not forgotten.
    if start.is_some() {
        let fresh = items.iter().filter(|i| i.new).count();
        let mut replay: Vec<usize> = (0..items.len()).filter(|&i| !items[i].new).collect();
        shuffle(&mut replay, 0x9E37_79B9_7F4A_7C15);
        replay.truncate(fresh.max(1));
        let keep: HashSet<usize> = replay.into_iter().collect();
        let mut i = 0;
        items.retain(|it| {
            let k = it.new || keep.contains(&i);
            i += 1;
            k
        });
    }
    let mut held_windows = windows(&g, &held, options.seq_len)?;
    held_windows.truncate(options.eval_windows);
    if items.is_empty() || held_windows.is_empty() {
        return Err(Error::Invalid(
            "too little code to adapt to once tokenized".into(),
        ));
    }
    let cases = line_cases(&held, options.eval_lines);
    let mut kinds: BTreeMap<String, usize> = BTreeMap::new();
    for it in &items {
        *kinds
            .entry(provenance[it.source].kind.name().to_owned())
            .or_default() += 1;
    }
    progress(&format!(
        "{} files to train on, {} held out ({} windows, {} lines); {} items: {}{}",
        train.len(),
        held.len(),
        held_windows.len(),
        cases.len(),
        items.len(),
        kinds
            .iter()
            .map(|(k, n)| format!("{n} {k}"))
            .collect::<Vec<_>>()
            .join(", "),
        match &start {
            Some(s) => format!(
                " (consolidating v{}: {} files changed, replay as much)",
                s.version.version,
                s.changed.len()
            ),
            None => String::new(),
        }
    ));
    g.model_mut().clear_lora();
    let (base_ppl, base_em) = measure(&mut g, &held_windows, &cases)?;
    progress(&format!(
        "base: held-out perplexity {base_ppl:.3}, next-line exact match {base_em:.3}"
    ));
    let in_force = match &start {
        Some(s) => {
            s.adapter.attach(g.model_mut()).map_err(llm)?;
            let m = measure(&mut g, &held_windows, &cases)?;
            g.model_mut().clear_lora();
            progress(&format!(
                "v{} in force: held-out perplexity {:.3}, next-line exact match {:.3}",
                s.version.version, m.0, m.1
            ));
            Some(m)
        }
        None => None,
    };

    let train_options = TrainOptions {
        lr: options.lr,
        ..TrainOptions::default()
    };
    // A run killed midway left a checkpoint: resume from it when it was
    // made from the same base, data and settings.
    let partial = data_dir.join(DIR).join(PARTIAL);
    let key = format!(
        "{base_hash}|{:?}|{:?}|{}|{}|{}|{:?}",
        commit,
        options.config,
        options.seq_len,
        options.lr,
        items.len(),
        start.as_ref().map(|s| s.version.version)
    );
    let resume = Checkpoint::load(&partial).filter(|c| c.key == key);
    let from = match (&resume, &start) {
        (Some(c), _) => Some(lore_llm::lora::Adapter::load(&partial.join(&c.dir)).map_err(llm)?),
        (None, Some(s)) => Some(s.adapter.clone()),
        (None, None) => None,
    };
    let config = match (&from, &start) {
        // Continuing an adapter keeps its shape.
        (_, Some(s)) => s.version.config.clone(),
        _ => options.config.clone(),
    };
    let mut trainer =
        Trainer::new(g.model_mut(), config.clone(), from.as_ref(), &train_options).map_err(llm)?;
    let (first_step, mut losses, mut tokens, spent) = match resume {
        Some(c) => {
            progress(&format!("resumed from the checkpoint at step {}", c.step));
            (c.step, c.losses, c.tokens, c.seconds)
        }
        None => (0, Vec::new(), 0, 0.0),
    };
    let started = Instant::now();
    let elapsed = || spent + started.elapsed().as_secs_f64();
    // A fixed, shuffled order (a seeded permutation) over the items.
    let mut order: Vec<usize> = (0..items.len()).collect();
    shuffle(&mut order, 0x2545_F491_4F6C_DD1D);
    for step in first_step..options.steps {
        if elapsed() >= options.budget.as_secs_f64() {
            progress(&format!("budget spent after {step} steps"));
            break;
        }
        let it = &items[order[step % order.len()]];
        let loss = trainer
            .step_from(g.model_mut(), &it.ids, it.from)
            .map_err(llm)?;
        losses.push(f64::from(loss));
        tokens += it.ids.len() - it.from;
        if step % 10 == 9 {
            progress(&format!("step {}: loss {loss:.3}", step + 1));
        }
        let done = step + 1;
        if options.checkpoint_every > 0
            && done % options.checkpoint_every == 0
            && done < options.steps
        {
            Checkpoint {
                key: key.clone(),
                step: done,
                losses: losses.clone(),
                tokens,
                seconds: elapsed(),
                dir: format!("step-{done}"),
            }
            .save(&partial, &trainer.adapter().map_err(llm)?)?;
        }
    }
    let seconds = elapsed();
    let tenth = (losses.len() / 10).max(1);
    let mean = |xs: &[f64]| xs.iter().sum::<f64>() / xs.len().max(1) as f64;
    let stats = TrainStats {
        tokens,
        seconds: (seconds * 10.0).round() / 10.0,
        steps: losses.len(),
        first_loss: round4(mean(&losses[..tenth.min(losses.len())])),
        last_loss: round4(mean(&losses[losses.len().saturating_sub(tenth)..])),
        resumed_from: (first_step > 0).then_some(first_step),
    };
    let adapter = trainer.adapter().map_err(llm)?;
    adapter.attach(g.model_mut()).map_err(llm)?;
    let (adapter_ppl, adapter_em) = measure(&mut g, &held_windows, &cases)?;
    progress(&format!(
        "adapter: held-out perplexity {adapter_ppl:.3}, next-line exact match {adapter_em:.3}"
    ));
    let mut held_out = HeldOut::of(
        (base_ppl, base_em),
        (adapter_ppl, adapter_em),
        &held_windows,
        &cases,
    );
    held_out.in_force_perplexity = in_force.map(|m| round4(m.0));
    held_out.in_force_exact_match = in_force.map(|m| m.1);
    let (passed, verdict) = gate(&held_out, options.margin);

    let mut all = Adapters::load(&data_dir)?;
    let version = all.versions.iter().map(|v| v.version).max().unwrap_or(0) + 1;
    let dir = Adapters::dir(&data_dir, version);
    adapter.save(&dir).map_err(llm)?;
    let used: BTreeSet<usize> = items.iter().map(|i| i.source).collect();
    write_provenance(&dir, used.iter().map(|&i| &provenance[i]))?;
    let mut files: BTreeSet<String> = BTreeSet::new();
    for &i in &used {
        let p = &provenance[i];
        files.insert(p.path.clone());
        files.extend(p.also.iter().cloned());
    }
    let record = AdapterVersion {
        version,
        created_at: lore_core::time::now_ms(),
        base_model: base.display().to_string(),
        base_hash,
        data_commit: commit,
        config,
        held_out,
        train: stats,
        passed,
        verdict,
        files: files.into_iter().collect(),
        held_out_files: held.iter().map(|s| s.path.clone()).collect(),
        stale: false,
        examples: kinds,
        answers_seen,
        continued_from: start.as_ref().map(|s| s.version.version),
        language: options.language.map(|l| l.name().to_owned()),
    };
    all.versions.push(record.clone());
    if passed {
        all.put_in_force(version)?;
    }
    all.save(&data_dir)?;
    // The run is whole: its checkpoint is done with.
    let _ = std::fs::remove_dir_all(&partial);
    Ok(record)
}

/// Pairs trained on even when the code is small (beyond this, at most
/// one pair for two code windows).
const MIN_PAIRS: usize = 24;

/// The provenance file of a version: one JSON record per line.
pub const PROVENANCE: &str = "provenance.jsonl";

fn write_provenance<'a>(dir: &Path, records: impl Iterator<Item = &'a Provenance>) -> Result<()> {
    let mut text = String::new();
    for r in records {
        text.push_str(&serde_json::to_string(r).expect("provenance serializes"));
        text.push('\n');
    }
    let path = dir.join(PROVENANCE);
    std::fs::write(&path, text).map_err(|source| Error::Io { path, source })
}

/// A seeded permutation (xorshift), the same every run.
fn shuffle(xs: &mut [usize], seed: u64) {
    let mut state = seed;
    for i in (1..xs.len()).rev() {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        xs.swap(i, (state % (i as u64 + 1)) as usize);
    }
}

/// How long a repository must have been quiet before its adapter is
/// consolidated: 30 minutes (`LORE_IDLE_SECS` sets it in seconds).
pub fn idle_ms() -> i64 {
    std::env::var("LORE_IDLE_SECS")
        .ok()
        .and_then(|v| v.parse::<i64>().ok())
        .map_or(30 * 60_000, |s| s.max(0) * 1000)
}

/// A consolidation to queue: the adapter it continues and its run's input.
#[derive(Clone, Debug, PartialEq)]
pub struct Consolidation {
    /// The version in force.
    pub version: u32,
    /// The run's input (`{"base", "incremental": true, "rank",
    /// "budget_secs", "language"}`).
    pub input: serde_json::Value,
}

/// The consolidations the repository whose data directory is `data_dir`
/// is due at `now`, one per adapter in force (the repository's, each
/// language's): when no question was asked and nothing indexed changed
/// for [`idle_ms`], and something is new since that adapter's last
/// consolidation was queued (the indexed commit, an indexed change, a
/// judged answer, the adapter marked stale). `budget_secs` bounds each
/// run's training. Records what it queues for, so the same state is not
/// queued twice.
pub fn consolidations_due(
    data_dir: &Path,
    now: i64,
    budget_secs: u64,
) -> Result<Vec<Consolidation>> {
    use lore_core::history::HistoryStore;
    use lore_core::store::MetaStore;
    let mut all = Adapters::load(data_dir)?;
    let slots: Vec<(String, u32)> = all
        .current
        .map(|v| (String::new(), v))
        .into_iter()
        .chain(all.by_language.iter().map(|(l, v)| (l.clone(), *v)))
        .collect();
    if slots.is_empty() {
        return Ok(Vec::new());
    }
    let layout = crate::Layout::new(data_dir);
    let meta = lore_store::SqliteStore::open_snapshot(&layout.db())?.meta()?;
    // The last indexed change (a run that found nothing new is not one).
    let changed_at = meta
        .last_run
        .as_ref()
        .filter(|r| !(r.added.is_empty() && r.modified.is_empty() && r.deleted.is_empty()))
        .map_or(0, |r| r.started_at);
    // The last question: the answer history's last write.
    let history = layout.history_db();
    let asked_at = [history.clone(), history.with_extension("db-wal")]
        .iter()
        .filter_map(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok())
        .filter_map(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_millis() as i64)
        .max()
        .unwrap_or(0);
    if now - changed_at.max(asked_at) < idle_ms() {
        return Ok(Vec::new());
    }
    let judged = if history.exists() {
        lore_store::SqliteHistory::open(&history)?
            .judged_since(0)?
            .iter()
            .map(|(a, _)| a.id)
            .max()
            .unwrap_or(0)
    } else {
        0
    };
    let mut due = Vec::new();
    for (slot, v) in slots {
        let Ok(version) = all.get(v).cloned() else {
            continue;
        };
        let key = format!(
            "v{v}|{:?}|{changed_at}|{judged}|{}",
            meta.head, version.stale
        );
        if all.consolidated.get(&slot) == Some(&key) {
            continue;
        }
        all.consolidated.insert(slot, key);
        due.push(Consolidation {
            version: v,
            input: serde_json::json!({
                "base": version.base_model,
                "incremental": true,
                "rank": version.config.rank,
                "budget_secs": budget_secs,
                "language": version.language,
            }),
        });
    }
    if !due.is_empty() {
        all.save(data_dir)?;
    }
    Ok(due)
}

/// Measures `version` again on the held-out files as they are now (the
/// same files by the same hash, plus any new ones), base vs adapter.
pub fn evaluate(
    index: &RepoIndex,
    base: &Path,
    version: u32,
    options: &AdaptOptions,
) -> Result<HeldOut> {
    let data_dir = index.data_dir();
    let all = Adapters::load(data_dir)?;
    let v = all.get(version)?;
    let hash = lore_llm::gguf::file_hash(base).map_err(llm)?;
    if hash != v.base_hash {
        return Err(Error::Invalid(format!(
            "adapter v{version} was trained on another base model ({}), not {}",
            v.base_model,
            base.display()
        )));
    }
    let language = v.language.as_deref().and_then(Language::from_name);
    let (_, held) = sources(index, language)?;
    let mut g = Generator::load(base).map_err(llm)?;
    let mut held_windows = windows(&g, &held, options.seq_len)?;
    held_windows.truncate(options.eval_windows);
    let cases = line_cases(&held, options.eval_lines);
    g.model_mut().clear_lora();
    let base = measure(&mut g, &held_windows, &cases)?;
    lore_llm::lora::Adapter::load(&Adapters::dir(data_dir, version))
        .and_then(|a| a.attach(g.model_mut()))
        .map_err(llm)?;
    let adapter = measure(&mut g, &held_windows, &cases)?;
    Ok(HeldOut::of(base, adapter, &held_windows, &cases))
}

/// How much worse than the adapter in force a consolidation's held-out
/// perplexity may be (relative): measurement noise, not forgetting.
const FORGETTING: f64 = 0.01;

/// The gate: lower held-out perplexity by `margin`, exact match not lower;
/// for a consolidation, perplexity not worse than the adapter in force's.
pub fn gate(h: &HeldOut, margin: f64) -> (bool, String) {
    let drop = 1.0 - h.adapter_perplexity / h.base_perplexity.max(1e-9);
    if drop < margin {
        return (
            false,
            format!(
                "held-out perplexity {:.3} → {:.3} ({:+.1}%): the gate asks for {:.1}% lower",
                h.base_perplexity,
                h.adapter_perplexity,
                -drop * 100.0,
                margin * 100.0
            ),
        );
    }
    // A consolidation must not undo what the adapter in force knew.
    if let Some(before) = h.in_force_perplexity
        && h.adapter_perplexity > before * (1.0 + FORGETTING)
    {
        return (
            false,
            format!(
                "held-out perplexity {:.3} against {before:.3} for the adapter in force: \
                 consolidating made it worse",
                h.adapter_perplexity
            ),
        );
    }
    if h.adapter_exact_match < h.base_exact_match {
        return (
            false,
            format!(
                "next-line exact match dropped, {:.3} → {:.3}",
                h.base_exact_match, h.adapter_exact_match
            ),
        );
    }
    (
        true,
        format!(
            "held-out perplexity {:.3} → {:.3} ({:.1}% lower), exact match {:.3} → {:.3}",
            h.base_perplexity,
            h.adapter_perplexity,
            drop * 100.0,
            h.base_exact_match,
            h.adapter_exact_match
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn version(version: u32, language: Option<&str>, files: usize) -> AdapterVersion {
        AdapterVersion {
            version,
            created_at: 0,
            base_model: "base.gguf".into(),
            base_hash: "0".repeat(64),
            data_commit: None,
            config: AdapterConfig::default(),
            held_out: HeldOut::default(),
            train: TrainStats::default(),
            passed: true,
            verdict: String::new(),
            files: (0..files).map(|i| format!("f{i}")).collect(),
            held_out_files: Vec::new(),
            stale: false,
            examples: BTreeMap::new(),
            answers_seen: 0,
            continued_from: None,
            language: language.map(str::to_owned),
        }
    }

    #[test]
    fn each_language_has_its_slot_and_code_wears_its_own_adapter() {
        let dir = tempfile::tempdir().unwrap();
        let all = Adapters {
            versions: vec![
                version(1, Some("python"), 3),
                version(2, Some("rust"), 9),
                version(3, None, 12),
                version(4, Some("python"), 3),
            ],
            ..Adapters::default()
        };
        all.save(dir.path()).unwrap();
        let worn = |language: Option<&str>| {
            Adapters::for_language(dir.path(), language)
                .unwrap()
                .map(|(v, _)| v.version)
        };
        assert_eq!(worn(None), None);
        Adapters::promote(dir.path(), 1).unwrap();
        Adapters::promote(dir.path(), 2).unwrap();
        // Code wears its language's adapter; other code none (there is no
        // repository adapter); a question the one that saw the most files.
        assert_eq!(worn(Some("python")), Some(1));
        assert_eq!(worn(Some("go")), None);
        assert_eq!(worn(None), Some(2));
        Adapters::promote(dir.path(), 3).unwrap();
        assert_eq!(worn(Some("go")), Some(3));
        assert_eq!(worn(None), Some(3));
        assert_eq!(worn(Some("rust")), Some(2));
        // A newer Python adapter replaces the old one in its slot only.
        Adapters::promote(dir.path(), 4).unwrap();
        let a = Adapters::load(dir.path()).unwrap();
        assert_eq!(a.slot(Some("python")), Some(4));
        assert_eq!(a.slot(None), Some(3));
        assert_eq!(a.previous_by_language["python"], vec![None, Some(1)]);
        // Rolling back to a version puts it back in its own slot.
        Adapters::rollback(dir.path(), Some(1)).unwrap();
        assert_eq!(worn(Some("python")), Some(1));
        assert_eq!(worn(None), Some(3));
    }

    #[test]
    fn the_gate_refuses_a_worse_or_barely_better_adapter() {
        let h = |b: f64, a: f64, be: f64, ae: f64| HeldOut {
            base_perplexity: b,
            adapter_perplexity: a,
            base_exact_match: be,
            adapter_exact_match: ae,
            windows: 3,
            lines: 10,
            in_force_perplexity: None,
            in_force_exact_match: None,
        };
        assert!(gate(&h(10.0, 8.0, 0.2, 0.3), 0.02).0);
        let (ok, why) = gate(&h(10.0, 11.0, 0.2, 0.3), 0.02);
        assert!(!ok && why.contains("perplexity"), "{why}");
        assert!(
            !gate(&h(10.0, 9.9, 0.2, 0.3), 0.02).0,
            "1% is under the margin"
        );
        let (ok, why) = gate(&h(10.0, 8.0, 0.3, 0.2), 0.02);
        assert!(!ok && why.contains("exact match"), "{why}");
        let consolidated = |before: f64| HeldOut {
            in_force_perplexity: Some(before),
            ..h(10.0, 8.0, 0.2, 0.3)
        };
        assert!(gate(&consolidated(8.0), 0.02).0);
        let (ok, why) = gate(&consolidated(7.5), 0.02);
        assert!(!ok && why.contains("in force"), "{why}");
    }
}
