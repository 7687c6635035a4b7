//! The API through the router, without a socket (`oneshot`): every
//! endpoint, and the errors a client can cause.

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode, header};
use lore_index::{Home, IndexConfig, index_repo};
use lore_server::{AppState, ServerConfig, router};
use lore_test_support::TestRepo;
use serde_json::{Value, json};
use tower::ServiceExt;

const SESSION: &str = r#"class Session:
    """A connection pool with cookie persistence."""

    def send(self, request):
        """Send a request and follow redirects."""
        response = self.adapter.send(request)
        return response


def backoff_delay(attempt, base=0.5):
    """Seconds to wait before retry number `attempt`."""
    return base * (2 ** attempt)
"#;

struct Fixture {
    repo: TestRepo,
    id: String,
}

fn fixture() -> Fixture {
    let repo = TestRepo::new();
    repo.write("net/session.py", SESSION);
    repo.write(
        "net/retry.py",
        "from net.session import backoff_delay\n\ndef retry(session, request):\n    return backoff_delay(1)\n",
    );
    repo.write(
        "deploy/server.pem",
        "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
    );
    repo.write("README.md", "# Net\n\nSessions and retries.\n");
    repo.commit("initial");
    let home = Home::at(repo.home());
    let report = index_repo(&home, repo.path(), &IndexConfig::default(), &()).unwrap();
    let id = report
        .data_dir
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    Fixture { repo, id }
}

impl Fixture {
    fn config(&self) -> ServerConfig {
        let mut config = ServerConfig::new(Home::at(self.repo.home()));
        config.no_llm = true;
        config
    }

    fn app(&self) -> Router {
        router(AppState::new(self.config()))
    }
}

async fn send(app: &Router, request: Request<Body>) -> (StatusCode, Value, axum::http::HeaderMap) {
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    let value = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
    (status, value, headers)
}

fn get(uri: &str) -> Request<Body> {
    Request::get(uri).body(Body::empty()).unwrap()
}

fn post(uri: &str, body: Value) -> Request<Body> {
    Request::post(uri)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .unwrap()
}

fn error_of(value: &Value) -> &str {
    value["error"].as_str().unwrap_or_default()
}

