//! The extractive answer: built from the evidence alone, with no model.
//!
//! A lead sentence names the most relevant symbols and where they are (or,
//! for "what calls X", how many call sites there are and the first ones);
//! then a card per symbol — signature, first doc line, location, callers
//! and callees, churn — and the key lines of its code. Every statement
//! cites the evidence it comes from with the same `[n]` / `[n:a-b]`
//! syntax a model uses, so the answer goes through the same verifier.

use std::collections::HashSet;
use std::fmt::Write;

use lore_index::RepoIndex;

use crate::Result;
use crate::gather::{Gathered, Source};
use crate::pack::Packed;
use crate::question::{Intent, Question};

/// Symbols named in the lead sentence.
const LEAD_SYMBOLS: usize = 3;
/// Cards shown.
const CARDS: usize = 4;
/// Key lines shown per card.
const KEY_LINES: usize = 3;
/// Callees named per card.
const CALLEES_NAMED: usize = 4;
/// Characters of a signature or doc line shown.
const LINE_CHARS: usize = 160;

/// Builds the extractive answer from packed evidence (ids `[n]`).
pub fn answer(
    index: &RepoIndex,
    question: &Question,
    gathered: &Gathered,
    packed: &[Packed],
) -> Result<String> {
    if packed.is_empty() {
        return Ok(format!(
            "Nothing in the index matches “{}”. Try the names of the code involved, or `lore search`.",
            question.text
        ));
    }
    let mut out = String::new();
    let terms = terms(&question.text);

    // Lead sentence.
    if question.intent == Intent::Callers
        && let Some((name, sites, files)) = &gathered.call_sites
    {
        let sites_packed: Vec<&Packed> = packed
            .iter()
            .filter(|p| {
                gathered
                    .candidates
                    .iter()
                    .any(|c| c.source == Source::Caller && c.chosen == Some(p.n - 1))
            })
            .collect();
        if *sites == 0 {
            let _ = write!(out, "No call site of `{name}` is in the index.");
        } else {
            let _ = write!(
                out,
                "`{name}` has {sites} call site{} in {files} file{}",
                plural(*sites),
                plural(*files)
            );
            let named: Vec<String> = sites_packed
                .iter()
                .take(LEAD_SYMBOLS)
                .map(|p| {
                    let line = call_line(p, name);
                    let who = p
                        .evidence
                        .at
                        .symbol
                        .as_deref()
                        .map_or_else(|| "module level".to_owned(), |s| format!("`{s}`"));
                    format!("{who} at {}:{line} [{}:{line}]", p.evidence.at.path, p.n)
                })
                .collect();
            if named.is_empty() {
                out.push('.');
            } else {
                let _ = write!(out, "; the first: {}.", join_and(&named));
            }
            // Each call site's line.
            out.push('\n');
            for p in &sites_packed {
                let line = call_line(p, name);
                let text = p
                    .evidence
                    .text
                    .lines()
                    .nth((line - p.evidence.at.start_line) as usize)
                    .unwrap_or_default()
                    .trim();
                let _ = write!(
                    out,
                    "\n    {}:{line} │ {} [{}:{line}]",
                    p.evidence.at.path,
                    code(text),
                    p.n
                );
            }
        }
    } else {
        let named: Vec<String> = packed
            .iter()
            .filter(|p| p.evidence.at.symbol.is_some())
            .take(LEAD_SYMBOLS)
            .map(|p| {
                let e = &p.evidence;
                format!(
                    "`{}`{} in {}:{} [{}]",
                    e.at.symbol.as_deref().unwrap_or_default(),
                    e.at.kind
                        .as_deref()
                        .map(|k| format!(" ({k})"))
                        .unwrap_or_default(),
                    e.at.path,
                    e.at.start_line,
                    p.n
                )
            })
            .collect();
        if named.is_empty() {
            let e = &packed[0].evidence;
            let _ = write!(
                out,
                "The closest match is {}:{}-{} [1].",
                e.at.path, e.at.start_line, e.at.end_line
            );
        } else {
            let _ = write!(out, "Most relevant: {}.", join_and(&named));
        }
    }
    out.push_str("\n\n");

    // Cards, one per distinct symbol.
    let mut seen = HashSet::new();
    let mut cards = 0;
    for p in packed {
        if cards >= CARDS {
            break;
        }
        let e = &p.evidence;
        let Some(symbol) = &e.at.symbol else { continue };
        if e.at.kind.is_none() || !seen.insert((e.at.path.clone(), symbol.clone())) {
            continue;
        }
        cards += 1;
        card(index, p, symbol, &terms, &mut out)?;
    }
    if cards == 0 {
        // No symbol: show the best evidence's key lines.
        let p = &packed[0];
        let _ = writeln!(
            out,
            "{}:{}-{} [{}]",
            p.evidence.at.path, p.evidence.at.start_line, p.evidence.at.end_line, p.n
        );
        key_lines(p, &terms, None, &mut out);
    }
    let more: Vec<String> = packed
        .iter()
        .skip(cards.max(1))
        .filter(|p| p.evidence.at.kind.is_some() || p.evidence.at.symbol.is_none())
        .filter(|p| {
            !seen.contains(&(
                p.evidence.at.path.clone(),
                p.evidence.at.symbol.clone().unwrap_or_default(),
            ))
        })
        .take(4)
        .map(|p| {
            format!(
                "{}:{} [{}]",
                p.evidence.at.path, p.evidence.at.start_line, p.n
            )
        })
        .collect();
    if !more.is_empty() {
        let _ = writeln!(out, "See also: {}.", more.join(", "));
    }
    Ok(out.trim_end().to_owned())
}

