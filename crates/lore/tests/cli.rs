//! End-to-end tests of the `lore` command line on scripted git repositories.

mod common;

use common::*;
use serde_json::Value;

const SESSION_PY: &str = r#""""HTTP sessions."""
from .retry import backoff

MAX_RETRIES = 3


class Session:
    """Keeps connections alive."""

    def send(self, request):
        """Send a request and give up after too many retries."""
        for attempt in range(MAX_RETRIES):
            if self.try_once(request):
                return True
            backoff(attempt)
        return False

    def try_once(self, request):
        return request is not None
"#;

const RETRY_PY: &str = r#"import time


def backoff(attempt):
    """Sleep exponentially longer between attempts."""
    time.sleep(2 ** attempt)
"#;

const PARSER_RS: &str = r#"/// Parses HTTP.
pub struct Parser {
    strict: bool,
}

impl Parser {
    /// Parses one request line.
    pub fn parse_http_request(&self, line: &str) -> Option<usize> {
        line.find(' ')
    }
}
"#;

fn fixture() -> TestRepo {
    let repo = TestRepo::new();
    repo.write("src/session.py", SESSION_PY)
        .write("src/retry.py", RETRY_PY)
        .write("lib/parser.rs", PARSER_RS)
        .write(
            "README.md",
            "# Demo\n\nA demo of sessions and the retry policy.\n",
        )
        .write(".gitignore", "build/\n")
        .write("build/out.py", "def ignored_by_gitignore(): pass\n")
        .write(".loreignore", "vendor/\n")
        .write("vendor/dep.py", "def ignored_by_loreignore(): pass\n")
        .write(
            "assets/logo.png",
            b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".as_slice(),
        )
        .write("data/big.txt", "word ".repeat(1000))
        .write("static/app.min.js", "var a=1;")
        .write(
            "src/legacy.py",
            b"# caf\xe9\ndef legacy_latin1():\n    return 1\n".as_slice(),
        )
        .write(
            "src/broken.py",
            "def fine():\n    return 1\n\ndef broken(:\n    ((\n\nclass AfterBroken:\n    pass\n",
        );
    repo.commit_as("Ada Example <ada@example.com>", "Add sessions");
    repo.write(
        "src/session.py",
        SESSION_PY.replace(
            "Keeps connections alive.",
            "Keeps connections alive and warm.",
        ),
    );
    repo.commit_as("Grace Example <grace@example.com>", "Document sessions");
    repo
}

fn index(repo: &TestRepo) -> Value {
    json(repo, &["index", "--max-file-size", "2000"])
}

