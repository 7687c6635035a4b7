//! What feedback on an answer is worth: a reward per signal, one person's
//! repeated signals counted once, the mood of their notes folded in with a
//! low weight.
//!
//! | signal | reward | why |
//! |---|---|---|
//! | `up` | +1.0 | said so |
//! | `down` | −1.0 | said so |
//! | `correct` (corrected citations) | −0.6 | the answer cited the wrong place (and the right one is now known) |
//! | `wrong` (a citation marked wrong) | −0.6 | the answer cited the wrong place |
//! | `copy` (code copied from the answer) | +0.5 | used it |
//! | `follow-up` (a question building on the answer) | +0.3 | went on from it |
//! | `open` (a citation opened) | +0.2 | looked at the evidence (curiosity, not approval) |
//! | `read-cited` (an MCP client read a cited file next) | +0.2 | the agent used the evidence |
//! | `reask` (the same question again within minutes) | −0.7 | did not get what they needed |
//! | `note` | 0 | only its mood counts |
//!
//! A note's mood adds `EMOTION_WEIGHT × valence` (−1..1 from
//! [`crate::emotion`]): behaviour is the stronger signal. Per person: the
//! latest vote counts (changing one's mind replaces, repeating does not
//! add), each other signal once; the sum is clipped to −1..1. The answer's
//! reward is the mean over the people who gave any signal.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use crate::emotion;

/// How much a note's mood moves a reward (its valence is −1..1).
pub const EMOTION_WEIGHT: f64 = 0.2;

/// Something a person did with an answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Signal {
    /// Thumbs up.
    Up,
    /// Thumbs down.
    Down,
    /// A note alone.
    Note,
    /// Corrected citations: "the right place is…".
    Correct,
    /// A citation marked wrong: "this citation is wrong".
    Wrong,
    /// A citation opened in the UI.
    Open,
    /// Code copied from the answer.
    Copy,
    /// The same question asked again within minutes.
    Reask,
    /// A follow-up question that builds on the answer.
    FollowUp,
    /// An MCP client read a cited file next.
    ReadCited,
}

impl Signal {
    /// Every signal.
    pub const ALL: [Signal; 10] = [
        Signal::Up,
        Signal::Down,
        Signal::Note,
        Signal::Correct,
        Signal::Wrong,
        Signal::Open,
        Signal::Copy,
        Signal::Reask,
        Signal::FollowUp,
        Signal::ReadCited,
    ];

    /// Its reward (the table above).
    pub fn reward(self) -> f64 {
        match self {
            Signal::Up => 1.0,
            Signal::Down => -1.0,
            Signal::Note => 0.0,
            Signal::Correct => -0.6,
            Signal::Wrong => -0.6,
            Signal::Open => 0.2,
            Signal::Copy => 0.5,
            Signal::Reask => -0.7,
            Signal::FollowUp => 0.3,
            Signal::ReadCited => 0.2,
        }
    }

    /// Its name (`up`, `follow-up`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Signal::Up => "up",
            Signal::Down => "down",
            Signal::Note => "note",
            Signal::Correct => "correct",
            Signal::Wrong => "wrong",
            Signal::Open => "open",
            Signal::Copy => "copy",
            Signal::Reask => "reask",
            Signal::FollowUp => "follow-up",
            Signal::ReadCited => "read-cited",
        }
    }

    /// Parses a name.
    pub fn from_name(name: &str) -> Option<Signal> {
        Signal::ALL.into_iter().find(|s| s.name() == name)
    }

    /// Up or down.
    pub fn is_vote(self) -> bool {
        matches!(self, Signal::Up | Signal::Down)
    }
}

/// One signal as recorded.
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    /// Who gave it.
    pub user: String,
    /// What.
    pub signal: Signal,
    /// When (seconds; orders a person's votes).
    pub time: i64,
    /// Its note, if any.
    pub note: Option<String>,
}

/// An answer's reward and how it was made.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Reward {
    /// −1..1 (0 without signals).
    pub value: f64,
    /// People who gave a signal.
    pub people: usize,
    /// Signals counted, by name (after one-per-person).
    pub counted: BTreeMap<String, usize>,
    /// The mood of the notes, summed over people (−1..1 each).
    pub mood: f64,
}

