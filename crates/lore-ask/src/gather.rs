//! Evidence for a question: definitions of the code names it mentions,
//! their call sites when it asks for callers, the hybrid search's best
//! chunks, and (one graph hop) definitions the best evidence calls.
//!
//! Every candidate is kept with where it came from and its retrieval
//! features, for the retrieval log.

use std::collections::HashMap;

use lore_core::{Located, RefKind};
use lore_index::{RepoIndex, SearchMode, SearchOptions};
use lore_retrieve::fusion::{Contribution, Feature};
use lore_retrieve::text::words_match;
use serde::Serialize;

use crate::Result;
use crate::pack::{ContextPolicy, Evidence};
use crate::question::{Intent, Question};

/// Lines of a definition taken as evidence when the symbol is longer.
const MAX_DEFINITION_LINES: u32 = 60;
/// Lines of context on each side of a call site.
const CALL_CONTEXT: u32 = 1;
/// Call sites taken as evidence for a "what calls X" question.
const MAX_CALLERS: usize = 8;
/// Definitions of one name taken (a name defined in many places is vague).
const MAX_DEFINITIONS: usize = 3;
/// Definitions of one name considered before choosing.
const MAX_DEFINITION_CANDIDATES: usize = 50;
/// Search hits retrieved beyond the chunks packed, for the log.
const SEARCH_EXTRA: usize = 8;
/// Search hits retrieved when tests and vendored code crowd the first ones.
const SEARCH_WIDE: usize = 60;

/// Where a candidate came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// The definition of a name the question mentions.
    Definition,
    /// A call site of a name the question asks about.
    Caller,
    /// The hybrid search.
    Search,
    /// A definition called by the best evidence (one graph hop).
    Graph,
}

/// One candidate, kept or not, with what ranked it.
#[derive(Clone, Debug, Serialize)]
pub struct Candidate {
    /// The evidence.
    pub evidence: Evidence,
    /// Where it came from.
    pub source: Source,
    /// Rank in its source, from 0.
    pub rank: usize,
    /// Each retrieval feature's part in the search score.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub features: Vec<Contribution>,
    /// Position in the evidence offered for packing, if chosen.
    pub chosen: Option<usize>,
}

/// What was gathered for one question.
#[derive(Clone, Debug, Default)]
pub struct Gathered {
    /// Evidence in the order it should be packed (best first).
    pub evidence: Vec<Evidence>,
    /// Every candidate considered.
    pub candidates: Vec<Candidate>,
    /// Call sites of the asked-about name (all of them, not only those
    /// taken as evidence): (name, sites, files).
    pub call_sites: Option<(String, usize, usize)>,
}

/// File lines read once per question.
#[derive(Default)]
pub(crate) struct Lines {
    files: HashMap<String, Option<Vec<String>>>,
}

impl Lines {
    /// Lines `start..=end` of `path` (1-based), `None` if unreadable.
    pub(crate) fn get(
        &mut self,
        index: &RepoIndex,
        path: &str,
        start: u32,
        end: u32,
    ) -> Option<String> {
        let lines = self
            .files
            .entry(path.to_owned())
            .or_insert_with(|| {
                std::fs::read(lore_core::path::under(index.root(), path))
                    .ok()
                    .map(|bytes| {
                        String::from_utf8_lossy(&bytes)
                            .lines()
                            .map(str::to_owned)
                            .collect()
                    })
            })
            .as_ref()?;
        let a = start.max(1) as usize - 1;
        let b = (end as usize).min(lines.len());
        (a < b).then(|| lines[a..b].join("\n"))
    }
}

