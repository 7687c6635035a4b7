//! Diagnose: from a symptom (an error message, an exception name, a log
//! line, a stack trace, identifiers, plain words) to ranked places to look,
//! each with its evidence (`lore diagnose`, `POST /diagnose`, MCP
//! `diagnose`).
//!
//! The symptom is read for quoted strings and message text (matched
//! literally against the code, a raise/throw/error site counting most),
//! exception and identifier names (their definitions), stack frames
//! (`File "x.py", line 3`, `at f (src/x.js:10:5)`, `src/x.rs:10:5`: the
//! places themselves), and the rest goes to search (hybrid and BM25).
//! Places are chunks; each is scored by a weighted sum of that evidence
//! plus its file's history — fix commits touching it (recency-weighted:
//! where bugs were, bugs are) and recent changes (a new bug often lives in
//! new code). Every score comes with the evidence that made it.

use std::collections::{BTreeMap, HashMap, HashSet};

use lore_core::Located;
use serde::Serialize;

use crate::error::{Error, Result};
use crate::{RepoIndex, SearchMode, SearchOptions};

/// How many places.
#[derive(Clone, Debug)]
pub struct DiagnoseOptions {
    /// Places listed at most.
    pub limit: usize,
}

impl Default for DiagnoseOptions {
    fn default() -> Self {
        DiagnoseOptions { limit: 10 }
    }
}

/// One piece of evidence for a place.
#[derive(Clone, Debug, Serialize)]
pub struct Evidence {
    /// `stack-frame`, `raise-site`, `literal`, `definition`, `search`,
    /// `fix-history`, `recent-change`.
    pub kind: &'static str,
    /// What it is, in words.
    pub detail: String,
    /// Where, when it is a line (`path:line`) or a commit (sha).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub at: Option<String>,
}

/// The evidence behind a place's score, before weighting. Places are
/// ranked by their file's evidence (a bug is looked for file by file; a
/// file found by several places and signals is likelier), then by their
/// own search rank within the file.
#[derive(Clone, Debug, Default, Serialize)]
pub struct PlaceFeatures {
    /// Σ over the file's places of 1 ÷ (1 + rank) in the hybrid search.
    pub hybrid: f64,
    /// The same in BM25.
    pub lexical: f64,
    /// This place's own evidence: 1 ÷ (1 + rank) in the hybrid search,
    /// plus 4 for a stack frame in it, 2 for a raise site, 1 for a
    /// literal, 0.5 for a definition (it orders the places of one file).
    pub place: f64,
    /// A symptom literal occurs in the file.
    pub literal: bool,
    /// …on a line that raises, throws, panics or logs an error.
    pub raise: bool,
    /// The file defines a name the symptom mentions.
    pub definition: bool,
    /// A stack frame of the symptom points into the file.
    pub stack: bool,
    /// The file's recency-weighted fix commits over the mean file's
    /// (ln(1 + ratio), 0 for none).
    pub fix_history: f64,
    /// Its changes in the last 90 days of history (ln(1 + n)).
    pub recent: f64,
    /// Past commits whose messages read like the symptom touched it: Σ
    /// over the 20 most similar (TF-IDF cosine) of similarity ÷ √files,
    /// as a share of the best file's.
    pub history_match: f64,
    /// Share of the file name's words the symptom uses (`fix(help): …` →
    /// `help.go`, `HeaderMap` → `header/map.rs`).
    pub name_words: f64,
    /// The same for its directories' words.
    pub dir_words: f64,
    /// Test code (where a failure shows, rarely where the bug is).
    pub test: bool,
    /// Documents, examples, benchmarks, scripts.
    pub aux: bool,
}

/// Weights of [`PlaceFeatures`].
#[derive(Clone, Copy, Debug)]
#[allow(missing_docs)]
pub struct Weights {
    pub hybrid: f64,
    pub lexical: f64,
    pub place: f64,
    pub literal: f64,
    pub raise: f64,
    pub definition: f64,
    pub stack: f64,
    pub fix_history: f64,
    pub recent: f64,
    pub history_match: f64,
    pub name_words: f64,
    pub dir_words: f64,
    pub test: f64,
    pub aux: f64,
}

