//! Retrieval algorithms, free of IO: fusing ranked lists, scoring
//! candidates with a versioned policy, ranking a reference graph with
//! personalised PageRank, fitting text to a token budget, and the metrics
//! `lore eval` reports, and matching question words to code names.
//!
//! Useful for: everything between "each signal produced a ranked list" and
//! "here are the results, with why". Not useful for: producing the signals
//! (lexical search, vectors, the graph's edges come from `lore-index`).
//!
//! **Architecture Invariant:** no IO and no storage types; inputs are plain
//! ids, scores and edges, so every function here is unit-tested on small
//! hand-checked cases.
#![warn(missing_docs)]

pub mod budget;
pub mod fusion;
pub mod graph;
pub mod metrics;
pub mod text;
