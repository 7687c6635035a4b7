//! `lore eval`: retrieval quality and latency on a query set.
//!
//! Query sets come from a JSONL file (one `{"query": ..., "expected":
//! [{"path", "start_line", "end_line"}]}` per line) or are built from the
//! repository itself: `--from-docs` turns the first sentence of sampled
//! functions' doc comments into queries whose answer is the function. So
//! that the test measures understanding rather than string matching, those
//! doc comments are blanked out of a scratch index built only for the
//! evaluation; the real index is untouched.

use std::collections::HashMap;
use std::io::BufRead;
use std::path::Path;
use std::time::Instant;

use lore_core::{Language, SymbolKind};
use lore_retrieve::metrics::{LevelMetrics, QueryOutcome, Span, judge, percentile};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result, io};
use crate::home::Home;
use crate::pipeline::{IndexConfig, index_repo};
use crate::query::{RepoIndex, SearchMode, SearchOptions};

/// One evaluation query and where its answer is.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EvalQuery {
    /// The question or search text.
    pub query: String,
    /// Acceptable locations; a result hitting any of them counts.
    pub expected: Vec<Span>,
}

/// Reads a JSONL query set; errors name the file and line.
pub fn load_queries(path: &Path) -> Result<Vec<EvalQuery>> {
    let file = std::fs::File::open(path).map_err(io(path))?;
    let mut out = Vec::new();
    for (i, line) in std::io::BufReader::new(file).lines().enumerate() {
        let line = line.map_err(io(path))?;
        if line.trim().is_empty() {
            continue;
        }
        let query: EvalQuery = serde_json::from_str(&line).map_err(|e| {
            Error::Invalid(format!(
                "{}:{}: not an eval query ({e}); expected {{\"query\": \"...\", \"expected\": [{{\"path\": \"...\", \"start_line\": 1, \"end_line\": 2}}]}}",
                path.display(),
                i + 1
            ))
        })?;
        if query.expected.is_empty() {
            return Err(Error::Invalid(format!(
                "{}:{}: \"expected\" is empty",
                path.display(),
                i + 1
            )));
        }
        out.push(query);
    }
    Ok(out)
}

/// The first sentence of a doc comment, if it is a usable query: at least
/// three words, at most 40.
pub fn first_sentence(doc: &str) -> Option<String> {
    let paragraph = doc.split("\n\n").next()?.trim();
    // A block tag at the start of a line (`@param`, `@return` in JSDoc and
    // Javadoc) ends the description.
    let tag = paragraph.match_indices('@').find(|&(i, _)| {
        let line_start = paragraph[..i].rfind('\n').map_or(0, |n| n + 1);
        paragraph[line_start..i].trim().is_empty()
            && paragraph[i + 1..].starts_with(char::is_alphabetic)
    });
    let paragraph = match tag {
        Some((i, _)) => paragraph[..i].trim(),
        None => paragraph,
    };
    let mut end = paragraph.len();
    for (i, c) in paragraph.char_indices() {
        if matches!(c, '.' | '!' | '?') {
            let next = paragraph[i + c.len_utf8()..].chars().next();
            if next.is_none_or(char::is_whitespace) {
                end = i;
                break;
            }
        }
    }
    let words: Vec<&str> = paragraph[..end].split_whitespace().collect();
    (3..=40).contains(&words.len()).then(|| words.join(" "))
}

/// A query set built from doc comments, with the lines to hide.
#[derive(Clone, Debug, Default)]
pub struct DocQueries {
    /// The queries; each expects its function.
    pub queries: Vec<EvalQuery>,
    /// Doc comment lines to blank out, by path.
    pub masks: HashMap<String, Vec<(u32, u32)>>,
}