/// Gathers evidence for `question`. `context` holds names from the
/// conversation a follow-up refers to.
pub fn gather(
    index: &RepoIndex,
    question: &Question,
    context: &[String],
    policy: &ContextPolicy,
) -> Result<Gathered> {
    let mut lines = Lines::default();
    let mut gathered = Gathered::default();
    let mut names: Vec<String> = question.identifiers.clone();
    if names.is_empty() && question.follow_up {
        names.extend(context.iter().take(2).cloned());
    }
    // A capitalised word inside the sentence that names a type here
    // ("How does a Pool hand out connections?") is a code name too.
    let first_word = question.text.split_whitespace().next().unwrap_or("");
    for word in question
        .text
        .split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|w| w.len() > 2 && *w != first_word)
        .filter(|w| w.chars().next().is_some_and(char::is_uppercase))
    {
        if !question.identifiers.is_empty() || names.iter().any(|n| n == word) || names.len() >= 3 {
            continue;
        }
        // Only an unambiguous type: one definition of that exact name, in
        // that case (a `Sleep` in prose is the type, not the function `sleep`).
        let defs: Vec<_> = index
            .symbols(word, None, 5)?
            .into_iter()
            .filter(|h| h.matched == "exact" && h.name == word)
            .collect();
        if let [only] = defs.as_slice()
            && is_type_kind(&only.kind)
            && !is_test(&only.path, None)
        {
            names.push(word.to_owned());
        }
    }

    // The hybrid search, with the conversation's names for a follow-up.
    let mut query = question.text.clone();
    if question.follow_up {
        for name in context.iter().take(2) {
            query.push(' ');
            query.push_str(name);
        }
    }
    let about_tests = question.text.to_lowercase().contains("test");
    let search = |limit: usize| {
        index.search(
            &query,
            &SearchOptions {
                limit,
                mode: SearchMode::Hybrid,
                explain: true,
                ..SearchOptions::default()
            },
        )
    };
    let mut hits = search(policy.chunks + SEARCH_EXTRA)?;
    // In a repository with many tests, they can fill the whole list for a
    // question about the code: look further for the code itself.
    let own_code = |hits: &[lore_index::SearchHit]| {
        hits.iter()
            .filter(|h| !is_test(&h.at.path, h.at.symbol.as_deref()) && !is_vendored(&h.at.path))
            .count()
    };
    if !about_tests && own_code(&hits) < policy.chunks / 2 {
        hits = search(SEARCH_WIDE)?;
    }
    let mut searched: Vec<Candidate> = hits
        .into_iter()
        .enumerate()
        .map(|(rank, hit)| search_candidate(rank, hit))
        .collect();
    for c in &mut searched {
        to_definition(index, &mut lines, c)?;
    }

    // Test code answers "where" and "how" questions worse than the code
    // under test: it goes after the rest, unless the question is about tests.
    // Then a hit none of whose text matches the question's words (it came in
    // on its name or its vector alone: a symbol called `tick` for "missed
    // ticks") after those whose code says what was asked.
    searched.sort_by_key(|c| {
        (
            (!about_tests && is_test(&c.evidence.at.path, c.evidence.at.symbol.as_deref()))
                || is_vendored(&c.evidence.at.path),
            feature(c, Feature::Lexical).is_some_and(|v| v <= 0.0),
        )
    });
    prefer_implementations(&mut searched);
    if question.intent == Intent::General {
        members_before_types(index, &mut lines, &query, &mut searched)?;
    }

    // Definitions of the names the question mentions.
    let mut definitions: Vec<Candidate> = Vec::new();
    for name in names.iter().take(3) {
        let hits = index.symbols(name, None, MAX_DEFINITION_CANDIDATES)?;
        let mut exact: Vec<_> = hits.into_iter().filter(|h| h.matched == "exact").collect();
        // A name defined in several places: the definition the search
        // ranked best first, then documented ones, then longer ones (the
        // main implementation rather than a thin override); never by path.
        let search_rank = |h: &lore_index::SymbolHit| {
            searched
                .iter()
                .position(|c| {
                    c.evidence.at.path == h.path
                        && c.evidence.at.start_line <= h.end_line
                        && h.start_line <= c.evidence.at.end_line
                })
                .unwrap_or(usize::MAX)
        };
        // The name as written before other cases of it (`Sleep` the type
        // before `sleep` the function).
        let same_case = |h: &lore_index::SymbolHit| h.name == *name || h.qualname == *name;
        exact.sort_by_key(|h| {
            (
                is_test(&h.path, Some(&h.qualname)) && !about_tests,
                is_stub(&h.path),
                !same_case(h),
                search_rank(h),
                h.doc.is_none(),
                std::cmp::Reverse(h.end_line - h.start_line),
            )
        });
        // "How does a JoinHandle get its output?": a type named in a how or
        // what question is where to look, not the answer. Its members the
        // search ranked (`JoinHandle::poll`) lead; its definition follows.
        if question.intent == Intent::General
            && exact
                .first()
                .is_some_and(|h| is_type_kind(&h.kind) && !is_test(&h.path, None))
        {
            let member_of = |c: &Candidate| {
                c.evidence.at.symbol.as_deref().is_some_and(|s| {
                    let bare = name.rsplit([':', '.']).next().unwrap_or(name);
                    let parts: Vec<&str> = s.split("::").flat_map(|p| p.split('.')).collect();
                    parts[..parts.len().saturating_sub(1)].contains(&bare)
                })
            };
            let unmatched = |c: &Candidate| feature(c, Feature::Lexical).is_some_and(|v| v <= 0.0);
            let asked = asked_terms(&question.text, &exact[0].name, exact[0].doc.as_deref());
            let members: Vec<usize> = searched
                .iter()
                .take(policy.chunks)
                .enumerate()
                .filter(|(_, c)| member_of(c) && !unmatched(c))
                .map(|(i, _)| i)
                .collect();
            let symbols: Vec<Option<&str>> = members
                .iter()
                .map(|&i| searched[i].evidence.at.symbol.as_deref())
                .collect();
            let named = best_named(&symbols, &asked).map(|k| members[k]);
            // A member the question names ("polled": `poll`) wherever it
            // ranked; else the best-ranked member; the type's own file is
            // searched when the search overall did not reach one it names.
            let member = match named {
                Some(i) => Some(searched.remove(i)),
                None => {
                    let found = best_member(
                        index,
                        &mut lines,
                        &query,
                        &exact[0].path,
                        &exact[0].qualname,
                        &asked,
                    )?;
                    match (found, members.first()) {
                        (Some(m), _)
                            if asked_share(m.evidence.at.symbol.as_deref(), &asked) >= 1.0 =>
                        {
                            Some(m)
                        }
                        (_, Some(&i)) => Some(searched.remove(i)),
                        (found, None) => found,
                    }
                }
            };
            definitions.extend(member);
        }
        for (rank, hit) in exact.iter().take(MAX_DEFINITIONS).enumerate() {
            definitions.extend(definition(
                index,
                &mut lines,
                hit,
                MAX_DEFINITION_LINES,
                Source::Definition,
                rank,
            ));
        }
    }

    // Call sites, when the question asks for them.
    let mut callers = Vec::new();
    if question.intent == Intent::Callers
        && let Some(name) = names.first()
    {
        let rows = index.ref_rows(name)?;
        let calls: Vec<_> = rows.iter().filter(|r| r.kind == RefKind::Call).collect();
        let mut sites: Vec<_> = if calls.is_empty() {
            rows.iter().filter(|r| r.kind == RefKind::Use).collect()
        } else {
            calls
        };
        // The library's own callers first, then examples and docs, then tests
        // (the count covers them all).
        sites.sort_by_key(|r| {
            (
                is_test(&r.path, r.enclosing.as_deref()) && !about_tests,
                is_example(&r.path),
            )
        });
        let mut files: Vec<&str> = sites.iter().map(|r| r.path.as_str()).collect();
        files.sort_unstable();
        files.dedup();
        gathered.call_sites = Some((name.clone(), sites.len(), files.len()));
        for (rank, row) in sites.iter().take(MAX_CALLERS).enumerate() {
            let start = row.line.saturating_sub(CALL_CONTEXT).max(1);
            let Some(text) = lines.get(index, &row.path, start, row.line + CALL_CONTEXT) else {
                continue;
            };
            callers.push(Candidate {
                evidence: Evidence {
                    at: Located {
                        symbol: row.enclosing.clone(),
                        lang: row.lang.name().to_owned(),
                        ..Located::lines(
                            row.path.clone(),
                            start,
                            start + text.lines().count().max(1) as u32 - 1,
                        )
                    },
                    text,
                    score: 1.0,
                },
                source: Source::Caller,
                rank,
                features: Vec::new(),
                chosen: None,
            });
        }
    }

    // Callers first for a callers question, else definitions first; then
    // search hits, skipping what overlaps evidence already chosen.
    let ordered: Vec<Candidate> = if question.intent == Intent::Callers {
        let mut first: Vec<Candidate> = definitions.into_iter().take(1).collect();
        first.extend(callers);
        first
    } else {
        definitions.into_iter().chain(callers).collect()
    };
    for candidate in ordered.into_iter().chain(searched) {
        choose(&mut gathered, candidate, policy.chunks);
    }

    // One graph hop: definitions the best evidence calls, when they are
    // unambiguous (one definition of the name in the repository).
    if policy.graph_hops > 0 {
        let mut hop = Vec::new();
        for e in gathered.evidence.iter().take(2) {
            for (name, _) in index.calls_in(&e.at.path, e.at.start_line, e.at.end_line)? {
                if hop.len() >= 2 {
                    break;
                }
                let defs = index.symbols(&name, None, 2)?;
                if defs.len() != 1 || defs[0].matched != "exact" {
                    continue;
                }
                let rank = hop.len();
                hop.extend(definition(
                    index,
                    &mut lines,
                    &defs[0],
                    MAX_DEFINITION_LINES / 4,
                    Source::Graph,
                    rank,
                ));
            }
        }
        for candidate in hop {
            choose(&mut gathered, candidate, policy.chunks + 2);
        }
    }
    Ok(gathered)
}

