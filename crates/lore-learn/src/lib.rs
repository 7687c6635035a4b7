//! Learning from the people who use Lore: what their feedback is worth
//! (`reward`) and the mood of what they write (`emotion`). Pure functions
//! over records the stores keep; no I/O.

pub mod emotion;
pub mod reward;
