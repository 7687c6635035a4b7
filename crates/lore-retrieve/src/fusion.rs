//! Fusing ranked lists and scoring candidates with a versioned policy.
//!
//! Each signal (lexical BM25, vector similarity, symbol-name match, path
//! match, graph proximity) yields its own ranked list. Reciprocal rank
//! fusion combines the lists without needing comparable scores; then a
//! linear ranker over named features — RRF itself plus each signal's
//! normalised score — gives the final order. The weights live in a
//! [`Policy`], a versioned record, so that a learned reranker can replace
//! them later and every answer can say which policy ranked it.

use std::collections::HashMap;
use std::hash::Hash;

use serde::{Deserialize, Serialize};

/// A retrieval signal, and the name of its feature.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Feature {
    /// Reciprocal rank fusion of every signal's list.
    Rrf,
    /// BM25 over chunks, divided by the best BM25 score of the query.
    Lexical,
    /// Cosine similarity of query and chunk vectors, clamped to 0..1.
    Vector,
    /// Share of the parts of the chunk's symbol name that the query's words
    /// match (see [`crate::text::name_match`]).
    Name,
    /// Share of the query's words that match a part of the symbol's name.
    NameRecall,
    /// Share of the query's words that match a word of the chunk's path.
    Path,
    /// Personalised PageRank from the query's best hits, divided by the best.
    Graph,
    /// Cosine similarity of the query and the chunk's symbol name, clamped to 0..1.
    NameVector,
    /// Cosine similarity of query and chunk vectors of the configured
    /// transformer embedder (local or remote), clamped to 0..1.
    Dense,
    /// Prior by what the chunk is (a function or method is the usual
    /// answer), times the chunk's lexical or vector evidence, whichever is
    /// larger.
    Kind,
    /// How recently the chunk's file changed (its rank among the files the
    /// history knows, 1 the newest, 0 unknown), times the evidence as for
    /// [`Feature::Kind`]. Weighed by the repository's own policy only.
    Recency,
    /// The chunk is test code (by path or symbol), times the evidence.
    /// Weighed by the repository's own policy only (usually below 0).
    Test,
    /// The chunk's file is an example, document, benchmark, script or
    /// vendored code, times the evidence. Repository policy only.
    Aux,
    /// What people's feedback said of the chunk's place (answers citing it
    /// rewarded, corrections pointing at or away from it), −1..1, times the
    /// evidence. Repository policy only.
    Utility,
    /// How well the chunk's code words answer the query's prose words by
    /// the repository's own translation table (`lore_learn::translate`,
    /// learned from its documented functions), times the evidence.
    /// Repository policy only.
    Translation,
}

impl Feature {
    /// Every feature, in explain order.
    pub const ALL: [Feature; 15] = [
        Feature::Rrf,
        Feature::Lexical,
        Feature::Vector,
        Feature::Name,
        Feature::NameRecall,
        Feature::Path,
        Feature::Graph,
        Feature::NameVector,
        Feature::Dense,
        Feature::Kind,
        Feature::Recency,
        Feature::Test,
        Feature::Aux,
        Feature::Utility,
        Feature::Translation,
    ];

    /// Features only a repository's own policy weighs (the place priors
    /// and its translation table): computed only when a policy weighs
    /// them or a learner asks.
    pub const PRIORS: [Feature; 5] = [
        Feature::Recency,
        Feature::Test,
        Feature::Aux,
        Feature::Utility,
        Feature::Translation,
    ];

    /// Stable lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            Feature::Rrf => "rrf",
            Feature::Lexical => "lexical",
            Feature::Vector => "vector",
            Feature::Name => "name",
            Feature::NameRecall => "name_recall",
            Feature::Path => "path",
            Feature::Graph => "graph",
            Feature::NameVector => "name_vector",
            Feature::Dense => "dense",
            Feature::Kind => "kind",
            Feature::Recency => "recency",
            Feature::Test => "test",
            Feature::Aux => "aux",
            Feature::Utility => "utility",
            Feature::Translation => "translation",
        }
    }
}

/// How results are ranked: a versioned, serialisable record.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Policy {
    /// Increases whenever any field changes meaning or value.
    pub version: u32,
    /// The RRF constant `k` in `1 / (k + rank)`.
    pub rrf_k: f64,
    /// Candidates taken from each signal's list before fusion.
    pub candidates_per_signal: usize,
    /// At most this many chunks of one file in the results.
    pub max_per_file: usize,
    /// Best lexical hits that seed personalised PageRank.
    pub graph_seeds: usize,
    /// Feature weights; a missing feature weighs 0.
    pub weights: HashMap<Feature, f64>,
    /// Query expansion of the lexical search in hybrid mode.
    pub expansion: Expansion,
    /// The repository's own retrieval policy version whose weights these
    /// are (trained on the repository; `None`: the global policy).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repository: Option<u32>,
}

