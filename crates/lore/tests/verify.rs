//! `lore verify` end to end: the repository's pytest suite in the sandbox,
//! failures as insights, coverage read back into risk.

mod common;

use common::*;

fn repo() -> TestRepo {
    let repo = TestRepo::new();
    repo.write(
        "calc.py",
        "def add(a, b):\n    return a + b\n\n\ndef unused(x):\n    return x * 2\n",
    );
    repo.write("never.py", "def lonely():\n    return 1\n");
    repo.write(
        "tests/test_calc.py",
        "from calc import add\n\n\ndef test_add():\n    assert add(1, 2) == 3\n\n\ndef test_wrong():\n    assert add(1, 1) == 3\n",
    );
    repo.write(
        "conftest.py",
        "import sys, os\nsys.path.insert(0, os.path.dirname(__file__))\n",
    );
    repo.commit("calc");
    ok(lore(&repo).arg("index"));
    repo
}

/// The coverage gap of the entry of `risks` whose `key` is `value`.
fn coverage_gap(risks: &serde_json::Value, key: &str, value: &str) -> f64 {
    risks
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r[key] == value)
        .unwrap_or_else(|| panic!("no {key} {value} in {risks}"))["features"]["coverage_gap"]
        .as_f64()
        .unwrap()
}

#[test]
fn verify_runs_the_tests_and_feeds_insights_and_risk() {
    let repo = repo();
    // Before Verify: no coverage, no gap (and the features are cached).
    let before = json(&repo, &["risks"]);
    assert!(
        before
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["features"]["coverage_gap"] == 0.0),
        "{before}"
    );
    let run = json(&repo, &["verify"]);
    let out = &run["output"];
    assert_eq!(out["status"], "failed", "{run}");
    assert_eq!(out["tests"]["passed"], 1);
    assert_eq!(out["tests"]["failed"], 1);
    let text = ok(lore(&repo).arg("verify"));
    assert!(text.starts_with("failed: 1 passed, 1 failed"), "{text}");
    assert!(
        text.contains("FAILED tests.test_calc.test_wrong  tests/test_calc.py:8"),
        "{text}"
    );

    let insights = json(&repo, &["insights", "--kind", "test-failure"]);
    assert_eq!(
        insights.as_array().unwrap().len(),
        1,
        "the same failure twice is one insight"
    );
    assert_eq!(insights[0]["evidence"][0]["path"], "tests/test_calc.py");

    // The run keeps its log and reports.
    let shown = json(&repo, &["runs", "show", &run["run_id"].to_string()]);
    let names: Vec<&str> = shown["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"verify.log") && names.contains(&"coverage.json"),
        "{names:?}"
    );

    // Risk reads the coverage: calc.py is half covered, never.py not at all.
    let risks = json(&repo, &["risks"]);
    let gap = |path: &str| coverage_gap(&risks, "path", path);
    assert_eq!(gap("never.py"), 1.0);
    assert!(gap("calc.py") > 0.0 && gap("calc.py") < 1.0, "{risks}");
    assert_eq!(gap("tests/test_calc.py"), 0.0);

    // And per function: `add` ran, `unused` only had its `def` run.
    let functions = json(&repo, &["risks", "--level", "function"]);
    let gap = |symbol: &str| coverage_gap(&functions, "symbol", symbol);
    assert_eq!(gap("add"), 0.0, "{functions}");
    assert_eq!(gap("unused"), 0.5, "{functions}");
    assert_eq!(gap("lonely"), 1.0, "{functions}");
}

#[test]
fn without_tests_verify_says_so() {
    let repo = TestRepo::new();
    repo.write("main.rs.txt", "nothing to test\n");
    repo.commit("x");
    ok(lore(&repo).arg("index"));
    let text = ok(lore(&repo).arg("verify"));
    assert!(
        text.starts_with("no-tests: no test command recognized"),
        "{text}"
    );
}
