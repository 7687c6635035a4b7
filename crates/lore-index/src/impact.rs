//! Impact: what else may have to change when a symbol, a file or a commit
//! range changes (`lore impact`, `POST /impact`, MCP `impact`).
//!
//! Three kinds of evidence, each edge labelled by how it was found:
//! - `resolved`: the referring file imports the target's file (import
//!   resolution, [`crate::resolve`]), is the same file, or is in the same
//!   Go or Java package;
//! - `name-only`: the referring code uses the name and nothing says which
//!   definition it means (the file graph's own kind of edge);
//! - `co-change`: the files changed together with the target's in past
//!   commits, weighted by recency and by how few files each commit touched.
//!
//! Callers are followed transitively up to a depth; a name used by code
//! that imports a *different* definition of it is not an edge. Files are
//! ranked by a weighted sum of their evidence ([`FileFeatures`], weights in
//! [`WEIGHTS`]). Where the graph cannot know — no references found,
//! imports that name nothing indexed, names defined in several places — the
//! answer says so in `uncertain` instead of claiming there is nothing.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::path::Path;

use lore_core::store::SymbolRow;
use lore_core::{Language, RefKind, SymbolKind};
use serde::Serialize;

use crate::RepoIndex;
use crate::error::{Error, Result};
use crate::resolve::{ImportGraph, go_modules};
use crate::thoughts::entry::is_test_path;

/// How far and how much.
#[derive(Clone, Debug)]
pub struct ImpactOptions {
    /// Caller hops to follow (1 = direct callers only).
    pub depth: u32,
    /// Files listed at most.
    pub limit: usize,
}

impl Default for ImpactOptions {
    fn default() -> Self {
        ImpactOptions {
            depth: 2,
            limit: 20,
        }
    }
}

/// What the query named.
#[derive(Clone, Debug, Serialize)]
pub struct Target {
    /// The query as given.
    pub query: String,
    /// `symbol`, `file` or `range`.
    pub kind: &'static str,
    /// The files the target is in (for a range, the files it changed that
    /// are indexed).
    pub files: Vec<String>,
    /// The definitions taken (every one a bare name matches).
    pub definitions: Vec<Place>,
    /// The risk of the target's files, riskiest first, from the risk map
    /// at the indexed commit (empty when none was made yet).
    pub risk: Vec<TouchedRisk>,
}

/// The risk of a file the target touches.
#[derive(Clone, Debug, Serialize)]
pub struct TouchedRisk {
    /// Path.
    pub path: String,
    /// 0..1, higher is riskier.
    pub score: f64,
    /// 1 is the riskiest file of the repository.
    pub rank: usize,
    /// Files ranked.
    pub of: usize,
}

/// A symbol's place.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Place {
    /// File.
    pub path: String,
    /// First line.
    pub start_line: u32,
    /// Last line.
    pub end_line: u32,
    /// Qualified name.
    pub symbol: String,
}

/// A symbol that may need a change too.
#[derive(Clone, Debug, Serialize)]
pub struct SymbolImpact {
    /// File.
    pub path: String,
    /// First line of the symbol (or of the use, at module level).
    pub start_line: u32,
    /// Last line.
    pub end_line: u32,
    /// The enclosing symbol's qualified name (`None` at module level).
    pub symbol: Option<String>,
    /// Hops from the target (1 = uses it directly).
    pub distance: u32,
    /// `resolved` or `name-only` (the weakest hop on the way).
    pub edge: &'static str,
    /// `caller`, `user`, `importer` or `overrider`.
    pub relation: &'static str,
    /// What it uses: the qualified name one hop nearer the target.
    pub uses: String,
    /// The lines where it does.
    pub lines: Vec<u32>,
}

/// Evidence that a file changes with the target, before weighting.
#[derive(Clone, Debug, Default, Serialize)]
pub struct FileFeatures {
    /// Co-change confidence: the recency- and size-weighted share of the
    /// target's commits that touched this file too.
    pub co_change: f64,
    /// Commits that touched both.
    pub co_commits: u32,
    /// Σ over its symbols that use the target: 1 ÷ distance, resolved.
    pub resolved: f64,
    /// The same for name-only uses (damped by how many files define the name).
    pub name_only: f64,
    /// It imports a target file (resolved import).
    pub imports_target: bool,
    /// A target file imports it.
    pub imported_by_target: bool,
    /// A test whose name matches a target file's (`test_x.py`, `x_test.go`,
    /// `x.test.js`, `tests/x.rs`).
    pub test_name: bool,
    /// In a target file's directory.
    pub same_dir: bool,
    /// Name-graph weight between it and the target files, either way.
    pub graph: f64,
    /// How often it changes at all: the recency-weighted share of the
    /// repository's recent commits that touched it (changelogs, CI files).
    pub frequency: f64,
    /// Words its path shares with a target's (`docs/routing.rst` and
    /// `src/routing/rules.py`), as a share of the target path's words.
    pub path_words: f64,
}

/// The weights of [`FileFeatures`] in a file's score (co-change and
/// frequency enter as square roots: a file changed with the target in half
/// its commits is not half as likely as one changed in all). Chosen by hand
/// and checked on the training repositories of `bench/change.py --set
/// train`: weights fitted there by coordinate ascent did worse on a
/// repository left out than these (0.607 against 0.614 recall@10 per
/// target).
pub const WEIGHTS: Weights = Weights {
    co_change: 3.0,
    resolved: 0.3,
    name_only: 0.1,
    imports_target: 0.3,
    imported_by_target: 0.3,
    test_name: 0.3,
    same_dir: 0.3,
    graph: 0.5,
    frequency: 2.0,
    path_words: 0.6,
};

