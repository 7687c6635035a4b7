//! The command line's edges: closed pipes, empty and zero arguments, error
//! messages that name what is wrong once, versions and index formats.

mod common;

use std::process::Stdio;

use common::*;
use serde_json::Value;

fn repo() -> TestRepo {
    let repo = TestRepo::new();
    repo.write(
        "shop/cart.py",
        "class Cart:\n    \"\"\"A cart.\"\"\"\n\n    def total(self):\n        \"\"\"Sum of the prices.\"\"\"\n        return sum(self.prices)\n\n\ndef checkout(cart):\n    return cart.total()\n",
    )
    .write("README.md", "# Shop\n\nA shop with a cart.\n");
    repo.commit("shop");
    ok(lore(&repo).args(["index", "--no-vectors"]));
    repo
}

fn stderr_of(cmd: &mut std::process::Command) -> String {
    String::from_utf8_lossy(&fails(cmd).stderr).into_owned()
}

#[test]
fn commands_exit_quietly_when_their_reader_goes_away() {
    let repo = repo();
    ok(lore(&repo).args(["ask", "--no-llm", "what calls total?"]));
    let commands: &[&[&str]] = &[
        &["history", "--show", "1"],
        &["history"],
        &["search", "cart"],
        &["symbols", "total"],
        &["refs", "total"],
        &["outline", "shop/cart.py"],
        &["map"],
        &["status"],
        &["config"],
        &["ask", "--no-llm", "what calls total?"],
    ];
    for args in commands {
        // The reader is gone before the command writes anything.
        let mut child = lore(&repo)
            .args(*args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert!(out.status.success(), "{args:?}: {}: {stderr}", out.status);
    }
}

#[test]
fn empty_and_zero_arguments_are_refused_alike() {
    let repo = repo();
    let err = stderr_of(lore(&repo).args(["search", "-k", "0", "cart"]));
    assert!(err.contains("at least 1"), "{err}");
    let err = stderr_of(lore(&repo).args(["search", "  "]));
    assert!(err.contains("search query is empty"), "{err}");
    let err = stderr_of(lore(&repo).args(["ask", " "]));
    assert!(err.contains("question is empty"), "{err}");
    let err = stderr_of(lore(&repo).args(["search", "--mode", "psychic", "cart"]));
    assert!(
        err.contains("\"psychic\"") && err.contains("vector"),
        "{err}"
    );

    // A file without symbols says so instead of printing nothing.
    let out = lore(&repo).args(["outline", "README.md"]).output().unwrap();
    assert!(out.status.success());
    assert!(out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("README.md: no symbols"), "{err}");
}

#[test]
fn errors_name_the_fault_once_without_colour_when_piped() {
    let repo = repo();
    let err = stderr_of(lore(&repo).args(["eval", "no/such/queries.jsonl"]));
    assert_eq!(err.matches("os error 2").count(), 1, "{err}");
    assert!(err.contains("no/such/queries.jsonl"), "{err}");
    assert!(!err.contains('\x1b'), "no ANSI escapes on a pipe: {err:?}");

    let err = stderr_of(lore(&repo).args(["config", "set", "nosuch.key", "1"]));
    assert!(
        err.contains("nosuch.key: no such setting") && !err.contains("provider"),
        "{err}"
    );

    // LORE_HOME is set for every test command: usage lines must not show
    // `--home` as if it were required.
    let err = stderr_of(lore(&repo).arg("eval"));
    assert!(err.contains("Usage: lore eval"), "{err}");
    assert!(!err.contains("--home"), "{err}");

    // Logging goes to stderr without colour codes too.
    let out = lore(&repo)
        .args(["-vv", "index", "--no-vectors"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("DEBUG") || err.contains("INFO"), "{err}");
    assert!(!err.contains('\x1b'), "{err:?}");
}

#[test]
fn outside_any_repository_nothing_offers_to_index_the_directory() {
    let repo = repo();
    let elsewhere = tempfile::tempdir().unwrap();
    for args in [&["status"][..], &["search", "cart"]] {
        let err = stderr_of(lore_in(&repo, elsewhere.path()).args(args));
        assert!(err.contains("no indexed repository contains"), "{err}");
        assert!(err.contains("lore repos"), "{err}");
    }
    // --repo still reaches it from anywhere.
    let root = repo.path().to_str().unwrap().to_owned();
    ok(lore_in(&repo, elsewhere.path()).args(["--repo", &root, "status"]));
}

#[test]
fn a_model_flag_without_a_provider_says_it_was_not_used() {
    let repo = repo();
    let answer = json(&repo, &["ask", "--model", "gpt-4", "what calls total?"]);
    let notice = answer["notice"].as_str().unwrap_or_default();
    assert!(
        notice.contains("gpt-4") && notice.contains("no chat provider"),
        "{answer}"
    );
    let out = lore(&repo)
        .args(["ask", "--model", "gpt-4", "--no-llm", "what calls total?"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("\"gpt-4\" was not used") && err.contains("--no-llm"),
        "{err}"
    );
}

#[test]
fn the_version_names_the_commit_and_old_index_formats_are_rebuilt() {
    let repo = repo();
    let version = ok(lore(&repo).arg("--version"));
    assert!(
        version.starts_with(&format!("lore {} (", env!("CARGO_PKG_VERSION"))),
        "{version}"
    );
    assert_ne!(env!("CARGO_PKG_VERSION"), "0.0.0");

    // Pretend an older lore wrote the index.
    let status = json(&repo, &["status"]);
    let db = std::path::Path::new(status["data_dir"].as_str().unwrap()).join("lore.db");
    let set_format = |format: &str| {
        let conn = rusqlite::Connection::open(&db).unwrap();
        conn.execute(
            "INSERT OR REPLACE INTO meta(key, value) VALUES ('index.format', ?1)",
            [format],
        )
        .unwrap();
    };
    set_format("0");
    let err = stderr_of(lore(&repo).args(["search", "cart"]));
    assert!(
        err.contains("older lore") && err.contains("run `lore index`"),
        "{err}"
    );
    let report = json(&repo, &["index", "--no-vectors"]);
    assert!(
        report["rebuilt"]
            .as_str()
            .is_some_and(|r| r.contains("format 0")),
        "{report}"
    );
    let hits = json(&repo, &["search", "checkout"]);
    assert_eq!(hits[0]["path"], "shop/cart.py", "{hits}");
    let again = json(&repo, &["index", "--no-vectors"]);
    assert_eq!(again["rebuilt"], Value::Null, "{again}");

    // A newer format is never read or overwritten.
    set_format("999");
    for args in [&["search", "cart"][..], &["index", "--no-vectors"]] {
        let err = stderr_of(lore(&repo).args(args));
        assert!(err.contains("newer lore") && err.contains("999"), "{err}");
    }
}
