//! Citations: parsed from the model's answer, each checked against the
//! evidence that was actually in its context.
//!
//! The prompt asks for `[n]` (evidence n) or `[n:a-b]` (lines a..=b of
//! evidence n); several may share brackets (`[1, 3:10-12]`). Brackets
//! inside code spans and fences are code, not citations. A citation is
//! kept only if `n` names packed evidence and its lines lie inside that
//! evidence; the rest are removed from the text and reported, never shown
//! as if verified.

use lore_core::Located;
use serde::Serialize;

use crate::pack::Packed;

/// A verified citation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Citation {
    /// The evidence id the answer cited.
    pub n: usize,
    /// The cited lines of the evidence, with its symbol, kind, language
    /// and the commit it was indexed at.
    #[serde(flatten)]
    pub at: Located,
    /// The file changed since it was indexed: the lines may have moved.
    pub stale: bool,
}

/// A citation that did not verify, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Rejected {
    /// The text as the model wrote it.
    pub text: String,
    /// Why it was removed.
    pub reason: String,
}

/// An answer's text after checking, with its citations.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Checked {
    /// The answer with unverifiable citations removed.
    pub text: String,
    /// Verified citations in order of first mention, without duplicates.
    pub citations: Vec<Citation>,
    /// Citations removed.
    pub rejected: Vec<Rejected>,
}

/// One reference inside brackets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Ref {
    n: usize,
    lines: Option<(u32, u32)>,
}

/// Parses the inside of brackets as citations: `2`, `2:10`, `2:10-14`,
/// `2: L10-L14`, comma- or semicolon-separated. `None` if it is not one.
fn parse_group(inner: &str) -> Option<Vec<Ref>> {
    let number = |s: &str| -> Option<u32> {
        let s = s.trim().trim_start_matches(['L', 'l']);
        if s.is_empty() || s.len() > 9 || !s.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        s.parse().ok()
    };
    let mut refs = Vec::new();
    for part in inner.split([',', ';']) {
        let part = part.trim();
        let (n, lines) = match part.split_once(':') {
            Some((n, range)) => {
                let (a, b) = match range.split_once(['-', '–']) {
                    Some((a, b)) => (number(a)?, number(b)?),
                    None => {
                        let a = number(range)?;
                        (a, a)
                    }
                };
                (n, Some((a.min(b), a.max(b))))
            }
            None => (part, None),
        };
        let n = n.trim();
        if n.is_empty() || n.len() > 4 || !n.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        refs.push(Ref {
            n: n.parse().ok()?,
            lines,
        });
    }
    (!refs.is_empty()).then_some(refs)
}

/// Byte ranges of code (fences and inline spans), where brackets are code.
fn code_ranges(text: &str) -> Vec<(usize, usize)> {
    let mut ranges = Vec::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'`' {
            let run = bytes[i..].iter().take_while(|&&b| b == b'`').count();
            let fence = &text[i..i + run];
            match text[i + run..].find(fence) {
                Some(end) => {
                    let close = i + run + end + run;
                    ranges.push((i, close));
                    i = close;
                }
                None => {
                    ranges.push((i, text.len()));
                    break;
                }
            }
        } else {
            i += 1;
        }
    }
    ranges
}