/// Weights of the file features.
#[derive(Clone, Copy, Debug)]
pub struct Weights {
    #[allow(missing_docs)]
    pub co_change: f64,
    #[allow(missing_docs)]
    pub resolved: f64,
    #[allow(missing_docs)]
    pub name_only: f64,
    #[allow(missing_docs)]
    pub imports_target: f64,
    #[allow(missing_docs)]
    pub imported_by_target: f64,
    #[allow(missing_docs)]
    pub test_name: f64,
    #[allow(missing_docs)]
    pub same_dir: f64,
    #[allow(missing_docs)]
    pub graph: f64,
    #[allow(missing_docs)]
    pub frequency: f64,
    #[allow(missing_docs)]
    pub path_words: f64,
}

impl FileFeatures {
    fn score(&self, w: &Weights) -> f64 {
        w.co_change * self.co_change.sqrt()
            + w.resolved * self.resolved.min(3.0)
            + w.name_only * self.name_only.min(3.0)
            + w.imports_target * f64::from(u8::from(self.imports_target))
            + w.imported_by_target * f64::from(u8::from(self.imported_by_target))
            + w.test_name * f64::from(u8::from(self.test_name))
            + w.same_dir * f64::from(u8::from(self.same_dir))
            + w.graph * self.graph
            + w.frequency * self.frequency.sqrt()
            + w.path_words * self.path_words
    }
}

/// A file that may need a change too.
#[derive(Clone, Debug, Serialize)]
pub struct FileImpact {
    /// Path.
    pub path: String,
    /// Higher is likelier.
    pub score: f64,
    /// Why, in words, strongest first.
    pub reasons: Vec<String>,
    /// Whether it is test code.
    pub test: bool,
    /// Its risk (0..1) from the risk map at the indexed commit, when one
    /// was made.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub risk: Option<f64>,
    /// A test file's tests that ran the target's or its users' lines in
    /// Verify's last run (`path::test → symbol`), target first.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub runs: Vec<String>,
    /// The evidence behind the score.
    pub features: FileFeatures,
}

/// The answer.
#[derive(Clone, Debug, Serialize)]
pub struct Impact {
    /// What was asked.
    pub target: Target,
    /// Files most likely to need a change too, likeliest first; the
    /// target's own files left out.
    pub files: Vec<FileImpact>,
    /// Symbols that use the target, nearest first.
    pub symbols: Vec<SymbolImpact>,
    /// Tests that exercise the impacted code.
    pub tests: Vec<FileImpact>,
    /// Where the graph cannot know, in words.
    pub uncertain: Vec<String>,
    /// The indexed commit the evidence is from.
    pub commit: Option<String>,
}

/// A definition being followed.
#[derive(Clone, Debug)]
struct Def {
    path: String,
    qualname: String,
    name: String,
    kind: SymbolKind,
    start: u32,
    end: u32,
}

impl Def {
    fn from_row(row: &SymbolRow) -> Def {
        Def {
            path: row.path.clone(),
            qualname: row.qualname.clone(),
            name: row.name.clone(),
            kind: row.kind,
            start: row.start_line,
            end: row.end_line,
        }
    }

    fn place(&self) -> Place {
        Place {
            path: self.path.clone(),
            start_line: self.start,
            end_line: self.end,
            symbol: self.qualname.clone(),
        }
    }
}

/// Symbols followed at most, over all hops: a guard against names every
/// file uses.
const MAX_FOLLOWED: usize = 400;
/// Commits touching more files than this are sweeping changes (formatting,
/// renames, licence headers) and say nothing about coupling.
const MAX_COMMIT_FILES: usize = 50;
/// Half-life of a co-change's weight, in days.
const CO_CHANGE_HALF_LIFE_DAYS: f64 = 365.0;

