//! Hybrid search: vectors after indexing, fusion with `--explain`, vector
//! reuse across runs, and the semantic state in `lore status`.

mod common;

use common::*;
use serde_json::Value;

fn repo() -> TestRepo {
    let repo = TestRepo::new();
    for i in 0..6 {
        repo.write(
            &format!("net/client_{i}.py"),
            format!(
                "def send_with_retries_{i}(session, request):\n    \"\"\"Give up after too many attempts.\"\"\"\n    for attempt in range(MAX_ATTEMPTS):\n        if session.send(request):\n            return True\n        backoff(attempt)\n    return False\n"
            ),
        );
        repo.write(
            &format!("time/dates_{i}.py"),
            format!(
                "def parse_day_{i}(text):\n    \"\"\"Read a calendar day from a string.\"\"\"\n    year, month, day = text.split('-')\n    return make_date(year, month, day)\n"
            ),
        );
    }
    repo.commit("Initial");
    repo
}

fn data_dir(repo: &TestRepo) -> std::path::PathBuf {
    let repos = repo.home().join("repos");
    std::fs::read_dir(&repos)
        .unwrap()
        .flatten()
        .next()
        .unwrap()
        .path()
}

fn data_files(repo: &TestRepo, sub: &str) -> Vec<String> {
    let dir = data_dir(repo);
    let mut names: Vec<String> = std::fs::read_dir(dir.join(sub))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn vectors_are_built_reused_and_reported() {
    let repo = repo();
    let report = json(&repo, &["index"]);
    let embed = &report["embed"];
    assert_eq!(embed["trained"], true, "{report}");
    assert_eq!(embed["reused"], 0);
    let embedded = embed["embedded"].as_u64().unwrap();
    assert!(embedded >= 12, "{report}");
    assert_eq!(embed["segments"], 1);
    assert_eq!(data_files(&repo, "vectors"), ["s1.seg"]);

    let status = json(&repo, &["status"]);
    assert_eq!(status["semantic"]["state"], "ready", "{status}");
    assert_eq!(status["semantic"]["pending"], 0);
    let embed_status = json(&repo, &["embed", "status"]);
    assert_eq!(embed_status["state"], "ready", "{embed_status}");
    assert_eq!(embed_status["embedder"], "learned");
    assert_eq!(embed_status["embedded"].as_u64(), Some(embedded));
    assert_eq!(embed_status["pending"], 0);
    assert_eq!(embed_status["model"], embed["model"]);
    assert_eq!(embed_status["vectors_file"]["name"], "s1.seg");
    assert!(embed_status["model_file"]["bytes"].as_u64().unwrap() > 0);

    // Nothing changed: no new vector file.
    let report = json(&repo, &["index"]);
    assert_eq!(report["embed"]["embedded"], 0, "{report}");
    assert_eq!(data_files(&repo, "vectors"), ["s1.seg"]);

    // One file changed: a new segment holds its chunk, its old chunk is
    // deleted, the first segment is not rewritten.
    let first = data_dir(&repo).join("vectors/s1.seg");
    let before = std::fs::read(&first).unwrap();
    repo.write(
        "time/dates_0.py",
        "def parse_day_0(text):\n    return text\n",
    );
    let report = json(&repo, &["index"]);
    let embed = &report["embed"];
    assert_eq!(embed["trained"], false, "{report}");
    assert_eq!(embed["embedded"], 1, "{report}");
    assert_eq!(embed["deleted"], 1, "{report}");
    assert_eq!(embed["reused"].as_u64(), Some(embedded - 1), "{report}");
    assert_eq!(embed["segments"], 2, "{report}");
    assert_eq!(data_files(&repo, "vectors"), ["s1.seg", "s2.seg", "t1.del"]);
    assert_eq!(std::fs::read(&first).unwrap(), before);
    let embed_status = json(&repo, &["embed", "status"]);
    assert_eq!(embed_status["embedded"].as_u64(), Some(embedded));
    assert_eq!(embed_status["pending"], 0, "{embed_status}");
    // The old chunk's vector is gone from vector search; the new one is in.
    let hits = json(
        &repo,
        &["search", "--mode", "vector", "-k", "20", "calendar day"],
    );
    let dates_0: Vec<&Value> = hits
        .as_array()
        .unwrap()
        .iter()
        .filter(|h| h["path"] == "time/dates_0.py")
        .collect();
    assert!(dates_0.len() <= 1, "{hits}");
    assert!(
        dates_0.iter().all(|h| h["end_line"] == 2),
        "the deleted version came back: {hits}"
    );
}

/// Code in words the learned model has never seen (orbits, ephemerides).
fn write_new_vocabulary(repo: &TestRepo) {
    for i in 0..4 {
        repo.write(
            &format!("astro/orbit_{i}.py"),
            format!(
                "def propagate_orbit_{i}(satellite, epoch):\n    \"\"\"Kepler ephemeris of a satellite orbit.\"\"\"\n    anomaly = kepler_anomaly(satellite, epoch)\n    return ephemeris(satellite, anomaly, perigee, apogee)\n"
            ),
        );
    }
}

#[test]
fn new_vocabulary_makes_maintenance_due_and_retraining_learns_it() {
    let repo = repo();
    ok(lore(&repo).arg("index"));
    let model = json(&repo, &["embed", "status"])["model"].clone();
    // A few edits in the same words: new segments, no retraining due.
    for i in 0..3 {
        repo.write(
            &format!("net/client_{i}.py"),
            format!(
                "def send_with_retries_{i}(session, request):\n    return session.send(request)\n"
            ),
        );
        let report = json(&repo, &["index"]);
        assert_eq!(report["embed"]["maintenance_due"], false, "{report}");
    }
    assert_eq!(json(&repo, &["embed", "maintain"]), Value::Null);
    // Code in words the model has never seen.
    write_new_vocabulary(&repo);
    let report = json(&repo, &["index"]);
    let embed = &report["embed"];
    assert_eq!(embed["maintenance_due"], true, "{report}");
    assert!(embed["drift"].as_f64().unwrap() > 0.02, "{report}");
    // Before retraining only the static table knows the new words: the
    // learned part of the vectors adds nothing to their match.
    let hits = json(&repo, &["search", "--mode", "vector", "ephemeris perigee"]);
    let astro_score = |hits: &Value| -> f64 {
        hits.as_array()
            .unwrap()
            .iter()
            .filter(|h| h["path"].as_str().unwrap().starts_with("astro/"))
            .map(|h| h["score"].as_f64().unwrap())
            .fold(0.0, f64::max)
    };
    let before = astro_score(&hits);
    let out = json(&repo, &["embed", "maintain"]);
    assert_eq!(out["trained"], true, "{out}");
    assert_eq!(out["segments"], 1, "{out}");
    assert_eq!(out["maintenance_due"], false, "{out}");
    let status = json(&repo, &["embed", "status"]);
    assert_ne!(status["model"], model, "a new model: {status}");
    assert_eq!(status["pending"], 0, "{status}");
    assert_eq!(
        status["vectors_file"]["name"],
        out_segment(&repo),
        "{status}"
    );
    let hits = json(&repo, &["search", "--mode", "vector", "ephemeris perigee"]);
    assert!(
        hit_paths(&hits)[0].starts_with("astro/") && astro_score(&hits) > before + 0.1,
        "the retrained model knows the new words (best match before: {before}): {hits}"
    );
    assert_eq!(json(&repo, &["index"])["embed"]["maintenance_due"], false);
}

#[test]
fn segments_are_merged_as_they_pile_up_and_maintenance_compacts_them() {
    let repo = repo();
    ok(lore(&repo).arg("index"));
    let mut due = false;
    for i in 0..14 {
        repo.write(
            &format!("time/dates_{}.py", i % 6),
            // Words the model knows: no vocabulary drift, only churn.
            format!(
                "def parse_day_{}(text):\n    return text.split('-')[{}]\n",
                i % 6,
                i % 3
            ),
        );
        let report = json(&repo, &["index"]);
        let embed = &report["embed"];
        assert!(embed["segments"].as_u64().unwrap() <= 9, "{report}");
        assert_eq!(embed["trained"], false, "{report}");
        due |= embed["maintenance_due"] == true;
    }
    assert!(due, "a fifth of the rows deleted makes maintenance due");
    let out = json(&repo, &["embed", "maintain"]);
    assert_eq!(out["trained"], false, "a merge, not a retraining: {out}");
    assert_eq!(out["segments"], 1, "{out}");
    let status = json(&repo, &["embed", "status"]);
    let chunks = json(&repo, &["status"])["chunks"].as_u64();
    assert_eq!(status["embedded"].as_u64(), chunks, "{status}");
    assert_eq!(status["pending"], 0, "{status}");
    // The deleted rows went with the merge: one file in force, and no
    // chunk comes back twice or from an old version.
    let name = status["vectors_file"]["name"].as_str().unwrap();
    assert!(name.ends_with(".seg") && !name.contains(','), "{status}");
    let hits = json(
        &repo,
        &["search", "--mode", "vector", "-k", "50", "calendar day"],
    );
    let mut seen: Vec<(String, u64)> = hits
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            (
                h["path"].as_str().unwrap().to_owned(),
                h["start_line"].as_u64().unwrap(),
            )
        })
        .collect();
    let n = seen.len();
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), n, "{hits}");
    ok(lore(&repo).args(["status", "--check"]));
}

