//! The semantic answer cache of a repository.
//!
//! A question that means the same as an earlier one gets the earlier
//! answer — but only while nothing changed that could change it. "Means
//! the same": the same code names (identifiers, exactly) and either the
//! same content words or question vectors (the static table's, which
//! knows general English) at least [`SIMILARITY`] alike. "Nothing
//! changed": every file the answer cited or considered has the hash it
//! had, and every name the question mentions is defined and used in the
//! same files as often as before (a new call site makes a cached "what
//! calls X" stale). A stale entry is dropped when found. Only standalone
//! questions with cited answers are kept: a follow-up depends on its
//! conversation, an answer without evidence on what was missing.
//!
//! Entries live in the repository's history (`answer_cache`), keyed by
//! what else must match: the route (the model, or extractive), the
//! retrieval policy and the context policy.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, Ordering};

use lore_core::embed::dot;
use lore_core::history::{CacheEntry, HistoryStore};
use lore_embed::StaticTable;
use lore_index::RepoIndex;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::question::Question;

fn history(e: lore_core::Error) -> Error {
    Error::Index(lore_index::Error::from(e))
}

/// Question vectors at least this alike mean the same (with the same
/// identifiers). Measured on `data/question-pairs.jsonl` (NOTES.md): the
/// lowest value with no pair of different meaning above it.
pub const SIMILARITY: f32 = 0.92;

static HITS: AtomicU64 = AtomicU64::new(0);
static MISSES: AtomicU64 = AtomicU64::new(0);
static STALE: AtomicU64 = AtomicU64::new(0);

/// Lookups in this process: (hits, misses, stale entries dropped).
pub fn stats() -> (u64, u64, u64) {
    (
        HITS.load(Ordering::Relaxed),
        MISSES.load(Ordering::Relaxed),
        STALE.load(Ordering::Relaxed),
    )
}

/// A question as the cache compares it.
#[derive(Clone, Debug)]
pub struct Probe {
    key: String,
    identifiers: String,
    words: String,
    vector: Vec<f32>,
}

/// Where a name is defined and used: (path, definitions, uses) per file.
type Sites = Vec<(String, u32, u32)>;

/// What an answer depends on.
#[derive(Debug, Default, PartialEq, Serialize, Deserialize)]
struct Depends {
    /// Cited and candidate files with their content hash ("" if absent).
    files: Vec<(String, String)>,
    /// Each identifier with where it is defined and used.
    names: Vec<(String, Sites)>,
}

/// The content words of a question: lower-case, stemmed, stop words
/// dropped, sorted, unique.
pub fn words(text: &str) -> String {
    let set: BTreeSet<String> = lore_retrieve::text::query_terms(text)
        .iter()
        .map(|w| lore_retrieve::text::stem(w).into_owned())
        .collect();
    set.into_iter().collect::<Vec<_>>().join(" ")
}

/// The question's vector: its words in the static table, stop words out.
pub fn vector(text: &str) -> Vec<f32> {
    StaticTable::shipped().embed_with(text, |word, n| {
        if lore_retrieve::text::is_stop_word(word) {
            0.0
        } else {
            1.0 + (n as f32).ln()
        }
    })
}

/// Whether two questions (with the same identifiers) mean the same.
pub fn same_meaning(words_a: &str, vector_a: &[f32], words_b: &str, vector_b: &[f32]) -> bool {
    words_a == words_b || dot(vector_a, vector_b) >= SIMILARITY
}

impl Probe {
    /// The probe of `question` under `key`; `None` for a follow-up (a
    /// question that reads as one, after an earlier exchange: "this
    /// command" in a first question means no earlier answer).
    pub fn new(question: &Question, key: String, after_exchange: bool) -> Option<Probe> {
        if question.follow_up && after_exchange {
            return None;
        }
        let mut identifiers = question.identifiers.clone();
        identifiers.sort();
        identifiers.dedup();
        Some(Probe {
            key,
            identifiers: identifiers.join(" "),
            words: words(&question.text),
            vector: vector(&question.text),
        })
    }

    /// The newest entry this question may reuse; stale entries met on the
    /// way are dropped. Counts a hit or a miss.
    pub fn lookup(
        &self,
        history: &mut dyn HistoryStore,
        index: &RepoIndex,
    ) -> Result<Option<CacheEntry>> {
        let entries = history
            .cache_entries(&self.key, &self.identifiers)
            .map_err(self::history)?;
        for entry in entries {
            if !same_meaning(&self.words, &self.vector, &entry.words, &entry.vector) {
                continue;
            }
            let holds = match serde_json::from_str::<Depends>(&entry.depends) {
                Ok(then) => still_holds(index, &then)?,
                Err(_) => false,
            };
            if holds {
                HITS.fetch_add(1, Ordering::Relaxed);
                return Ok(Some(entry));
            }
            STALE.fetch_add(1, Ordering::Relaxed);
            history.drop_cache(entry.id).map_err(self::history)?;
        }
        MISSES.fetch_add(1, Ordering::Relaxed);
        Ok(None)
    }

