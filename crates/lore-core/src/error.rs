//! The error type shared by the storage traits.

/// Errors crossing a storage trait boundary.
///
/// Backends keep their own rich error enums and convert into this one at the
/// trait boundary, so the indexer never names a concrete backend.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The index on disk was written by a newer version of Lore.
    #[error(
        "index at {path} has schema version {found}, newer than {supported} supported by this lore; upgrade lore or run `lore forget`"
    )]
    SchemaTooNew {
        /// The database or index directory at fault.
        path: String,
        /// Version found on disk.
        found: u32,
        /// Newest version this binary understands.
        supported: u32,
    },
    /// A backend failed; the message names the backend and what it was doing.
    #[error("{context}")]
    Backend {
        /// What was being done, e.g. "sqlite: insert symbols".
        context: String,
        /// The underlying error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// Invalid input from the caller (a bad glob, an unknown kind...).
    #[error("{0}")]
    Invalid(String),
}

impl Error {
    /// Wraps a backend error with a short description of the failed operation.
    pub fn backend(
        context: impl Into<String>,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Error {
        Error::Backend {
            context: context.into(),
            source: source.into(),
        }
    }
}

/// Result with [`Error`] as the default error.
pub type Result<T, E = Error> = std::result::Result<T, E>;