/// One symbol's card.
fn card(
    index: &RepoIndex,
    p: &Packed,
    symbol: &str,
    terms: &[String],
    out: &mut String,
) -> Result<()> {
    let e = &p.evidence;
    let definition = index.definition(&e.at.path, symbol)?;
    // The doc sentence already shown is no key line.
    let mut skip: Option<String> = None;
    let (start, end) = definition
        .as_ref()
        .map_or((e.at.start_line, e.at.end_line), |d| {
            (d.start_line, d.end_line)
        });
    // The range shown is the evidence's, as in the sources; a part of a
    // longer definition says so.
    let whole = if (start, end) != (e.at.start_line, e.at.end_line)
        && start <= e.at.start_line
        && e.at.end_line <= end
    {
        format!(" (of {start}-{end})")
    } else {
        String::new()
    };
    let _ = writeln!(
        out,
        "[{}] `{symbol}` — {}, {}:{}-{}{whole}",
        p.n,
        e.at.kind.as_deref().unwrap_or("code"),
        e.at.path,
        e.at.start_line,
        e.at.end_line
    );
    if let Some(d) = &definition {
        let signature = d.signature.lines().next().unwrap_or_default().trim();
        // Decorators and attributes come first in a definition's lines: cite
        // the line the signature is on.
        let line = signature_line(e, d.start_line, signature);
        if !signature.is_empty() && (e.at.start_line..=e.at.end_line).contains(&line) {
            let _ = writeln!(out, "    {} [{}:{line}]", code(signature), p.n);
        }
        if let Some(doc) = d.doc.as_deref().and_then(first_sentence) {
            let _ = writeln!(out, "    {}", clip(&doc));
            skip = Some(doc);
        }
    }

    let bare = symbol.rsplit(['.', ':']).next().unwrap_or(symbol);
    let counts = index.ref_counts(bare)?;
    let mut callees: Vec<String> = Vec::new();
    for (name, _) in index.calls_in(&e.at.path, start, end)? {
        if !callees.contains(&name) {
            callees.push(name);
        }
    }
    // A property is read, not called; a decorator is applied; a type is
    // named: with no call sites, say how often it is used instead.
    let mut facts = vec![if counts.calls == 0 && counts.uses > 0 {
        format!(
            "used {} time{} (`{bare}` read or passed, not called) in {} file{}",
            counts.uses,
            plural(counts.uses),
            counts.use_files,
            plural(counts.use_files)
        )
    } else {
        format!(
            "{} call site{} of `{bare}` in {} file{}",
            counts.calls,
            plural(counts.calls),
            counts.call_files,
            plural(counts.call_files)
        )
    }];
    if !callees.is_empty() {
        let named: Vec<String> = callees
            .iter()
            .take(CALLEES_NAMED)
            .map(|c| format!("`{c}`"))
            .collect();
        let rest = callees.len().saturating_sub(CALLEES_NAMED);
        facts.push(format!(
            "calls {}{}",
            named.join(", "),
            if rest > 0 {
                format!(" and {rest} more")
            } else {
                String::new()
            }
        ));
    }
    if let Some((commits, last, authors)) = index.churn(&e.at.path)? {
        facts.push(format!(
            "file changed in {commits} commit{} by {authors} author{}, last {}",
            plural(commits as usize),
            plural(authors as usize),
            date(last)
        ));
    }
    let _ = writeln!(out, "    {}", facts.join(" · "));
    key_lines(p, terms, skip.as_deref(), out);
    out.push('\n');
    Ok(())
}

