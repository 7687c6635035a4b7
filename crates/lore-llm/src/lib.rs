//! Local language models on the CPU, in-process: a GGUF file (quantized
//! weights) is all Lore needs — its metadata carries the architecture, the
//! tokenizer (vocabulary, merges, pre-tokenizer) and the chat template.
//!
//! - [`gguf`]: the file: hyper-parameters, metadata, the content hash that
//!   names the base model (adapters record it);
//! - [`tokenizer`]: the byte-level BPE tokenizer rebuilt from the metadata;
//! - [`template`]: the Jinja chat template rendered with `minijinja`;
//! - [`model`]: the llama / qwen2 transformer with a KV cache;
//! - [`generate`]: greedy or sampled decoding with streaming and stops.
//!
//! Nothing here downloads anything: models load from local paths.

pub mod generate;
pub mod gguf;
pub mod model;
pub mod template;
pub mod tokenizer;

pub use generate::{Generated, Generator, Sampling};
pub use gguf::{Arch, Gguf, Hyper};
pub use model::Model;
pub use template::ChatTemplate;

/// What can go wrong with a local model.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: std::path::PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not a GGUF model Lore can run, or its metadata is wrong.
    #[error("{path}: {message}")]
    Model {
        /// The file.
        path: std::path::PathBuf,
        /// What is wrong, in words.
        message: String,
    },
    /// The chat template does not render.
    #[error("chat template: {0}")]
    Template(String),
    /// Tokenizing or decoding failed.
    #[error("tokenizer: {0}")]
    Tokenizer(String),
    /// A tensor operation failed.
    #[error("{0}")]
    Candle(#[from] candle_core::Error),
}

/// Results of this crate.
pub type Result<T> = std::result::Result<T, Error>;
