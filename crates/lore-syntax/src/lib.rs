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

pub use chunk::{ChunkLimits, chunk_text};
pub use grammar::check_queries;
pub use highlight::{Highlight, HighlightClass, highlight};
use lore_core::{FileSyntax, Language};

/// Parses `source` written in `lang`. Never fails: a file with syntax errors
/// yields what is valid, and the rest is chunked by lines.
pub fn parse(source: &str, lang: Language) -> FileSyntax {
    parse_with(source, lang, &ChunkLimits::default())
}

/// [`parse`] with explicit chunk limits.
pub fn parse_with(source: &str, lang: Language, limits: &ChunkLimits) -> FileSyntax {
    match grammar::for_language(lang) {
        Some(grammar) => extract::extract(source, lang, grammar, limits),
        None => FileSyntax {
            chunks: chunk_text(source, lang, limits),
            ..FileSyntax::default()
        },
    }
}
