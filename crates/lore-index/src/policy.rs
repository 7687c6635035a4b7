//! The repository's own retrieval policies: weights of the hybrid ranker
//! trained on queries mined from the repository, versioned with their
//! evaluation, promoted only through a held-out gate, rolled back in one
//! step. Kept in `policies.json` in the repository's data directory
//! (written whole: a temporary file and a rename).
//!
//! Training (`train`): documented functions give queries (their doc's first
//! sentence, asked of a scratch index with the docs blanked out, as `lore
//! eval --from-docs` does); a fixed hash splits them 70/30 into training
//! and held-out; the candidates' features become `lore_learn::rank`
//! queries; coordinate ascent fits the weights from the policy in force;
//! the gate compares the two on the held-out queries. The transformer
//! policy (version 5, when dense vectors exist) is not replaced yet: a
//! repository policy fits the features of search without them.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Arc;

use lore_learn::rank::{self, Candidate, Query, Verdict};
use lore_retrieve::fusion::{Feature, Policy};
use lore_retrieve::metrics::{Span, judge};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::eval::queries_from_docs;
use crate::home::Home;
use crate::query::{RepoIndex, SearchOptions};

pub(crate) const FILE: &str = "policies.json";

/// One trained version.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Version {
    /// 1, 2, ...
    pub version: u32,
    /// When trained (ms).
    pub created_at: i64,
    /// The commit its queries came from.
    pub commit: String,
    /// The global policy version it refits (4, or 5 with transformer
    /// vectors): it ranks only where that one would.
    #[serde(default = "default_base")]
    pub base: u32,
    /// Feature weights.
    pub weights: BTreeMap<String, f64>,
    /// The gate's verdict against the policy in force then.
    pub verdict: Verdict,
    /// Training queries, and the metrics on them before and after.
    pub train: rank::Metrics,
    /// Queries mined per source (training and held out).
    #[serde(default)]
    pub sources: BTreeMap<String, usize>,
}

fn default_base() -> u32 {
    Policy::default().version
}

/// Every version and which is in force.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Policies {
    /// Oldest first.
    pub versions: Vec<Version>,
    /// The version in force (`None`: the global policy).
    pub current: Option<u32>,
    /// Versions in force before, most recent last (for rollback).
    #[serde(default)]
    pub previous: Vec<Option<u32>>,
    /// An online comparison in the server: the version in force and this
    /// challenger interleave their results (`lore policy ab`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ab: Option<AbTest>,
}

/// An A/B comparison of the version in force with a challenger.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AbTest {
    /// The challenger version (team B).
    pub challenger: u32,
    /// When it started (ms).
    pub started_at: i64,
}

impl Policies {
    /// The policies of the repository whose data directory is `data_dir`.
    pub fn load(data_dir: &Path) -> Result<Policies> {
        let path = data_dir.join(FILE);
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map_err(|e| Error::Invalid(format!("{}: {e}", path.display()))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Policies::default()),
            Err(source) => Err(Error::Io { path, source }),
        }
    }

    fn save(&self, data_dir: &Path) -> Result<()> {
        let bytes = serde_json::to_vec_pretty(self).expect("policies serialize");
        write_whole(&data_dir.join(FILE), &bytes)
    }

    fn get(&self, version: u32) -> Result<&Version> {
        self.versions
            .iter()
            .find(|v| v.version == version)
            .ok_or_else(|| {
                Error::Invalid(format!(
                    "no retrieval policy version {version} (`lore policy list`)"
                ))
            })
    }

    /// `base` with the weights of the version in force, if it refits
    /// `base`'s global version; else `base`.
    pub fn active(&self, base: &Policy) -> Policy {
        match self.current.and_then(|c| self.get(c).ok()) {
            Some(v) if v.base == base.version => with_weights(base, &v.weights, Some(v.version)),
            _ => base.clone(),
        }
    }

    /// The challenger of the A/B comparison on top of `base`, if one runs
    /// and refits `base`'s global version.
    pub fn challenger(&self, base: &Policy) -> Option<Policy> {
        let ab = self.ab.as_ref()?;
        let v = self.get(ab.challenger).ok()?;
        (v.base == base.version).then(|| with_weights(base, &v.weights, Some(v.version)))
    }

    /// Starts comparing `version` with the version in force in the
    /// server's searches.
    pub fn start_ab(data_dir: &Path, version: u32) -> Result<Policies> {
        let mut p = Policies::load(data_dir)?;
        p.get(version)?;
        if p.current == Some(version) {
            return Err(Error::Invalid(format!(
                "retrieval policy v{version} is the one in force: compare another version with it"
            )));
        }
        p.ab = Some(AbTest {
            challenger: version,
            started_at: lore_core::time::now_ms(),
        });
        p.save(data_dir)?;
        Ok(p)
    }

    /// Stops the A/B comparison (its outcomes stay in the history).
    pub fn stop_ab(data_dir: &Path) -> Result<Policies> {
        let mut p = Policies::load(data_dir)?;
        p.ab = None;
        p.save(data_dir)?;
        Ok(p)
    }

    /// Puts `version` in force (ending an A/B comparison it was in).
    pub fn promote(data_dir: &Path, version: u32) -> Result<Policies> {
        let mut p = Policies::load(data_dir)?;
        p.get(version)?;
        if p.ab.as_ref().is_some_and(|ab| ab.challenger == version) {
            p.ab = None;
        }
        if p.current != Some(version) {
            p.previous.push(p.current);
            p.current = Some(version);
            p.save(data_dir)?;
        }
        Ok(p)
    }

    /// Puts `version` in force again, or, without one, the version in force
    /// before the current one (the global policy if there was none).
    pub fn rollback(data_dir: &Path, version: Option<u32>) -> Result<Policies> {
        let mut p = Policies::load(data_dir)?;
        let to = match version {
            Some(v) => {
                p.get(v)?;
                Some(v)
            }
            None => p.previous.pop().ok_or_else(|| {
                Error::Invalid("nothing to roll back to: no earlier policy was in force".into())
            })?,
        };
        p.current = to;
        if p.ab.as_ref().is_some_and(|ab| Some(ab.challenger) == to) {
            p.ab = None;
        }
        p.save(data_dir)?;
        Ok(p)
    }
}

