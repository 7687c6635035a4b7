//! `lore eval`: metrics on hand-checked query sets, and `--from-docs`.

mod common;

use common::*;
use serde_json::Value;

fn repo() -> TestRepo {
    let repo = TestRepo::new();
    repo.write(
        "src/animals.py",
        r#"def count_herd(herd):
    """Zebra quokka narwhal inventory."""
    return len(herd)


def feed(animal, food):
    """Give the animal some food to eat."""
    animal.eat(food)
"#,
    )
    .write(
        "src/parser.rs",
        "/// Parses one request line.\npub fn parse_request(line: &str) -> usize {\n    line.len()\n}\n",
    );
    repo.commit("Initial");
    ok(lore(&repo).arg("index"));
    repo
}

/// The metrics of `lines` ranked by BM25 alone, so that the ranks are
/// checkable by hand (vectors find a neighbour for any words).
fn eval_file(repo: &TestRepo, lines: &[&str]) -> Value {
    let path = repo.home().join("queries.jsonl");
    std::fs::write(&path, lines.join("\n")).unwrap();
    json(repo, &["eval", path.to_str().unwrap(), "--mode", "lexical"])
}

#[test]
fn metrics_on_a_hand_checked_query_set() {
    let repo = repo();
    let report = eval_file(
        &repo,
        &[
            // Found first, right lines.
            r#"{"query": "parse_request", "expected": [{"path": "src/parser.rs", "start_line": 1, "end_line": 4}]}"#,
            // Right file, wrong lines: a file hit but no span hit.
            r#"{"query": "count_herd", "expected": [{"path": "src/animals.py", "start_line": 100, "end_line": 120}]}"#,
            // Nothing matches.
            r#"{"query": "xylophone", "expected": [{"path": "src/parser.rs", "start_line": 1, "end_line": 4}]}"#,
            "",
        ],
    );
    assert_eq!(report["queries"], 3);
    let r = |level: &str, metric: &str| report[level][metric].as_f64().unwrap();
    assert!(
        (r("file", "recall_at_1") - 2.0 / 3.0).abs() < 1e-9,
        "{report}"
    );
    assert!(
        (r("span", "recall_at_1") - 1.0 / 3.0).abs() < 1e-9,
        "{report}"
    );
    assert!(
        (r("span", "mrr_at_10") - 1.0 / 3.0).abs() < 1e-9,
        "{report}"
    );
    let results = report["results"].as_array().unwrap();
    assert_eq!(results[0]["span_rank"], 1);
    assert_eq!(results[1]["file_rank"], 1);
    assert_eq!(results[1]["span_rank"], Value::Null);
    assert_eq!(results[2]["file_rank"], Value::Null);
    assert!(report["latency"]["p95_ms"].as_f64().unwrap() >= 0.0);
}

#[test]
fn a_bad_query_line_is_named() {
    let repo = repo();
    let path = repo.home().join("bad.jsonl");
    std::fs::write(&path, "{\"query\": \"x\", \"expected\": []}\n").unwrap();
    let out = fails(lore(&repo).args(["eval", path.to_str().unwrap()]));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("bad.jsonl:1"), "{stderr}");
    std::fs::write(&path, "\n{not json\n").unwrap();
    let out = fails(lore(&repo).args(["eval", path.to_str().unwrap()]));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("bad.jsonl:2"), "{stderr}");
}