    /// Keeps `answer` (stored as `answer_id`) for reuse, with what it
    /// depends on now: `files` (cited and candidate paths) and the
    /// question's identifiers.
    pub fn store(
        &self,
        history: &mut dyn HistoryStore,
        index: &RepoIndex,
        answer_id: i64,
        time: i64,
        files: &[&str],
    ) -> Result<()> {
        let depends = depends(index, files, &self.identifiers)?;
        history
            .put_cache(&CacheEntry {
                id: 0,
                answer: answer_id,
                time,
                key: self.key.clone(),
                identifiers: self.identifiers.clone(),
                words: self.words.clone(),
                vector: self.vector.clone(),
                depends: serde_json::to_string(&depends).unwrap_or_default(),
            })
            .map_err(self::history)?;
        Ok(())
    }
}

fn depends(index: &RepoIndex, files: &[&str], identifiers: &str) -> lore_index::Result<Depends> {
    let paths: BTreeSet<&str> = files.iter().copied().collect();
    let mut out = Depends::default();
    for path in paths {
        out.files
            .push((path.to_owned(), index.file_hash(path)?.unwrap_or_default()));
    }
    for name in identifiers.split_whitespace() {
        out.names.push((name.to_owned(), index.name_sites(name)?));
    }
    Ok(out)
}

fn still_holds(index: &RepoIndex, then: &Depends) -> lore_index::Result<bool> {
    for (path, hash) in &then.files {
        if index.file_hash(path)?.unwrap_or_default() != *hash {
            return Ok(false);
        }
    }
    for (name, sites) in &then.names {
        if index.name_sites(name)? != *sites {
            return Ok(false);
        }
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The labelled question pairs: same meaning or not, same identifiers
    /// in most (what the cache compares), written before the threshold
    /// was chosen.
    fn pairs() -> Vec<(String, String, bool)> {
        include_str!("../data/question-pairs.jsonl")
            .lines()
            .map(|line| {
                let v: serde_json::Value = serde_json::from_str(line).unwrap();
                (
                    v["a"].as_str().unwrap().to_owned(),
                    v["b"].as_str().unwrap().to_owned(),
                    v["same"].as_bool().unwrap(),
                )
            })
            .collect()
    }

    /// Precision and recall of "same meaning" on the labelled pairs (a
    /// pair whose identifiers differ is never the same to the cache),
    /// printed with `--nocapture`.
    #[test]
    #[allow(clippy::print_stdout)] // the numbers are the point (--nocapture)
    fn the_threshold_reuses_no_answer_to_a_different_question() {
        let pairs = pairs();
        assert!(pairs.len() >= 100);
        let judged: Vec<(bool, bool, f32)> = pairs
            .iter()
            .map(|(a, b, same)| {
                let ids = |t: &str| {
                    let mut v = Question::parse(t).identifiers;
                    v.sort();
                    v
                };
                let cos = dot(&vector(a), &vector(b));
                let said =
                    ids(a) == ids(b) && same_meaning(&words(a), &vector(a), &words(b), &vector(b));
                (*same, said, cos)
            })
            .collect();
        for t in [0.80f32, 0.85, 0.88, 0.90, 0.92, 0.93, 0.95] {
            let tp = judged.iter().filter(|(s, _, c)| *s && *c >= t).count();
            let fp = judged.iter().filter(|(s, _, c)| !*s && *c >= t).count();
            println!("cosine ≥ {t}: {tp} same pairs reused, {fp} different pairs reused");
        }
        let tp = judged.iter().filter(|(s, said, _)| *s && *said).count();
        let fp = judged.iter().filter(|(s, said, _)| !*s && *said).count();
        let same = judged.iter().filter(|(s, _, _)| *s).count();
        println!(
            "at {SIMILARITY} with the words rule: recall {:.3} ({tp}/{same}), {fp} wrong reuses",
            tp as f64 / same as f64
        );
        assert_eq!(fp, 0, "a different question would get a cached answer");
        assert!(tp as f64 / same as f64 >= 0.35, "recall {tp}/{same}");
    }

    #[test]
    fn rephrasings_mean_the_same_and_other_questions_do_not() {
        let same = |a: &str, b: &str| same_meaning(&words(a), &vector(a), &words(b), &vector(b));
        assert!(same("How are retries handled?", "how are retries handled"));
        assert!(same(
            "how are the retries handled",
            "How are retries handled?"
        ));
        assert!(!same(
            "how are retries handled",
            "how is the cache invalidated"
        ));
        assert!(!same("what calls parse", "where is parse defined"));
    }
}
