//! `lore map`: ranked by the reference graph, fitted to the token budget,
//! centred on a focus.

mod common;

use common::*;
use serde_json::Value;

/// `core.py` defines what everyone uses; `leaf_*.py` use it and each other
/// not at all; `lonely.py` is used by nobody and uses nothing.
fn repo() -> TestRepo {
    let repo = TestRepo::new();
    repo.write(
        "core.py",
        "class ConnectionPool:\n    def acquire_connection(self):\n        return 1\n\n\ndef parse_settings(text):\n    return text\n",
    );
    for i in 0..5 {
        repo.write(
            &format!("leaf_{i}.py"),
            format!(
                "from core import ConnectionPool, parse_settings\n\n\ndef handler_{i}(raw):\n    pool = ConnectionPool()\n    pool.acquire_connection()\n    return parse_settings(raw)\n"
            ),
        );
    }
    repo.write(
        "lonely.py",
        "def unrelated_helper_function():\n    return 42\n",
    );
    repo.commit("Initial");
    repo
}

fn paths(map: &Value) -> Vec<&str> {
    map["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect()
}

#[test]
fn the_most_used_file_comes_first_and_the_budget_holds() {
    let repo = repo();
    ok(lore(&repo).args(["index", "--no-vectors"]));
    let map = json(&repo, &["map", "--tokens", "2000"]);
    let files = paths(&map);
    assert_eq!(files[0], "core.py", "{map}");
    assert!(
        files.contains(&"lonely.py"),
        "a big budget keeps every file: {map}"
    );
    let text = map["text"].as_str().unwrap();
    assert!(text.starts_with("core.py:\n"), "{text}");
    assert!(text.contains("class ConnectionPool"), "{text}");
    assert!(map["tokens"].as_u64().unwrap() <= 2000);

    // A small budget keeps the best part and never goes over.
    for budget in [5u64, 20, 40] {
        let map = json(&repo, &["map", "--tokens", &budget.to_string()]);
        let tokens = map["tokens"].as_u64().unwrap();
        assert!(tokens <= budget, "{tokens} > {budget}: {map}");
        if budget == 40 {
            assert_eq!(paths(&map), ["core.py"], "{map}");
        }
    }
    let map = json(&repo, &["map", "--tokens", "0"]);
    assert_eq!(map["text"], "");
}

#[test]
fn a_focus_ranks_its_neighbourhood_first() {
    let repo = repo();
    ok(lore(&repo).args(["index", "--no-vectors"]));
    let map = json(&repo, &["map", "--tokens", "2000", "--focus", "leaf_3.py"]);
    let files = paths(&map);
    assert_eq!(files[0], "leaf_3.py", "{map}");
    assert_eq!(files[1], "core.py", "what the focus uses comes next: {map}");

    // A symbol as focus: the files defining it.
    let map = json(&repo, &["map", "--tokens", "2000", "--focus", "handler_2"]);
    assert_eq!(paths(&map)[0], "leaf_2.py", "{map}");

    // At any budget, a focused symbol's own definition is shown first, with
    // the container it sits in.
    for budget in ["12", "16", "25"] {
        let map = json(
            &repo,
            &["map", "--tokens", budget, "--focus", "parse_settings"],
        );
        let text = map["text"].as_str().unwrap();
        assert!(text.contains("def parse_settings"), "{budget}: {text}");
    }
    let map = json(
        &repo,
        &["map", "--tokens", "25", "--focus", "acquire_connection"],
    );
    let text = map["text"].as_str().unwrap();
    assert!(
        text.contains("class ConnectionPool") && text.contains("def acquire_connection"),
        "{text}"
    );

    let out = fails(lore(&repo).args(["map", "--focus", "no_such_thing"]));
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(err.contains("no_such_thing"), "{err}");
}
