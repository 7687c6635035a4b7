//! `lore map`: a ranked outline of the repository fitted to a token budget.
//!
//! In the spirit of aider's repository map: files are ranked by PageRank
//! over the file graph (a file that uses names another defines points at
//! it), personalised towards a focus file or symbol if one is given. Each
//! file's rank is shared among its symbols by how much other files use
//! them; symbols are taken best first and the largest prefix whose
//! rendering fits the budget is kept (binary search over the rendered
//! text, counted with a real tokenizer).

use std::collections::{HashMap, HashSet};

use lore_core::store::SymbolRow;
use lore_retrieve::budget::fit_prefix;
use lore_retrieve::graph::{Graph, PageRankConfig, pagerank};
use serde::Serialize;

use crate::error::{Error, Result};
use crate::query::RepoIndex;

/// Options of [`RepoIndex::map`].
#[derive(Clone, Debug)]
pub struct MapOptions {
    /// Token budget of the rendered map.
    pub tokens: usize,
    /// A path (file or directory) or a symbol name to centre the map on.
    pub focus: Option<String>,
}

impl Default for MapOptions {
    fn default() -> MapOptions {
        MapOptions {
            tokens: 1024,
            focus: None,
        }
    }
}

/// A ranked repository map.
#[derive(Clone, Debug, Serialize)]
pub struct RepoMap {
    /// The budget asked for.
    pub budget: usize,
    /// Tokens of `text` (o200k_base); never more than `budget`.
    pub tokens: usize,
    /// The focus, if any.
    pub focus: Option<String>,
    /// Files in rank order with the symbols kept, in line order.
    pub files: Vec<MapFile>,
    /// The rendered map.
    pub text: String,
}

/// One file of a map.
#[derive(Clone, Debug, Serialize)]
pub struct MapFile {
    /// Path.
    pub path: String,
    /// PageRank of the file (sums to 1 over all files; with a focus, the
    /// focus files are lifted above every other file).
    pub rank: f64,
    /// Symbols kept.
    pub symbols: Vec<MapSymbol>,
}

/// One symbol of a map.
#[derive(Clone, Debug, Serialize)]
pub struct MapSymbol {
    /// Qualified name.
    pub name: String,
    /// Kind.
    pub kind: String,
    /// First line.
    pub line: u32,
    /// First line of the declaration.
    pub signature: String,
    /// Nesting depth in the file (0 = top level).
    #[serde(skip)]
    pub depth: usize,
}

/// Tokens of `text` in the o200k_base encoding.
pub fn count_tokens(text: &str) -> usize {
    tiktoken_rs::o200k_base_singleton()
        .encode_ordinary(text)
        .len()
}

struct Item {
    file: usize,
    score: f64,
    symbol: MapSymbol,
}

/// The file graph over `paths` (node `i` is `paths[i]`): an edge per file
/// edge whose ends are both indexed, and the reverse at `reverse` times
/// its weight when that is above zero. Returns it with the node of each
/// path.
pub(crate) fn file_graph<'a>(
    paths: &'a [String],
    edges: &[lore_core::store::FileEdge],
    reverse: f64,
) -> (Graph, HashMap<&'a str, usize>) {
    let node: HashMap<&str, usize> = paths
        .iter()
        .enumerate()
        .map(|(i, p)| (p.as_str(), i))
        .collect();
    let mut graph = Graph::new(paths.len());
    for e in edges {
        let (Some(&src), Some(&dst)) = (node.get(e.src.as_str()), node.get(e.dst.as_str())) else {
            continue;
        };
        graph.add_edge(src, dst, e.weight);
        if reverse > 0.0 {
            graph.add_edge(dst, src, e.weight * reverse);
        }
    }
    (graph, node)
}

impl RepoIndex {
    /// The repository map for `options` (see the module docs).
    pub fn map(&self, options: &MapOptions) -> Result<RepoMap> {
        let store = self.store();
        let paths = store.paths()?;
        // Around a focus, callers matter as well as callees.
        let reverse = if options.focus.is_some() { 0.5 } else { 0.0 };
        let (graph, node) = file_graph(&paths, &store.file_edges(None)?, reverse);
        let personalization = match &options.focus {
            None => vec![1.0; paths.len()],
            Some(focus) => {
                let mut p = vec![0.0; paths.len()];
                for file in self.focus_files(focus, &paths)? {
                    p[node[file.as_str()]] = 1.0;
                }
                p
            }
        };
        let mut rank = pagerank(&graph, &personalization, &PageRankConfig::default());
        if options.focus.is_some() {
            // The focus itself first, then what it reaches; files it does
            // not reach at all are left out.
            let lift = 1.0 + rank.iter().copied().fold(0.0, f64::max);
            for (r, p) in rank.iter_mut().zip(&personalization) {
                if *p > 0.0 {
                    *r += lift;
                }
            }
        }
        let mut order: Vec<usize> = (0..paths.len())
            .filter(|&f| options.focus.is_none() || rank[f] > 0.0)
            .collect();
        order.sort_by(|&a, &b| rank[b].total_cmp(&rank[a]).then(paths[a].cmp(&paths[b])));

        // Candidates from the best files until comfortably over budget
        // (about four bytes a token).
        let mut items: Vec<Item> = Vec::new();
        let mut rough_bytes = 0usize;
        for &file in &order {
            if rough_bytes > options.tokens * 4 * 3 {
                break;
            }
            let outline = store.outline(&paths[file])?;
            if outline.is_empty() {
                continue;
            }
            let uses: HashMap<String, f64> =
                store.defined_name_uses(&paths[file])?.into_iter().collect();
            let weight = |s: &SymbolRow| 1.0 + uses.get(&s.name).copied().unwrap_or(0.0);
            let total: f64 = outline.iter().map(weight).sum();
            let depths = depths(&outline);
            let focused = focused_symbols(&outline, options.focus.as_deref());
            rough_bytes += paths[file].len() + 2;
            for (s, depth) in outline.iter().zip(depths) {
                let signature = first_line(&s.signature, &s.name);
                rough_bytes += signature.len() + 8 + 2 * depth;
                // A focused symbol's definitions (and the containers they
                // sit in) come before everything else, at any budget.
                let lift = if focused.contains(&s.id) {
                    FOCUS_LIFT
                } else {
                    0.0
                };
                items.push(Item {
                    file,
                    score: lift + rank[file] * weight(s) / total,
                    symbol: MapSymbol {
                        name: s.qualname.clone(),
                        kind: s.kind.name().to_owned(),
                        line: s.start_line,
                        signature,
                        depth,
                    },
                });
            }
        }
        items.sort_by(|a, b| {
            b.score
                .total_cmp(&a.score)
                .then(a.file.cmp(&b.file))
                .then(a.symbol.line.cmp(&b.symbol.line))
        });

        let render_prefix = |k: usize| render(&group(&items[..k], &paths, &rank));
        let k = fit_prefix(items.len(), options.tokens, |k| {
            count_tokens(&render_prefix(k))
        });
        let files = group(&items[..k], &paths, &rank);
        let text = render(&files);
        Ok(RepoMap {
            budget: options.tokens,
            tokens: count_tokens(&text),
            focus: options.focus.clone(),
            files,
            text,
        })
    }

