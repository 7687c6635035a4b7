//! Thoughts that need no LLM, computed from the index: MapRepo (entry
//! points, module graph with PageRank, frameworks, test layout, an
//! overview), Summarize (function cards and module dossiers) and
//! Prioritize (the frontier of what to think about next).
//!
//! Each returns its facts and insights; the worker commits them with the
//! run's completion. Facts of a repository are scoped under `repo:ID`:
//! `repo:ID` (the map, the frontier), `repo:ID/file:PATH` (a file's
//! dossier), `repo:ID/file:PATH#QUALNAME` (a function's card),
//! `repo:ID/dir:PATH` (a directory's dossier) — so forgetting a repository
//! or purging a path reaches them. Each is pinned to the indexed commit and
//! carries the file's content hash, so a reader can tell it is stale.

pub mod entry;
pub mod read;

use std::collections::{HashMap, HashSet};

use lore_core::jobs::{Fact, NewInsight};
use lore_core::store::{FileEdge, SymbolRow};
use lore_core::{Language, RefKind, SymbolKind};
use lore_retrieve::graph::{PageRankConfig, pagerank};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::error::Result;
use crate::query::RepoIndex;
pub use entry::{EntryPoint, entry_points, is_test_path};

/// What a thought produced.
#[derive(Debug, Default)]
pub struct Produced {
    /// The run's output (JSON).
    pub output: Value,
    /// Facts to commit with the completion.
    pub facts: Vec<Fact>,
    /// Insights to commit with the completion.
    pub insights: Vec<NewInsight>,
    /// Lines for the run's log.
    pub log: Vec<String>,
    /// Files for the run to keep (name, content): its artifacts.
    pub files: Vec<(String, Vec<u8>)>,
}

/// Fact keys.
pub mod keys {
    /// The repository map (MapRepo), scope `repo:ID`.
    pub const MAP: &str = "map";
    /// The frontier (Prioritize), scope `repo:ID`.
    pub const FRONTIER: &str = "frontier";
    /// A function card (Summarize), scope `repo:ID/file:PATH#QUALNAME`.
    pub const CARD: &str = "card";
    /// A module dossier (Summarize), scope `repo:ID/file:PATH` or
    /// `repo:ID/dir:PATH`.
    pub const DOSSIER: &str = "dossier";
}

/// Scope of the facts about a repository.
pub fn repo_scope(repo: &str) -> String {
    format!("repo:{repo}")
}

/// Scope of a file's dossier (and prefix of its cards).
pub fn file_scope(repo: &str, path: &str) -> String {
    format!("repo:{repo}/file:{path}")
}

/// Scope of a function's card.
pub fn card_scope(repo: &str, path: &str, qualname: &str) -> String {
    format!("repo:{repo}/file:{path}#{qualname}")
}

/// Scope of a directory's dossier.
pub fn dir_scope(repo: &str, dir: &str) -> String {
    format!("repo:{repo}/dir:{dir}")
}

/// The module (directory) of a file; `.` for the root.
pub fn module_of(path: &str) -> &str {
    path.rsplit_once('/').map_or(".", |(d, _)| d)
}

fn round4(x: f64) -> f64 {
    (x * 10_000.0).round() / 10_000.0
}

/// A citation as insights and facts carry it.
pub(crate) fn cite(path: &str, start: u32, end: u32, commit: &str) -> Value {
    json!({ "path": path, "start_line": start, "end_line": end, "commit": commit })
}

/// Cyclomatic complexity of a function's text: one plus its decision
/// points (branches, loops, catches, boolean operators, ternaries), counted
/// on code with strings and comments blanked.
pub fn complexity(lang: Language, text: &str) -> u32 {
    let code = blank_strings_and_comments(lang, text);
    let words: &[&str] = match lang {
        Language::Python => &[
            "if", "elif", "for", "while", "except", "and", "or", "case", "with",
        ],
        Language::Rust => &["if", "for", "while", "loop", "match"],
        Language::Go => &["if", "for", "case", "select"],
        _ => &["if", "for", "while", "case", "catch"],
    };
    let mut n = 1u32;
    let bytes = code.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        if c.is_ascii_alphabetic() || c == b'_' {
            let start = i;
            while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                i += 1;
            }
            let w = &code[start..i];
            // Python's `with` is not a branch; it is listed to skip `with`
            // in counts of other languages only.
            if w != "with" && words.contains(&w) {
                n += 1;
            }
            continue;
        }
        if lang != Language::Python {
            if (c == b'&' || c == b'|') && bytes.get(i + 1) == Some(&c) {
                n += 1;
                i += 2;
                continue;
            }
            if c == b'?' && lang != Language::Rust {
                n += 1;
            }
            // A match arm in Rust.
            if lang == Language::Rust && c == b'=' && bytes.get(i + 1) == Some(&b'>') {
                n += 1;
            }
        }
        i += 1;
    }
    n
}

