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

use std::collections::BTreeMap;
use std::path::Path;

use lore_learn::rank::{self, Candidate, Query, Verdict};
use lore_retrieve::fusion::{Feature, Policy};
use lore_retrieve::metrics::{Span, judge};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::eval::queries_from_docs;
use crate::home::Home;
use crate::query::{RepoIndex, SearchOptions};
use crate::{IndexConfig, index_repo};

const FILE: &str = "policies.json";

/// One trained version.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Version {
    /// 1, 2, ...
    pub version: u32,
    /// When trained (ms).
    pub created_at: i64,
    /// The commit its queries came from.
    pub commit: String,
    /// Feature weights.
    pub weights: BTreeMap<String, f64>,
    /// The gate's verdict against the policy in force then.
    pub verdict: Verdict,
    /// Training queries, and the metrics on them before and after.
    pub train: rank::Metrics,
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
        let path = data_dir.join(FILE);
        let tmp = path.with_extension("json.tmp");
        let bytes = serde_json::to_vec_pretty(self).expect("policies serialize");
        std::fs::write(&tmp, bytes).map_err(|source| Error::Io {
            path: tmp.clone(),
            source,
        })?;
        std::fs::rename(&tmp, &path).map_err(|source| Error::Io { path, source })
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

    /// `base` with the weights of the version in force, if any.
    pub fn active(&self, base: &Policy) -> Policy {
        match self.current.and_then(|c| self.get(c).ok()) {
            Some(v) => with_weights(base, &v.weights, Some(v.version)),
            None => base.clone(),
        }
    }

    /// Puts `version` in force.
    pub fn promote(data_dir: &Path, version: u32) -> Result<Policies> {
        let mut p = Policies::load(data_dir)?;
        p.get(version)?;
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

/// Trains a retrieval policy for the repository at `root` on up to `n`
/// mined queries; promotes it if it beats the policy in force on the
/// held-out queries by `margin` (Recall@10) without a lower MRR@10.
pub fn train(home: &Home, root: &Path, n: usize, margin: f64) -> Result<Trained> {
    let index = RepoIndex::open(home, root)?;
    let data_dir = index.data_dir().to_owned();
    let commit = index.indexed_commit().unwrap_or("").to_owned();
    let docs = queries_from_docs(&index, n)?;
    if docs.queries.len() < 10 {
        return Err(Error::Invalid(format!(
            "{}: {} documented functions: too few queries to train a retrieval policy (10 or more)",
            root.display(),
            docs.queries.len()
        )));
    }
    let scratch = tempfile::Builder::new()
        .prefix("policy-")
        .tempdir_in(home.path())
        .map_err(|source| Error::Io {
            path: home.path().to_owned(),
            source,
        })?;
    let scratch_home = Home::at(scratch.path());
    let config = IndexConfig {
        masks: docs.masks.clone(),
        ..IndexConfig::default()
    };
    index_repo(&scratch_home, index.root(), &config, &())?;
    let masked = RepoIndex::open(&scratch_home, index.root())?;
    let options = SearchOptions::default();
    let (mut train, mut held_out) = (Vec::new(), Vec::new());
    for q in &docs.queries {
        let found = masked.candidates(&q.query, &options)?;
        let candidates: Vec<Candidate> = found
            .chunks
            .iter()
            .map(|(id, c)| {
                let span = Span {
                    path: c.path.to_string(),
                    start_line: c.start_line,
                    end_line: c.end_line,
                };
                let features = found.features.get(id).copied().unwrap_or_default();
                Candidate {
                    features: Feature::ALL.iter().map(|f| features.get(*f)).collect(),
                    relevant: judge(std::slice::from_ref(&span), &q.expected)
                        .span_rank
                        .is_some(),
                }
            })
            .collect();
        let key = blake3::hash(q.query.as_bytes());
        let query = Query { candidates };
        if key.as_bytes()[0] % 10 < 7 {
            train.push(query);
        } else {
            held_out.push(query);
        }
    }
    let mut policies = Policies::load(&data_dir)?;
    let current = policies.active(&Policy::default());
    let start = weight_vector(&current);
    // RRF and BM25 stay as they are: identifier queries, which doc
    // sentences do not resemble, keep their lexical footing.
    let fixed: Vec<usize> = Feature::ALL
        .iter()
        .enumerate()
        .filter(|(_, f)| matches!(f, Feature::Rrf | Feature::Lexical))
        .map(|(i, _)| i)
        .collect();
    let fitted = rank::fit(&start, &train, 12, &fixed);
    let verdict = rank::gate(&start, &fitted, &held_out, margin);
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
        weights: Feature::ALL
            .iter()
            .zip(&fitted)
            .map(|(f, w)| (f.name().to_owned(), (w * 1e4).round() / 1e4))
            .collect(),
        train: rank::evaluate(&fitted, &train),
        verdict,
    };
    let promoted = record.verdict.promote;
    policies.versions.push(record.clone());
    if promoted {
        policies.previous.push(policies.current);
        policies.current = Some(version);
    }
    policies.save(&data_dir)?;
    Ok(Trained {
        version,
        promoted,
        record,
        queries: (train.len(), held_out.len()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn version(v: u32) -> Version {
        Version {
            version: v,
            created_at: 0,
            commit: String::new(),
            weights: [("lexical".to_owned(), v as f64)].into_iter().collect(),
            verdict: Verdict {
                promote: true,
                current: Default::default(),
                candidate: Default::default(),
                reason: String::new(),
            },
            train: Default::default(),
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