fn with_weights(base: &Policy, weights: &BTreeMap<String, f64>, version: Option<u32>) -> Policy {
    let mut p = base.clone();
    for f in Feature::ALL {
        p.weights
            .insert(f, weights.get(f.name()).copied().unwrap_or(0.0));
    }
    p.repository = version;
    p
}

fn weight_vector(policy: &Policy) -> Vec<f64> {
    Feature::ALL.iter().map(|f| policy.weight(*f)).collect()
}

/// The outcome of A/B comparisons between two policies.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct AbOutcome {
    /// Team A: the version in force then (`None`: the global policy).
    pub a: Option<u32>,
    /// Team B: the challenger.
    pub b: u32,
    /// Result lists shown.
    pub impressions: usize,
    /// Lists where people preferred A's results.
    pub wins_a: usize,
    /// Lists where people preferred B's.
    pub wins_b: usize,
    /// Lists with as many clicks on each.
    pub ties: usize,
}

/// The outcomes of the A/B comparisons in `history` since `since` (Unix
/// seconds), by pair of policies.
pub fn ab_outcomes(
    history: &dyn lore_core::history::HistoryStore,
    since: i64,
) -> Result<Vec<AbOutcome>> {
    use lore_learn::interleave::{Outcome, Team, credit};
    let mut by_pair: BTreeMap<(Option<u32>, u32), AbOutcome> = BTreeMap::new();
    for i in history.impressions_since(since)? {
        let teams: Vec<Team> = serde_json::from_str::<Vec<serde_json::Value>>(&i.results)
            .unwrap_or_default()
            .iter()
            .map(|r| if r["team"] == "b" { Team::B } else { Team::A })
            .collect();
        let clicked: Vec<Team> = serde_json::from_str::<Vec<serde_json::Value>>(&i.clicks)
            .unwrap_or_default()
            .iter()
            .filter_map(|c| teams.get(c["rank"].as_u64()? as usize).copied())
            .collect();
        let o = by_pair.entry((i.a, i.b)).or_insert_with(|| AbOutcome {
            a: i.a,
            b: i.b,
            ..AbOutcome::default()
        });
        o.impressions += 1;
        match credit(&clicked) {
            Some(Outcome::A) => o.wins_a += 1,
            Some(Outcome::B) => o.wins_b += 1,
            Some(Outcome::Tie) => o.ties += 1,
            None => {}
        }
    }
    Ok(by_pair.into_values().collect())
}