#[test]
fn index_search_symbols_refs_outline_status() {
    let repo = fixture();
    let report = index(&repo);
    let added: Vec<&str> = report["added"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    for expected in [
        "src/session.py",
        "src/retry.py",
        "lib/parser.rs",
        "README.md",
        "src/legacy.py",
        "src/broken.py",
    ] {
        assert!(
            added.contains(&expected),
            "{expected} not indexed: {added:?}"
        );
    }
    for ignored in [
        "build/out.py",
        "vendor/dep.py",
        "assets/logo.png",
        "data/big.txt",
        "static/app.min.js",
    ] {
        assert!(!added.contains(&ignored), "{ignored} should not be indexed");
    }

    // Search: words of the question find the method, lines 1-based inclusive.
    let hits = json(&repo, &["search", "give", "up", "retries", "-k", "3"]);
    let top = &hits[0];
    assert_eq!(top["path"], "src/session.py");
    assert_eq!(top["symbol"], "Session.send");
    assert_eq!(top["kind"], "method");
    assert_eq!(top["lang"], "python");
    assert_eq!(top["start_line"], line_of(SESSION_PY, "def send"));
    assert_eq!(top["end_line"], line_of(SESSION_PY, "return False"));
    assert!(
        top["snippet"].as_str().unwrap().contains("give up"),
        "{top}"
    );
    assert!(top["score"].as_f64().unwrap() > 0.0);
    let keys: Vec<&String> = top.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        [
            "end_line",
            "kind",
            "lang",
            "path",
            "score",
            "snippet",
            "start_line",
            "symbol"
        ]
    );

    // Identifier in another convention; language and path filters.
    let hits = json(&repo, &["search", "parseHttpRequest"]);
    assert_eq!(hit_paths(&hits)[0], "lib/parser.rs");
    assert_eq!(hits[0]["symbol"], "Parser::parse_http_request");
    let hits = json(&repo, &["search", "request", "--lang", "rust"]);
    assert!(
        hit_paths(&hits).iter().all(|p| p.ends_with(".rs")),
        "{hits}"
    );
    let hits = json(&repo, &["search", "request", "--path", "src/*.py"]);
    assert!(
        !hit_paths(&hits).is_empty() && hit_paths(&hits).iter().all(|p| p.starts_with("src/")),
        "{hits}"
    );
    // Ignored files are not indexed: no word of them matches, and no
    // result (vectors find neighbours for any words) comes from them.
    let hits = json(
        &repo,
        &["search", "ignored_by_gitignore", "--mode", "lexical"],
    );
    assert_eq!(hits, Value::Array(vec![]));
    let hits = json(&repo, &["search", "ignored_by_gitignore"]);
    assert!(
        hit_paths(&hits).iter().all(|p| !p.starts_with("build/")),
        "{hits}"
    );
    let hits = json(&repo, &["search", "legacy_latin1"]);
    assert_eq!(hit_paths(&hits)[0], "src/legacy.py");
    let hits = json(&repo, &["search", "AfterBroken"]);
    assert_eq!(
        hit_paths(&hits)[0],
        "src/broken.py",
        "valid code after a syntax error is still indexed"
    );

    // Symbols: exact, then prefix, then fuzzy; kind filter.
    let exact = json(&repo, &["symbols", "Session.send"]);
    assert_eq!(exact[0]["qualname"], "Session.send");
    assert_eq!(exact[0]["matched"], "exact");
    assert_eq!(exact[0]["start_line"], line_of(SESSION_PY, "def send"));
    assert_eq!(
        exact[0]["doc"],
        "Send a request and give up after too many retries."
    );
    assert_eq!(exact[0]["signature"], "def send(self, request)");
    let prefix = json(&repo, &["symbols", "try_"]);
    assert_eq!(prefix[0]["qualname"], "Session.try_once");
    assert_eq!(prefix[0]["matched"], "prefix");
    let fuzzy = json(&repo, &["symbols", "Sesion"]);
    assert_eq!(fuzzy[0]["qualname"], "Session");
    assert_eq!(fuzzy[0]["matched"], "fuzzy");
    let classes = json(&repo, &["symbols", "Parser", "--kind", "struct"]);
    assert_eq!(classes.as_array().unwrap().len(), 1);
    assert_eq!(
        json(&repo, &["symbols", "Parser", "--kind", "function"]),
        Value::Array(vec![])
    );

    // References: the call site with its caller, and the import.
    let refs = json(&repo, &["refs", "backoff"]);
    let refs = refs.as_array().unwrap();
    let call = refs.iter().find(|r| r["kind"] == "call").expect("a call");
    assert_eq!(call["path"], "src/session.py");
    assert_eq!(call["line"], line_of(SESSION_PY, "backoff(attempt)"));
    assert_eq!(call["symbol"], "Session.send");
    assert_eq!(call["text"], "backoff(attempt)");
    assert!(
        refs.iter().any(|r| r["kind"] == "import" && r["line"] == 2),
        "{refs:?}"
    );

    // Outline as a tree.
    let outline = json(&repo, &["outline", "src/session.py"]);
    let names: Vec<&str> = outline
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["MAX_RETRIES", "Session"]);
    let methods: Vec<&str> = outline[1]["children"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(methods, ["send", "try_once"]);
    // From a subdirectory, paths are relative to it.
    let sub = ok(lore_in(&repo, &repo.join("src")).args(["outline", "session.py"]));
    assert!(sub.contains("method send"), "{sub}");
    let missing = fails(lore(&repo).args(["outline", "nope.py"]));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("nope.py"));

    // Status: commit, history, languages, skipped files with reasons.
    let head = repo.git(&["rev-parse", "HEAD"]);
    let status = json(&repo, &["status", "--errors"]);
    assert_eq!(status["indexed_commit"], head.as_str());
    assert_eq!(status["head"], head.as_str());
    assert_eq!(status["fresh"], "up to date");
    assert_eq!(status["commits"], 2);
    assert_eq!(status["files_with_syntax_errors"], 1);
    assert!(status["index_bytes"].as_u64().unwrap() > 0);
    let skipped: Vec<(String, String)> = status["skipped_files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["path"].as_str().unwrap().to_owned(),
                s["reason"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    for (path, reason) in [
        ("assets/logo.png", "binary"),
        ("data/big.txt", "too-large"),
        ("static/app.min.js", "minified"),
        ("src/legacy.py", "non-utf8"),
    ] {
        assert!(
            skipped.contains(&(path.to_owned(), reason.to_owned())),
            "{path} {reason} in {skipped:?}"
        );
    }
    let text = ok(lore(&repo).args(["status", "--errors"]));
    assert!(text.contains("data/big.txt  too-large"), "{text}");
    assert!(text.contains("python"), "{text}");

    // Repos and forget.
    let repos = json(&repo, &["repos"]);
    let root = repo.path().canonicalize().unwrap();
    assert_eq!(repos[0]["root"], root.to_str().unwrap());
    ok(lore(&repo).args(["forget"]).arg(repo.path()));
    assert_eq!(json(&repo, &["repos"]), Value::Array(vec![]));
    let err = fails(lore(&repo).args(["search", "send"]));
    assert!(
        String::from_utf8_lossy(&err.stderr).contains("not indexed"),
        "{err:?}"
    );
    assert!(
        !repo.join(".lore").exists(),
        "nothing is written inside the repository"
    );
}

#[test]
fn incremental_add_modify_delete_rename() {
    let repo = fixture();
    index(&repo);
    let generation = json(&repo, &["status"])["generation"].as_u64().unwrap();

    repo.write(
        "src/session.py",
        format!("{SESSION_PY}\n\ndef close_all():\n    pass\n"),
    )
    .remove("src/retry.py")
    .rename("lib/parser.rs", "lib/http_parser.rs")
    .write("src/new_module.py", "def brand_new():\n    return 42\n");
    let report = index(&repo);
    assert_eq!(report["added"], serde_json::json!(["src/new_module.py"]));
    assert_eq!(report["modified"], serde_json::json!(["src/session.py"]));
    assert_eq!(report["deleted"], serde_json::json!(["src/retry.py"]));
    assert_eq!(
        report["renamed"],
        serde_json::json!([{"from": "lib/parser.rs", "to": "lib/http_parser.rs"}])
    );

    assert_eq!(
        hit_paths(&json(&repo, &["search", "close_all"]))[0],
        "src/session.py"
    );
    assert_eq!(
        hit_paths(&json(&repo, &["search", "brand_new"]))[0],
        "src/new_module.py"
    );
    assert_eq!(
        hit_paths(&json(&repo, &["search", "parse_http_request"]))[0],
        "lib/http_parser.rs"
    );
    assert!(
        !hit_paths(&json(&repo, &["search", "exponentially"])).contains(&"src/retry.py".to_owned())
    );
    assert_eq!(json(&repo, &["symbols", "backoff"]), Value::Array(vec![]));
    assert_eq!(
        json(&repo, &["refs", "backoff"])
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["path"] == "src/retry.py")
            .count(),
        0
    );

    // Nothing changed: nothing re-parsed, the generation stays.
    let report = index(&repo);
    for key in ["added", "modified", "deleted", "renamed"] {
        assert_eq!(report[key], Value::Array(vec![]), "{key}: {report}");
    }
    assert_eq!(report["generation"].as_u64().unwrap(), generation + 1);
    // Every indexed file is counted unchanged, whether its mtime matched or it
    // was re-hashed (files written moments before a run are always re-hashed).
    assert_eq!(report["unchanged"], report["files"], "{report}");
    let again = index(&repo);
    assert_eq!(again["unchanged"], again["files"], "{again}");

    // Same size, same mtime second: content hashing still sees the edit.
    repo.write("src/new_module.py", "def brand_old():\n    return 42\n");
    let report = index(&repo);
    assert_eq!(report["modified"], serde_json::json!(["src/new_module.py"]));
    assert_eq!(
        hit_paths(&json(&repo, &["search", "brand_old"]))[0],
        "src/new_module.py"
    );

    // Text output names what changed.
    repo.remove("README.md");
    let text = ok(lore(&repo).args(["index", "--max-file-size", "2000"]));
    assert!(text.contains("D README.md"), "{text}");
}