/// The weights in force: a logistic regression on the file-level
/// features of `bench/change.py --task diagnose --set train`, rounded
/// (left-one-repository-out it scored 0.459 / 0.789 first 1 / first 5
/// there, against 0.409 / 0.682 for search alone). `stack` and `raise`
/// are set by hand: commit subjects hold no stack traces and few messages.
pub const WEIGHTS: Weights = Weights {
    hybrid: 1.0,
    lexical: 0.5,
    place: 0.1,
    literal: 1.0,
    raise: 0.5,
    definition: 1.3,
    stack: 2.0,
    fix_history: 0.35,
    recent: 0.4,
    history_match: 1.5,
    name_words: 1.0,
    dir_words: 0.5,
    test: 0.0,
    aux: -0.25,
};

impl PlaceFeatures {
    fn score(&self, w: &Weights) -> f64 {
        let b = |x: bool| f64::from(u8::from(x));
        w.hybrid * self.hybrid
            + w.lexical * self.lexical
            + w.place * self.place
            + w.literal * b(self.literal)
            + w.raise * b(self.raise)
            + w.definition * b(self.definition)
            + w.stack * b(self.stack)
            + w.fix_history * self.fix_history
            + w.recent * self.recent
            + w.history_match * self.history_match
            + w.name_words * self.name_words
            + w.dir_words * self.dir_words
            + w.test * b(self.test)
            + w.aux * b(self.aux)
    }
}

/// A place to look.
#[derive(Clone, Debug, Serialize)]
pub struct Place {
    /// File.
    pub path: String,
    /// First line.
    pub start_line: u32,
    /// Last line.
    pub end_line: u32,
    /// The enclosing symbol.
    pub symbol: Option<String>,
    /// Higher is likelier.
    pub score: f64,
    /// Why, strongest first.
    pub evidence: Vec<Evidence>,
    /// The values behind the score.
    pub features: PlaceFeatures,
}

/// What the symptom says, read apart.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Symptom {
    /// Quoted strings and error-message text, to match literally.
    pub literals: Vec<String>,
    /// Identifiers and exception names (bare).
    pub names: Vec<String>,
    /// Qualified names as written (`HeaderMap::reserve`, `Poll.poll`).
    pub qualified: Vec<String>,
    /// Stack frames: (path as written, line).
    pub frames: Vec<(String, u32)>,
    /// The text for search, frames and quotes left out.
    pub text: String,
}

/// Reads a symptom apart.
pub fn read_symptom(symptom: &str) -> Symptom {
    let mut out = Symptom::default();
    let mut text = String::new();
    for line in symptom.lines() {
        let t = line.trim();
        if let Some(frame) = frame(t) {
            out.frames.push(frame);
            continue;
        }
        text.push_str(t);
        text.push('\n');
    }
    // Quoted literals.
    for quote in ['"', '\'', '`'] {
        let mut parts = text.split(quote);
        parts.next();
        while let (Some(inside), Some(_)) = (parts.next(), Some(())) {
            let lit = inside.trim();
            if lit.len() >= 4 && lit.len() <= 200 && !lit.contains('\n') {
                out.literals.push(lit.to_owned());
            }
            if parts.next().is_none() {
                break;
            }
        }
    }
    // `SomeError: the message` — the message is what the code formats.
    for line in text.lines() {
        if let Some((head, msg)) = line.split_once(": ") {
            let head = head.trim().rsplit(['.', ':']).next().unwrap_or(head);
            if is_exception_name(head) {
                out.names.push(head.to_owned());
                let msg = msg.trim();
                if msg.len() >= 8 && !out.literals.iter().any(|l| l == msg) {
                    out.literals.push(msg.trim_matches(['"', '\'']).to_owned());
                }
            }
        }
    }
    // Identifiers: snake_case, camelCase, dotted or `::` paths, calls.
    for word in text.split(|c: char| c.is_whitespace() || ",;()[]{}<>\"'`!?".contains(c)) {
        let w = word.trim_matches(|c: char| !(c.is_alphanumeric() || c == '_'));
        if w.len() < 3 {
            continue;
        }
        let inner_upper =
            w.chars().skip(1).any(|c| c.is_uppercase()) && w.chars().any(|c| c.is_lowercase());
        let looks_code = w.contains('_') && w.chars().any(|c| c.is_alphabetic())
            || inner_upper
            || w.contains("::")
            || (w.contains('.')
                && !w.ends_with('.')
                && w.split('.')
                    .all(|p| !p.is_empty() && p.chars().all(|c| c.is_alphanumeric() || c == '_'))
                && !w.chars().all(|c| c.is_ascii_digit() || c == '.'))
            || is_exception_name(w);
        if looks_code {
            let bare = w.rsplit(['.', ':']).next().unwrap_or(w);
            if bare.len() < w.len() && !out.qualified.iter().any(|q| q == w) {
                out.qualified.push(w.to_owned());
            }
            if bare.len() >= 3 && !out.names.iter().any(|n| n == bare) {
                out.names.push(bare.to_owned());
            }
        }
    }
    out.text = text.trim().to_owned();
    out
}

