//! Lore over the Model Context Protocol (`lore mcp`), for agents and IDEs.
//!
//! One repository per server process (the one `lore mcp` is started in, or
//! `--repo`). Every tool answers with `structuredContent` whose locations
//! carry a `citation` string `path:start-end` (or `path:line`) at the
//! `commit` of the index, and with the same JSON as text for clients that
//! read only text. Long lists are paginated with `offset`/`limit` and a
//! `next_offset` in the result.
//!
//! Tools run on blocking threads; the open index is reopened when a newer
//! generation has been committed (e.g. by `lore index` in a terminal).

use std::path::PathBuf;
use std::sync::Arc;

use lore_ask::{AskRequest, Asker, Thread};
use lore_core::{Located, SymbolKind};
use lore_index::registry::Registry;
use lore_index::{Home, MapOptions, RepoIndex, SearchOptions, SymbolHit};
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{CallToolResult, ContentBlock};
use rmcp::{ErrorData, ServerHandler, ServiceExt, schemars, tool, tool_handler, tool_router};
use serde::Deserialize;
use serde_json::{Value, json};

/// `value` with a `citation` (`path:start-end`, or `path:line`) when it
/// names a place, and the same for each place it lists.
fn cited(mut value: Value) -> Value {
    fn cite(v: &mut Value) {
        let Some(path) = v["path"].as_str().map(str::to_owned) else {
            return;
        };
        let start = v["start_line"].as_u64().or_else(|| v["line"].as_u64());
        let end = v["end_line"].as_u64();
        if let Some(start) = start {
            v["citation"] = json!(match end {
                Some(end) if end != start => format!("{path}:{start}-{end}"),
                _ => format!("{path}:{start}"),
            });
        }
    }
    cite(&mut value);
    for key in ["callers", "tests"] {
        if let Some(list) = value[key].as_array_mut() {
            list.iter_mut().for_each(cite);
        }
    }
    value
}

/// Default page size.
const PAGE: usize = 20;
/// Largest page.
const MAX_PAGE: usize = 200;

/// An answer and the files it cited.
type Cited = (i64, Vec<String>);

/// The MCP server of one repository.
#[derive(Clone)]
pub struct LoreMcp {
    home: Home,
    root: PathBuf,
    no_llm: bool,
    /// Open snapshots, reopened when a newer generation is committed (the
    /// same registry the HTTP server uses).
    registry: Arc<Registry>,
    id: String,
    /// The last answer given and the files it cited: reading one of them
    /// next (outline, dossier) is the implicit signal `read-cited`, once.
    last_answer: Arc<std::sync::Mutex<Option<Cited>>>,
}

impl std::fmt::Debug for LoreMcp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoreMcp").field("root", &self.root).finish()
    }
}

/// Serves `root`'s index over stdin/stdout until the client disconnects.
///
/// Lines from the client pass through [`check_line`] first: a line that is
/// not JSON gets a JSON-RPC parse error (-32700), one that is not a JSON-RPC
/// message an invalid-request error (-32600), and the session goes on — a
/// bad line, even the first, never ends it.
pub async fn serve_stdio(home: Home, root: PathBuf, no_llm: bool) -> std::io::Result<()> {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

    let server = LoreMcp::new(home, root, no_llm);
    let (ours, theirs) = tokio::io::duplex(1 << 16);
    let (from_server, mut to_server) = tokio::io::split(ours);
    let (lines_out, mut lines_in) = tokio::sync::mpsc::channel::<String>(64);

    // One writer owns stdout, so replies of rmcp and of the filter never
    // interleave within a line.
    let writer = tokio::spawn(async move {
        let mut stdout = tokio::io::stdout();
        while let Some(line) = lines_in.recv().await {
            stdout.write_all(line.as_bytes()).await?;
            stdout.write_all(b"\n").await?;
            stdout.flush().await?;
        }
        Ok::<_, std::io::Error>(())
    });
    let replies = lines_out.clone();
    let relay = tokio::spawn(async move {
        let mut lines = BufReader::new(from_server).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            if replies.send(line).await.is_err() {
                break;
            }
        }
    });
    let reader = tokio::spawn(async move {
        let mut lines = BufReader::new(tokio::io::stdin()).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            match check_line(&line) {
                LineCheck::Forward => {
                    to_server.write_all(line.as_bytes()).await?;
                    to_server.write_all(b"\n").await?;
                }
                LineCheck::Reply(reply) => {
                    tracing::warn!(%reply, "refused a client line");
                    if lines_out.send(reply).await.is_err() {
                        break;
                    }
                }
                LineCheck::Skip => {}
            }
        }
        // End of input: closing our end tells rmcp the client is gone.
        to_server.shutdown().await
    });

    let running = server
        .serve(tokio::io::split(theirs))
        .await
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    running
        .waiting()
        .await
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    reader.abort();
    let _ = relay.await;
    writer.await.map_err(std::io::Error::other)??;
    Ok(())
}

