//! Change digests: which symbols a commit range added, removed, modified or
//! renamed, with their lines — what ScanDiff records for every new range
//! and `lore digest` prints.
//!
//! Both versions of each changed file are parsed with the index's own
//! parser. A symbol is compared by its qualified name; its text excludes
//! the lines of the symbols nested in it, so a changed method reports the
//! method, not its class as well. A removed and an added symbol whose
//! texts are the same once the names are swapped are one rename.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use lore_core::{Language, Symbol};
use serde::Serialize;

use crate::error::{Error, Result};

/// How a symbol changed (stable names: `lore digest --json`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Change {
    /// New in the range.
    Added,
    /// Gone (its lines are the old commit's).
    Removed,
    /// Its own text changed.
    Modified,
    /// The same text under another name or in another file.
    Renamed,
}

/// One changed symbol.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SymbolChange {
    /// File (at the new commit; the old one for removed symbols).
    pub path: String,
    /// Qualified name.
    pub symbol: String,
    /// Symbol kind (`function`, `class`, ...).
    pub kind: String,
    /// What happened to it.
    pub change: Change,
    /// First line (new commit; old commit for removed ones).
    pub start_line: u32,
    /// Last line.
    pub end_line: u32,
    /// Its signature line.
    pub signature: String,
    /// For a rename: `path:old qualified name`.
    pub from: Option<String>,
}

/// The digest of a commit range.
#[derive(Clone, Debug, Serialize)]
pub struct Digest {
    /// Old commit (full sha).
    pub from: String,
    /// New commit (full sha).
    pub to: String,
    /// Files the range changed.
    pub files: usize,
    /// Changed symbols, by path then line.
    pub symbols: Vec<SymbolChange>,
}

/// A symbol with its own text (nested symbols' lines left out).
struct Own<'a> {
    symbol: &'a Symbol,
    text: String,
}

fn own_texts<'a>(text: &str, symbols: &'a [Symbol]) -> BTreeMap<&'a str, Own<'a>> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = BTreeMap::new();
    for (i, s) in symbols.iter().enumerate() {
        let children: Vec<(u32, u32)> = symbols
            .iter()
            .filter(|c| c.parent == Some(i))
            .map(|c| (c.start_line, c.end_line))
            .collect();
        let own: Vec<&str> = (s.start_line..=s.end_line)
            .filter(|n| !children.iter().any(|&(a, b)| a <= *n && *n <= b))
            .filter_map(|n| lines.get(n as usize - 1).map(|l| l.trim_end()))
            .collect();
        out.entry(s.qualname.as_str()).or_insert(Own {
            symbol: s,
            text: own.join("\n"),
        });
    }
    out
}

fn record(path: &str, s: &Symbol, change: Change, from: Option<String>) -> SymbolChange {
    SymbolChange {
        path: path.to_owned(),
        symbol: s.qualname.clone(),
        kind: s.kind.name().to_owned(),
        change,
        start_line: s.start_line,
        end_line: s.end_line,
        signature: s.signature.clone(),
        from,
    }
}

/// The symbols that changed between commits `from` and `to` of the
/// repository at `root`.
pub fn digest(root: &Path, from: &str, to: &str) -> Result<Digest> {
    let not_git = || Error::Invalid(format!("{}: not a git repository", root.display()));
    let from_sha = lore_git::resolve(root, from)?.ok_or_else(not_git)?;
    let to_sha = lore_git::resolve(root, to)?.ok_or_else(not_git)?;
    let changes = lore_git::changed_files(root, &from_sha, &to_sha)?.ok_or_else(not_git)?;
    let parse = |path: &Option<String>, text: &Option<String>| {
        let (Some(path), Some(text)) = (path, text) else {
            return None;
        };
        let lang = Language::from_path(Path::new(path));
        lang.is_parsed()
            .then(|| (text.clone(), lore_syntax::parse(text, lang)))
    };
    // Added and removed symbols of the whole range, matched into renames
    // afterwards (a function may move between files).
    let mut added: Vec<SymbolChange> = Vec::new();
    let mut removed: Vec<(SymbolChange, String)> = Vec::new();
    let mut added_texts: Vec<String> = Vec::new();
    let mut out: Vec<SymbolChange> = Vec::new();
    for change in &changes {
        let old = parse(&change.old_path, &change.old_text);
        let new = parse(&change.new_path, &change.new_text);
        let old_own = old
            .as_ref()
            .map(|(t, s)| own_texts(t, &s.symbols))
            .unwrap_or_default();
        let new_own = new
            .as_ref()
            .map(|(t, s)| own_texts(t, &s.symbols))
            .unwrap_or_default();
        if let Some(path) = &change.new_path {
            for (name, n) in &new_own {
                match old_own.get(name) {
                    None => {
                        added.push(record(path, n.symbol, Change::Added, None));
                        added_texts.push(n.text.clone());
                    }
                    Some(o) if o.text != n.text => {
                        out.push(record(path, n.symbol, Change::Modified, None));
                    }
                    Some(_) => {}
                }
            }
        }
        if let Some(path) = &change.old_path {
            for (name, o) in &old_own {
                if !new_own.contains_key(name) {
                    removed.push((
                        record(path, o.symbol, Change::Removed, None),
                        o.text.clone(),
                    ));
                }
            }
        }
    }
    // A removed symbol whose text, with its name swapped for an added
    // one's, is that symbol's text: renamed.
    let mut matched: HashSet<usize> = HashSet::new();
    for (gone, text) in removed {
        let old_name = gone
            .symbol
            .rsplit('.')
            .next()
            .unwrap_or(&gone.symbol)
            .to_owned();
        let twin = added.iter().enumerate().find(|(i, a)| {
            let new_name = a.symbol.rsplit('.').next().unwrap_or(&a.symbol);
            !matched.contains(i)
                && a.kind == gone.kind
                && text.replace(&old_name, new_name) == added_texts[*i]
        });
        match twin {
            Some((i, _)) => {
                matched.insert(i);
                added[i].change = Change::Renamed;
                added[i].from = Some(format!("{}:{}", gone.path, gone.symbol));
            }
            None => out.push(gone),
        }
    }
    out.extend(added);
    out.sort_by(|a, b| {
        (a.path.as_str(), a.start_line, a.symbol.as_str()).cmp(&(
            b.path.as_str(),
            b.start_line,
            b.symbol.as_str(),
        ))
    });
    Ok(Digest {
        from: from_sha,
        to: to_sha,
        files: changes.len(),
        symbols: out,
    })
}
