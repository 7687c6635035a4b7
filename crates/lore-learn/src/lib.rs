//! Learning from the people who use Lore and from the repository itself:
//! what feedback is worth (`reward`), the mood of what people write
//! (`emotion`), choosing among ways of working by what they reward
//! (`bandit`), when insights are the same kind of thing (`similar`), and
//! fitting and gating a retrieval policy (`rank`). Pure functions over
//! records the stores keep; no I/O.

pub mod bandit;
pub mod emotion;
pub mod interleave;
pub mod rank;
pub mod reward;
pub mod similar;
pub mod translate;