/// Changelogs, release notes and lock files: records of changes, not
/// places a bug can be.
fn is_record(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path).to_ascii_lowercase();
    let stem = name.split('.').next().unwrap_or(&name);
    matches!(
        stem,
        "changelog"
            | "changes"
            | "history"
            | "news"
            | "releases"
            | "release-notes"
            | "release_notes"
    ) || name.ends_with(".lock")
        || name == "package-lock.json"
        || name == "pnpm-lock.yaml"
        || name == "go.sum"
        || path.contains("changelog.d/")
        || path.contains("/changes/") && (name.ends_with(".md") || name.ends_with(".rst"))
}

/// Runs of at least three plain words (or 12 characters) of a message,
/// split where a formatted value would be: numbers, quoted parts, paths.
fn fragments(message: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut run: Vec<&str> = Vec::new();
    let flush = |run: &mut Vec<&str>, out: &mut Vec<String>| {
        let text = run.join(" ");
        if run.len() >= 3 || text.len() >= 12 {
            out.push(text);
        }
        run.clear();
    };
    for w in message.split_whitespace() {
        let value = w
            .chars()
            .any(|c| c.is_ascii_digit() || "'\"`/\\=<>{}".contains(c));
        if value {
            flush(&mut run, &mut out);
        } else {
            run.push(w.trim_end_matches([':', ',', '.', ';']));
        }
    }
    flush(&mut run, &mut out);
    out.retain(|f| f != message);
    out
}

fn is_exception_name(w: &str) -> bool {
    w.chars().next().is_some_and(char::is_uppercase)
        && w.chars().all(|c| c.is_alphanumeric() || c == '_')
        && (w.ends_with("Error") || w.ends_with("Exception") || w.ends_with("Warning"))
}

/// A stack frame on one line: Python's `File "x.py", line 3`, JavaScript's
/// `at f (x.js:10:5)`, and `path.ext:LINE[:COL]` (Rust panics, Go, Java).
fn frame(line: &str) -> Option<(String, u32)> {
    if let Some(rest) = line.strip_prefix("File \"") {
        let (path, rest) = rest.split_once('"')?;
        let n = rest.split("line ").nth(1)?;
        let n: u32 = n
            .chars()
            .take_while(char::is_ascii_digit)
            .collect::<String>()
            .parse()
            .ok()?;
        return Some((path.to_owned(), n));
    }
    let candidate = line
        .trim_start_matches("at ")
        .rsplit(['(', ' '])
        .next()?
        .trim_end_matches(')');
    let mut parts = candidate.split(':');
    let path = parts.next()?;
    let n: u32 = parts.next()?.parse().ok()?;
    let ext = path.rsplit_once('.')?.1;
    (ext.len() <= 5 && ext.chars().all(|c| c.is_ascii_alphanumeric()) && path.len() > ext.len() + 1)
        .then(|| (path.to_owned(), n))
}

