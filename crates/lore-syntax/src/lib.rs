//! Parsing: source text in, symbols, references, imports and chunks out.
//!
//! Definitions and references come from one tree-sitter tag query per
//! language, kept as data in `queries/`. Nesting (and so qualified names,
//! parents and methods) is derived from the definitions' byte ranges, which
//! works the same for every language. Files in languages without a grammar
//! are chunked as text.
//!
//! **Architecture Invariant:** this crate does no IO; it maps
//! `(&str, Language)` to a [`FileSyntax`].

mod chunk;
mod extract;
mod grammar;
mod highlight;
pub mod smell;

pub use chunk::{ChunkLimits, chunk_text};
pub use grammar::check_queries;
pub use highlight::{Highlight, HighlightClass, highlight};
use lore_core::{FileSyntax, Language};

/// Parses `source` written in `lang`. Never fails: a file with syntax errors
/// yields what is valid, and the rest is chunked by lines.
pub fn parse(source: &str, lang: Language) -> FileSyntax {
    parse_with(source, lang, &ChunkLimits::default())
}

/// How deep definitions may nest in one file. Real code stays far below;
/// each level adds its name to every qualified name beneath it, so a file
/// of 10,000 nested classes grew the index quadratically (120 KB of Java
/// made a 215 MB store).
pub const MAX_NESTING: usize = 32;

/// [`parse`] with explicit chunk limits.
pub fn parse_with(source: &str, lang: Language, limits: &ChunkLimits) -> FileSyntax {
    let mut syntax = match grammar::for_language(lang) {
        Some(grammar) => extract::extract(source, lang, grammar, limits),
        None => FileSyntax {
            chunks: chunk_text(source, lang, limits),
            ..FileSyntax::default()
        },
    };
    cap_nesting(&mut syntax, MAX_NESTING);
    syntax
}

/// Leaves out definitions nested deeper than `max` levels; what referred
/// to them (references' enclosing symbol, chunks) refers to their deepest
/// kept ancestor instead. Counts what was left out in `capped`.
fn cap_nesting(syntax: &mut FileSyntax, max: usize) {
    let mut depth = vec![0usize; syntax.symbols.len()];
    for i in 0..syntax.symbols.len() {
        // Parents come before their children (source order).
        depth[i] = match syntax.symbols[i].parent {
            Some(p) if p < i => depth[p] + 1,
            _ => 0,
        };
    }
    if depth.iter().all(|&d| d < max) {
        return;
    }
    // The index each symbol maps to: itself when kept, else its deepest
    // kept ancestor (or none).
    let mut kept_as: Vec<Option<usize>> = vec![None; syntax.symbols.len()];
    let mut new_index = vec![usize::MAX; syntax.symbols.len()];
    let mut kept = Vec::new();
    for (i, symbol) in std::mem::take(&mut syntax.symbols).into_iter().enumerate() {
        if depth[i] < max {
            new_index[i] = kept.len();
            kept_as[i] = Some(kept.len());
            let mut symbol = symbol;
            symbol.parent = symbol.parent.map(|p| new_index[p]);
            kept.push(symbol);
        } else {
            kept_as[i] = symbol.parent.and_then(|p| kept_as[p]);
            syntax.capped += 1;
        }
    }
    syntax.symbols = kept;
    for r in &mut syntax.refs {
        r.enclosing = r.enclosing.and_then(|i| kept_as[i]);
    }
    for c in &mut syntax.chunks {
        c.symbol = c.symbol.and_then(|i| kept_as[i]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn definitions_nested_too_deep_are_left_out_and_counted() {
        let n = 200;
        let source: String = (0..n)
            .map(|i| format!("class C{i} {{\n"))
            .collect::<String>()
            + "void run() { helper(); }\n"
            + &"}\n".repeat(n);
        let syntax = parse(&source, Language::Java);
        assert_eq!(syntax.symbols.len(), MAX_NESTING);
        assert_eq!(syntax.capped as usize, n + 1 - MAX_NESTING);
        let deepest = syntax.symbols.last().unwrap();
        assert_eq!(deepest.qualname.matches('.').count(), MAX_NESTING - 1);
        // What was inside the left-out ones is attributed to the deepest kept.
        let call = syntax.refs.iter().find(|r| r.name == "helper").unwrap();
        assert_eq!(call.enclosing, Some(MAX_NESTING - 1));
        for c in &syntax.chunks {
            assert!(c.symbol.is_none_or(|s| s < syntax.symbols.len()));
        }
        // Ordinary files are untouched.
        let plain = parse("class A {\n  void f() {}\n}\n", Language::Java);
        assert_eq!((plain.symbols.len(), plain.capped), (2, 0));
    }
}
