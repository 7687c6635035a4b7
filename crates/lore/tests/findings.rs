//! `lore findings` end to end: Lore's rules over an indexed repository,
//! filters, SARIF out and back in, configuration, dismissed findings, and
//! the SmellHunt thought's insights.

mod common;

use common::*;
use serde_json::Value;

const APP: &str = r#"import subprocess


def run(cmd, user):
    # TODO: validate input
    subprocess.run(f"ls {cmd}", shell=True)
    cur.execute("SELECT * FROM users WHERE name = '%s'" % user)
    try:
        eval(cmd)
    except Exception:
        pass


def safe(user):
    cur.execute("SELECT * FROM users WHERE name = %s", (user,))
"#;

const LIB: &str = r#"package lib

func Clean(path string) {
	_ = os.Remove(path)
}
"#;

fn repo() -> TestRepo {
    let repo = TestRepo::new();
    repo.write("app.py", APP);
    repo.write("lib/clean.go", LIB);
    repo.commit("app");
    ok(lore(&repo).arg("index"));
    repo
}

fn rules(findings: &Value) -> Vec<(String, u64)> {
    findings
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["rule"].as_str().unwrap().to_owned(),
                f["start_line"].as_u64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn findings_with_filters_as_json_and_text() {
    let repo = repo();
    let all = json(&repo, &["findings"]);
    let found = rules(&all);
    let expected: Vec<(String, u64)> = [
        ("notes/todo", line_of(APP, "TODO")),
        ("security/shell-format", line_of(APP, "subprocess.run")),
        ("security/sql-format", line_of(APP, "'%s'")),
        ("security/eval", line_of(APP, "eval(")),
        ("errors/swallowed", line_of(APP, "except Exception")),
        ("errors/ignored", line_of(LIB, "os.Remove")),
    ]
    .into_iter()
    .map(|(r, l)| (r.to_owned(), l))
    .collect();
    let mut sorted = found.clone();
    sorted.sort_by_key(|(r, _)| expected.iter().position(|(e, _)| e == r));
    assert_eq!(sorted, expected);
    let f = &all[0];
    for key in [
        "rule",
        "severity",
        "message",
        "hint",
        "path",
        "start_line",
        "end_line",
        "symbol",
        "tool",
        "fingerprint",
    ] {
        assert!(f.get(key).is_some(), "{key} in {f}");
    }
    let eval = all
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "security/eval")
        .unwrap();
    assert_eq!(
        (eval["severity"].as_str(), eval["symbol"].as_str()),
        (Some("high"), Some("run"))
    );

    let high = json(&repo, &["findings", "--severity", "high"]);
    assert!(
        high.as_array()
            .unwrap()
            .iter()
            .all(|f| f["severity"] == "high")
    );
    assert_eq!(high.as_array().unwrap().len(), 3);
    let go = json(&repo, &["findings", "lib"]);
    assert_eq!(rules(&go), [("errors/ignored".to_owned(), 4)]);
    let todo = json(&repo, &["findings", "--rule", "notes/todo"]);
    assert_eq!(todo.as_array().unwrap().len(), 1);

    let text = ok(lore(&repo).arg("findings"));
    assert!(text.contains("app.py\n"), "{text}");
    assert!(text.contains("security/eval"), "{text}");
    assert!(
        text.trim_end()
            .ends_with("6 findings: 3 high, 2 medium, 1 low"),
        "{text}"
    );
    let err = fails(lore(&repo).args(["findings", "--rule", "nope"]));
    assert!(String::from_utf8_lossy(&err.stderr).contains("--rule nope: no such rule"));
}