/// What to do with one line a client sent.
#[derive(Debug, PartialEq)]
pub enum LineCheck {
    /// A JSON-RPC message: hand it to the protocol.
    Forward,
    /// Not one: send this error response instead.
    Reply(String),
    /// A blank line.
    Skip,
}

/// Checks one line of the stdio transport (JSON-RPC 2.0, one message per
/// line) before the protocol sees it.
pub fn check_line(line: &str) -> LineCheck {
    if line.trim().is_empty() {
        return LineCheck::Skip;
    }
    let error = |id: &Value, code: i64, message: String| {
        LineCheck::Reply(
            json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}})
                .to_string(),
        )
    };
    let value: Value = match serde_json::from_str(line) {
        Ok(value) => value,
        Err(e) => return error(&Value::Null, -32700, format!("parse error: {e}")),
    };
    let id = match value.get("id") {
        Some(id @ (Value::Number(_) | Value::String(_))) => id.clone(),
        _ => Value::Null,
    };
    let Some(object) = value.as_object() else {
        return error(
            &id,
            -32600,
            "invalid request: expected one JSON-RPC 2.0 message (an object) per line".into(),
        );
    };
    if object.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
        return error(
            &id,
            -32600,
            "invalid request: `jsonrpc` must be \"2.0\"".into(),
        );
    }
    let is_message = object.get("method").is_some_and(Value::is_string)
        || object.contains_key("result")
        || object.contains_key("error");
    if !is_message {
        return error(
            &id,
            -32600,
            "invalid request: a message needs a string `method` (or `result`/`error`)".into(),
        );
    }
    LineCheck::Forward
}

/// Page parameters shared by list tools.
fn page(offset: Option<usize>, limit: Option<usize>) -> (usize, usize) {
    (
        offset.unwrap_or(0),
        limit.unwrap_or(PAGE).clamp(1, MAX_PAGE),
    )
}

/// `items[offset..offset+limit]` and the next offset if more remain.
fn paginate<T>(items: Vec<T>, offset: usize, limit: usize) -> (Vec<T>, Option<usize>) {
    let total = items.len();
    let next = (offset + limit < total).then_some(offset + limit);
    (items.into_iter().skip(offset).take(limit).collect(), next)
}

/// A located piece of code as MCP clients get it: the shared record's
/// fields plus its `citation` (`path:a-b`).
fn located_json(at: &Located) -> Value {
    let mut value = json!(at);
    value["citation"] = json!(at.citation());
    value
}

