//! What a question asks for, read from its words: which code names it
//! mentions, whether it asks for callers or a definition, whether it is a
//! follow-up, and whether it is complex enough for a large model.
//!
//! These are documented heuristics, not a model: they must be cheap (they
//! run before retrieval) and predictable (`--explain` shows the result).

use serde::Serialize;

/// What kind of answer the question wants.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Intent {
    /// "what calls X", "where is X used", "callers of X".
    Callers,
    /// "where is X defined", "which file has X".
    Definition,
    /// Anything else: how, why, what.
    General,
}

/// A question read for retrieval.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Question {
    /// The text as asked.
    pub text: String,
    /// Code names it mentions (`backticked`, `snake_case`, `CamelCase`,
    /// `a.b`, `a::b`, `name()`), in order, without duplicates.
    pub identifiers: Vec<String>,
    /// What it asks for.
    pub intent: Intent,
    /// Refers back to the previous answer ("it", "that function", "its
    /// callers") without naming anything itself.
    pub follow_up: bool,
    /// Multi-hop, "why", "what breaks": routed to the large model.
    pub complex: bool,
}

/// Caller phrases followed by the name asked about, whatever its shape
/// ("what calls vat?", "callers of Parse"): a plain word there is a code
/// name too.
const CALLERS_OF: &[&str] = &[
    "what calls",
    "who calls",
    "which functions call",
    "what uses",
    "who uses",
    "callers of",
    "usages of",
    "uses of",
    "references to",
];

/// Other phrases that ask for callers.
const CALLER_PHRASES: &[&str] = &[
    "call sites",
    "called from",
    "is called",
    "are called",
    "gets called",
    "is used",
    "are used",
    "its callers",
    "the callers",
];

const DEFINITION_PHRASES: &[&str] = &[
    "where is",
    "where are",
    "where's",
    "which file",
    "defined",
    "definition of",
    "declared",
    "implemented",
    "find ",
    "locate",
    "show me",
];

const COMPLEX_PHRASES: &[&str] = &[
    "why ",
    "what breaks",
    "what would break",
    "break if",
    "impact",
    "difference between",
    "compare",
    "trade-off",
    "tradeoff",
    "end to end",
    "end-to-end",
    "flow",
    "trace",
    "step by step",
    "interact",
    "relationship",
    "refactor",
    "design",
];

const FOLLOW_UP_WORDS: &[&str] = &[
    "it", "its", "it's", "this", "that", "these", "those", "they", "them", "their", "there",
    "above", "same",
];

/// Questions longer than this (in words) count as complex.
const LONG_QUESTION_WORDS: usize = 30;

/// Words that follow those phrases without being names.
const NOT_NAMES: &[&str] = &[
    "a", "an", "the", "it", "its", "this", "that", "these", "those", "them", "my", "our", "your",
    "function", "method", "class", "code", "here",
];

/// The word right after a [`CALLERS_OF`] phrase or "definition of", or X in "where is X
/// called" (used, invoked), if it can be a name.
fn named_after_phrase(text: &str) -> Option<(String, bool)> {
    let lower = text.to_lowercase();
    let words: Vec<&str> = text
        .split_whitespace()
        .map(|w| w.trim_matches(|c: char| !(c.is_alphanumeric() || matches!(c, '_' | '.' | ':'))))
        .collect();
    for w in words.windows(4) {
        let (a, b, name, verb) = (w[0], w[1], w[2], w[3]);
        if a.eq_ignore_ascii_case("where")
            && matches!(b.to_lowercase().as_str(), "is" | "are")
            && matches!(
                verb.to_lowercase().as_str(),
                "called" | "used" | "invoked" | "referenced" | "imported"
            )
            && !NOT_NAMES.contains(&name.to_lowercase().as_str())
            && name
                .chars()
                .next()
                .is_some_and(|c| c.is_alphabetic() || c == '_')
        {
            let callers = !verb.eq_ignore_ascii_case("imported");
            return Some((name.trim_end_matches(['.', ':']).to_owned(), callers));
        }
    }
    for phrase in CALLERS_OF.iter().chain(&["definition of"]) {
        let Some(at) = lower.find(phrase) else {
            continue;
        };
        let rest = &text[at + phrase.len()..];
        let word: String = rest
            .trim_start()
            .trim_start_matches('`')
            .chars()
            .take_while(|c| c.is_alphanumeric() || matches!(c, '_' | '.' | ':'))
            .collect();
        let word = word.trim_end_matches(['.', ':']);
        if !word.is_empty()
            && word
                .chars()
                .next()
                .is_some_and(|c| c.is_alphabetic() || c == '_')
            && !NOT_NAMES.contains(&word.to_lowercase().as_str())
        {
            return Some((word.to_owned(), *phrase != "definition of"));
        }
    }
    None
}