/// A definition's first `max_lines` lines as a candidate; `None` if its
/// file cannot be read.
fn definition(
    index: &RepoIndex,
    lines: &mut Lines,
    hit: &lore_index::SymbolHit,
    max_lines: u32,
    source: Source,
    rank: usize,
) -> Option<Candidate> {
    let end = hit.end_line.min(hit.start_line + max_lines - 1);
    let text = lines.get(index, &hit.path, hit.start_line, end)?;
    Some(Candidate {
        evidence: Evidence {
            at: Located {
                path: hit.path.clone(),
                start_line: hit.start_line,
                end_line: hit.start_line + text.lines().count().max(1) as u32 - 1,
                symbol: Some(hit.qualname.clone()),
                kind: Some(hit.kind.clone()),
                lang: hit.lang.clone(),
                commit: None,
            },
            text,
            score: if source == Source::Graph { 0.0 } else { 1.0 },
        },
        source,
        rank,
        features: Vec::new(),
        chosen: None,
    })
}

/// A search hit that holds only the doc comment above its symbol (a long
/// doc is a chunk of its own) becomes the symbol's definition: the code is
/// what to cite, and the card and the sources then agree on the range.
fn to_definition(index: &RepoIndex, lines: &mut Lines, c: &mut Candidate) -> Result<()> {
    let e = &c.evidence;
    let Some(symbol) = e.at.symbol.as_deref() else {
        return Ok(());
    };
    // Cheap test first: the chunk ends in a comment or an attribute.
    let is_comment = |l: &str| {
        let t = l.trim_start();
        t.is_empty() || ["//", "#", "*", "/*", "@"].iter().any(|p| t.starts_with(p))
    };
    let (comments, all) = e
        .text
        .lines()
        .fold((0, 0), |(c, n), l| (c + usize::from(is_comment(l)), n + 1));
    if comments * 2 < all {
        return Ok(());
    }
    // The chunk ends before the code, or with its first lines (the
    // signature) but not its body.
    let Some(def) = index
        .definitions_in(&e.at.path, symbol)?
        .into_iter()
        .find(|h| {
            h.path == e.at.path
                && h.start_line > e.at.start_line
                && e.at.end_line < h.start_line + 3
                && h.end_line > e.at.end_line
        })
    else {
        return Ok(());
    };
    // Only when nothing but comments and attributes separate the chunk
    // from the code.
    let between = if e.at.end_line + 1 >= def.start_line {
        String::new()
    } else {
        match lines.get(index, &e.at.path, e.at.end_line + 1, def.start_line - 1) {
            Some(text) => text,
            None => return Ok(()),
        }
    };
    if !between.lines().all(is_comment) {
        return Ok(());
    }
    let end = def.end_line.min(def.start_line + MAX_DEFINITION_LINES - 1);
    if let Some(text) = lines.get(index, &def.path, def.start_line, end) {
        c.evidence.at.start_line = def.start_line;
        c.evidence.at.end_line = def.start_line + text.lines().count().max(1) as u32 - 1;
        c.evidence.text = text;
    }
    Ok(())
}

