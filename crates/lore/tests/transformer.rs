//! Transformer embedders through the CLI: the local MiniLM model and a
//! remote endpoint; background, resumable and cached embedding; the
//! model-mix guard.

mod common;

use common::*;
use lore_test_support::{FakeHttp, FakeResponse, minilm_dir};
use serde_json::{Value, json as j};

fn repo() -> TestRepo {
    let repo = TestRepo::new();
    repo.write(
        "net/retry.py",
        "def send_with_backoff(session, request):\n    for attempt in range(5):\n        if session.send(request):\n            return True\n        sleep(2 ** attempt)\n    return False\n",
    );
    repo.write(
        "calendar/days.py",
        "def parse_iso_day(text):\n    year, month, day = text.split('-')\n    return Date(int(year), int(month), int(day))\n",
    );
    repo.write(
        "image/resize.py",
        "def shrink_thumbnail(picture, width):\n    ratio = width / picture.width\n    return picture.resize(width, int(picture.height * ratio))\n",
    );
    repo.write(
        "db/pool.py",
        "class ConnectionPool:\n    def acquire(self):\n        return self.idle.pop() if self.idle else self.connect()\n",
    );
    repo.commit("Initial");
    repo
}

fn local_spec() -> String {
    format!("local:{}", minilm_dir().display())
}

fn dense_status(repo: &TestRepo) -> Value {
    json(repo, &["embed", "status"])["dense"].clone()
}

#[test]
fn local_model_vectors_rank_by_meaning() {
    let repo = repo();
    ok(lore(&repo).args(["index", "--embedder", &local_spec(), "--embed", "wait"]));
    let status = json(&repo, &["embed", "status"]);
    assert_eq!(status["embedder"], "local", "{status}");
    let dense = &status["dense"];
    assert_eq!(dense["state"], "ready", "{status}");
    assert_eq!(dense["pending"], 0);
    assert!(
        dense["model"].as_str().unwrap().starts_with("local:"),
        "{status}"
    );
    assert_eq!(
        json(&repo, &["status"])["semantic"]["dense"]["state"],
        "ready"
    );

    // No word of the question appears in the code it should find.
    let hits = json(
        &repo,
        &["search", "make a photo smaller", "--mode", "dense"],
    );
    assert_eq!(hit_paths(&hits)[0], "image/resize.py", "{hits}");
    let hits = json(&repo, &["search", "make a photo smaller", "--explain"]);
    assert_eq!(hit_paths(&hits)[0], "image/resize.py", "{hits}");
    let parts = hits[0]["explain"].as_array().unwrap();
    let dense = parts.iter().find(|p| p["feature"] == "dense").unwrap();
    assert!(dense["value"].as_f64().unwrap() > 0.2, "{hits}");
}

#[test]
fn embedding_resumes_after_a_kill_and_reuses_the_cache_after_reindex() {
    let repo = repo();
    ok(lore(&repo).args(["index", "--embedder", &local_spec(), "--embed", "off"]));
    let chunks = dense_status(&repo)["pending"].as_u64().unwrap();
    assert!(chunks >= 5, "{chunks}");
    assert_eq!(dense_status(&repo)["state"], "pending");

    let run = json(&repo, &["embed", "run", "--limit", "2", "--batch", "1"]);
    assert_eq!(run["embedded"], 2, "{run}");
    let status = dense_status(&repo);
    assert_eq!(status["state"], "partial", "{status}");
    assert_eq!(status["embedded"], 2);
    // Search works on the partial vectors.
    let hits = json(&repo, &["search", "connection", "--mode", "dense"]);
    assert!(!hits.as_array().unwrap().is_empty());

    // Killed right after its first batch was saved.
    fails(
        lore(&repo)
            .args(["embed", "run", "--batch", "1"])
            .env("LORE_FAULT", "dense-after-batch"),
    );
    let run = json(&repo, &["embed", "run"]);
    assert_eq!(run["from_cache"], 3, "{run}");
    assert_eq!(run["embedded"].as_u64().unwrap(), chunks - 3, "{run}");
    assert_eq!(run["pending"], 0);

    // One changed file: only its chunk is embedded again.
    repo.write(
        "calendar/days.py",
        "def parse_iso_day(text):\n    year, month, day = text.split('/')\n    return Date(int(year), int(month), int(day))\n",
    );
    ok(lore(&repo).args(["index", "--embed", "off"]));
    let run = json(&repo, &["embed", "run"]);
    assert_eq!(run["embedded"], 1, "{run}");
    assert_eq!(run["from_cache"].as_u64().unwrap(), chunks - 1, "{run}");
    assert_eq!(dense_status(&repo)["state"], "ready");
}