/// `text` with the contents of strings and comments replaced by spaces
/// (lines kept), so keywords in them do not count.
fn blank_strings_and_comments(lang: Language, text: &str) -> String {
    let hash_comments = matches!(lang, Language::Python);
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '#' if hash_comments => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        out.push('\n');
                        break;
                    }
                }
            }
            '/' if !hash_comments && chars.peek() == Some(&'/') => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        out.push('\n');
                        break;
                    }
                }
            }
            '/' if !hash_comments && chars.peek() == Some(&'*') => {
                let mut prev = ' ';
                for c in chars.by_ref() {
                    if c == '\n' {
                        out.push('\n');
                    }
                    if prev == '*' && c == '/' {
                        break;
                    }
                    prev = c;
                }
            }
            '"' | '\'' | '`' => {
                // A Rust lifetime or char is short; treat `'` as a quote only
                // where it closes on the same line.
                let quote = c;
                out.push(' ');
                let mut escaped = false;
                for c in chars.by_ref() {
                    if c == '\n' {
                        out.push('\n');
                        if quote != '`' && !hash_comments {
                            break;
                        }
                        continue;
                    }
                    if escaped {
                        escaped = false;
                    } else if c == '\\' {
                        escaped = true;
                    } else if c == quote {
                        break;
                    }
                }
            }
            c => out.push(c),
        }
    }
    out
}

/// The file graph and its PageRank, with module (directory) aggregates.
pub struct RepoGraph {
    /// Indexed paths.
    pub paths: Vec<String>,
    /// Edges `src` uses `dst`.
    pub edges: Vec<FileEdge>,
    /// PageRank per path (sums to 1).
    pub rank: HashMap<String, f64>,
}

impl RepoGraph {
    /// Builds it from the index.
    pub fn of(index: &RepoIndex) -> Result<RepoGraph> {
        let store = index.store();
        let paths = store.paths()?;
        let edges = store.file_edges(None)?;
        let (graph, _) = crate::map::file_graph(&paths, &edges, 0.0);
        let scores = pagerank(&graph, &vec![1.0; paths.len()], &PageRankConfig::default());
        let rank = paths.iter().cloned().zip(scores).collect();
        Ok(RepoGraph { paths, edges, rank })
    }

    /// Module-level edges (src module uses dst module) with summed weights.
    pub fn module_edges(&self) -> Vec<(String, String, f64)> {
        let mut by: HashMap<(&str, &str), f64> = HashMap::new();
        for e in &self.edges {
            let (a, b) = (module_of(&e.src), module_of(&e.dst));
            if a != b {
                *by.entry((a, b)).or_default() += e.weight;
            }
        }
        let mut out: Vec<(String, String, f64)> = by
            .into_iter()
            .map(|((a, b), w)| (a.to_owned(), b.to_owned(), w))
            .collect();
        out.sort_by(|x, y| {
            y.2.total_cmp(&x.2)
                .then_with(|| (&x.0, &x.1).cmp(&(&y.0, &y.1)))
        });
        out
    }

    /// Modules ranked by the PageRank of their files: (module, rank, files).
    pub fn modules(&self) -> Vec<(String, f64, usize)> {
        let mut by: HashMap<&str, (f64, usize)> = HashMap::new();
        for p in &self.paths {
            let e = by.entry(module_of(p)).or_default();
            e.0 += self.rank.get(p).copied().unwrap_or(0.0);
            e.1 += 1;
        }
        let mut out: Vec<(String, f64, usize)> = by
            .into_iter()
            .map(|(m, (r, n))| (m.to_owned(), r, n))
            .collect();
        out.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        out
    }
}

