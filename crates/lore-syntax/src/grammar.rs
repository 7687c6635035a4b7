//! The tree-sitter grammar and compiled tag query of each parsed language.

use std::sync::OnceLock;

use lore_core::Language;
use tree_sitter::Query;

/// A grammar with its compiled tag query.
pub(crate) struct Grammar {
    pub(crate) language: tree_sitter::Language,
    pub(crate) query: Query,
}

macro_rules! grammar {
    ($lang:expr, $file:literal) => {{
        static CELL: OnceLock<Grammar> = OnceLock::new();
        CELL.get_or_init(|| {
            let language: tree_sitter::Language = $lang.into();
            let source = include_str!(concat!("../queries/", $file));
            let query = Query::new(&language, source)
                .unwrap_or_else(|err| panic!("queries/{}: {err}", $file));
            Grammar { language, query }
        })
    }};
}

/// The grammar for `lang`, or `None` for text languages.
pub(crate) fn for_language(lang: Language) -> Option<&'static Grammar> {
    Some(match lang {
        Language::Python => grammar!(tree_sitter_python::LANGUAGE, "python.scm"),
        Language::JavaScript => grammar!(tree_sitter_javascript::LANGUAGE, "javascript.scm"),
        Language::TypeScript => {
            grammar!(
                tree_sitter_typescript::LANGUAGE_TYPESCRIPT,
                "typescript.scm"
            )
        }
        Language::Tsx => grammar!(tree_sitter_typescript::LANGUAGE_TSX, "typescript.scm"),
        Language::Rust => grammar!(tree_sitter_rust::LANGUAGE, "rust.scm"),
        Language::Go => grammar!(tree_sitter_go::LANGUAGE, "go.scm"),
        Language::Java => grammar!(tree_sitter_java::LANGUAGE, "java.scm"),
        Language::C => grammar!(tree_sitter_c::LANGUAGE, "c.scm"),
        Language::Cpp => grammar!(tree_sitter_cpp::LANGUAGE, "cpp.scm"),
        _ => return None,
    })
}

/// Compiles every query; panics naming the query file that fails. Used by
/// tests and by `lore` at startup in debug builds.
pub fn check_queries() -> usize {
    Language::ALL.into_iter().filter_map(for_language).count()
}
