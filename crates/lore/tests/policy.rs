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
    assert_eq!(train + held, 28, "{trained}");
    // Each function's doc (doc hidden) and name in words ("parse header");
    // one commit whose subject is too short to be a question.
    let sources = &trained["record"]["sources"];
    assert_eq!(
        (&sources["doc"], &sources["identifier"]),
        (&serde_json::json!(14), &serde_json::json!(14)),
        "{trained}"
    );
    assert!(sources["history"].is_null(), "{trained}");
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
    assert!(before.as_array().is_some_and(|h| !h.is_empty()), "{before}");
    assert_eq!(before, after, "rollback restores the ranking");
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

    // A/B: a challenger against the version in force, shown by the
    // listing and the report.
    let ab = json(&repo, &["policy", "ab", "2"]);
    assert_eq!(ab["ab"]["challenger"], 2, "{ab}");
    let text = ok(lore(&repo).args(["policy", "list"]));
    assert!(text.contains("A/B: v2 against it"), "{text}");
    let report = json(&repo, &["report", "--since", "30d"]);
    assert_eq!(report["ab"]["running"]["challenger"], 2, "{report}");
    assert_eq!(report["policies"].as_array().unwrap().len(), 2);
    assert_eq!(
        report["retrieval_policy"]["repository"],
        serde_json::Value::Null
    );
    assert_eq!(report["feedback"]["answers"], 0);
    let text = ok(lore(&repo).arg("report"));
    assert!(text.contains("A/B running: challenger v2"), "{text}");
    assert!(
        text.contains("retrieval policy in force: global v4"),
        "{text}"
    );
    let err = fails(lore(&repo).args(["report", "--since", "7w"]));
    assert!(String::from_utf8_lossy(&err.stderr).contains("--since \"7w\""));
    // Putting the challenger in force ends the comparison.
    let promoted = json(&repo, &["policy", "promote", "2"]);
    assert!(promoted["ab"].is_null(), "{promoted}");
    ok(lore(&repo).args(["policy", "rollback"]));
    let err = fails(lore(&repo).args(["policy", "ab", "9"]));
    assert!(String::from_utf8_lossy(&err.stderr).contains("no retrieval policy version 9"));

    let err = fails(lore(&repo).args(["policy", "promote", "7"]));
    assert!(String::from_utf8_lossy(&err.stderr).contains("no retrieval policy version 7"));
    let err = fails(lore(&repo).args(["policy", "rollback"]));
    assert!(String::from_utf8_lossy(&err.stderr).contains("nothing to roll back"));
}

/// Twenty functions whose tests repeat their doc's words: the global
/// policy ranks a dozen tests above each function once its doc is hidden;
/// a policy trained on the repository learns that tests are rarely the
/// answer.
fn tested_repo() -> TestRepo {
    let repo = TestRepo::new();
    let topics = [
        (
            "parse_header",
            "parse an http header line into a name and a value",
        ),
        (
            "retry_request",
            "send the request again after a delay when the server fails",
        ),
        (
            "hash_password",
            "hash a password with a random salt for storage",
        ),
        (
            "render_page",
            "render the page template with the given context",
        ),
        (
            "open_session",
            "open a database session bound to the current thread",
        ),
        (
            "send_email",
            "send an email message through the configured relay",
        ),
        (
            "load_config",
            "load the configuration file and apply environment overrides",
        ),
        (
            "format_money",
            "format an amount of money with its currency symbol",
        ),
        (
            "compress_blob",
            "compress a binary blob before it is written to disk",
        ),
        (
            "validate_token",
            "check that an access token is signed and not expired",
        ),
        (
            "resize_image",
            "resize an image to fit inside the given box",
        ),
        (
            "schedule_job",
            "schedule a job to run at the next free worker slot",
        ),
        (
            "count_words",
            "count the words of a text ignoring punctuation",
        ),
        (
            "merge_sorted",
            "merge two sorted lists into one sorted list",
        ),
        (
            "escape_html",
            "escape the html special characters of a string",
        ),
        (
            "rotate_logs",
            "rotate the log files when they grow too large",
        ),
        (
            "cache_result",
            "cache the result of a slow call for a while",
        ),
        (
            "sign_upload",
            "sign an upload url so a client may put a file",
        ),
        (
            "throttle_calls",
            "throttle calls to at most a number per second",
        ),
        (
            "export_report",
            "export the monthly report as a spreadsheet",
        ),
    ];
    let names = [
        "amber_gate",
        "birch_loop",
        "cedar_hook",
        "delta_fold",
        "ember_mark",
        "fjord_tide",
        "garnet_step",
        "harbor_lift",
        "iris_knot",
        "jasper_turn",
        "kelp_drift",
        "lumen_cast",
        "maple_spin",
        "nectar_hold",
        "onyx_sweep",
        "pine_latch",
        "quartz_bend",
        "raven_call",
        "sable_press",
        "topaz_weave",
    ];
    for (i, ((_, doc), name)) in topics.iter().zip(names).enumerate() {
        let words: Vec<&str> = doc.split(' ').collect();
        // The body names two of the doc's words; the tests say them all.
        let long: Vec<&str> = words.iter().copied().filter(|w| w.len() > 4).collect();
        let (a, b) = (long[long.len() - 2], long[long.len() - 1]);
        let code = format!(
            "def {name}(value, options=None):\n    \"\"\"{doc}.\"\"\"\n    {a} = value\n    {b} = options or {{}}\n    return {b}.get('{a}', {a})\n"
        );
        repo.write(&format!("pkg/mod{i}.py"), &code);
        let mut tests = format!("from pkg.mod{i} import {name}\n\n");
        for case in 0..12 {
            let mut said = words.clone();
            said.rotate_left(case % words.len());
            tests.push_str(&format!(
                "\ndef test_case_{case}():\n    # {}\n    assert {name}({case}) == {case}\n",
                said.join(" ")
            ));
        }
        repo.write(&format!("tests/test_mod{i}.py"), &tests);
    }
    repo.commit("code and tests");
    ok(lore(&repo).arg("index"));
    repo
}

