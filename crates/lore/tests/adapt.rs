//! `lore adapt` on a fixture repository with the real SmolLM2-135M as the
//! base: a run, its stable JSON, the gate's record, promote and rollback.

mod common;

use common::*;

/// Eight small modules written the same way (the adapter's lesson).
fn repo() -> TestRepo {
    let repo = TestRepo::new();
    for (i, name) in [
        "alpha", "beta", "gamma", "delta", "omega", "sigma", "kappa", "theta",
    ]
    .iter()
    .enumerate()
    {
        repo.write(
            &format!("shop/{name}.py"),
            format!(
                "from shop.core import Ledger\n\n\ndef open_{name}(ledger: Ledger) -> int:\n    \"\"\"Open the {name} book.\"\"\"\n    ledger.audit(\"{name}\", {i})\n    return ledger.total(\"{name}\") + {i}\n\n\ndef close_{name}(ledger: Ledger) -> int:\n    \"\"\"Close the {name} book.\"\"\"\n    ledger.audit(\"{name}\", -{i})\n    return ledger.total(\"{name}\") - {i}\n"
            ),
        );
    }
    repo.commit("Books");
    ok(lore(&repo).args(["index", "-q"]));
    repo
}

/// Sets the real SmolLM2 file as the local model; the repository's data
/// directory.
fn use_local_model(repo: &TestRepo) -> std::path::PathBuf {
    let model = lore_test_support::smollm_gguf();
    ok(lore(repo).args(["config", "set", "provider.kind", "local"]));
    ok(lore(repo).args(["config", "set", "provider.model", model.to_str().unwrap()]));
    std::path::PathBuf::from(
        json(repo, &["status"])["data_dir"]
            .as_str()
            .unwrap()
            .to_owned(),
    )
}