/// The translation table saved with `version`, if any (a damaged file
/// is left out with a warning: the feature then scores 0).
pub(crate) fn load_translation(
    data_dir: &Path,
    version: u32,
) -> Option<lore_learn::translate::Table> {
    let path = data_dir.join(format!("translation-v{version}.json"));
    let bytes = std::fs::read(&path).ok()?;
    serde_json::from_slice(&bytes)
        .inspect_err(|err| tracing::warn!(path = %path.display(), cause = %err, "translation table unreadable"))
        .ok()
}

fn save_translation(
    data_dir: &Path,
    version: u32,
    table: &lore_learn::translate::Table,
) -> Result<()> {
    let bytes = serde_json::to_vec(table).expect("a table serializes");
    write_whole(
        &data_dir.join(format!("translation-v{version}.json")),
        &bytes,
    )
}

/// Writes `path` whole: a temporary file beside it, then a rename, so a
/// kill leaves the old file or the new one, never half of one.
fn write_whole(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, bytes).map_err(|source| Error::Io {
        path: tmp.clone(),
        source,
    })?;
    std::fs::rename(&tmp, path).map_err(|source| Error::Io {
        path: path.to_owned(),
        source,
    })
}

/// The translation table of the doc queries training may see: each
/// training query's prose against its function's code as the masked index
/// holds it (the doc lines left out).
fn learn_translation(
    root: &Path,
    docs: &crate::eval::DocQueries,
    held: impl Fn(&str, &str) -> bool,
) -> lore_learn::translate::Table {
    let mut files: HashMap<String, Vec<String>> = HashMap::new();
    let mut pairs: Vec<(String, String)> = Vec::new();
    for q in &docs.queries {
        if held(sources::DOC, &q.query) {
            continue;
        }
        let Some(span) = q.expected.first() else {
            continue;
        };
        let lines = files.entry(span.path.clone()).or_insert_with(|| {
            std::fs::read_to_string(lore_core::path::under(root, &span.path))
                .map(|t| t.lines().map(str::to_owned).collect())
                .unwrap_or_default()
        });
        let masked = docs.masks.get(&span.path);
        let code: Vec<&str> = (span.start_line..=span.end_line)
            .filter(|n| !masked.is_some_and(|m| m.iter().any(|&(a, b)| (a..=b).contains(n))))
            .filter_map(|n| lines.get(n as usize - 1).map(String::as_str))
            .collect();
        pairs.push((q.query.clone(), code.join("\n")));
    }
    lore_learn::translate::Table::learn(pairs.iter().map(|(a, b)| (a.as_str(), b.as_str())))
}

/// Whether training holds the query of `source` out (30% by a hash).
fn held_out(source: &str, query: &str) -> bool {
    let key = blake3::hash(format!("{source}\0{query}").as_bytes());
    key.as_bytes()[0] % 10 >= 7
}

/// What `train` did.
#[derive(Clone, Debug, Serialize)]
pub struct Trained {
    /// The new version.
    pub version: u32,
    /// Whether the gate put it in force.
    pub promoted: bool,
    /// Its record.
    pub record: Version,
    /// Training and held-out query counts.
    pub queries: (usize, usize),
}

/// Where training queries come from. Doc queries are asked of a scratch
/// index with the docs blanked out; the others of the index itself.
pub mod sources {
    /// A documented function's first doc sentence, the doc hidden.
    pub const DOC: &str = "doc";
    /// A symbol's name in words ("parse config" for `parse_config`), to
    /// find its definition rather than its uses and tests.
    pub const IDENTIFIER: &str = "identifier";
    /// A commit's subject, to find the files it changed.
    pub const HISTORY: &str = "history";
    /// A question people judged, to find the places they liked or named.
    pub const FEEDBACK: &str = "feedback";
}

/// A mined query and where its answer is.
#[derive(Clone, Debug)]
struct Mined {
    source: &'static str,
    query: String,
    expected: Vec<Span>,
    /// Places people called wrong: never relevant.
    wrong: Vec<Span>,
}

/// The sources of held-out queries the gate guards on their own: a new
/// policy never ranks what people corrected worse.
const GUARDED: &[&str] = &[sources::FEEDBACK];