/// What `target` names, and what may change with it.
pub fn impact(index: &RepoIndex, query: &str, opts: &ImpactOptions) -> Result<Impact> {
    let query = query.trim();
    if query.is_empty() {
        return Err(Error::Invalid("impact: the target is empty".into()));
    }
    let store = index.store();
    let paths = store.paths()?;
    let indexed: HashSet<&str> = paths.iter().map(String::as_str).collect();

    let (kind, files, defs) = if let Some(range) = as_range(index.root(), query)? {
        let (files, defs) = range_target(index, &range.0, &range.1, &indexed)?;
        ("range", files, defs)
    } else if let Some(path) = as_path(index, query, &indexed) {
        let defs: Vec<Def> = store
            .outline(&path)?
            .iter()
            .filter(|s| s.parent_id.is_none() || s.kind == SymbolKind::Method)
            .map(Def::from_row)
            .filter(followable)
            .collect();
        ("file", vec![path], defs)
    } else {
        let defs = symbol_target(index, query)?;
        if defs.is_empty() {
            return Err(Error::Invalid(format!(
                "impact: `{query}` names no indexed symbol, file or commit range"
            )));
        }
        let mut files: Vec<String> = defs.iter().map(|d| d.path.clone()).collect();
        files.sort();
        files.dedup();
        ("symbol", files, defs)
    };

    let imports = ImportGraph::build(&paths, &store.imports()?, &go_modules(index.root(), &paths));
    let mut uncertain = Vec::new();
    let target_files: HashSet<&str> = files.iter().map(String::as_str).collect();

    let mut symbols = callers(
        index,
        &defs,
        &imports,
        &target_files,
        opts.depth,
        &mut uncertain,
    )?;
    if kind != "symbol" {
        // A file's or range's own uses of its symbols are not impact.
        symbols.retain(|s| !target_files.contains(s.path.as_str()));
    }
    let mut features: BTreeMap<String, FileFeatures> = BTreeMap::new();
    for s in &symbols {
        if target_files.contains(s.path.as_str()) {
            continue;
        }
        let f = features.entry(s.path.clone()).or_default();
        let hop = 1.0 / f64::from(s.distance.max(1));
        if s.edge == "resolved" {
            f.resolved += hop;
        } else {
            f.name_only += hop;
        }
    }
    for file in &files {
        for e in imports.importers_of(file) {
            if !target_files.contains(e.src.as_str()) {
                features.entry(e.src.clone()).or_default().imports_target = true;
            }
        }
        for e in imports.imports_of(file) {
            if !target_files.contains(e.dst.as_str()) {
                features
                    .entry(e.dst.clone())
                    .or_default()
                    .imported_by_target = true;
            }
        }
    }
    let graph = store.file_edges(Some(&files))?;
    let max_edge = graph.iter().map(|e| e.weight).fold(0.0_f64, f64::max);
    for e in &graph {
        for (a, b) in [(&e.src, &e.dst), (&e.dst, &e.src)] {
            if target_files.contains(a.as_str()) && !target_files.contains(b.as_str()) {
                let f = features.entry(b.clone()).or_default();
                f.graph = f.graph.max(e.weight / max_edge.max(1e-9));
            }
        }
    }
    co_change(index, &files, &target_files, &mut features)?;
    for file in &files {
        for test in tests_named_for(file, &paths) {
            if !target_files.contains(test) {
                features.entry(test.to_owned()).or_default().test_name = true;
            }
        }
    }
    frequency(index, &target_files, &mut features)?;
    let target_words: Vec<HashSet<String>> = files.iter().map(|f| path_words(f)).collect();
    let shared_words = |path: &str| {
        let words = path_words(path);
        round4(
            target_words
                .iter()
                .filter(|t| !t.is_empty())
                .map(|t| t.intersection(&words).count() as f64 / t.len() as f64)
                .fold(0.0, f64::max),
        )
    };
    // Every indexed file, and the history's files already candidates.
    for path in &paths {
        if !target_files.contains(path.as_str()) {
            let share = shared_words(path);
            if share > 0.0 {
                features.entry(path.clone()).or_default().path_words = share;
            }
        }
    }
    for (path, f) in features.iter_mut() {
        if f.path_words == 0.0 && !target_files.contains(path.as_str()) {
            f.path_words = shared_words(path);
        }
    }
    let dirs: HashSet<&str> = files.iter().map(|f| dir_of(f)).collect();
    for (path, f) in features.iter_mut() {
        f.same_dir = dirs.contains(dir_of(path));
    }
    // Files of the same directory with no other evidence still count a
    // little: code changes near itself.
    for path in &paths {
        if !target_files.contains(path.as_str())
            && dirs.contains(dir_of(path))
            && Language::from_path(Path::new(path)).is_parsed()
        {
            features.entry(path.clone()).or_default().same_dir = true;
        }
    }

    let risks = crate::risk::cached_file_risks(index);
    let risk_of = |path: &str| risks.as_ref().and_then(|r| r.get(path)).map(|r| r.score);
    let mut ranked: Vec<FileImpact> = features
        .into_iter()
        .filter(|(p, _)| indexed.contains(p.as_str()) || index.root().join(p).is_file())
        .map(|(path, features)| FileImpact {
            score: round4(features.score(&WEIGHTS)),
            reasons: reasons(&path, &features, &symbols, &files),
            test: is_test_path(&path),
            risk: risk_of(&path),
            runs: Vec::new(),
            path,
            features,
        })
        .filter(|f| f.score > 0.0)
        .collect();
    ranked.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then_with(|| a.path.cmp(&b.path))
    });
    let mut tests: Vec<FileImpact> = ranked
        .iter()
        .filter(|f| {
            f.test
                && (f.features.test_name
                    || f.features.resolved > 0.0
                    || f.features.name_only > 0.0
                    || f.features.imports_target
                    || f.features.co_change > 0.0)
        })
        .cloned()
        .collect();
    covering_tests(index, &defs, &symbols, &mut tests, &mut uncertain)?;
    for t in &mut tests {
        t.risk = risk_of(&t.path);
    }
    tests.truncate(opts.limit);
    ranked.truncate(opts.limit);

    if imports.unresolved > 0 {
        let langs: HashSet<Language> = files
            .iter()
            .map(|f| Language::from_path(Path::new(f)))
            .collect();
        if langs
            .iter()
            .any(|l| *l == Language::JavaScript || *l == Language::TypeScript)
        {
            uncertain.push(
                "JavaScript/TypeScript package imports (not ./relative) are not resolved to files"
                    .into(),
            );
        }
    }
    if symbols.iter().any(|s| s.edge == "name-only") {
        let n = symbols.iter().filter(|s| s.edge == "name-only").count();
        uncertain.push(format!(
            "{n} of {} uses were matched by name only: nothing imports the definition, so they may mean another symbol of that name",
            symbols.len()
        ));
    }

    let mut touched: Vec<TouchedRisk> = match &risks {
        Some(r) => files
            .iter()
            .filter_map(|f| r.get(f))
            .map(|r| TouchedRisk {
                path: r.path.clone(),
                score: r.score,
                rank: r.rank,
                of: risks.as_ref().map_or(0, HashMap::len),
            })
            .collect(),
        None => {
            uncertain.push(
                "no risk map at this commit yet: `lore risk` (or the risk view) makes one, and impact then quotes it"
                    .into(),
            );
            Vec::new()
        }
    };
    touched.sort_by_key(|t| t.rank);

    Ok(Impact {
        target: Target {
            query: query.to_owned(),
            kind,
            files,
            definitions: defs.iter().map(Def::place).collect(),
            risk: touched,
        },
        files: ranked,
        symbols,
        tests,
        uncertain,
        commit: index.indexed_commit().map(str::to_owned),
    })
}