/// Lines that raise, throw, panic or log an error.
fn is_raise_line(line: &str) -> bool {
    let l = line.trim_start();
    [
        "raise ",
        "throw ",
        "panic!(",
        "bail!(",
        "anyhow!(",
        "Err(",
        "errors.New(",
        "fmt.Errorf(",
        "log.Fatal",
        "logger.error",
        "log.error",
        "logging.error",
        "console.error",
        "error!(",
        "unreachable!(",
        "expect(",
        "new Error(",
        "Error(",
        "warnings.warn(",
    ]
    .iter()
    .any(|p| {
        l.starts_with(p)
            || l.contains(&format!(" {p}"))
            || l.contains(&format!("({p}"))
            || l.contains(&format!(".{p}"))
    }) || l.contains("raise ")
        || l.contains("throw ")
        || l.contains("panic!(")
}

/// Places to look for the bug behind `symptom`, likeliest first.
pub fn diagnose(index: &RepoIndex, symptom: &str, opts: &DiagnoseOptions) -> Result<Vec<Place>> {
    let symptom_text = symptom.trim();
    if symptom_text.is_empty() {
        return Err(Error::Invalid("diagnose: the symptom is empty".into()));
    }
    let read = read_symptom(symptom_text);
    let mut places: BTreeMap<(String, u32, u32), Found> = BTreeMap::new();
    let mut add = |at: &Located, f: &mut dyn FnMut(&mut PlaceFeatures, &mut Vec<Evidence>)| {
        let key = (at.path.clone(), at.start_line, at.end_line);
        let entry = places
            .entry(key)
            .or_insert_with(|| (at.clone(), PlaceFeatures::default(), Vec::new()));
        f(&mut entry.1, &mut entry.2);
    };

    // Search, hybrid and BM25.
    let query = if read.text.is_empty() {
        symptom_text.to_owned()
    } else {
        read.text.clone()
    };
    let search = |mode: SearchMode, limit: usize, q: &str| {
        index.search(
            q,
            &SearchOptions {
                limit,
                mode,
                max_per_file: Some(3),
                ..Default::default()
            },
        )
    };
    let hybrid = search(SearchMode::Hybrid, 40, &query)?;
    for (rank, hit) in hybrid.iter().enumerate() {
        let v = 1.0 / (1.0 + rank as f64);
        add(&hit.at, &mut |f, e| {
            f.place = f.place.max(v);
            if rank < 5 {
                e.push(Evidence {
                    kind: "search",
                    detail: format!("ranked {} by search for the symptom's words", rank + 1),
                    at: None,
                });
            }
        });
    }
    let lexical = search(SearchMode::Lexical, 40, &query)?;
    let lexical_ranked: Vec<(String, f64)> = lexical
        .iter()
        .enumerate()
        .map(|(rank, hit)| (hit.at.path.clone(), 1.0 / (1.0 + rank as f64)))
        .collect();
    for hit in &lexical {
        add(&hit.at, &mut |_, _| {});
    }

    // Literals: quoted strings and messages, found in the code's text; a
    // message whose formatted values (numbers, names in quotes) the code
    // does not hold is matched by its runs of plain words.
    let mut literals: Vec<String> = Vec::new();
    for lit in &read.literals {
        for l in std::iter::once(lit.clone()).chain(fragments(lit)) {
            if !literals.contains(&l) {
                literals.push(l);
            }
        }
    }
    let mut matched_literal = false;
    for lit in &literals {
        if matched_literal && !read.literals.contains(lit) {
            break;
        }
        let needle = lit.to_lowercase();
        let Ok(hits) = search(SearchMode::Lexical, 30, lit) else {
            continue;
        };
        for hit in hits {
            let lower = hit.text.to_lowercase();
            if !lower.contains(&needle) {
                continue;
            }
            let (line_no, raise) = hit
                .text
                .lines()
                .enumerate()
                .find(|(_, l)| l.to_lowercase().contains(&needle))
                .map(|(i, l)| (hit.at.start_line + i as u32, is_raise_line(l)))
                .unwrap_or((hit.at.start_line, false));
            matched_literal = true;
            add(&hit.at, &mut |f, e| {
                f.literal = true;
                f.raise |= raise;
                e.push(Evidence {
                    kind: if raise { "raise-site" } else { "literal" },
                    detail: format!(
                        "{} \"{lit}\"",
                        if raise {
                            "raises or reports"
                        } else {
                            "contains"
                        }
                    ),
                    at: Some(format!("{}:{line_no}", hit.at.path)),
                });
            });
        }
    }

    // Names: their definitions.
    for name in read.names.iter().take(12) {
        let mut rows = index.store().symbols_exact(name, None)?;
        // `Type::name` / `Type.name` narrows a common name to its owner.
        let owners: Vec<String> = read
            .qualified
            .iter()
            .filter_map(|q| {
                let (owner, last) = q.rsplit_once("::").or_else(|| q.rsplit_once(['.', ':']))?;
                (last == name).then(|| {
                    owner
                        .rsplit(['.', ':'])
                        .next()
                        .unwrap_or(owner)
                        .to_lowercase()
                })
            })
            .collect();
        if !owners.is_empty() {
            let narrowed: Vec<_> = rows
                .iter()
                .filter(|r| {
                    let q = r.qualname.to_lowercase();
                    let p = r.path.to_lowercase();
                    owners
                        .iter()
                        .any(|o| q.contains(o.as_str()) || p.contains(o.as_str()))
                })
                .cloned()
                .collect();
            if !narrowed.is_empty() {
                rows = narrowed;
            }
        }
        if rows.len() > 5 {
            continue;
        }
        for row in rows {
            let at = Located {
                path: row.path.clone(),
                start_line: row.start_line,
                end_line: row.end_line,
                symbol: Some(row.qualname.clone()),
                kind: Some(row.kind.name().to_owned()),
                lang: row.lang.name().to_owned(),
                commit: None,
            };
            // Attach to the chunk that holds it when search found one.
            add(&at, &mut |f, e| {
                f.definition = true;
                e.push(Evidence {
                    kind: "definition",
                    detail: format!("defines `{}`, named in the symptom", row.qualname),
                    at: Some(format!("{}:{}", row.path, row.start_line)),
                });
            });
        }
    }

    // Stack frames: the places themselves.
    let paths = index.store().paths()?;
    for (written, line) in &read.frames {
        let written = written.replace('\\', "/");
        let Some(path) = paths
            .iter()
            .filter(|p| {
                written.ends_with(p.as_str()) || p.ends_with(written.trim_start_matches("./"))
            })
            .max_by_key(|p| p.len())
        else {
            continue;
        };
        let symbol = index
            .store()
            .outline(path)?
            .into_iter()
            .filter(|s| s.start_line <= *line && *line <= s.end_line)
            .min_by_key(|s| s.end_line - s.start_line);
        let at = match &symbol {
            Some(s) => Located {
                path: path.clone(),
                start_line: s.start_line,
                end_line: s.end_line,
                symbol: Some(s.qualname.clone()),
                kind: Some(s.kind.name().to_owned()),
                lang: s.lang.name().to_owned(),
                commit: None,
            },
            None => Located {
                path: path.clone(),
                start_line: *line,
                end_line: *line,
                ..Default::default()
            },
        };
        add(&at, &mut |f, e| {
            f.stack = true;
            e.push(Evidence {
                kind: "stack-frame",
                detail: "a frame of the stack trace".into(),
                at: Some(format!("{path}:{line}")),
            });
        });
    }

    // Past commits that read like the symptom: their files.
    let history = FileHistory::read(index)?;
    let matched = history.matching(&query);
    let known: HashSet<&str> = hybrid
        .iter()
        .chain(&lexical)
        .map(|h| h.at.path.as_str())
        .collect();
    // Files the symptom names by their file name (`fix(help): …`).
    let symptom_words = words(symptom_text);
    let mut named: Vec<&String> = paths
        .iter()
        .filter(|p| lore_core::Language::from_path(std::path::Path::new(p.as_str())).is_parsed())
        .filter(|p| path_match(p, &symptom_words).0 >= 1.0)
        .collect();
    named.sort_by_key(|p| (p.len(), p.as_str()));
    let extra: Vec<&String> = matched
        .iter()
        .take(5)
        .map(|(p, _, _)| p)
        .chain(named.into_iter().take(5))
        .collect();
    for path in extra {
        if known.contains(path.as_str()) || !paths.iter().any(|p| p == path) {
            continue;
        }
        // The file's best chunk for the symptom, else its first lines.
        let hit = index
            .search(
                &query,
                &SearchOptions {
                    limit: 1,
                    mode: SearchMode::Lexical,
                    path_glob: Some(path.clone()),
                    ..Default::default()
                },
            )
            .ok()
            .and_then(|h| h.into_iter().next());
        let at = hit.map(|h| h.at).unwrap_or_else(|| Located {
            path: path.clone(),
            start_line: 1,
            end_line: 1,
            ..Default::default()
        });
        add(&at, &mut |_, _| {});
    }

    // Merge definitions and frames into the search chunk that holds them.
    // A changelog or a lock file is no place to look: it changes with
    // every fix, so history would rank it first, but a bug is never there
    // (manifests, configuration and data files can hold one and stay).
    let mut merged: Vec<Found> = Vec::new();
    for (_, (at, f, e)) in places {
        if is_record(&at.path) && !f.stack {
            continue;
        }
        if let Some(host) = merged.iter_mut().find(|(h, _, _)| {
            h.path == at.path && h.start_line <= at.start_line && at.end_line <= h.end_line
                || h.path == at.path && at.start_line <= h.start_line && h.end_line <= at.end_line
        }) {
            let hf = &mut host.1;
            hf.place = hf.place.max(f.place);
            hf.lexical = hf.lexical.max(f.lexical);
            hf.literal |= f.literal;
            hf.raise |= f.raise;
            hf.definition |= f.definition;
            hf.stack |= f.stack;
            host.2.extend(e);
            if host.0.symbol.is_none() {
                host.0.symbol = at.symbol.clone();
            }
        } else {
            merged.push((at, f, e));
        }
    }

    // File-level evidence: every place of the file, its history, its name.
    let match_of: HashMap<&str, (f64, &(String, String))> = matched
        .iter()
        .map(|(p, v, c)| (p.as_str(), (*v, c)))
        .collect();
    let mut per_file: BTreeMap<String, PlaceFeatures> = BTreeMap::new();
    for (at, f, _) in &merged {
        let file = per_file.entry(at.path.clone()).or_insert_with(|| {
            let (name_words, dir_words) = path_match(&at.path, &symptom_words);
            PlaceFeatures {
                fix_history: history.fix_share(&at.path),
                recent: history.recent(&at.path),
                history_match: match_of.get(at.path.as_str()).map_or(0.0, |m| round4(m.0)),
                name_words,
                dir_words,
                test: crate::thoughts::entry::is_test_path(&at.path),
                aux: crate::query::is_aux_path(&at.path),
                ..Default::default()
            }
        });
        file.hybrid += f.place;
        file.literal |= f.literal;
        file.raise |= f.raise;
        file.definition |= f.definition;
        file.stack |= f.stack;
    }
    for hit in &lexical_ranked {
        if let Some(file) = per_file.get_mut(&hit.0) {
            file.lexical += hit.1;
        }
    }
    let mut out: Vec<Place> = merged
        .into_iter()
        .map(|(at, own, mut evidence)| {
            let mut f = per_file[&at.path].clone();
            f.hybrid = round4(f.hybrid);
            f.lexical = round4(f.lexical);
            // Within a file, the place that holds the evidence leads.
            let own_bonus = |x: bool, w: f64| if x { w } else { 0.0 };
            f.place = round4(
                own.place
                    + own_bonus(own.stack, 4.0)
                    + own_bonus(own.raise, 2.0)
                    + own_bonus(own.literal, 1.0)
                    + own_bonus(own.definition, 0.5),
            );
            if let Some((_, (sha, subject))) = match_of.get(at.path.as_str()) {
                evidence.push(Evidence {
                    kind: "similar-commit",
                    detail: format!(
                        "changed by a past commit that reads like the symptom: \"{subject}\""
                    ),
                    at: Some(sha.clone()),
                });
            }
            evidence.extend(history.evidence(&at.path));
            Place {
                score: round4(f.score(&WEIGHTS)),
                path: at.path,
                start_line: at.start_line,
                end_line: at.end_line,
                symbol: at.symbol,
                evidence,
                features: f,
            }
        })
        .collect();
    out.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then_with(|| (&a.path, a.start_line).cmp(&(&b.path, b.start_line)))
    });
    // At most two places of a file, so the list spans files.
    let mut shown: HashMap<String, usize> = HashMap::new();
    out.retain(|p| {
        let n = shown.entry(p.path.clone()).or_default();
        *n += 1;
        *n <= 2
    });
    out.truncate(opts.limit);
    Ok(out)
}

