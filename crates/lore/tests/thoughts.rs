//! The thinker's thoughts end to end: `lore learn on` maps and summarizes
//! the repository (MapRepo, Summarize, Prioritize), cards and dossiers come
//! back from the fact store (stale once the code moves), ScanDiff's
//! insights, and the insights feed's statuses.

mod common;

use common::*;
use serde_json::Value;

const APP: &str = r#""""The shop's web application: routes for users and orders."""
from flask import Flask

app = Flask(__name__)


def load_user(user_id):
    """Fetch a user by id, or None."""
    if user_id is None or user_id < 0:
        return None
    return {"id": user_id}


@app.route("/users/<int:user_id>", methods=["GET"])
def user(user_id):
    found = load_user(user_id)
    if found:
        return found
    return ("missing", 404)


@app.post("/orders")
def order():
    return load_user(1)
"#;

const TEST: &str = r#"from app import load_user


def test_load_user():
    assert load_user(3) == {"id": 3}
"#;

/// Blanks what differs between runs (commits, hashes, times) so a snapshot
/// holds only what the thought decided.
fn stable(mut v: Value) -> Value {
    for key in ["commit", "file_hash"] {
        if v.get(key).is_some() {
            v[key] = Value::from("[redacted]");
        }
    }
    if v["churn"].is_object() {
        v["churn"]["last_change"] = Value::from("[time]");
    }
    v
}

fn thinker_repo() -> TestRepo {
    let repo = TestRepo::new();
    repo.write("app.py", APP);
    repo.write("tests/test_app.py", TEST);
    repo.commit_as("Ada <ada@example.com>", "Shop app");
    ok(lore(&repo).arg("index"));
    repo
}

#[test]
fn learning_on_maps_and_summarizes_and_cards_come_from_the_facts() {
    let repo = thinker_repo();
    ok(lore(&repo).args(["learn", "on"]));
    let queued = json(&repo, &["runs"]);
    let mut kinds: Vec<&str> = queued
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["kind"].as_str().unwrap())
        .collect();
    kinds.sort();
    assert_eq!(
        kinds,
        [
            "map-repo",
            "prioritize",
            "report",
            "smell-hunt",
            "summarize",
            "train-policy"
        ]
    );
    ok(lore(&repo).args(["worker", "--once"]));
    let runs = json(&repo, &["runs"]);
    for run in runs.as_array().unwrap() {
        assert_eq!(run["state"], "succeeded", "{run}");
        assert!(run["log"].as_array().unwrap().len() >= 2, "{run}");
    }
    // MapRepo keeps the overview as an artifact, with its checksum.
    let map_run = runs
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["kind"] == "map-repo")
        .unwrap();
    let shown = json(&repo, &["runs", "show", &map_run["id"].to_string()]);
    let artifact = &shown["artifacts"][0];
    assert_eq!(artifact["name"], "overview.md");
    let home = lore_index::Home::at(repo.home());
    let path = home
        .layout(&repo.path().canonicalize().unwrap())
        .dir()
        .join("runs")
        .join(map_run["id"].to_string())
        .join("overview.md");
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.starts_with("# Repository overview"), "{text}");
    assert!(text.contains("`app.py:14`"), "the route, cited: {text}");
    assert_eq!(artifact["bytes"], text.len());
    assert_eq!(artifact["sha256"].as_str().unwrap().len(), 64);

    // MapRepo found the routes and the framework, cited by line.
    let insights = json(&repo, &["insights", "--kind", "entry-points"]);
    let entry = &insights[0];
    assert_eq!(
        entry["title"],
        "2 entry points: 2 routes, 0 commands, 0 main"
    );
    assert_eq!(entry["evidence"][0]["path"], "app.py");
    assert_eq!(
        entry["evidence"][0]["start_line"],
        line_of(APP, "@app.route")
    );
    assert_eq!(
        entry["evidence"][1]["start_line"],
        line_of(APP, "@app.post")
    );

    let cards = json(&repo, &["card", "load_user"]);
    assert_eq!(cards.as_array().unwrap().len(), 1);
    let card = &cards[0];
    assert_eq!(card["source"], "facts", "written by Summarize");
    assert_eq!(card["stale"], false);
    insta::assert_json_snapshot!("card_load_user", stable(card.clone()));

    let dossier = json(&repo, &["dossier", "app.py"]);
    assert_eq!(dossier["source"], "facts");
    insta::assert_json_snapshot!("dossier_app", stable(dossier));
    let dir = json(&repo, &["dossier", "tests"]);
    assert_eq!(dir["kind"], "directory");
    assert_eq!(dir["dependencies"][0]["module"], ".");

    // The code moves: the card says so until Summarize runs again.
    repo.write("app.py", APP.replace("user_id < 0", "user_id < 1"));
    repo.commit_as("Grace <grace@example.com>", "Ids start at 1");
    ok(lore(&repo).arg("index"));
    let card = &json(&repo, &["card", "app.py:load_user"])[0];
    assert_eq!(card["stale"], true);
    ok(lore(&repo).args(["worker", "--once"]));
    let card = &json(&repo, &["card", "load_user"])[0];
    assert_eq!(
        card["stale"], false,
        "ScanDiff queued a Summarize of app.py"
    );
    assert_eq!(card["owners"].as_array().unwrap().len(), 2);
    let changes = json(&repo, &["insights", "--kind", "change"]);
    assert_eq!(changes.as_array().unwrap().len(), 1);
    let change = &changes[0];
    assert!(
        change["title"].as_str().unwrap().contains("1 modified"),
        "{change}"
    );
    assert_eq!(change["evidence"][0]["path"], "app.py");
    assert_eq!(
        change["evidence"][0]["start_line"],
        line_of(APP, "def load_user")
    );

    // Unknown symbols and paths are named in the error.
    let out = fails(lore(&repo).args(["card", "no_such_function"]));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no_such_function"));
    let out = fails(lore(&repo).args(["dossier", "nowhere.py"]));
    assert!(String::from_utf8_lossy(&out.stderr).contains("nowhere.py"));
}