/// Lines of the smaller of two same-named definitions at most which it is
/// a thin override (`def load_middleware(self): pass`).
const THIN_LINES: u32 = 6;

/// A thin override ranked above the implementation of the same name (a
/// short chunk scores well on length-normalised matches) swaps places with
/// it: the implementation is what a "how" question is after.
fn prefer_implementations(searched: &mut [Candidate]) {
    let bare = |c: &Candidate| {
        c.evidence
            .at
            .symbol
            .as_deref()
            .map(|s| s.rsplit([':', '.']).next().unwrap_or(s).to_owned())
    };
    let span = |c: &Candidate| c.evidence.at.line_count();
    for i in 0..searched.len() {
        let Some(name) = bare(&searched[i]) else {
            continue;
        };
        if span(&searched[i]) > THIN_LINES {
            continue;
        }
        if let Some(j) = (i + 1..searched.len()).find(|&j| {
            bare(&searched[j]).as_deref() == Some(name.as_str())
                && span(&searched[j]) >= 3 * span(&searched[i])
        }) {
            searched.swap(i, j);
        }
    }
}

/// Type hits (a class or struct whose name shares a word with the
/// question) among the first few: the member of that type that does what
/// is asked, found by a search of the type's file, goes right before it.
fn members_before_types(
    index: &RepoIndex,
    lines: &mut Lines,
    query: &str,
    searched: &mut Vec<Candidate>,
) -> Result<()> {
    const LOOK_AT: usize = 3;
    let mut i = 0;
    let mut inserted = 0;
    while i < searched.len().min(LOOK_AT + inserted) {
        let c = &searched[i];
        let (Some(kind), Some(symbol)) =
            (c.evidence.at.kind.as_deref(), c.evidence.at.symbol.clone())
        else {
            i += 1;
            continue;
        };
        if !is_type_kind(kind) {
            i += 1;
            continue;
        }
        let already = |s: &Candidate| {
            s.evidence
                .at
                .symbol
                .as_deref()
                .is_some_and(|n| is_member(n, &symbol))
        };
        if searched[..i].iter().any(already) {
            i += 1;
            continue;
        }
        let path = c.evidence.at.path.clone();
        let asked = asked_terms(query, &symbol, None);
        if let Some(member) = best_member(index, lines, query, &path, &symbol, &asked)? {
            // The same chunk further down the list moves up rather than twice.
            if let Some(j) = searched.iter().position(|s| {
                s.evidence.at.path == member.evidence.at.path
                    && s.evidence.at.start_line == member.evidence.at.start_line
            }) {
                let existing = searched.remove(j);
                searched.insert(i.min(searched.len()), existing);
            } else {
                searched.insert(i, member);
            }
            inserted += 1;
            i += 2;
        } else {
            i += 1;
        }
    }
    Ok(())
}