/// Names the tests that ran the target's lines (then its users') in
/// Verify's last coverage run, first in `tests`, each with what it ran;
/// says when that run ran none of the target, or when there is no such run
/// (then `tests` are the ones imports, names and history suggest).
fn covering_tests(
    index: &RepoIndex,
    defs: &[Def],
    symbols: &[SymbolImpact],
    tests: &mut Vec<FileImpact>,
    notes: &mut Vec<String>,
) -> Result<()> {
    let data = index.data_dir();
    let home = data
        .parent()
        .filter(|p| p.file_name().is_some_and(|n| n == "repos"))
        .and_then(Path::parent);
    let queue = home
        .map(|h| h.join("thinker.db"))
        .filter(|db| db.is_file())
        .and_then(|db| lore_store::SqliteJobs::open(&db).ok());
    let repo = data.file_name().map(|n| n.to_string_lossy().into_owned());
    let by_file = match (queue, repo) {
        (Some(q), Some(repo)) => crate::verify::tests_by_file(&q, &repo)?,
        _ => None,
    };
    let Some((commit, by_file)) = by_file else {
        if !tests.is_empty() || !defs.is_empty() {
            notes.push(
                "tests are found by imports, names and history: Verify has not run here with coverage (`lore verify`), which would name the tests that run this code"
                    .into(),
            );
        }
        return Ok(());
    };
    if !by_file.values().any(|t| !t.is_empty()) {
        notes.push(format!(
            "Verify's coverage at {} does not say which test ran which line (the tree configures coverage itself, or the runner records no per-test contexts): tests are found by imports, names and history",
            short(&commit)
        ));
        return Ok(());
    }
    // (test file) → (covers the target, tests with what they ran)
    let mut found: BTreeMap<String, (bool, Vec<String>)> = BTreeMap::new();
    let places = defs
        .iter()
        .map(|d| (true, d.path.as_str(), d.start, d.end, d.qualname.as_str()))
        .chain(symbols.iter().map(|s| {
            (
                false,
                s.path.as_str(),
                s.start_line,
                s.end_line,
                s.symbol.as_deref().unwrap_or("<module>"),
            )
        }));
    let mut target_ran = false;
    for (is_target, path, start, end, name) in places {
        for (test, lines) in by_file.get(path).into_iter().flatten() {
            if lines.range(start..=end).next().is_none() {
                continue;
            }
            target_ran |= is_target;
            let file = test.split("::").next().unwrap_or(test).to_owned();
            let entry = found.entry(file).or_default();
            entry.0 |= is_target;
            let what = format!("{test} → {name}");
            if !entry.1.contains(&what) && entry.1.len() < 10 {
                entry.1.push(what);
            }
        }
    }
    if !defs.is_empty() && !target_ran {
        notes.push(format!(
            "no test ran the target's lines in Verify's run at {}: nothing exercises it",
            short(&commit)
        ));
    }
    for (file, (covers_target, runs)) in &found {
        let reason = format!(
            "ran {} in Verify's run at {}",
            if *covers_target {
                "the target"
            } else {
                "code that uses the target"
            },
            short(&commit)
        );
        match tests.iter_mut().find(|t| &t.path == file) {
            Some(t) => {
                t.runs = runs.clone();
                t.reasons.insert(0, reason);
            }
            None => tests.push(FileImpact {
                path: file.clone(),
                score: 0.0,
                reasons: vec![reason],
                test: true,
                risk: None,
                runs: runs.clone(),
                features: FileFeatures::default(),
            }),
        }
    }
    // Tests that ran the target, then ones that ran its users, then the rest.
    let rank = |t: &FileImpact| match found.get(&t.path) {
        Some((true, _)) => 0,
        Some((false, _)) => 1,
        None => 2,
    };
    tests.sort_by(|a, b| {
        rank(a)
            .cmp(&rank(b))
            .then_with(|| b.score.total_cmp(&a.score))
            .then_with(|| a.path.cmp(&b.path))
    });
    Ok(())
}

fn short(commit: &str) -> &str {
    &commit[..commit.len().min(7)]
}

fn round4(x: f64) -> f64 {
    (x * 10_000.0).round() / 10_000.0
}

fn dir_of(path: &str) -> &str {
    path.rfind('/').map_or("", |i| &path[..i])
}

/// Whether a file's or range's symbol is worth following: not a dunder
/// method (`__init__`: its callers are the class's, found by its name) nor
/// a one-letter name (type variables).
fn followable(def: &Def) -> bool {
    let dunder = def.name.starts_with("__") && def.name.ends_with("__");
    !dunder && def.name.chars().count() > 1
}