    /// Files a focus names: the file itself, the files under a directory,
    /// or the files defining a symbol of that name.
    fn focus_files(&self, focus: &str, paths: &[String]) -> Result<Vec<String>> {
        let focus_path = focus.trim_end_matches('/');
        let under = format!("{focus_path}/");
        let files: Vec<String> = paths
            .iter()
            .filter(|p| p.as_str() == focus_path || p.starts_with(&under))
            .cloned()
            .collect();
        if !files.is_empty() {
            return Ok(files);
        }
        let mut files: Vec<String> = self
            .store()
            .symbols_exact(focus, None)?
            .into_iter()
            .map(|s| s.path)
            .collect();
        files.sort();
        files.dedup();
        if files.is_empty() {
            return Err(Error::Invalid(format!(
                "--focus {focus:?}: no indexed file, directory or symbol by that name"
            )));
        }
        Ok(files)
    }
}

/// Score added to the definitions a focus names: above any PageRank share.
const FOCUS_LIFT: f64 = 1e9;

/// Ids of the symbols of `outline` that `focus` names (by name or
/// qualified name), with their enclosing symbols.
fn focused_symbols(outline: &[SymbolRow], focus: Option<&str>) -> HashSet<i64> {
    let Some(focus) = focus else {
        return HashSet::new();
    };
    let parent: HashMap<i64, Option<i64>> = outline.iter().map(|s| (s.id, s.parent_id)).collect();
    let mut ids = HashSet::new();
    for s in outline
        .iter()
        .filter(|s| s.name == focus || s.qualname == focus)
    {
        let mut at = Some(s.id);
        while let Some(id) = at {
            if !ids.insert(id) {
                break;
            }
            at = parent.get(&id).copied().flatten();
        }
    }
    ids
}

/// Nesting depth of each symbol of an outline.
fn depths(outline: &[SymbolRow]) -> Vec<usize> {
    let parent: HashMap<i64, Option<i64>> = outline.iter().map(|s| (s.id, s.parent_id)).collect();
    outline
        .iter()
        .map(|s| {
            let mut depth = 0;
            let mut at = s.parent_id;
            while let Some(id) = at {
                depth += 1;
                at = parent.get(&id).copied().flatten();
                if depth > 32 {
                    break;
                }
            }
            depth
        })
        .collect()
}

/// The first line of a declaration, trimmed and capped.
fn first_line(signature: &str, name: &str) -> String {
    let line = signature.lines().next().unwrap_or("").trim();
    let line = if line.is_empty() { name } else { line };
    match line.char_indices().nth(120) {
        Some((cut, _)) => format!("{}…", &line[..cut]),
        None => line.to_owned(),
    }
}

/// Kept items grouped by file: files by rank, symbols by line.
fn group(items: &[Item], paths: &[String], rank: &[f64]) -> Vec<MapFile> {
    let mut by_file: HashMap<usize, Vec<MapSymbol>> = HashMap::new();
    for item in items {
        by_file
            .entry(item.file)
            .or_default()
            .push(item.symbol.clone());
    }
    let mut files: Vec<MapFile> = by_file
        .into_iter()
        .map(|(file, mut symbols)| {
            symbols.sort_by(|a, b| a.line.cmp(&b.line).then(a.name.cmp(&b.name)));
            MapFile {
                path: paths[file].clone(),
                rank: rank[file],
                symbols,
            }
        })
        .collect();
    files.sort_by(|a, b| b.rank.total_cmp(&a.rank).then(a.path.cmp(&b.path)));
    files
}

/// The text form: each file, then its symbols' first lines with their line
/// numbers, indented by nesting.
pub fn render(files: &[MapFile]) -> String {
    let mut out = String::new();
    for file in files {
        out.push_str(&file.path);
        out.push_str(":\n");
        for s in &file.symbols {
            out.push_str(&format!(
                "{:>6}│ {}{}\n",
                s.line,
                "  ".repeat(s.depth),
                s.signature
            ));
        }
    }
    out
}