/// The words of a question about a type that ask something of it: its
/// words less those that only describe the type — its name and the words of
/// its doc comment's first sentence ("What happens when a Sleep future is
/// polled?" asks "happens", "polled" of `Sleep`, "a future that ...").
fn asked_terms(question: &str, owner: &str, doc: Option<&str>) -> Vec<String> {
    let bare = owner.rsplit([':', '.']).next().unwrap_or(owner);
    let mut described = lore_retrieve::text::query_terms(bare);
    // The doc's first sentence says what the type is; the rest of a long
    // doc names what its members do, which is what may be asked.
    if let Some(summary) = doc.and_then(|d| d.split(". ").next()) {
        described.extend(lore_retrieve::text::query_terms(summary));
    }
    lore_retrieve::text::query_terms(question)
        .into_iter()
        .filter(|t| !described.iter().any(|d| words_match(t, d)))
        .collect()
}

/// The share of the words of `symbol`'s bare name that `asked` matches (a
/// member named by what the question asks: `poll` for "polled").
fn asked_share(symbol: Option<&str>, asked: &[String]) -> f64 {
    let Some(symbol) = symbol else {
        return 0.0;
    };
    let bare = symbol.rsplit([':', '.']).next().unwrap_or(symbol);
    lore_retrieve::text::name_match(asked, bare).precision
}

/// Index of the first symbol whose whole name the question asks for
/// (`abort` for "aborted", not `abort_handle`; `poll` for "polled").
/// A name that shares only a word with the question (`available_permits`
/// for "hand out permits") says less than the ranking does.
fn best_named(symbols: &[Option<&str>], asked: &[String]) -> Option<usize> {
    symbols
        .iter()
        .position(|symbol| asked_share(*symbol, asked) >= 1.0)
}

