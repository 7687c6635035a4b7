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

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use lore_core::Language;
use lore_llm::lora::{AdapterConfig, TrainOptions, Trainer, nll};
use lore_llm::{Generator, Sampling};
use serde::{Deserialize, Serialize};

use crate::RepoIndex;
use crate::error::{Error, Result};

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
    /// Files trained on (provenance).
    pub files: Vec<String>,
    /// Files held out.
    pub held_out_files: Vec<String>,
    /// Marked for retraining: a file it was trained on was purged.
    #[serde(default)]
    pub stale: bool,
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

    /// The version in force and its directory.
    pub fn in_force(data_dir: &Path) -> Result<Option<(AdapterVersion, PathBuf)>> {
        let a = Adapters::load(data_dir)?;
        Ok(a.current.and_then(|c| a.get(c).ok().cloned()).map(|v| {
            let dir = Adapters::dir(data_dir, v.version);
            (v, dir)
        }))
    }

    /// Puts `version` in force.
    pub fn promote(data_dir: &Path, version: u32) -> Result<Adapters> {
        let mut a = Adapters::load(data_dir)?;
        a.get(version)?;
        if a.current != Some(version) {
            a.previous.push(a.current);
            a.current = Some(version);
            a.save(data_dir)?;
        }
        Ok(a)
    }

    /// Puts `version` in force again, or, without one, the version in
    /// force before the current one (the base alone if there was none).
    pub fn rollback(data_dir: &Path, version: Option<u32>) -> Result<Adapters> {
        let mut a = Adapters::load(data_dir)?;
        let to = match version {
            Some(v) => {
                a.get(v)?;
                Some(v)
            }
            None => a.previous.pop().ok_or_else(|| {
                Error::Invalid("nothing to roll back to: no earlier adapter was in force".into())
            })?,
        };
        a.current = to;
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
fn sources(index: &RepoIndex) -> Result<(Vec<Source>, Vec<Source>)> {
    let redactor = crate::redact::Redactor::builtin();
    let mut train = Vec::new();
    let mut held = Vec::new();
    for path in index.store().paths()? {
        if !Language::from_path(Path::new(&path)).is_parsed() {
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
        return Err(Error::Invalid(
            "too little code to adapt to: at least two source files are needed (one is held out)"
                .into(),
        ));
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

/// Trains, measures and records an adapter of the repository over the base
/// model at `base`; puts it in force if it passes the gate. `progress` gets
/// a line now and then.
pub fn adapt(
    index: &RepoIndex,
    base: &Path,
    options: &AdaptOptions,
    progress: &mut dyn FnMut(&str),
) -> Result<AdapterVersion> {
    let data_dir = index.data_dir().to_owned();
    let (train, held) = sources(index)?;
    let mut g = Generator::load(base).map_err(llm)?;
    let base_hash = lore_llm::gguf::file_hash(base).map_err(llm)?;
    let train_windows = windows(&g, &train, options.seq_len)?;
    let mut held_windows = windows(&g, &held, options.seq_len)?;
    held_windows.truncate(options.eval_windows);
    if train_windows.is_empty() || held_windows.is_empty() {
        return Err(Error::Invalid(
            "too little code to adapt to once tokenized".into(),
        ));
    }
    let cases = line_cases(&held, options.eval_lines);
    progress(&format!(
        "{} files to train on ({} windows), {} held out ({} windows, {} lines)",
        train.len(),
        train_windows.len(),
        held.len(),
        held_windows.len(),
        cases.len()
    ));
    g.model_mut().clear_lora();
    let (base_ppl, base_em) = measure(&mut g, &held_windows, &cases)?;
    progress(&format!(
        "base: held-out perplexity {base_ppl:.3}, next-line exact match {base_em:.3}"
    ));

    let train_options = TrainOptions {
        lr: options.lr,
        ..TrainOptions::default()
    };
    // A run killed midway left a checkpoint: resume from it when it was
    // made from the same base, data and settings.
    let partial = data_dir.join(DIR).join(PARTIAL);
    let key = format!(
        "{base_hash}|{:?}|{:?}|{}|{}|{}",
        index.indexed_commit(),
        options.config,
        options.seq_len,
        options.lr,
        train_windows.len()
    );
    let resume = Checkpoint::load(&partial).filter(|c| c.key == key);
    let from = match &resume {
        Some(c) => Some(lore_llm::lora::Adapter::load(&partial.join(&c.dir)).map_err(llm)?),
        None => None,
    };
    let mut trainer = Trainer::new(
        g.model_mut(),
        options.config.clone(),
        from.as_ref(),
        &train_options,
    )
    .map_err(llm)?;
    let (first_step, mut losses, mut tokens, spent) = match resume {
        Some(c) => {
            progress(&format!("resumed from the checkpoint at step {}", c.step));
            (c.step, c.losses, c.tokens, c.seconds)
        }
        None => (0, Vec::new(), 0, 0.0),
    };
    let started = Instant::now();
    let elapsed = || spent + started.elapsed().as_secs_f64();
    // A fixed, shuffled order (a seeded permutation) over the windows.
    let mut order: Vec<usize> = (0..train_windows.len()).collect();
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    for i in (1..order.len()).rev() {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        order.swap(i, (state % (i as u64 + 1)) as usize);
    }
    for step in first_step..options.steps {
        if elapsed() >= options.budget.as_secs_f64() {
            progress(&format!("budget spent after {step} steps"));
            break;
        }
        let w = &train_windows[order[step % order.len()]];
        let loss = trainer.step(g.model_mut(), w).map_err(llm)?;
        losses.push(f64::from(loss));
        tokens += w.len() - 1;
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
    let held_out = HeldOut::of(
        (base_ppl, base_em),
        (adapter_ppl, adapter_em),
        &held_windows,
        &cases,
    );
    let (passed, verdict) = gate(&held_out, options.margin);

    let mut all = Adapters::load(&data_dir)?;
    let version = all.versions.iter().map(|v| v.version).max().unwrap_or(0) + 1;
    adapter
        .save(&Adapters::dir(&data_dir, version))
        .map_err(llm)?;
    let record = AdapterVersion {
        version,
        created_at: lore_core::time::now_ms(),
        base_model: base.display().to_string(),
        base_hash,
        data_commit: index.indexed_commit().map(str::to_owned),
        config: options.config.clone(),
        held_out,
        train: stats,
        passed,
        verdict,
        files: train.iter().map(|s| s.path.clone()).collect(),
        held_out_files: held.iter().map(|s| s.path.clone()).collect(),
        stale: false,
    };
    all.versions.push(record.clone());
    if passed {
        all.previous.push(all.current);
        all.current = Some(version);
    }
    all.save(&data_dir)?;
    // The run is whole: its checkpoint is done with.
    let _ = std::fs::remove_dir_all(&partial);
    Ok(record)
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
    let (_, held) = sources(index)?;
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

/// The gate: lower held-out perplexity by `margin`, exact match not lower.
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

    #[test]
    fn the_gate_refuses_a_worse_or_barely_better_adapter() {
        let h = |b: f64, a: f64, be: f64, ae: f64| HeldOut {
            base_perplexity: b,
            adapter_perplexity: a,
            base_exact_match: be,
            adapter_exact_match: ae,
            windows: 3,
            lines: 10,
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
    }
}