/// Frameworks and tools named in the repository's manifests or seen in
/// its entry points.
fn frameworks(index: &RepoIndex, entries: &[EntryPoint]) -> Vec<String> {
    const KNOWN: &[&str] = &[
        "django",
        "flask",
        "fastapi",
        "starlette",
        "pytest",
        "express",
        "koa",
        "react",
        "vue",
        "next",
        "jest",
        "mocha",
        "vitest",
        "gin",
        "echo",
        "cobra",
        "axum",
        "actix-web",
        "tokio",
        "clap",
        "serde",
        "spring-boot",
        "junit",
        "click",
        "typer",
        "commander",
        "celery",
        "sqlalchemy",
        "numpy",
        "pandas",
    ];
    const MANIFESTS: &[&str] = &[
        "Cargo.toml",
        "package.json",
        "pyproject.toml",
        "setup.py",
        "setup.cfg",
        "requirements.txt",
        "go.mod",
        "pom.xml",
        "build.gradle",
        "build.gradle.kts",
    ];
    let mut found: HashSet<String> = entries
        .iter()
        .map(|e| e.framework.clone())
        .filter(|f| !f.is_empty() && f != "django-command" && f != "argparse")
        .collect();
    for m in MANIFESTS {
        let Ok(text) = std::fs::read_to_string(index.root().join(m)) else {
            continue;
        };
        let lower = text.to_lowercase();
        for k in KNOWN {
            let word = |i: usize| {
                let before = lower[..i].chars().next_back();
                let after = lower[i + k.len()..].chars().next();
                let edge = |c: Option<char>| {
                    c.is_none_or(|c| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
                };
                edge(before) && edge(after)
            };
            if lower.match_indices(k).any(|(i, _)| word(i)) {
                found.insert((*k).to_owned());
            }
        }
    }
    let mut out: Vec<String> = found.into_iter().collect();
    out.sort();
    out
}

/// The text of an indexed file as it was indexed, or `None` if it changed
/// on disk since (its facts would cite the wrong lines).
pub(crate) fn indexed_text(index: &RepoIndex, path: &str) -> Result<Option<(String, String)>> {
    let Some(state) = index.store().file_state(path)? else {
        return Ok(None);
    };
    let Ok(bytes) = std::fs::read(lore_core::path::under(index.root(), path)) else {
        return Ok(None);
    };
    if blake3::hash(&bytes).to_hex().as_str() != state.hash {
        return Ok(None);
    }
    Ok(String::from_utf8(bytes).ok().map(|t| (t, state.hash)))
}

/// MapRepo: entry points, the module graph with PageRank, frameworks, the
/// test layout and an overview, as one fact (`repo:ID`, `map`) and an
/// insight listing the entry points.
pub fn map_repo(index: &RepoIndex, repo: &str) -> Result<Produced> {
    let commit = index.indexed_commit().unwrap_or("").to_owned();
    let graph = RepoGraph::of(index)?;
    let mut entries = Vec::new();
    let mut languages: HashMap<&'static str, usize> = HashMap::new();
    for path in &graph.paths {
        let lang = Language::from_path(std::path::Path::new(path));
        *languages.entry(lang.name()).or_default() += 1;
        if is_test_path(path) || lang == Language::Markdown {
            continue;
        }
        let Some((text, _)) = indexed_text(index, path)? else {
            continue;
        };
        let symbols = index.store().outline(path)?;
        entries.extend(entry_points(path, lang, &text, &symbols));
    }
    let tests: Vec<&String> = graph.paths.iter().filter(|p| is_test_path(p)).collect();
    // Which modules each test module exercises (its files' edges).
    let mut exercised: HashMap<&str, HashMap<&str, f64>> = HashMap::new();
    for e in &graph.edges {
        if is_test_path(&e.src) && !is_test_path(&e.dst) {
            *exercised
                .entry(module_of(&e.src))
                .or_default()
                .entry(module_of(&e.dst))
                .or_default() += e.weight;
        }
    }
    let mut layout: Vec<Value> = exercised
        .into_iter()
        .map(|(t, m)| {
            let mut m: Vec<(&str, f64)> = m.into_iter().collect();
            m.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(b.0)));
            json!({
                "tests": t,
                "exercises": m.iter().take(10).map(|(m, _)| m).collect::<Vec<_>>(),
            })
        })
        .collect();
    layout.sort_by(|a, b| a["tests"].as_str().cmp(&b["tests"].as_str()));
    let modules = graph.modules();
    let module_edges = graph.module_edges();
    let frameworks = frameworks(index, &entries);
    let mut langs: Vec<(&str, usize)> = languages.into_iter().collect();
    langs.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let count = |kind: &str| entries.iter().filter(|e| e.kind == kind).count();
    let overview = format!(
        "{} files ({}) in {} modules; {} entry points ({} routes, {} commands, {} main); {} test files{}.",
        graph.paths.len(),
        langs
            .iter()
            .take(4)
            .map(|(l, n)| format!("{l} {n}"))
            .collect::<Vec<_>>()
            .join(", "),
        modules.len(),
        entries.len(),
        count("route"),
        count("cli"),
        count("main"),
        tests.len(),
        if frameworks.is_empty() {
            String::new()
        } else {
            format!("; frameworks: {}", frameworks.join(", "))
        }
    );
    let map = json!({
        "commit": commit,
        "overview": overview,
        "files": graph.paths.len(),
        "languages": langs.iter().map(|(l, n)| json!({ "language": l, "files": n })).collect::<Vec<_>>(),
        "frameworks": frameworks,
        "entry_points": entries,
        "modules": modules.iter().take(30).map(|(m, r, n)| json!({ "module": m, "rank": r, "files": n })).collect::<Vec<_>>(),
        "module_edges": module_edges.iter().take(60).map(|(a, b, w)| json!({ "from": a, "to": b, "weight": w })).collect::<Vec<_>>(),
        "tests": { "files": tests.len(), "layout": layout },
    });
    let mut insights = Vec::new();
    if !entries.is_empty() {
        let evidence: Vec<Value> = entries
            .iter()
            .take(50)
            .map(|e| cite(&e.path, e.line, e.line, &commit))
            .collect();
        let body = entries
            .iter()
            .take(50)
            .map(|e| {
                let what = match e.kind.as_str() {
                    "route" => format!("{} {}", e.method, e.name),
                    "cli" => format!("command `{}`", e.name),
                    _ => "main".to_owned(),
                };
                let by = if e.framework.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", e.framework)
                };
                format!("- {what}{by} — {}:{}", e.path, e.line)
            })
            .collect::<Vec<_>>()
            .join("\n");
        insights.push(NewInsight {
            kind: "entry-points".into(),
            severity: "low".into(),
            title: format!(
                "{} entry points: {} routes, {} commands, {} main",
                entries.len(),
                count("route"),
                count("cli"),
                count("main")
            ),
            body,
            evidence: Value::Array(evidence).to_string(),
            fingerprint: "entry-points".into(),
        });
    }
    let overview_md = overview_markdown(&map, &entries);
    Ok(Produced {
        log: vec![
            format!(
                "mapped {} files in {} modules",
                graph.paths.len(),
                modules.len()
            ),
            format!("{} entry points", entries.len()),
        ],
        files: vec![("overview.md".to_owned(), overview_md.into_bytes())],
        output: json!({
            "files": graph.paths.len(),
            "entry_points": entries.len(),
            "modules": modules.len(),
            "frameworks": map["frameworks"],
        }),
        facts: vec![Fact {
            scope: repo_scope(repo),
            key: keys::MAP.into(),
            commit,
            value: map.to_string(),
        }],
        insights,
    })
}

