//! Reading cards and dossiers back (`lore card`, `lore dossier`, the API
//! and MCP): from the fact store when Summarize wrote them, made on the
//! spot otherwise; each says where it came from and whether the code has
//! moved since (`stale`).

use lore_core::jobs::JobStore;
use lore_store::SqliteJobs;
use serde_json::{Value, json};

use super::{card_scope, dir_scope, file_scope, keys, module_of, summarize};
use crate::error::{Error, Result};
use crate::query::RepoIndex;

/// Whether a fact made from `path` at `hash` no longer matches the index.
fn stale(index: &RepoIndex, path: &str, hash: Option<&str>) -> Result<bool> {
    let current = index.store().file_state(path)?.map(|s| s.hash);
    Ok(match (current, hash) {
        (Some(now), Some(then)) => now != then || index.is_stale(path)?,
        _ => true,
    })
}

fn annotate(index: &RepoIndex, mut value: Value, source: &str) -> Result<Value> {
    let path = value["path"].as_str().unwrap_or_default().to_owned();
    let is_dir = value["kind"] == "directory";
    let stale = if is_dir {
        false
    } else {
        stale(index, &path, value["file_hash"].as_str())?
    };
    value["stale"] = json!(stale);
    value["source"] = json!(source);
    Ok(value)
}

/// The symbols `query` names: `name`, `Outer.name` (any separator the
/// language uses) or `path:name`.
fn resolve(index: &RepoIndex, query: &str) -> Result<Vec<(String, String)>> {
    let (path, name) = match query.rsplit_once(':') {
        Some((p, n)) if !p.is_empty() && !p.ends_with(':') && !n.is_empty() => (Some(p), n),
        _ => (None, query),
    };
    let bare = name.rsplit(['.', ':']).next().unwrap_or(name);
    let hits = index.symbols(bare, None, 200)?;
    let want = |q: &str| {
        q == name || q.ends_with(&format!(".{name}")) || q.ends_with(&format!("::{name}"))
    };
    Ok(hits
        .into_iter()
        .filter(|h| h.matched == "exact")
        .filter(|h| matches!(h.kind.as_str(), "function" | "method"))
        .filter(|h| path.is_none_or(|p| h.path == p))
        .filter(|h| want(&h.qualname) || name == bare && h.name == bare)
        .map(|h| (h.path, h.qualname))
        .collect())
}

/// The cards of the functions `query` names, each with `stale` and
/// `source` (`facts`: written by Summarize; `live`: made now).
pub fn cards(index: &RepoIndex, queue: &SqliteJobs, repo: &str, query: &str) -> Result<Vec<Value>> {
    let found = resolve(index, query)?;
    if found.is_empty() {
        return Err(Error::Invalid(format!(
            "no function or method named `{query}` in the index (`lore symbols {query}` looks wider)"
        )));
    }
    let mut out = Vec::new();
    for (path, qualname) in found {
        if let Some((_, value)) =
            queue.fact_latest(&card_scope(repo, &path, &qualname), keys::CARD)?
        {
            let value: Value = serde_json::from_str(&value)
                .map_err(|e| Error::Invalid(format!("card of {path}:{qualname}: {e}")))?;
            out.push(annotate(index, value, "facts")?);
            continue;
        }
        let made = summarize(index, repo, std::slice::from_ref(&path))?;
        let scope = card_scope(repo, &path, &qualname);
        if let Some(f) = made
            .facts
            .into_iter()
            .find(|f| f.scope == scope && f.key == keys::CARD)
        {
            let value: Value = serde_json::from_str(&f.value).expect("a card we made parses");
            out.push(annotate(index, value, "live")?);
        }
    }
    Ok(out)
}

/// The dossier of a file or directory (relative to the root; `.` or empty
/// for the root directory).
pub fn dossier(index: &RepoIndex, queue: &SqliteJobs, repo: &str, path: &str) -> Result<Value> {
    let path = path.trim_end_matches('/').trim_start_matches("./");
    let path = if path.is_empty() { "." } else { path };
    let paths = index.store().paths()?;
    let is_file = paths.iter().any(|p| p == path);
    let is_dir = !is_file && paths.iter().any(|p| module_of(p) == path);
    if !is_file && !is_dir {
        return Err(Error::Invalid(format!(
            "{path}: not an indexed file or a directory holding one"
        )));
    }
    let scope = if is_file {
        file_scope(repo, path)
    } else {
        dir_scope(repo, path)
    };
    if let Some((_, value)) = queue.fact_latest(&scope, keys::DOSSIER)? {
        let value: Value = serde_json::from_str(&value)
            .map_err(|e| Error::Invalid(format!("dossier of {path}: {e}")))?;
        return annotate(index, value, "facts");
    }
    let of: Vec<String> = if is_file {
        vec![path.to_owned()]
    } else {
        paths.into_iter().filter(|p| module_of(p) == path).collect()
    };
    let made = summarize(index, repo, &of)?;
    let f = made
        .facts
        .into_iter()
        .find(|f| f.scope == scope && f.key == keys::DOSSIER)
        .ok_or_else(|| {
            Error::Invalid(format!(
                "{path}: changed on disk since it was indexed; run `lore index`"
            ))
        })?;
    annotate(
        index,
        serde_json::from_str(&f.value).expect("a dossier we made parses"),
        "live",
    )
}