#[test]
fn a_policy_trained_on_the_repository_learns_its_tests_are_rarely_the_answer() {
    let repo = tested_repo();
    let query = "send an email message through the configured relay";
    let before = json(&repo, &["search", query, "--limit", "3"]);
    let trained = json(&repo, &["policy", "train", "--wait", "--queries", "100"]);
    let verdict = &trained["record"]["verdict"];
    assert_eq!(trained["promoted"], true, "{trained}");
    // On the held-out doc queries (current, candidate).
    let doc = &verdict["sources"]["doc"];
    let (cur, cand) = (
        doc[0]["mrr10"].as_f64().unwrap(),
        doc[1]["mrr10"].as_f64().unwrap(),
    );
    assert!(
        cand > cur + 0.2,
        "held-out MRR@10 {cur} → {cand}: {verdict}"
    );
    let test_weight = trained["record"]["weights"]["test"].as_f64().unwrap();
    assert!(test_weight < 0.0, "{trained}");
    // The repository's prose → code words, learned from the training
    // split, kept with the version.
    let status = json(&repo, &["status"]);
    let table =
        std::path::PathBuf::from(status["data_dir"].as_str().unwrap()).join("translation-v1.json");
    let table: serde_json::Value = serde_json::from_slice(&std::fs::read(&table).unwrap()).unwrap();
    assert!(table["pairs"].as_u64().unwrap() >= 10, "{table}");
    assert!(trained["record"]["weights"]["translation"].is_number());
    // The definition now comes first (its doc is indexed here: the
    // search finds it by name and by doc as well).
    let after = json(&repo, &["search", query, "--limit", "3"]);
    assert_eq!(after[0]["path"], "pkg/mod5.py", "{after}");
    let status = json(&repo, &["status"]);
    assert_eq!(status["retrieval_policy"]["repository"], 1, "{status}");
    // Rolled back, the ranking is exactly the global policy's again.
    ok(lore(&repo).args(["policy", "rollback"]));
    let back = json(&repo, &["search", query, "--limit", "3"]);
    assert!(before.as_array().is_some_and(|h| h.len() == 3), "{before}");
    assert_eq!(before, back);
    assert_ne!(before, after, "the trained policy ranked differently");

    // People's corrections become feedback queries, and the place they
    // named gains utility.
    let answer = json(&repo, &["ask", "how are calls throttled per second?"]);
    let id = answer["answer_id"].as_i64().unwrap().to_string();
    ok(lore(&repo).args(["feedback", &id, "down", "--correct", "pkg/mod18.py:1-6"]));
    let retrained = json(&repo, &["policy", "train", "--wait", "--queries", "100"]);
    assert_eq!(retrained["record"]["sources"]["feedback"], 1, "{retrained}");
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

#[test]
fn the_report_thought_measures_quality_once_per_run_and_the_report_shows_it() {
    let repo = repo();
    ok(lore(&repo).args(["learn", "on"]));
    ok(lore(&repo).args(["worker", "--once"]));
    let run = latest_run(&repo, "report");
    assert_eq!(run["state"], "succeeded", "{run}");
    let log = run["log"].as_array().unwrap();
    assert!(
        log.iter()
            .any(|l| l.as_str().unwrap().starts_with("span R@10")),
        "{run}"
    );
    // The cadence's policy training ran too, on the same mined queries.
    assert_eq!(latest_run(&repo, "train-policy")["state"], "succeeded");
    let report = json(&repo, &["report"]);
    let quality = report["quality"].as_array().unwrap();
    assert_eq!(quality.len(), 1, "{report}");
    assert_eq!(quality[0]["queries"], 14, "{report}");
    assert!(quality[0]["span_r10"].as_f64().unwrap() > 0.5, "{report}");
    // A rerun is another run: a second point.
    let id = run["id"].to_string();
    ok(lore(&repo).args(["runs", "rerun", &id]));
    ok(lore(&repo).args(["worker", "--once"]));
    let report = json(&repo, &["report"]);
    assert_eq!(report["quality"].as_array().unwrap().len(), 2, "{report}");
    let text = ok(lore(&repo).arg("report"));
    assert!(text.contains("quality 20"), "{text}");
}