#[test]
fn from_docs_hides_the_docs_it_queries_with() {
    let repo = repo();
    let saved = repo.home().join("docs.jsonl");
    let report = json(
        &repo,
        &[
            "eval",
            "--from-docs",
            "--save",
            saved.to_str().unwrap(),
            "--mode",
            "lexical",
        ],
    );
    // Three documented functions with a first sentence of 3+ words.
    assert_eq!(report["queries"], 3, "{report}");
    let results = report["results"].as_array().unwrap();
    let zebra = results
        .iter()
        .find(|r| r["query"] == "Zebra quokka narwhal inventory")
        .expect("zebra query");
    assert_eq!(
        zebra["expected"][0],
        serde_json::json!({"path": "src/animals.py", "start_line": 1, "end_line": 3})
    );
    // Its words exist only in its docstring, which the scratch index lacks
    // (by meaning, vectors may still find the file: BM25 cannot).
    assert_eq!(zebra["file_rank"], Value::Null, "{zebra}");
    // The real index is untouched and the scratch index is gone.
    let saved_set = std::fs::read_to_string(&saved).unwrap();
    assert_eq!(saved_set.lines().count(), 3);
    let direct = json(&repo, &["eval", saved.to_str().unwrap()]);
    let zebra_direct = direct["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["query"] == "Zebra quokka narwhal inventory")
        .unwrap();
    assert_eq!(zebra_direct["span_rank"], 1, "{zebra_direct}");
    let leftovers: Vec<_> = std::fs::read_dir(repo.home())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("eval-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn repo_option_accepts_a_relative_path() {
    let repo = repo();
    let parent = repo.path().parent().unwrap();
    let name = repo.path().file_name().unwrap().to_str().unwrap();
    let out = ok(lore_in(&repo, parent).args(["--repo", name, "search", "parse_request"]));
    assert!(out.contains("src/parser.rs"), "{out}");
}

#[test]
fn from_history_asks_commit_subjects_and_expects_their_surviving_hunks() {
    let repo = TestRepo::new();
    let retry_v1 = "def send(request):\n    return request.go()\n\n\ndef retry_request(request):\n    for _ in range(3):\n        send(request)\n";
    let retry_v2 = retry_v1.replace("range(3)", "range(MAX_ATTEMPTS)");
    repo.write("net/retry.py", retry_v1)
        .write("util/dates.py", "def today():\n    return 1\n");
    repo.commit("Initial import of the project");
    repo.write("net/retry.py", &retry_v2);
    repo.commit("Limit retries to MAX_ATTEMPTS attempts");
    // Changed again later: its hunk no longer describes HEAD.
    repo.write("util/dates.py", "def today():\n    return 2\n");
    repo.commit("Return the second day today");
    repo.write("util/dates.py", "def today():\n    return 3\n");
    repo.commit("Return the third day today");
    repo.write("NOTES.md", "tidy\n");
    repo.commit("wip"); // Too short to be a question.
    ok(lore(&repo).arg("index"));

    let saved = repo.home().join("history.jsonl");
    let report = json(
        &repo,
        &[
            "eval",
            "--from-history",
            "--mode",
            "lexical",
            "--save",
            saved.to_str().unwrap(),
        ],
    );
    let queries: Vec<Value> = std::fs::read_to_string(&saved)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let subjects: Vec<&str> = queries
        .iter()
        .map(|q| q["query"].as_str().unwrap())
        .collect();
    // Newest first; the short subject, the superseded change and the root
    // commit (nothing to diff against) are left out.
    assert_eq!(
        subjects,
        [
            "Return the third day today",
            "Limit retries to MAX_ATTEMPTS attempts"
        ],
        "{report}"
    );
    let retry = &queries[1]["expected"];
    assert_eq!(retry.as_array().unwrap().len(), 1, "{retry}");
    assert_eq!(retry[0]["path"], "net/retry.py");
    assert_eq!(retry[0]["start_line"], 6);
    assert_eq!(retry[0]["end_line"], 6);
    assert_eq!(report["queries"], 2);
    // The changed line is inside `retry_request`, which BM25 finds.
    assert_eq!(results_rank(&report, 1), Some(1), "{report}");
}

fn results_rank(report: &Value, i: usize) -> Option<u64> {
    report["results"][i]["span_rank"].as_u64()
}

#[test]
fn from_history_outside_git_is_a_clear_error() {
    let repo = TestRepo::new();
    repo.write("a.py", "def f():\n    return 1\n");
    std::fs::remove_dir_all(repo.path().join(".git")).ok();
    ok(lore(&repo).arg("index"));
    let out = fails(lore(&repo).args(["eval", "--from-history"]));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not a git repository"), "{err}");
}
