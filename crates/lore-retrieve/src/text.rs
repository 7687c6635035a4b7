//! Matching the words of a question against the names of code.
//!
//! Questions say "number of documents", code says `num_docs`. A query word
//! matches a name part when their light stems are equal or one is a prefix
//! of the other (both at least three letters), which covers plurals, verb
//! forms and the usual abbreviations without a dictionary. Common English
//! function words are dropped from queries first.

use lore_core::tokens::{for_each_part, for_each_word};

/// English function words that carry no meaning in a code question.
const STOP_WORDS: &[&str] = &[
    "a", "an", "and", "any", "are", "as", "at", "be", "by", "can", "could", "do", "does", "for",
    "from", "given", "how", "if", "in", "into", "is", "it", "its", "may", "must", "no", "not",
    "of", "on", "or", "should", "than", "that", "the", "their", "then", "there", "these", "this",
    "those", "to", "we", "what", "when", "where", "whether", "which", "who", "why", "will", "with",
    "would",
];

/// Whether `word` (lower case) is a function word.
pub fn is_stop_word(word: &str) -> bool {
    STOP_WORDS.binary_search(&word).is_ok()
}

/// The meaningful words of a query, lower-cased, identifiers split into
/// their parts, function words and one-letter words dropped, deduplicated.
pub fn query_terms(query: &str) -> Vec<String> {
    let mut terms = Vec::new();
    for_each_word(query, |start, end| {
        let word = &query[start..end];
        for_each_part(word, |s, e| {
            let part = word[s..e].to_lowercase();
            if part.len() >= 2
                && part.chars().all(char::is_alphabetic)
                && !is_stop_word(&part)
                && !terms.contains(&part)
            {
                terms.push(part);
            }
        });
    });
    terms
}

/// The parts of a symbol's own name (the last segment of a qualified name
/// such as `Type::method` or `Class.method`), lower-cased.
pub fn name_parts(symbol: &str) -> Vec<String> {
    let last = symbol.rsplit([':', '.']).next().unwrap_or(symbol);
    let mut parts = Vec::new();
    for_each_part(last, |s, e| {
        let part = last[s..e].to_lowercase();
        if part.len() >= 2 && part.chars().all(char::is_alphabetic) {
            parts.push(part);
        }
    });
    parts
}

/// A light English stem: drops one plural or verb ending.
pub fn stem(word: &str) -> std::borrow::Cow<'_, str> {
    if word.len() > 5 && word.ends_with("ies") {
        return format!("{}y", &word[..word.len() - 3]).into();
    }
    for suffix in ["es", "s", "ing", "ed"] {
        if word.len() > suffix.len() + 2 && word.ends_with(suffix) {
            return word[..word.len() - suffix.len()].into();
        }
    }
    word.into()
}

/// Whether two lower-case words match: same stem, or one stem a prefix of
/// the other's with both at least three letters (`num` ~ `number`).
pub fn words_match(a: &str, b: &str) -> bool {
    stems_match(&stem(a), &stem(b))
}

/// [`words_match`] on words already stemmed.
fn stems_match(a: &str, b: &str) -> bool {
    a == b || (a.len() >= 3 && b.len() >= 3 && (a.starts_with(b) || b.starts_with(a)))
}

/// How many of `words` match some word of `others` (both stemmed).
fn matched(words: &[std::borrow::Cow<'_, str>], others: &[std::borrow::Cow<'_, str>]) -> usize {
    words
        .iter()
        .filter(|w| others.iter().any(|o| stems_match(w, o)))
        .count()
}

/// How a symbol's name matches a query.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct NameMatch {
    /// Share of the name's parts that some query term matches.
    pub precision: f64,
    /// Share of the query terms that some name part matches.
    pub recall: f64,
}

/// Matches query `terms` (from [`query_terms`]) against a symbol's name.
pub fn name_match(terms: &[String], symbol: &str) -> NameMatch {
    let parts = name_parts(symbol);
    if parts.is_empty() || terms.is_empty() {
        return NameMatch::default();
    }
    // Each word stemmed once, not once per pair.
    let parts: Vec<_> = parts.iter().map(|p| stem(p)).collect();
    let terms: Vec<_> = terms.iter().map(|t| stem(t)).collect();
    let precision = matched(&parts, &terms) as f64 / parts.len() as f64;
    let recall = matched(&terms, &parts) as f64 / terms.len() as f64;
    NameMatch { precision, recall }
}

/// Share of the query `terms` that match a word of `path` (directory and
/// file names split into their parts, the extension included).
pub fn path_match(terms: &[String], path: &str) -> f64 {
    if terms.is_empty() {
        return 0.0;
    }
    let mut parts: Vec<String> = Vec::new();
    for_each_word(path, |start, end| {
        let word = &path[start..end];
        for_each_part(word, |s, e| parts.push(word[s..e].to_lowercase()));
    });
    let parts: Vec<_> = parts.iter().map(|p| stem(p)).collect();
    let terms: Vec<_> = terms.iter().map(|t| stem(t)).collect();
    matched(&terms, &parts) as f64 / terms.len() as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stop_words_are_sorted_for_binary_search() {
        assert!(STOP_WORDS.windows(2).all(|w| w[0] < w[1]));
        assert!(is_stop_word("the"));
        assert!(!is_stop_word("retry"));
    }

    #[test]
    fn query_terms_drop_function_words_and_split_identifiers() {
        assert_eq!(
            query_terms("Returns the number of docs in `term_info`"),
            ["returns", "number", "docs", "term", "info"]
        );
    }

    #[test]
    fn abbreviations_and_plurals_match() {
        assert!(words_match("number", "num"));
        assert!(words_match("documents", "docs"));
        assert!(words_match("retries", "retry"));
        assert!(words_match("merged", "merge"));
        assert!(!words_match("is", "isolate"));
        assert!(!words_match("segment", "sequence"));
    }

    #[test]
    fn path_match_by_hand() {
        let terms = query_terms("parse the request headers");
        assert_eq!(path_match(&terms, "src/http/request_parser.rs"), 2.0 / 3.0);
        assert_eq!(path_match(&terms, "docs/index.md"), 0.0);
        assert_eq!(path_match(&[], "src/a.rs"), 0.0);
    }

    #[test]
    fn name_match_by_hand() {
        let terms = query_terms("Returns the number of documents in this segment");
        // `num_docs`: both parts matched; 2 of 4 terms (returns, number, documents, segment).
        let m = name_match(&terms, "SegmentReader::num_docs");
        assert_eq!(m.precision, 1.0);
        assert_eq!(m.recall, 0.5);
        let m = name_match(&terms, "Index.open");
        assert_eq!(m, NameMatch::default());
        assert_eq!(name_match(&terms, ""), NameMatch::default());
    }
}
