//! Local language models on the CPU, in-process: a GGUF file (quantized
//! weights) is all Lore needs — its metadata carries the architecture, the
//! tokenizer (vocabulary, merges, pre-tokenizer) and the chat template.
//!
//! - [`gguf`]: the file: hyper-parameters, metadata, the content hash that
//!   names the base model (adapters record it);
//! - [`tokenizer`]: the byte-level BPE tokenizer rebuilt from the metadata;
//! - [`template`]: the Jinja chat template rendered with `minijinja`;
//! - [`model`]: the llama / qwen2 transformer with a KV cache;
//! - [`generate`]: greedy or sampled decoding with streaming and stops;
//! - [`lora`]: low-rank adapters — trained with candle's autograd on the
//!   dequantized, frozen base, saved and loaded.
//!
//! Nothing here downloads anything: models load from local paths.

pub mod generate;
pub mod gguf;
pub mod lora;
pub mod model;
pub mod template;
pub mod tokenizer;

pub use generate::{Generated, Generator, Sampling};
pub use gguf::{Arch, Gguf, Hyper};
pub use model::Model;
pub use template::ChatTemplate;

/// Sets `RAYON_NUM_THREADS` to the machine's parallelism when it is unset.
/// candle asks for the thread count on every tensor operation and, without
/// the variable, reads it from the system each time: a third of a small
/// model's decoding time went there (`bench/llm.sh`: 50 → 62 tokens/s).
/// Call it first thing in `main`, before any thread starts.
#[allow(unsafe_code)]
pub fn pin_thread_count() {
    if std::env::var_os("RAYON_NUM_THREADS").is_none() {
        let n = std::thread::available_parallelism().map_or(1, usize::from);
        // SAFETY: called at the start of `main`, before other threads
        // exist, so nothing reads the environment concurrently.
        unsafe { std::env::set_var("RAYON_NUM_THREADS", n.to_string()) };
    }
}

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
