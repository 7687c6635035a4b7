//! The mood of a note on an answer: frustration, satisfaction or neither,
//! and how sure its writer sounds. Lexicon and rules, tuned to how
//! developers write about answers and code, offline and instant.
//!
//! - Cues are words and phrases with a weight: "useless", "wrong again",
//!   "not what I asked" for frustration; "thanks", "spot on", "LGTM", "+1"
//!   for satisfaction.
//! - A negator up to three words before a cue turns it over, weaker: "not
//!   helpful" is frustration, "not bad" is mild satisfaction.
//! - Intensifiers ("really", "totally", "way too") raise the next cue,
//!   softeners ("a bit", "mostly") lower it; "?!" reads as exasperation and
//!   "!" strengthens whichever side leads.
//! - Developer idiom is not emotion: crash, panic, kill, fatal, abort,
//!   dead, hack, error, bug and fail describe code, so they are no cues.
//! - Confidence: hedges ("I think", "maybe", "not sure", a question that is
//!   not a complaint) make a note unsure, boosters ("definitely",
//!   "clearly", "I checked") confident; otherwise unstated.
//!
//! Measured on `data/feedback-notes.jsonl` (developer-style notes labelled
//! by hand); the test asserts a floor.

use serde::{Deserialize, Serialize};

/// The mood of a note.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Emotion {
    /// Annoyed, disappointed, let down by the answer.
    Frustration,
    /// Pleased, thankful, helped.
    Satisfaction,
    /// Neither: facts, context, questions.
    Neutral,
}

/// How sure the writer sounds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Confidence {
    /// Asserts ("definitely", "I checked").
    Confident,
    /// Hedges ("I think", "maybe", a question).
    Unsure,
    /// Says neither.
    Unstated,
}

/// What a note says about its writer's mood.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Reading {
    /// The mood.
    pub emotion: Emotion,
    /// How sure.
    pub confidence: Confidence,
    /// Strength of the frustration cues (0 when none).
    pub frustration: f64,
    /// Strength of the satisfaction cues.
    pub satisfaction: f64,
}

impl Reading {
    /// Satisfaction minus frustration, squashed to -1..1 (the part of a
    /// reward a note's mood contributes, before its weight).
    pub fn valence(&self) -> f64 {
        (self.satisfaction - self.frustration).tanh()
    }
}

const FRUSTRATION_WORDS: &[(&str, f64)] = &[
    ("wrong", 1.0),
    ("useless", 1.2),
    ("irrelevant", 1.0),
    ("misleading", 1.0),
    ("nonsense", 1.0),
    ("garbage", 1.2),
    ("terrible", 1.2),
    ("awful", 1.2),
    ("bad", 0.8),
    ("annoying", 1.0),
    ("frustrating", 1.2),
    ("frustrated", 1.2),
    ("confusing", 0.8),
    ("confuses", 0.8),
    ("hallucinated", 1.2),
    ("outdated", 0.8),
    ("ugh", 1.0),
    ("sigh", 0.8),
    ("wtf", 1.2),
    ("meh", 0.6),
    ("nope", 1.0),
    ("disappointing", 1.0),
    ("vague", 0.8),
    ("missed", 0.6),
    ("ignores", 0.7),
    ("backwards", 0.7),
    ("contradicts", 0.8),
    ("broken", 0.6),
    ("seriously", 0.6),
    ("again", 0.5),
    ("instead", 0.4),
    ("keeps", 0.5),
    ("keep", 0.4),
    ("stop", 0.5),
    ("why", 0.3),
    ("weird", 0.6),
    ("off", 0.4),
    ("pointless", 1.0),
    ("mess", 0.9),
    ("messy", 0.8),
    ("rubbish", 1.2),
    ("junk", 1.0),
    ("poor", 0.8),
    ("worse", 0.8),
    ("worst", 1.0),
    ("stale", 0.6),
    ("confused", 0.7),
    ("hopeless", 1.2),
    ("ridiculous", 1.0),
    ("silly", 0.8),
    ("stupid", 1.0),
    ("lame", 0.9),
    ("sucks", 1.2),
    ("disappointed", 1.0),
    ("annoyed", 1.0),
    ("irritating", 1.0),
    ("tedious", 0.8),
    ("unusable", 1.2),
    ("unreliable", 1.0),
    ("mistaken", 0.9),
    ("mistake", 0.7),
    ("inconsistent", 0.7),
    ("invented", 0.9),
    ("fabricated", 1.2),
    ("hallucinating", 1.2),
    ("hallucinates", 1.2),
    ("unrelated", 0.9),
    ("skipped", 0.6),
    ("skips", 0.6),
    ("😡", 1.2),
    ("🤦", 1.2),
    ("👎", 1.0),
];

