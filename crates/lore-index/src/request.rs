//! Request values shared by every interface — the CLI, the HTTP API and
//! MCP — parsed in one place, so the three accept the same spellings and
//! reject a bad value with the same message naming it.

use lore_core::{Language, SymbolKind};

use crate::{Error, Result, SearchMode};

/// A search mode by name: `hybrid`, `lexical` (or `bm25`), `vector` (or
/// `semantic`, `learned`), `dense` (or `transformer`).
pub fn mode(name: &str) -> Result<SearchMode> {
    SearchMode::from_name(name.trim()).ok_or_else(|| {
        Error::Invalid(format!(
            "unknown mode {name:?}: expected hybrid, lexical, vector or dense"
        ))
    })
}

/// Languages by name (`python`, `rust`, `ts`…).
pub fn languages<S: AsRef<str>>(names: &[S]) -> Result<Vec<Language>> {
    names
        .iter()
        .map(|name| {
            let name = name.as_ref();
            Language::from_name(name.trim()).ok_or_else(|| {
                let known: Vec<&str> = Language::ALL.iter().map(|l| l.name()).collect();
                Error::Invalid(format!(
                    "unknown language {name:?}: expected one of {}",
                    known.join(", ")
                ))
            })
        })
        .collect()
}

/// A symbol kind by name, if one is given.
pub fn kind(name: Option<&str>) -> Result<Option<SymbolKind>> {
    name.map(|k| {
        SymbolKind::from_name(k.trim()).ok_or_else(|| {
            let known: Vec<&str> = SymbolKind::ALL.iter().map(|k| k.name()).collect();
            Error::Invalid(format!(
                "unknown kind {k:?}: expected one of {}",
                known.join(", ")
            ))
        })
    })
    .transpose()
}

/// The text of a query or question, trimmed; empty text is an error naming
/// `what` ("search query", "question").
pub fn text<'a>(text: &'a str, what: &str) -> Result<&'a str> {
    let text = text.trim();
    if text.is_empty() {
        return Err(Error::Invalid(format!("the {what} is empty")));
    }
    Ok(text)
}

/// A number of results: at least 1.
pub fn limit(n: usize) -> Result<usize> {
    if n == 0 {
        return Err(Error::Invalid(
            "the number of results must be at least 1".into(),
        ));
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_languages_and_kinds_by_name() {
        assert_eq!(mode("semantic").unwrap(), SearchMode::Vector);
        assert_eq!(mode(" lexical ").unwrap(), SearchMode::Lexical);
        let err = mode("fuzzy").unwrap_err().to_string();
        assert!(err.contains("\"fuzzy\"") && err.contains("vector"), "{err}");
        assert_eq!(
            languages(&["python", "rust"]).unwrap(),
            [Language::Python, Language::Rust]
        );
        let err = languages(&["cobol"]).unwrap_err().to_string();
        assert!(err.contains("\"cobol\"") && err.contains("python"), "{err}");
        assert_eq!(kind(None).unwrap(), None);
        assert_eq!(kind(Some("class")).unwrap(), Some(SymbolKind::Class));
        assert!(
            kind(Some("klass"))
                .unwrap_err()
                .to_string()
                .contains("klass")
        );
    }

    #[test]
    fn empty_text_and_zero_limit_are_refused() {
        assert_eq!(text("  where  ", "question").unwrap(), "where");
        assert_eq!(
            text(" \n", "search query").unwrap_err().to_string(),
            "the search query is empty"
        );
        assert!(limit(0).is_err());
        assert_eq!(limit(3).unwrap(), 3);
    }
}
