//! Errors from indexing and querying.

use std::path::PathBuf;

/// Errors that stop an index run or a query. Problems with single files
/// never do: they are reported in [`crate::IndexReport`] instead.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The repository path does not exist.
    #[error("{0}: no such directory")]
    RootMissing(PathBuf),
    /// The data directory's file system has too little room for the run.
    #[error(
        "not enough free space in {dir} for this run: about {need} MB needed, {have} MB free; \
         free some space and run again (nothing was changed)"
    )]
    NoSpace {
        /// The data directory.
        dir: PathBuf,
        /// Estimated need, MB.
        need: u64,
        /// Available, MB.
        have: u64,
    },
    /// Too few mined queries find their answer to train a retrieval policy.
    #[error("{0}")]
    TooFewQueries(String),
    /// The repository path is not a directory.
    #[error("{0}: not a directory")]
    NotADirectory(PathBuf),
    /// The repository has never been indexed.
    #[error("{0} is not indexed yet; run `lore index` first")]
    NotIndexed(PathBuf),
    /// No repository has this id (a data directory name under LORE_HOME).
    #[error("no repository {0:?}: `lore repos` (or GET /repos) lists them")]
    UnknownRepo(String),
    /// The file is not in the index.
    #[error("{0}: not in the index")]
    UnknownFile(String),
    /// The index was written in a format this lore does not read: an older
    /// one is rebuilt by the next `lore index`; a newer one needs a newer lore.
    #[error("{}", index_format_message(.root, *.found))]
    IndexFormat {
        /// Repository root.
        root: PathBuf,
        /// The format on disk.
        found: u32,
    },
    /// A bad argument, e.g. an invalid glob.
    #[error("{0}")]
    Invalid(String),
    /// A storage backend failed.
    #[error(transparent)]
    Store(#[from] lore_core::Error),
    /// Filesystem trouble with Lore's own data directory.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Reading git history failed.
    #[error(transparent)]
    Git(#[from] lore_git::Error),
}

impl From<lore_store::Error> for Error {
    fn from(err: lore_store::Error) -> Error {
        Error::Store(err.into())
    }
}

impl From<lore_search::Error> for Error {
    fn from(err: lore_search::Error) -> Error {
        Error::Store(err.into())
    }
}

impl From<lore_embed::Error> for Error {
    fn from(err: lore_embed::Error) -> Error {
        Error::Store(err.into())
    }
}

impl From<lore_vector::Error> for Error {
    fn from(err: lore_vector::Error) -> Error {
        Error::Store(err.into())
    }
}

/// Result with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Error {
    let path = path.into();
    move |source| Error::Io { path, source }
}

fn index_format_message(root: &std::path::Path, found: u32) -> String {
    let current = crate::INDEX_FORMAT;
    if found < current {
        format!(
            "{}: the index was written by an older lore (index format {found}; this lore uses \
             {current}); run `lore index` to rebuild it",
            root.display()
        )
    } else {
        format!(
            "{}: the index was written by a newer lore (index format {found}; this lore reads \
             up to {current}); upgrade lore, or `lore forget {}` and index again",
            root.display(),
            root.display()
        )
    }
}
