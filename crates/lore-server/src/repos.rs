//! The repositories the server knows and their snapshot pools: the
//! registry lives in `lore-index` (`lore_index::registry`), shared with the
//! MCP server.

use std::sync::Arc;

pub use lore_index::registry::{Lease, Registry, Repo, lock, search_slots};

/// The registry shared by handlers.
pub type SharedRegistry = Arc<Registry>;