/// The repository overview MapRepo keeps as an artifact: what a newcomer
/// reads first.
fn overview_markdown(map: &Value, entries: &[EntryPoint]) -> String {
    let mut md = format!(
        "# Repository overview\n\n{}\n",
        map["overview"].as_str().unwrap_or("")
    );
    if let Some(commit) = map["commit"].as_str().filter(|c| !c.is_empty()) {
        md.push_str(&format!("\nAt commit `{commit}`.\n"));
    }
    md.push_str("\n## Entry points\n\n");
    for e in entries.iter().take(200) {
        let what = match e.kind.as_str() {
            "route" => format!("{} `{}`", e.method, e.name),
            "cli" => format!("command `{}`", e.name),
            _ => "main".to_owned(),
        };
        let by = if e.framework.is_empty() {
            String::new()
        } else {
            format!(" ({})", e.framework)
        };
        md.push_str(&format!("- {what}{by}: `{}:{}`\n", e.path, e.line));
    }
    md.push_str("\n## Modules by centrality\n\n| module | files | rank |\n|---|---|---|\n");
    for m in map["modules"].as_array().into_iter().flatten() {
        md.push_str(&format!(
            "| `{}` | {} | {:.3} |\n",
            m["module"].as_str().unwrap_or(""),
            m["files"],
            m["rank"].as_f64().unwrap_or(0.0)
        ));
    }
    md.push_str("\n## Tests\n\n");
    for t in map["tests"]["layout"].as_array().into_iter().flatten() {
        let used: Vec<&str> = t["exercises"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        md.push_str(&format!(
            "- `{}` exercises {}\n",
            t["tests"].as_str().unwrap_or(""),
            used.join(", ")
        ));
    }
    md
}

/// A function card (`lore card`): stable JSON.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Card {
    /// Qualified name in its file.
    pub symbol: String,
    /// Kind (`function`, `method`).
    pub kind: String,
    /// File.
    pub path: String,
    /// First line.
    pub start_line: u32,
    /// Last line.
    pub end_line: u32,
    /// Declaration.
    pub signature: String,
    /// Doc comment, if any.
    pub doc: Option<String>,
    /// Call sites naming it (by name: other definitions of the same name
    /// may be meant), at most 10 of `callers_total`.
    pub callers: Vec<Value>,
    /// All call sites found by name.
    pub callers_total: usize,
    /// Names it calls, with their lines.
    pub callees: Vec<Value>,
    /// Cyclomatic complexity.
    pub complexity: u32,
    /// Lines.
    pub lines: u32,
    /// Commits that touched its file, last change (RFC 3339), authors.
    pub churn: Value,
    /// Who changed its file most.
    pub owners: Vec<Value>,
    /// Test code calling it.
    pub tests: Vec<Value>,
    /// The commit it was made at.
    pub commit: String,
    /// Content hash of its file then (stale when the file moved on).
    pub file_hash: String,
}

