//! Which code words a repository uses for the words of its own prose: a
//! table of associations from documentation words to identifier parts,
//! learned from the repository's documented functions (each doc's first
//! sentence against its function's code, the doc left out), in the manner
//! of statistical translation models for code search. A candidate's score
//! for a question is, over the question's words, the mean of its best
//! association with a part the candidate's code contains.
//!
//! Association: positive pointwise mutual information of a word and a
//! part over the pairs, scaled down while the pair was seen fewer than
//! three times; each word keeps its [`KEEP`] strongest parts.

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};

/// Parts kept per word.
pub const KEEP: usize = 32;

const STOP: &[&str] = &[
    "the", "and", "for", "with", "this", "that", "from", "are", "its", "not", "returns", "return",
    "given", "into", "when", "which", "will", "can", "has", "have", "was", "were", "been", "all",
    "any", "one", "use", "used", "uses", "using", "also", "than", "then", "there", "their", "them",
    "these", "those", "such", "only", "each", "other", "more", "most", "some", "should", "would",
    "could", "may", "must", "does", "did", "get", "gets", "set", "sets", "what", "which", "where",
    "how", "why", "who", "whom", "whose", "code",
];

/// A text's prose words: lower case letters only, three or more, no
/// stop words.
pub fn words(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for w in text.split(|c: char| !c.is_ascii_alphabetic()) {
        if w.len() > 2 {
            let w = w.to_ascii_lowercase();
            if !STOP.contains(&w.as_str()) && !out.contains(&w) {
                out.push(w);
            }
        }
    }
    out
}

/// A text's identifier parts, lower case, three letters or more:
/// `parseHTTPHeader2` → parse, http, header.
pub fn parts(text: &str) -> HashSet<String> {
    let mut out = HashSet::new();
    for ident in text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')) {
        let chars: Vec<char> = ident.chars().collect();
        let mut start = 0;
        for i in 1..=chars.len() {
            let boundary = i == chars.len()
                || chars[i] == '_'
                || chars[i].is_ascii_digit() != chars[i - 1].is_ascii_digit()
                || (chars[i].is_ascii_uppercase() && chars[i - 1].is_ascii_lowercase())
                || (chars[i].is_ascii_uppercase()
                    && chars[i - 1].is_ascii_uppercase()
                    && chars.get(i + 1).is_some_and(|c| c.is_ascii_lowercase()));
            if boundary {
                let part: String = chars[start..i]
                    .iter()
                    .filter(|c| **c != '_')
                    .collect::<String>()
                    .to_ascii_lowercase();
                if part.len() > 2 && part.chars().all(|c| c.is_ascii_alphabetic()) {
                    out.insert(part);
                }
                start = i;
            }
        }
    }
    out
}

/// Word → its strongest parts with their association.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Table {
    /// The associations, strongest first per word.
    pub words: HashMap<String, Vec<(String, f32)>>,
    /// Pairs it was learned from.
    pub pairs: usize,
}

impl Table {
    /// Learns the table from (prose, code) pairs.
    pub fn learn<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Table {
        let mut word_n: HashMap<String, u32> = HashMap::new();
        let mut part_n: HashMap<String, u32> = HashMap::new();
        let mut both: HashMap<(String, String), u32> = HashMap::new();
        let mut n = 0u32;
        for (prose, code) in pairs {
            let (ws, ps) = (words(prose), parts(code));
            if ws.is_empty() || ps.is_empty() {
                continue;
            }
            n += 1;
            for w in &ws {
                *word_n.entry(w.clone()).or_default() += 1;
            }
            for p in &ps {
                *part_n.entry(p.clone()).or_default() += 1;
            }
            for w in &ws {
                for p in &ps {
                    *both.entry((w.clone(), p.clone())).or_default() += 1;
                }
            }
        }
        let mut words: HashMap<String, Vec<(String, f32)>> = HashMap::new();
        for ((w, p), c) in both {
            let pmi = (f64::from(c) * f64::from(n)
                / (f64::from(word_n[&w]) * f64::from(part_n[&p])))
            .ln();
            if pmi > 0.0 {
                let a = pmi * f64::from(c.min(3)) / 3.0;
                words.entry(w).or_default().push((p, a as f32));
            }
        }
        for list in words.values_mut() {
            list.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            list.truncate(KEEP);
        }
        Table {
            words,
            pairs: n as usize,
        }
    }

    /// Whether it knows no word.
    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }

    /// The score of code with `parts` for a question with `words`: the mean
    /// over the words of the best association with one of the parts.
    pub fn score(&self, words: &[String], parts: &HashSet<String>) -> f64 {
        if words.is_empty() {
            return 0.0;
        }
        let total: f64 = words
            .iter()
            .map(|w| {
                self.words.get(w).map_or(0.0, |list| {
                    list.iter()
                        .find(|(p, _)| parts.contains(p))
                        .map_or(0.0, |(_, a)| f64::from(*a))
                })
            })
            .sum();
        total / words.len() as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_and_parts() {
        assert_eq!(
            words("Send the e-mail through the relay."),
            ["send", "mail", "through", "relay"]
        );
        let p = parts("fn parseHTTPHeader2(raw_line: &str) -> SmtpRelay");
        for want in [
            "parse", "http", "header", "raw", "line", "str", "smtp", "relay",
        ] {
            assert!(p.contains(want), "{want}: {p:?}");
        }
        assert!(!p.contains("fn"));
    }

    #[test]
    fn a_repositorys_words_find_its_code_words() {
        // Prose says "mail"; the code says "smtp" and "envelope".
        let pairs = [
            (
                "Send a mail to the user.",
                "def notify(user):\n    smtp.deliver(envelope(user))",
            ),
            (
                "Queue a mail for later.",
                "def later(msg):\n    spool.push(envelope(msg), smtp_host)",
            ),
            (
                "Resize the picture.",
                "def shrink(img):\n    return img.scale(0.5)",
            ),
            (
                "Crop the picture to a box.",
                "def crop(img, box):\n    return img.cut(box)",
            ),
        ];
        let table = Table::learn(pairs.iter().map(|(a, b)| (*a, *b)));
        assert_eq!(table.pairs, 4);
        let q = words("which code sends mail?");
        let mailer = parts("fn post(e) { smtp.send(envelope) }");
        let imager = parts("fn thumb(img) { img.scale(2) }");
        assert_eq!(q, ["sends", "mail"]);
        assert!(table.score(&q, &mailer) > 0.2, "{table:?}");
        assert_eq!(table.score(&q, &imager), 0.0);
        let json = serde_json::to_string(&table).unwrap();
        assert_eq!(serde_json::from_str::<Table>(&json).unwrap(), table);
    }
}
