//! Chat providers against a loopback server speaking the OpenAI and
//! Ollama wire formats: streaming, usage, retries and errors.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use lore_ask::provider::{self, ChatRequest, Message, ProviderConfig, ProviderKind};
use lore_test_support::{FakeHttp, FakeResponse};

fn request() -> ChatRequest {
    ChatRequest {
        messages: vec![
            Message::new("system", "Answer with citations."),
            Message::new("user", "Where are retries given up?"),
        ],
        temperature: 0.1,
        max_tokens: Some(200),
    }
}

fn config(kind: ProviderKind, server: &FakeHttp) -> ProviderConfig {
    let mut c = ProviderConfig::new(kind, &server.url(), "test-model");
    c.backoff = Duration::from_millis(10);
    c.timeout = Duration::from_secs(5);
    c
}

fn sse(events: &[&str]) -> FakeResponse {
    let mut body = String::new();
    for e in events {
        body.push_str("data: ");
        body.push_str(e);
        body.push_str("\n\n");
    }
    FakeResponse {
        status: 200,
        headers: vec![("content-type".into(), "text/event-stream".into())],
        body,
    }
}

#[test]
fn openai_streams_text_and_reports_usage() {
    let server = FakeHttp::start(|_| {
        sse(&[
            r#"{"model":"gpt-x-2025","choices":[{"delta":{"role":"assistant"}}]}"#,
            r#"{"model":"gpt-x-2025","choices":[{"delta":{"content":"Retries stop "}}]}"#,
            r#"{"model":"gpt-x-2025","choices":[{"delta":{"content":"in send [1]."}}]}"#,
            r#"{"model":"gpt-x-2025","choices":[],"usage":{"prompt_tokens":57,"completion_tokens":6}}"#,
            "[DONE]",
        ])
    });
    let mut c = config(ProviderKind::OpenAi, &server);
    c.api_key = Some("sk-test".into());
    let p = provider::open(c);
    let mut pieces = Vec::new();
    let answer = p
        .chat(&request(), &mut |t| pieces.push(t.to_owned()))
        .unwrap();
    assert_eq!(pieces, ["Retries stop ", "in send [1]."]);
    assert_eq!(answer.text, "Retries stop in send [1].");
    assert_eq!(answer.model, "gpt-x-2025");
    assert_eq!(
        (
            answer.usage.prompt,
            answer.usage.completion,
            answer.usage.reported
        ),
        (57, 6, true)
    );

    let sent = &server.requests()[0];
    assert_eq!(sent.path, "/v1/chat/completions");
    assert_eq!(sent.header("authorization"), Some("Bearer sk-test"));
    let body: serde_json::Value = serde_json::from_str(&sent.body).unwrap();
    assert_eq!(body["model"], "test-model");
    assert_eq!(body["stream"], true);
    assert_eq!(body["max_tokens"], 200);
    assert_eq!(
        body["messages"][1]["content"],
        "Where are retries given up?"
    );
}

#[test]
fn ollama_streams_lines_and_counts_tokens() {
    let server = FakeHttp::start(|_| {
        FakeResponse {
        status: 200,
        headers: vec![("content-type".into(), "application/x-ndjson".into())],
        body: [
            r#"{"model":"qwen2.5-coder","message":{"role":"assistant","content":"It is "},"done":false}"#,
            r#"{"model":"qwen2.5-coder","message":{"role":"assistant","content":"in retry.py [1]."},"done":false}"#,
            r#"{"model":"qwen2.5-coder","message":{"role":"assistant","content":""},"done":true,"prompt_eval_count":40,"eval_count":9}"#,
        ]
        .join("\n"),
    }
    });
    let p = provider::open(config(ProviderKind::Ollama, &server));
    let answer = p.chat(&request(), &mut |_| {}).unwrap();
    assert_eq!(answer.text, "It is in retry.py [1].");
    assert_eq!((answer.usage.prompt, answer.usage.completion), (40, 9));
    let sent = &server.requests()[0];
    assert_eq!(sent.path, "/api/chat");
    let body: serde_json::Value = serde_json::from_str(&sent.body).unwrap();
    assert_eq!(body["options"]["num_predict"], 200);
    assert_eq!(body["stream"], true);
}

#[test]
fn without_reported_usage_tokens_are_counted_here() {
    let server = FakeHttp::start(|_| {
        sse(&[
            r#"{"choices":[{"delta":{"content":"Short answer."}}]}"#,
            "[DONE]",
        ])
    });
    let p = provider::open(config(ProviderKind::OpenAi, &server));
    let answer = p.chat(&request(), &mut |_| {}).unwrap();
    assert!(!answer.usage.reported);
    assert!(
        answer.usage.completion >= 2 && answer.usage.completion <= 5,
        "{:?}",
        answer.usage
    );
    assert!(answer.usage.prompt > 10);
    assert_eq!(answer.model, "test-model");
}