fn churn_json(index: &RepoIndex, path: &str) -> Result<(Value, u64)> {
    Ok(match index.store().churn(path)? {
        Some((commits, last, authors)) => (
            json!({
                "commits": commits,
                "last_change": lore_core::time::rfc3339(last * 1000),
                "authors": authors,
            }),
            commits,
        ),
        None => (Value::Null, 0),
    })
}

fn owners_json(index: &RepoIndex, path: &str) -> Result<Vec<Value>> {
    Ok(index
        .store()
        .owners(path, 3)?
        .into_iter()
        .map(|(a, n, _)| json!({ "author": a, "commits": n }))
        .collect())
}

/// The leading comment or docstring of a file: what the module is for.
fn purpose(text: &str) -> Option<String> {
    let mut lines = Vec::new();
    let mut in_doc: Option<&str> = None;
    for line in text.lines().take(60) {
        let t = line.trim();
        if t.starts_with("#!") && lines.is_empty() {
            continue;
        }
        if let Some(close) = in_doc {
            let end = t.find(close);
            lines.push(t[..end.unwrap_or(t.len())].trim().to_owned());
            if end.is_some() {
                break;
            }
            continue;
        }
        if t.is_empty() && lines.is_empty() {
            continue;
        }
        if let Some(rest) = ["//!", "///", "//", "#"]
            .iter()
            .find_map(|p| t.strip_prefix(p))
            .filter(|_| !t.starts_with("#!") && !t.starts_with("#["))
        {
            lines.push(rest.trim().to_owned());
            continue;
        }
        if let Some((open, close)) = [
            ("\"\"\"", "\"\"\""),
            ("'''", "'''"),
            ("/**", "*/"),
            ("/*", "*/"),
        ]
        .iter()
        .find(|(o, _)| t.starts_with(o))
        {
            let rest = &t[open.len()..];
            if let Some(end) = rest.find(close) {
                lines.push(rest[..end].trim().to_owned());
                break;
            }
            lines.push(rest.trim().to_owned());
            in_doc = Some(close);
            continue;
        }
        if !lines.is_empty() || !(t.starts_with("package ") || t.starts_with("use ")) {
            break;
        }
    }
    let text = lines
        .iter()
        .map(|l| l.trim_start_matches('*').trim())
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    let text = text.trim();
    (!text.is_empty() && !text.to_lowercase().contains("copyright")).then(|| {
        let cut: String = text.chars().take(400).collect();
        cut
    })
}

fn is_public(lang: Language, s: &SymbolRow) -> bool {
    match lang {
        Language::Rust => s.signature.starts_with("pub ") || s.signature.starts_with("pub("),
        Language::Go => s.name.chars().next().is_some_and(char::is_uppercase),
        Language::Python => !s.name.starts_with('_'),
        Language::Java => s.signature.contains("public"),
        Language::JavaScript | Language::TypeScript | Language::Tsx => {
            s.signature.starts_with("export") || s.parent_id.is_none()
        }
        _ => true,
    }
}

