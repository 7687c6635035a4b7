//! Import resolution: which indexed file an import statement names.
//!
//! The file graph (`file_edges`) links files by names alone: a file that
//! uses `send` is linked to every file defining `send`. An import says
//! more — `from .core import Option` names one file — so impact labels an
//! edge `resolved` when the referring file imports the defining one. This
//! module maps each stored import to the indexed files it names, per
//! language:
//!
//! - Python: `a.b` is `a/b.py` or `a/b/__init__.py` under any source root
//!   (the first component must be a top-level package there: its parent
//!   directory has no `__init__.py`); relative imports (`.core`, `..x`)
//!   from the importer's package; `from a import b` names `a/b.py` when
//!   that file exists (a submodule), else `a`.
//! - JavaScript and TypeScript: relative specifiers (`./x`, `../y/z.js`)
//!   with the usual extensions and `index` files; package names are
//!   outside the repository.
//! - Rust: `crate::`, `self::`, `super::` and workspace crates by
//!   directory name (`axum_core::body` → `axum-core/src/body.rs`), the
//!   longest module prefix that is a file (`a/b.rs` or `a/b/mod.rs`); the
//!   rest of the path is items.
//! - Go: import paths under a `go.mod` module path name a directory: every
//!   non-test file of that package.
//! - Java: `a.b.C` is a file ending in `a/b/C.java`; `a.b.*` the package.
//! - C and C++: `#include "x/y.h"` beside the includer, else by path suffix.
//!
//! Anything else (the standard library, third-party packages) resolves to
//! nothing, and is counted so callers can say how much the graph cannot see.

use std::collections::{HashMap, HashSet};

use lore_core::Language;
use lore_core::store::ImportRow;

/// One import that names an indexed file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportEdge {
    /// The importing file.
    pub src: String,
    /// The imported file.
    pub dst: String,
    /// Line of the import in `src`.
    pub line: u32,
    /// The imported name, when the import names one.
    pub name: Option<String>,
}

/// Every resolved import of a repository, both ways.
#[derive(Debug, Default)]
pub struct ImportGraph {
    edges: Vec<ImportEdge>,
    by_src: HashMap<String, Vec<usize>>,
    by_dst: HashMap<String, Vec<usize>>,
    /// Imports in the parsed languages that named no indexed file.
    pub unresolved: usize,
}

impl ImportGraph {
    /// Resolves `imports` against the indexed `paths`. `go_modules` maps a
    /// directory holding a `go.mod` ("" for the root) to its module path.
    pub fn build(
        paths: &[String],
        imports: &[ImportRow],
        go_modules: &[(String, String)],
    ) -> ImportGraph {
        let resolver = Resolver::new(paths, go_modules);
        let mut graph = ImportGraph::default();
        let mut seen = HashSet::new();
        for import in imports {
            let targets = resolver.resolve(import);
            if targets.is_empty() {
                graph.unresolved += 1;
            }
            for dst in targets {
                if dst == import.path
                    || !seen.insert((import.path.clone(), dst.clone(), import.line))
                {
                    continue;
                }
                let i = graph.edges.len();
                graph.by_src.entry(import.path.clone()).or_default().push(i);
                graph.by_dst.entry(dst.clone()).or_default().push(i);
                graph.edges.push(ImportEdge {
                    src: import.path.clone(),
                    dst,
                    line: import.line,
                    name: import.name.clone(),
                });
            }
        }
        graph
    }

    /// Every resolved import.
    pub fn edges(&self) -> &[ImportEdge] {
        &self.edges
    }

    /// The imports of files that import `path`.
    pub fn importers_of<'a>(&'a self, path: &str) -> impl Iterator<Item = &'a ImportEdge> + 'a {
        self.by_dst
            .get(path)
            .into_iter()
            .flatten()
            .map(|&i| &self.edges[i])
    }

    /// The imports `path` makes that name indexed files.
    pub fn imports_of<'a>(&'a self, path: &str) -> impl Iterator<Item = &'a ImportEdge> + 'a {
        self.by_src
            .get(path)
            .into_iter()
            .flatten()
            .map(|&i| &self.edges[i])
    }

    /// Whether `src` imports `dst`.
    pub fn imports(&self, src: &str, dst: &str) -> bool {
        self.imports_of(src).any(|e| e.dst == dst)
    }
}

/// Languages whose imports resolve the same way.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Family {
    Python,
    Script,
    Rust,
    Go,
    Java,
    C,
}

fn family(lang: Language) -> Option<Family> {
    Some(match lang {
        Language::Python => Family::Python,
        Language::JavaScript | Language::TypeScript | Language::Tsx => Family::Script,
        Language::Rust => Family::Rust,
        Language::Go => Family::Go,
        Language::Java => Family::Java,
        Language::C | Language::Cpp => Family::C,
        _ => return None,
    })
}

