//! Attacks on what Lore indexes, serves and sends: each test builds the
//! hostile repository it needs and asserts the attack does not get through.

mod common;

use common::*;
use serde_json::Value;

const KEY: &str = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmU\n-----END OPENSSH PRIVATE KEY-----\n";

fn finds(repo: &TestRepo, query: &str) -> bool {
    !json(repo, &["search", "--mode", "lexical", query])
        .as_array()
        .unwrap()
        .is_empty()
}

#[test]
fn symlinks_do_not_launder_secrets_or_ignored_files() {
    let repo = TestRepo::new();
    repo.write("app.py", "def main():\n    return 0\n");
    repo.write(".env", "DB_PASSWORD=hunter2zebra\n");
    repo.write(".gitignore", "ignored_secret.txt\nprivate/\n");
    repo.write("ignored_secret.txt", "api token quokkaspecial\n");
    repo.write("private/notes.txt", "vault code wombatsecret\n");
    repo.write("deploy/server.key", "not really a key but a key file\n");
    let link = |target: &str, alias: &str| {
        std::os::unix::fs::symlink(target, repo.join(alias)).unwrap();
    };
    link(".env", "env_alias.txt");
    link("ignored_secret.txt", "ignored_alias.txt");
    link("private", "conf_alias");
    link("deploy/server.key", "creds.txt");
    link("app.py", "app_alias.py");
    repo.commit("hostile links");
    json(&repo, &["index"]);

    for word in ["hunter2zebra", "quokkaspecial", "wombatsecret", "really"] {
        assert!(!finds(&repo, word), "{word} was indexed");
    }
    let reasons = skipped(&repo);
    for expected in [
        "env_alias.txt symlink-ignored",
        "ignored_alias.txt symlink-ignored",
        "conf_alias symlink-ignored",
        "creds.txt secret",
        "deploy/server.key secret",
    ] {
        assert!(
            reasons.iter().any(|r| r == expected),
            "{expected} not in {reasons:?}"
        );
    }
    // A link to a file the walk takes is indexed as before.
    let status = json(&repo, &["status"]);
    assert!(
        !reasons.iter().any(|r| r.starts_with("app_alias.py")),
        "{status}"
    );
}

#[test]
fn a_private_key_anywhere_in_a_file_makes_it_a_secret() {
    let repo = TestRepo::new();
    let mut text = String::new();
    for i in 0..3000 {
        text.push_str(&format!("def filler_{i}():\n    return {i}\n"));
    }
    assert!(text.len() > 64 * 1024);
    text.push_str("KEY = '''\n");
    text.push_str(KEY);
    text.push_str("'''\n");
    repo.write("settings.py", &text);
    repo.write("ok.py", "def fine():\n    pass\n");
    repo.commit("late key");
    json(&repo, &["index"]);
    assert!(!finds(&repo, "b3BlbnNzaC1rZXktdjEAAAAABG5vbmU"));
    assert!(!finds(&repo, "filler_2999"));
    assert!(skipped(&repo).iter().any(|r| r == "settings.py secret"));
    let outline: Value =
        serde_json::from_str(&ok(lore(&repo).args(["outline", "ok.py", "--json"]))).unwrap();
    assert!(!outline.as_array().unwrap().is_empty());
}

#[test]
fn questions_are_kept_redacted_in_files_only_the_user_can_read() {
    use std::os::unix::fs::PermissionsExt;
    let repo = TestRepo::new();
    repo.write("db.py", "def connect(url):\n    return url\n");
    repo.commit("db");
    json(&repo, &["index"]);
    let question =
        "why does connect fail with postgres://app:topsecretpw@db and key AKIAZ7QXR4JLMW2PQ5TN?";
    json(&repo, &["ask", "--no-llm", question]);
    let history = json(&repo, &["history"]);
    let stored = history[0]["question"].as_str().unwrap();
    assert!(stored.contains("why does connect fail"), "{stored}");
    for secret in ["topsecretpw", "AKIAZ7QXR4JLMW2PQ5TN"] {
        assert!(!stored.contains(secret), "{stored}");
    }
    let audit_path = repo.home().join("audit.log");
    let audit = std::fs::read_to_string(&audit_path).unwrap();
    assert!(
        !audit.contains("topsecretpw") && !audit.contains("AKIAZ7QXR4JLMW2PQ5TN"),
        "{audit}"
    );
    let mut private: Vec<_> = files_under(repo.home())
        .into_iter()
        .filter(|p| p.ends_with("history.db"))
        .collect();
    assert!(!private.is_empty());
    for db in &private {
        for file in [db.clone(), db.with_extension("db-wal")] {
            let bytes = std::fs::read(&file).unwrap_or_default();
            let text = String::from_utf8_lossy(&bytes);
            assert!(
                !text.contains("topsecretpw"),
                "{} keeps the secret",
                file.display()
            );
        }
    }
    private.push(audit_path);
    for path in private {
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{}", path.display());
    }
}

