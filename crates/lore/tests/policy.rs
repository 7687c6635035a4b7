//! `lore policy`: a retrieval policy trained on queries mined from the
//! repository, its gate, promotion and an exact rollback.

mod common;

use common::*;

fn repo() -> TestRepo {
    let repo = TestRepo::new();
    let topics = [
        (
            "parse_header",
            "Parse an HTTP header line into a name and a value",
        ),
        (
            "retry_request",
            "Send the request again after a delay when the server fails",
        ),
        (
            "hash_password",
            "Hash a password with a random salt for storage",
        ),
        (
            "render_page",
            "Render the page template with the given context",
        ),
        (
            "open_session",
            "Open a database session bound to the current thread",
        ),
        (
            "close_session",
            "Close the database session and release its connection",
        ),
        (
            "send_email",
            "Send an email message through the configured relay",
        ),
        (
            "load_config",
            "Load the configuration file and apply environment overrides",
        ),
        (
            "format_money",
            "Format an amount of money with its currency symbol",
        ),
        (
            "compress_blob",
            "Compress a binary blob before it is written to disk",
        ),
        (
            "validate_token",
            "Check that an access token is signed and not expired",
        ),
        (
            "resize_image",
            "Resize an image to fit inside the given box",
        ),
        (
            "schedule_job",
            "Schedule a job to run at the next free worker slot",
        ),
        (
            "count_words",
            "Count the words of a text, ignoring punctuation",
        ),
    ];
    let mut files = vec![String::new(); 4];
    for (i, (name, doc)) in topics.iter().enumerate() {
        files[i % 4].push_str(&format!(
            "def {name}(value, options=None):\n    \"\"\"{doc}.\"\"\"\n    result = value\n    if options:\n        result = options.get('{name}', value)\n    return result\n\n\n"
        ));
    }
    for (i, text) in files.iter().enumerate() {
        repo.write(&format!("pkg/mod{i}.py"), text);
    }
    repo.commit("code");
    ok(lore(&repo).arg("index"));
    repo
}

#[test]
fn a_policy_is_trained_gated_promoted_and_rolled_back_exactly() {
    let repo = repo();
    let none = ok(lore(&repo).args(["policy", "list"]));
    assert!(none.contains("no retrieval policy trained yet"), "{none}");
    assert!(none.contains("in force: the global policy"), "{none}");

    let before = json(&repo, &["search", "database session", "--limit", "5"]);
    let trained = json(
        &repo,
        &[
            "policy",
            "train",
            "--wait",
            "--queries",
            "50",
            "--margin",
            "1.0",
        ],
    );
    // A margin no policy can clear: the gate refuses, nothing changes.
    assert_eq!(trained["promoted"], false, "{trained}");
    assert_eq!(trained["version"], 1, "{trained}");
    let (train, held) = (
        trained["queries"][0].as_u64().unwrap(),
        trained["queries"][1].as_u64().unwrap(),
    );
    assert_eq!(train + held, 14, "{trained}");
    let verdict = &trained["record"]["verdict"];
    assert!(
        verdict["reason"]
            .as_str()
            .unwrap()
            .contains("under the margin 1"),
        "{verdict}"
    );
    assert!(trained["record"]["weights"]["lexical"].is_number());

    // A version can be put in force by hand, and rolled back to exactly
    // the ranking before.
    let status = json(&repo, &["status"]);
    assert_eq!(
        status["retrieval_policy"]["repository"],
        serde_json::Value::Null
    );
    ok(lore(&repo).args(["policy", "promote", "1"]));
    let listed = json(&repo, &["policy", "list"]);
    assert_eq!(listed["current"], 1, "{listed}");
    // Search ranks with it now.
    let status = json(&repo, &["status"]);
    assert_eq!(status["retrieval_policy"]["repository"], 1, "{status}");
    ok(lore(&repo).args(["policy", "rollback"]));
    let status = json(&repo, &["status"]);
    assert_eq!(
        status["retrieval_policy"]["repository"],
        serde_json::Value::Null
    );
    let after = json(&repo, &["search", "database session", "--limit", "5"]);
    assert_eq!(
        before["hits"], after["hits"],
        "rollback restores the ranking"
    );
    let text = ok(lore(&repo).args(["policy", "list"]));
    assert!(
        text.contains("v1") && text.contains("in force: the global policy"),
        "{text}"
    );
    let shown = ok(lore(&repo).args(["policy", "show", "1"]));
    assert!(shown.contains("lexical"), "{shown}");

    // Without --wait, a queued run that a worker trains.
    let queued = json(&repo, &["policy", "train", "--queries", "50"]);
    assert_eq!(queued["state"], "queued", "{queued}");
    ok(lore(&repo).args(["worker", "--once"]));
    let run = latest_run(&repo, "train-policy");
    assert_eq!(run["state"], "succeeded", "{run}");
    assert_eq!(run["output"]["version"], 2, "{run}");

    let err = fails(lore(&repo).args(["policy", "promote", "7"]));
    assert!(String::from_utf8_lossy(&err.stderr).contains("no retrieval policy version 7"));
    let err = fails(lore(&repo).args(["policy", "rollback"]));
    assert!(String::from_utf8_lossy(&err.stderr).contains("nothing to roll back"));
}

#[test]
fn too_few_documented_functions_are_refused_with_the_reason() {
    let repo = TestRepo::new();
    repo.write(
        "a.py",
        "def f():\n    \"\"\"Do the one thing here.\"\"\"\n    return 1\n",
    );
    repo.commit("one");
    ok(lore(&repo).arg("index"));
    let err = fails(lore(&repo).args(["policy", "train", "--wait"]));
    let stderr = String::from_utf8_lossy(&err.stderr);
    assert!(stderr.contains("too few queries to train"), "{stderr}");
}
