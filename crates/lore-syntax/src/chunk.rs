//! Chunking: cutting a file into the units that search indexes and returns.
//!
//! Each function or method is its own chunk; a class (or struct, trait,
//! module) keeps only the lines its members do not cover (header, fields);
//! top-level code between definitions is grouped. Anything longer than
//! [`ChunkLimits`] is split at statement boundaries with a small overlap.
//! Text files are split at headings (Markdown) and blank lines.

use lore_core::{Chunk, Language};

/// Size limits for one chunk.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChunkLimits {
    /// Most lines in a chunk.
    pub max_lines: u32,
    /// Most bytes in a chunk (a single longer line still makes one chunk).
    pub max_bytes: usize,
    /// Lines repeated at the start of the next piece when a chunk is split.
    pub overlap: u32,
}

impl Default for ChunkLimits {
    fn default() -> ChunkLimits {
        ChunkLimits {
            max_lines: 60,
            max_bytes: 3000,
            overlap: 2,
        }
    }
}

/// Line index of a source text. Lines are 1-based.
pub(crate) struct Lines<'a> {
    src: &'a str,
    /// Byte offset where each line starts; one entry per line.
    starts: Vec<usize>,
}

impl<'a> Lines<'a> {
    pub(crate) fn new(src: &'a str) -> Lines<'a> {
        let mut starts = vec![0];
        starts.extend(
            src.match_indices('\n')
                .map(|(i, _)| i + 1)
                .filter(|&i| i < src.len()),
        );
        if src.is_empty() {
            starts.clear();
        }
        Lines { src, starts }
    }

    pub(crate) fn count(&self) -> u32 {
        self.starts.len() as u32
    }

    /// Byte offset one past the end of `line`, excluding its newline.
    fn end(&self, line: u32) -> usize {
        let next = self
            .starts
            .get(line as usize)
            .copied()
            .unwrap_or(self.src.len());
        let text = &self.src[..next];
        text.strip_suffix('\n')
            .map(|t| t.strip_suffix('\r').unwrap_or(t))
            .unwrap_or(text)
            .len()
    }

    /// The text of lines `start..=end`, without the final newline.
    pub(crate) fn text(&self, start: u32, end: u32) -> &'a str {
        &self.src[self.starts[start as usize - 1]..self.end(end)]
    }

    fn bytes(&self, start: u32, end: u32) -> usize {
        self.end(end) - self.starts[start as usize - 1]
    }

    pub(crate) fn is_blank(&self, line: u32) -> bool {
        self.text(line, line).trim().is_empty()
    }

    fn has_word(&self, start: u32, end: u32) -> bool {
        self.text(start, end).chars().any(char::is_alphanumeric)
    }
}

/// A symbol that owns chunks: its line range (including doc comments and
/// decorators) and its nearest owning ancestor.
#[derive(Clone, Debug)]
pub(crate) struct Owner {
    pub(crate) start: u32,
    pub(crate) end: u32,
    pub(crate) symbol: usize,
    pub(crate) parent: Option<usize>,
}

struct Chunker<'a, 'b> {
    lines: &'b Lines<'a>,
    limits: &'b ChunkLimits,
    boundary: &'b dyn Fn(u32) -> bool,
    out: Vec<Chunk>,
}

impl Chunker<'_, '_> {
    /// Emits lines `start..=end` as one or more chunks belonging to `symbol`.
    fn gap(&mut self, mut start: u32, mut end: u32, symbol: Option<usize>) {
        while start <= end && self.lines.is_blank(start) {
            start += 1;
        }
        while end >= start && self.lines.is_blank(end) {
            end -= 1;
        }
        if start > end || !self.lines.has_word(start, end) {
            return;
        }
        let mut cur = start;
        loop {
            let mut fit = cur;
            while fit < end
                && fit + 1 - cur < self.limits.max_lines
                && self.lines.bytes(cur, fit + 1) <= self.limits.max_bytes
            {
                fit += 1;
            }
            if fit >= end {
                self.push(cur, end, symbol);
                return;
            }
            // Cut before a statement start in the last two thirds of the window.
            let min = cur + (fit - cur + 1) / 3;
            let cut = (min + 1..=fit)
                .rev()
                .find(|&b| (self.boundary)(b) && !self.lines.is_blank(b))
                .unwrap_or(fit + 1);
            let mut piece_end = cut - 1;
            while piece_end > cur && self.lines.is_blank(piece_end) {
                piece_end -= 1;
            }
            self.push(cur, piece_end, symbol);
            cur = cut.saturating_sub(self.limits.overlap).max(cur + 1);
            while cur < end && self.lines.is_blank(cur) {
                cur += 1;
            }
        }
    }

    fn push(&mut self, start: u32, end: u32, symbol: Option<usize>) {
        if self.lines.has_word(start, end) {
            let text = self.lines.text(start, end).to_owned();
            self.out.push(Chunk {
                start_line: start,
                end_line: end,
                symbol,
                text,
            });
        }
    }