/// Summarize: a card per function and method, a dossier per file and per
/// directory, of `paths` (all indexed files when empty). Hot spots
/// (complex functions in files that change often) become insights.
pub fn summarize(index: &RepoIndex, repo: &str, paths: &[String]) -> Result<Produced> {
    let commit = index.indexed_commit().unwrap_or("").to_owned();
    let graph = RepoGraph::of(index)?;
    let wanted: Vec<&String> = if paths.is_empty() {
        graph.paths.iter().collect()
    } else {
        let known: HashSet<&str> = graph.paths.iter().map(String::as_str).collect();
        paths
            .iter()
            .filter(|p| known.contains(p.as_str()))
            .collect()
    };
    let mut out_edges: HashMap<&str, Vec<(&str, f64)>> = HashMap::new();
    let mut in_edges: HashMap<&str, Vec<(&str, f64)>> = HashMap::new();
    for e in &graph.edges {
        out_edges
            .entry(&e.src)
            .or_default()
            .push((&e.dst, e.weight));
        in_edges.entry(&e.dst).or_default().push((&e.src, e.weight));
    }
    let top = |v: Option<&Vec<(&str, f64)>>| -> Vec<Value> {
        let mut v = v.cloned().unwrap_or_default();
        v.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(b.0)));
        v.iter()
            .take(10)
            .map(|(p, w)| json!({ "path": p, "weight": (w * 100.0).round() / 100.0 }))
            .collect()
    };
    let mut refs_by_name: HashMap<String, std::rc::Rc<Vec<lore_core::store::RefRow>>> =
        HashMap::new();
    let mut facts = Vec::new();
    let mut hot: Vec<(f64, Card)> = Vec::new();
    let (mut cards, mut dossiers) = (0usize, 0usize);
    let mut dirs: HashSet<&str> = HashSet::new();
    for path in &wanted {
        let path = path.as_str();
        dirs.insert(module_of(path));
        let lang = Language::from_path(std::path::Path::new(path));
        let Some((text, hash)) = indexed_text(index, path)? else {
            continue;
        };
        let lines: Vec<&str> = text.lines().collect();
        let symbols = index.store().outline(path)?;
        let (churn, commits) = churn_json(index, path)?;
        let owners = owners_json(index, path)?;
        let mut file_cards: Vec<Card> = Vec::new();
        for s in symbols
            .iter()
            .filter(|s| matches!(s.kind, SymbolKind::Function | SymbolKind::Method))
        {
            let body = lines
                .get(
                    s.start_line.saturating_sub(1) as usize..(s.end_line as usize).min(lines.len()),
                )
                .map(|l| l.join("\n"))
                .unwrap_or_default();
            let refs = refs_by_name
                .entry(s.name.clone())
                .or_insert_with(|| {
                    std::rc::Rc::new(index.store().refs(&s.name).unwrap_or_default())
                })
                .clone();
            let calls: Vec<&lore_core::store::RefRow> = refs
                .iter()
                .filter(|r| r.kind == RefKind::Call)
                .filter(|r| !(r.path == path && (s.start_line..=s.end_line).contains(&r.line)))
                .collect();
            let mut callees: Vec<Value> = Vec::new();
            let mut seen = HashSet::new();
            for (name, line) in index.store().calls_in(path, s.start_line, s.end_line)? {
                if seen.insert(name.clone()) && callees.len() < 20 {
                    callees.push(json!({ "name": name, "line": line }));
                }
            }
            let card = Card {
                symbol: s.qualname.clone(),
                kind: s.kind.name().to_owned(),
                path: path.to_owned(),
                start_line: s.start_line,
                end_line: s.end_line,
                signature: s.signature.clone(),
                doc: s.doc.as_ref().map(|d| d.chars().take(600).collect()),
                callers: calls
                    .iter()
                    .filter(|r| !is_test_path(&r.path))
                    .take(10)
                    .map(|r| json!({ "path": r.path, "line": r.line, "in": r.enclosing }))
                    .collect(),
                callers_total: calls.len(),
                callees,
                complexity: complexity(lang, &body),
                lines: s.end_line + 1 - s.start_line,
                churn: churn.clone(),
                owners: owners.clone(),
                tests: calls
                    .iter()
                    .filter(|r| is_test_path(&r.path))
                    .take(5)
                    .map(|r| json!({ "path": r.path, "line": r.line, "in": r.enclosing }))
                    .collect(),
                commit: commit.clone(),
                file_hash: hash.clone(),
            };
            facts.push(Fact {
                scope: card_scope(repo, path, &s.qualname),
                key: keys::CARD.into(),
                commit: commit.clone(),
                value: serde_json::to_string(&card).expect("a card serializes"),
            });
            cards += 1;
            file_cards.push(card);
        }
        file_cards.sort_by(|a, b| {
            b.complexity
                .cmp(&a.complexity)
                .then(a.start_line.cmp(&b.start_line))
        });
        for c in file_cards.iter().take(3) {
            if c.complexity >= 15 {
                hot.push((
                    f64::from(c.complexity) * (1.0 + (commits as f64).ln_1p()),
                    c.clone(),
                ));
            }
        }
        let public: Vec<Value> = symbols
            .iter()
            .filter(|s| s.parent_id.is_none() && is_public(lang, s))
            .take(30)
            .map(|s| json!({ "symbol": s.qualname, "kind": s.kind.name(), "line": s.start_line, "signature": s.signature }))
            .collect();
        let dependents = top(in_edges.get(path));
        let dossier = json!({
            "path": path,
            "kind": "file",
            "language": lang.name(),
            "purpose": purpose(&text),
            "lines": lines.len(),
            "symbols": symbols.len(),
            "public_api": public,
            "dependencies": top(out_edges.get(path)),
            "dependents": dependents,
            "tests": in_edges.get(path).map(|v| v.iter().filter(|(p, _)| is_test_path(p)).map(|(p, _)| *p).take(10).collect::<Vec<_>>()).unwrap_or_default(),
            "hot_spots": file_cards.iter().take(5).map(|c| json!({ "symbol": c.symbol, "line": c.start_line, "complexity": c.complexity })).collect::<Vec<_>>(),
            "rank": round4(graph.rank.get(path).copied().unwrap_or(0.0)),
            "churn": churn,
            "owners": owners,
            "commit": commit,
            "file_hash": hash,
        });
        facts.push(Fact {
            scope: file_scope(repo, path),
            key: keys::DOSSIER.into(),
            commit: commit.clone(),
            value: dossier.to_string(),
        });
        dossiers += 1;
    }
    // Directory dossiers of the directories touched.
    let module_edges = graph.module_edges();
    let modules: HashMap<String, (f64, usize)> = graph
        .modules()
        .into_iter()
        .map(|(m, r, n)| (m, (r, n)))
        .collect();
    for dir in dirs {
        let mut files: Vec<(&String, f64)> = graph
            .paths
            .iter()
            .filter(|p| module_of(p) == dir)
            .map(|p| (p, graph.rank.get(p).copied().unwrap_or(0.0)))
            .collect();
        files.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(b.0)));
        let purpose = files
            .iter()
            .map(|(p, _)| p.as_str())
            .filter(|p| {
                let name = p.rsplit('/').next().unwrap_or(p);
                matches!(
                    name,
                    "__init__.py"
                        | "mod.rs"
                        | "lib.rs"
                        | "main.rs"
                        | "index.js"
                        | "index.ts"
                        | "doc.go"
                        | "package-info.java"
                        | "README.md"
                )
            })
            .find_map(|p| {
                indexed_text(index, p)
                    .ok()
                    .flatten()
                    .and_then(|(t, _)| purpose(&t))
            });
        let (rank, n) = modules.get(dir).copied().unwrap_or_default();
        let edge = |outgoing: bool| -> Vec<Value> {
            module_edges
                .iter()
                .filter(|(a, b, _)| if outgoing { a == dir } else { b == dir })
                .take(10)
                .map(|(a, b, w)| json!({ "module": if outgoing { b } else { a }, "weight": (w * 100.0).round() / 100.0 }))
                .collect()
        };
        let dossier = json!({
            "path": dir,
            "kind": "directory",
            "purpose": purpose,
            "files": n,
            "rank": round4(rank),
            "key_files": files.iter().take(10).map(|(p, r)| json!({ "path": p, "rank": round4(*r) })).collect::<Vec<_>>(),
            "dependencies": edge(true),
            "dependents": edge(false),
            "commit": commit,
        });
        facts.push(Fact {
            scope: dir_scope(repo, dir),
            key: keys::DOSSIER.into(),
            commit: commit.clone(),
            value: dossier.to_string(),
        });
        dossiers += 1;
    }
    hot.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.path.cmp(&b.1.path)));
    let insights = hot
        .iter()
        .take(10)
        .map(|(_, c)| {
            let commits = c.churn["commits"].as_u64().unwrap_or(0);
            NewInsight {
                kind: "hotspot".into(),
                severity: if c.complexity >= 30 { "medium" } else { "low" }.into(),
                title: format!(
                    "{} is complex (cyclomatic {}) in a file changed in {commits} commits",
                    c.symbol, c.complexity
                ),
                body: format!(
                    "`{}` ({} lines, {} call sites found by name) in {}:{}-{}. Complex code that changes often is where bugs tend to be: worth tests and a split.",
                    c.signature, c.lines, c.callers_total, c.path, c.start_line, c.end_line
                ),
                evidence: json!([cite(&c.path, c.start_line, c.end_line, &commit)]).to_string(),
                fingerprint: format!("hotspot:{}#{}", c.path, c.symbol),
            }
        })
        .collect();
    Ok(Produced {
        log: vec![format!(
            "summarized {} files: {cards} cards, {dossiers} dossiers, {} hot spots",
            wanted.len(),
            hot.len().min(10)
        )],
        output: json!({ "cards": cards, "dossiers": dossiers, "files": wanted.len() }),
        facts,
        insights,
        files: Vec::new(),
    })
}

