//! lore-search