/// Whether `symbol` is a member of type `owner` (`Owner::name`, `Owner.name`).
fn is_member(symbol: &str, owner: &str) -> bool {
    symbol
        .strip_prefix(owner)
        .is_some_and(|rest| rest.starts_with("::") || rest.starts_with('.'))
}

/// The member of type `owner` defined in `path` that best matches the
/// question, by a search of that file alone; only one whose code matches
/// some of the question's words.
fn best_member(
    index: &RepoIndex,
    lines: &mut Lines,
    query: &str,
    path: &str,
    owner: &str,
    asked: &[String],
) -> Result<Option<Candidate>> {
    let hits = index.search(
        query,
        &SearchOptions {
            limit: 8,
            mode: SearchMode::Hybrid,
            explain: true,
            path_glob: Some(glob_escape(path)),
            max_per_file: Some(8),
            ..SearchOptions::default()
        },
    )?;
    let members: Vec<(usize, lore_index::SearchHit)> = hits
        .into_iter()
        .enumerate()
        .filter(|(_, h)| {
            h.at.symbol.as_deref().is_some_and(|s| is_member(s, owner))
                && h.explain.as_ref().is_some_and(|e| {
                    e.iter()
                        .any(|f| f.feature == Feature::Lexical && f.value > 0.0)
                })
        })
        .collect();
    let symbols: Vec<Option<&str>> = members
        .iter()
        .map(|(_, h)| h.at.symbol.as_deref())
        .collect();
    let named = best_named(&symbols, asked);
    let Some((rank, hit)) = members.into_iter().nth(named.unwrap_or(0)) else {
        return Ok(None);
    };
    let mut member = search_candidate(rank, hit);
    to_definition(index, lines, &mut member)?;
    Ok(Some(member))
}

/// A search hit as a candidate.
fn search_candidate(rank: usize, hit: lore_index::SearchHit) -> Candidate {
    Candidate {
        evidence: Evidence {
            at: hit.at,
            text: hit.text,
            score: f64::from(hit.score),
        },
        source: Source::Search,
        rank,
        features: hit.explain.unwrap_or_default(),
        chosen: None,
    }
}

/// `path` as a glob matching only itself.
fn glob_escape(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for c in path.chars() {
        if "*?[]{}!".contains(c) {
            out.push('[');
            out.push(c);
            out.push(']');
        } else {
            out.push(c);
        }
    }
    out
}

/// The value of `feature` in a search candidate's explanation.
fn feature(c: &Candidate, feature: Feature) -> Option<f64> {
    c.features
        .iter()
        .find(|f| f.feature == feature)
        .map(|f| f.value)
}

/// Kinds that name a type (whose members hold the behaviour).
fn is_type_kind(kind: &str) -> bool {
    matches!(
        kind,
        "class" | "struct" | "enum" | "trait" | "interface" | "type"
    )
}

/// Third-party code copied into the repository (`static/js/vendor/`,
/// `third_party/`): not the project's own answer to a question.
fn is_vendored(path: &str) -> bool {
    let lower = path.to_lowercase();
    lower.split('/').rev().skip(1).any(|d| {
        matches!(
            d,
            "vendor"
                | "vendors"
                | "vendored"
                | "third_party"
                | "thirdparty"
                | "third-party"
                | "external"
                | "externals"
                | "bower_components"
                | "node_modules"
        )
    })
}

/// Examples, demos, docs and benchmarks, by their directory.
fn is_example(path: &str) -> bool {
    let lower = path.to_lowercase();
    lower.split('/').rev().skip(1).any(|d| {
        matches!(
            d,
            "example"
                | "examples"
                | "sample"
                | "samples"
                | "demo"
                | "demos"
                | "docs"
                | "doc"
                | "benches"
                | "benchmarks"
                | "bench"
        )
    })
}

/// Stand-ins for real code: mocks, fakes and stubs (`fs/mocks.rs`).
fn is_stub(path: &str) -> bool {
    let lower = path.to_lowercase();
    let file = lower.rsplit('/').next().unwrap_or(&lower);
    ["mock", "fake", "stub"]
        .iter()
        .any(|w| file.starts_with(w) || lower.contains(&format!("/{w}s/")))
}

