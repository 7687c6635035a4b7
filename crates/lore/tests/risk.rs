//! `lore risks` and `lore eval --risk` on a scripted history where the
//! answer is known: ten files that keep being fixed, ten bigger ones that
//! never change after they were written.

mod common;

use common::*;
use serde_json::Value;

fn hot(i: usize, rev: usize) -> String {
    format!("def handle_{i}(x):\n    if x > {rev}:\n        return x - {rev}\n    return x\n")
}

fn cold(i: usize) -> String {
    (0..40)
        .map(|k| format!("def stable_{i}_{k}(a):\n    return a + {k}\n\n"))
        .collect()
}

/// Day 0: every file. Then every 5 days for 300 days, a fix to one of the
/// hot files in turn.
fn scripted() -> TestRepo {
    let repo = TestRepo::new();
    for i in 0..10 {
        repo.write(&format!("hot/h{i}.py"), hot(i, 0));
        repo.write(&format!("cold/c{i}.py"), cold(i));
    }
    repo.commit("Initial import");
    for round in 1..=60 {
        repo.advance_days(5);
        let i = round % 10;
        repo.write(&format!("hot/h{i}.py"), hot(i, round));
        repo.commit(&format!("Fix crash in handler {i}"));
    }
    ok(lore(&repo).arg("index"));
    repo
}

#[test]
fn eval_risk_replays_a_cut_against_later_fixes() {
    let repo = scripted();
    let reports = json(
        &repo,
        &["eval", "--risk", "--cut", "100d", "--window", "100d"],
    );
    let r = &reports[0];
    assert_eq!(r["files"], 20, "{r}");
    assert_eq!(r["fix_touched"], 10, "{r}");
    // Fitted at the cut a window earlier, on the history known then.
    assert_eq!(r["model"], "fitted", "{r}");
    assert_eq!(r["training"]["positives"], 10, "{r}");
    assert_eq!(r["risk"]["auc"], 1.0, "{r}");
    assert_eq!(r["churn"]["auc"], 1.0, "{r}");
    // The cold files are the big ones: size alone gets it backwards.
    assert_eq!(r["loc"]["auc"], 0.0, "{r}");
    assert!(
        r["risk"]["recall_at_20pct_lines"].as_f64().unwrap() > 0.9,
        "{r}"
    );

    assert!(r.get("per_file").is_none(), "only when asked");
    let reports = json(
        &repo,
        &[
            "eval",
            "--risk",
            "--cut",
            "100d",
            "--window",
            "100d",
            "--per-file",
        ],
    );
    let per_file = reports[0]["per_file"].as_array().unwrap();
    assert_eq!(per_file.len(), 20);
    assert_eq!(per_file.iter().filter(|f| f["label"] == true).count(), 10);
    assert!(per_file[0]["features"]["commits"].is_number() && per_file[0]["risk"].is_number());

    let text = ok(lore(&repo).args(["eval", "--risk", "--cut", "100d", "--window", "100d"]));
    assert!(text.contains("risk   ROC AUC 1"), "{text}");
    let err = fails(lore(&repo).args(["eval", "--risk", "--cut", "50d", "--window", "100d"]));
    assert!(
        String::from_utf8_lossy(&err.stderr)
            .contains("--cut 50d: a cut must be at least the window"),
    );
    let err = fails(lore(&repo).args(["eval", "--risk", "--cut", "20y"]));
    assert!(
        String::from_utf8_lossy(&err.stderr).contains("does not reach that far back"),
        "{}",
        String::from_utf8_lossy(&err.stderr)
    );
    let err = fails(lore(&repo).args(["eval", "--risk", "--cut", "10x"]));
    assert!(String::from_utf8_lossy(&err.stderr).contains("the unit is d, w or y"));
}

