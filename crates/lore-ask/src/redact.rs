//! Secret redaction before text leaves this machine: the rules live in
//! `lore_index::redact` (SmellHunt reports the same secrets as findings).

pub use lore_index::redact::*;