#[test]
fn changing_the_model_never_mixes_vectors() {
    let repo = repo();
    ok(lore(&repo).args(["index", "--embedder", &local_spec(), "--embed", "wait"]));
    let before = dense_status(&repo)["model"].as_str().unwrap().to_owned();

    ok(lore(&repo).args(["embed", "use", &format!("{}?tokens=32", local_spec())]));
    let status = dense_status(&repo);
    assert_eq!(status["state"], "pending", "{status}");
    assert_eq!(status["model"], Value::Null);
    let out = fails(lore(&repo).args(["search", "photo", "--mode", "dense"]));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no transformer vectors"));
    // The other signals still answer.
    let hits = json(&repo, &["search", "thumbnail"]);
    assert_eq!(hit_paths(&hits)[0], "image/resize.py");

    let run = json(&repo, &["embed", "run"]);
    let after = run["model"].as_str().unwrap();
    assert_ne!(after, before);
    assert!(after.contains(":32:"), "{after}");
    assert_eq!(dense_status(&repo)["model"], after);
}

#[test]
fn index_embeds_in_the_background() {
    let repo = repo();
    ok(lore(&repo).args(["index", "--embedder", &local_spec()]));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    loop {
        let status = dense_status(&repo);
        if status["state"] == "ready" && status["running"] == false {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "never ready: {status}"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}

#[test]
fn remote_embedder_through_the_cli() {
    // Ollama wire format; vectors count letters, so texts sharing words
    // are close.
    let server = FakeHttp::start(|request| {
        let body: Value = serde_json::from_str(&request.body).unwrap();
        let embeddings: Vec<Value> = body["input"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| {
                let mut v = vec![0.0f64; 26];
                for c in t.as_str().unwrap().to_ascii_lowercase().bytes() {
                    if c.is_ascii_lowercase() {
                        v[(c - b'a') as usize] += 1.0;
                    }
                }
                j!(v)
            })
            .collect();
        FakeResponse::json(200, j!({"embeddings": embeddings}).to_string())
    });
    let repo = repo();
    ok(lore(&repo).args(["index", "--embed", "off"]));
    ok(lore(&repo).args(["embed", "use", &format!("ollama:letters@{}", server.url())]));
    let run = json(&repo, &["embed", "run"]);
    assert_eq!(run["pending"], 0, "{run}");
    assert!(
        run["model"]
            .as_str()
            .unwrap()
            .starts_with("ollama:letters@127.0.0.1:")
    );
    let status = json(&repo, &["embed", "status"]);
    assert_eq!(status["embedder"], "ollama");
    assert_eq!(status["dense"]["state"], "ready");
    let hits = json(
        &repo,
        &["search", "ConnectionPool acquire", "--mode", "dense"],
    );
    assert_eq!(hit_paths(&hits)[0], "db/pool.py", "{hits}");
    assert!(server.requests().iter().all(|r| r.path == "/api/embed"));
}

#[test]
fn bad_embedder_specs_fail_with_the_value_at_fault() {
    let repo = repo();
    let out = fails(lore(&repo).args(["index", "--embedder", "bert"]));
    assert!(String::from_utf8_lossy(&out.stderr).contains("\"bert\""));
    ok(lore(&repo).args(["index", "--embed", "off"]));
    let out = fails(lore(&repo).args(["embed", "use", "local:/no/such/model"]));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/no/such/model"));
    let out = fails(lore(&repo).args(["embed", "run"]));
    assert!(String::from_utf8_lossy(&out.stderr).contains("lore embed use"));
}