#[test]
fn risks_rank_files_and_functions_with_their_reasons() {
    let repo = scripted();
    let files = json(&repo, &["risks", "--window", "100d"]);
    let files = files.as_array().unwrap();
    // One entry per indexed source file, riskiest first, ranks dense.
    assert_eq!(files.len(), 20);
    for (i, f) in files.iter().enumerate() {
        assert_eq!(f["rank"], i + 1);
        assert!(f["score"].as_f64().unwrap() >= 0.0 && f["score"].as_f64().unwrap() <= 1.0);
        for key in [
            "lines",
            "commits",
            "past_fixes",
            "complexity",
            "centrality",
            "findings",
        ] {
            assert!(f["features"][key].is_number(), "{key} in {f}");
        }
        assert!(f.get("symbol").is_none());
    }
    let top: Vec<&str> = files[..10]
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert!(top.iter().all(|p| p.starts_with("hot/")), "{top:?}");

    let three = json(&repo, &["risks", "--top", "3"]);
    assert_eq!(three.as_array().unwrap().len(), 3);

    let functions = json(&repo, &["risks", "--level", "function", "--top", "5"]);
    let f = &functions[0];
    assert!(f["path"].as_str().unwrap().starts_with("hot/"), "{f}");
    assert!(f["symbol"].as_str().unwrap().starts_with("handle_"), "{f}");
    assert_eq!(
        (f["start_line"].as_u64(), f["end_line"].as_u64()),
        (Some(1), Some(4))
    );

    let explained = ok(lore(&repo).args(["risks", "--top", "1", "--explain", "--window", "100d"]));
    assert!(explained.contains("hot/h"), "{explained}");
    assert!(explained.contains("past_fixes"), "{explained}");
    // At HEAD the prior already ranks the last window perfectly: kept.
    assert!(
        explained.contains("model: prior weights (checked on this repository's history"),
        "{explained}"
    );
    let with: Value = json(&repo, &["risks", "--top", "1", "--explain"]);
    assert!(with[0]["contributions"]["past_fixes"].as_f64().unwrap() > 0.0);
}

/// Busy files get many feature commits, fragile ones fewer commits, all
/// fixes: the prior (recent commits weigh most) ranks the busy ones first;
/// the history says otherwise, and the fitted model wins by the margin.
#[test]
fn a_fitted_model_replaces_a_prior_the_history_contradicts() {
    let repo = TestRepo::new();
    for i in 0..10 {
        repo.write(&format!("busy/b{i}.py"), hot(i, 0));
        repo.write(&format!("fragile/f{i}.py"), hot(i + 10, 0));
    }
    repo.commit("Initial import");
    for round in 1..=72 {
        repo.advance_days(5);
        let i = round % 10;
        for k in 0..3 {
            repo.write(&format!("busy/b{}.py", (i + k) % 10), hot(i, round * 3 + k));
            repo.commit(&format!("Add option {round}.{k} to the busy module"));
        }
        repo.write(&format!("fragile/f{i}.py"), hot(i + 10, round));
        repo.commit(&format!("Fix crash in fragile handler {i}"));
    }
    ok(lore(&repo).arg("index"));
    let reports = json(
        &repo,
        &["eval", "--risk", "--cut", "100d", "--window", "100d"],
    );
    let r = &reports[0];
    assert_eq!(r["fix_touched"], 10, "{r}");
    assert_eq!(r["model"], "fitted", "{r}");
    assert_eq!(r["training"]["validation"]["chosen"], "fitted", "{r}");
    assert!(r["prior"]["auc"].as_f64().unwrap() < 0.5, "{r}");
    assert_eq!(r["risk"]["auc"], 1.0, "{r}");
    let explained = ok(lore(&repo).args(["risks", "--top", "1", "--explain", "--window", "100d"]));
    assert!(explained.contains("fragile/f"), "{explained}");
    assert!(explained.contains("model: fitted"), "{explained}");
}

#[test]
fn a_young_repository_uses_the_prior_and_says_so() {
    let repo = TestRepo::new();
    repo.write("a.py", "def f(x):\n    return x\n");
    repo.write(
        "b.py",
        "def g(x):\n    if x:\n        return 1\n    return 2\n",
    );
    repo.commit("start");
    ok(lore(&repo).arg("index"));
    let text = ok(lore(&repo).arg("risks"));
    assert!(
        text.contains("model: prior weights (history shorter than the window)"),
        "{text}"
    );
    let files = json(&repo, &["risks"]);
    assert_eq!(files.as_array().unwrap().len(), 2);
    assert_eq!(files[0]["path"], "b.py");
}

#[test]
fn prioritize_follows_the_risk_map() {
    let repo = scripted();
    let top = json(&repo, &["risks", "--top", "1"]);
    ok(lore(&repo).args(["learn", "on"]));
    ok(lore(&repo).args(["worker", "--once"]));
    let runs = json(&repo, &["runs"]);
    let run = runs
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["kind"] == "prioritize")
        .unwrap();
    assert_eq!(run["state"], "succeeded", "{run}");
    // The riskiest file heads the frontier.
    assert_eq!(run["output"]["ranked_by"], "risk", "{run}");
    assert_eq!(run["output"]["head"], top[0]["path"], "{run}");
    assert!(
        top[0]["path"].as_str().unwrap().starts_with("hot/"),
        "{top}"
    );
}
