//! lore-index