const FRUSTRATION_PHRASES: &[(&str, f64)] = &[
    ("not what i", 1.0),
    ("makes no sense", 1.2),
    ("waste of time", 1.2),
    ("not even close", 1.2),
    ("no idea why", 0.8),
    ("nothing to do with", 1.0),
    ("doesn't answer", 1.0),
    ("does not answer", 1.0),
    ("doesn't even", 0.8),
    ("doesn't exist", 0.6),
    ("does not exist", 0.6),
    ("third time", 0.8),
    ("same wrong", 0.8),
    ("keeps happening", 0.8),
    ("no no", 1.0),
    ("not true", 1.0),
    ("cut off", 0.6),
    ("cut in half", 0.8),
    ("way too", 0.5),
    ("can't find", 0.5),
    ("don't think that's", 0.6),
    ("doesn't look like", 0.6),
    ("still don't", 0.6),
    ("still pointing", 0.8),
    ("give up", 1.0),
    ("come on", 0.8),
    ("made up", 1.0),
    ("off-topic", 0.9),
    ("off topic", 0.9),
    ("doesn't understand", 1.0),
    ("does not understand", 1.0),
    ("not the place", 0.8),
];

const SATISFACTION_WORDS: &[(&str, f64)] = &[
    ("thanks", 1.0),
    ("thank", 1.0),
    ("thx", 1.0),
    ("cheers", 0.8),
    ("great", 1.0),
    ("perfect", 1.2),
    ("exactly", 0.8),
    ("helpful", 1.0),
    ("helped", 1.0),
    ("useful", 0.9),
    ("nice", 0.8),
    ("awesome", 1.0),
    ("excellent", 1.2),
    ("brilliant", 1.0),
    ("love", 1.0),
    ("neat", 0.8),
    ("correct", 0.8),
    ("accurate", 0.8),
    ("clear", 0.6),
    ("good", 0.7),
    ("impressive", 1.0),
    ("lgtm", 1.0),
    ("+1", 1.0),
    ("👍", 1.0),
    ("yes", 0.6),
    ("yep", 0.7),
    ("works", 0.6),
    ("solved", 0.9),
    ("handy", 0.8),
    ("top", 0.5),
    ("a++", 1.0),
    ("right", 0.4),
    ("better", 0.5),
    ("concise", 0.6),
    ("appreciated", 1.0),
    ("appreciate", 1.0),
    ("nailed", 1.0),
    ("solid", 0.8),
    ("wonderful", 1.2),
    ("fantastic", 1.2),
    ("amazing", 1.2),
    ("superb", 1.2),
    ("precise", 0.7),
    ("kudos", 1.0),
    ("bravo", 1.0),
    ("glad", 0.9),
    ("happy", 0.8),
    ("grateful", 1.0),
    ("ty", 0.8),
    ("bingo", 1.0),
    ("yay", 1.0),
    ("sweet", 0.7),
    ("cool", 0.6),
    ("💯", 1.0),
    ("🎉", 1.0),
    ("🙏", 1.0),
];

const SATISFACTION_PHRASES: &[(&str, f64)] = &[
    ("spot on", 1.2),
    ("bang on", 1.0),
    ("saved me", 1.0),
    ("that's it", 0.8),
    ("that's the one", 0.8),
    ("on the money", 1.0),
    ("no complaints", 1.0),
    ("couldn't be better", 1.2),
    ("easy to follow", 0.8),
    ("found it", 0.7),
    ("good find", 0.8),
    ("this is the place", 0.8),
    ("the right handler", 0.6),
    ("helped me", 0.6),
    ("well done", 1.0),
    ("well cited", 1.0),
    ("good job", 1.0),
    ("on point", 1.0),
    ("thank u", 1.0),
    ("the spot", 0.6),
];

const NEGATORS: &[&str] = &[
    "not", "no", "never", "nothing", "hardly", "isn't", "wasn't", "doesn't", "don't", "didn't",
    "can't", "cannot", "couldn't", "won't", "aren't", "nor", "without",
];

const INTENSIFIERS: &[&str] = &[
    "very",
    "really",
    "so",
    "totally",
    "completely",
    "super",
    "extremely",
    "absolutely",
    "way",
    "utterly",
    "simply",
];

const SOFTENERS: &[&str] = &[
    "slightly", "bit", "kinda", "somewhat", "mostly", "little", "fairly",
];

const HEDGES: &[&str] = &[
    "i think",
    "i guess",
    "maybe",
    "probably",
    "possibly",
    "perhaps",
    "not sure",
    "might",
    "seems",
    "i wonder",
    "could this",
    "looks like",
    "hmm",
    "i suppose",
    "unclear",
];

const BOOSTERS: &[&str] = &[
    "definitely",
    "clearly",
    "certainly",
    "precisely",
    "i checked",
    "confirmed",
    "simply",
    "always",
    "obviously",
    "for sure",
    "100%",
    "i'm sure",
    "no doubt",
];