#[test]
fn an_adapter_is_trained_measured_recorded_and_put_in_force_by_the_gate() {
    let repo = repo();
    // Without a local base model: said how to set one.
    let out = lore(&repo).args(["adapt", "--wait"]).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("provider.kind local"), "{err}");

    let model = lore_test_support::smollm_gguf();
    ok(lore(&repo).args(["config", "set", "provider.kind", "local"]));
    ok(lore(&repo).args(["config", "set", "provider.model", model.to_str().unwrap()]));

    // Queued without --wait.
    let queued = json(&repo, &["adapt"]);
    assert_eq!(queued["state"], "queued", "{queued}");
    assert!(queued["run_id"].as_i64().is_some(), "{queued}");

    let r = json(&repo, &["adapt", "--wait", "--steps", "4", "--rank", "4"]);
    assert_eq!(r["version"], 1, "{r}");
    let h = &r["held_out"];
    let num = |v: &serde_json::Value| v.as_f64().unwrap();
    for key in ["base_perplexity", "adapter_perplexity"] {
        assert!(num(&h[key]) > 1.0, "{r}");
    }
    for key in ["base_exact_match", "adapter_exact_match"] {
        assert!((0.0..=1.0).contains(&num(&h[key])), "{r}");
    }
    assert!(r["train"]["tokens"].as_u64().unwrap() > 0, "{r}");
    assert!(num(&r["train"]["seconds"]) > 0.0, "{r}");
    // The gate's verdict follows its numbers.
    let passes = num(&h["adapter_perplexity"]) <= num(&h["base_perplexity"]) * 0.98
        && num(&h["adapter_exact_match"]) >= num(&h["base_exact_match"]);
    assert_eq!(r["promoted"], passes, "{r}");

    let list = json(&repo, &["adapt", "list"]);
    let v1 = &list["versions"][0];
    assert_eq!(v1["base_hash"].as_str().unwrap().len(), 64, "{list}");
    assert_eq!(v1["data_commit"].as_str().unwrap().len(), 40, "{list}");
    let trained: Vec<&str> = v1["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap())
        .collect();
    let held: Vec<&str> = v1["held_out_files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap())
        .collect();
    assert!(!held.is_empty() && !trained.is_empty(), "{list}");
    assert!(
        held.iter().all(|f| !trained.contains(f)),
        "held-out files are never trained on: {list}"
    );

    // Measured again: the same numbers (the same held-out files, greedy).
    let again = json(&repo, &["adapt", "eval", "1"]);
    assert_eq!(again["held_out"], v1["held_out"], "{again}");
    assert_eq!(again["passes"], r["promoted"], "{again}");

    // Promote and roll back by hand.
    ok(lore(&repo).args(["adapt", "promote", "1"]));
    assert_eq!(json(&repo, &["adapt", "status"])["in_force"], 1);
    // Back to what was in force before v1: the base alone.
    ok(lore(&repo).args(["adapt", "rollback"]));
    assert!(json(&repo, &["adapt", "status"])["in_force"].is_null());
    ok(lore(&repo).args(["adapt", "rollback", "1"]));
    assert_eq!(json(&repo, &["adapt", "status"])["in_force"], 1);

    // Asking with the local model: it wears the adapter in force.
    let a = json(
        &repo,
        &["ask", "--no-cache", "What does open_alpha return?"],
    );
    assert_eq!(a["mode"], "llm", "{a}");
    assert!(
        a["model"].as_str().unwrap().ends_with("+ adapter v1"),
        "{a}"
    );
    // Exported for Ollama: the GGUF adapter and a Modelfile naming the base.
    let out_dir = repo.home().join("ollama");
    let e = json(
        &repo,
        &["adapt", "export", "--ollama", out_dir.to_str().unwrap()],
    );
    assert_eq!(e["version"], 1, "{e}");
    let modelfile = std::fs::read_to_string(out_dir.join("Modelfile")).unwrap();
    assert_eq!(
        modelfile,
        format!("FROM {}\nADAPTER ./adapter.gguf\n", model.display())
    );
    assert!(
        std::fs::read(out_dir.join("adapter.gguf"))
            .unwrap()
            .starts_with(b"GGUF")
    );

    // The next line of a file, in the project's style, by the same model.
    let c = json(&repo, &["complete", "shop/beta.py:6"]);
    assert_eq!(c["line"], 6, "{c}");
    assert!(
        c["model"].as_str().unwrap().ends_with("+ adapter v1"),
        "{c}"
    );
    assert!(!c["completion"].as_str().unwrap().trim().is_empty(), "{c}");
    assert!(
        !c["completion"].as_str().unwrap().contains('\n'),
        "one line: {c}"
    );
    let out = lore(&repo)
        .args(["complete", "shop/beta.py:999"])
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("outside the file"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // A broken adapter file: the base answers, and says why.
    let data_dir = std::path::PathBuf::from(
        json(&repo, &["status"])["data_dir"]
            .as_str()
            .unwrap()
            .to_owned(),
    );
    std::fs::write(data_dir.join("adapters/v1/adapter.safetensors"), b"broken").unwrap();
    let b = json(
        &repo,
        &["ask", "--no-cache", "What does open_alpha return?"],
    );
    assert_eq!(b["mode"], "llm", "{b}");
    assert!(!b["model"].as_str().unwrap().contains("adapter"), "{b}");
    assert!(
        b["notice"]
            .as_str()
            .unwrap()
            .contains("adapter v1 not used"),
        "{b}"
    );
    // One trained on another base model: the same.
    let file = data_dir.join("adapters.json");
    let mut record: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    record["versions"][0]["base_hash"] = serde_json::json!("0".repeat(64));
    std::fs::write(&file, serde_json::to_vec(&record).unwrap()).unwrap();
    let c = json(
        &repo,
        &["ask", "--no-cache", "What does open_alpha return?"],
    );
    assert!(
        c["notice"].as_str().unwrap().contains("another base model"),
        "{c}"
    );
    let out = lore(&repo)
        .args(["adapt", "promote", "9"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("no adapter version 9"));
}

#[test]
fn a_run_killed_midway_resumes_from_its_last_checkpoint() {
    let repo = repo();
    let data_dir = use_local_model(&repo);
    let checkpoint = data_dir.join("adapters/partial/checkpoint.json");
    let args = [
        "adapt",
        "--wait",
        "--json",
        "--steps",
        "8",
        "--rank",
        "2",
        "--checkpoint-every",
        "2",
    ];
    let mut child = lore(&repo)
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Killed (SIGKILL) once a checkpoint exists.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(600);
    while !checkpoint.is_file() {
        assert!(
            child.try_wait().unwrap().is_none(),
            "the run ended before a checkpoint"
        );
        assert!(
            std::time::Instant::now() < deadline,
            "no checkpoint in time"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let saved: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&checkpoint).unwrap()).unwrap();
    let at = saved["step"].as_u64().unwrap();
    assert!((2..8).contains(&at), "{saved}");
    assert!(
        json(&repo, &["adapt", "list"])["versions"]
            .as_array()
            .unwrap()
            .is_empty()
    );

    // Run again: it picks up there and does only the steps left.
    let out = ok(lore(&repo).args(args));
    let r: serde_json::Value = serde_json::from_str(&out).unwrap();
    let resumed = r["train"]["resumed_from"].as_u64().unwrap();
    assert!(resumed >= at, "{r}");
    assert_eq!(r["train"]["steps"], 8, "{r}");
    assert_eq!(r["version"], 1, "{r}");
    assert!(
        !data_dir.join("adapters/partial").exists(),
        "a whole run leaves no checkpoint"
    );

    // The right to forget: a file it was trained on is purged; the version
    // is marked for retraining and its record no longer names the file.
    let list = json(&repo, &["adapt", "list"]);
    let trained = list["versions"][0]["files"][0].as_str().unwrap().to_owned();
    let purged = json(&repo, &["purge", &trained]);
    assert_eq!(purged["stale_adapters"], 1, "{purged}");
    let list = json(&repo, &["adapt", "list"]);
    let v1 = &list["versions"][0];
    assert_eq!(v1["stale"], true, "{list}");
    assert!(
        v1["files"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f != trained.as_str()),
        "{list}"
    );
}

/// The provenance file of version `v`: one record per example source.
fn provenance(data_dir: &std::path::Path, v: u32) -> Vec<serde_json::Value> {
    std::fs::read_to_string(data_dir.join(format!("adapters/v{v}/provenance.jsonl")))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn an_idle_repository_consolidates_its_adapter_on_what_changed_within_its_budget() {
    let repo = repo();
    repo.write(
        "docs/books.md",
        "# Books\n\nEvery book is opened with `open_alpha` first, which audits the ledger and returns its total.\n",
    );
    repo.commit("Document how the books are opened and audited");
    ok(lore(&repo).args(["index", "-q"]));
    // An answer someone rated well (asked before the local model is set:
    // extractive, but recorded with its citations all the same).
    let answer = json(&repo, &["ask", "--no-cache", "what does open_beta return?"]);
    let id = answer["answer_id"].as_i64().unwrap().to_string();
    ok(lore(&repo).args(["feedback", &id, "up"]));

    let data_dir = use_local_model(&repo);
    let r = json(&repo, &["adapt", "--wait", "--steps", "3", "--rank", "2"]);
    // Code, and pairs with their provenance: doc → code (docstrings and
    // the Markdown paragraph), cards, commit → diff. The rated answer
    // cites every book, the held-out one too: it is left out.
    let examples = &r["examples"];
    for kind in ["code", "doc_code", "card", "commit_diff"] {
        assert!(examples[kind].as_u64().unwrap_or(0) > 0, "{kind}: {r}");
    }
    assert!(examples["rated_answer"].is_null(), "{r}");
    let list = json(&repo, &["adapt", "list"]);
    let held: Vec<&str> = list["versions"][0]["held_out_files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap())
        .collect();
    let records = provenance(&data_dir, 1);
    for rec in &records {
        assert!(
            rec["commit"].as_str().is_some_and(|c| c.len() == 40),
            "{rec}"
        );
        let path = rec["path"].as_str().unwrap();
        assert!(!held.contains(&path), "held out, yet trained on: {rec}");
    }
    assert!(
        records
            .iter()
            .any(|r| r["kind"] == "doc_code" && r["path"] == "docs/books.md"),
        "{records:?}"
    );
    assert!(
        records
            .iter()
            .any(|r| r["kind"] == "commit_diff" && r["path"] == "docs/books.md"),
        "{records:?}"
    );
    ok(lore(&repo).args(["adapt", "promote", "1"]));

    // Learning on, with a CPU budget; then a change, and quiet.
    ok(lore(&repo).args(["learn", "on", "--budget", "cpu=2m/h"]));
    repo.write(
        "shop/refunds.py",
        "from shop.core import Ledger\n\n\ndef open_refunds(ledger: Ledger) -> int:\n    \"\"\"Open the refunds book.\"\"\"\n    ledger.audit(\"refunds\", 9)\n    return ledger.total(\"refunds\") + 9\n",
    );
    repo.commit("Add the refunds book, audited like the others");
    ok(lore(&repo).args(["index", "-q"]));
    let worker = |idle: &str| {
        ok(lore(&repo)
            .env("LORE_IDLE_SECS", idle)
            .args(["worker", "--once"]))
    };
    // Not idle long enough: nothing queued.
    worker("3600");
    let adapt_runs = || -> Vec<serde_json::Value> {
        json(&repo, &["runs"])
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["kind"] == "adapt")
            .cloned()
            .collect()
    };
    let before = adapt_runs().len();
    worker("3600");
    assert_eq!(adapt_runs().len(), before, "not idle: no consolidation");
    // Idle: queued when the worker has nothing else, then run.
    worker("0");
    worker("0");
    let runs = adapt_runs();
    assert_eq!(runs.len(), before + 1, "{runs:?}");
    let run = json(&repo, &["runs", "show", &runs[0]["id"].to_string()]);
    let input = &run["input"];
    assert_eq!(input["incremental"], true, "{run}");
    // The budget (2 minutes of CPU an hour) bounds the run's training.
    let budget = input["budget_secs"].as_u64().unwrap();
    assert!((1..=120).contains(&budget), "{run}");
    assert_eq!(run["state"], "succeeded", "{run}");
    let list = json(&repo, &["adapt", "list"]);
    let v2 = &list["versions"][1];
    assert_eq!(v2["continued_from"], 1, "{list}");
    assert!(
        v2["files"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f == "shop/refunds.py")
            || lore_index::adapt::is_held_out("shop/refunds.py"),
        "{list}"
    );
    // What is new, and replay of what was: files v1 saw that did not change.
    let records = provenance(&data_dir, 2);
    assert!(
        records
            .iter()
            .any(|r| r["kind"] == "code" && r["path"] != "shop/refunds.py"),
        "replay: {records:?}"
    );
    assert!(
        v2["held_out"]["in_force_perplexity"].as_f64().is_some(),
        "{v2}"
    );

    // Nothing new since: idle again, nothing queued.
    worker("0");
    worker("0");
    assert_eq!(adapt_runs().len(), before + 1);

    // A language's own adapter: worn for code in that language.
    let py = json(
        &repo,
        &[
            "adapt",
            "--wait",
            "--steps",
            "2",
            "--rank",
            "2",
            "--language",
            "python",
        ],
    );
    assert_eq!(py["language"], "python", "{py}");
    let n = py["version"].as_u64().unwrap().to_string();
    ok(lore(&repo).args(["adapt", "promote", &n]));
    let c = json(&repo, &["complete", "shop/beta.py:6"]);
    assert!(
        c["model"]
            .as_str()
            .unwrap()
            .ends_with(&format!("+ adapter v{n}")),
        "{c}"
    );
    let err = fails(lore(&repo).args(["adapt", "--wait", "--language", "klingon"]));
    assert!(
        String::from_utf8_lossy(&err.stderr).contains("\"klingon\""),
        "{}",
        String::from_utf8_lossy(&err.stderr)
    );
}
