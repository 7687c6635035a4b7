//! The embedded metadata store: SQLite (bundled, WAL) holding files,
//! symbols, references, imports, chunks, commits and per-file history.
//!
//! Useful for: exact lookups (symbols by name, references by name, a file's
//! outline), change detection, history and everything `lore status` shows.
//! Not useful for: ranked full-text search (that is `lore-search`).
//!
//! **Architecture Invariant:** one write transaction per index run; readers
//! hold a read transaction for their whole life, so they see one committed
//! run, never a mix.

mod cache;
mod error;
mod history;
mod jobs;
mod occurrences;
mod schema;
mod store;

pub use cache::SqliteEmbeddingCache;
pub use error::{Error, Result};
pub use history::SqliteHistory;
pub use jobs::{SqliteJobs, local_offset_min};
pub use schema::SCHEMA_VERSION;
pub use store::{FreshStore, SqliteStore};
