//! Errors from the metadata store.

use std::path::PathBuf;

/// Errors from the metadata store.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The schema on disk is newer than this binary.
    #[error("{path}: schema version {found} is newer than {supported} supported by this lore")]
    SchemaTooNew {
        path: PathBuf,
        found: u32,
        supported: u32,
    },
    /// An index of an older schema in a place this process cannot write.
    #[error(
        "{0}: written by an older lore and read-only here; run `lore index` where it can be written"
    )]
    ReadOnlyOld(PathBuf),
    /// The history file is damaged; nothing can rebuild it.
    #[error(
        "{path} is damaged ({source}); move it aside to record questions again (the answers in it cannot be rebuilt)"
    )]
    HistoryDamaged {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    /// There is no index at this path.
    #[error("no index at {0}")]
    Missing(PathBuf),
    /// A SQLite error, with what was being done.
    #[error("sqlite: {context}")]
    Sqlite {
        context: &'static str,
        #[source]
        source: rusqlite::Error,
    },
    /// A file operation on the database failed.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A stored value could not be decoded.
    #[error("corrupt value in {0}")]
    Corrupt(String),
}

/// Result with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

pub(crate) trait Context<T> {
    fn ctx(self, context: &'static str) -> Result<T>;
}

impl<T> Context<T> for rusqlite::Result<T> {
    fn ctx(self, context: &'static str) -> Result<T> {
        self.map_err(|source| Error::Sqlite { context, source })
    }
}

impl From<Error> for lore_core::Error {
    fn from(err: Error) -> lore_core::Error {
        match err {
            Error::SchemaTooNew {
                path,
                found,
                supported,
            } => lore_core::Error::SchemaTooNew {
                path: path.display().to_string(),
                found,
                supported,
            },
            other => lore_core::Error::backend("metadata store", other),
        }
    }
}
