//! Lexical search over chunks with tantivy and a code-aware tokenizer.
//!
//! Useful for: ranked retrieval of chunks by words and identifiers (BM25
//! with field weights: symbol name > qualified name > path and doc > body),
//! filtered by language and path.
//! Not useful for: exact symbol lookups or anything relational (that is
//! `lore-store`); the chunk text itself is not stored here.
//!
//! Each index run writes a new *generation* directory. [`fork`] starts it
//! by hard-linking the previous generation's immutable segment files, so an
//! incremental run costs only what changed, and the previous generation
//! stays untouched for readers and for recovery after a crash.

mod error;
mod index;
mod readonly;
mod tokenizer;

pub use error::{Error, Result};
pub use index::{TantivyIndex, TantivySearcher, TantivyWriter, WriterConfig, fork};
pub use tokenizer::CodeTokenizer;
