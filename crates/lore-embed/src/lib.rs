//! Embedders behind [`lore_core::embed::Embedder`].
//!
//! - [`LearnedModel`], the default: word vectors trained on the repository
//!   itself in seconds (PPMI + truncated SVD with a doc-to-code vocabulary
//!   bridge); nothing to download.
//!
//! Useful for: turning chunks and queries into vectors. Not useful for:
//! storing or searching vectors (`lore-vector`).

mod error;
mod learned;
mod linalg;

pub use error::{Error, Result};
pub use learned::{LearnedModel, TrainConfig, TrainingText};