/// `FROM..TO` when both sides are commits of the repository.
fn as_range(root: &Path, query: &str) -> Result<Option<(String, String)>> {
    let Some((from, to)) = query.split_once("..") else {
        return Ok(None);
    };
    if from.is_empty()
        || to.is_empty()
        || to.starts_with('.')
        || from.contains('/') && Path::new(query).exists()
    {
        return Ok(None);
    }
    let from = lore_git::resolve(root, from)?;
    let to = lore_git::resolve(root, to)?;
    Ok(from.zip(to))
}

/// A file of the repository: indexed, or (a configuration file, a
/// changelog, a workflow) in the tree or its history, where co-change is
/// the evidence.
fn as_path(index: &RepoIndex, query: &str, indexed: &HashSet<&str>) -> Option<String> {
    let inside = |rel: &str| !rel.starts_with('/') && !rel.split('/').any(|c| c == "..");
    let known = |rel: &str| {
        indexed.contains(rel)
            || inside(rel) && index.root().join(rel).is_file()
            || index.store().churn(rel).ok().flatten().is_some()
    };
    let rel = query.trim_start_matches("./").trim_end_matches('/');
    if known(rel) {
        return Some(rel.to_owned());
    }
    // A path given from the current directory.
    let abs = std::env::current_dir().ok()?.join(query);
    let rel = abs
        .strip_prefix(index.root())
        .ok()?
        .to_str()?
        .replace('\\', "/");
    known(&rel).then_some(rel)
}

/// The definitions `query` names: `name`, `Outer.name` / `Outer::name`,
/// or `path:name`.
fn symbol_target(index: &RepoIndex, query: &str) -> Result<Vec<Def>> {
    let (path, name) = match query.rsplit_once(':') {
        Some((p, n)) if !p.is_empty() && !p.ends_with(':') && !n.is_empty() => (Some(p), n),
        _ => (None, query),
    };
    let bare = name.rsplit(['.', ':']).next().unwrap_or(name);
    let rows = index.store().symbols_exact(bare, None)?;
    let qualified = name != bare;
    let want = |q: &str| {
        q == name
            || q.ends_with(&format!(".{name}"))
            || q.ends_with(&format!("::{name}"))
            || q.replace("::", ".") == name.replace("::", ".")
    };
    let picked: Vec<&SymbolRow> = rows
        .iter()
        .filter(|r| path.is_none_or(|p| r.path == p))
        .filter(|r| !qualified || want(&r.qualname))
        .collect();
    // `path:save` where the file has `save` and `Store.save`: the exact
    // qualified name wins.
    let exact: Vec<&SymbolRow> = picked
        .iter()
        .copied()
        .filter(|r| r.qualname == name)
        .collect();
    let picked = if path.is_some() && !exact.is_empty() {
        exact
    } else {
        picked
    };
    Ok(picked.into_iter().map(Def::from_row).collect())
}

/// The files a range changed (indexed ones) and the symbols it modified,
/// removed or renamed (their users are what may break).
fn range_target(
    index: &RepoIndex,
    from: &str,
    to: &str,
    indexed: &HashSet<&str>,
) -> Result<(Vec<String>, Vec<Def>)> {
    let digest = crate::digest::digest(index.root(), from, to)?;
    let changes = lore_git::changed_files(index.root(), from, to)?.unwrap_or_default();
    let mut files: Vec<String> = changes
        .iter()
        .flat_map(|c| [c.old_path.clone(), c.new_path.clone()])
        .flatten()
        .filter(|p| indexed.contains(p.as_str()))
        .collect();
    files.sort();
    files.dedup();
    let mut defs = Vec::new();
    for s in &digest.symbols {
        let name = s
            .symbol
            .rsplit(['.', ':'])
            .next()
            .unwrap_or(&s.symbol)
            .to_owned();
        let def = Def {
            path: s.path.clone(),
            qualname: s.symbol.clone(),
            name,
            kind: SymbolKind::from_name(&s.kind).unwrap_or(SymbolKind::Function),
            start: s.start_line,
            end: s.end_line,
        };
        if followable(&def) {
            defs.push(def);
        }
    }
    Ok((files, defs))
}

/// Whether `path` (using a name) means the definition in `def_path`:
/// `Some(true)` resolved, `Some(false)` name-only, `None` it means another
/// definition (it imports or defines one).
fn link(path: &str, def_path: &str, definers: &[String], imports: &ImportGraph) -> Option<bool> {
    if path == def_path || imports.imports(path, def_path) || same_package(path, def_path) {
        return Some(true);
    }
    let other = definers
        .iter()
        .filter(|d| *d != def_path)
        .any(|d| d == path || imports.imports(path, d) || same_package(path, d));
    if other { None } else { Some(false) }
}

/// Go and Java files of one directory are one package: their names need
/// no import.
fn same_package(a: &str, b: &str) -> bool {
    let lang = Language::from_path(Path::new(a));
    matches!(lang, Language::Go | Language::Java)
        && Language::from_path(Path::new(b)) == lang
        && dir_of(a) == dir_of(b)
}

struct Outlines<'a> {
    index: &'a RepoIndex,
    cache: HashMap<String, Vec<SymbolRow>>,
}