/// Shares of a path's file-name words and directory words among the
/// symptom's words.
fn path_match(path: &str, symptom: &HashMap<String, f64>) -> (f64, f64) {
    const COMMON: [&str; 10] = [
        "src", "lib", "test", "tests", "mod", "index", "main", "init", "pkg", "internal",
    ];
    let (dir, file) = path.rsplit_once('/').unwrap_or(("", path));
    let stem = file.split('.').next().unwrap_or(file);
    let share = |text: &str| {
        let w: Vec<String> = words(text)
            .into_keys()
            .filter(|w| !COMMON.contains(&w.as_str()))
            .collect();
        if w.is_empty() {
            0.0
        } else {
            round4(w.iter().filter(|x| symptom.contains_key(*x)).count() as f64 / w.len() as f64)
        }
    };
    (share(stem), share(dir))
}

fn round4(x: f64) -> f64 {
    (x * 10_000.0).round() / 10_000.0
}

/// Commits read for the history features.
const HISTORY_COMMITS: usize = 5_000;

/// A commit as evidence: sha, subject, time.
type CommitRef = (String, String, i64);
/// A commit message's word frequencies, sha, subject and files.
type Message = (HashMap<String, f64>, String, String, Vec<String>);
/// A place with its evidence, while it is being gathered.
type Found = (Located, PlaceFeatures, Vec<Evidence>);

