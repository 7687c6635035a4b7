//! lore-git