/// The one segment in force after maintenance.
fn out_segment(repo: &TestRepo) -> String {
    let names = data_files(repo, "vectors");
    let segments: Vec<&String> = names.iter().filter(|n| n.ends_with(".seg")).collect();
    segments.last().unwrap().to_string()
}

#[test]
fn explain_shows_each_feature_and_sums_to_the_score() {
    let repo = repo();
    ok(lore(&repo).arg("index"));
    let hits = json(&repo, &["search", "give up attempts", "--explain"]);
    let hits = hits.as_array().unwrap();
    assert!(!hits.is_empty());
    for hit in hits {
        let parts = hit["explain"].as_array().expect("explain");
        let names: Vec<&str> = parts
            .iter()
            .map(|p| p["feature"].as_str().unwrap())
            .collect();
        assert_eq!(
            names,
            [
                "rrf",
                "lexical",
                "vector",
                "name",
                "name_recall",
                "path",
                "graph",
                "name_vector",
                "dense",
                "kind"
            ]
        );
        let sum: f64 = parts
            .iter()
            .map(|p| p["contribution"].as_f64().unwrap())
            .sum();
        let score = hit["score"].as_f64().unwrap();
        assert!((sum - score).abs() < 1e-3 * score.abs().max(1.0), "{hit}");
    }
    assert!(
        hits[0]["path"].as_str().unwrap().starts_with("net/"),
        "{hits:?}"
    );
    // Without --explain the field is absent (the JSON contract is unchanged).
    let plain = json(&repo, &["search", "give up attempts"]);
    assert_eq!(plain[0].get("explain"), None);
}