/// Per-file fix and change history from the indexed commits.
struct FileHistory {
    /// Recency-weighted fix commits per file.
    fixes: HashMap<String, (f64, Vec<CommitRef>)>,
    mean_fix: f64,
    /// Commits in the last 90 days of the history per file.
    recent: HashMap<String, (u32, Option<CommitRef>)>,
    /// Each commit's message words (term frequencies), sha, subject and files.
    messages: Vec<Message>,
    /// Document frequency of each word over the messages.
    df: HashMap<String, u32>,
}

/// Message words: lower-cased identifier parts and words of three letters
/// or more.
fn words(text: &str) -> HashMap<String, f64> {
    let mut out: HashMap<String, f64> = HashMap::new();
    for t in lore_core::tokens::token_texts(text) {
        let t = t.to_lowercase();
        if t.len() >= 3 && !t.chars().all(|c| c.is_ascii_digit()) {
            *out.entry(t).or_default() += 1.0;
        }
    }
    out
}

impl FileHistory {
    fn read(index: &RepoIndex) -> Result<FileHistory> {
        let commits = index.store().commits(HISTORY_COMMITS)?;
        let now = commits.iter().map(|c| c.time).max().unwrap_or(0);
        let mut fixes: HashMap<String, (f64, Vec<CommitRef>)> = HashMap::new();
        let mut recent: HashMap<String, (u32, Option<CommitRef>)> = HashMap::new();
        let mut messages = Vec::new();
        let mut df: HashMap<String, u32> = HashMap::new();
        for c in &commits {
            if c.files.is_empty() || c.files.len() > 50 {
                continue;
            }
            let w = words(&c.message);
            for k in w.keys() {
                *df.entry(k.clone()).or_default() += 1;
            }
            messages.push((
                w,
                c.sha.clone(),
                c.message.lines().next().unwrap_or("").to_owned(),
                c.files.clone(),
            ));
            let subject = c.message.lines().next().unwrap_or("").to_owned();
            let age_days = (now - c.time).max(0) as f64 / 86_400.0;
            if crate::risk::is_fix(&subject) {
                let w = 0.5_f64.powf(age_days / 365.0);
                for f in &c.files {
                    let e = fixes.entry(f.clone()).or_default();
                    e.0 += w;
                    if e.1.len() < 3 {
                        e.1.push((c.sha.clone(), subject.clone(), c.time));
                    }
                }
            }
            if age_days <= 90.0 {
                for f in &c.files {
                    let e = recent.entry(f.clone()).or_default();
                    e.0 += 1;
                    if e.1.is_none() {
                        e.1 = Some((c.sha.clone(), subject.clone(), c.time));
                    }
                }
            }
        }
        let files = index.store().paths()?.len().max(1);
        let mean_fix = fixes.values().map(|v| v.0).sum::<f64>() / files as f64;
        Ok(FileHistory {
            fixes,
            mean_fix,
            recent,
            messages,
            df,
        })
    }

