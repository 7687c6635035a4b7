//! lore-test-support