#[test]
fn vector_mode_ranks_by_the_learned_model() {
    let repo = repo();
    ok(lore(&repo).arg("index"));
    // Ranked by the learned vectors alone.
    let hits = json(&repo, &["search", "--mode", "vector", "calendar string"]);
    let first = hits[0]["path"].as_str().unwrap();
    assert!(first.starts_with("time/"), "{hits}");
    let err = fails(lore(&repo).args(["search", "--mode", "psychic", "x"]));
    assert!(String::from_utf8_lossy(&err.stderr).contains("unknown mode"));
    assert_ne!(
        json(&repo, &["search", "--mode", "lexical", "attempt"]),
        Value::Null
    );
}

#[test]
fn without_vectors_the_index_is_lexical_only_and_says_so() {
    let repo = repo();
    ok(lore(&repo).args(["index", "--no-vectors"]));
    let status = json(&repo, &["embed", "status"]);
    assert_eq!(status["state"], "lexical only", "{status}");
    assert_eq!(status["embedded"], 0);
    assert!(status["pending"].as_u64().unwrap() >= 12, "{status}");
    assert_eq!(status["model"], Value::Null);
    let text = ok(lore(&repo).args(["embed", "status"]));
    assert!(text.contains("lexical only"), "{text}");
    // Search still answers, lexically.
    let hits = json(&repo, &["search", "calendar day"]);
    assert!(hit_paths(&hits)[0].starts_with("time/"), "{hits}");
    // Vector search says why it cannot answer instead of finding nothing.
    let failed = fails(lore(&repo).args(["search", "--mode", "vector", "calendar day"]));
    let err = String::from_utf8_lossy(&failed.stderr);
    assert!(
        err.contains("no vectors yet") && err.contains("--mode hybrid"),
        "{err}"
    );
}

/// With learning on, due maintenance is a budgeted thought the worker runs
/// (not a thread of whoever indexed).
#[test]
fn with_learning_on_due_maintenance_is_a_thought() {
    let repo = repo();
    ok(lore(&repo).arg("index"));
    ok(lore(&repo).args(["learn", "on", "--allow", "maintain-vectors"]));
    write_new_vocabulary(&repo);
    let report = json(&repo, &["index"]);
    assert_eq!(report["embed"]["maintenance_due"], true, "{report}");
    let runs = json(&repo, &["runs"]);
    assert_eq!(runs[0]["kind"], "maintain-vectors", "{runs}");
    ok(lore(&repo).args(["worker", "--once"]));
    let run = &json(&repo, &["runs"])[0];
    assert_eq!(run["state"], "succeeded", "{run}");
    assert_eq!(run["output"]["maintained"], true, "{run}");
    let hits = json(&repo, &["search", "--mode", "vector", "ephemeris perigee"]);
    assert!(hit_paths(&hits)[0].starts_with("astro/"), "{hits}");
}
