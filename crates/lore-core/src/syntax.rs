//! What parsing one file yields: symbols, references, imports and chunks.
//!
//! Lines are 1-based and inclusive everywhere in Lore.

use std::fmt;

use crate::Language;

/// The kind of a definition.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SymbolKind {
    /// A free function.
    Function,
    /// A function defined inside a class, struct, trait or impl.
    Method,
    /// A class.
    Class,
    /// A struct or union.
    Struct,
    /// An enum.
    Enum,
    /// A trait.
    Trait,
    /// An interface (Java, TypeScript, Go).
    Interface,
    /// A module.
    Module,
    /// A namespace (C++, TypeScript).
    Namespace,
    /// A constant.
    Constant,
    /// A static variable.
    Static,
    /// A type alias or typedef.
    TypeAlias,
    /// A macro definition.
    Macro,
}

impl SymbolKind {
    /// Every kind.
    pub const ALL: [SymbolKind; 13] = [
        SymbolKind::Function,
        SymbolKind::Method,
        SymbolKind::Class,
        SymbolKind::Struct,
        SymbolKind::Enum,
        SymbolKind::Trait,
        SymbolKind::Interface,
        SymbolKind::Module,
        SymbolKind::Namespace,
        SymbolKind::Constant,
        SymbolKind::Static,
        SymbolKind::TypeAlias,
        SymbolKind::Macro,
    ];

    /// The stable name used in JSON output and `--kind` filters.
    pub fn name(self) -> &'static str {
        match self {
            SymbolKind::Function => "function",
            SymbolKind::Method => "method",
            SymbolKind::Class => "class",
            SymbolKind::Struct => "struct",
            SymbolKind::Enum => "enum",
            SymbolKind::Trait => "trait",
            SymbolKind::Interface => "interface",
            SymbolKind::Module => "module",
            SymbolKind::Namespace => "namespace",
            SymbolKind::Constant => "constant",
            SymbolKind::Static => "static",
            SymbolKind::TypeAlias => "type",
            SymbolKind::Macro => "macro",
        }
    }

    /// Parses a name as printed by [`SymbolKind::name`], plus a few aliases.
    pub fn from_name(name: &str) -> Option<SymbolKind> {
        let name = name.to_ascii_lowercase();
        let alias = match name.as_str() {
            "fn" | "func" | "def" => "function",
            "const" => "constant",
            "mod" => "module",
            "type_alias" | "typedef" | "alias" => "type",
            other => other,
        };
        SymbolKind::ALL
            .into_iter()
            .find(|kind| kind.name() == alias)
    }

    /// Kinds whose bodies hold other definitions and whose own chunk keeps
    /// only the header and fields.
    pub fn is_container(self) -> bool {
        matches!(
            self,
            SymbolKind::Class
                | SymbolKind::Struct
                | SymbolKind::Enum
                | SymbolKind::Trait
                | SymbolKind::Interface
                | SymbolKind::Module
                | SymbolKind::Namespace
        )
    }

    /// Kinds that are called.
    pub fn is_callable(self) -> bool {
        matches!(
            self,
            SymbolKind::Function | SymbolKind::Method | SymbolKind::Macro
        )
    }
}

impl fmt::Display for SymbolKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A definition found in a file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Symbol {
    /// The bare name, e.g. `send`.
    pub name: String,
    /// The name qualified by its enclosing definitions in the file, e.g.
    /// `Session.send` or `Type::method`.
    pub qualname: String,
    /// What kind of definition this is.
    pub kind: SymbolKind,
    /// The declaration line(s) up to the body, whitespace collapsed.
    pub signature: String,
    /// The doc comment or docstring, markers stripped.
    pub doc: Option<String>,
    /// Lines (first, last) the doc comment or docstring occupies in the file.
    pub doc_lines: Option<(u32, u32)>,
    /// First line of the definition (1-based).
    pub start_line: u32,
    /// Last line of the definition (inclusive).
    pub end_line: u32,
    /// Index of the enclosing symbol in the same file's symbol list.
    pub parent: Option<usize>,
}

