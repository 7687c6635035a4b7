//! Learning from the people who use Lore: what their feedback is worth
//! (`reward`), the mood of what they write (`emotion`), and choosing among
//! ways of working by what they reward (`bandit`). Pure functions over
//! records the stores keep; no I/O.

pub mod bandit;
pub mod emotion;
pub mod reward;
pub mod similar;