    /// Files of the past commits whose messages are most like `text`
    /// (TF-IDF cosine, the 20 best commits): (path, share of the best
    /// file's score, the most similar commit's (sha, subject)), best first.
    fn matching(&self, text: &str) -> Vec<(String, f64, (String, String))> {
        let n = self.messages.len() as f64;
        if n == 0.0 {
            return Vec::new();
        }
        let idf = |w: &str| {
            (n / (1.0 + f64::from(*self.df.get(w).unwrap_or(&0))))
                .ln()
                .max(0.0)
        };
        let weigh = |tf: &HashMap<String, f64>| -> (HashMap<String, f64>, f64) {
            let v: HashMap<String, f64> = tf
                .iter()
                .map(|(w, c)| (w.clone(), (1.0 + c.ln()) * idf(w)))
                .collect();
            let norm = v.values().map(|x| x * x).sum::<f64>().sqrt();
            (v, norm)
        };
        let (q, qn) = weigh(&words(text));
        if qn == 0.0 {
            return Vec::new();
        }
        let mut sims: Vec<(f64, usize)> = self
            .messages
            .iter()
            .enumerate()
            .filter_map(|(i, (tf, ..))| {
                let dot: f64 = q
                    .iter()
                    .filter_map(|(w, qv)| tf.get(w).map(|c| qv * (1.0 + c.ln()) * idf(w)))
                    .sum();
                if dot <= 0.0 {
                    return None;
                }
                let (_, dn) = weigh(tf);
                Some((dot / (qn * dn), i))
            })
            .collect();
        sims.sort_by(|a, b| b.0.total_cmp(&a.0));
        let mut per: HashMap<&str, (f64, f64, usize)> = HashMap::new();
        for &(sim, i) in sims.iter().take(20) {
            let files = &self.messages[i].3;
            let share = sim / (files.len() as f64).sqrt();
            for f in files {
                let e = per.entry(f).or_insert((0.0, 0.0, i));
                e.0 += share;
                if sim > e.1 {
                    e.1 = sim;
                    e.2 = i;
                }
            }
        }
        let best = per.values().map(|v| v.0).fold(0.0, f64::max);
        let mut out: Vec<(String, f64, (String, String))> = per
            .into_iter()
            .map(|(p, (v, _, i))| {
                let m = &self.messages[i];
                (p.to_owned(), v / best, (m.1.clone(), m.2.clone()))
            })
            .collect();
        out.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        out
    }

