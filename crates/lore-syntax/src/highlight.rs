//! Syntax highlighting from the same parse trees the index uses: no
//! highlight queries per language, only the node kinds every tree-sitter
//! grammar shares (comments, strings, numbers, keywords as anonymous word
//! tokens, the names of definitions).

use lore_core::Language;
use tree_sitter::{Node, Parser};

use crate::grammar;

/// What a highlighted span is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HighlightClass {
    /// A comment.
    Comment,
    /// A string or character literal.
    String,
    /// A number.
    Number,
    /// A keyword or built-in constant.
    Keyword,
    /// A type name.
    Type,
    /// The name of a definition.
    Definition,
}

impl HighlightClass {
    /// Short CSS-friendly name.
    pub fn name(self) -> &'static str {
        match self {
            HighlightClass::Comment => "comment",
            HighlightClass::String => "string",
            HighlightClass::Number => "number",
            HighlightClass::Keyword => "keyword",
            HighlightClass::Type => "type",
            HighlightClass::Definition => "def",
        }
    }
}

/// A highlighted byte range of the source.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Highlight {
    /// First byte.
    pub start: usize,
    /// One past the last byte.
    pub end: usize,
    /// What it is.
    pub class: HighlightClass,
}

/// Highlighted spans of `source`, in order and not overlapping. Empty for
/// languages without a grammar.
pub fn highlight(source: &str, lang: Language) -> Vec<Highlight> {
    let Some(grammar) = grammar::for_language(lang) else {
        return Vec::new();
    };
    let mut parser = Parser::new();
    if parser.set_language(&grammar.language).is_err() {
        return Vec::new();
    }
    let Some(tree) = parser.parse(source, None) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut cursor = tree.walk();
    'walk: loop {
        let node = cursor.node();
        let class = classify(node, source);
        if let Some(class) = class {
            out.push(Highlight {
                start: node.start_byte(),
                end: node.end_byte(),
                class,
            });
        }
        // Whole literals and comments are one span; do not descend.
        if class.is_none() && cursor.goto_first_child() {
            continue;
        }
        loop {
            if cursor.goto_next_sibling() {
                continue 'walk;
            }
            if !cursor.goto_parent() {
                break 'walk;
            }
        }
    }
    out
}

fn classify(node: Node<'_>, source: &str) -> Option<HighlightClass> {
    let kind = node.kind();
    if node.is_named() {
        if kind.contains("comment") {
            return Some(HighlightClass::Comment);
        }
        if kind.contains("string") || kind == "char_literal" || kind == "rune_literal" {
            return Some(HighlightClass::String);
        }
        if kind.contains("integer")
            || kind.contains("float")
            || kind.contains("number")
            || kind == "imaginary_literal"
        {
            return Some(HighlightClass::Number);
        }
        if matches!(
            kind,
            "true" | "false" | "none" | "null" | "nil" | "self" | "this" | "super"
        ) {
            return Some(HighlightClass::Keyword);
        }
        if matches!(
            kind,
            "type_identifier" | "primitive_type" | "predefined_type"
        ) {
            return Some(HighlightClass::Type);
        }
        if kind.ends_with("identifier") && node.child_count() == 0 && is_definition_name(node) {
            return Some(HighlightClass::Definition);
        }
        return None;
    }
    // Anonymous tokens that are words are the language's keywords.
    let text = &source[node.start_byte()..node.end_byte()];
    let mut chars = text.chars();
    let word = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    word.then_some(HighlightClass::Keyword)
}

/// True if `node` is the `name` of a definition (function, class, …).
fn is_definition_name(node: Node<'_>) -> bool {
    let Some(parent) = node.parent() else {
        return false;
    };
    let kind = parent.kind();
    let defines = kind.contains("definition")
        || kind.contains("declaration")
        || kind.ends_with("_item")
        || kind.ends_with("_declarator")
        || kind == "method_spec";
    defines
        && parent
            .child_by_field_name("name")
            .or_else(|| parent.child_by_field_name("declarator"))
            .is_some_and(|n| n.id() == node.id())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spans(source: &str, lang: Language) -> Vec<(String, &'static str)> {
        highlight(source, lang)
            .into_iter()
            .map(|h| (source[h.start..h.end].to_owned(), h.class.name()))
            .collect()
    }

    #[test]
    fn python_keywords_strings_comments_numbers_and_names() {
        let got = spans(
            "# note\ndef area(r):\n    return 3.14 * r * r  # pi\nx = \"s\" if True else None\n",
            Language::Python,
        );
        let want: Vec<(String, &str)> = [
            ("# note", "comment"),
            ("def", "keyword"),
            ("area", "def"),
            ("return", "keyword"),
            ("3.14", "number"),
            ("# pi", "comment"),
            ("\"s\"", "string"),
            ("if", "keyword"),
            ("True", "keyword"),
            ("else", "keyword"),
            ("None", "keyword"),
        ]
        .iter()
        .map(|(t, c)| (t.to_string(), *c))
        .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn rust_types_and_spans_are_ordered_without_overlap() {
        let source = "/// Doc.\npub fn add(a: u32) -> Point { let s = \"x\"; Point }\n";
        let got = spans(source, Language::Rust);
        assert!(
            got.contains(&("/// Doc.\n".into(), "comment"))
                || got.contains(&("/// Doc.".into(), "comment")),
            "{got:?}"
        );
        assert!(got.contains(&("fn".into(), "keyword")), "{got:?}");
        assert!(got.contains(&("add".into(), "def")), "{got:?}");
        assert!(got.contains(&("u32".into(), "type")), "{got:?}");
        assert!(got.contains(&("\"x\"".into(), "string")), "{got:?}");
        let all = highlight(source, Language::Rust);
        assert!(all.windows(2).all(|w| w[0].end <= w[1].start));
    }

    #[test]
    fn text_languages_have_no_spans() {
        assert!(highlight("just words", Language::Text).is_empty());
    }
}