    fn node(
        &mut self,
        start: u32,
        end: u32,
        symbol: Option<usize>,
        owners: &[Owner],
        me: Option<usize>,
    ) {
        let mut cursor = start;
        for (i, child) in owners.iter().enumerate().filter(|(_, o)| o.parent == me) {
            let child_start = child.start.max(cursor);
            if child_start > child.end || child.end > end {
                continue;
            }
            if child_start > cursor {
                self.gap(cursor, child_start - 1, symbol);
            }
            self.node(child_start, child.end, Some(child.symbol), owners, Some(i));
            cursor = child.end + 1;
        }
        if cursor <= end {
            self.gap(cursor, end, symbol);
        }
    }
}

/// Chunks a parsed file. `owners` are sorted by start line and nested by
/// `parent`; `boundary(line)` says whether a statement starts on `line`.
pub(crate) fn chunk_tree(
    lines: &Lines<'_>,
    owners: &[Owner],
    boundary: &dyn Fn(u32) -> bool,
    limits: &ChunkLimits,
) -> Vec<Chunk> {
    let mut chunker = Chunker {
        lines,
        limits,
        boundary,
        out: Vec::new(),
    };
    if lines.count() > 0 {
        chunker.node(1, lines.count(), None, owners, None);
    }
    let mut out = chunker.out;
    out.sort_by_key(|c| (c.start_line, c.end_line));
    out
}

/// Chunks a file without a grammar: Markdown at headings, everything at
/// blank lines when it must be split.
pub fn chunk_text(source: &str, lang: Language, limits: &ChunkLimits) -> Vec<Chunk> {
    let lines = Lines::new(source);
    let is_heading =
        |line: u32| lang == Language::Markdown && lines.text(line, line).starts_with('#');
    let boundary = |line: u32| line > 1 && (lines.is_blank(line - 1) || is_heading(line));
    let mut chunker = Chunker {
        lines: &lines,
        limits,
        boundary: &boundary,
        out: Vec::new(),
    };
    let mut section_start = 1;
    for line in 1..=lines.count() {
        if line > section_start && is_heading(line) {
            chunker.gap(section_start, line - 1, None);
            section_start = line;
        }
    }
    if section_start <= lines.count() {
        chunker.gap(section_start, lines.count(), None);
    }
    chunker.out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ranges(chunks: &[Chunk]) -> Vec<(u32, u32)> {
        chunks.iter().map(|c| (c.start_line, c.end_line)).collect()
    }

    #[test]
    fn lines_are_indexed() {
        let lines = Lines::new("a\nbb\r\n\nccc");
        assert_eq!(lines.count(), 4);
        assert_eq!(lines.text(2, 2), "bb");
        assert_eq!(lines.text(1, 4), "a\nbb\r\n\nccc");
        assert!(lines.is_blank(3));
        assert_eq!(Lines::new("x\n").count(), 1);
        assert_eq!(Lines::new("").count(), 0);
    }

    #[test]
    fn markdown_splits_at_headings() {
        let src = "# Title\nintro\n\n## Install\nrun it\n\n## Use\ncall it\n";
        let chunks = chunk_text(src, Language::Markdown, &ChunkLimits::default());
        assert_eq!(ranges(&chunks), [(1, 2), (4, 5), (7, 8)]);
        assert_eq!(chunks[1].text, "## Install\nrun it");
    }

    #[test]
    fn long_text_splits_at_blank_lines_with_overlap() {
        let mut src = String::new();
        for para in 0..10 {
            for line in 0..5 {
                src.push_str(&format!("para {para} line {line}\n"));
            }
            src.push('\n');
        }
        let limits = ChunkLimits {
            max_lines: 20,
            max_bytes: 10_000,
            overlap: 2,
        };
        let chunks = chunk_text(&src, Language::Text, &limits);
        assert!(chunks.len() >= 3, "{:?}", ranges(&chunks));
        for c in &chunks {
            assert!(c.end_line - c.start_line < 20, "{:?}", ranges(&chunks));
            assert!(!c.text.starts_with('\n') && !c.text.ends_with('\n'));
        }
        // Every non-blank line is covered.
        for line in 1..=59u32 {
            if (line % 6) != 0 {
                assert!(
                    chunks
                        .iter()
                        .any(|c| (c.start_line..=c.end_line).contains(&line)),
                    "{line}"
                );
            }
        }
        // The first cut lands on a paragraph boundary: the next chunk starts
        // `overlap` lines before a paragraph's first line.
        assert_eq!(chunks[0].end_line % 6, 5, "{:?}", ranges(&chunks));
    }

    #[test]
    fn long_single_line_is_one_chunk() {
        let src = "x".repeat(10_000);
        let chunks = chunk_text(&src, Language::Text, &ChunkLimits::default());
        assert_eq!(ranges(&chunks), [(1, 1)]);
    }

    #[test]
    fn punctuation_only_gaps_are_dropped() {
        let lines = Lines::new("fn a() {\n}\n}\n\n");
        let owners = [Owner {
            start: 1,
            end: 2,
            symbol: 0,
            parent: None,
        }];
        let chunks = chunk_tree(&lines, &owners, &|_| false, &ChunkLimits::default());
        assert_eq!(ranges(&chunks), [(1, 2)]);
    }
}
