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

fn eval_file(repo: &TestRepo, lines: &[&str]) -> Value {
    let path = repo.home().join("queries.jsonl");
    std::fs::write(&path, lines.join("\n")).unwrap();
    json(repo, &["eval", path.to_str().unwrap()])
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
        &["eval", "--from-docs", "--save", saved.to_str().unwrap()],
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
    // Its words exist only in its docstring, which the scratch index lacks.
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