/// Trains a retrieval policy for the repository at `root` on up to `n`
/// mined queries per source (doc, identifier and history) and every
/// question people judged; promotes it if it beats the policy in force on
/// the held-out queries by `margin` (Recall@10) without a lower MRR@10,
/// pooled, nor a lower MRR@10 on the feedback queries alone.
///
/// With transformer vectors the repository's policy refits version 5 (it
/// then ranks only while those vectors exist); the scratch index of doc
/// queries embeds with the same model, from the shared cache.
pub fn train(home: &Home, root: &Path, n: usize, margin: f64) -> Result<Trained> {
    let index = RepoIndex::open(home, root)?;
    let data_dir = index.data_dir().to_owned();
    let commit = index.indexed_commit().unwrap_or("").to_owned();
    let current = index.policy().clone();
    let options = SearchOptions {
        all_features: true,
        ..SearchOptions::default()
    };
    let mut mined: Vec<(Mined, Query)> = Vec::new();
    let mut ask = |index: &RepoIndex, m: Mined| -> Result<()> {
        let query = candidates_of(index, &m, &options)?;
        if query.candidates.iter().any(|c| c.relevant) || m.source == sources::FEEDBACK {
            mined.push((m, query));
        }
        Ok(())
    };
    let docs = queries_from_docs(&index, n)?;
    // The repository's own prose → code words, from the training split.
    let table = Arc::new(learn_translation(index.root(), &docs, held_out));
    index.set_translation(table.clone());
    if !docs.queries.is_empty() {
        let masked = crate::eval::masked_index(home, &index, docs.masks.clone())?;
        masked.index.set_translation(table.clone());
        for q in docs.queries {
            ask(
                &masked.index,
                Mined {
                    source: sources::DOC,
                    query: q.query,
                    expected: q.expected,
                    wrong: Vec::new(),
                },
            )?;
        }
    }
    for m in identifier_queries(&index, n / 2)? {
        ask(&index, m)?;
    }
    for m in history_queries(&index, n / 2)? {
        ask(&index, m)?;
    }
    let history = crate::layout::Layout::new(&data_dir).history_db();
    for j in crate::utility::judged_in(&history, 0)? {
        let span = |p: &crate::utility::Place| Span {
            path: p.path.clone(),
            start_line: p.start_line,
            end_line: p.end_line,
        };
        let expected: Vec<Span> = j.relevant().into_iter().map(span).collect();
        if expected.is_empty() {
            continue;
        }
        ask(
            &index,
            Mined {
                source: sources::FEEDBACK,
                query: j.question.clone(),
                expected,
                wrong: j.wrong.iter().map(span).collect(),
            },
        )?;
    }
    let usable = mined
        .iter()
        .filter(|(_, q)| q.candidates.iter().any(|c| c.relevant))
        .count();
    if usable < 10 {
        return Err(Error::TooFewQueries(format!(
            "{}: {usable} mined queries find their answer among the candidates: \
             too few queries to train a retrieval policy (10 or more)",
            root.display()
        )));
    }
    let mut train = Vec::new();
    let mut held: BTreeMap<String, Vec<Query>> = BTreeMap::new();
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for (m, query) in mined {
        *counts.entry(m.source.to_owned()).or_default() += 1;
        if held_out(m.source, &m.query) {
            held.entry(m.source.to_owned()).or_default().push(query);
        } else {
            train.push(query);
        }
    }
    let mut policies = Policies::load(&data_dir)?;
    let start = weight_vector(&current);
    // RRF and BM25 stay as they are: identifier queries, which doc
    // sentences do not resemble, keep their lexical footing.
    let fixed: Vec<usize> = Feature::ALL
        .iter()
        .enumerate()
        .filter(|(_, f)| matches!(f, Feature::Rrf | Feature::Lexical))
        .map(|(i, _)| i)
        .collect();
    let fitted = rank::fit(&start, &train, 30, &fixed);
    let verdict = rank::gate_by_source(&start, &fitted, &held, margin, GUARDED);
    let version = policies
        .versions
        .iter()
        .map(|v| v.version)
        .max()
        .unwrap_or(0)
        + 1;
    let record = Version {
        version,
        created_at: lore_core::time::now_ms(),
        commit,
        base: current.version,
        weights: Feature::ALL
            .iter()
            .zip(&fitted)
            .map(|(f, w)| (f.name().to_owned(), (w * 1e4).round() / 1e4))
            .collect(),
        train: rank::evaluate(&fitted, &train),
        sources: counts,
        verdict,
    };
    let promoted = record.verdict.promote;
    if !table.is_empty() {
        save_translation(&data_dir, version, &table)?;
    }
    policies.versions.push(record.clone());
    if promoted {
        policies.previous.push(policies.current);
        policies.current = Some(version);
    }
    policies.save(&data_dir)?;
    let held_n = held.values().map(Vec::len).sum();
    Ok(Trained {
        version,
        promoted,
        record,
        queries: (train.len(), held_n),
    })
}