#[test]
fn history_commits_and_churn_follow_new_commits() {
    let repo = fixture();
    index(&repo);
    assert_eq!(json(&repo, &["status"])["commits"], 2);
    repo.write("src/retry.py", format!("{RETRY_PY}\n# tuned\n"));
    let head = repo.commit_as("Linus Example <linus@example.com>", "Tune retry");
    index(&repo);
    let status = json(&repo, &["status"]);
    assert_eq!(status["commits"], 3);
    assert_eq!(status["indexed_commit"], head.as_str());
    // HEAD moves without a re-index: status says so.
    repo.commit("Empty");
    let status = json(&repo, &["status"]);
    assert_eq!(status["fresh"], "HEAD has moved; run `lore index`");
}

/// A file skipped for its content (binary, minified) is not read again
/// while its size and mtime stay the same: on a large tree those reads
/// were most of a run with nothing changed.
#[test]
fn files_skipped_for_their_content_are_not_read_again_until_they_change() {
    let repo = TestRepo::new();
    repo.write("a.py", "def alpha():\n    return 1\n");
    repo.write(
        "assets/logo.png",
        b"\x89PNG\r\n\x1a\n\0\0\0binary".as_slice(),
    );
    for path in ["a.py", "assets/logo.png"] {
        // Old enough that size and mtime can be trusted.
        let status = std::process::Command::new("touch")
            .args(["-d", "2020-01-01 00:00:00"])
            .arg(repo.join(path))
            .status()
            .unwrap();
        assert!(status.success());
    }
    repo.commit("Initial");
    ok(lore(&repo).arg("index"));
    let candidates = |repo: &TestRepo| {
        let out = lore(repo).args(["-v", "index"]).output().unwrap();
        assert!(out.status.success());
        let log = String::from_utf8_lossy(&out.stderr).into_owned();
        let at = log.find("candidates=").unwrap_or_else(|| panic!("{log}"));
        log[at + "candidates=".len()..]
            .split(|c: char| !c.is_ascii_digit())
            .next()
            .unwrap()
            .parse::<u32>()
            .unwrap()
    };
    let skipped_reasons = |repo: &TestRepo| -> Vec<(String, String)> {
        json(repo, &["status", "--errors"])["skipped_files"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                (
                    s["path"].as_str().unwrap().into(),
                    s["reason"].as_str().unwrap().into(),
                )
            })
            .collect()
    };
    assert_eq!(candidates(&repo), 0);
    assert_eq!(
        skipped_reasons(&repo),
        [("assets/logo.png".to_owned(), "binary".to_owned())]
    );
    // Changed (size and mtime move): read again, and now it is text.
    repo.write("assets/logo.png", "a text file now\n");
    assert_eq!(candidates(&repo), 1);
    assert!(skipped_reasons(&repo).is_empty());
}