    fn fix_share(&self, path: &str) -> f64 {
        match self.fixes.get(path) {
            Some((w, _)) if self.mean_fix > 0.0 => round4((1.0 + w / self.mean_fix).ln()),
            _ => 0.0,
        }
    }

    fn recent(&self, path: &str) -> f64 {
        self.recent
            .get(path)
            .map_or(0.0, |(n, _)| round4((1.0 + f64::from(*n)).ln()))
    }

    fn evidence(&self, path: &str) -> Vec<Evidence> {
        let mut out = Vec::new();
        if let Some((_, commits)) = self.fixes.get(path) {
            for (sha, subject, time) in commits.iter().take(2) {
                out.push(Evidence {
                    kind: "fix-history",
                    detail: format!("fixed before: \"{subject}\" ({})", day(*time)),
                    at: Some(sha.clone()),
                });
            }
        }
        if let Some((n, Some((sha, subject, time)))) = self.recent.get(path) {
            out.push(Evidence {
                kind: "recent-change",
                detail: format!(
                    "changed in {n} commit{} in the last 90 days, last \"{subject}\" ({})",
                    if *n == 1 { "" } else { "s" },
                    day(*time)
                ),
                at: Some(sha.clone()),
            });
        }
        out
    }
}

fn day(time: i64) -> String {
    lore_core::time::rfc3339(time * 1000)
        .get(..10)
        .unwrap_or("")
        .to_owned()
}

#[cfg(test)]
mod tests;