/// Samples up to `n` documented functions and methods, deterministically
/// (by a hash of path and name), and locates their doc comments by
/// re-parsing the files. Symbols whose file changed since indexing are
/// skipped.
pub fn queries_from_docs(index: &RepoIndex, n: usize) -> Result<DocQueries> {
    let rows = index
        .store()
        .documented_symbols(&[SymbolKind::Function, SymbolKind::Method])?;
    let mut candidates: Vec<(blake3::Hash, String, SymbolRowKey, String)> = rows
        .into_iter()
        .filter_map(|row| {
            let query = first_sentence(row.doc.as_deref()?)?;
            let key = blake3::hash(format!("{}\0{}", row.path, row.qualname).as_bytes());
            Some((
                key,
                row.path.clone(),
                SymbolRowKey {
                    qualname: row.qualname,
                    start_line: row.start_line,
                    end_line: row.end_line,
                },
                query,
            ))
        })
        .collect();
    candidates.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));

    let mut out = DocQueries::default();
    let mut parsed: HashMap<String, Option<lore_core::FileSyntax>> = HashMap::new();
    for (_, path, key, query) in candidates {
        if out.queries.len() >= n {
            break;
        }
        let syntax = parsed.entry(path.clone()).or_insert_with(|| {
            let text = std::fs::read_to_string(lore_core::path::under(index.root(), &path)).ok()?;
            Some(lore_syntax::parse(
                &text,
                Language::from_path(Path::new(&path)),
            ))
        });
        let Some(symbol) = syntax.as_ref().and_then(|s| {
            s.symbols.iter().find(|sym| {
                sym.qualname == key.qualname
                    && sym.start_line == key.start_line
                    && sym.end_line == key.end_line
            })
        }) else {
            continue;
        };
        let Some(lines) = symbol.doc_lines else {
            continue;
        };
        out.masks.entry(path.clone()).or_default().push(lines);
        out.queries.push(EvalQuery {
            query,
            expected: vec![Span {
                path,
                start_line: key.start_line,
                end_line: key.end_line,
            }],
        });
    }
    Ok(out)
}

struct SymbolRowKey {
    qualname: String,
    start_line: u32,
    end_line: u32,
}

/// Latency percentiles in milliseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct Latency {
    /// Median.
    pub p50_ms: f64,
    /// 95th percentile.
    pub p95_ms: f64,
}

/// One query's outcome in a report.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct QueryResult {
    /// The query text.
    pub query: String,
    /// Where the answer is.
    pub expected: Vec<Span>,
    /// Ranks of the first file and span hits.
    #[serde(flatten)]
    pub outcome: QueryOutcome,
    /// The first results, as `path:start-end`.
    pub top: Vec<String>,
    /// Time taken by the search.
    pub ms: f64,
}

/// What `lore eval` reports.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct EvalReport {
    /// The signals that ranked: `hybrid`, `lexical` or `vector`.
    pub mode: &'static str,
    /// Version of the ranking policy (hybrid mode).
    pub policy_version: u32,
    /// Number of queries.
    pub queries: usize,
    /// File-level metrics.
    pub file: LevelMetrics,
    /// Span-level metrics.
    pub span: LevelMetrics,
    /// Search latency.
    pub latency: Latency,
    /// Per query.
    pub results: Vec<QueryResult>,
}

/// Runs every query against `index` (top 10) in `mode` and computes the
/// metrics.
pub fn evaluate(index: &RepoIndex, queries: &[EvalQuery], mode: SearchMode) -> Result<EvalReport> {
    let options = SearchOptions {
        limit: 10,
        mode,
        ..SearchOptions::default()
    };
    let mut results = Vec::with_capacity(queries.len());
    for q in queries {
        let started = Instant::now();
        let hits = index.search(&q.query, &options)?;
        let ms = started.elapsed().as_secs_f64() * 1e3;
        let spans: Vec<Span> = hits
            .iter()
            .map(|h| Span {
                path: h.at.path.clone(),
                start_line: h.at.start_line,
                end_line: h.at.end_line,
            })
            .collect();
        results.push(QueryResult {
            query: q.query.clone(),
            expected: q.expected.clone(),
            outcome: judge(&spans, &q.expected),
            top: spans
                .iter()
                .take(3)
                .map(|s| format!("{}:{}-{}", s.path, s.start_line, s.end_line))
                .collect(),
            ms,
        });
    }
    let latencies: Vec<f64> = results.iter().map(|r| r.ms).collect();
    Ok(EvalReport {
        mode: mode.name(),
        policy_version: index.policy().version,
        queries: results.len(),
        file: LevelMetrics::from_ranks(results.iter().map(|r| r.outcome.file_rank)),
        span: LevelMetrics::from_ranks(results.iter().map(|r| r.outcome.span_rank)),
        latency: Latency {
            p50_ms: percentile(&latencies, 50.0),
            p95_ms: percentile(&latencies, 95.0),
        },
        results,
    })
}