/// Query expansion: each query word adds its nearest words in the learned
/// model's vocabulary (this repository's own words and identifier parts)
/// to the lexical query, down-weighted.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Expansion {
    /// Nearest words taken per query word (0: no expansion).
    pub neighbours: usize,
    /// Only words at least this similar (cosine of word vectors).
    pub min_cosine: f32,
    /// An added word's weight relative to a query word, times its cosine.
    pub weight: f32,
}

impl Default for Policy {
    /// Policy version 4: the weights of version 2 (fitted by coordinate
    /// ascent on `lore eval --from-docs` over two corpora and checked on
    /// two others) plus query expansion, tuned on the same corpora
    /// (NOTES.md).
    fn default() -> Policy {
        let weights = [
            (Feature::Rrf, 10.0),
            (Feature::Lexical, 1.0),
            (Feature::Vector, 2.0),
            (Feature::Name, 1.5),
            (Feature::NameRecall, 1.5),
            (Feature::Path, 2.0),
            (Feature::Graph, 0.15),
            (Feature::NameVector, 3.0),
            (Feature::Kind, 3.0),
        ];
        Policy {
            version: 4,
            rrf_k: 60.0,
            candidates_per_signal: 100,
            max_per_file: 3,
            graph_seeds: 5,
            weights: weights.into_iter().collect(),
            expansion: Expansion {
                neighbours: 5,
                min_cosine: 0.4,
                weight: 0.3,
            },
            repository: None,
        }
    }
}

impl Policy {
    /// Policy version 5, in force when transformer vectors (a local or
    /// remote embedder) are available: version 4 with the `dense` feature
    /// (version 3 was the same on top of version 2),
    /// refitted by coordinate ascent (rrf, lexical and kind held fixed so
    /// identifier queries keep their lexical footing) on two corpora with
    /// all-MiniLM-L6-v2 and checked on a third (NOTES.md). Without transformer vectors the
    /// default (version 4) ranks.
    pub fn with_transformer() -> Policy {
        let mut policy = Policy {
            version: 5,
            ..Policy::default()
        };
        for (feature, weight) in [
            (Feature::NameRecall, 1.0),
            (Feature::Graph, 0.75),
            (Feature::Dense, 10.0),
        ] {
            policy.weights.insert(feature, weight);
        }
        policy
    }

    /// The weight of `feature` (0 if absent).
    pub fn weight(&self, feature: Feature) -> f64 {
        self.weights.get(&feature).copied().unwrap_or(0.0)
    }

    /// Every feature's weight, for [`Features::total`].
    pub fn weight_table(&self) -> WeightTable {
        WeightTable(Feature::ALL.map(|f| self.weight(f)))
    }
}

/// Reciprocal rank fusion: each id scores `Σ 1 / (k + rank)` over the lists
/// it appears in (rank 1-based).
pub fn rrf<Id: Copy + Eq + Hash>(lists: &[&[Id]], k: f64) -> HashMap<Id, f64> {
    let mut fused: HashMap<Id, f64> = HashMap::new();
    for list in lists {
        for (i, &id) in list.iter().enumerate() {
            *fused.entry(id).or_default() += 1.0 / (k + (i + 1) as f64);
        }
    }
    fused
}

/// One feature's part in a candidate's score.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Contribution {
    /// The feature.
    pub feature: Feature,
    /// Its value for the candidate.
    pub value: f64,
    /// Its weight in the policy.
    pub weight: f64,
    /// `value * weight`.
    pub contribution: f64,
}

/// Feature values of one candidate: one slot per [`Feature`], and which
/// were set (features a search did not compute stay unset, not 0).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Features {
    values: [f64; Feature::ALL.len()],
    set: u16,
}

impl Features {
    /// Sets a feature's value.
    pub fn set(&mut self, feature: Feature, value: f64) {
        self.values[feature as usize] = value;
        self.set |= 1 << feature as usize;
    }

    /// A feature's value (0 if unset).
    pub fn get(&self, feature: Feature) -> f64 {
        self.values[feature as usize]
    }

