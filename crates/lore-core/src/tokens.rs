//! The code-aware tokenizer shared by lexical search and, later, embeddings.
//!
//! Code names glue words together: `parseHTTPRequest`, `parse_http_request`,
//! `parse-http-request`, `sha256`. A developer searching for "http request"
//! should find all of them, and one searching for `parseHttpRequest` should
//! find the exact identifier first. So every identifier yields its lower-cased
//! parts *and* the whole identifier (lower-cased, separators removed), the
//! whole one at the position of its first part.

/// Words longer than this (base64 blobs, hashes) are not indexed.
pub const MAX_WORD_LEN: usize = 96;

/// One token produced by [`tokenize`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Token {
    /// Lower-cased token text.
    pub text: String,
    /// Byte offset of the token's source in the input.
    pub start: usize,
    /// Byte offset one past the token's source.
    pub end: usize,
    /// Token position; the whole-identifier token shares its first part's.
    pub position: usize,
}

/// Splits one identifier into its parts, as byte ranges into `word`.
///
/// Boundaries: `_` and `-` separators, lower→upper (`camelCase`), the last
/// capital of a capital run followed by lower case (`HTTPServer` →
/// `HTTP`,`Server`), and letter↔digit (`sha256` → `sha`,`256`).
pub fn split_identifier(word: &str) -> Vec<(usize, usize)> {
    #[derive(Clone, Copy, PartialEq)]
    enum Class {
        Upper,
        Lower,
        Digit,
        Sep,
    }
    fn class(c: char) -> Class {
        if c == '_' || c == '-' {
            Class::Sep
        } else if c.is_numeric() {
            Class::Digit
        } else if c.is_uppercase() {
            Class::Upper
        } else {
            Class::Lower
        }
    }

    let chars: Vec<(usize, char)> = word.char_indices().collect();
    let mut parts = Vec::new();
    let mut start: Option<usize> = None;
    for (i, &(offset, c)) in chars.iter().enumerate() {
        let cur = class(c);
        if cur == Class::Sep {
            if let Some(s) = start.take() {
                parts.push((s, offset));
            }
            continue;
        }
        let Some(s) = start else {
            start = Some(offset);
            continue;
        };
        let prev = class(chars[i - 1].1);
        let next = chars.get(i + 1).map(|&(_, c)| class(c));
        let boundary = match (prev, cur) {
            (Class::Lower, Class::Upper) => true,
            (Class::Upper, Class::Upper) => next == Some(Class::Lower),
            (Class::Digit, Class::Upper | Class::Lower) => true,
            (Class::Upper | Class::Lower, Class::Digit) => true,
            _ => false,
        };
        if boundary {
            parts.push((s, offset));
            start = Some(offset);
        }
    }
    if let Some(s) = start {
        parts.push((s, word.len()));
    }
    parts
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Calls `f` for each word of `text`: maximal runs of alphanumerics and `_`,
/// joined across a `-` that sits between two letters (kebab-case).
pub fn for_each_word(text: &str, mut f: impl FnMut(usize, usize)) {
    let bytes = text.as_bytes();
    let mut iter = text.char_indices().peekable();
    let mut start: Option<usize> = None;
    while let Some((offset, c)) = iter.next() {
        if is_word_char(c) {
            if start.is_none() {
                start = Some(offset);
            }
            continue;
        }
        if c == '-' && start.is_some() {
            let prev_alpha = offset > 0 && (bytes[offset - 1] as char).is_ascii_alphabetic();
            let next_alpha = iter.peek().is_some_and(|&(_, n)| n.is_alphabetic());
            if prev_alpha && next_alpha {
                continue;
            }
        }
        if let Some(s) = start.take() {
            f(s, offset);
        }
    }
    if let Some(s) = start {
        f(s, text.len());
    }
}

/// Tokenizes `text` into parts and whole identifiers. See the module docs.
pub fn tokenize(text: &str, mut emit: impl FnMut(Token)) {
    let mut position = 0;
    for_each_word(text, |start, end| {
        let word = &text[start..end];
        if word.len() > MAX_WORD_LEN {
            return;
        }
        let parts = split_identifier(word);
        if parts.is_empty() {
            return;
        }
        if parts.len() > 1 {
            let whole: String = word
                .chars()
                .filter(|&c| c != '_' && c != '-')
                .flat_map(char::to_lowercase)
                .collect();
            emit(Token {
                text: whole,
                start,
                end,
                position,
            });
        }
        for (s, e) in parts {
            emit(Token {
                text: word[s..e].to_lowercase(),
                start: start + s,
                end: start + e,
                position,
            });
            position += 1;
        }
    });
}

/// Convenience: the token texts of `text`, in order.
pub fn token_texts(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    tokenize(text, |t| out.push(t.text));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(word: &str) -> Vec<&str> {
        split_identifier(word)
            .into_iter()
            .map(|(s, e)| &word[s..e])
            .collect()
    }

    #[test]
    fn splits_conventions() {
        assert_eq!(parts("parseHttpRequest"), ["parse", "Http", "Request"]);
        assert_eq!(parts("HTTPServerError"), ["HTTP", "Server", "Error"]);
        assert_eq!(parts("parse_http_request"), ["parse", "http", "request"]);
        assert_eq!(parts("parse-http-request"), ["parse", "http", "request"]);
        assert_eq!(parts("MAX_RETRY_COUNT"), ["MAX", "RETRY", "COUNT"]);
        assert_eq!(parts("sha256sum"), ["sha", "256", "sum"]);
        assert_eq!(parts("utf8"), ["utf", "8"]);
        assert_eq!(parts("__init__"), ["init"]);
        assert_eq!(parts("IOError"), ["IO", "Error"]);
        assert_eq!(parts("x"), ["x"]);
        assert_eq!(parts("Straße"), ["Straße"]);
        assert!(parts("___").is_empty());
    }

    #[test]
    fn keeps_whole_identifier_and_parts() {
        assert_eq!(
            token_texts("getUserById"),
            ["getuserbyid", "get", "user", "by", "id"]
        );
        assert_eq!(token_texts("user_id"), ["userid", "user", "id"]);
        assert_eq!(
            token_texts("kebab-case-name"),
            ["kebabcasename", "kebab", "case", "name"]
        );
        assert_eq!(token_texts("retry"), ["retry"]);
    }

    #[test]
    fn operators_are_not_kebab() {
        assert_eq!(token_texts("a - b"), ["a", "b"]);
        assert_eq!(token_texts("n-1"), ["n", "1"]);
        assert_eq!(
            token_texts("self.max_retries"),
            ["self", "maxretries", "max", "retries"]
        );
    }

    #[test]
    fn positions_and_offsets() {
        let mut tokens = Vec::new();
        tokenize("fooBar baz", |t| tokens.push(t));
        let got: Vec<_> = tokens
            .iter()
            .map(|t| (t.text.as_str(), t.start, t.end, t.position))
            .collect();
        assert_eq!(
            got,
            [
                ("foobar", 0, 6, 0),
                ("foo", 0, 3, 0),
                ("bar", 3, 6, 1),
                ("baz", 7, 10, 2)
            ]
        );
    }

    #[test]
    fn skips_overlong_words() {
        let blob = "a".repeat(MAX_WORD_LEN + 1);
        assert_eq!(token_texts(&format!("{blob} ok")), ["ok"]);
    }
}
