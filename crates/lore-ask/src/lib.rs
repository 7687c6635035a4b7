//! Ask: answers with verified citations, offline or with any LLM.
//!
//! The flow of one question: retrieve evidence (hybrid search of
//! `lore-index`), pack it into the model's token budget with numbered ids
//! ([`pack`]), ask the provider ([`provider`]), then check every citation
//! of the answer against the packed evidence ([`cite`]). With no provider,
//! or when it cannot be reached, an extractive answer is built from the
//! same evidence instead.

mod ask;
pub mod asker;
pub mod cache;
pub mod cite;
pub mod config;
pub mod context_bandit;
pub mod cost;
mod error;
pub mod eval;
mod extractive;
pub mod feedback;
pub mod gather;
pub mod local;
pub mod pack;
pub mod provider;
pub mod question;
pub mod redact;
pub mod session;
pub mod tokens;
pub mod written;

pub use ask::{Answer, AskOptions, Conversation, Exchange, Mode, RetrievalPolicy, Tokens, ask};
pub use asker::{AskRequest, Asked, Asker, Thread};
pub use error::{Error, Result};