    /// The features that were set, with their values, in explain order.
    pub fn iter(&self) -> impl Iterator<Item = (Feature, f64)> + '_ {
        Feature::ALL
            .into_iter()
            .filter(|&f| self.set & (1 << f as usize) != 0)
            .map(|f| (f, self.get(f)))
    }

    /// The score under the weights of [`Policy::weight_table`]: what
    /// [`score`](Self::score) adds up, without the parts.
    pub fn total(&self, weights: &WeightTable) -> f64 {
        self.values.iter().zip(&weights.0).map(|(v, w)| v * w).sum()
    }

    /// The score under `policy` and each feature's part in it (a place
    /// prior only when the policy weighs it).
    pub fn score(&self, policy: &Policy) -> (f64, Vec<Contribution>) {
        let mut total = 0.0;
        let mut parts = Vec::with_capacity(Feature::ALL.len());
        for feature in Feature::ALL {
            let value = self.get(feature);
            let weight = policy.weight(feature);
            if weight == 0.0 && Feature::PRIORS.contains(&feature) {
                continue;
            }
            let contribution = value * weight;
            total += contribution;
            parts.push(Contribution {
                feature,
                value,
                weight,
                contribution,
            });
        }
        (total, parts)
    }
}

/// A policy's weights by feature, for scoring many candidates.
#[derive(Clone, Copy, Debug)]
pub struct WeightTable([f64; Feature::ALL.len()]);

/// Sorts `(id, score)` best first (ties by id for determinism) and keeps at
/// most `max_per_group` per group and `limit` in all.
pub fn top_per_group<Id: Copy + Ord, G: Eq + Hash>(
    mut scored: Vec<(Id, f64)>,
    group: impl Fn(Id) -> G,
    max_per_group: usize,
    limit: usize,
) -> Vec<(Id, f64)> {
    scored.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    let mut per_group: HashMap<G, usize> = HashMap::new();
    let mut out = Vec::with_capacity(limit);
    for (id, score) in scored {
        let seen = per_group.entry(group(id)).or_default();
        if *seen >= max_per_group {
            continue;
        }
        *seen += 1;
        out.push((id, score));
        if out.len() == limit {
            break;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn totals_add_up_like_scores() {
        for (i, f) in Feature::ALL.into_iter().enumerate() {
            assert_eq!(f as usize, i, "{f:?} is out of explain order");
        }
        let policy = Policy::with_transformer();
        let mut features = Features::default();
        features.set(Feature::Rrf, 0.03);
        features.set(Feature::Dense, 0.7);
        features.set(Feature::Kind, 0.0);
        assert_eq!(
            features.total(&policy.weight_table()),
            features.score(&policy).0
        );
        let set: Vec<Feature> = features.iter().map(|(f, _)| f).collect();
        assert_eq!(set, [Feature::Rrf, Feature::Dense, Feature::Kind]);
        assert_eq!(features.get(Feature::Graph), 0.0);
    }

    #[test]
    fn rrf_by_hand() {
        let lexical = [1u32, 2, 3];
        let vector = [3u32, 4];
        let fused = rrf(&[&lexical, &vector], 60.0);
        let close = |a: f64, b: f64| (a - b).abs() < 1e-12;
        assert!(close(fused[&1], 1.0 / 61.0));
        assert!(close(fused[&3], 1.0 / 63.0 + 1.0 / 61.0));
        assert!(close(fused[&4], 1.0 / 62.0));
        // In both lists beats first in one.
        assert!(fused[&3] > fused[&1]);
    }

    #[test]
    fn score_is_the_sum_of_explained_parts() {
        let mut features = Features::default();
        features.set(Feature::Rrf, 0.03);
        features.set(Feature::Name, 1.0);
        let policy = Policy::default();
        let (score, parts) = features.score(&policy);
        let sum: f64 = parts.iter().map(|p| p.contribution).sum();
        assert!((score - sum).abs() < 1e-12);
        let name = parts.iter().find(|p| p.feature == Feature::Name).unwrap();
        assert_eq!(name.value, 1.0);
        assert_eq!(name.contribution, policy.weight(Feature::Name));
        assert_eq!(parts.len(), Feature::ALL.len() - Feature::PRIORS.len());
    }

    #[test]
    fn policy_round_trips_through_json() {
        let policy = Policy::default();
        let json = serde_json::to_string(&policy).unwrap();
        assert!(json.contains("\"name_vector\":3.0"), "{json}");
        let back: Policy = serde_json::from_str(&json).unwrap();
        assert_eq!(back, policy);
    }

    #[test]
    fn top_per_group_caps_each_file() {
        // ids 1..=5; group = id % 2; scores descending with id.
        let scored: Vec<(u32, f64)> = (1..=5).map(|i| (i, 10.0 - i as f64)).collect();
        let top = top_per_group(scored, |id| id % 2, 2, 10);
        assert_eq!(top.iter().map(|t| t.0).collect::<Vec<_>>(), [1, 2, 3, 4]);
        let scored: Vec<(u32, f64)> = vec![(7, 1.0), (3, 1.0), (5, 2.0)];
        let top = top_per_group(scored, |_| 0, 10, 2);
        assert_eq!(top.iter().map(|t| t.0).collect::<Vec<_>>(), [5, 3]);
    }
}
