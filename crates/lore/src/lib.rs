//! lore