#[test]
fn sarif_out_and_back_in_keeps_rules_locations_and_fingerprints() {
    let repo = repo();
    let sarif: Value =
        serde_json::from_str(&ok(lore(&repo).args(["findings", "--sarif"]))).unwrap();
    assert_eq!(sarif["version"], "2.1.0");
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    assert_eq!(results.len(), 6);
    for r in results {
        let uri = r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
            .as_str()
            .unwrap();
        assert!(!uri.starts_with('/') && !uri.contains("://"), "{uri}");
        assert!(r["partialFingerprints"]["loreFingerprint/v1"].is_string());
    }

    // A SARIF log of another tool, imported: its findings join Lore's.
    let other = serde_json::json!({
        "version": "2.1.0",
        "runs": [{"tool": {"driver": {"name": "ruff"}}, "results": [
            {"ruleId": "S602", "level": "error",
             "message": {"text": "subprocess call with shell=True"},
             "locations": [{"physicalLocation": {"artifactLocation": {"uri": "app.py"},
                            "region": {"startLine": 6}}}],
             "partialFingerprints": {"ruff/v1": "abc"}},
            {"ruleId": "S101", "message": {"text": "elsewhere"},
             "locations": [{"physicalLocation": {"artifactLocation": {"uri": "vendor/x.py"},
                            "region": {"startLine": 1}}}]}
        ]}]
    });
    let file = repo.home().join("ruff.sarif");
    std::fs::write(&file, other.to_string()).unwrap();
    let out = ok(lore(&repo).args(["findings", "import"]).arg(&file));
    assert!(out.starts_with("imported 1 findings"), "{out}");
    assert!(out.contains("1 findings left out"), "{out}");
    let ruff = json(&repo, &["findings", "--rule", "S602"]);
    assert_eq!(ruff[0]["tool"], "ruff");
    assert_eq!(ruff[0]["fingerprint"], "abc");
    assert_eq!(ruff[0]["start_line"], 6);
    let runs = json(&repo, &["runs"]);
    assert_eq!(runs[0]["kind"], "import-findings");
    assert_eq!(runs[0]["state"], "succeeded");

    // Lore's own SARIF, imported again, changes nothing: same fingerprints.
    let own = repo.home().join("own.sarif");
    std::fs::write(&own, serde_json::to_string(&sarif).unwrap()).unwrap();
    ok(lore(&repo).args(["findings", "import"]).arg(&own));
    assert_eq!(json(&repo, &["findings"]).as_array().unwrap().len(), 7);

    let bad = repo.home().join("bad.sarif");
    std::fs::write(&bad, "{\"runs\": 1}").unwrap();
    let err = fails(lore(&repo).args(["findings", "import"]).arg(&bad));
    let stderr = String::from_utf8_lossy(&err.stderr);
    assert!(
        stderr.contains("bad.sarif: not a SARIF 2.1.0 log"),
        "{stderr}"
    );
}

#[test]
fn configuration_and_dismissed_findings() {
    let repo = repo();
    repo.write(
        ".lore.toml",
        "[smells]\ndisable = [\"notes/todo\"]\n[smells.severity]\n\"errors/ignored\" = \"high\"\n",
    );
    let found = json(&repo, &["findings"]);
    assert!(!rules(&found).iter().any(|(r, _)| r == "notes/todo"));
    let ignored = found
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "errors/ignored")
        .unwrap();
    assert_eq!(ignored["severity"], "high");
    repo.write(".lore.toml", "[smells]\ndisable = [\"notes/todos\"]\n");
    let err = fails(lore(&repo).arg("findings"));
    let stderr = String::from_utf8_lossy(&err.stderr);
    assert!(
        stderr.contains(".lore.toml") && stderr.contains("notes/todos"),
        "{stderr}"
    );
    std::fs::remove_file(repo.join(".lore.toml")).unwrap();

    // SmellHunt as a thought: findings become insights; a dismissed one
    // stays out of `lore findings`.
    ok(lore(&repo).args(["learn", "on"]));
    ok(lore(&repo).args(["worker", "--once"]));
    let insights = json(&repo, &["insights", "--kind", "finding", "--limit", "100"]);
    assert_eq!(insights.as_array().unwrap().len(), 6);
    let eval = insights
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["title"].as_str().unwrap().starts_with("security/eval"))
        .unwrap();
    assert_eq!(eval["severity"], "high");
    assert_eq!(eval["evidence"][0]["path"], "app.py");
    ok(lore(&repo).args(["insights", "dismiss", &eval["id"].to_string()]));
    let after = json(&repo, &["findings"]);
    assert_eq!(after.as_array().unwrap().len(), 5);
    assert!(!rules(&after).iter().any(|(r, _)| r == "security/eval"));
    // Found again by the next run, it stays dismissed.
    let hunt = latest_run(&repo, "smell-hunt");
    assert_eq!(hunt["output"]["findings"], 6, "{hunt}");
    ok(lore(&repo).args(["runs", "rerun", &hunt["id"].to_string()]));
    ok(lore(&repo).args(["worker", "--once"]));
    let again = json(
        &repo,
        &["insights", "--kind", "finding", "--status", "dismissed"],
    );
    assert_eq!(again.as_array().unwrap().len(), 1);
    assert_eq!(json(&repo, &["findings"]).as_array().unwrap().len(), 5);
}