#[test]
fn removing_a_function_still_called_is_an_insight_and_statuses_stick() {
    let repo = thinker_repo();
    ok(lore(&repo).args(["learn", "on", "--allow", "scan-diff"]));
    assert_eq!(
        json(&repo, &["runs"]).as_array().unwrap().len(),
        0,
        "only digests allowed"
    );
    let without = APP.replace(
        "def load_user(user_id):\n    \"\"\"Fetch a user by id, or None.\"\"\"\n    if user_id is None or user_id < 0:\n        return None\n    return {\"id\": user_id}\n",
        "",
    );
    assert_ne!(without, APP);
    repo.write("app.py", without.as_str());
    repo.commit("Drop load_user");
    ok(lore(&repo).arg("index"));
    ok(lore(&repo).args(["worker", "--once"]));
    let broken = json(&repo, &["insights", "--kind", "broken-reference"]);
    let found = &broken[0];
    assert_eq!(found["severity"], "medium");
    assert!(
        found["title"].as_str().unwrap().contains("load_user"),
        "{found}"
    );
    let cited: Vec<&str> = found["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["path"].as_str().unwrap())
        .collect();
    assert!(cited.contains(&"tests/test_app.py"), "{cited:?}");
    let id = found["id"].as_i64().unwrap().to_string();
    ok(lore(&repo).args(["insights", "dismiss", &id]));
    assert_eq!(
        json(&repo, &["insights", "--status", "dismissed"])[0]["id"],
        found["id"]
    );
    assert_eq!(
        json(
            &repo,
            &["insights", "--status", "new", "--kind", "broken-reference"]
        ),
        serde_json::json!([])
    );
    // No Summarize was allowed: nothing but the digest ran.
    let kinds: Vec<String> = json(&repo, &["runs"])
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["kind"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(kinds, ["scan-diff"]);
    let out = fails(lore(&repo).args(["insights", "read", "999"]));
    assert!(String::from_utf8_lossy(&out.stderr).contains("999"));
}

#[test]
fn purging_a_path_removes_what_the_thoughts_derived_from_it() {
    let repo = thinker_repo();
    ok(lore(&repo).args(["learn", "on"]));
    ok(lore(&repo).args(["worker", "--once"]));
    let count = |sql: &str| -> i64 {
        let db = rusqlite::Connection::open(repo.home().join("thinker.db")).unwrap();
        db.query_row(sql, [], |r| r.get(0)).unwrap()
    };
    let about_app = "SELECT count(*) FROM facts WHERE instr(scope, 'file:app.py') > 0 OR instr(value, '\"app.py') > 0";
    assert!(count(about_app) > 0);
    assert!(count("SELECT count(*) FROM insights WHERE instr(evidence, '\"app.py') > 0") > 0);
    let overview = lore_index::Home::at(repo.home())
        .layout(&repo.path().canonicalize().unwrap())
        .dir()
        .join("runs");
    let overviews = || -> usize {
        std::fs::read_dir(&overview)
            .map(|d| {
                d.flatten()
                    .filter(|e| e.path().join("overview.md").exists())
                    .count()
            })
            .unwrap_or(0)
    };
    assert_eq!(overviews(), 1, "MapRepo's overview cites app.py");
    let out = ok(lore(&repo).args(["purge", "app.py", "--json"]));
    let report: Value = serde_json::from_str(&out).unwrap();
    assert!(report["facts"].as_u64().unwrap() > 0, "{report}");
    assert_eq!(report["artifacts"], 1, "{report}");
    assert_eq!(overviews(), 0);
    assert_eq!(count(about_app), 0);
    assert_eq!(
        count("SELECT count(*) FROM insights WHERE instr(evidence, '\"app.py') > 0"),
        0
    );
    // The test file's facts stay.
    assert!(count("SELECT count(*) FROM facts WHERE instr(scope, 'tests/test_app.py') > 0") > 0);
}
