//! Feedback on answers, the same from the CLI, the HTTP API and MCP: a
//! signal (a vote, a note, corrected citations, or something a person did
//! with the answer), who gave it, and the answer's reward after it.

use std::path::Path;

use lore_core::history::{FeedbackRecord, HistoryStore};
use lore_learn::reward::{Reward, Signal};
use serde::Serialize;

use crate::error::{Error, Result};

/// A place an answer should have cited (`PATH:A-B` parses into one).
pub use lore_index::utility::Place;

/// Feedback to record.
#[derive(Clone, Debug)]
pub struct Given {
    /// The answer.
    pub answer: i64,
    /// What.
    pub signal: Signal,
    /// A note.
    pub note: Option<String>,
    /// Where the answer should have pointed.
    pub correct: Vec<Place>,
    /// Who.
    pub user: String,
}

/// What recording feedback did.
#[derive(Clone, Debug, Serialize)]
pub struct Recorded {
    /// The stored verdict.
    pub feedback_id: i64,
    /// The answer's reward with it.
    pub reward: Reward,
}

/// The person at this machine (`$USER`), for feedback given locally.
pub fn local_user() -> String {
    std::env::var("USER")
        .or_else(|_| std::env::var("USERNAME"))
        .map(|u| format!("local:{u}"))
        .unwrap_or_else(|_| "local".to_owned())
}

/// Records `given` on an answer of the history in `data_dir`.
pub fn give(data_dir: &Path, given: &Given) -> Result<Recorded> {
    if given.note.as_ref().is_some_and(|n| n.len() > 10_000) {
        return Err(Error::Invalid("note is longer than 10000 bytes".into()));
    }
    if given.signal == Signal::Correct && given.correct.is_empty() {
        return Err(Error::Invalid(
            "a correction needs the right place (PATH:START-END)".into(),
        ));
    }
    if given.signal == Signal::Wrong && given.correct.is_empty() {
        return Err(Error::Invalid(
            "`wrong` needs the citation said to be wrong (its place)".into(),
        ));
    }
    let mut history = crate::asker::open_history(data_dir)?;
    let history_error = |e: lore_core::Error| Error::History {
        path: data_dir.to_owned(),
        what: e.to_string(),
    };
    if history
        .answer(given.answer)
        .map_err(history_error)?
        .is_none()
    {
        return Err(Error::NoAnswer(given.answer));
    }
    let record = FeedbackRecord {
        answer: given.answer,
        time: crate::asker::now(),
        vote: match given.signal {
            Signal::Up => 1,
            Signal::Down => -1,
            _ => 0,
        },
        note: given.note.clone().filter(|n| !n.trim().is_empty()),
        correct_citations: serde_json::to_string(&given.correct).expect("places serialize"),
        signal: given.signal.name().to_owned(),
        user: given.user.clone(),
    };
    let feedback_id = history.add_feedback(&record).map_err(history_error)?;
    let all = history.feedback(given.answer).map_err(history_error)?;
    Ok(Recorded {
        feedback_id,
        reward: reward_of(&all),
    })
}

/// The reward of an answer from its stored verdicts (one definition, in
/// the index crate, which also credits places with it).
pub use lore_index::utility::reward_of;

/// A question asked again within this many seconds is a re-ask.
pub const REASK_SECS: i64 = 300;
/// A question in the same conversation within this many seconds of the
/// previous answer builds on it.
pub const FOLLOW_UP_SECS: i64 = 1800;

fn normalized(question: &str) -> String {
    question
        .to_lowercase()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .trim_end_matches(['?', '.', '!'])
        .to_owned()
}

/// The implicit feedback a new question (answer `id`, asked at `time` in
/// `conversation`) gives an earlier answer: the same question again within
/// [`REASK_SECS`] is a `reask` of that answer (it did not help); otherwise
/// a next question in the same conversation within [`FOLLOW_UP_SECS`] is a
/// `follow-up` on the previous answer (it was built on). Returns what was
/// recorded.
pub fn implicit(
    history: &mut dyn HistoryStore,
    id: i64,
    conversation: i64,
    time: i64,
    question: &str,
    user: &str,
) -> lore_core::Result<Option<(i64, Signal)>> {
    let asked = normalized(question);
    let recent = history.recent(20)?;
    let earlier = recent.iter().filter(|a| a.id != id && a.time <= time);
    let reasked = earlier
        .clone()
        .find(|a| time - a.time <= REASK_SECS && normalized(&a.question) == asked);
    let found = match reasked {
        Some(a) => Some((a.id, Signal::Reask)),
        None => history
            .exchanges(conversation)?
            .iter()
            .rev()
            .find(|a| a.id != id && a.time <= time)
            .filter(|a| time - a.time <= FOLLOW_UP_SECS)
            .map(|a| (a.id, Signal::FollowUp)),
    };
    if let Some((answer, signal)) = found {
        history.add_feedback(&FeedbackRecord {
            answer,
            time,
            vote: 0,
            note: None,
            correct_citations: "[]".to_owned(),
            signal: signal.name().to_owned(),
            user: user.to_owned(),
        })?;
    }
    Ok(found)
}