/// `lore eval --from-history`: up to `n` recent commits as queries — the
/// subject is the question, the lines the commit changed are the answer.
/// Only hunks still valid at HEAD (the file unchanged since) and in
/// indexed files count; merges, commits touching more than 20 files and
/// subjects under three words are left out.
pub fn queries_from_history(index: &RepoIndex, n: usize) -> Result<Vec<EvalQuery>> {
    let root = index.root();
    let commits = lore_git::commit_hunks(root, (n * 20).clamp(200, 20_000), 20)?
        .ok_or_else(|| Error::Invalid(format!("{}: not a git repository", root.display())))?;
    let indexed: std::collections::HashSet<String> = index.store().paths()?.into_iter().collect();
    let mut queries = Vec::new();
    for commit in commits {
        if commit.subject.split_whitespace().count() < 3 || commit.subject.starts_with("Merge ") {
            continue;
        }
        let expected: Vec<Span> = commit
            .hunks
            .into_iter()
            .filter(|(path, _, _)| indexed.contains(path))
            .map(|(path, start_line, end_line)| Span {
                path,
                start_line,
                end_line,
            })
            .collect();
        if expected.is_empty() {
            continue;
        }
        queries.push(EvalQuery {
            query: commit.subject,
            expected,
        });
        if queries.len() == n {
            break;
        }
    }
    Ok(queries)
}

/// Writes, per query, every hybrid candidate with its feature values and
/// whether it is expected (JSONL): the data to fit a ranking policy on.
pub fn write_features(index: &RepoIndex, queries: &[EvalQuery], path: &Path) -> Result<()> {
    use std::io::Write;
    let file = std::fs::File::create(path).map_err(io(path))?;
    let mut out = std::io::BufWriter::new(file);
    let options = SearchOptions {
        all_features: true,
        ..SearchOptions::default()
    };
    for q in queries {
        let candidates = index.candidates(&q.query, &options)?;
        let mut ids: Vec<u64> = candidates.chunks.keys().copied().collect();
        ids.sort_unstable();
        let rows: Vec<serde_json::Value> = ids
            .iter()
            .map(|id| {
                let c = &candidates.chunks[id];
                let span = Span {
                    path: c.path.to_string(),
                    start_line: c.start_line,
                    end_line: c.end_line,
                };
                let expected = judge(std::slice::from_ref(&span), &q.expected)
                    .span_rank
                    .is_some();
                let features: serde_json::Map<String, serde_json::Value> = candidates
                    .features
                    .get(id)
                    .map(|f| {
                        f.iter()
                            .map(|(k, v)| (k.name().to_owned(), v.into()))
                            .collect()
                    })
                    .unwrap_or_default();
                serde_json::json!({
                    "path": &*c.path, "start_line": c.start_line, "end_line": c.end_line,
                    "expected": expected, "features": features,
                })
            })
            .collect();
        let line = serde_json::json!({"query": q.query, "candidates": rows});
        writeln!(out, "{line}").map_err(io(path))?;
    }
    out.flush().map_err(io(path))?;
    Ok(())
}