/// `lore lint`: ruff (installed by `.ci/run`) in the sandbox; its
/// findings join `lore findings` with the tool in the rule id, a second
/// run adds no duplicates, and `.lore.toml` can turn a linter's rule off.
#[test]
fn linters_run_in_the_sandbox_and_join_the_findings() {
    let repo = repo();
    let text = ok(lore(&repo).arg("lint"));
    assert!(text.contains("ruff: "), "{text}");
    let run = json(&repo, &["lint"]);
    assert!(run["output"]["by_rule"]["ruff/F821"].is_number(), "{run}");
    let found = json(&repo, &["findings"]);
    let ruff: Vec<&Value> = found
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["tool"] == "ruff")
        .collect();
    assert!(!ruff.is_empty(), "{found}");
    assert!(
        ruff.iter()
            .all(|f| f["path"] == "app.py" && f["severity"] != "high")
    );
    let undefined = ruff.iter().filter(|f| f["rule"] == "ruff/F821").count();
    assert_eq!(
        undefined,
        run["output"]["by_rule"]["ruff/F821"].as_u64().unwrap() as usize,
        "two runs, one insight per finding"
    );
    let only = json(&repo, &["findings", "--rule", "ruff/F821"]);
    assert_eq!(only.as_array().unwrap().len(), undefined);

    // Turned off in the repository's settings: the next run drops it.
    repo.write(".lore.toml", "[smells]\ndisable = [\"ruff/F821\"]\n");
    let run = json(&repo, &["lint"]);
    assert!(run["output"]["by_rule"]["ruff/F821"].is_null(), "{run}");
}

/// Insights like three or more the team dismissed are suppressed: after
/// three TODO findings were dismissed, TODOs are no longer shown as new.
#[test]
fn insights_like_dismissed_ones_are_suppressed() {
    let repo = TestRepo::new();
    for i in 0..4 {
        repo.write(
            &format!("m{i}.py"),
            format!("def f{i}():\n    # TODO: handle case {i}\n    return {i}\n"),
        );
    }
    repo.write("keep.py", "def g(cmd):\n    eval(cmd)\n");
    repo.commit("code");
    ok(lore(&repo).arg("index"));
    ok(lore(&repo).args(["learn", "on"]));
    ok(lore(&repo).args(["worker", "--once"]));
    let todos: Vec<Value> = json(&repo, &["insights", "--kind", "finding", "--limit", "100"])
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["title"].as_str().unwrap().starts_with("notes/todo"))
        .cloned()
        .collect();
    assert_eq!(todos.len(), 4);
    for t in &todos[..3] {
        ok(lore(&repo).args(["insights", "dismiss", &t["id"].to_string()]));
    }
    // A new TODO elsewhere, and the hunt runs again.
    repo.write(
        "m9.py",
        "def h():\n    # TODO: something new\n    return 9\n",
    );
    repo.commit("more");
    ok(lore(&repo).arg("index"));
    let hunt = latest_run(&repo, "smell-hunt");
    ok(lore(&repo).args(["runs", "rerun", &hunt["id"].to_string()]));
    ok(lore(&repo).args(["worker", "--once"]));
    let suppressed = json(&repo, &["insights", "--status", "suppressed"]);
    let titles: Vec<&str> = suppressed
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["title"].as_str().unwrap())
        .collect();
    // The new TODO and the one not yet dismissed: the same kind of thing.
    assert_eq!(titles.len(), 2, "{suppressed}");
    assert!(
        titles.iter().any(|t| t.contains("something new")),
        "{titles:?}"
    );
    assert!(
        titles.iter().any(|t| t.contains("handle case")),
        "{titles:?}"
    );
    // Other kinds stay new.
    let new = json(&repo, &["insights", "--status", "new", "--kind", "finding"]);
    let new: Vec<&str> = new
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["title"].as_str().unwrap())
        .collect();
    assert!(
        new.iter().any(|t| t.starts_with("security/eval")),
        "{new:?}"
    );
    assert!(!new.iter().any(|t| t.contains("something new")), "{new:?}");
    // The scheduler bandit sees the smell hunt's insights dismissed.
    let status = json(&repo, &["learn", "status"]);
    let hunt = status["attention"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kind"] == "smell-hunt")
        .unwrap_or_else(|| panic!("{status}"));
    assert!(hunt["dismissed"].as_u64().unwrap() >= 3, "{status}");
    assert!(hunt["mean"].as_f64().unwrap() < 0.5, "{status}");
    let text = ok(lore(&repo).args(["learn", "status"]));
    assert!(text.contains("attention: smell-hunt"), "{text}");
}
