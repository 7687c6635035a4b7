//! Errors of asking: providers, storage, the index underneath.

use std::path::PathBuf;

/// Everything that can go wrong while answering.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A provider answered with an error or could not be reached.
    #[error("{url}: {what}")]
    Provider {
        /// The endpoint.
        url: String,
        /// What went wrong, with the server's message.
        what: String,
    },
    /// A setting, or the config file, is wrong.
    #[error("{name}: {what}")]
    Config {
        /// The setting's key or the file's path.
        name: String,
        /// What to fix.
        what: String,
    },
    /// Remote providers are switched off and this one is not on loopback.
    #[error(
        "{url} is not on this machine and remote providers are refused (--no-remote or privacy.no_remote)"
    )]
    RemoteRefused {
        /// The endpoint.
        url: String,
    },
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The history of answers cannot be opened.
    #[error("cannot open the history at {path}: {what}")]
    History {
        /// The history file.
        path: PathBuf,
        /// Why.
        what: String,
    },
    /// A conversation id that the history does not have.
    #[error("no conversation {0} in this repository's history")]
    NoConversation(i64),
    /// An answer id that the history does not have.
    #[error("no answer {0} in this repository's history (`lore history` lists them)")]
    NoAnswer(i64),
    /// A value given is wrong (the message names it).
    #[error("{0}")]
    Invalid(String),
    /// The index underneath failed.
    #[error(transparent)]
    Index(#[from] lore_index::Error),
}

/// Result with [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// Whether the provider could not be used at all (so an extractive
    /// answer should stand in), as opposed to a bug or a bad setting.
    pub fn is_unreachable(&self) -> bool {
        matches!(self, Error::Provider { .. } | Error::RemoteRefused { .. })
    }
}
