//! Indexing and reading one repository's index.
//!
//! [`index_repo`] walks the repository, parses what changed, writes the
//! metadata store and a new lexical generation, and switches to them
//! atomically. [`RepoIndex`] opens a consistent snapshot for queries.
//!
//! Data layout under `LORE_HOME` (nothing is written inside a repository;
//! [`Layout`] is the one place that names these files, [`DirLock`] their
//! locks):
//! ```text
//! repos/<name>-<hash of root>/
//!     lore.db          metadata store (SQLite, WAL)
//!     lexical/g<N>/    lexical index generation N (tantivy)
//!     write.lock       held by the one running index run
//!     vectors/v<N>.bin learned-model vectors; models/learned-<N>.bin its model
//!     dense/d<N>.bin   transformer vectors (local or remote embedder)
//!     embed.lock       held by the one running embedding run
//! embeddings.db        embedding cache shared by all repositories
//! ```
//!
//! **Architecture Invariant:** the metadata store's `generation` names the
//! lexical generation matching it. A run builds generation N+1 beside N,
//! then commits the store with N+1 in one transaction: a kill at any moment
//! leaves either N or N+1, complete. Generations older than the previous
//! one are removed after the switch; stray newer ones are removed at the
//! next run's start.

pub mod adapt;
mod classify;
pub mod conventions;
pub mod coverage;
mod dense;
pub mod diagnose;
pub mod digest;
mod embed;
mod error;
mod eval;
pub mod findings;
mod home;
pub mod impact;
mod layout;
pub mod learning;
pub mod lint;
mod map;
mod pipeline;
pub mod policy;
mod purge;
mod query;
pub mod redact;
pub mod registry;
pub mod report;
pub mod request;
pub mod resolve;
pub mod review;
pub mod risk;
pub mod sandbox;
mod shared;
pub mod thought_bandit;
pub mod thoughts;
pub mod utility;
pub mod verify;
mod walk;
pub mod worker;

/// The version of everything derived from parsing that a reader depends on
/// — tag queries, chunking, the tokenizer, the lexical schema. Bump it when
/// one changes: an index of an older format is rebuilt by the next run
/// (every file parsed again, a lexical generation from scratch) and refused
/// by readers until then, never misread. The SQLite schema has its own
/// migrations (`lore-store`).
///
/// History: 1 — first recorded; 2 — Rust items inside item macros
/// (`cfg_x! { ... }`) are parsed.
pub const INDEX_FORMAT: u32 = 2;

/// Metadata keys of the index format and the lore that last wrote the index.
pub(crate) mod format_keys {
    /// [`crate::INDEX_FORMAT`] of the index on disk (absent: format 1).
    pub const FORMAT: &str = "index.format";
    /// Version of the lore that last wrote it.
    pub const WRITTEN_BY: &str = "index.written_by";
}

/// The format of an index whose metadata says `value` (absent: 1, the
/// format of every index written before it was recorded).
pub(crate) fn stored_format(value: Option<&str>) -> u32 {
    value.and_then(|v| v.parse().ok()).unwrap_or(1)
}

pub use dense::{DenseOptions, DenseReport, embed_dense, set_embedder};
pub use embed::{EmbedConfig, EmbedReport, Manifest, maintain_vectors};
pub use error::{Error, Result};
pub use eval::{
    DocQueries, EvalQuery, EvalReport, Latency, QueryResult, evaluate, evaluate_from_docs,
    first_sentence, load_queries, queries_from_docs, queries_from_history, write_features,
};
pub use home::{Home, RepoEntry};
pub use layout::{DirLock, Layout, LockKind};
pub use map::{MapFile, MapOptions, MapSymbol, RepoMap, count_tokens, render};
pub use pipeline::{IndexConfig, IndexReport, Progress, discard_derived, index_repo, rebuild};
pub use purge::{PurgeReport, allow, purge};
pub use query::{
    Candidates, DataFile, DenseStatus, EmbedStatus, FileStatus, RefHit, RepoIndex, RepoStatus,
    SearchHit, SearchMode, SearchOptions, SemanticStatus, SymbolHit,
};