#[test]
fn no_remote_keeps_code_from_remote_embedders_too() {
    let repo = TestRepo::new();
    repo.write("app.py", "def main():\n    return 0\n");
    repo.commit("app");
    json(&repo, &["index"]);
    ok(lore(&repo).args(["config", "set", "privacy.no_remote", "true"]));
    let started = std::time::Instant::now();
    for args in [
        &[
            "embed",
            "use",
            "openai:text-embedding-3-small@http://192.0.2.2:9/v1",
        ][..],
        &[
            "index",
            "--embedder",
            "openai:text-embedding-3-small@http://192.0.2.2:9/v1",
        ],
    ] {
        let failed = fails(lore(&repo).args(args));
        let err = String::from_utf8_lossy(&failed.stderr);
        assert!(err.contains("privacy.no_remote"), "{err}");
    }
    // Refused before any request (a probe would retry for seconds).
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "it tried to connect"
    );
    // A URL that hides its host behind a user name is refused outright.
    let failed = fails(lore(&repo).args([
        "embed",
        "use",
        "ollama:m@http://localhost:1@192.0.2.2:18800",
    ]));
    assert!(String::from_utf8_lossy(&failed.stderr).contains("user names"));
}

#[test]
fn purge_removes_a_path_from_every_store_and_keeps_it_out() {
    let repo = TestRepo::new();
    repo.write(
        "notes/private.py",
        "def zanzibarquux_rotate(key):\n    \"\"\"Rotates the zanzibarquux signing key.\"\"\"\n    return key[::-1]\n",
    );
    repo.write(
        "app.py",
        "from notes.private import zanzibarquux_rotate\n\ndef main():\n    return 0\n",
    );
    repo.commit("private notes");
    json(&repo, &["index"]);
    let asked = json(
        &repo,
        &["ask", "--no-llm", "where is zanzibarquux_rotate defined?"],
    );
    assert_eq!(asked["citations"][0]["path"], "notes/private.py", "{asked}");
    // An answer that packs only `main` (in a repository this small every
    // chunk is near enough to be packed otherwise): it stays.
    ok(lore(&repo).args(["config", "set", "context.chunks", "1"]));
    let main = json(&repo, &["ask", "--no-llm", "what does main do?"]);
    assert!(
        main["citations"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["path"] != "notes/private.py"),
        "{main}"
    );

    let report = json(&repo, &["purge", "notes/private.py"]);
    assert_eq!(report["paths"][0], "notes/private.py", "{report}");
    assert!(report["answers"].as_u64().unwrap() >= 1, "{report}");
    // Nothing of the file is left in any store file of the repository.
    for path in files_under(repo.home()) {
        let bytes = std::fs::read(&path).unwrap_or_default();
        let text = String::from_utf8_lossy(&bytes);
        let name = path.file_name().unwrap().to_string_lossy();
        if name == "purged" || name == "audit.log" {
            continue;
        }
        assert!(
            !text.contains("Rotates the zanzibarquux"),
            "{} still holds the purged file",
            path.display()
        );
    }
    let private_hit = |repo: &TestRepo| {
        hit_paths(&json(repo, &["search", "zanzibarquux_rotate"]))
            .iter()
            .any(|p| p == "notes/private.py")
    };
    assert!(!private_hit(&repo));
    let history = json(&repo, &["history"]);
    assert_eq!(history.as_array().unwrap().len(), 1, "{history}");
    assert_eq!(history[0]["question"], "what does main do?");
    // Later runs keep it out, and say so.
    json(&repo, &["index"]);
    assert!(!private_hit(&repo));
    assert!(
        skipped(&repo)
            .iter()
            .any(|r| r == "notes/private.py purged")
    );
    // Until the user allows it again.
    ok(lore(&repo).args(["purge", "--allow", "notes/private.py"]));
    json(&repo, &["index"]);
    assert!(private_hit(&repo));
}
