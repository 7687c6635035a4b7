//! Languages Lore knows, and how a path maps to one.

use std::fmt;
use std::path::Path;

/// The language of a file. Parsed languages get symbols and references; the
/// others are indexed as text chunks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Language {
    /// Python (`.py`, `.pyi`).
    Python,
    /// JavaScript (`.js`, `.mjs`, `.cjs`, `.jsx`).
    JavaScript,
    /// TypeScript (`.ts`, `.mts`, `.cts`).
    TypeScript,
    /// TypeScript with JSX (`.tsx`).
    Tsx,
    /// Rust (`.rs`).
    Rust,
    /// Go (`.go`).
    Go,
    /// Java (`.java`).
    Java,
    /// C (`.c`, `.h`).
    C,
    /// C++ (`.cc`, `.cpp`, `.hpp`, ...).
    Cpp,
    /// Markdown, chunked by sections.
    Markdown,
    /// TOML config.
    Toml,
    /// YAML config.
    Yaml,
    /// JSON data.
    Json,
    /// Any other text file.
    Text,
}

impl Language {
    /// Every language, parsed ones first.
    pub const ALL: [Language; 14] = [
        Language::Python,
        Language::JavaScript,
        Language::TypeScript,
        Language::Tsx,
        Language::Rust,
        Language::Go,
        Language::Java,
        Language::C,
        Language::Cpp,
        Language::Markdown,
        Language::Toml,
        Language::Yaml,
        Language::Json,
        Language::Text,
    ];

    /// Guesses the language from the file name; unknown extensions are `Text`.
    pub fn from_path(path: &Path) -> Language {
        let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
        match ext.to_ascii_lowercase().as_str() {
            "py" | "pyi" | "pyw" => Language::Python,
            "js" | "mjs" | "cjs" | "jsx" => Language::JavaScript,
            "ts" | "mts" | "cts" => Language::TypeScript,
            "tsx" => Language::Tsx,
            "rs" => Language::Rust,
            "go" => Language::Go,
            "java" => Language::Java,
            "c" | "h" => Language::C,
            "cc" | "cpp" | "cxx" | "c++" | "hh" | "hpp" | "hxx" | "h++" | "ipp" | "inl" => {
                Language::Cpp
            }
            "md" | "markdown" | "mdx" => Language::Markdown,
            "toml" => Language::Toml,
            "yaml" | "yml" => Language::Yaml,
            "json" | "jsonc" => Language::Json,
            _ => Language::Text,
        }
    }

    /// True for languages parsed with tree-sitter into symbols and references.
    pub fn is_parsed(self) -> bool {
        !matches!(
            self,
            Language::Markdown | Language::Toml | Language::Yaml | Language::Json | Language::Text
        )
    }

    /// The stable lower-case name used in JSON output and `--lang` filters.
    pub fn name(self) -> &'static str {
        match self {
            Language::Python => "python",
            Language::JavaScript => "javascript",
            Language::TypeScript => "typescript",
            Language::Tsx => "tsx",
            Language::Rust => "rust",
            Language::Go => "go",
            Language::Java => "java",
            Language::C => "c",
            Language::Cpp => "cpp",
            Language::Markdown => "markdown",
            Language::Toml => "toml",
            Language::Yaml => "yaml",
            Language::Json => "json",
            Language::Text => "text",
        }
    }

    /// Parses a name as printed by [`Language::name`], plus common aliases.
    pub fn from_name(name: &str) -> Option<Language> {
        let name = name.to_ascii_lowercase();
        let alias = match name.as_str() {
            "py" => "python",
            "js" | "jsx" => "javascript",
            "ts" => "typescript",
            "rs" => "rust",
            "golang" => "go",
            "c++" | "cxx" => "cpp",
            "md" => "markdown",
            "yml" => "yaml",
            "txt" => "text",
            other => other,
        };
        Language::ALL.into_iter().find(|lang| lang.name() == alias)
    }

    /// The separator used between parts of a qualified name.
    pub fn path_separator(self) -> &'static str {
        match self {
            Language::Rust | Language::Cpp => "::",
            _ => ".",
        }
    }
}

impl fmt::Display for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for lang in Language::ALL {
            assert_eq!(Language::from_name(lang.name()), Some(lang));
        }
        assert_eq!(Language::from_name("PY"), Some(Language::Python));
        assert_eq!(Language::from_name("cobol"), None);
    }

    #[test]
    fn paths_map_to_languages() {
        let cases = [
            ("a/b.py", Language::Python),
            ("x.tsx", Language::Tsx),
            ("x.d.ts", Language::TypeScript),
            ("lib.rs", Language::Rust),
            ("inc/foo.H", Language::C),
            ("foo.hpp", Language::Cpp),
            ("README", Language::Text),
            ("Cargo.toml", Language::Toml),
        ];
        for (path, lang) in cases {
            assert_eq!(Language::from_path(Path::new(path)), lang, "{path}");
        }
    }
}