impl Outlines<'_> {
    fn get(&mut self, path: &str) -> Result<&[SymbolRow]> {
        if !self.cache.contains_key(path) {
            let rows = self.index.store().outline(path)?;
            self.cache.insert(path.to_owned(), rows);
        }
        Ok(&self.cache[path])
    }

    fn symbol(&mut self, path: &str, qualname: &str, line: u32) -> Result<Option<SymbolRow>> {
        Ok(self
            .get(path)?
            .iter()
            .filter(|s| s.qualname == qualname && s.start_line <= line && line <= s.end_line)
            .min_by_key(|s| s.end_line - s.start_line)
            .cloned())
    }
}

fn callers(
    index: &RepoIndex,
    defs: &[Def],
    imports: &ImportGraph,
    target_files: &HashSet<&str>,
    depth: u32,
    uncertain: &mut Vec<String>,
) -> Result<Vec<SymbolImpact>> {
    let store = index.store();
    let mut outlines = Outlines {
        index,
        cache: HashMap::new(),
    };
    // (path, symbol or line) → impact
    let mut found: BTreeMap<(String, String), SymbolImpact> = BTreeMap::new();
    let mut queue: VecDeque<(Def, u32, bool)> = defs.iter().map(|d| (d.clone(), 0, true)).collect();
    let mut followed: HashSet<(String, String)> = defs
        .iter()
        .map(|d| (d.path.clone(), d.qualname.clone()))
        .collect();
    let mut definers_cache: HashMap<String, (Vec<String>, usize)> = HashMap::new();
    let mut no_refs = Vec::new();
    let mut ambiguous = Vec::new();
    while let Some((def, dist, resolved_so_far)) = queue.pop_front() {
        let (definers, same_named) = match definers_cache.get(&def.name) {
            Some(d) => d.clone(),
            None => {
                let rows = store.symbols_exact(&def.name, None)?;
                let n = rows.len();
                let mut d: Vec<String> = rows.into_iter().map(|s| s.path).collect();
                d.sort();
                d.dedup();
                definers_cache.insert(def.name.clone(), (d.clone(), n));
                (d, n)
            }
        };
        // A method whose name other classes use too: an import proves the
        // file, not the class; only calls from inside its own class are
        // resolved.
        let class_prefix = (def.kind == SymbolKind::Method && same_named > 1)
            .then(|| owner_of(&def.qualname))
            .flatten();
        if dist == 0 && definers.len() > 1 && !ambiguous.iter().any(|(n, _)| *n == def.name) {
            ambiguous.push((def.name.clone(), definers.len()));
        }
        let rows = store.refs(&def.name)?;
        let mut any = false;
        for row in rows {
            if row.path == def.path && def.start <= row.line && row.line <= def.end {
                continue;
            }
            let Some(mut resolved) = link(&row.path, &def.path, &definers, imports) else {
                continue;
            };
            if let Some(class) = &class_prefix {
                resolved &= row.path == def.path
                    && row
                        .enclosing
                        .as_deref()
                        .and_then(owner_of)
                        .is_some_and(|o| o == *class);
            }
            any = true;
            let edge_resolved = resolved && resolved_so_far;
            let edge = if edge_resolved {
                "resolved"
            } else {
                "name-only"
            };
            let relation = match (row.kind, row.enclosing.is_some()) {
                (RefKind::Import, _) => "importer",
                (RefKind::Call, true) => "caller",
                _ => "user",
            };
            let caller = match &row.enclosing {
                Some(q) => outlines.symbol(&row.path, q, row.line)?,
                None => None,
            };
            let (key, start, end, symbol) = match &caller {
                Some(c) => (
                    c.qualname.clone(),
                    c.start_line,
                    c.end_line,
                    Some(c.qualname.clone()),
                ),
                None => (String::new(), row.line, row.line, None),
            };
            let entry = found
                .entry((row.path.clone(), key))
                .or_insert_with(|| SymbolImpact {
                    path: row.path.clone(),
                    start_line: start,
                    end_line: end,
                    symbol: symbol.clone(),
                    distance: dist + 1,
                    edge,
                    relation,
                    uses: def.qualname.clone(),
                    lines: Vec::new(),
                });
            if (dist + 1, edge != "resolved") < (entry.distance, entry.edge != "resolved") {
                entry.distance = dist + 1;
                entry.edge = edge;
                entry.uses = def.qualname.clone();
                entry.relation = relation;
                entry.lines.clear();
            }
            if entry.distance == dist + 1
                && entry.uses == def.qualname
                && !entry.lines.contains(&row.line)
            {
                entry.lines.push(row.line);
            }
            if entry.start_line > row.line && symbol.is_none() {
                entry.start_line = row.line;
            }
            if entry.end_line < row.line && symbol.is_none() {
                entry.end_line = row.line;
            }
            // Follow the caller one hop further (not through test code, and
            // not from name-only uses of names defined in many places).
            if let Some(c) = caller
                && dist + 1 < depth
                && followed.len() < MAX_FOLLOWED
                && !is_test_path(&c.path)
                && !target_files.contains(c.path.as_str())
                && (resolved || definers.len() <= 2)
                && followed.insert((c.path.clone(), c.qualname.clone()))
            {
                queue.push_back((Def::from_row(&c), dist + 1, edge_resolved));
            }
        }
        if dist == 0 {
            for o in overriders(index, &def, &definers, imports, &mut outlines)? {
                any = true;
                found
                    .entry((o.path.clone(), o.symbol.clone().unwrap_or_default()))
                    .or_insert(o);
            }
        }
        if dist == 0 && !any {
            no_refs.push(def.qualname.clone());
        }
    }
    if !no_refs.is_empty() {
        uncertain.push(format!(
            "no use of {} was found by name: callers through dynamic dispatch, reflection, callbacks, strings or outside this repository are not visible, so this does not mean it has none",
            list(&no_refs)
        ));
    }
    for (name, n) in ambiguous {
        uncertain.push(format!(
            "`{name}` is defined in {n} files: a use in a file that imports none of them is counted as name-only for each"
        ));
    }
    let mut out: Vec<SymbolImpact> = found.into_values().collect();
    out.sort_by(|a, b| {
        (a.distance, a.edge != "resolved", &a.path, a.start_line).cmp(&(
            b.distance,
            b.edge != "resolved",
            &b.path,
            b.start_line,
        ))
    });
    Ok(out)
}