#[test]
fn rate_limits_and_server_errors_are_retried() {
    let calls = Arc::new(AtomicUsize::new(0));
    let seen = calls.clone();
    let server = FakeHttp::start(move |_| match seen.fetch_add(1, Ordering::SeqCst) {
        0 => {
            let mut r = FakeResponse::json(429, r#"{"error":"slow down"}"#);
            r.headers.push(("retry-after".into(), "0.05".into()));
            r
        }
        1 => FakeResponse::json(500, r#"{"error":"boom"}"#),
        _ => sse(&[r#"{"choices":[{"delta":{"content":"ok"}}]}"#, "[DONE]"]),
    });
    let p = provider::open(config(ProviderKind::OpenAi, &server));
    let answer = p.chat(&request(), &mut |_| {}).unwrap();
    assert_eq!(answer.text, "ok");
    assert_eq!(calls.load(Ordering::SeqCst), 3);
}

#[test]
fn persistent_server_errors_give_up_with_the_message() {
    let server = FakeHttp::start(|_| FakeResponse::json(503, r#"{"error":"overloaded"}"#));
    let mut c = config(ProviderKind::Ollama, &server);
    c.retries = 2;
    let err = provider::open(c).chat(&request(), &mut |_| {}).unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("HTTP 503") && text.contains("overloaded"),
        "{text}"
    );
    assert!(text.contains("gave up after 2 retries"), "{text}");
    assert!(err.is_unreachable());
    assert_eq!(server.requests().len(), 3);
}

#[test]
fn client_errors_and_malformed_streams_fail_at_once() {
    let server = FakeHttp::start(|_| FakeResponse::json(401, r#"{"error":"bad key"}"#));
    let err = provider::open(config(ProviderKind::OpenAi, &server))
        .chat(&request(), &mut |_| {})
        .unwrap_err()
        .to_string();
    assert!(err.contains("HTTP 401") && err.contains("bad key"), "{err}");
    assert_eq!(server.requests().len(), 1);

    let server = FakeHttp::start(|_| sse(&[r#"{"choices":[{"delta":{"content":"par"#]));
    let err = provider::open(config(ProviderKind::OpenAi, &server))
        .chat(&request(), &mut |_| {})
        .unwrap_err()
        .to_string();
    assert!(err.contains("malformed JSON"), "{err}");
    assert_eq!(server.requests().len(), 1);
}

#[test]
fn a_silent_server_times_out() {
    let server = FakeHttp::start(|_| {
        std::thread::sleep(Duration::from_secs(2));
        sse(&["[DONE]"])
    });
    let mut c = config(ProviderKind::OpenAi, &server);
    c.timeout = Duration::from_millis(200);
    c.retries = 0;
    let started = std::time::Instant::now();
    let err = provider::open(c).chat(&request(), &mut |_| {}).unwrap_err();
    assert!(
        started.elapsed() < Duration::from_millis(1500),
        "{:?}",
        started.elapsed()
    );
    assert!(err.is_unreachable(), "{err}");
}

#[test]
fn an_unreachable_server_is_reported_as_such() {
    // A port nobody listens on: bind, learn it, close.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut c = ProviderConfig::new(
        ProviderKind::Ollama,
        &format!("http://127.0.0.1:{port}"),
        "m",
    );
    c.retries = 0;
    let p = provider::open(c);
    assert!(
        p.chat(&request(), &mut |_| {})
            .unwrap_err()
            .is_unreachable()
    );
    let health = p.health();
    assert!(!health.reachable);
    assert!(health.error.is_some());
}

#[test]
fn health_lists_models_in_both_formats() {
    let server = FakeHttp::start(|r| match r.path.as_str() {
        "/v1/models" => FakeResponse::json(200, r#"{"data":[{"id":"test-model"},{"id":"other"}]}"#),
        "/api/tags" => FakeResponse::json(200, r#"{"models":[{"name":"test-model:latest"}]}"#),
        _ => FakeResponse::json(404, "{}"),
    });
    let h = provider::open(config(ProviderKind::OpenAi, &server)).health();
    assert!(h.reachable && h.model_available, "{h:?}");
    assert_eq!(h.models, ["test-model", "other"]);
    let h = provider::open(config(ProviderKind::Ollama, &server)).health();
    assert!(h.reachable && h.model_available, "{h:?}");
}
