//! Remote embedders against a loopback server speaking both wire formats.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use lore_core::embed::{Embedder, dot};
use lore_embed::{RemoteApi, RemoteConfig, RemoteEmbedder};
use lore_test_support::{FakeHttp, FakeRequest, FakeResponse};
use serde_json::{Value, json};

/// A deterministic 3-d vector per text: (length, vowels, 1).
fn vector(text: &str) -> Value {
    let vowels = text.chars().filter(|c| "aeiou".contains(*c)).count();
    json!([text.len() as f64, vowels as f64, 1.0])
}

fn inputs(request: &FakeRequest) -> Vec<String> {
    let body: Value = serde_json::from_str(&request.body).unwrap();
    body["input"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap().to_owned())
        .collect()
}

fn openai_server() -> FakeHttp {
    FakeHttp::start(|request| {
        assert_eq!(request.method, "POST");
        assert_eq!(request.path, "/v1/embeddings");
        // Items in reverse order: the client must sort by index.
        let data: Vec<Value> = inputs(request)
            .iter()
            .enumerate()
            .rev()
            .map(|(i, t)| json!({"object": "embedding", "index": i, "embedding": vector(t)}))
            .collect();
        FakeResponse::json(200, json!({"object": "list", "data": data}).to_string())
    })
}

fn fast(mut config: RemoteConfig) -> RemoteConfig {
    config.backoff = Duration::from_millis(5);
    config.timeout = Duration::from_secs(5);
    config
}

#[test]
fn openai_wire_format_batches_and_orders() {
    let server = openai_server();
    let mut config = fast(RemoteConfig::new(
        RemoteApi::OpenAi,
        &format!("{}/v1", server.url()),
        "text-embedding-test",
    ));
    config.batch_size = 2;
    config.api_key = Some("sk-test".into());
    let embedder = RemoteEmbedder::connect(config).unwrap();
    assert_eq!(embedder.dims(), 3);
    assert!(
        embedder
            .model_id()
            .starts_with("openai:text-embedding-test@127.0.0.1:")
    );
    let texts = ["a", "bee", "ceiling", "do", "e"];
    let vectors = embedder.embed(&texts).unwrap();
    assert_eq!(vectors.len(), 5);
    for (t, v) in texts.iter().zip(&vectors) {
        let mut want: Vec<f32> = vector(t)
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap() as f32)
            .collect();
        lore_core::embed::normalize(&mut want);
        assert!(dot(v, &want) > 0.9999, "{t}: {v:?} vs {want:?}");
    }
    let requests = server.requests();
    // The probe, then three batches of at most two.
    assert_eq!(requests.len(), 4);
    assert_eq!(inputs(&requests[1]), ["a", "bee"]);
    assert_eq!(inputs(&requests[3]), ["e"]);
    assert_eq!(requests[1].header("authorization"), Some("Bearer sk-test"));
    let body: Value = serde_json::from_str(&requests[1].body).unwrap();
    assert_eq!(body["model"], "text-embedding-test");
}

#[test]
fn ollama_wire_format() {
    let server = FakeHttp::start(|request| {
        assert_eq!(request.path, "/api/embed");
        let embeddings: Vec<Value> = inputs(request).iter().map(|t| vector(t)).collect();
        FakeResponse::json(
            200,
            json!({"model": "m", "embeddings": embeddings}).to_string(),
        )
    });
    let embedder = RemoteEmbedder::connect(fast(RemoteConfig::new(
        RemoteApi::Ollama,
        &server.url(),
        "nomic-embed-code",
    )))
    .unwrap();
    assert!(embedder.model_id().starts_with("ollama:nomic-embed-code@"));
    let v = embedder.embed(&["xyz", "aaaa"]).unwrap();
    assert_eq!(v.len(), 2);
    assert!((dot(&v[0], &v[0]) - 1.0).abs() < 1e-6);
    assert!(v[1][1] > v[0][1], "vowels of the second text");
}

#[test]
fn retries_429_and_500_then_succeeds() {
    let calls = Arc::new(AtomicUsize::new(0));
    let seen = calls.clone();
    let server = FakeHttp::start(move |request| match seen.fetch_add(1, Ordering::SeqCst) {
        0 => FakeResponse {
            status: 429,
            headers: vec![("retry-after".into(), "0".into())],
            body: "slow down".into(),
        },
        1 => FakeResponse::json(500, "{\"error\": \"boom\"}"),
        _ => {
            let embeddings: Vec<Value> = inputs(request).iter().map(|t| vector(t)).collect();
            FakeResponse::json(200, json!({"embeddings": embeddings}).to_string())
        }
    });
    let embedder = RemoteEmbedder::connect(fast(RemoteConfig::new(
        RemoteApi::Ollama,
        &server.url(),
        "m",
    )))
    .unwrap();
    assert_eq!(embedder.dims(), 3);
    assert_eq!(calls.load(Ordering::SeqCst), 3);
}

#[test]
fn gives_up_after_retries_and_reports_the_cause() {
    let server = FakeHttp::start(|_| FakeResponse::json(503, "{\"error\": \"overloaded\"}"));
    let mut config = fast(RemoteConfig::new(RemoteApi::OpenAi, &server.url(), "m"));
    config.retries = 2;
    let err = RemoteEmbedder::connect(config).unwrap_err().to_string();
    assert!(err.contains("503") && err.contains("overloaded"), "{err}");
    assert!(err.contains("/v1/embeddings"), "{err}");
    assert_eq!(server.requests().len(), 3);
}

#[test]
fn client_errors_and_malformed_json_fail_at_once() {
    let server = FakeHttp::start(|_| FakeResponse::json(401, "{\"error\": \"bad key\"}"));
    let err = RemoteEmbedder::connect(fast(RemoteConfig::new(
        RemoteApi::OpenAi,
        &server.url(),
        "m",
    )))
    .unwrap_err()
    .to_string();
    assert!(err.contains("401") && err.contains("bad key"), "{err}");
    assert_eq!(server.requests().len(), 1);

    let server = FakeHttp::start(|_| FakeResponse::json(200, "{\"embeddings\": [[1, 2"));
    let err = RemoteEmbedder::connect(fast(RemoteConfig::new(
        RemoteApi::Ollama,
        &server.url(),
        "m",
    )))
    .unwrap_err()
    .to_string();
    assert!(err.contains("malformed JSON"), "{err}");
}

#[test]
fn timeouts_and_refused_connections_are_retried_then_reported() {
    let server = FakeHttp::start(|_| {
        std::thread::sleep(Duration::from_millis(400));
        FakeResponse::json(200, "{\"embeddings\": [[1, 0, 0]]}")
    });
    let mut config = fast(RemoteConfig::new(RemoteApi::Ollama, &server.url(), "m"));
    config.timeout = Duration::from_millis(100);
    config.retries = 1;
    let err = RemoteEmbedder::connect(config).unwrap_err().to_string();
    assert!(err.contains("gave up after 1 retries"), "{err}");
    assert_eq!(server.requests().len(), 2);

    // Nothing listens on this port once the listener is dropped.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut config = fast(RemoteConfig::new(
        RemoteApi::Ollama,
        &format!("http://127.0.0.1:{port}"),
        "m",
    ));
    config.retries = 1;
    assert!(RemoteEmbedder::connect(config).is_err());
}