/// `A.b` → `A`; `A::b` → `A`.
fn owner_of(qualname: &str) -> Option<String> {
    qualname
        .rsplit_once('.')
        .or_else(|| qualname.rsplit_once("::"))
        .map(|(o, _)| o.to_owned())
}

fn list(names: &[String]) -> String {
    let shown: Vec<String> = names.iter().take(5).map(|n| format!("`{n}`")).collect();
    let more = names.len().saturating_sub(5);
    if more > 0 {
        format!("{} and {more} more", shown.join(", "))
    } else {
        shown.join(", ")
    }
}

/// Methods of the same name in classes whose declaration names the target
/// method's class (`class Sub(Base)`, `extends Base`, `impl Trait for X`).
fn overriders(
    index: &RepoIndex,
    def: &Def,
    definers: &[String],
    imports: &ImportGraph,
    outlines: &mut Outlines<'_>,
) -> Result<Vec<SymbolImpact>> {
    if def.kind != SymbolKind::Method {
        return Ok(Vec::new());
    }
    let Some((class, _)) = def
        .qualname
        .rsplit_once('.')
        .or_else(|| def.qualname.rsplit_once("::"))
    else {
        return Ok(Vec::new());
    };
    let class = class.rsplit(['.', ':']).next().unwrap_or(class).to_owned();
    let mut out = Vec::new();
    for row in index
        .store()
        .symbols_exact(&def.name, Some(SymbolKind::Method))?
    {
        if row.path == def.path && row.qualname == def.qualname {
            continue;
        }
        let Some(parent) = row.parent_id else {
            continue;
        };
        let outline = outlines.get(&row.path)?;
        let Some(owner) = outline.iter().find(|s| s.id == parent) else {
            continue;
        };
        if owner.name == class || !mentions_word(&owner.signature, &class) {
            continue;
        }
        let resolved = link(&row.path, &def.path, definers, imports) == Some(true);
        out.push(SymbolImpact {
            path: row.path.clone(),
            start_line: row.start_line,
            end_line: row.end_line,
            symbol: Some(row.qualname.clone()),
            distance: 1,
            edge: if resolved { "resolved" } else { "name-only" },
            relation: "overrider",
            uses: def.qualname.clone(),
            lines: vec![row.start_line],
        });
    }
    Ok(out)
}

fn mentions_word(text: &str, word: &str) -> bool {
    text.split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .any(|w| w == word)
}

/// Files changed together with the target files: Σ over the target's
/// commits touching the file of the commit's weight (recency half-life,
/// ÷ ln(1 + files − 1) so a wide commit counts less), over Σ of all the
/// target's commit weights.
fn co_change(
    index: &RepoIndex,
    files: &[String],
    target_files: &HashSet<&str>,
    features: &mut BTreeMap<String, FileFeatures>,
) -> Result<()> {
    let store = index.store();
    let mut commits: Vec<(i64, Vec<String>)> = Vec::new();
    for f in files {
        commits.extend(store.co_changes(f)?);
    }
    // One commit touching two target files counts once.
    commits.sort();
    commits.dedup();
    let Some(now) = commits.iter().map(|c| c.0).max() else {
        return Ok(());
    };
    let mut total = 0.0;
    let mut per: HashMap<&str, (f64, u32)> = HashMap::new();
    for (time, touched) in &commits {
        if touched.len() > MAX_COMMIT_FILES {
            continue;
        }
        let age_days = (now - time).max(0) as f64 / 86_400.0;
        let recency = 0.5_f64.powf(age_days / CO_CHANGE_HALF_LIFE_DAYS);
        let others = touched
            .iter()
            .filter(|p| !target_files.contains(p.as_str()))
            .count();
        let w = recency / (1.0 + (others.max(1) as f64).ln());
        total += w;
        for p in touched {
            if !target_files.contains(p.as_str()) {
                let e = per.entry(p).or_default();
                e.0 += w;
                e.1 += 1;
            }
        }
    }
    if total <= 0.0 {
        return Ok(());
    }
    for (p, (w, n)) in per {
        let f = features.entry(p.to_owned()).or_default();
        f.co_change = round4(w / total);
        f.co_commits = n;
    }
    Ok(())
}

/// Commits read for [`FileFeatures::frequency`].
const FREQUENCY_COMMITS: usize = 500;