/// The evidence lines sharing most words with the question (the
/// declaration line excluded), in line order, each cited.
fn key_lines(p: &Packed, terms: &[String], skip: Option<&str>, out: &mut String) {
    let e = &p.evidence;
    let mut scored: Vec<(usize, u32, &str)> = e
        .text
        .lines()
        .enumerate()
        .skip(1)
        .filter(|(_, l)| !l.trim().is_empty() && skip.is_none_or(|s| !l.contains(s)))
        .map(|(i, l)| {
            let words = lore_core::tokens::token_texts(l);
            let hits = terms.iter().filter(|t| words.contains(t)).count();
            (hits, e.at.start_line + i as u32, l)
        })
        .filter(|(hits, _, _)| *hits > 0)
        .collect();
    scored.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    scored.truncate(KEY_LINES);
    scored.sort_by_key(|s| s.1);
    let width = scored
        .iter()
        .map(|s| s.1.to_string().len())
        .max()
        .unwrap_or(0);
    for (_, line, text) in scored {
        let _ = writeln!(
            out,
            "    {line:>width$} │ {} [{}:{line}]",
            code(text.trim()),
            p.n
        );
    }
}

/// The line of evidence `e` where `signature` starts, searching from the
/// definition's first line (decorators and attributes above it); the first
/// line if it is not found.
fn signature_line(e: &crate::pack::Evidence, start: u32, signature: &str) -> u32 {
    let head: String = signature
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ");
    if head.is_empty() || start < e.at.start_line {
        return start;
    }
    e.text
        .lines()
        .enumerate()
        .skip((start - e.at.start_line) as usize)
        .take(12)
        .find(|(_, l)| {
            l.split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
                .starts_with(&head)
        })
        .map_or(start, |(i, _)| e.at.start_line + i as u32)
}

/// The line of a call-site evidence that calls `name` (`Cart.total` is
/// called as `total`): of the lines naming it, the one nearest the middle,
/// where the gathered call site is (one line of context on each side).
fn call_line(p: &Packed, name: &str) -> u32 {
    let e = &p.evidence;
    let bare = name.rsplit([':', '.']).next().unwrap_or(name);
    let middle = (e.at.end_line - e.at.start_line).div_ceil(2) as usize;
    let named = |l: &str| {
        l.match_indices(bare).any(|(i, _)| {
            let before = l[..i].chars().next_back();
            let after = l[i + bare.len()..].chars().next();
            !before.is_some_and(|c| c.is_alphanumeric() || c == '_')
                && !after.is_some_and(|c| c.is_alphanumeric() || c == '_')
        })
    };
    e.text
        .lines()
        .enumerate()
        .filter(|(_, l)| named(l))
        .min_by_key(|(i, _)| i.abs_diff(middle))
        .map_or(e.at.start_line, |(i, _)| e.at.start_line + i as u32)
}