/// Whether a chunk is test code, by the usual conventions of its path
/// (`tests/`, `test_x.py`, `x_test.go`, `x.spec.ts`) or symbol (`tests::`,
/// `test_`).
pub fn is_test(path: &str, symbol: Option<&str>) -> bool {
    let lower = path.to_lowercase();
    let file = lower.rsplit('/').next().unwrap_or(&lower);
    let stem = file.split('.').next().unwrap_or(file);
    let dir_test = lower.split('/').rev().skip(1).any(|d| {
        matches!(
            d,
            "test" | "tests" | "testing" | "__tests__" | "spec" | "specs"
        )
    });
    let file_test = stem.starts_with("test_")
        || stem.ends_with("_test")
        || stem.ends_with("_tests")
        || stem == "tests"
        || stem == "test"
        || stem == "conftest"
        || file.contains(".test.")
        || file.contains(".spec.");
    let symbol_test = symbol.is_some_and(|s| {
        s.starts_with("tests::")
            || s.contains("::tests::")
            || s.rsplit(['.', ':'])
                .next()
                .is_some_and(|n| n.starts_with("test_"))
    });
    dir_test || file_test || symbol_test
}

/// Adds `candidate` to the log, and to the evidence if there is room and
/// it does not overlap evidence already chosen.
fn choose(gathered: &mut Gathered, mut candidate: Candidate, limit: usize) {
    let e = &candidate.evidence;
    let overlaps = gathered.evidence.iter().any(|o| o.at.overlaps(&e.at));
    if !overlaps && gathered.evidence.len() < limit {
        candidate.chosen = Some(gathered.evidence.len());
        gathered.evidence.push(candidate.evidence.clone());
    }
    gathered.candidates.push(candidate);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hit(symbol: &str, start: u32, end: u32) -> Candidate {
        Candidate {
            evidence: Evidence {
                at: Located {
                    symbol: Some(symbol.into()),
                    kind: Some("method".into()),
                    lang: "python".into(),
                    ..Located::lines("x.py", start, end)
                },
                text: String::new(),
                score: 1.0,
            },
            source: Source::Search,
            rank: 0,
            features: Vec::new(),
            chosen: None,
        }
    }

    #[test]
    fn a_thin_override_gives_way_to_the_implementation() {
        let mut searched = vec![
            hit("Mixin.load_middleware", 24, 27),
            hit("decorate", 40, 60),
            hit("BaseHandler.load_middleware", 100, 160),
            hit("Other.short", 1, 3),
        ];
        prefer_implementations(&mut searched);
        let order: Vec<&str> = searched
            .iter()
            .map(|c| c.evidence.at.symbol.as_deref().unwrap())
            .collect();
        assert_eq!(
            order,
            [
                "BaseHandler.load_middleware",
                "decorate",
                "Mixin.load_middleware",
                "Other.short"
            ]
        );
    }

    #[test]
    fn a_member_is_preferred_only_when_the_question_asks_for_its_whole_name() {
        let terms = |q: &str| lore_retrieve::text::query_terms(q);
        let asked = asked_terms(
            "How is a task cancelled when its JoinHandle is aborted?",
            "JoinHandle",
            Some("An owned permission to join on a task. More text about abort."),
        );
        assert!(
            !asked.iter().any(|t| t == "task" || t == "joinhandle"),
            "{asked:?}"
        );
        let members = [Some("JoinHandle::abort_handle"), Some("JoinHandle::abort")];
        assert_eq!(best_named(&members, &asked), Some(1));
        let permits = terms("How does the batch semaphore hand out permits to waiters?");
        let members = [
            Some("Semaphore::add_permits_locked"),
            Some("Semaphore::available_permits"),
        ];
        assert_eq!(best_named(&members, &permits), None);
    }

    #[test]
    fn test_code_is_recognised_by_convention() {
        for (path, symbol) in [
            ("tests/test_http.py", None),
            ("django/contrib/auth/tests/utils.py", None),
            ("pkg/client_test.go", None),
            ("src/app.spec.ts", None),
            ("src/lib.rs", Some("tests::parses_a_header")),
            ("conftest.py", None),
        ] {
            assert!(is_test(path, symbol), "{path}");
        }
        for (path, symbol) in [
            ("src/testing_utils_extra/x.rs", None),
            ("django/test/client.py", Some("Client.get")),
            ("src/contest.py", None),
            ("lib/attest.js", Some("attest")),
        ] {
            let expected = path.starts_with("django/test/");
            assert_eq!(is_test(path, symbol), expected, "{path}");
        }
    }
}
