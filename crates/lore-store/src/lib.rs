//! lore-store