/// The reward of an answer from its `events`.
pub fn reward(events: &[Event]) -> Reward {
    let mut by_user: HashMap<&str, Vec<&Event>> = HashMap::new();
    for e in events {
        by_user.entry(e.user.as_str()).or_default().push(e);
    }
    let mut counted: BTreeMap<String, usize> = BTreeMap::new();
    let mut total = 0.0;
    let mut mood_total = 0.0;
    for evs in by_user.values() {
        let mut value = 0.0;
        // The latest vote stands for all of a person's votes.
        if let Some(vote) = evs
            .iter()
            .filter(|e| e.signal.is_vote())
            .max_by_key(|e| e.time)
        {
            value += vote.signal.reward();
            *counted.entry(vote.signal.name().to_owned()).or_default() += 1;
        }
        let mut seen: Vec<Signal> = evs
            .iter()
            .map(|e| e.signal)
            .filter(|s| !s.is_vote())
            .collect();
        seen.sort();
        seen.dedup();
        for s in seen {
            value += s.reward();
            *counted.entry(s.name().to_owned()).or_default() += 1;
        }
        // The mood of the person's latest note.
        if let Some(note) = evs
            .iter()
            .filter_map(|e| e.note.as_deref().map(|n| (e.time, n)))
            .max_by_key(|(t, _)| *t)
            .map(|(_, n)| n)
        {
            let valence = emotion::read(note).valence();
            mood_total += valence;
            value += EMOTION_WEIGHT * valence;
        }
        total += value.clamp(-1.0, 1.0);
    }
    let people = by_user.len();
    Reward {
        value: if people == 0 {
            0.0
        } else {
            total / people as f64
        },
        people,
        counted,
        mood: mood_total,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(user: &str, signal: Signal, time: i64) -> Event {
        Event {
            user: user.to_owned(),
            signal,
            time,
            note: None,
        }
    }

    #[test]
    fn each_signal_has_its_documented_reward() {
        for s in Signal::ALL {
            let r = reward(&[ev("ann", s, 1)]);
            assert_eq!(r.value, s.reward(), "{s:?}");
            assert_eq!(Signal::from_name(s.name()), Some(s));
        }
        assert_eq!(reward(&[]).value, 0.0);
        assert_eq!(Signal::from_name("sideways"), None);
    }

    #[test]
    fn one_persons_repeated_votes_count_once() {
        let spam: Vec<Event> = (0..10).map(|t| ev("ann", Signal::Up, t)).collect();
        let r = reward(&spam);
        assert_eq!((r.value, r.people, r.counted["up"]), (1.0, 1, 1));
        // Changing one's mind: the latest vote stands.
        let r = reward(&[ev("ann", Signal::Up, 1), ev("ann", Signal::Down, 2)]);
        assert_eq!(r.value, -1.0);
        // Two people: the mean.
        let r = reward(&[ev("ann", Signal::Up, 1), ev("bob", Signal::Reask, 2)]);
        assert!((r.value - 0.15).abs() < 1e-9, "{r:?}");
        // Opening three citations is one `open`.
        let r = reward(&[
            ev("ann", Signal::Open, 1),
            ev("ann", Signal::Open, 2),
            ev("ann", Signal::Open, 3),
        ]);
        assert_eq!(r.value, 0.2);
        // Clipped to -1..1 per person.
        let r = reward(&[
            ev("ann", Signal::Up, 1),
            ev("ann", Signal::Copy, 2),
            ev("ann", Signal::FollowUp, 3),
        ]);
        assert_eq!(r.value, 1.0);
    }

    #[test]
    fn a_notes_mood_moves_the_reward_a_little() {
        let with = |note: &str| {
            reward(&[Event {
                note: Some(note.to_owned()),
                ..ev("ann", Signal::Note, 1)
            }])
        };
        let angry = with("useless, wrong file again");
        let happy = with("thanks, spot on");
        let flat = with("the function is also called from the CLI");
        assert!(
            angry.value < 0.0 && angry.value >= -EMOTION_WEIGHT,
            "{angry:?}"
        );
        assert!(
            happy.value > 0.0 && happy.value <= EMOTION_WEIGHT,
            "{happy:?}"
        );
        assert_eq!(flat.value, 0.0);
        // A vote outweighs any mood.
        let r = reward(&[
            ev("ann", Signal::Up, 1),
            Event {
                note: Some("useless".to_owned()),
                ..ev("ann", Signal::Note, 2)
            },
        ]);
        assert!(r.value > 0.5, "{r:?}");
    }
}
