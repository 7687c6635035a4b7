//! One record for a located piece of code: where it is (path, lines), what
//! it is (symbol, kind, language) and, when known, the commit it was read
//! at. Search hits, the evidence an answer is built from, citations and
//! every transport's JSON embed it, so the five places that show a piece
//! of code agree on its fields and their names.

use serde::{Deserialize, Serialize};

/// A piece of code in the repository. Lines are 1-based and inclusive.
///
/// Serialised flat (`path`, `start_line`, `end_line`, `symbol`, `kind`,
/// `lang`, and `commit` when known): records that embed it with
/// `#[serde(flatten)]` keep these field names, which other tools read.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Located {
    /// Path relative to the repository root, `/`-separated.
    pub path: String,
    /// First line.
    pub start_line: u32,
    /// Last line (inclusive).
    pub end_line: u32,
    /// Qualified name of the symbol the code belongs to.
    #[serde(default)]
    pub symbol: Option<String>,
    /// Kind of that symbol (`function`, `method`, `class`, …).
    #[serde(default)]
    pub kind: Option<String>,
    /// Language name; empty when unknown.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub lang: String,
    /// The commit the code was indexed at, when the record carries it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
}

impl Located {
    /// A location with no symbol, kind, language or commit.
    pub fn lines(path: impl Into<String>, start_line: u32, end_line: u32) -> Located {
        Located {
            path: path.into(),
            start_line,
            end_line,
            ..Located::default()
        }
    }

    /// `path:start-end`, or `path:line` for one line: how the CLI, the
    /// answers and MCP clients write a place.
    pub fn citation(&self) -> String {
        cite(&self.path, self.start_line, self.end_line)
    }

    /// Number of lines.
    pub fn line_count(&self) -> u32 {
        self.end_line.saturating_sub(self.start_line) + 1
    }

    /// True if the two ranges are in the same file and share a line.
    pub fn overlaps(&self, other: &Located) -> bool {
        self.path == other.path
            && self.start_line <= other.end_line
            && other.start_line <= self.end_line
    }

    /// True if `line` is inside the range.
    pub fn contains(&self, line: u32) -> bool {
        (self.start_line..=self.end_line).contains(&line)
    }
}

/// `path:a-b`, or `path:a` when `a == b`.
pub fn cite(path: &str, start_line: u32, end_line: u32) -> String {
    if start_line == end_line {
        format!("{path}:{start_line}")
    } else {
        format!("{path}:{start_line}-{end_line}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serialises_flat_with_the_stable_names() {
        let at = Located {
            symbol: Some("Cart.total".into()),
            kind: Some("method".into()),
            lang: "python".into(),
            ..Located::lines("shop/cart.py", 3, 9)
        };
        let json = serde_json::to_value(&at).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"path": "shop/cart.py", "start_line": 3, "end_line": 9,
                "symbol": "Cart.total", "kind": "method", "lang": "python"})
        );
        assert_eq!(
            serde_json::to_value(Located::lines("a.rs", 1, 1)).unwrap(),
            serde_json::json!({"path": "a.rs", "start_line": 1, "end_line": 1,
                "symbol": null, "kind": null})
        );
        let back: Located = serde_json::from_value(json).unwrap();
        assert_eq!(back, at);
    }

    #[test]
    fn citations_and_ranges() {
        let at = Located::lines("a.rs", 4, 6);
        assert_eq!(at.citation(), "a.rs:4-6");
        assert_eq!(Located::lines("a.rs", 4, 4).citation(), "a.rs:4");
        assert_eq!(at.line_count(), 3);
        assert!(at.contains(6) && !at.contains(7));
        assert!(at.overlaps(&Located::lines("a.rs", 6, 9)));
        assert!(!at.overlaps(&Located::lines("a.rs", 7, 9)));
        assert!(!at.overlaps(&Located::lines("b.rs", 4, 6)));
    }
}