fn family_of_path(path: &str) -> Option<Family> {
    family(Language::from_path(std::path::Path::new(path)))
}

const SCRIPT_EXTENSIONS: [&str; 8] = ["ts", "tsx", "js", "jsx", "mjs", "cjs", "mts", "cts"];

/// (family, last key component) → (key, path).
type KeyIndex<'a> = HashMap<(Family, String), Vec<(Vec<String>, &'a str)>>;

struct Resolver<'a> {
    files: HashSet<&'a str>,
    /// (family, last key component) → (key, path), for suffix matches.
    keys: KeyIndex<'a>,
    /// Directory → its Go files that are not tests.
    go_dirs: HashMap<&'a str, Vec<&'a str>>,
    go_modules: &'a [(String, String)],
    /// Normalised Rust crate name → the crate's source directory (`x/src`).
    crates: HashMap<String, String>,
}

fn dir_of(path: &str) -> &str {
    path.rfind('/').map_or("", |i| &path[..i])
}

fn join(dir: &str, rest: &str) -> String {
    if dir.is_empty() {
        rest.to_owned()
    } else if rest.is_empty() {
        dir.to_owned()
    } else {
        format!("{dir}/{rest}")
    }
}

/// `a/./b/../c` → `a/c`; `None` when it climbs above the root.
fn normalize(path: &str) -> Option<String> {
    let mut out: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                out.pop()?;
            }
            p => out.push(p),
        }
    }
    Some(out.join("/"))
}

/// The module key of a file: its path without extension, `src` folders
/// and index-like file names (`__init__`, `mod`, `lib`, `index`) dropped,
/// `-` read as `_` (Rust crate directories).
fn module_key(path: &str, family: Family) -> Vec<String> {
    let (stem_path, _) = match path.rsplit_once('.') {
        Some((s, ext)) if !ext.contains('/') => (s, ext),
        _ => (path, ""),
    };
    let mut parts: Vec<String> = stem_path
        .split('/')
        .filter(|c| *c != "src")
        .map(|c| {
            if family == Family::Rust {
                c.replace('-', "_")
            } else {
                c.to_owned()
            }
        })
        .collect();
    let drop_last = match family {
        Family::Python => parts.last().is_some_and(|l| l == "__init__"),
        Family::Rust => parts.last().is_some_and(|l| l == "mod" || l == "lib"),
        Family::Script => parts.last().is_some_and(|l| l == "index"),
        _ => false,
    };
    if drop_last {
        parts.pop();
    }
    parts
}