/// How a name is referred to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RefKind {
    /// A call site: `name(...)`, `obj.name(...)`, `name!(...)`, `new Name()`.
    Call,
    /// Any other use of an identifier or type name.
    Use,
    /// The name appears in an import.
    Import,
}

impl RefKind {
    /// The stable name used in JSON output.
    pub fn name(self) -> &'static str {
        match self {
            RefKind::Call => "call",
            RefKind::Use => "use",
            RefKind::Import => "import",
        }
    }

    /// Parses a name printed by [`RefKind::name`].
    pub fn from_name(name: &str) -> Option<RefKind> {
        [RefKind::Call, RefKind::Use, RefKind::Import]
            .into_iter()
            .find(|k| k.name() == name)
    }
}

/// A use of a name.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Reference {
    /// The referenced name (last path segment, e.g. `send` for `s.send()`).
    pub name: String,
    /// Call, use or import.
    pub kind: RefKind,
    /// Line of the reference (1-based).
    pub line: u32,
    /// Index of the innermost symbol containing the reference, if any.
    pub enclosing: Option<usize>,
}

/// An import statement's target.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Import {
    /// The module, package, header or path imported from.
    pub module: String,
    /// The imported name, when the import names one.
    pub name: Option<String>,
    /// Line of the import (1-based).
    pub line: u32,
}

/// A span of a file indexed as one search unit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Chunk {
    /// First line (1-based).
    pub start_line: u32,
    /// Last line (inclusive).
    pub end_line: u32,
    /// Index of the symbol this chunk belongs to; `None` for top-level code
    /// and text files.
    pub symbol: Option<usize>,
    /// The chunk's text, exactly the lines `start_line..=end_line`.
    pub text: String,
}

/// Everything extracted from one file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FileSyntax {
    /// Definitions in source order.
    pub symbols: Vec<Symbol>,
    /// References, deduplicated by (name, kind, line).
    pub refs: Vec<Reference>,
    /// Imports in source order.
    pub imports: Vec<Import>,
    /// Chunks covering the file's non-blank content.
    pub chunks: Vec<Chunk>,
    /// Number of syntax error regions tree-sitter recovered from.
    pub syntax_errors: u32,
    /// Definitions left out because they were nested deeper than a file
    /// may nest (see `lore_syntax::MAX_NESTING`).
    pub capped: u32,
}

impl FileSyntax {
    /// The qualified symbol name of a chunk, if it belongs to one.
    pub fn chunk_symbol(&self, chunk: &Chunk) -> Option<&Symbol> {
        chunk.symbol.map(|i| &self.symbols[i])
    }

    /// A stable, line-per-item rendering used by snapshot tests.
    pub fn debug_dump(&self, lang: Language) -> String {
        use std::fmt::Write;
        let mut out = String::new();
        for sym in &self.symbols {
            let _ = writeln!(
                out,
                "def {} {} {}-{} sig={:?}{}",
                sym.kind,
                sym.qualname,
                sym.start_line,
                sym.end_line,
                sym.signature,
                sym.doc
                    .as_deref()
                    .map(|d| format!(" doc={d:?}"))
                    .unwrap_or_default()
            );
        }
        for r in &self.refs {
            let within = r
                .enclosing
                .map(|i| self.symbols[i].qualname.as_str())
                .unwrap_or("-");
            let _ = writeln!(
                out,
                "ref {} {} L{} in {}",
                r.kind.name(),
                r.name,
                r.line,
                within
            );
        }
        for imp in &self.imports {
            let _ = writeln!(
                out,
                "import {}{} L{}",
                imp.module,
                imp.name
                    .as_deref()
                    .map(|n| format!(" :: {n}"))
                    .unwrap_or_default(),
                imp.line
            );
        }
        for chunk in &self.chunks {
            let sym = chunk
                .symbol
                .map(|i| self.symbols[i].qualname.as_str())
                .unwrap_or("-");
            let _ = writeln!(out, "chunk {}-{} {sym}", chunk.start_line, chunk.end_line);
        }
        let _ = writeln!(out, "lang {lang} syntax_errors {}", self.syntax_errors);
        out
    }
}