/// Why a retraining on cadence would learn nothing, if so: the latest
/// version was trained at the indexed commit and nobody gave feedback
/// since.
pub fn nothing_new(home: &Home, root: &Path) -> Result<Option<String>> {
    let index = RepoIndex::open(home, root)?;
    let policies = Policies::load(index.data_dir())?;
    let Some(last) = policies.versions.last() else {
        return Ok(None);
    };
    if index.indexed_commit().unwrap_or("") != last.commit {
        return Ok(None);
    }
    let history = crate::layout::Layout::new(index.data_dir()).history_db();
    if !history.exists() {
        return Ok(Some(format!(
            "v{} was trained at this commit and there is no feedback",
            last.version
        )));
    }
    let history = lore_store::SqliteHistory::open(&history)?;
    let since = last.created_at / 1000;
    use lore_core::history::HistoryStore;
    Ok(history.feedback_since(since)?.is_empty().then(|| {
        format!(
            "v{} was trained at this commit and no feedback came since",
            last.version
        )
    }))
}

/// The candidates of `m` in `index` with every feature, judged against
/// its expected places.
fn candidates_of(index: &RepoIndex, m: &Mined, options: &SearchOptions) -> Result<Query> {
    let found = index.candidates(&m.query, options)?;
    let candidates = found
        .chunks
        .iter()
        .map(|(id, c)| {
            let span = Span {
                path: c.path.to_string(),
                start_line: c.start_line,
                end_line: c.end_line,
            };
            let features = found.features.get(id).copied().unwrap_or_default();
            let hits = |places: &[Span]| {
                judge(std::slice::from_ref(&span), places)
                    .span_rank
                    .is_some()
            };
            Candidate {
                features: Feature::ALL.iter().map(|f| features.get(*f)).collect(),
                relevant: hits(&m.expected) && !hits(&m.wrong),
            }
        })
        .collect();
    Ok(Query { candidates })
}

/// A name's words, lower case: `parse_config` and `parseConfig` →
/// `parse config`.
fn name_words(name: &str) -> String {
    let mut words: Vec<String> = Vec::new();
    for part in name.split(|c: char| !c.is_alphanumeric()) {
        let mut word = String::new();
        let mut prev_lower = false;
        for ch in part.chars() {
            if ch.is_uppercase() && prev_lower && !word.is_empty() {
                words.push(std::mem::take(&mut word));
            }
            prev_lower = ch.is_lowercase() || ch.is_ascii_digit();
            word.extend(ch.to_lowercase());
        }
        if !word.is_empty() {
            words.push(word);
        }
    }
    words.join(" ")
}

/// Up to `n` names of two words or more that one function, method or type
/// outside tests and examples defines, sampled by a hash of the name; each
/// expects its definition.
fn identifier_queries(index: &RepoIndex, n: usize) -> Result<Vec<Mined>> {
    use lore_core::SymbolKind as K;
    let mut names: Vec<(blake3::Hash, String)> = index
        .store()
        .symbol_names()?
        .into_iter()
        .filter(|name| name_words(name).contains(' '))
        .map(|name| (blake3::hash(name.as_bytes()), name))
        .collect();
    names.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    let mut out = Vec::new();
    for (_, name) in names {
        if out.len() >= n {
            break;
        }
        let defs = index.store().symbols_exact(&name, None)?;
        let [def] = defs.as_slice() else {
            continue;
        };
        let kind_ok = matches!(
            def.kind,
            K::Function | K::Method | K::Class | K::Struct | K::Enum | K::Trait | K::Interface
        );
        if !kind_ok
            || crate::thoughts::entry::is_test_path(&def.path)
            || crate::query::is_aux_path(&def.path)
        {
            continue;
        }
        out.push(Mined {
            source: sources::IDENTIFIER,
            query: name_words(&name),
            expected: vec![Span {
                path: def.path.clone(),
                start_line: def.start_line,
                end_line: def.end_line,
            }],
            wrong: Vec::new(),
        });
    }
    Ok(out)
}

/// A commit subject as a question: issue references, `--` separators and
/// bracketed tags dropped.
fn subject_query(message: &str) -> Option<String> {
    let subject = message.lines().next()?.trim();
    let lower = subject.to_lowercase();
    let skip = [
        "merge",
        "revert",
        "release",
        "bump",
        "version",
        "changelog",
        "update changelog",
    ];
    if skip.iter().any(|s| lower.starts_with(s)) {
        return None;
    }
    let words: Vec<&str> = subject
        .split_whitespace()
        .filter(|w| {
            let w = w.trim_matches(|c: char| "()[],.:;".contains(c));
            !(w.starts_with('#') || w == "--" || w.is_empty() || w.starts_with("gh-"))
        })
        .collect();
    let plain = words
        .iter()
        .filter(|w| w.chars().any(char::is_alphabetic))
        .count();
    (plain >= 4).then(|| words.join(" "))
}

