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

#[derive(Clone, Copy, PartialEq)]
enum Class {
    Upper,
    Lower,
    Digit,
    Sep,
}

fn class(c: char) -> Class {
    if c.is_ascii() {
        match c {
            'A'..='Z' => Class::Upper,
            '0'..='9' => Class::Digit,
            '_' | '-' => Class::Sep,
            _ => Class::Lower,
        }
    } else if c.is_numeric() {
        Class::Digit
    } else if c.is_uppercase() {
        Class::Upper
    } else {
        Class::Lower
    }
}

/// Calls `f` with the byte range of each part of one identifier, in order.
///
/// Boundaries: `_` and `-` separators, lower→upper (`camelCase`), the last
/// capital of a capital run followed by lower case (`HTTPServer` →
/// `HTTP`,`Server`), and letter↔digit (`sha256` → `sha`,`256`).
pub fn for_each_part(word: &str, mut f: impl FnMut(usize, usize)) {
    let mut chars = word.char_indices().map(|(i, c)| (i, class(c))).peekable();
    let mut start: Option<usize> = None;
    let mut prev = Class::Sep;
    while let Some((offset, cur)) = chars.next() {
        if cur == Class::Sep {
            if let Some(s) = start.take() {
                f(s, offset);
            }
            prev = cur;
            continue;
        }
        match start {
            None => start = Some(offset),
            Some(s) => {
                let next = chars.peek().map(|&(_, c)| c);
                let boundary = match (prev, cur) {
                    (Class::Lower, Class::Upper) => true,
                    (Class::Upper, Class::Upper) => next == Some(Class::Lower),
                    (Class::Digit, Class::Upper | Class::Lower) => true,
                    (Class::Upper | Class::Lower, Class::Digit) => true,
                    _ => false,
                };
                if boundary {
                    f(s, offset);
                    start = Some(offset);
                }
            }
        }
        prev = cur;
    }
    if let Some(s) = start {
        f(s, word.len());
    }
}

/// The parts of one identifier as byte ranges into `word`; see [`for_each_part`].
pub fn split_identifier(word: &str) -> Vec<(usize, usize)> {
    let mut parts = Vec::new();
    for_each_part(word, |s, e| parts.push((s, e)));
    parts
}

fn is_word_char(c: char) -> bool {
    if c.is_ascii() {
        c.is_ascii_alphanumeric() || c == '_'
    } else {
        c.is_alphanumeric()
    }
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

/// Appends `s` lower-cased to `out`, leaving out `_` and `-` if `strip`.
fn push_lower(out: &mut String, s: &str, strip: bool) {
    if s.is_ascii() {
        out.extend(
            s.bytes()
                .filter(|&b| !(strip && (b == b'_' || b == b'-')))
                .map(|b| b.to_ascii_lowercase() as char),
        );
    } else {
        out.extend(
            s.chars()
                .filter(|&c| !(strip && (c == '_' || c == '-')))
                .flat_map(char::to_lowercase),
        );
    }
}

/// A token lent to the callback of [`tokenize_with`].
#[derive(Clone, Copy, Debug)]
pub struct TokenRef<'a> {
    /// Lower-cased token text.
    pub text: &'a str,
    /// Byte offset of the token's source in the input.
    pub start: usize,
    /// Byte offset one past the token's source.
    pub end: usize,
    /// Token position; the whole-identifier token shares its first part's.
    pub position: usize,
}

/// Tokenizes `text` into parts and whole identifiers (see the module docs)
/// without allocating per token: each token is lent to `emit`.
pub fn tokenize_with(text: &str, mut emit: impl FnMut(TokenRef<'_>)) {
    let mut position = 0;
    let mut buf = String::with_capacity(MAX_WORD_LEN);
    let mut parts: Vec<(usize, usize)> = Vec::with_capacity(8);
    for_each_word(text, |start, end| {
        let word = &text[start..end];
        if word.len() > MAX_WORD_LEN {
            return;
        }
        parts.clear();
        for_each_part(word, |s, e| parts.push((s, e)));
        if parts.is_empty() {
            return;
        }
        if parts.len() > 1 {
            buf.clear();
            push_lower(&mut buf, word, true);
            emit(TokenRef {
                text: &buf,
                start,
                end,
                position,
            });
        }
        for &(s, e) in &parts {
            buf.clear();
            push_lower(&mut buf, &word[s..e], false);
            emit(TokenRef {
                text: &buf,
                start: start + s,
                end: start + e,
                position,
            });
            position += 1;
        }
    });
}

/// Tokenizes `text` into parts and whole identifiers. See the module docs.
pub fn tokenize(text: &str, mut emit: impl FnMut(Token)) {
    tokenize_with(text, |t| {
        emit(Token {
            text: t.text.to_owned(),
            start: t.start,
            end: t.end,
            position: t.position,
        })
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