/// The question's content words, as the code tokenizer splits them.
fn terms(question: &str) -> Vec<String> {
    let mut terms: Vec<String> = lore_core::tokens::token_texts(question)
        .into_iter()
        .filter(|t| t.len() > 2 && !lore_retrieve::text::is_stop_word(t))
        .collect();
    terms.sort();
    terms.dedup();
    terms
}

fn first_sentence(doc: &str) -> Option<String> {
    let line = doc
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.chars().all(|c| "\"'/*#-=".contains(c)))?;
    let line = line
        .trim_start_matches(['"', '\'', '/', '*', '#', '!'])
        .trim();
    let end = line.find(". ").map_or(line.len(), |i| i + 1);
    (!line.is_empty()).then(|| markdown_code(&line[..end]))
}

/// reStructuredText code in a doc line as Markdown code spans, as every
/// reader of an answer (terminal, web UI, agent) expects: ``x`` and
/// :role:`x` (Sphinx's :func:, :class:, :meth:…) become `x`.
fn markdown_code(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix("``")
            && let Some(end) = after.find("``")
            && end > 0
            && !after[..end].contains('`')
        {
            out.push('`');
            out.push_str(&after[..end]);
            out.push('`');
            rest = &after[end + 2..];
            continue;
        }
        if rest.starts_with(':')
            && let Some(close) = rest.find(":`")
            && close > 1
            && rest[1..close]
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || ".-_:".contains(c))
        {
            // Drop the role (`:func:`, `:py:meth:`); the code span follows.
            rest = &rest[close + 1..];
            continue;
        }
        let c = rest.chars().next().expect("not empty");
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// A code span, so that brackets in code are never read as citations.
fn code(s: &str) -> String {
    let s = clip(s);
    if s.contains('`') {
        format!("`` {s} ``")
    } else {
        format!("`{s}`")
    }
}

fn clip(s: &str) -> String {
    if s.chars().count() <= LINE_CHARS {
        s.to_owned()
    } else {
        let mut c: String = s.chars().take(LINE_CHARS - 1).collect();
        c.push('…');
        c
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

fn join_and(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

/// `YYYY-MM-DD` of a Unix time (UTC).
pub(crate) fn date(time: i64) -> String {
    let mut stamp = lore_core::time::rfc3339(time.saturating_mul(1000));
    stamp.truncate(10);
    stamp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_civil_utc() {
        assert_eq!(date(0), "1970-01-01");
        assert_eq!(date(951_782_400), "2000-02-29");
        assert_eq!(date(1_700_000_000), "2023-11-14");
    }

    #[test]
    fn rst_code_in_docs_becomes_markdown_code() {
        assert_eq!(
            markdown_code("Price at ``RATE`` via :func:`vat` or :py:meth:`Cart.total`."),
            "Price at `RATE` via `vat` or `Cart.total`."
        );
        // Not code: left as written.
        assert_eq!(
            markdown_code("ratio 3:4 and `` alone"),
            "ratio 3:4 and `` alone"
        );
        assert_eq!(markdown_code("a ``b`c`` d"), "a ``b`c`` d");
    }

    #[test]
    fn first_doc_sentences_skip_comment_markers() {
        assert_eq!(
            first_sentence("/// Sends a request. Retries on 503.\n/// More.").as_deref(),
            Some("Sends a request.")
        );
        assert_eq!(
            first_sentence("\"\"\"\n    Return the user.\n    \"\"\"").as_deref(),
            Some("Return the user.")
        );
    }
}