fn tokens(lower: &str) -> Vec<String> {
    lower
        .split_whitespace()
        .map(|w| {
            // Keep `+1`, `a++` and emoji; trim other punctuation.
            w.trim_matches(|c: char| c.is_ascii_punctuation() && c != '+' && c != '\'' && c != '%')
                .trim_matches('\'')
                .to_owned()
        })
        .filter(|w| !w.is_empty())
        .collect()
}

fn contains_phrase(padded: &str, phrase: &str) -> bool {
    padded.contains(&format!(" {phrase} "))
        || padded.contains(&format!(" {phrase},"))
        || padded.contains(&format!(" {phrase}."))
        || padded.contains(&format!(" {phrase}!"))
        || padded.contains(&format!(" {phrase}?"))
}

/// Reads the mood of `text`.
pub fn read(text: &str) -> Reading {
    let lower = text.to_lowercase().replace('’', "'");
    // Spaces around punctuation that ends a word, so phrases match whole.
    let padded = format!(
        " {} ",
        lower
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .replace([',', ';', ':', '(', ')'], " ")
    );
    let words = tokens(&lower);
    let mut frustration = 0.0;
    let mut satisfaction = 0.0;
    for (phrase, w) in FRUSTRATION_PHRASES {
        if contains_phrase(&padded, phrase) {
            frustration += w;
        }
    }
    for (phrase, w) in SATISFACTION_PHRASES {
        if contains_phrase(&padded, phrase) {
            // "not bad" style negation of a phrase is rare; taken as is.
            satisfaction += w;
        }
    }
    for (i, word) in words.iter().enumerate() {
        let sat_weight = |w: &str| {
            SATISFACTION_WORDS
                .iter()
                .find(|(c, _)| *c == w)
                .map(|(_, x)| *x)
        };
        // "unhelpful", "incorrect", "imprecise": a satisfaction cue with a
        // negating prefix is a frustration cue.
        let prefixed = ["un", "in", "im"].iter().find_map(|p| {
            word.strip_prefix(p)
                .filter(|r| r.len() >= 4)
                .and_then(sat_weight)
        });
        let frus = FRUSTRATION_WORDS
            .iter()
            .find(|(w, _)| w == word)
            .map(|(_, w)| *w)
            .or(prefixed.map(|w| 0.9 * w));
        let sat = sat_weight(word);
        let (Some(weight), is_sat) = (frus.or(sat), sat.is_some()) else {
            continue;
        };
        let before = &words[i.saturating_sub(3)..i];
        let negated = before.iter().any(|b| NEGATORS.contains(&b.as_str()));
        let mut scale = 1.0;
        if let Some(prev) = i.checked_sub(1).map(|j| words[j].as_str()) {
            if INTENSIFIERS.contains(&prev) {
                scale = 1.5;
            } else if SOFTENERS.contains(&prev) {
                scale = 0.7;
            }
        }
        // All capitals (not an acronym such as LGTM): shouting.
        let original = text.split_whitespace().find(|w| {
            w.to_lowercase()
                .trim_matches(|c: char| c.is_ascii_punctuation())
                == *word
        });
        if let Some(o) = original
            && o.len() >= 4
            && o.chars().all(|c| !c.is_lowercase())
            && o.chars().any(char::is_alphabetic)
            && *word != "lgtm"
        {
            scale *= 1.5;
        }
        match (is_sat, negated) {
            (true, false) => satisfaction += weight * scale,
            // "not helpful", "isn't correct", "doesn't help".
            (true, true) => frustration += 0.8 * weight * scale,
            (false, false) => frustration += weight * scale,
            // "not bad", "not wrong": mild approval.
            (false, true) => satisfaction += 0.7 * weight * scale,
        }
    }
    // A bare "no" opening the note is a refusal of the answer.
    if words.first().is_some_and(|w| w == "no") && lower.trim_start().starts_with("no,") {
        frustration += 0.8;
    }
    if lower.contains("?!") {
        frustration += 0.8;
    }
    if lower.contains('!') && !lower.contains("?!") {
        if satisfaction > frustration {
            satisfaction *= 1.2;
        } else {
            frustration *= 1.2;
        }
    }
    let emotion = if frustration.max(satisfaction) < 0.5 || (frustration - satisfaction).abs() < 0.3
    {
        Emotion::Neutral
    } else if frustration > satisfaction {
        Emotion::Frustration
    } else {
        Emotion::Satisfaction
    };
    let hedges = HEDGES
        .iter()
        .filter(|h| contains_phrase(&padded, h))
        .count()
        + usize::from(lower.trim_end().ends_with('?') && emotion != Emotion::Frustration);
    let boosts = BOOSTERS
        .iter()
        .filter(|b| contains_phrase(&padded, b))
        .count();
    let confidence = if hedges > boosts {
        Confidence::Unsure
    } else if boosts > 0 {
        Confidence::Confident
    } else {
        Confidence::Unstated
    };
    Reading {
        emotion,
        confidence,
        frustration,
        satisfaction,
    }
}

#[cfg(test)]
mod tests;
