//! Errors from the lexical index.

use std::path::PathBuf;

/// Errors from the lexical index.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// tantivy failed on an index directory.
    #[error("lexical index at {path}: {source}")]
    Tantivy {
        path: PathBuf,
        #[source]
        source: tantivy::TantivyError,
    },
    /// Reading the index failed in a way only damaged files explain.
    #[error("lexical index at {path} is damaged ({what})")]
    Damaged { path: PathBuf, what: String },
    /// A filesystem operation on an index directory failed.
    #[error("lexical index at {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Result with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl From<Error> for lore_core::Error {
    fn from(err: Error) -> lore_core::Error {
        lore_core::Error::backend("lexical index", err)
    }
}