#[tokio::test]
async fn health_openapi_metrics_and_unknown_routes() {
    let f = fixture();
    let app = f.app();
    let (status, body, _) = send(&app, get("/healthz")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["status"], "ok");

    let (status, doc, _) = send(&app, get("/openapi.json")).await;
    assert_eq!(status, StatusCode::OK);
    for path in [
        "/healthz",
        "/metrics",
        "/repos",
        "/index/{repo}/initial",
        "/index/{repo}/diff",
        "/index/{repo}/status",
        "/index/{repo}/events",
        "/search",
        "/chat",
        "/feedback",
        "/files/{repo}/{path}",
        "/learning/status",
        "/learning/toggle",
        "/insights",
        "/insights/{id}",
        "/runs",
        "/runs/{id}",
        "/runs/{id}/artifacts/{name}",
        "/runs/{id}/rerun",
        "/runs/{id}/cancel",
        "/cards",
        "/dossiers",
        "/webhooks/github",
    ] {
        assert!(
            doc["paths"][path].is_object(),
            "{path} missing from OpenAPI"
        );
    }
    assert!(doc["components"]["schemas"]["SearchRequest"].is_object());

    let (status, body, _) = send(&app, get("/no/such/route")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(error_of(&body).contains("/openapi.json"), "{body}");

    // A known route with the wrong method gets a JSON body too.
    let (status, body, _) = send(&app, get("/chat")).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert!(
        error_of(&body).contains("GET") && error_of(&body).contains("/chat"),
        "{body}"
    );

    // Browsers ask for an icon.
    let (status, _, headers) = send(&app, get("/favicon.ico")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CONTENT_TYPE], "image/svg+xml");

    send(
        &app,
        post("/search", json!({"repo_id": f.id, "query": "send"})),
    )
    .await;
    let (status, text, headers) = send(&app, get("/metrics")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        headers[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .contains("openmetrics")
    );
    let text = text.as_str().unwrap();
    assert!(
        text.contains(r#"lore_http_requests_total{route="/search",method="POST",status="200"} 1"#),
        "{text}"
    );
    assert!(text.contains("lore_http_request_duration_seconds_bucket"));
}

#[tokio::test]
async fn repos_status_and_unknown_repos() {
    let f = fixture();
    let app = f.app();
    let (status, repos, _) = send(&app, get("/repos")).await;
    assert_eq!(status, StatusCode::OK);
    let repo = &repos[0];
    assert_eq!(repo["id"], f.id.as_str());
    assert_eq!(repo["indexed"], true);
    assert_eq!(repo["files"], 3, "{repo}");
    assert!(repo["commit"].as_str().is_some_and(|c| c.len() == 40));

    let (status, st, _) = send(&app, get(&format!("/index/{}/status", f.id))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(st["indexed"], true);
    assert_eq!(st["fresh"], "up to date");
    assert!(
        st["skipped"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["reason"] == "secret"),
        "{st}"
    );

    for request in [
        get("/index/nope-123/status"),
        post("/index/nope-123/initial", json!({})),
        post("/search", json!({"repo_id": "nope-123", "query": "x"})),
        post("/chat", json!({"repo_id": "nope-123", "question": "x"})),
        get("/files/nope-123/a.py"),
    ] {
        let uri = request.uri().clone();
        let (status, body, _) = send(&app, request).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{uri}: {body}");
        assert!(error_of(&body).contains("nope-123"), "{uri}: {body}");
    }
}

#[tokio::test]
async fn registering_and_indexing_a_repository_reports_progress() {
    let f = fixture();
    let other = TestRepo::new();
    other.write("lib/shapes.py", "def area(r):\n    return 3.14 * r * r\n");
    other.commit("shapes");
    // The API registers only under the server's repository roots.
    let path = other.path().to_string_lossy().into_owned();
    let (status, body, _) = send(&f.app(), post("/repos", json!({"path": path}))).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(error_of(&body).contains("--repo-root"), "{body}");
    let mut config = f.config();
    config.repo_roots = vec![other.path().parent().unwrap().to_owned()];
    let hidden = other.path().join(".private");
    std::fs::create_dir(&hidden).unwrap();
    let app = router(AppState::new(config.clone()));
    let (status, body, _) = send(
        &app,
        post("/repos", json!({"path": hidden.to_string_lossy()})),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, body, _) = send(&app, post("/repos", json!({"path": "/etc"}))).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(
        error_of(&body).contains("outside the directories"),
        "{body}"
    );

    let (status, body, _) = send(&app, post("/repos", json!({"path": "relative/dir"}))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(error_of(&body).contains("absolute path"), "{body}");
    let (status, _, _) = send(
        &app,
        post("/repos", json!({"path": "/no/such/dir/anywhere"})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    let (status, repo, _) = send(&app, post("/repos", json!({"path": path}))).await;
    assert_eq!(status, StatusCode::CREATED, "{repo}");
    assert_eq!(repo["indexed"], false);
    let id = repo["id"].as_str().unwrap().to_owned();

    // Not indexed yet: a diff run is refused, searching says what to do.
    let (status, body, _) = send(&app, post(&format!("/index/{id}/diff"), json!({}))).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(error_of(&body).contains("initial"), "{body}");
    let (status, body, _) = send(
        &app,
        post("/search", json!({"repo_id": id, "query": "area"})),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");

    let (status, job, _) = send(&app, post(&format!("/index/{id}/initial"), json!({}))).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{job}");
    assert_eq!(job["kind"], "initial");
    // A second run while the first is going is refused.
    let (status, body, _) = send(&app, post(&format!("/index/{id}/initial"), json!({}))).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");

    // The event stream reports progress and ends with the finished run.
    let response = app
        .clone()
        .oneshot(get(&format!("/index/{id}/events")))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers()[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    let bytes = tokio::time::timeout(
        Duration::from_secs(60),
        axum::body::to_bytes(response.into_body(), usize::MAX),
    )
    .await
    .expect("event stream ends when the run is over")
    .unwrap();
    let text = String::from_utf8_lossy(&bytes);
    let events: Vec<Value> = text
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .map(|d| serde_json::from_str(d).unwrap())
        .collect();
    assert!(text.contains("event: progress"), "{text}");
    let last = events.last().unwrap();
    assert_eq!(last["state"], "done", "{text}");
    assert_eq!(last["summary"]["added"], 1, "{last}");

    let (status, body, _) = send(
        &app,
        post("/search", json!({"repo_id": id, "query": "area"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["hits"][0]["path"], "lib/shapes.py");
    // Now a diff run is accepted.
    let (status, _, _) = send(&app, post(&format!("/index/{id}/diff"), json!({}))).await;
    assert_eq!(status, StatusCode::ACCEPTED);
}

#[tokio::test]
async fn search_finds_code_and_rejects_bad_requests() {
    let f = fixture();
    let app = f.app();
    let (status, body, _) = send(
        &app,
        post("/search", json!({"repo_id": f.id, "query": "retry backoff delay", "limit": 3, "langs": ["python"]})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let hits = body["hits"].as_array().unwrap();
    assert!(!hits.is_empty() && hits.len() <= 3);
    assert!(
        hits.iter().any(|h| h["symbol"] == "backoff_delay"),
        "{body}"
    );
    assert!(hits.iter().all(|h| h["lang"] == "python"));
    assert_eq!(body["commit"].as_str().unwrap().len(), 40);

    let bad_json = Request::post("/search")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from("{\"repo_id\": "))
        .unwrap();
    let no_type = Request::post("/search")
        .body(Body::from(
            json!({"repo_id": f.id, "query": "x"}).to_string(),
        ))
        .unwrap();
    let cases = [
        (bad_json, StatusCode::BAD_REQUEST, "invalid JSON"),
        (no_type, StatusCode::BAD_REQUEST, "Content-Type"),
        (
            post("/search", json!({"repo_id": f.id})),
            StatusCode::BAD_REQUEST,
            "query",
        ),
        (
            post(
                "/search",
                json!({"repo_id": f.id, "query": "x", "colour": 1}),
            ),
            StatusCode::BAD_REQUEST,
            "colour",
        ),
        (
            post("/search", json!({"repo_id": f.id, "query": "  "})),
            StatusCode::BAD_REQUEST,
            "empty",
        ),
        (
            post(
                "/search",
                json!({"repo_id": f.id, "query": "x", "langs": ["klingon"]}),
            ),
            StatusCode::BAD_REQUEST,
            "klingon",
        ),
        (
            post(
                "/search",
                json!({"repo_id": f.id, "query": "x", "mode": "psychic"}),
            ),
            StatusCode::BAD_REQUEST,
            "psychic",
        ),
        (
            post(
                "/search",
                json!({"repo_id": f.id, "query": "x", "limit": 0}),
            ),
            StatusCode::BAD_REQUEST,
            "at least 1",
        ),
        (
            post(
                "/search",
                json!({"repo_id": f.id, "query": "x", "path": "[unclosed"}),
            ),
            StatusCode::BAD_REQUEST,
            "[unclosed",
        ),
    ];
    for (request, want, mention) in cases {
        let (status, body, _) = send(&app, request).await;
        assert_eq!(status, want, "{body}");
        assert!(error_of(&body).contains(mention), "{mention}: {body}");
    }

    let huge = "x".repeat(lore_server::BODY_LIMIT + 10);
    let (status, body, _) = send(
        &app,
        post("/search", json!({"repo_id": f.id, "query": huge})),
    )
    .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert!(error_of(&body).contains("too large"), "{body}");
}

#[tokio::test]
async fn chat_cites_code_and_feedback_is_stored() {
    let f = fixture();
    let app = f.app();
    let (status, answer, _) = send(
        &app,
        post(
            "/chat",
            json!({"repo_id": f.id, "question": "How long does backoff_delay wait?"}),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["mode"], "extractive");
    let citations = answer["citations"].as_array().unwrap();
    assert!(
        citations
            .iter()
            .any(|c| c["path"] == "net/session.py" && c["commit"].as_str().unwrap().len() == 40),
        "{answer}"
    );
    assert!(answer["answer"].as_str().unwrap().contains("[1]"));
    assert!(answer["policy_version"].as_u64().is_some());
    assert!(
        answer["explain"]["candidates"]
            .as_array()
            .is_some_and(|c| !c.is_empty())
    );
    assert!(
        answer["explain"]["policy"]["budget_tokens"].is_number(),
        "{}",
        answer["explain"]
    );
    let answer_id = answer["answer_id"].as_i64().unwrap();
    let conversation = answer["conversation_id"].as_i64().unwrap();
    assert_eq!(answer["cache"]["hit"], false, "{answer}");
    assert_eq!(answer["retrieval_policy"]["version"], 4, "{answer}");

    // The same question again comes from the answer cache (unless asked
    // not to), and /metrics counts it.
    let (_, again, _) = send(
        &app,
        post(
            "/chat",
            json!({"repo_id": f.id, "question": "how long does backoff_delay wait"}),
        ),
    )
    .await;
    assert_eq!(again["cache"]["hit"], true, "{again}");
    assert_eq!(again["cache"]["answer_id"], answer_id, "{again}");
    assert_eq!(again["answer"], answer["answer"]);
    let (_, fresh, _) = send(
        &app,
        post(
            "/chat",
            json!({"repo_id": f.id, "question": "How long does backoff_delay wait?", "no_cache": true}),
        ),
    )
    .await;
    assert_eq!(fresh["cache"]["hit"], false, "{fresh}");
    let (_, metrics, _) = send(&app, get("/metrics")).await;
    let metrics = metrics.as_str().unwrap();
    let hits = metrics
        .lines()
        .find(|l| l.starts_with(r#"lore_answer_cache_lookups_total{outcome="hit"}"#))
        .and_then(|l| l.rsplit(' ').next()?.parse::<u64>().ok());
    assert!(hits.is_some_and(|n| n >= 1), "{metrics}");

    // A follow-up continues the conversation; an unknown one is refused.
    let (status, follow, _) = send(
        &app,
        post("/chat", json!({"repo_id": f.id, "question": "and what calls it?", "conversation_id": conversation})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{follow}");
    assert_eq!(follow["conversation_id"], conversation);
    let (status, body, _) = send(
        &app,
        post(
            "/chat",
            json!({"repo_id": f.id, "question": "x", "conversation_id": 999}),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(error_of(&body).contains("999"), "{body}");

    let (status, body, _) = send(
        &app,
        post("/feedback", json!({"repo_id": f.id, "answer_id": answer_id, "vote": "down",
            "note": "should cite retry.py", "correct_citations": [{"path": "net/retry.py", "start_line": 3, "end_line": 4}]})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert!(body["feedback_id"].as_i64().is_some());
    assert_eq!(body["reward"]["counted"]["down"], 1, "{body}");
    assert_eq!(body["reward"]["counted"]["correct"], 1, "{body}");

    // Stored in the repository's history.
    let data_dir = Home::at(f.repo.home()).repo_dir(f.repo.path());
    let history = lore_store::SqliteHistory::open(&data_dir.join("history.db")).unwrap();
    use lore_core::history::HistoryStore;
    // Asking the same question again was a re-ask of the first answer and
    // the second question of the conversation a follow-up on it (implicit
    // signals), then came the verdict.
    let stored = history.feedback(answer_id).unwrap();
    let signals: Vec<&str> = stored.iter().map(|f| f.signal.as_str()).collect();
    assert_eq!(signals, ["reask", "follow-up", "down"]);
    let stored = &stored[2..];
    assert_eq!(stored[0].vote, -1);
    assert_eq!(stored[0].note.as_deref(), Some("should cite retry.py"));
    assert!(stored[0].correct_citations.contains("net/retry.py"));

    assert_eq!(stored[0].signal, "down");
    assert!(stored[0].user.starts_with("local"), "{:?}", stored[0].user);

    // Implicit signals from the UI: a citation opened, code copied; each
    // counted once per person however often it happens.
    for signal in ["open", "open", "copy"] {
        let (status, body, _) = send(
            &app,
            post(
                "/feedback",
                json!({"repo_id": f.id, "answer_id": answer_id, "signal": signal}),
            ),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        assert_eq!(body["reward"]["people"], 1, "{body}");
    }
    let stored = history.feedback(answer_id).unwrap();
    let reward = lore_ask::feedback::reward_of(&stored);
    assert_eq!(reward.counted["open"], 1);
    assert_eq!(reward.counted["copy"], 1);

    // The conversation reads back with its citations and feedback.
    let (status, past, _) = send(
        &app,
        get(&format!("/conversations/{}/{conversation}", f.id)),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{past}");
    let exchanges = past["exchanges"].as_array().unwrap();
    assert_eq!(exchanges.len(), 2, "{past}");
    assert_eq!(
        exchanges[0]["question"],
        "How long does backoff_delay wait?"
    );
    assert_eq!(exchanges[0]["answer_id"], answer_id);
    assert_eq!(exchanges[0]["citations"], answer["citations"], "{past}");
    assert_eq!(exchanges[0]["feedback"][2]["vote"], -1, "{past}");
    assert_eq!(exchanges[0]["feedback"][2]["note"], "should cite retry.py");
    let (status, body, _) = send(&app, get(&format!("/conversations/{}/777", f.id))).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(error_of(&body).contains("777"), "{body}");

    for (body, want, mention) in [
        (
            json!({"repo_id": f.id, "answer_id": 4242, "vote": "up"}),
            StatusCode::NOT_FOUND,
            "4242",
        ),
        (
            json!({"repo_id": f.id, "answer_id": answer_id, "vote": "sideways"}),
            StatusCode::BAD_REQUEST,
            "vote",
        ),
        (
            json!({"repo_id": f.id, "answer_id": answer_id, "vote": "up", "correct_citations": ["x"]}),
            StatusCode::BAD_REQUEST,
            "correct_citations",
        ),
        (
            json!({"repo_id": f.id, "question": "  "}),
            StatusCode::BAD_REQUEST,
            "answer_id",
        ),
        (
            json!({"repo_id": f.id, "answer_id": answer_id, "signal": "wave"}),
            StatusCode::BAD_REQUEST,
            "signal \"wave\": expected one of up, down",
        ),
        (
            json!({"repo_id": f.id, "answer_id": answer_id, "signal": "correct"}),
            StatusCode::BAD_REQUEST,
            "needs the right place",
        ),
    ] {
        let (status, got, _) = send(&app, post("/feedback", body)).await;
        assert_eq!(status, want, "{got}");
        assert!(error_of(&got).contains(mention), "{mention}: {got}");
    }
    let (status, body, _) = send(
        &app,
        post("/chat", json!({"repo_id": f.id, "question": ""})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(error_of(&body).contains("empty"));
}

#[tokio::test]
async fn files_are_served_highlighted_and_only_from_the_index() {
    let f = fixture();
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("secret.txt"), "top secret\n").unwrap();
    let app = f.app();

    let (status, file, _) = send(
        &app,
        get(&format!("/files/{}/net/session.py?lines=4-6", f.id)),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{file}");
    assert_eq!(file["lang"], "python");
    assert_eq!(file["stale"], false);
    assert_eq!(file["commit"].as_str().unwrap().len(), 40);
    assert_eq!(file["total_lines"], 12);
    let lines = file["lines"].as_array().unwrap();
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[0]["n"], 4);
    assert_eq!(lines[0]["text"], "    def send(self, request):");
    // `def` is a keyword, `send` the name defined.
    let spans = lines[0]["spans"].as_array().unwrap();
    assert!(spans.contains(&json!([4, 7, "keyword"])), "{spans:?}");
    assert!(spans.contains(&json!([8, 12, "def"])), "{spans:?}");

    let refused = [
        (
            format!("/files/{}/../outside.txt", f.id),
            StatusCode::FORBIDDEN,
            "`..`",
        ),
        (
            format!("/files/{}/net/%2E%2E/%2E%2E/etc/passwd", f.id),
            StatusCode::FORBIDDEN,
            "`..`",
        ),
        (
            format!("/files/{}//etc/passwd", f.id),
            StatusCode::FORBIDDEN,
            "absolute",
        ),
        (
            format!("/files/{}/deploy/server.pem", f.id),
            StatusCode::FORBIDDEN,
            "secret",
        ),
        (
            format!("/files/{}/net/missing.py", f.id),
            StatusCode::NOT_FOUND,
            "not a file of the index",
        ),
        (
            format!("/files/{}/net/session.py?lines=9-2", f.id),
            StatusCode::BAD_REQUEST,
            "lines",
        ),
        (
            format!("/files/{}/net/session.py?lines=9000-9999", f.id),
            StatusCode::BAD_REQUEST,
            "has 12 lines",
        ),
    ];
    for (uri, want, mention) in refused {
        let (status, body, _) = send(&app, get(&uri)).await;
        assert_eq!(status, want, "{uri}: {body}");
        assert!(error_of(&body).contains(mention), "{uri}: {body}");
    }

    // An indexed file replaced by a symlink that leaves the repository.
    #[cfg(unix)]
    {
        std::fs::remove_file(f.repo.join("net/retry.py")).unwrap();
        std::os::unix::fs::symlink(
            outside.path().join("secret.txt"),
            f.repo.join("net/retry.py"),
        )
        .unwrap();
        let (status, body, _) = send(&app, get(&format!("/files/{}/net/retry.py", f.id))).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
        assert!(error_of(&body).contains("outside the repository"), "{body}");
        assert!(!body.to_string().contains("top secret"));
    }

    // A changed file is served marked stale.
    f.repo
        .write("net/session.py", format!("{SESSION}\n# changed\n"));
    let (_, file, _) = send(&app, get(&format!("/files/{}/net/session.py", f.id))).await;
    assert_eq!(file["stale"], true);
}

#[tokio::test]
async fn files_that_became_links_to_unserved_files_or_fifos_are_refused() {
    let f = fixture();
    let app = f.app();
    let url = |path: &str| format!("/files/{}/{path}", f.id);
    // An indexed file replaced by a link to `.env` (never indexed).
    f.repo.write(".env", "DB_PASSWORD=hunter2zebra\n");
    std::fs::remove_file(f.repo.join("README.md")).unwrap();
    std::os::unix::fs::symlink(".env", f.repo.join("README.md")).unwrap();
    let (status, body, _) = send(&app, get(&url("README.md"))).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(error_of(&body).contains("resolves to .env"), "{body}");
    assert!(!body.to_string().contains("hunter2zebra"));
    // A link to another indexed file is served.
    std::fs::remove_file(f.repo.join("net/retry.py")).unwrap();
    std::os::unix::fs::symlink("session.py", f.repo.join("net/retry.py")).unwrap();
    let (status, body, _) = send(&app, get(&url("net/retry.py"))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // A FIFO in place of an indexed file is refused at once, not read.
    std::fs::remove_file(f.repo.join("net/session.py")).unwrap();
    let made = std::process::Command::new("mkfifo")
        .arg(f.repo.join("net/session.py"))
        .status()
        .unwrap();
    assert!(made.success());
    let (status, body, _) = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        send(&app, get(&url("net/session.py"))),
    )
    .await
    .expect("a FIFO must not block the file view");
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(error_of(&body).contains("not a regular file"), "{body}");
}

#[tokio::test]
async fn foreign_hosts_and_cross_site_requests_are_refused() {
    let f = fixture();
    let app = f.app();
    fn with(mut request: Request<Body>, headers: &[(&str, &str)]) -> Request<Body> {
        for (name, value) in headers {
            request.headers_mut().insert(
                axum::http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                value.parse().unwrap(),
            );
        }
        request
    }
    let search = || post("/search", json!({"repo_id": f.id, "query": "backoff"}));
    // DNS rebinding: a page of attacker.example resolved to 127.0.0.1.
    let (status, body, _) = send(
        &app,
        with(get("/repos"), &[("host", "attacker.example:7878")]),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(
        error_of(&body).contains("--public-host attacker.example"),
        "{body}"
    );
    let (status, _, _) = send(&app, with(search(), &[("host", "attacker.example")])).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // Loopback names and addresses are served.
    for host in ["localhost:7878", "127.0.0.1:7878", "[::1]:7878"] {
        let (status, body, _) = send(&app, with(get("/repos"), &[("host", host)])).await;
        assert_eq!(status, StatusCode::OK, "{host}: {body}");
    }
    // A page elsewhere posting to the server.
    let (status, body, _) = send(
        &app,
        with(
            post("/repos", json!({"path": "/etc"})),
            &[
                ("host", "127.0.0.1:7878"),
                ("origin", "http://attacker.example"),
            ],
        ),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    // The server's own page without its CSRF token, then with it.
    let own = [
        ("host", "127.0.0.1:7878"),
        ("origin", "http://127.0.0.1:7878"),
    ];
    let (status, body, _) = send(&app, with(search(), &own)).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(error_of(&body).contains("X-Lore-Csrf"), "{body}");
    let (_, page, _) = send(&app, get("/")).await;
    let page = page.as_str().unwrap().to_owned();
    let csrf = page
        .split("name=\"lore-csrf\" content=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap();
    assert_eq!(csrf.len(), 32);
    let mut headers = own.to_vec();
    headers.push(("x-lore-csrf", csrf));
    let (status, body, _) = send(&app, with(search(), &headers)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // Clients that are not browsers (no Origin) are served as before.
    let (status, _, _) = send(&app, with(search(), &[("host", "127.0.0.1:7878")])).await;
    assert_eq!(status, StatusCode::OK);
    // A name given with --public-host is served.
    let mut config = f.config();
    config.public_hosts = vec!["lore.internal".into()];
    let app = router(AppState::new(config));
    let (status, _, _) = send(&app, with(get("/repos"), &[("host", "lore.internal:443")])).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn a_file_can_be_purged_over_the_api() {
    let f = fixture();
    let app = f.app();
    let purge = Request::delete(format!("/files/{}/net/retry.py", f.id))
        .body(Body::empty())
        .unwrap();
    let (status, report, _) = send(&app, purge).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["paths"][0], "net/retry.py", "{report}");
    assert_eq!(report["files"], 1, "{report}");
    let (status, body, _) = send(&app, get(&format!("/files/{}/net/retry.py", f.id))).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert!(error_of(&body).contains("purged"), "{body}");
    let (_, hits, _) = send(
        &app,
        post(
            "/search",
            json!({"repo_id": f.id, "query": "retry backoff_delay"}),
        ),
    )
    .await;
    let paths: Vec<&str> = hits["hits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["path"].as_str().unwrap())
        .collect();
    assert!(!paths.contains(&"net/retry.py"), "{paths:?}");
    // Paths that leave the repository are refused.
    let outside = Request::delete(format!("/files/{}/../outside.txt", f.id))
        .body(Body::empty())
        .unwrap();
    let (status, _, _) = send(&app, outside).await;
    assert!(status.is_client_error());
}

#[tokio::test]
async fn a_token_is_required_when_configured() {
    let f = fixture();
    let mut config = f.config();
    config.token = Some("s3cret-token".into());
    let app = router(AppState::new(config));
    let (status, _, _) = send(&app, get("/healthz")).await;
    assert_eq!(status, StatusCode::OK, "health stays public");
    let (status, _, _) = send(&app, get("/")).await;
    assert_eq!(status, StatusCode::OK, "the UI shell stays public");
    let (status, body, headers) = send(&app, get("/repos")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(error_of(&body).contains("Bearer"), "{body}");
    assert_eq!(headers[header::WWW_AUTHENTICATE], "Bearer");
    let wrong = Request::get("/repos")
        .header(header::AUTHORIZATION, "Bearer s3cret-tokem")
        .body(Body::empty())
        .unwrap();
    assert_eq!(send(&app, wrong).await.0, StatusCode::UNAUTHORIZED);
    let right = Request::get("/repos")
        .header(header::AUTHORIZATION, "Bearer s3cret-token")
        .body(Body::empty())
        .unwrap();
    assert_eq!(send(&app, right).await.0, StatusCode::OK);
    let (status, _, _) = send(
        &app,
        get(&format!("/index/{}/status?access_token=s3cret-token", f.id)),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn a_non_loopback_bind_creates_a_private_token_and_requires_it() {
    let f = fixture();
    let home = f.repo.home().to_owned();
    let (tx, rx) = tokio::sync::oneshot::channel();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(lore_server::serve(
        f.config(),
        "0.0.0.0:0".parse().unwrap(),
        Vec::new(),
        move |started| {
            let _ = tx.send((started.addr, started.new_token.clone()));
        },
        async move {
            let _ = stop_rx.await;
        },
    ));
    let (addr, token) = rx.await.unwrap();
    let token = token.expect("a token is created on first start");
    let stored = std::fs::read_to_string(home.join("server.token")).unwrap();
    assert_eq!(stored.trim(), token);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(home.join("server.token"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let local: SocketAddr = format!("127.0.0.1:{}", addr.port()).parse().unwrap();
    let raw = |auth: Option<&str>| {
        let auth = auth
            .map(|t| format!("Authorization: Bearer {t}\r\n"))
            .unwrap_or_default();
        let request =
            format!("GET /repos HTTP/1.1\r\nHost: {local}\r\n{auth}Connection: close\r\n\r\n");
        async move {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            let mut stream = tokio::net::TcpStream::connect(local).await.unwrap();
            stream.write_all(request.as_bytes()).await.unwrap();
            let mut out = String::new();
            stream.read_to_string(&mut out).await.unwrap();
            out
        }
    };
    assert!(raw(None).await.starts_with("HTTP/1.1 401"));
    assert!(raw(Some(&token)).await.starts_with("HTTP/1.1 200"));
    stop_tx.send(()).unwrap();
    server.await.unwrap().unwrap();
}

#[tokio::test]
async fn a_client_that_sends_its_headers_slowly_is_cut_off() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let f = fixture();
    let mut config = f.config();
    config.header_timeout = Duration::from_millis(500);
    let (tx, rx) = tokio::sync::oneshot::channel();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(lore_server::serve(
        config,
        "127.0.0.1:0".parse().unwrap(),
        Vec::new(),
        move |started| {
            let _ = tx.send(started.addr);
        },
        async move {
            let _ = stop_rx.await;
        },
    ));
    let addr = rx.await.unwrap();
    let mut slow = tokio::net::TcpStream::connect(addr).await.unwrap();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        .await
        .unwrap();
    // Never finishes its headers: the server closes the connection.
    let mut out = Vec::new();
    let closed = tokio::time::timeout(Duration::from_secs(10), slow.read_to_end(&mut out)).await;
    assert!(closed.is_ok(), "the connection stayed open");
    // Others are still served.
    let mut fast = tokio::net::TcpStream::connect(addr).await.unwrap();
    fast.write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut reply = String::new();
    fast.read_to_string(&mut reply).await.unwrap();
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
    stop_tx.send(()).unwrap();
    server.await.unwrap().unwrap();
}

#[tokio::test]
async fn clients_are_rate_limited_and_cors_is_closed() {
    let f = fixture();
    let mut config = f.config();
    config.rate_per_second = 1.0;
    config.rate_burst = 2.0;
    config.limit_loopback = true;
    let app = router(AppState::new(config));
    let from = |ip: &str| {
        let mut request = get("/healthz");
        let addr: SocketAddr = format!("{ip}:5000").parse().unwrap();
        request.extensions_mut().insert(ConnectInfo(addr));
        request
    };
    assert_eq!(send(&app, from("10.1.1.1")).await.0, StatusCode::OK);
    assert_eq!(send(&app, from("10.1.1.1")).await.0, StatusCode::OK);
    let (status, body, headers) = send(&app, from("10.1.1.1")).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert_eq!(headers[header::RETRY_AFTER], "1");
    assert_eq!(
        send(&app, from("10.1.1.2")).await.0,
        StatusCode::OK,
        "clients have their own budget"
    );

    // CORS: closed unless origins are allowed.
    let preflight = || {
        Request::options("/search")
            .header(header::ORIGIN, "https://evil.example")
            .header(header::ACCESS_CONTROL_REQUEST_METHOD, "POST")
            .body(Body::empty())
            .unwrap()
    };
    let (_, _, headers) = send(&f.app(), preflight()).await;
    assert!(headers.get(header::ACCESS_CONTROL_ALLOW_ORIGIN).is_none());
    let mut open = f.config();
    open.allow_origins = vec!["https://evil.example".into()];
    let (_, _, headers) = send(&router(AppState::new(open)), preflight()).await;
    assert_eq!(
        headers[header::ACCESS_CONTROL_ALLOW_ORIGIN],
        "https://evil.example"
    );
}

/// A repository policy version that ranks by BM25 alone: a challenger
/// whose order differs from the global policy's.
fn write_policies(f: &Fixture) -> std::path::PathBuf {
    let home = Home::at(f.repo.home());
    let dir = home.repo_dir(&f.repo.path().canonicalize().unwrap());
    let version = |v: u32| {
        json!({
            "version": v, "created_at": 0, "commit": "", "base": 4,
            "weights": {"lexical": 1.0, "name": v as f64},
            "verdict": {"promote": true, "reason": "by hand",
                "current": {"mrr10": 0.5, "recall10": 0.5, "queries": 10},
                "candidate": {"mrr10": 0.6, "recall10": 0.7, "queries": 10}},
            "train": {"mrr10": 0.0, "recall10": 0.0, "queries": 0}
        })
    };
    let policies = json!({ "versions": [version(1), version(2)], "current": null });
    std::fs::write(dir.join("policies.json"), policies.to_string()).unwrap();
    dir
}

#[tokio::test]
async fn an_ab_comparison_interleaves_results_and_counts_clicks() {
    let f = fixture();
    let app = f.app();
    write_policies(&f);
    // No comparison running: no impression.
    let search = json!({ "repo_id": f.id, "query": "send request redirects" });
    let (status, body, _) = send(&app, post("/search", search.clone())).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.get("impression").is_none(), "{body}");

    let (status, body, _) = send(
        &app,
        post("/policies/ab", json!({ "repo_id": f.id, "version": 1 })),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["ab"]["challenger"], 1);
    let (status, body, _) = send(&app, post("/search", search.clone())).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let impression = body["impression"].as_i64().expect("an interleaved list");
    assert!(!body["hits"].as_array().unwrap().is_empty());

    let click = |rank: usize| {
        post(
            "/search/click",
            json!({ "repo_id": f.id, "impression": impression, "rank": rank }),
        )
    };
    let (status, body, _) = send(&app, click(0)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["clicks"], 1);
    // The same click again counts once.
    let (_, body, _) = send(&app, click(0)).await;
    assert_eq!(body["clicks"], 1);
    let (status, body, _) = send(&app, click(99)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(error_of(&body).contains("rank 99"), "{body}");
    let (status, _, _) = send(
        &app,
        post(
            "/search/click",
            json!({ "repo_id": f.id, "impression": 999, "rank": 0 }),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let (status, report, _) = send(&app, get(&format!("/report?repo_id={}", f.id))).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    let o = &report["ab"]["outcomes"][0];
    assert_eq!(
        (&o["a"], &o["b"], &o["impressions"]),
        (&Value::Null, &json!(1), &json!(1))
    );
    let decided = o["wins_a"].as_u64().unwrap() + o["wins_b"].as_u64().unwrap();
    assert_eq!(decided, 1, "one click on one team decides: {o}");
    assert_eq!(report["ab"]["running"]["challenger"], 1);
    assert_eq!(report["policies"].as_array().unwrap().len(), 2);

    // Ending it: plain search again.
    let (status, _, _) = send(
        &app,
        post("/policies/ab", json!({ "repo_id": f.id, "stop": true })),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (_, body, _) = send(&app, post("/search", search)).await;
    assert!(body.get("impression").is_none(), "{body}");
    let (status, body, _) = send(&app, post("/policies/ab", json!({ "repo_id": f.id }))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, _, _) = send(&app, get(&format!("/report?repo_id={}&since=7w", f.id))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_rollback_over_http_changes_what_the_server_ranks_with() {
    let f = fixture();
    let app = f.app();
    let dir = write_policies(&f);
    let search = json!({ "repo_id": f.id, "query": "send request redirects", "explain": true });
    // A resident snapshot is open before the promotion.
    let (_, before, _) = send(&app, post("/search", search.clone())).await;
    lore_index::policy::Policies::promote(&dir, 2).unwrap();
    let weight_of = |body: &Value, feature: &str| {
        body["hits"][0]["explain"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["feature"] == feature)
            .map(|c| c["weight"].as_f64().unwrap())
    };
    let (_, promoted, _) = send(&app, post("/search", search.clone())).await;
    assert_eq!(weight_of(&promoted, "name"), Some(2.0), "{promoted}");
    assert_eq!(weight_of(&before, "name"), Some(1.5));
    let (status, body, _) =
        send(&app, post("/policies/rollback", json!({ "repo_id": f.id }))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["current"], Value::Null);
    let (_, back, _) = send(&app, post("/search", search)).await;
    assert_eq!(back["hits"], before["hits"], "the global ranking again");
    let (status, body, _) =
        send(&app, post("/policies/rollback", json!({ "repo_id": f.id }))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(error_of(&body).contains("nothing to roll back"), "{body}");
}