/// Checks every citation of `answer` against `packed`. `stale(path)` tells
/// whether a file changed since it was indexed.
pub fn check(
    answer: &str,
    packed: &[Packed],
    commit: &str,
    stale: &dyn Fn(&str) -> bool,
) -> Checked {
    let code = code_ranges(answer);
    let in_code = |at: usize| code.iter().any(|&(a, b)| at >= a && at < b);
    let mut text = String::with_capacity(answer.len());
    let mut citations: Vec<Citation> = Vec::new();
    let mut rejected = Vec::new();
    let mut rest = 0;
    let mut i = 0;
    while let Some(open) = answer[i..].find('[').map(|o| o + i) {
        let Some(close) = answer[open..].find(']').map(|c| c + open) else {
            break;
        };
        i = open + 1;
        if in_code(open) || close - open > 60 {
            continue;
        }
        let Some(refs) = parse_group(&answer[open + 1..close]) else {
            continue;
        };
        let mut kept: Vec<String> = Vec::new();
        for r in refs {
            let raw = match r.lines {
                Some((a, b)) if a == b => format!("{}:{a}", r.n),
                Some((a, b)) => format!("{}:{a}-{b}", r.n),
                None => r.n.to_string(),
            };
            let Some(p) = packed.iter().find(|p| p.n == r.n) else {
                rejected.push(Rejected {
                    text: format!("[{raw}]"),
                    reason: format!("no evidence [{}] was given", r.n),
                });
                continue;
            };
            let e = &p.evidence;
            let (start, end) = r.lines.unwrap_or((e.at.start_line, e.at.end_line));
            if start < e.at.start_line || end > e.at.end_line {
                rejected.push(Rejected {
                    text: format!("[{raw}]"),
                    reason: format!(
                        "lines {start}-{end} are outside evidence [{}] {}:{}-{}",
                        r.n, e.at.path, e.at.start_line, e.at.end_line
                    ),
                });
                continue;
            }
            kept.push(raw);
            let citation = Citation {
                n: r.n,
                at: Located {
                    start_line: start,
                    end_line: end,
                    commit: Some(commit.to_owned()),
                    ..e.at.clone()
                },
                stale: stale(&e.at.path),
            };
            if !citations.contains(&citation) {
                citations.push(citation);
            }
        }
        text.push_str(&answer[rest..open]);
        if kept.is_empty() {
            // Drop the space before a removed marker too.
            while text.ends_with(' ') {
                text.pop();
            }
        } else {
            text.push('[');
            text.push_str(&kept.join(", "));
            text.push(']');
        }
        rest = close + 1;
        i = close + 1;
    }
    text.push_str(&answer[rest..]);
    Checked {
        text,
        citations,
        rejected,
    }
}

/// Checks citations while an answer streams in: text is passed on as soon
/// as no citation can still be forming in it, with unverifiable citations
/// already removed, so nothing unverified is ever shown.
pub struct StreamCheck<'a> {
    packed: &'a [Packed],
    text: String,
    shown: usize,
}

impl std::fmt::Debug for StreamCheck<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamCheck")
            .field("shown", &self.shown)
            .finish()
    }
}