impl<'a> Resolver<'a> {
    fn new(paths: &'a [String], go_modules: &'a [(String, String)]) -> Resolver<'a> {
        let mut keys: KeyIndex<'a> = HashMap::new();
        let mut go_dirs: HashMap<&str, Vec<&str>> = HashMap::new();
        let mut crates = HashMap::new();
        for path in paths {
            let Some(fam) = family_of_path(path) else {
                continue;
            };
            if fam == Family::Go {
                if !path.ends_with("_test.go") {
                    go_dirs.entry(dir_of(path)).or_default().push(path);
                }
                continue;
            }
            if fam == Family::Rust
                && let Some(src) = path.strip_suffix("/lib.rs").filter(|d| d.ends_with("src"))
            {
                let krate = dir_of(src);
                let name = krate.rsplit('/').next().unwrap_or(krate).replace('-', "_");
                if !name.is_empty() {
                    crates.entry(name).or_insert_with(|| src.to_owned());
                }
            }
            let key = if fam == Family::C {
                path.split('/').map(str::to_owned).collect()
            } else {
                module_key(path, fam)
            };
            if let Some(last) = key.last() {
                keys.entry((fam, last.clone()))
                    .or_default()
                    .push((key.clone(), path));
            }
        }
        Resolver {
            files: paths.iter().map(String::as_str).collect(),
            keys,
            go_dirs,
            go_modules,
            crates,
        }
    }

    fn resolve(&self, import: &ImportRow) -> Vec<String> {
        let Some(fam) = family(import.lang) else {
            return Vec::new();
        };
        let module = import
            .module
            .trim()
            .trim_matches(|c| c == '"' || c == '\'' || c == '<' || c == '>' || c == '`');
        let name = import.name.as_deref();
        match fam {
            Family::Python => self.python(&import.path, module, name),
            Family::Script => self.script(&import.path, module),
            Family::Rust => self.rust(&import.path, module, name),
            Family::Go => self.go(module),
            Family::Java => self.java(&import.path, module, name),
            Family::C => self.c(&import.path, module),
        }
        .into_iter()
        .map(str::to_owned)
        .collect()
    }

    fn exists(&self, path: &str) -> Option<&'a str> {
        self.files.get(path).copied()
    }

    /// Files whose key ends with `comps`, the nearest to `from` first; only
    /// the nearest is kept (two equally near are both kept).
    fn suffix(
        &self,
        fam: Family,
        comps: &[String],
        from: &str,
        accept: impl Fn(&str, usize) -> bool,
    ) -> Vec<&'a str> {
        let Some(last) = comps.last() else {
            return Vec::new();
        };
        let Some(candidates) = self.keys.get(&(fam, last.clone())) else {
            return Vec::new();
        };
        let mut found: Vec<(usize, &'a str)> = candidates
            .iter()
            .filter(|(key, path)| key.ends_with(comps) && accept(path, key.len() - comps.len()))
            .map(|(_, path)| (shared_prefix(from, path), *path))
            .collect();
        let Some(best) = found.iter().map(|(n, _)| *n).max() else {
            return Vec::new();
        };
        found.retain(|(n, _)| *n == best);
        found.sort();
        found.into_iter().map(|(_, p)| p).collect()
    }

    fn python_file(&self, base: &str) -> Option<&'a str> {
        self.exists(&format!("{base}.py"))
            .or_else(|| self.exists(&format!("{base}.pyi")))
            .or_else(|| self.exists(&join(base, "__init__.py")))
    }

    fn python(&self, from: &str, module: &str, name: Option<&str>) -> Vec<&'a str> {
        let dots = module.len() - module.trim_start_matches('.').len();
        let rest = &module[dots..];
        if dots > 0 {
            let mut base = dir_of(from).to_owned();
            for _ in 1..dots {
                base = dir_of(&base).to_owned();
            }
            let base = join(&base, &rest.replace('.', "/"));
            if let Some(n) = name
                && let Some(f) = self.python_file(&join(&base, n))
            {
                return vec![f];
            }
            return self.python_file(&base).into_iter().collect();
        }
        let comps: Vec<String> = rest.split('.').map(str::to_owned).collect();
        // The first component must be a top-level package: the directory
        // above it is no package itself.
        let top_level = |path: &str, skip: usize| -> bool {
            let mut dir = path;
            // Climb from the file to the directory holding the first
            // matched component.
            let levels = module_key(path, Family::Python).len() - skip;
            let init = path.ends_with("__init__.py");
            for _ in 0..levels + usize::from(init) {
                dir = dir_of(dir);
            }
            self.exists(&join(dir, "__init__.py")).is_none()
        };
        if let Some(n) = name {
            let mut with_name = comps.clone();
            with_name.push(n.to_owned());
            let found = self.suffix(Family::Python, &with_name, from, top_level);
            if !found.is_empty() {
                return found;
            }
        }
        self.suffix(Family::Python, &comps, from, top_level)
    }

    fn script(&self, from: &str, spec: &str) -> Vec<&'a str> {
        if !spec.starts_with('.') {
            return Vec::new();
        }
        let Some(base) = normalize(&join(dir_of(from), spec)) else {
            return Vec::new();
        };
        if let Some(f) = self.exists(&base) {
            return vec![f];
        }
        // `./x.js` written for a TypeScript source `x.ts`.
        let stem = ["js", "mjs", "cjs", "jsx"]
            .iter()
            .find_map(|e| base.strip_suffix(&format!(".{e}")))
            .unwrap_or(&base);
        for ext in SCRIPT_EXTENSIONS {
            if let Some(f) = self.exists(&format!("{stem}.{ext}")) {
                return vec![f];
            }
        }
        for ext in SCRIPT_EXTENSIONS {
            if let Some(f) = self.exists(&format!("{base}/index.{ext}")) {
                return vec![f];
            }
        }
        Vec::new()
    }

    /// The file of module `comps` under the source directory `base`, or of
    /// its longest prefix that is a file (the rest are items).
    fn rust_under(&self, base: &str, comps: &[&str]) -> Option<&'a str> {
        self.rust_module(base, comps, 0)
    }

    /// [`rust_under`](Self::rust_under), keeping at least `min` components.
    fn rust_module(&self, base: &str, comps: &[&str], min: usize) -> Option<&'a str> {
        for n in (min..=comps.len()).rev() {
            let rel = comps[..n].join("/");
            if n == 0 {
                return ["lib.rs", "main.rs", "mod.rs"]
                    .iter()
                    .find_map(|f| self.exists(&join(base, f)));
            }
            let found = self
                .exists(&format!("{}.rs", join(base, &rel)))
                .or_else(|| self.exists(&join(&join(base, &rel), "mod.rs")));
            if found.is_some() {
                return found;
            }
        }
        None
    }

    fn rust(&self, from: &str, module: &str, name: Option<&str>) -> Vec<&'a str> {
        let module = module.trim_start_matches("::");
        let mut comps: Vec<&str> = module.split("::").filter(|c| !c.is_empty()).collect();
        if let Some(n) = name.filter(|n| *n != "self" && *n != "*") {
            comps.push(n);
        }
        let Some(&first) = comps.first() else {
            return Vec::new();
        };
        // The importer's module directory: where `self::x` lives.
        let module_dir = || {
            let file = from.rsplit('/').next().unwrap_or(from);
            if matches!(file, "mod.rs" | "lib.rs" | "main.rs") {
                dir_of(from).to_owned()
            } else {
                from.strip_suffix(".rs").unwrap_or(from).to_owned()
            }
        };
        let found = match first {
            "std" | "core" | "alloc" => None,
            "crate" => {
                // The crate's source root: the nearest `src` above, else
                // the directory holding the crate root file.
                let root = match from.rfind("/src/") {
                    Some(i) => from[..i + 4].to_owned(),
                    None if from.starts_with("src/") => "src".to_owned(),
                    None => dir_of(from).to_owned(),
                };
                self.rust_under(&root, &comps[1..])
            }
            "self" => self.rust_under(&module_dir(), &comps[1..]),
            "super" => {
                let mut dir = module_dir();
                let mut rest = &comps[..];
                while rest.first() == Some(&"super") {
                    dir = dir_of(&dir).to_owned();
                    rest = &rest[1..];
                }
                self.rust_under(&dir, rest)
            }
            krate => match self.crates.get(krate) {
                Some(src) => self.rust_under(src, &comps[1..]),
                // A module in scope of the importer (`use sibling::x`).
                None => {
                    let dir = module_dir();
                    self.rust_module(&dir, &comps, 1)
                        .or_else(|| self.rust_module(dir_of(&dir), &comps, 1))
                }
            },
        };
        found.filter(|f| *f != from).into_iter().collect()
    }

    fn go(&self, path: &str) -> Vec<&'a str> {
        let dir = self
            .go_modules
            .iter()
            .filter_map(|(dir, module)| {
                let rest = if path == module {
                    ""
                } else {
                    path.strip_prefix(module.as_str())?.strip_prefix('/')?
                };
                Some((module.len(), join(dir, rest)))
            })
            .max_by_key(|(n, _)| *n)
            .map(|(_, d)| d);
        let Some(dir) = dir else {
            return Vec::new();
        };
        self.go_dirs.get(dir.as_str()).cloned().unwrap_or_default()
    }

    fn java(&self, from: &str, module: &str, name: Option<&str>) -> Vec<&'a str> {
        let mut comps: Vec<String> = module.split('.').map(str::to_owned).collect();
        if let Some(n) = name {
            comps.push(n.to_owned());
        }
        if comps.last().is_some_and(|c| c == "*") {
            comps.pop();
            let dir = comps.join("/");
            let mut out: Vec<&str> = self
                .files
                .iter()
                .filter(|p| {
                    p.ends_with(".java")
                        && (dir_of(p) == dir || dir_of(p).ends_with(&format!("/{dir}")))
                })
                .copied()
                .collect();
            out.sort();
            return out;
        }
        // `import static a.B.member`: the class is one component up.
        for n in (2..=comps.len()).rev() {
            let found = self.suffix(Family::Java, &comps[..n], from, |_, _| true);
            if !found.is_empty() {
                return found;
            }
        }
        Vec::new()
    }

    fn c(&self, from: &str, header: &str) -> Vec<&'a str> {
        if let Some(p) = normalize(&join(dir_of(from), header))
            && let Some(f) = self.exists(&p)
        {
            return vec![f];
        }
        let comps: Vec<String> = header.split('/').map(str::to_owned).collect();
        self.suffix(Family::C, &comps, from, |_, _| true)
    }
}

/// How many leading path components `a` and `b` share.
fn shared_prefix(a: &str, b: &str) -> usize {
    a.split('/')
        .zip(b.split('/'))
        .take_while(|(x, y)| x == y)
        .count()
}

/// `go.mod` files among `paths` read from `root`: (directory, module path).
pub fn go_modules(root: &std::path::Path, paths: &[String]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for path in paths
        .iter()
        .filter(|p| *p == "go.mod" || p.ends_with("/go.mod"))
    {
        let Ok(text) = std::fs::read_to_string(root.join(path)) else {
            continue;
        };
        if let Some(module) = text.lines().find_map(|l| {
            l.trim()
                .strip_prefix("module ")
                .map(|m| m.trim().trim_matches('"').to_owned())
        }) {
            out.push((dir_of(path).to_owned(), module));
        }
    }
    out
}

#[cfg(test)]
mod tests;