/// Prioritize: the frontier — files ranked by centrality (PageRank),
/// recency of change and churn — as a fact (`repo:ID`, `frontier`), the
/// first 100 with their reasons. Summarize takes the frontier's head first
/// when it is asked for a part of the repository.
pub fn prioritize(
    index: &RepoIndex,
    repo: &str,
    now_ms: i64,
    risk: &HashMap<String, f64>,
) -> Result<Produced> {
    let commit = index.indexed_commit().unwrap_or("").to_owned();
    let graph = RepoGraph::of(index)?;
    let max_rank = graph.rank.values().copied().fold(0.0, f64::max).max(1e-12);
    let mut scored: Vec<(f64, Value)> = Vec::new();
    let mut max_commits = 1u64;
    let mut rows = Vec::new();
    for p in &graph.paths {
        let churn = index.store().churn(p)?;
        if let Some((n, _, _)) = churn {
            max_commits = max_commits.max(n);
        }
        rows.push((p, churn));
    }
    for (p, churn) in rows {
        let rank = graph.rank.get(p).copied().unwrap_or(0.0) / max_rank;
        let (commits, days) = match churn {
            Some((n, last, _)) => (n, ((now_ms / 1000 - last) as f64 / 86_400.0).max(0.0)),
            None => (0, f64::INFINITY),
        };
        // Recency halves every 30 days.
        let recency = if days.is_finite() {
            0.5f64.powf(days / 30.0)
        } else {
            0.0
        };
        let churn_score = (commits as f64).ln_1p() / (max_commits as f64).ln_1p();
        // Risk already weighs churn, fixes, size and complexity: with a
        // risk map, the frontier follows it, nudged by centrality and by
        // what changed lately.
        let risk_score = risk.get(p.as_str()).copied();
        let score = match risk_score {
            Some(r) => 0.6 * r + 0.2 * rank + 0.2 * recency,
            None => 0.4 * rank + 0.3 * recency + 0.3 * churn_score,
        };
        scored.push((
            score,
            json!({
                "path": p,
                "score": (score * 1000.0).round() / 1000.0,
                "centrality": (rank * 1000.0).round() / 1000.0,
                "days_since_change": days.is_finite().then(|| days.round()),
                "commits": commits,
                "risk": risk_score,
            }),
        ));
    }
    scored.sort_by(|a, b| {
        b.0.total_cmp(&a.0)
            .then_with(|| a.1["path"].as_str().cmp(&b.1["path"].as_str()))
    });
    let frontier: Vec<Value> = scored.into_iter().take(100).map(|(_, v)| v).collect();
    Ok(Produced {
        log: vec![format!(
            "ranked {} files; the frontier keeps {}",
            graph.paths.len(),
            frontier.len()
        )],
        files: Vec::new(),
        output: json!({
            "frontier": frontier.len(),
            "head": frontier.first().map(|f| f["path"].clone()),
            "ranked_by": if risk.is_empty() { "centrality, recency, churn" } else { "risk" },
        }),
        facts: vec![Fact {
            scope: repo_scope(repo),
            key: keys::FRONTIER.into(),
            commit,
            value: Value::Array(frontier).to_string(),
        }],
        insights: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn complexity_counts_decisions_not_words_in_strings_or_comments() {
        let py = "def f(x):\n    # if this or that\n    if x and y:\n        return 'if or'\n    for i in x:\n        pass\n    return 1\n";
        assert_eq!(complexity(Language::Python, py), 4);
        let rs = "fn f(x: u8) -> u8 {\n    // while\n    match x {\n        0 => 1,\n        _ if x > 3 && x < 9 => 2,\n        _ => 3,\n    }\n}\n";
        assert_eq!(complexity(Language::Rust, rs), 1 + 1 + 3 + 1 + 1);
        let js = "function f(a) { return a ? b || c : \"if\"; }";
        assert_eq!(complexity(Language::JavaScript, js), 3);
    }

    #[test]
    fn a_files_purpose_is_its_leading_doc() {
        assert_eq!(
            purpose("\"\"\"Sessions and their cookies.\n\nMore.\"\"\"\nimport os\n").as_deref(),
            Some("Sessions and their cookies. More.")
        );
        assert_eq!(
            purpose("//! The HTTP router.\n//! Routes requests.\nuse std::io;\n").as_deref(),
            Some("The HTTP router. Routes requests.")
        );
        assert_eq!(
            purpose("#!/usr/bin/env python\n# Copyright 2020 Someone\nimport os\n"),
            None
        );
        assert_eq!(purpose("import os\n"), None);
    }
}
