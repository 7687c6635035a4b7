//! What people's feedback says about places in the code: each answer's
//! reward (from its signals, `lore_learn::reward`), the places it cited,
//! and the places people said were right or wrong. Two uses: the
//! `utility` feature of search (a place cited by rewarded answers, or
//! pointed at by a correction, rises; one called wrong sinks), and the
//! feedback queries a retrieval policy is trained and gated on.

use std::collections::HashMap;
use std::path::Path;

use lore_core::history::{FeedbackRecord, HistoryStore};
use lore_learn::reward::{self, Event, Reward, Signal};
use lore_store::SqliteHistory;
use serde::{Deserialize, Serialize};

use crate::error::Result;

/// The reward of an answer from its stored verdicts.
pub fn reward_of(records: &[FeedbackRecord]) -> Reward {
    let mut events = Vec::new();
    for r in records {
        let Some(signal) = Signal::from_name(&r.signal) else {
            continue;
        };
        events.push(Event {
            user: r.user.clone(),
            signal,
            time: r.time,
            note: r.note.clone(),
        });
        // A vote that came with the right places is a correction too.
        if signal.is_vote() && !matches!(r.correct_citations.as_str(), "" | "[]") {
            events.push(Event {
                user: r.user.clone(),
                signal: Signal::Correct,
                time: r.time,
                note: None,
            });
        }
    }
    reward::reward(&events)
}

/// Lines of a file, as citations and corrections record them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Place {
    /// Path relative to the root.
    pub path: String,
    /// First line (1-based).
    pub start_line: u32,
    /// Last line.
    pub end_line: u32,
}

impl Place {
    /// Parses `PATH:A-B` (or `PATH:A`); the error names the text at fault.
    pub fn parse(text: &str) -> Result<Place> {
        let bad = || {
            crate::Error::Invalid(format!(
                "{text:?}: expected PATH:START-END (or PATH:LINE), e.g. src/app.py:10-24"
            ))
        };
        let (path, lines) = text.rsplit_once(':').ok_or_else(bad)?;
        let (a, b) = lines.split_once('-').unwrap_or((lines, lines));
        let (start_line, end_line): (u32, u32) = (
            a.trim().parse().map_err(|_| bad())?,
            b.trim().parse().map_err(|_| bad())?,
        );
        if path.is_empty() || start_line == 0 || end_line < start_line {
            return Err(bad());
        }
        Ok(Place {
            path: path.to_owned(),
            start_line,
            end_line,
        })
    }

    fn overlaps(&self, path: &str, start: u32, end: u32) -> bool {
        self.path == path && self.start_line <= end && start <= self.end_line
    }
}

/// An answer people reacted to.
#[derive(Clone, Debug)]
pub struct Judged {
    /// The answer's id in the history.
    pub id: i64,
    /// The question.
    pub question: String,
    /// The checked answer.
    pub answer: String,
    /// The commit its evidence was read at.
    pub commit: String,
    /// Its citations as recorded (JSON array of verified citations).
    pub citations: String,
    /// Its reward.
    pub reward: Reward,
    /// What it cited.
    pub cited: Vec<Place>,
    /// Places people said it should have cited.
    pub right: Vec<Place>,
    /// Citations people said were wrong.
    pub wrong: Vec<Place>,
}

impl Judged {
    /// Places a search for the question should find: the right ones, and
    /// the citations of a rewarded answer that nobody called wrong.
    pub fn relevant(&self) -> Vec<&Place> {
        let mut out: Vec<&Place> = self.right.iter().collect();
        if self.reward.people > 0 && self.reward.value > 0.0 {
            out.extend(self.cited.iter().filter(|c| !self.wrong.contains(c)));
        }
        out
    }
}

fn places(json: &str) -> Vec<Place> {
    serde_json::from_str(json).unwrap_or_default()
}

/// Every answer with feedback since `since` (Unix seconds), oldest first.
pub fn judged_answers(history: &dyn HistoryStore, since: i64) -> Result<Vec<Judged>> {
    let mut out = Vec::new();
    for (record, rows) in history.judged_since(since)? {
        let (mut right, mut wrong) = (Vec::new(), Vec::new());
        for r in &rows {
            match r.signal.as_str() {
                "wrong" => wrong.extend(places(&r.correct_citations)),
                _ => right.extend(places(&r.correct_citations)),
            }
        }
        out.push(Judged {
            id: record.id,
            question: record.question,
            answer: record.answer,
            commit: record.commit,
            citations: record.citations.clone(),
            reward: reward_of(&rows),
            cited: places(&record.citations),
            right,
            wrong,
        });
    }
    Ok(out)
}

