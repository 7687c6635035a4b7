//! Errors from embedders.

use std::path::PathBuf;

/// Errors from embedders and their model files.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Reading or writing a model file failed.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A model file is not what it should be.
    #[error("{path}: corrupt model file ({what})")]
    Corrupt { path: PathBuf, what: String },
    /// A model directory or one of its files cannot be used.
    #[error("{path}: {what}")]
    Model { path: PathBuf, what: String },
    /// An embedder spec cannot be parsed.
    #[error("embedder {spec:?}: {what}")]
    Spec { spec: String, what: String },
    /// A remote embedding endpoint failed.
    #[error("{url}: {what}")]
    Remote { url: String, what: String },
}

/// Result with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl From<Error> for lore_core::Error {
    fn from(err: Error) -> lore_core::Error {
        lore_core::Error::backend("embedder", err)
    }
}