impl Question {
    /// Reads `text`.
    pub fn parse(text: &str) -> Question {
        let mut identifiers = identifiers(text);
        let named = named_after_phrase(text);
        if let Some((name, _)) = &named
            && !identifiers.contains(name)
        {
            identifiers.insert(0, name.clone());
        }
        let lower = format!(" {} ", text.to_lowercase());
        let has = |phrases: &[&str]| phrases.iter().any(|p| lower.contains(p));
        let intent = if has(CALLERS_OF)
            || has(CALLER_PHRASES)
            || named.as_ref().is_some_and(|(_, callers)| *callers)
        {
            Intent::Callers
        } else if has(DEFINITION_PHRASES) {
            Intent::Definition
        } else {
            Intent::General
        };
        let words: Vec<&str> = lower
            .split(|c: char| !(c.is_alphanumeric() || c == '\''))
            .filter(|w| !w.is_empty())
            .collect();
        let follow_up = identifiers.is_empty()
            && (words.iter().any(|w| FOLLOW_UP_WORDS.contains(w))
                || words.len() <= 3
                || lower.trim_start().starts_with("and ")
                || lower.trim_start().starts_with("what about"));
        let complex = has(COMPLEX_PHRASES)
            || identifiers.len() >= 3
            || words.len() > LONG_QUESTION_WORDS
            || lower.matches(" and ").count() >= 2;
        Question {
            text: text.trim().to_owned(),
            identifiers,
            intent,
            follow_up,
            complex,
        }
    }
}

/// Code names in `text`: backticked spans first, then words that can only
/// be code (an underscore, an inner capital, a `.`/`::` path, `()`).
pub fn identifiers(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut push = |name: &str| {
        let name = name
            .trim_matches(|c: char| !(c.is_alphanumeric() || c == '_'))
            .trim_end_matches("()");
        if !name.is_empty() && !out.iter().any(|o| o == name) {
            out.push(name.to_owned());
        }
    };
    let mut rest = text;
    while let Some(start) = rest.find('`') {
        let after = &rest[start + 1..];
        let Some(len) = after.find('`') else { break };
        push(&after[..len]);
        rest = &after[len + 1..];
    }
    let unquoted: String = text
        .split('`')
        .enumerate()
        .filter(|(i, _)| i % 2 == 0)
        .map(|(_, s)| s)
        .collect::<Vec<_>>()
        .join(" ");
    for word in unquoted.split(|c: char| c.is_whitespace() || ",;?!\"'<>[]{}".contains(c)) {
        let word = word.trim_end_matches(['.', ':']);
        let core = word.trim_end_matches("()");
        if core.is_empty()
            || !core
                .chars()
                .next()
                .is_some_and(|c| c.is_alphabetic() || c == '_')
        {
            continue;
        }
        if !core
            .chars()
            .all(|c| c.is_alphanumeric() || c == '_' || c == '.' || c == ':')
        {
            continue;
        }
        let call = word.ends_with("()");
        let snake = core.contains('_') && core.len() > 1;
        let path =
            core.contains("::") || (core.contains('.') && core.split('.').all(|p| !p.is_empty()));
        let inner_capital = core
            .char_indices()
            .skip(1)
            .any(|(i, c)| c.is_uppercase() && core[..i].chars().any(char::is_lowercase));
        let acronym_call = core.len() > 1 && core.chars().all(|c| c.is_uppercase() || c == '_');
        if call || snake || path || inner_capital || (acronym_call && core.contains('_')) {
            push(core);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_names_are_found_and_plain_words_are_not() {
        assert_eq!(
            identifiers(
                "Where is `resolve_redirects` and what does Session.send() do with MAX_RETRIES?"
            ),
            vec!["resolve_redirects", "Session.send", "MAX_RETRIES"]
        );
        assert_eq!(
            identifiers("How does QuerySet handle get_or_create, and parseHttpRequest?"),
            vec!["QuerySet", "get_or_create", "parseHttpRequest"]
        );
        assert_eq!(
            identifiers("Where are redirects followed? The end."),
            Vec::<String>::new()
        );
        assert_eq!(
            identifiers("what calls std::fs::read"),
            vec!["std::fs::read"]
        );
        assert_eq!(identifiers("what calls `send`"), vec!["send"]);
    }

    #[test]
    fn the_word_after_what_calls_is_a_name_whatever_its_shape() {
        assert_eq!(Question::parse("what calls vat?").identifiers, ["vat"]);
        assert_eq!(
            Question::parse("Who calls Parse in the server?").identifiers,
            ["Parse"]
        );
        assert_eq!(
            Question::parse("callers of Session.send").identifiers,
            ["Session.send"]
        );
        let q = Question::parse("and what calls it?");
        assert!(q.identifiers.is_empty() && q.follow_up);
        let q = Question::parse("Where is render called?");
        assert_eq!(q.identifiers, ["render"]);
        assert_eq!(q.intent, Intent::Callers);
        assert!(Question::parse("where is it used?").identifiers.is_empty());
        assert!(
            Question::parse("what calls the parser?")
                .identifiers
                .is_empty()
        );
    }

    #[test]
    fn intent_follow_up_and_complexity_are_read_from_the_words() {
        let q = Question::parse("What calls `check_password`?");
        assert_eq!(q.intent, Intent::Callers);
        assert!(!q.follow_up && !q.complex);

        let q = Question::parse("where is the cache key computed");
        assert_eq!(q.intent, Intent::Definition);

        let q = Question::parse("how are migrations squashed");
        assert_eq!(q.intent, Intent::General);
        assert!(!q.follow_up);

        let q = Question::parse("and what calls it?");
        assert_eq!(q.intent, Intent::Callers);
        assert!(q.follow_up);

        let q = Question::parse("Why does the ORM clone a QuerySet before filtering?");
        assert!(q.complex);
        let q = Question::parse("What breaks if I rename `get_user`?");
        assert!(q.complex);
    }
}
