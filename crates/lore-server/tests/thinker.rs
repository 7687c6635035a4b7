//! The thinker over HTTP: learning toggle and status, runs, insights,
//! cards, and GitHub webhooks (HMAC: valid, wrong, missing, replayed).

use std::process::Command;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use lore_index::{Home, IndexConfig, index_repo};
use lore_server::{AppState, ServerConfig, router};
use lore_test_support::TestRepo;
use serde_json::{Value, json};
use tower::ServiceExt;

const APP: &str = "def load(user_id):\n    if user_id:\n        return user_id\n    return None\n\n\ndef show(user_id):\n    return load(user_id)\n\n\nif __name__ == \"__main__\":\n    show(1)\n";

fn fixture() -> (TestRepo, String) {
    fixture_with(&[("app.py", APP)])
}

/// A repository of `files`, committed and indexed; its id.
fn fixture_with(files: &[(&str, &str)]) -> (TestRepo, String) {
    let repo = TestRepo::new();
    for (path, text) in files {
        repo.write(path, text);
    }
    repo.commit("initial");
    let id = index(&repo);
    (repo, id)
}

/// Indexes `repo`; its id.
fn index(repo: &TestRepo) -> String {
    let home = Home::at(repo.home());
    let report = index_repo(&home, repo.path(), &IndexConfig::default(), &()).unwrap();
    report
        .data_dir
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned()
}

fn app(repo: &TestRepo, token: Option<&str>) -> Router {
    let mut config = ServerConfig::new(Home::at(repo.home()));
    config.no_llm = true;
    config.token = token.map(str::to_owned);
    router(AppState::new(config))
}