/// The judged answers of the history at `history_db` (none if it does
/// not exist).
pub fn judged_in(history_db: &Path, since: i64) -> Result<Vec<Judged>> {
    if !history_db.exists() {
        return Ok(Vec::new());
    }
    let history = SqliteHistory::open(history_db)?;
    judged_answers(&history, since)
}

/// Credit per place from feedback, for the `utility` feature.
#[derive(Clone, Debug, Default)]
pub struct Utility {
    by_file: HashMap<String, Vec<(Place, f64)>>,
}

/// A place in the same file as a credited one gets this share of it.
const SAME_FILE: f64 = 0.25;

impl Utility {
    /// The credit of each place in `judged`: an answer's reward on each of
    /// its citations, +1 on each right place, −1 on each wrong one.
    pub fn from_judged(judged: &[Judged]) -> Utility {
        let mut by_file: HashMap<String, Vec<(Place, f64)>> = HashMap::new();
        let mut credit = |p: &Place, v: f64| {
            by_file
                .entry(p.path.clone())
                .or_default()
                .push((p.clone(), v));
        };
        for j in judged {
            if j.reward.people > 0 {
                for c in j.cited.iter().filter(|c| !j.wrong.contains(c)) {
                    credit(c, j.reward.value);
                }
            }
            for p in &j.right {
                credit(p, 1.0);
            }
            for p in &j.wrong {
                credit(p, -1.0);
            }
        }
        Utility { by_file }
    }

    /// Whether no place has credit.
    pub fn is_empty(&self) -> bool {
        self.by_file.is_empty()
    }

    /// The utility of lines `start..=end` of `path`, −1..1: the credit of
    /// the places overlapping them, plus a quarter of the rest of the
    /// file's, squashed by tanh.
    pub fn of(&self, path: &str, start: u32, end: u32) -> f64 {
        let Some(places) = self.by_file.get(path) else {
            return 0.0;
        };
        let sum: f64 = places
            .iter()
            .map(|(p, v)| {
                if p.overlaps(path, start, end) {
                    *v
                } else {
                    SAME_FILE * v
                }
            })
            .sum();
        sum.tanh()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn place(path: &str, a: u32, b: u32) -> Place {
        Place {
            path: path.into(),
            start_line: a,
            end_line: b,
        }
    }

    fn judged(value: f64, cited: Vec<Place>, right: Vec<Place>, wrong: Vec<Place>) -> Judged {
        Judged {
            id: 1,
            question: "q".into(),
            answer: String::new(),
            commit: String::new(),
            citations: "[]".into(),
            reward: Reward {
                value,
                people: 1,
                counted: Default::default(),
                mood: 0.0,
            },
            cited,
            right,
            wrong,
        }
    }

    #[test]
    fn utility_follows_rewards_and_corrections() {
        let u = Utility::from_judged(&[
            judged(1.0, vec![place("a.rs", 10, 20)], vec![], vec![]),
            judged(
                -1.0,
                vec![place("b.rs", 1, 5), place("c.rs", 1, 9)],
                vec![place("d.rs", 30, 40)],
                vec![place("c.rs", 1, 9)],
            ),
        ]);
        assert!(
            u.of("a.rs", 15, 30) > 0.7,
            "overlapping a rewarded citation"
        );
        let elsewhere = u.of("a.rs", 100, 120);
        assert!(elsewhere > 0.0 && elsewhere < 0.3, "{elsewhere}");
        assert!(u.of("b.rs", 1, 5) < -0.7, "cited by a rejected answer");
        assert!(u.of("c.rs", 2, 3) < -0.7, "called wrong (once, not twice)");
        assert!(
            (u.of("c.rs", 2, 3) - (-1.0f64).tanh()).abs() < 1e-9,
            "the wrong citation is not also charged the answer's reward"
        );
        assert!(u.of("d.rs", 35, 35) > 0.7, "the right place");
        assert_eq!(u.of("e.rs", 1, 1), 0.0);
    }

    #[test]
    fn relevant_places_are_the_right_ones_and_a_liked_answers_citations() {
        let liked = judged(
            0.8,
            vec![place("a.rs", 1, 2), place("b.rs", 1, 2)],
            vec![place("c.rs", 5, 6)],
            vec![place("b.rs", 1, 2)],
        );
        let paths: Vec<&str> = liked.relevant().iter().map(|p| p.path.as_str()).collect();
        assert_eq!(paths, ["c.rs", "a.rs"]);
        let disliked = judged(-1.0, vec![place("a.rs", 1, 2)], vec![], vec![]);
        assert!(disliked.relevant().is_empty());
    }
}
