//! Lore's domain vocabulary: languages, symbols, references, chunks, the
//! code-aware tokenizer, and the storage traits every backend implements.
//!
//! This crate does no IO. Everything that touches a disk, a database or a
//! process lives in the crates that implement these types and traits.
#![warn(missing_docs)]

pub mod embed;
pub mod endpoint;
mod error;
pub mod history;
pub mod jobs;
mod lang;
mod located;
pub mod path;
pub mod prompt;
pub mod retry;
pub mod schedule;
pub mod store;
mod syntax;
pub mod time;
pub mod tokens;

pub use endpoint::{Endpoint, EndpointError};
pub use error::{Error, Result};
pub use lang::Language;
pub use located::{Located, cite};
pub use syntax::{Chunk, FileSyntax, Import, RefKind, Reference, Symbol, SymbolKind};