/// `lore eval --from-docs`: samples `n` documented functions of the
/// repository at `root` (already indexed in `home`), builds a scratch index
/// with their doc comments blanked out, and evaluates on it in each mode.
pub fn evaluate_from_docs(
    home: &Home,
    root: &Path,
    n: usize,
    modes: &[SearchMode],
    features: Option<&Path>,
) -> Result<Vec<EvalReport>> {
    let index = RepoIndex::open(home, root)?;
    let docs = queries_from_docs(&index, n)?;
    if docs.queries.is_empty() {
        return Err(Error::Invalid(format!(
            "{}: no documented functions to build queries from",
            root.display()
        )));
    }
    let _span = tracing::info_span!("eval_index", queries = docs.queries.len()).entered();
    let masked = masked_index(home, &index, docs.masks)?;
    let masked = &masked.index;
    if let Some(path) = features {
        write_features(masked, &docs.queries, path)?;
    }
    modes
        .iter()
        .map(|&mode| evaluate(masked, &docs.queries, mode))
        .collect()
}

/// A scratch index of `index`'s repository with the `masks` lines blanked
/// (its docs, for doc queries), removed with its directory when dropped.
pub(crate) struct Masked {
    _dir: tempfile::TempDir,
    /// The scratch index.
    pub index: RepoIndex,
}

/// Indexes `index`'s repository again in a scratch home with `masks`
/// blanked, with the same transformer embedder (the shared cache holds
/// the vectors of every chunk the masks did not change) and the same
/// retrieval policies (so it ranks as the repository does).
pub(crate) fn masked_index(
    home: &Home,
    index: &RepoIndex,
    masks: HashMap<String, Vec<(u32, u32)>>,
) -> Result<Masked> {
    let dir = tempfile::Builder::new()
        .prefix("masked-")
        .tempdir_in(home.path())
        .map_err(io(home.path()))?;
    let scratch_home = Home::at(dir.path());
    let config = IndexConfig {
        masks,
        ..IndexConfig::default()
    };
    index_repo(&scratch_home, index.root(), &config, &())?;
    let spec = crate::dense::recorded_spec(index.store())?;
    if !spec.is_learned() {
        crate::dense::set_embedder(&scratch_home, index.root(), &spec)?;
        let options = crate::dense::DenseOptions {
            cache: Some(home.embedding_cache()),
            ..Default::default()
        };
        crate::dense::embed_dense(&scratch_home, index.root(), &options, &|_, _| {})?;
    }
    // The policies, and the translation tables saved with them.
    let to_dir = scratch_home.layout(index.root()).dir().to_owned();
    for entry in std::fs::read_dir(index.data_dir())
        .into_iter()
        .flatten()
        .flatten()
    {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name == crate::policy::FILE
            || (name.starts_with("translation-v") && name.ends_with(".json"))
        {
            let to = to_dir.join(&name);
            std::fs::copy(entry.path(), &to).map_err(io(&to))?;
        }
    }
    let index = RepoIndex::open(&scratch_home, index.root())?;
    Ok(Masked { _dir: dir, index })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_sentences() {
        assert_eq!(
            first_sentence("Return the user's full name.\n\nMore text.").as_deref(),
            Some("Return the user's full name")
        );
        assert_eq!(
            first_sentence("Send a request, retrying on\nfailure. Then stop.").as_deref(),
            Some("Send a request, retrying on failure")
        );
        // Dots inside words do not end a sentence.
        assert_eq!(
            first_sentence("Parse a version like 1.2.3 into parts").as_deref(),
            Some("Parse a version like 1.2.3 into parts")
        );
        assert_eq!(first_sentence("Too short."), None);
        // JSDoc and Javadoc block tags end the description.
        assert_eq!(
            first_sentence("Report the error message\n@param {ASTNode} node node to report")
                .as_deref(),
            Some("Report the error message")
        );
        assert_eq!(
            first_sentence("Wrap it with\n @cached and a@b.org too").as_deref(),
            Some("Wrap it with")
        );
        assert_eq!(
            first_sentence("Apply the @cached decorator to a@b.org").as_deref(),
            Some("Apply the @cached decorator to a@b.org")
        );
        assert_eq!(first_sentence(""), None);
    }
}
