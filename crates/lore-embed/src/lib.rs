//! Embedders behind [`lore_core::embed::Embedder`].
//!
//! - [`LearnedModel`], the default: word vectors trained on the repository
//!   itself in seconds (PPMI + truncated SVD with a doc-to-code vocabulary
//!   bridge); nothing to download.
//! - [`LocalModel`] (feature `local`, on by default): a sentence-transformers
//!   model directory (BERT family) run on the CPU with candle.
//! - [`RemoteEmbedder`]: OpenAI-compatible and Ollama HTTP endpoints.
//!
//! Useful for: turning chunks and queries into vectors. Not useful for:
//! storing or searching vectors (`lore-vector`).

#[cfg(feature = "local")]
mod bert;
mod error;
mod learned;
mod linalg;
#[cfg(feature = "local")]
mod local;
mod remote;
mod spec;
mod statics;

pub use error::{Error, Result};
pub use learned::{LearnedModel, TrainConfig, TrainingText};
#[cfg(feature = "local")]
pub use local::{LocalConfig, LocalModel};
pub use remote::{RemoteApi, RemoteConfig, RemoteEmbedder};
pub use spec::EmbedderSpec;
pub use statics::StaticTable;