/// Up to `n` commit subjects (newest first) whose commit changed one to
/// three indexed source files outside tests and examples; each expects
/// those files (any of their chunks).
fn history_queries(index: &RepoIndex, n: usize) -> Result<Vec<Mined>> {
    let indexed: std::collections::HashSet<String> = index.store().paths()?.into_iter().collect();
    let mut out = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for commit in index.store().commits(4 * n.max(1) + 200)? {
        if out.len() >= n {
            break;
        }
        let Some(query) = subject_query(&commit.message) else {
            continue;
        };
        let files: Vec<&String> = commit
            .files
            .iter()
            .filter(|f| {
                indexed.contains(*f)
                    && !crate::thoughts::entry::is_test_path(f)
                    && !crate::query::is_aux_path(f)
            })
            .collect();
        if files.is_empty() || files.len() > 3 || !seen.insert(query.clone()) {
            continue;
        }
        out.push(Mined {
            source: sources::HISTORY,
            query,
            expected: files
                .into_iter()
                .map(|f| Span {
                    path: f.clone(),
                    start_line: 1,
                    end_line: u32::MAX,
                })
                .collect(),
            wrong: Vec::new(),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mined_query_texts() {
        assert_eq!(name_words("parse_config"), "parse config");
        assert_eq!(name_words("getUserName"), "get user name");
        assert_eq!(
            name_words("HTTPServer.serve_forever"),
            "httpserver serve forever"
        );
        assert_eq!(
            subject_query("Fixed #35123 -- Made the admin honour ordering.").as_deref(),
            Some("Fixed Made the admin honour ordering.")
        );
        assert_eq!(subject_query("Merge pull request #12 from x/y"), None);
        assert_eq!(subject_query("Bump serde to 1.0.200"), None);
        assert_eq!(subject_query("fix typo (#99)"), None, "too few words");
    }

    fn version(v: u32) -> Version {
        Version {
            version: v,
            created_at: 0,
            commit: String::new(),
            base: 4,
            weights: [("lexical".to_owned(), v as f64)].into_iter().collect(),
            verdict: Verdict {
                promote: true,
                current: Default::default(),
                candidate: Default::default(),
                reason: String::new(),
                sources: Default::default(),
            },
            train: Default::default(),
            sources: Default::default(),
        }
    }

    #[test]
    fn promote_and_rollback_restore_the_exact_weights() {
        let dir = tempfile::tempdir().unwrap();
        let p = Policies {
            versions: vec![version(1), version(2)],
            ..Policies::default()
        };
        p.save(dir.path()).unwrap();
        let base = Policy::default();
        assert_eq!(Policies::load(dir.path()).unwrap().active(&base), base);
        Policies::promote(dir.path(), 1).unwrap();
        let one = Policies::load(dir.path()).unwrap().active(&base);
        assert_eq!(
            (one.weight(Feature::Lexical), one.repository),
            (1.0, Some(1))
        );
        assert_eq!(one.weight(Feature::Rrf), 0.0);
        Policies::promote(dir.path(), 2).unwrap();
        let back = Policies::rollback(dir.path(), None).unwrap();
        assert_eq!(back.current, Some(1));
        assert_eq!(
            back.active(&base),
            one,
            "rollback restores version 1 exactly"
        );
        // A version refitting policy 4 leaves the transformer policy alone.
        let transformer = Policy::with_transformer();
        assert_eq!(back.active(&transformer), transformer);
        let global = Policies::rollback(dir.path(), None).unwrap();
        assert_eq!(global.active(&base), base);
        let err = Policies::rollback(dir.path(), None).unwrap_err();
        assert!(err.to_string().contains("nothing to roll back"), "{err}");
        let err = Policies::promote(dir.path(), 9).unwrap_err();
        assert!(
            err.to_string().contains("no retrieval policy version 9"),
            "{err}"
        );
        std::fs::write(dir.path().join(FILE), "{").unwrap();
        let err = Policies::load(dir.path()).unwrap_err();
        assert!(err.to_string().contains("policies.json"), "{err}");
    }
}