async fn send(app: &Router, request: Request<Body>) -> (StatusCode, Value) {
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    let value = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
    (status, value)
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

fn with_token(mut r: Request<Body>, token: &str) -> Request<Body> {
    r.headers_mut().insert(
        header::AUTHORIZATION,
        format!("Bearer {token}").parse().unwrap(),
    );
    r
}

#[tokio::test]
async fn learning_runs_insights_and_cards_over_http() {
    let (repo, id) = fixture();
    let app = app(&repo, None);
    let (status, body) = send(&app, get(&format!("/learning/status?repo_id={id}"))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["on"], false);

    // A quiet hour half a day from now on the machine's clock, so the
    // queue below runs whenever the test does.
    let quiet = quiet_hour_half_a_day_away();
    let toggle = json!({
        "repo_id": id, "on": true,
        "budgets": {"cpu": "6m/h"}, "quiet_hours": quiet, "cadence": "0 3 * * *",
    });
    let (status, body) = send(&app, post("/learning/toggle", toggle)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["on"], true);
    assert_eq!(body["budgets"]["cpu"]["limit"], "6m/h");
    assert_eq!(body["quiet_hours"], quiet);
    assert_eq!(
        body["queued"], 6,
        "the first map, summaries, smell hunt, retrieval policy and report"
    );
    assert!(
        body["status_line"].as_str().unwrap().contains("6 queued"),
        "{body}"
    );
    let bad = json!({ "repo_id": id, "on": true, "cadence": "0 3 * *" });
    let (status, body) = send(&app, post("/learning/toggle", bad)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["error"].as_str().unwrap().contains("0 3 * *"),
        "{body}"
    );

    // Thoughts that run the repository's code: not from an anonymous
    // request, even on loopback; with the server's token, yes.
    let verify = json!({ "repo_id": id, "on": true, "allow": ["scan-diff", "verify"] });
    let (status, body) = send(&app, post("/learning/toggle", verify.clone())).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("lore learn on --allow verify")
    );
    let guarded = self::app(&repo, Some("t0ken"));
    let (status, body) = send(
        &guarded,
        with_token(post("/learning/toggle", verify), "t0ken"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["allow"], json!(["scan-diff", "verify"]));

    let (status, runs) = send(&app, get(&format!("/runs?repo_id={id}"))).await;
    assert_eq!(status, StatusCode::OK);
    let runs = runs.as_array().unwrap().clone();
    assert_eq!(runs.len(), 6);
    let first = runs[0]["id"].as_i64().unwrap();
    let (status, run) = send(&app, get(&format!("/runs/{first}"))).await;
    assert_eq!(
        (status, run["state"].as_str()),
        (StatusCode::OK, Some("queued"))
    );
    let (status, run) = send(&app, post(&format!("/runs/{first}/cancel"), json!({}))).await;
    assert_eq!(
        (status, run["state"].as_str()),
        (StatusCode::OK, Some("cancelled"))
    );
    let (status, _) = send(&app, post(&format!("/runs/{first}/cancel"), json!({}))).await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, again) = send(&app, post(&format!("/runs/{first}/rerun"), json!({}))).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(again["explicit"], true);
    assert_eq!(
        send(&app, get("/runs/99999")).await.0,
        StatusCode::NOT_FOUND
    );

    // Run the queue; what it found comes back as insights and cards.
    let home = Home::at(repo.home());
    let config = lore_index::worker::WorkerConfig::default();
    while lore_index::worker::run_next(&home, &config)
        .unwrap()
        .is_some()
    {}
    let (status, cards) = send(&app, get(&format!("/cards?repo_id={id}&symbol=load"))).await;
    assert_eq!(status, StatusCode::OK, "{cards}");
    assert_eq!(cards[0]["source"], "facts");
    assert_eq!(cards[0]["callers"][0]["line"], 8);
    let (status, _) = send(&app, get(&format!("/cards?repo_id={id}&symbol=nope"))).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, d) = send(&app, get(&format!("/dossiers?repo_id={id}&path=app.py"))).await;
    assert_eq!((status, d["kind"].as_str()), (StatusCode::OK, Some("file")));
    let (status, _) = send(&app, get(&format!("/dossiers?repo_id={id}&path=../etc"))).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // MapRepo's overview, served only while it matches its checksum.
    let (_, all_runs) = send(&app, get(&format!("/runs?repo_id={id}"))).await;
    let map_id = all_runs
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["kind"] == "map-repo" && r["state"] == "succeeded")
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let (status, run) = send(&app, get(&format!("/runs/{map_id}"))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(run["artifacts"][0]["name"], "overview.md", "{run}");
    let (status, text) = send(&app, get(&format!("/runs/{map_id}/artifacts/overview.md"))).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        text.as_str().unwrap().starts_with("# Repository overview"),
        "{text}"
    );
    let file = Home::at(repo.home())
        .layout(&repo.path().canonicalize().unwrap())
        .dir()
        .join(format!("runs/{map_id}/overview.md"));
    std::fs::write(&file, "tampered").unwrap();
    let (status, _) = send(&app, get(&format!("/runs/{map_id}/artifacts/overview.md"))).await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, _) = send(&app, get(&format!("/runs/{map_id}/artifacts/nope.md"))).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let (status, insights) = send(&app, get(&format!("/insights?repo_id={id}"))).await;
    assert_eq!(status, StatusCode::OK);
    let all = insights.as_array().unwrap();
    assert_eq!(all[0]["kind"], "entry-points", "{insights}");
    let iid = all[0]["id"].as_i64().unwrap();
    let (status, one) = send(
        &app,
        post(&format!("/insights/{iid}"), json!({"status": "dismissed"})),
    )
    .await;
    assert_eq!(
        (status, one["status"].as_str()),
        (StatusCode::OK, Some("dismissed"))
    );
    let (_, dismissed) = send(
        &app,
        get(&format!("/insights?repo_id={id}&filter=dismissed")),
    )
    .await;
    assert_eq!(dismissed[0]["id"], iid);
    let (status, _) = send(
        &app,
        post(&format!("/insights/{iid}"), json!({"status": "gone"})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = send(&app, post("/insights/424242", json!({"status": "read"}))).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

/// A provider answering every chat with `reply` (model `m`), configured
/// in the repository's Lore home; dropping it stops it.
fn fake_provider(repo: &TestRepo, reply: &'static str) -> lore_test_support::FakeHttp {
    let server = lore_test_support::fake_chat("m", reply);
    lore_test_support::configure_provider(repo.home(), &server, "m");
    server
}

fn quiet_hour_half_a_day_away() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let local = now + i64::from(lore_store::local_offset_min(now)) * 60_000;
    let hour = (local.rem_euclid(86_400_000) / 3_600_000 + 12) % 24;
    format!("{hour:02}:00-{:02}:00", (hour + 1) % 24)
}

fn git(dir: &std::path::Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(["-c", "user.name=T", "-c", "user.email=t@example.com"])
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

fn delivery(body: &Value, signature: Option<&str>, id: &str, event: &str) -> Request<Body> {
    let mut r = Request::post("/webhooks/github")
        .header(header::CONTENT_TYPE, "application/json")
        .header("x-github-event", event)
        .header("x-github-delivery", id);
    if let Some(s) = signature {
        r = r.header("x-hub-signature-256", s);
    }
    r.body(Body::from(body.to_string())).unwrap()
}

#[tokio::test]
async fn github_webhooks_are_signed_never_replayed_and_queue_a_fetching_digest() {
    let (repo, id) = fixture();
    // A remote the push lands in, and a second clone pushing to it.
    let scratch = tempfile::tempdir().unwrap();
    let bare = scratch.path().join("shop.git");
    git(
        scratch.path(),
        &[
            "clone",
            "-q",
            "--bare",
            repo.path().to_str().unwrap(),
            "shop.git",
        ],
    );
    repo.git(&["remote", "add", "origin", bare.to_str().unwrap()]);
    let other = scratch.path().join("other");
    git(
        scratch.path(),
        &["clone", "-q", bare.to_str().unwrap(), "other"],
    );
    std::fs::write(other.join("extra.py"), "def extra():\n    return 2\n").unwrap();
    git(&other, &["add", "."]);
    git(&other, &["commit", "-q", "-m", "extra"]);
    git(&other, &["push", "-q", "origin", "HEAD"]);
    let before = repo.git(&["rev-parse", "HEAD"]);
    let after = git(&other, &["rev-parse", "HEAD"]);

    let home = Home::at(repo.home());
    let app = app(&repo, Some("api-token"));
    let push = json!({
        "ref": "refs/heads/main", "before": before, "after": after,
        "repository": { "clone_url": bare.to_str().unwrap(), "full_name": "o/shop" },
    });
    let (status, body) = send(&app, delivery(&push, Some("sha256=00"), "d0", "push")).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "no secret yet: {body}");
    let (secret, new) = lore_server::security::create_webhook_secret(home.path(), false).unwrap();
    assert!(new);
    let signed = lore_server::security::sign(secret.as_bytes(), push.to_string().as_bytes());

    let (status, _) = send(&app, delivery(&push, None, "d1", "push")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "missing signature");
    let wrong = lore_server::security::sign(b"another secret", push.to_string().as_bytes());
    let (status, _) = send(&app, delivery(&push, Some(&wrong), "d2", "push")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "wrong signature");
    // Signed right but learning is off: nothing to do for it.
    let (status, body) = send(&app, delivery(&push, Some(&signed), "d3", "push")).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");

    let settings = lore_index::learning::Settings {
        allow: Some(vec!["scan-diff".into()]),
        ..Default::default()
    };
    lore_index::learning::toggle(&home, &id, true, &settings).unwrap();
    let (status, body) = send(&app, delivery(&push, Some(&signed), "d4", "push")).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let run = body["queued"][0].as_i64().unwrap();
    let (status, body) = send(&app, delivery(&push, Some(&signed), "d4", "push")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        body["ignored"].as_str().unwrap().contains("replayed"),
        "{body}"
    );
    let ping = json!({ "zen": "Keep it logically awesome." });
    let ping_sig = lore_server::security::sign(secret.as_bytes(), ping.to_string().as_bytes());
    let (status, body) = send(&app, delivery(&ping, Some(&ping_sig), "d5", "ping")).await;
    assert_eq!(
        (status, body["pong"].as_bool()),
        (StatusCode::OK, Some(true))
    );

    // The run fetches the pushed commits with git, then digests them.
    let present = |sha: &str| {
        Command::new("git")
            .args(["cat-file", "-e", sha])
            .current_dir(repo.path())
            .status()
            .unwrap()
            .success()
    };
    assert!(!present(&after), "not fetched yet");
    let config = lore_index::worker::WorkerConfig::default();
    while lore_index::worker::run_next(&home, &config)
        .unwrap()
        .is_some()
    {}
    let (status, done) = send(&app, with_token(get(&format!("/runs/{run}")), "api-token")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(done["state"], "succeeded", "{done}");
    assert_eq!(done["input"]["fetch"], "origin");
    assert_eq!(done["output"]["symbols"], 1, "extra() added: {done}");
    assert!(present(&after));
}

#[tokio::test]
async fn risks_and_findings_over_http() {
    let (repo, id) = fixture_with(&[
        ("app.py", APP),
        (
            "run.py",
            "import subprocess\n\n\ndef go(cmd):\n    subprocess.run(f\"ls {cmd}\", shell=True)\n",
        ),
    ]);
    let app = app(&repo, None);

    let (status, body) = send(&app, get(&format!("/risks?repo_id={id}"))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let files = body.as_array().unwrap();
    assert_eq!(files.len(), 2);
    assert_eq!(files[0]["rank"], 1);
    assert!(files[0]["features"]["lines"].is_number());
    let (status, body) = send(
        &app,
        get(&format!(
            "/risks?repo_id={id}&level=function&top=1&explain=true"
        )),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body.as_array().unwrap().len(), 1);
    assert!(
        body[0]["symbol"].is_string() && body[0]["contributions"].is_object(),
        "{body}"
    );
    let (status, body) = send(&app, get(&format!("/risks?repo_id={id}&level=module"))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["error"].as_str().unwrap().contains("module"), "{body}");
    let (status, _) = send(&app, get("/risks?repo_id=nope")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let (status, body) = send(&app, get(&format!("/findings?repo_id={id}&severity=high"))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body[0]["rule"], "security/shell-format", "{body}");
    assert_eq!(body[0]["path"], "run.py");
    let (status, _) = send(
        &app,
        get(&format!("/findings?repo_id={id}&severity=urgent")),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    let (_, spec) = send(&app, get("/openapi.json")).await;
    assert!(spec["paths"]["/risks"].is_object() && spec["paths"]["/findings"].is_object());
    assert!(spec["paths"]["/risks/why"].is_object());
}

/// The function card of the heatmap: each reason with its evidence — the
/// fix commit behind `past_fixes`, the finding's lines, the referring file.
#[tokio::test]
async fn why_a_file_and_a_function_are_risky() {
    let repo = TestRepo::new();
    repo.write("app.py", APP);
    repo.write(
        "run.py",
        "import subprocess\n\n\ndef go(cmd):\n    subprocess.run(f\"ls {cmd}\", shell=True)\n\n\ndef calm():\n    return 1\n",
    );
    repo.commit("initial");
    repo.advance_days(3);
    repo.write(
        "run.py",
        "import subprocess\n\n\ndef go(cmd):\n    if not cmd:\n        return None\n    subprocess.run(f\"ls {cmd}\", shell=True)\n\n\ndef calm():\n    return 1\n",
    );
    let fix = repo.commit("Fix crash when cmd is empty");
    let id = index(&repo);
    let app = app(&repo, None);

    let (status, card) = send(&app, get(&format!("/risks/why?repo_id={id}&path=run.py"))).await;
    assert_eq!(status, StatusCode::OK, "{card}");
    assert_eq!(card["path"], "run.py");
    let reasons = card["reasons"].as_array().unwrap();
    assert_eq!(reasons.len(), 10, "one reason per feature: {card}");
    let reason = |name: &str| {
        reasons
            .iter()
            .find(|r| r["feature"] == name)
            .unwrap()
            .clone()
    };
    let fixes = reason("past_fixes");
    assert!(
        fixes["text"].as_str().unwrap().starts_with("1 bug-fix"),
        "{fixes}"
    );
    assert_eq!(fixes["evidence"][0]["commit"], fix.as_str(), "{fixes}");
    assert!(
        fixes["evidence"][0]["note"]
            .as_str()
            .unwrap()
            .contains("Fix crash")
    );
    assert_eq!(reason("commits")["evidence"].as_array().unwrap().len(), 2);
    // Contributions are sorted, the largest first.
    let c: Vec<f64> = reasons
        .iter()
        .map(|r| r["contribution"].as_f64().unwrap())
        .collect();
    assert!(c.windows(2).all(|w| w[0] >= w[1]), "{c:?}");
    // Its functions, riskiest first: `go` has the finding and the branch.
    let functions = card["functions"].as_array().unwrap();
    assert_eq!(functions.len(), 2, "{card}");
    assert_eq!(functions[0]["symbol"], "go");

    let (status, card) = send(
        &app,
        get(&format!("/risks/why?repo_id={id}&path=run.py&symbol=go")),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{card}");
    assert_eq!(
        (card["start_line"].as_u64(), card["end_line"].as_u64()),
        (Some(4), Some(7))
    );
    assert!(card.get("functions").is_none(), "{card}");
    let findings = card["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["feature"] == "findings")
        .unwrap()
        .clone();
    let rules: Vec<&str> = findings["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["note"].as_str().unwrap())
        .collect();
    assert!(
        rules.iter().any(|n| n.starts_with("security/shell-format")),
        "{findings}"
    );
    assert!(
        findings["evidence"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["start_line"] == 7)
    );

    let (status, body) = send(
        &app,
        get(&format!("/risks/why?repo_id={id}&path=run.py&symbol=nope")),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["error"].as_str().unwrap().contains("no function nope"),
        "{body}"
    );
    let (status, body) = send(&app, get(&format!("/risks/why?repo_id={id}&path=gone.py"))).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert!(
        body["error"].as_str().unwrap().contains("gone.py"),
        "{body}"
    );
}

#[tokio::test]
async fn impact_over_http() {
    let (repo, id) = fixture();
    let app = app(&repo, None);
    let (status, body) = send(
        &app,
        post("/impact", json!({"repo_id": id, "target": "load"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["target"]["kind"], "symbol", "{body}");
    let caller = &body["symbols"][0];
    assert_eq!(caller["symbol"], "show", "{body}");
    assert_eq!(caller["edge"], "resolved", "{body}");
    assert_eq!(caller["distance"], 1, "{body}");

    let (status, body) = send(
        &app,
        post("/impact", json!({"repo_id": id, "target": "nothing_here"})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        body["error"].as_str().unwrap().contains("nothing_here"),
        "{body}"
    );
    let (status, body) = send(
        &app,
        post(
            "/impact",
            json!({"repo_id": id, "target": "load", "depth": 9}),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        body["error"].as_str().unwrap().contains("depth 9"),
        "{body}"
    );
}

#[tokio::test]
async fn diagnose_over_http() {
    let (repo, id) = fixture();
    let app = app(&repo, None);
    let (status, body) = send(
        &app,
        post(
            "/diagnose",
            json!({"repo_id": id, "symptom": "load returns None for user_id 0", "limit": 3}),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body[0]["path"], "app.py", "{body}");
    assert!(
        body[0]["evidence"]
            .as_array()
            .is_some_and(|e| !e.is_empty()),
        "{body}"
    );
    let (status, body) = send(
        &app,
        post("/diagnose", json!({"repo_id": id, "symptom": ""})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");

    // A hypothesis asked for with no provider: the places, and null.
    let ask =
        json!({"repo_id": id, "symptom": "load returns None", "limit": 3, "hypothesis": true});
    let (status, body) = send(&app, post("/diagnose", ask.clone())).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["places"][0]["path"], "app.py", "{body}");
    assert!(body["hypothesis"].is_null(), "{body}");
    // With one: the model's text, its citation of evidence 1 checked.
    let _server = fake_provider(&repo, "`load` returns None [1:1]; see [4:2].");
    let (status, body) = send(&app, post("/diagnose", ask)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let h = &body["hypothesis"];
    assert_eq!(h["model"], "m", "{body}");
    assert_eq!(h["citations"][0]["path"], "app.py", "{body}");
    assert_eq!(h["rejected"][0]["text"], "[4:2]", "{body}");
}

#[tokio::test]
async fn review_over_http() {
    let (repo, id) = fixture();
    repo.write(
        "app.py",
        format!("{APP}\n\ndef run(expr):\n    return eval(expr)\n"),
    );
    repo.commit("Run expressions");
    let app = app(&repo, None);
    let (status, body) = send(&app, post("/review", json!({"repo_id": id}))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let rules: Vec<&str> = body["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap())
        .collect();
    assert!(rules.contains(&"security/eval"), "{body}");
    let (status, body) = send(
        &app,
        post("/review", json!({"repo_id": id, "format": "sarif"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["version"], "2.1.0", "{body}");
    assert!(
        body["runs"][0]["results"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["ruleId"] == "security/eval"),
        "{body}"
    );
    let (status, body) = send(
        &app,
        post("/review", json!({"repo_id": id, "format": "xml"})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");

    // With a provider: its comment on the added lines (evidence 1 is
    // lines 10-16 of the new app.py), kept because its citation verifies.
    let _server = fake_provider(
        &repo,
        "- `run` evaluates whatever it is given [1:15-16]\n- made up [3:1]\n",
    );
    let (status, body) = send(&app, post("/review", json!({"repo_id": id}))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let comments: Vec<&Value> = body["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == "review/model-comment")
        .collect();
    assert_eq!(comments.len(), 1, "{body}");
    assert_eq!(comments[0]["start_line"], 15, "{body}");
    let (_, body) = send(
        &app,
        post("/review", json!({"repo_id": id, "no_llm": true})),
    )
    .await;
    assert!(
        body["findings"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["rule"] != "review/model-comment"),
        "{body}"
    );
}