/// Sets every file's change frequency over the latest commits; the most
/// frequently changed files become candidates.
fn frequency(
    index: &RepoIndex,
    target_files: &HashSet<&str>,
    features: &mut BTreeMap<String, FileFeatures>,
) -> Result<()> {
    let commits = index.store().commits(FREQUENCY_COMMITS)?;
    let Some(now) = commits.iter().map(|c| c.time).max() else {
        return Ok(());
    };
    let mut total = 0.0;
    let mut per: HashMap<&str, f64> = HashMap::new();
    for c in &commits {
        if c.files.is_empty() || c.files.len() > MAX_COMMIT_FILES {
            continue;
        }
        let age_days = (now - c.time).max(0) as f64 / 86_400.0;
        let w = 0.5_f64.powf(age_days / CO_CHANGE_HALF_LIFE_DAYS);
        total += w;
        for f in &c.files {
            *per.entry(f).or_default() += w;
        }
    }
    if total <= 0.0 {
        return Ok(());
    }
    let mut ranked: Vec<(&str, f64)> = per.into_iter().collect();
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(b.0)));
    for (i, (path, w)) in ranked.into_iter().enumerate() {
        if target_files.contains(path) {
            continue;
        }
        let value = round4(w / total);
        match features.get_mut(path) {
            Some(f) => f.frequency = value,
            None if i < 30 => {
                features.entry(path.to_owned()).or_default().frequency = value;
            }
            None => {}
        }
    }
    Ok(())
}

/// The words of a path's directories and file stem, split at
/// punctuation and case changes, without the ones every path has.
fn path_words(path: &str) -> HashSet<String> {
    const COMMON: [&str; 16] = [
        "src", "lib", "test", "tests", "spec", "index", "mod", "main", "init", "py", "rs", "go",
        "js", "ts", "docs", "pkg",
    ];
    let stem = path.rsplit_once('.').map_or(path, |(s, _)| s);
    lore_core::tokens::token_texts(stem)
        .into_iter()
        .map(|w| w.to_lowercase())
        .filter(|w| w.len() > 2 && !COMMON.contains(&w.as_str()))
        .collect()
}

/// Test files named for `path`: `test_x.py`, `x_test.py`, `x_test.go`,
/// `x.test.js`, `x.spec.ts`, `tests/x.rs`, `XTest.java`.
fn tests_named_for<'a>(path: &str, paths: &'a [String]) -> Vec<&'a str> {
    let file = path.rsplit('/').next().unwrap_or(path);
    let stem = file.split('.').next().unwrap_or(file);
    if stem.is_empty() || is_test_path(path) {
        return Vec::new();
    }
    let stem_l = stem.to_lowercase();
    paths
        .iter()
        .filter(|p| is_test_path(p))
        .filter(|p| {
            let f = p.rsplit('/').next().unwrap_or(p);
            let s = f.split('.').next().unwrap_or(f).to_lowercase();
            s == stem_l
                || s == format!("test_{stem_l}")
                || s == format!("{stem_l}_test")
                || s == format!("{stem_l}_tests")
                || s == format!("{stem_l}test")
                || s == format!("{stem_l}tests")
                || s == format!("test{stem_l}")
        })
        .map(String::as_str)
        .collect()
}

fn reasons(
    path: &str,
    f: &FileFeatures,
    symbols: &[SymbolImpact],
    targets: &[String],
) -> Vec<String> {
    let mut out: Vec<(f64, String)> = Vec::new();
    let w = WEIGHTS;
    let mine: Vec<&SymbolImpact> = symbols.iter().filter(|s| s.path == path).collect();
    if !mine.is_empty() {
        let resolved = mine.iter().filter(|s| s.edge == "resolved").count();
        let nearest = mine.iter().map(|s| s.distance).min().unwrap_or(1);
        let example = &mine[0];
        let what = example.symbol.as_deref().unwrap_or("module-level code");
        out.push((
            w.resolved * f.resolved + w.name_only * f.name_only,
            format!(
                "{} of its symbols use the target ({} resolved, {} by name only; nearest {} hop{}), e.g. {what} uses {} at line {}",
                mine.len(),
                resolved,
                mine.len() - resolved,
                nearest,
                if nearest == 1 { "" } else { "s" },
                example.uses,
                example.lines.first().copied().unwrap_or(example.start_line),
            ),
        ));
    }
    if f.co_commits > 0 {
        out.push((
            w.co_change * f.co_change.sqrt(),
            format!(
                "changed together with {} in {} commit{} (co-change {:.2})",
                short_list(targets),
                f.co_commits,
                if f.co_commits == 1 { "" } else { "s" },
                f.co_change
            ),
        ));
    }
    if f.imports_target {
        out.push((
            w.imports_target,
            format!("imports {} (resolved)", short_list(targets)),
        ));
    }
    if f.imported_by_target {
        out.push((
            w.imported_by_target,
            format!("imported by {} (resolved)", short_list(targets)),
        ));
    }
    if f.test_name {
        out.push((
            w.test_name,
            format!("a test named for {}", short_list(targets)),
        ));
    }
    if f.graph > 0.0 && mine.is_empty() {
        out.push((
            w.graph * f.graph,
            "shares names with the target's file (name graph)".into(),
        ));
    }
    if f.same_dir {
        out.push((w.same_dir, "in the same directory".into()));
    }
    out.sort_by(|a, b| b.0.total_cmp(&a.0));
    out.into_iter().map(|(_, r)| r).collect()
}

fn short_list(paths: &[String]) -> String {
    match paths {
        [one] => one.clone(),
        [first, rest @ ..] => format!("{first} and {} more", rest.len()),
        [] => "the target".into(),
    }
}

#[cfg(test)]
mod tests;