impl<'a> StreamCheck<'a> {
    /// A check against `packed` evidence.
    pub fn new(packed: &'a [Packed]) -> StreamCheck<'a> {
        StreamCheck {
            packed,
            text: String::new(),
            shown: 0,
        }
    }

    /// Adds streamed text; returns what can be shown now.
    pub fn push(&mut self, chunk: &str) -> String {
        self.text.push_str(chunk);
        let code = code_ranges(&self.text);
        let in_code = |at: usize| code.iter().any(|&(a, b)| at >= a && at < b);
        // Hold back from an open bracket that may still become a citation,
        // and trailing spaces (a removed citation takes the space before it).
        let mut end = self.text.len();
        if let Some(open) = self.text.rfind('[')
            && !in_code(open)
            && !self.text[open..].contains(']')
            && self.text.len() - open <= 60
        {
            end = open;
        }
        end = self.text[..end].trim_end_matches(' ').len();
        self.show(end)
    }

    /// Everything not shown yet, once the stream has ended.
    pub fn finish(&mut self) -> String {
        self.show(self.text.len())
    }

    fn show(&mut self, end: usize) -> String {
        let checked = check(&self.text[..end], self.packed, "", &|_| false).text;
        if checked.len() <= self.shown {
            return String::new();
        }
        let new = checked[self.shown..].to_owned();
        self.shown = checked.len();
        new
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pack::Evidence;

    fn packed() -> Vec<Packed> {
        let e = |path: &str, start: u32, end: u32| Evidence {
            at: Located {
                symbol: Some(format!("{path}::f")),
                lang: "python".into(),
                ..Located::lines(path, start, end)
            },
            text: String::new(),
            score: 1.0,
        };
        vec![
            Packed {
                n: 1,
                evidence: e("net/retry.py", 10, 30),
            },
            Packed {
                n: 2,
                evidence: e("net/client.py", 100, 140),
            },
        ]
    }

    fn fresh(_: &str) -> bool {
        false
    }

    #[test]
    fn valid_citations_are_kept_with_their_lines() {
        let c = check(
            "Retries stop after MAX_ATTEMPTS [1:12-14]; the client calls it [2].",
            &packed(),
            "abc",
            &fresh,
        );
        assert!(c.rejected.is_empty(), "{:?}", c.rejected);
        assert_eq!(
            c.text,
            "Retries stop after MAX_ATTEMPTS [1:12-14]; the client calls it [2]."
        );
        assert_eq!(c.citations.len(), 2);
        assert_eq!(
            (
                c.citations[0].at.path.as_str(),
                c.citations[0].at.start_line,
                c.citations[0].at.end_line
            ),
            ("net/retry.py", 12, 14)
        );
        assert_eq!(
            (c.citations[1].at.start_line, c.citations[1].at.end_line),
            (100, 140)
        );
        assert_eq!(c.citations[1].at.commit.as_deref(), Some("abc"));
        assert!(!c.citations[0].stale);
    }

    #[test]
    fn out_of_range_and_invented_citations_are_removed() {
        let c = check(
            "It backs off [1:5-9] and logs [7], see also [2:120-125, 1:40].",
            &packed(),
            "abc",
            &fresh,
        );
        assert_eq!(c.text, "It backs off and logs, see also [2:120-125].");
        assert_eq!(c.citations.len(), 1);
        assert_eq!(c.rejected.len(), 3);
        assert!(
            c.rejected[0]
                .reason
                .contains("outside evidence [1] net/retry.py:10-30"),
            "{:?}",
            c.rejected
        );
        assert!(c.rejected[1].reason.contains("no evidence [7]"));
        assert_eq!(c.rejected[2].text, "[1:40]");
    }

    #[test]
    fn stale_files_are_flagged() {
        let stale = |path: &str| path == "net/client.py";
        let c = check("See [1] and [2].", &packed(), "abc", &stale);
        assert_eq!(
            c.citations.iter().map(|c| c.stale).collect::<Vec<_>>(),
            [false, true]
        );
    }

    #[test]
    fn brackets_in_code_and_prose_are_not_citations() {
        let answer =
            "Use `items[1]` or\n```python\nx = a[2]\n```\nas in [the docs] and [1, 1:L11-L12].";
        let c = check(answer, &packed(), "abc", &fresh);
        assert!(c.rejected.is_empty(), "{:?}", c.rejected);
        assert_eq!(c.citations.len(), 2);
        assert_eq!(
            c.text,
            "Use `items[1]` or\n```python\nx = a[2]\n```\nas in [the docs] and [1, 1:11-12]."
        );
        assert_eq!(c.citations.len(), 2);
        assert_eq!(
            (c.citations[1].at.start_line, c.citations[1].at.end_line),
            (11, 12)
        );
    }

    #[test]
    fn streamed_text_never_shows_an_unverified_citation() {
        let answer = "Retries stop [1:12-14] and it logs [7]; `a[2]` is code [2].";
        let packed = packed();
        for size in [1, 2, 3, 5, 8, 13, 100] {
            let mut stream = StreamCheck::new(&packed);
            let mut shown = String::new();
            let chars: Vec<char> = answer.chars().collect();
            for piece in chars.chunks(size) {
                let out = stream.push(&piece.iter().collect::<String>());
                assert!(!out.contains("[7"), "size {size}: {out}");
                shown.push_str(&out);
            }
            shown.push_str(&stream.finish());
            assert_eq!(
                shown,
                check(answer, &packed, "", &fresh).text,
                "size {size}"
            );
        }
    }

    #[test]
    fn duplicate_citations_are_listed_once() {
        let c = check("A [1]. B [1]. C [1:12].", &packed(), "abc", &fresh);
        assert_eq!(c.citations.len(), 2);
    }
}