fn symbol_json(s: &SymbolHit) -> Value {
    json!({
        "citation": lore_core::cite(&s.path, s.start_line, s.end_line),
        "name": s.name,
        "qualname": s.qualname,
        "kind": s.kind,
        "path": s.path,
        "start_line": s.start_line,
        "end_line": s.end_line,
        "signature": s.signature,
        "doc": s.doc,
        "lang": s.lang,
        "matched": s.matched,
        "children": s.children.iter().map(symbol_json).collect::<Vec<_>>(),
    })
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
struct SearchParams {
    /// Words, identifiers or a question.
    query: String,
    /// Results per page (default 20, at most 200).
    limit: Option<usize>,
    /// Results to skip (from `next_offset` of the previous page).
    offset: Option<usize>,
    /// Only these languages, e.g. ["python"].
    #[serde(default)]
    langs: Vec<String>,
    /// Only paths matching this glob, e.g. "src/**/*.rs".
    path: Option<String>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
struct SymbolsParams {
    /// A symbol name: exact, else prefix, else fuzzy matches.
    name: String,
    /// Only this kind: function, method, class, struct, enum, trait, interface, module, …
    kind: Option<String>,
    /// Results per page (default 20).
    limit: Option<usize>,
    /// Results to skip.
    offset: Option<usize>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
struct RefsParams {
    /// The name referenced or called.
    name: String,
    /// Results per page (default 20).
    limit: Option<usize>,
    /// Results to skip.
    offset: Option<usize>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
struct OutlineParams {
    /// A file path relative to the repository root.
    path: String,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
struct CardParams {
    /// A function or method: `name`, `Class.method` or `path:name`.
    symbol: String,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
struct ImpactParams {
    /// A symbol (`name`, `Class.method`, `path:name`), a file path, or a
    /// commit range (`FROM..TO`).
    target: String,
    /// Caller hops to follow (default 2, at most 6).
    depth: Option<u32>,
    /// Files listed at most (default 20).
    limit: Option<usize>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
struct DiagnoseParams {
    /// The symptom: an error message, an exception, a log line, a stack
    /// trace, or plain words.
    symptom: String,
    /// Places listed at most (default 10).
    limit: Option<usize>,
    /// Also have the configured provider write a hypothesis over the
    /// places, its citations verified (`hypothesis` in the result; null
    /// without a provider).
    #[serde(default)]
    hypothesis: bool,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
struct ReviewParams {
    /// `FROM..TO` or one commit (default `HEAD`: the last commit).
    range: Option<String>,
    /// Review the staged changes instead of a range.
    staged: Option<bool>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
struct DossierParams {
    /// A file or directory relative to the repository root (`.` for the
    /// root).
    path: String,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
struct RisksParams {
    /// `file` (default) or `function`.
    level: Option<String>,
    /// The N riskiest (default 20, at most 200).
    limit: Option<usize>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
struct FindingsParams {
    /// Only this severity or higher: low, medium or high.
    severity: Option<String>,
    /// Only files under this path.
    path: Option<String>,
    /// Items to skip (default 0).
    offset: Option<usize>,
    /// Items to return (default 20, at most 200).
    limit: Option<usize>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
struct InsightsParams {
    /// Only this kind: change, hotspot, entry-points, broken-reference.
    kind: Option<String>,
    /// Only this status: new, read or dismissed.
    status: Option<String>,
    /// Items to skip (default 0).
    offset: Option<usize>,
    /// Items to return (default 20, at most 200).
    limit: Option<usize>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
struct AskParams {
    /// The question about the code.
    question: String,
    /// Continue this conversation (from a previous answer's `conversation_id`).
    conversation_id: Option<i64>,
    /// Answer from the evidence alone, without a language model.
    #[serde(default)]
    no_llm: bool,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
struct FeedbackParams {
    /// The answer (`answer_id` of `ask`).
    answer_id: i64,
    /// `up` or `down`.
    verdict: Option<String>,
    /// A note on the answer.
    note: Option<String>,
    /// Where the answer should have pointed: `PATH:START-END` each.
    #[serde(default)]
    correct: Vec<String>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
struct MapParams {
    /// Token budget of the map (default 1024).
    tokens: Option<usize>,
    /// A path or symbol name to centre the map on.
    focus: Option<String>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
struct StatusParams {}

/// A tool's outcome: structured JSON, or an error the caller should see.
fn done(result: Result<Value, String>) -> Result<CallToolResult, ErrorData> {
    Ok(match result {
        Ok(value) => CallToolResult::structured(value),
        Err(message) => CallToolResult::error(vec![ContentBlock::text(message)]),
    })
}

impl LoreMcp {
    /// A server for the repository at `root`.
    pub fn new(home: Home, root: PathBuf, no_llm: bool) -> LoreMcp {
        let registry = Registry::new(home.clone());
        let root = root.canonicalize().unwrap_or(root);
        let id = registry.id_of(&root);
        LoreMcp {
            home,
            root,
            no_llm,
            registry: Arc::new(registry),
            id,
            last_answer: Arc::default(),
        }
    }

    /// Records `read-cited` when `path` is a file the last answer cited
    /// (then forgets the answer: the signal counts once).
    fn note_read(&self, index: &RepoIndex, path: &str) {
        let mut last = self.last_answer.lock().unwrap_or_else(|e| e.into_inner());
        let Some((answer, cited)) = last.as_ref() else {
            return;
        };
        if !cited
            .iter()
            .any(|c| c == path || c.starts_with(&format!("{path}/")))
        {
            return;
        }
        let given = lore_ask::feedback::Given {
            answer: *answer,
            signal: lore_learn::reward::Signal::ReadCited,
            note: None,
            correct: Vec::new(),
            user: format!("{}/mcp", lore_ask::feedback::local_user()),
        };
        if let Err(e) = lore_ask::feedback::give(index.data_dir(), &given) {
            tracing::warn!("read-cited on answer {answer}: {e}");
        }
        *last = None;
    }

    /// Runs `f` with the current index on a blocking thread.
    async fn with_index(
        &self,
        f: impl FnOnce(&RepoIndex) -> Result<Value, String> + Send + 'static,
    ) -> Result<CallToolResult, ErrorData> {
        let this = self.clone();
        let result = tokio::task::spawn_blocking(move || {
            if this.registry.get(&this.id).is_err() {
                this.registry
                    .register(&this.root)
                    .map_err(|e| e.to_string())?;
            }
            let index = this.registry.lease(&this.id).map_err(|e| e.to_string())?;
            f(&index)
        })
        .await
        .map_err(|e| ErrorData::internal_error(format!("tool task failed: {e}"), None))?;
        done(result)
    }
}

#[tool_router]
impl LoreMcp {
    /// Search the repository's code and docs (lexical + vectors + symbols +
    /// graph). Returns ranked chunks with `citation` (path:start-end) and the
    /// best-matching lines.
    #[tool(annotations(read_only_hint = true))]
    async fn search(
        &self,
        Parameters(p): Parameters<SearchParams>,
    ) -> Result<CallToolResult, ErrorData> {
        let (offset, limit) = page(p.offset, p.limit);
        self.with_index(move |index| {
            let langs = p
                .langs
                .iter()
                .map(|l| lore_core::Language::from_name(l).ok_or(format!("unknown language {l:?}")))
                .collect::<Result<Vec<_>, _>>()?;
            let options = SearchOptions {
                limit: offset + limit + 1,
                langs,
                path_glob: p.path.filter(|g| !g.is_empty()),
                ..SearchOptions::default()
            };
            let hits = index
                .search(&p.query, &options)
                .map_err(|e| e.to_string())?;
            let (hits, next) = paginate(hits, offset, limit);
            Ok(json!({
                "commit": index.indexed_commit(),
                "hits": hits.iter().map(|h| {
                    let mut hit = located_json(&h.at);
                    hit["score"] = json!(h.score);
                    hit["snippet"] = json!(h.snippet);
                    hit
                }).collect::<Vec<_>>(),
                "next_offset": next,
            }))
        })
        .await
    }

    /// Find definitions by name (exact, then prefix, then fuzzy), with
    /// signature, doc and `citation`.
    #[tool(annotations(read_only_hint = true))]
    async fn symbols(
        &self,
        Parameters(p): Parameters<SymbolsParams>,
    ) -> Result<CallToolResult, ErrorData> {
        let (offset, limit) = page(p.offset, p.limit);
        self.with_index(move |index| {
            let kind = match p.kind.as_deref() {
                Some(k) => Some(SymbolKind::from_name(k).ok_or(format!("unknown kind {k:?}"))?),
                None => None,
            };
            let hits = index
                .symbols(&p.name, kind, offset + limit + 1)
                .map_err(|e| e.to_string())?;
            let (hits, next) = paginate(hits, offset, limit);
            Ok(json!({
                "commit": index.indexed_commit(),
                "symbols": hits.iter().map(symbol_json).collect::<Vec<_>>(),
                "next_offset": next,
            }))
        })
        .await
    }

    /// Find references and call sites of a name: each with `citation`
    /// (path:line), kind (call, use, import), the enclosing symbol and the line.
    #[tool(annotations(read_only_hint = true))]
    async fn refs(
        &self,
        Parameters(p): Parameters<RefsParams>,
    ) -> Result<CallToolResult, ErrorData> {
        let (offset, limit) = page(p.offset, p.limit);
        self.with_index(move |index| {
            let refs = index.refs(&p.name).map_err(|e| e.to_string())?;
            let total = refs.len();
            let (refs, next) = paginate(refs, offset, limit);
            Ok(json!({
                "commit": index.indexed_commit(),
                "total": total,
                "refs": refs.iter().map(|r| json!({
                    "citation": lore_core::cite(&r.path, r.line, r.line),
                    "path": r.path,
                    "line": r.line,
                    "kind": r.kind,
                    "symbol": r.symbol,
                    "text": r.text,
                })).collect::<Vec<_>>(),
                "next_offset": next,
            }))
        })
        .await
    }

    /// A file's symbols as a tree (classes with their methods), each with
    /// `citation`.
    #[tool(annotations(read_only_hint = true))]
    async fn outline(
        &self,
        Parameters(p): Parameters<OutlineParams>,
    ) -> Result<CallToolResult, ErrorData> {
        let this = self.clone();
        self.with_index(move |index| {
            this.note_read(index, &p.path);
            let symbols = index.outline(&p.path).map_err(|e| e.to_string())?;
            Ok(json!({
                "commit": index.indexed_commit(),
                "path": p.path,
                "symbols": symbols.iter().map(symbol_json).collect::<Vec<_>>(),
            }))
        })
        .await
    }

    /// Ask a question about the code. The answer cites evidence as [n];
    /// every citation was checked against the evidence and is listed with
    /// path, lines and commit. Without a configured model the answer is
    /// built from the evidence alone.
    #[tool]
    async fn ask(&self, Parameters(p): Parameters<AskParams>) -> Result<CallToolResult, ErrorData> {
        let home = self.home.path().to_owned();
        let no_llm = p.no_llm || self.no_llm;
        let last = self.last_answer.clone();
        self.with_index(move |index| {
            let thread = p.conversation_id.map_or(Thread::New, Thread::Id);
            let mut asker = Asker::open(&home, index, thread).map_err(|e| e.to_string())?;
            let request = AskRequest {
                no_llm,
                user: Some(format!("{}/mcp", lore_ask::feedback::local_user())),
                ..AskRequest::default()
            };
            let asked = asker
                .ask(index, &p.question, &request, &mut |_| {})
                .map_err(|e| e.to_string())?;
            let mut value = asked.to_json(asker.conversation());
            value["conversation_id"] = json!(asker.conversation());
            if let Some(id) = value["answer_id"].as_i64() {
                let cited = asked
                    .answer
                    .citations
                    .iter()
                    .map(|c| c.at.path.clone())
                    .collect();
                *last.lock().unwrap_or_else(|e| e.into_inner()) = Some((id, cited));
            }
            if let Some(citations) = value["citations"].as_array_mut() {
                for (c, cited) in citations.iter_mut().zip(&asked.answer.citations) {
                    c["citation"] = json!(cited.at.citation());
                }
            }
            Ok(value)
        })
        .await
    }

    /// Say how good an answer was: `up` or `down`, a note, and where it
    /// should have cited (`PATH:START-END`). Lore learns from it; returns
    /// the answer's reward.
    #[tool]
    async fn feedback(
        &self,
        Parameters(p): Parameters<FeedbackParams>,
    ) -> Result<CallToolResult, ErrorData> {
        use lore_ask::feedback::{Given, Place};
        use lore_learn::reward::Signal;
        let invalid = |m: String| ErrorData::invalid_params(m, None);
        let correct = p
            .correct
            .iter()
            .map(|c| Place::parse(c))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| invalid(e.to_string()))?;
        let signal = match p.verdict.as_deref() {
            Some("up") => Signal::Up,
            Some("down") => Signal::Down,
            Some(other) => return Err(invalid(format!("verdict {other:?}: expected up or down"))),
            None if !correct.is_empty() => Signal::Correct,
            None if p.note.is_some() => Signal::Note,
            None => {
                return Err(invalid(
                    "give a verdict (up or down), a note, or a correction".into(),
                ));
            }
        };
        let user = format!("{}/mcp", lore_ask::feedback::local_user());
        self.with_index(move |index| {
            let given = Given {
                answer: p.answer_id,
                signal,
                note: p.note.clone(),
                correct,
                user,
            };
            let recorded =
                lore_ask::feedback::give(index.data_dir(), &given).map_err(|e| e.to_string())?;
            serde_json::to_value(&recorded).map_err(|e| e.to_string())
        })
        .await
    }

    /// A ranked map of the repository (files and their most important
    /// symbols by PageRank over references) that fits a token budget.
    #[tool(annotations(read_only_hint = true))]
    async fn repo_map(
        &self,
        Parameters(p): Parameters<MapParams>,
    ) -> Result<CallToolResult, ErrorData> {
        self.with_index(move |index| {
            let map = index
                .map(&MapOptions {
                    tokens: p.tokens.unwrap_or(1024).clamp(64, 32_768),
                    focus: p.focus,
                })
                .map_err(|e| e.to_string())?;
            let mut value = serde_json::to_value(&map).map_err(|e| e.to_string())?;
            value["commit"] = json!(index.indexed_commit());
            Ok(value)
        })
        .await
    }

    /// A function's card: signature, doc, callers (with `citation`s),
    /// callees, complexity, churn, owners, tests; `stale` when the code
    /// moved since it was written.
    #[tool(annotations(read_only_hint = true))]
    async fn card(
        &self,
        Parameters(p): Parameters<CardParams>,
    ) -> Result<CallToolResult, ErrorData> {
        let (home, id) = (self.home.clone(), self.id.clone());
        self.with_index(move |index| {
            let queue =
                lore_store::SqliteJobs::open(&home.thinker_db()).map_err(|e| e.to_string())?;
            let cards = lore_index::thoughts::read::cards(index, &queue, &id, &p.symbol)
                .map_err(|e| e.to_string())?;
            let cards: Vec<Value> = cards.into_iter().map(cited).collect();
            Ok(json!({ "commit": index.indexed_commit(), "cards": cards }))
        })
        .await
    }

    /// What else may have to change if a symbol, file or commit range
    /// changes: files ranked likeliest first with reasons (callers and
    /// importers found by resolved imports or by name only, files changed
    /// together in past commits, tests named for it), the symbols that use
    /// it with their distance and edge label (`resolved`, `name-only`),
    /// the tests that exercise it, and what the graph cannot know.
    #[tool(annotations(read_only_hint = true))]
    async fn impact(
        &self,
        Parameters(p): Parameters<ImpactParams>,
    ) -> Result<CallToolResult, ErrorData> {
        let opts = lore_index::impact::ImpactOptions {
            depth: p.depth.unwrap_or(2).clamp(1, 6),
            limit: p.limit.unwrap_or(20).clamp(1, 200),
        };
        self.with_index(move |index| {
            let result =
                lore_index::impact::impact(index, &p.target, &opts).map_err(|e| e.to_string())?;
            let mut v = serde_json::to_value(&result).map_err(|e| e.to_string())?;
            if let Some(symbols) = v["symbols"].as_array_mut() {
                for s in symbols {
                    s["citation"] = Value::from(format!(
                        "{}:{}-{}",
                        s["path"].as_str().unwrap_or(""),
                        s["start_line"],
                        s["end_line"]
                    ));
                }
            }
            Ok(v)
        })
        .await
    }

    /// Where to look for the bug behind a symptom: places ranked likeliest
    /// first, each with a `citation` and its evidence (literal matches and
    /// raise sites, definitions of the names it mentions, stack frames,
    /// search rank, past commits that read like it, past fixes and recent
    /// changes of the file).
    #[tool(annotations(read_only_hint = true))]
    async fn diagnose(
        &self,
        Parameters(p): Parameters<DiagnoseParams>,
    ) -> Result<CallToolResult, ErrorData> {
        let opts = lore_index::diagnose::DiagnoseOptions {
            limit: p.limit.unwrap_or(10).clamp(1, 100),
        };
        let home = self.home.path().to_owned();
        let no_llm = self.no_llm;
        self.with_index(move |index| {
            let places = lore_index::diagnose::diagnose(index, &p.symptom, &opts)
                .map_err(|e| e.to_string())?;
            let items: Vec<Value> = places
                .iter()
                .map(|pl| {
                    let mut v = serde_json::to_value(pl).unwrap_or_default();
                    v["citation"] =
                        Value::from(format!("{}:{}-{}", pl.path, pl.start_line, pl.end_line));
                    v
                })
                .collect();
            let mut out = json!({ "commit": index.indexed_commit(), "places": items });
            if p.hypothesis {
                out["hypothesis"] = hypothesis(&home, index, &p.symptom, &places, no_llm);
            }
            Ok(out)
        })
        .await
    }

    /// Review a change (a commit range, or the staged changes): Lore's
    /// rules on the lines it added, each finding with a rule id, severity,
    /// message, fix hint and `citation`; findings like ones people
    /// dismissed are left out (`suppressed` counts them).
    #[tool(annotations(read_only_hint = true))]
    async fn review(
        &self,
        Parameters(p): Parameters<ReviewParams>,
    ) -> Result<CallToolResult, ErrorData> {
        let change = if p.staged.unwrap_or(false) {
            lore_index::review::Change::Staged
        } else {
            lore_index::review::Change::parse(p.range.as_deref().unwrap_or("HEAD"))
                .map_err(|e| ErrorData::invalid_params(e.to_string(), None))?
        };
        let (home, id) = (self.home.clone(), self.id.clone());
        let no_llm = self.no_llm;
        self.with_index(move |index| {
            let config = lore_index::findings::SmellConfig::load(&home.config_file(), index.root())
                .map_err(|e| e.to_string())?;
            let queue =
                lore_store::SqliteJobs::open(&home.thinker_db()).map_err(|e| e.to_string())?;
            let dismissed =
                lore_index::findings::dismissed(&queue, &id).map_err(|e| e.to_string())?;
            let mut result = lore_index::review::review(index, &change, &config, &dismissed)
                .map_err(|e| e.to_string())?;
            if !no_llm {
                lore_ask::written::review_comments(
                    home.path(),
                    index,
                    &change,
                    &config,
                    &dismissed,
                    &mut result,
                )
                .map_err(|e| e.to_string())?;
            }
            let mut v = serde_json::to_value(&result).map_err(|e| e.to_string())?;
            if let Some(items) = v["findings"].as_array_mut() {
                for f in items {
                    f["citation"] = Value::from(format!(
                        "{}:{}-{}",
                        f["path"].as_str().unwrap_or(""),
                        f["start_line"],
                        f["end_line"]
                    ));
                }
            }
            Ok(v)
        })
        .await
    }

    /// A module's dossier (a file or a directory): purpose, public API,
    /// dependencies, dependents, hot spots.
    #[tool(annotations(read_only_hint = true))]
    async fn dossier(
        &self,
        Parameters(p): Parameters<DossierParams>,
    ) -> Result<CallToolResult, ErrorData> {
        let (home, id) = (self.home.clone(), self.id.clone());
        let this = self.clone();
        self.with_index(move |index| {
            this.note_read(index, &p.path);
            let queue =
                lore_store::SqliteJobs::open(&home.thinker_db()).map_err(|e| e.to_string())?;
            lore_index::thoughts::read::dossier(index, &queue, &id, &p.path)
                .map_err(|e| e.to_string())
        })
        .await
    }

    /// Where the next bug is likely to be: files (or functions) ranked by
    /// risk, from a model fitted on this repository's history (churn, past
    /// fixes, size, authors, age, complexity, centrality, findings,
    /// coverage gap), riskiest first, each with its feature values and
    /// each feature's contribution.
    #[tool(annotations(read_only_hint = true))]
    async fn risks(
        &self,
        Parameters(p): Parameters<RisksParams>,
    ) -> Result<CallToolResult, ErrorData> {
        let functions = match p.level.as_deref() {
            None | Some("file") => false,
            Some("function") => true,
            Some(other) => {
                return Err(ErrorData::invalid_params(
                    format!("level {other:?}: expected file or function"),
                    None,
                ));
            }
        };
        let limit = p.limit.unwrap_or(20).clamp(1, 200);
        let home = self.home.clone();
        self.with_index(move |index| {
            let config = lore_index::findings::SmellConfig::load(&home.config_file(), index.root())
                .map_err(|e| e.to_string())?;
            let map = lore_index::risk::risk_map(
                &home,
                index,
                &config,
                &lore_index::risk::RiskOptions::default(),
                functions,
                true,
            )
            .map_err(|e| e.to_string())?;
            let total = map.risks.len();
            let items: Vec<Value> = map
                .risks
                .into_iter()
                .take(limit)
                .map(|r| {
                    let mut v = serde_json::to_value(&r).unwrap_or_default();
                    v["citation"] = Value::from(match (r.start_line, r.end_line) {
                        (Some(a), Some(b)) => format!("{}:{a}-{b}", r.path),
                        _ => r.path.clone(),
                    });
                    v
                })
                .collect();
            Ok(serde_json::json!({ "model": map.model.kind, "commit": map.commit, "total": total, "items": items }))
        })
        .await
    }

    /// Findings of Lore's rules (complexity, swallowed errors, SQL or shell
    /// built by formatting, eval, secrets, duplicated blocks, TODOs) and
    /// of imported SARIF, each with a rule id, severity, message, fix hint
    /// and `citation`.
    #[tool(annotations(read_only_hint = true))]
    async fn findings(
        &self,
        Parameters(p): Parameters<FindingsParams>,
    ) -> Result<CallToolResult, ErrorData> {
        let min = match p.severity.as_deref() {
            None => None,
            Some(s) => Some(lore_index::findings::Severity::from_name(s).ok_or_else(|| {
                ErrorData::invalid_params(
                    format!("severity {s:?}: expected low, medium or high"),
                    None,
                )
            })?),
        };
        let (offset, limit) = page(p.offset, p.limit);
        let (home, id) = (self.home.clone(), self.id.clone());
        self.with_index(move |index| {
            let queue =
                lore_store::SqliteJobs::open(&home.thinker_db()).map_err(|e| e.to_string())?;
            let config = lore_index::findings::SmellConfig::load(&home.config_file(), index.root())
                .map_err(|e| e.to_string())?;
            let all = lore_index::findings::collect(index, &queue, &id, &config)
                .map_err(|e| e.to_string())?;
            let prefix = p
                .path
                .as_deref()
                .map(|p| p.trim_end_matches('/').to_owned());
            let kept: Vec<Value> = all
                .into_iter()
                .filter(|f| min.is_none_or(|m| f.severity >= m))
                .filter(|f| {
                    prefix.as_deref().is_none_or(|p| {
                        p.is_empty()
                            || p == "."
                            || f.path == p
                            || f.path.starts_with(&format!("{p}/"))
                    })
                })
                .map(|f| {
                    let mut v = serde_json::to_value(&f).unwrap_or_default();
                    v["citation"] =
                        Value::from(format!("{}:{}-{}", f.path, f.start_line, f.end_line));
                    v
                })
                .collect();
            let total = kept.len();
            let items: Vec<Value> = kept.into_iter().skip(offset).take(limit).collect();
            Ok(serde_json::json!({ "total": total, "offset": offset, "items": items }))
        })
        .await
    }

    /// What Lore's background thoughts found in this repository: changes,
    /// hot spots, entry points, removed code still referred to; each with
    /// evidence (`citation`s at a commit).
    #[tool(annotations(read_only_hint = true))]
    async fn insights(
        &self,
        Parameters(p): Parameters<InsightsParams>,
    ) -> Result<CallToolResult, ErrorData> {
        let (offset, limit) = page(p.offset, p.limit);
        let (home, id) = (self.home.clone(), self.id.clone());
        self.with_index(move |_| {
            use lore_core::jobs::JobStore;
            let queue =
                lore_store::SqliteJobs::open(&home.thinker_db()).map_err(|e| e.to_string())?;
            let found = queue
                .insights(
                    &id,
                    p.kind.as_deref(),
                    p.status.as_deref(),
                    offset + limit + 1,
                )
                .map_err(|e| e.to_string())?;
            let more = found.len() > offset + limit;
            let items: Vec<Value> = found
                .iter()
                .skip(offset)
                .take(limit)
                .map(|i| {
                    let mut v = lore_index::learning::insight_json(i);
                    if let Some(evidence) = v["evidence"].as_array_mut() {
                        for e in evidence {
                            *e = cited(e.take());
                        }
                    }
                    v
                })
                .collect();
            Ok(json!({ "insights": items, "next_offset": more.then_some(offset + limit) }))
        })
        .await
    }

    /// Whether Lore keeps learning this repository by itself, what runs,
    /// waits (and why) and is queued, budgets left, the next cadence.
    #[tool(annotations(read_only_hint = true))]
    async fn learning_status(
        &self,
        Parameters(_): Parameters<StatusParams>,
    ) -> Result<CallToolResult, ErrorData> {
        let (home, root) = (self.home.clone(), self.root.clone());
        self.with_index(move |_| {
            lore_index::learning::status(&home, &root).map_err(|e| e.to_string())
        })
        .await
    }

    /// What is indexed: commit vs HEAD, files per language, symbols,
    /// search signals, skipped files.
    #[tool(annotations(read_only_hint = true))]
    async fn status(
        &self,
        Parameters(_): Parameters<StatusParams>,
    ) -> Result<CallToolResult, ErrorData> {
        self.with_index(|index| Ok(index.status().map_err(|e| e.to_string())?.to_json(false)))
            .await
    }
}

#[tool_handler(
    name = "lore",
    instructions = "Lore knows this repository: search code, find definitions (symbols), references and call sites (refs), file outlines, a ranked repository map, function cards and module dossiers, what its background thoughts found (insights), and ask questions answered with verified file:line citations."
)]
impl ServerHandler for LoreMcp {
    /// Calls a tool; an unknown tool's error names it and the tools there are.
    async fn call_tool(
        &self,
        request: rmcp::model::CallToolRequestParams,
        context: rmcp::service::RequestContext<rmcp::RoleServer>,
    ) -> Result<rmcp::model::CallToolResponse, ErrorData> {
        let router = Self::tool_router();
        if !router.has_route(&request.name) {
            let mut known: Vec<String> = router
                .list_all()
                .into_iter()
                .map(|t| t.name.to_string())
                .collect();
            known.sort();
            return Err(ErrorData::invalid_params(
                format!(
                    "unknown tool {:?}: this server has {}",
                    request.name,
                    known.join(", ")
                ),
                None,
            ));
        }
        let call = rmcp::handler::server::tool::ToolCallContext::new(self, request, context);
        router.call(call).await
    }
}

/// The configured provider's hypothesis over diagnosed places, as JSON:
/// the checked text and citations, `{not_written}` when it could not be
/// used, null without a provider (or with `--no-llm`).
fn hypothesis(
    home: &std::path::Path,
    index: &RepoIndex,
    symptom: &str,
    places: &[lore_index::diagnose::Place],
    no_llm: bool,
) -> Value {
    let config = match lore_ask::asker::load_config(home) {
        Ok(c) => c,
        Err(e) => return json!({ "not_written": e.to_string() }),
    };
    let provider = match config.provider(&lore_ask::asker::env) {
        Ok(Some(p)) if !no_llm && !places.is_empty() => lore_ask::provider::open(p),
        Ok(_) => return Value::Null,
        Err(e) => return json!({ "not_written": e.to_string() }),
    };
    match lore_ask::written::hypothesis(index, provider.as_ref(), &config, symptom, places) {
        Ok(Ok(w)) => serde_json::to_value(w).unwrap_or_default(),
        Ok(Err(why)) => json!({ "not_written": why.to_string() }),
        Err(e) => json!({ "not_written": e.to_string() }),
    }
}

#[cfg(test)]
mod line_tests {
    use super::*;

    fn reply(line: &str) -> Value {
        match check_line(line) {
            LineCheck::Reply(text) => serde_json::from_str(&text).unwrap(),
            other => panic!("{line}: {other:?}"),
        }
    }

    #[test]
    fn bad_lines_get_json_rpc_errors() {
        let r = reply("{not json");
        assert_eq!(r["error"]["code"], -32700);
        assert_eq!(r["id"], Value::Null);
        let r = reply(r#"{"id": 7, "method": "tools/list"}"#);
        assert_eq!(r["error"]["code"], -32600);
        assert_eq!(r["id"], 7);
        let r = reply(r#"{"jsonrpc": "2.0", "id": "a"}"#);
        assert_eq!(r["error"]["code"], -32600);
        assert_eq!(r["id"], "a");
        assert_eq!(reply("[1, 2]")["error"]["code"], -32600);
        assert_eq!(check_line("   "), LineCheck::Skip);
        assert_eq!(
            check_line(r#"{"jsonrpc": "2.0", "id": 1, "method": "ping"}"#),
            LineCheck::Forward
        );
        assert_eq!(
            check_line(r#"{"jsonrpc": "2.0", "method": "notifications/initialized"}"#),
            LineCheck::Forward
        );
    }
}
