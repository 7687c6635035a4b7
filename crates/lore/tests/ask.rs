//! `lore ask`, `history`, `config`, `providers check` and `chat` as a user
//! runs them.

mod common;

use std::io::Write;
use std::process::Stdio;

use common::*;
use lore_test_support::{FakeHttp, FakeResponse};

fn repo() -> TestRepo {
    let repo = TestRepo::new();
    repo.write(
        "billing/invoice.py",
        "def total_with_tax(lines, rate):\n    \"\"\"Sum the invoice lines and add tax at `rate`.\"\"\"\n    subtotal = sum(line.amount for line in lines)\n    return round(subtotal * (1 + rate), 2)\n",
    );
    repo.write(
        "billing/report.py",
        "from billing.invoice import total_with_tax\n\n\ndef monthly_report(invoices):\n    return [total_with_tax(i.lines, 0.2) for i in invoices]\n",
    );
    repo.commit("Initial");
    ok(lore(&repo).args(["index", "-q"]));
    repo
}

#[test]
fn ask_answers_offline_with_json_citations_and_records_history() {
    let repo = repo();
    let answer = json(&repo, &["ask", "where is the tax added to invoices?"]);
    assert_eq!(answer["mode"], "extractive");
    assert_eq!(answer["citations"][0]["path"], "billing/invoice.py");
    assert_eq!(answer["citations"][0]["symbol"], "total_with_tax");
    assert_eq!(answer["citations"][0]["commit"].as_str().unwrap().len(), 40);
    assert!(answer["answer_id"].as_i64().unwrap() > 0);
    assert_eq!(answer["policy"]["version"], 1);
    assert!(answer["latency_ms"].as_u64().is_some());

    // Text mode streams the answer and lists the sources.
    let text = ok(lore(&repo).args(["ask", "what calls total_with_tax?"]));
    assert!(
        text.contains("`total_with_tax` has 1 call site in 1 file"),
        "{text}"
    );
    assert!(text.contains("Sources at "), "{text}");
    assert!(
        text.contains("[2] billing/report.py:4-5  monthly_report"),
        "{text}"
    );

    // A follow-up in the same conversation resolves "it".
    let follow = json(&repo, &["ask", "-c", "where is it defined?"]);
    assert_eq!(
        follow["citations"][0]["path"], "billing/invoice.py",
        "{follow}"
    );

    let history = json(&repo, &["history"]);
    let questions: Vec<&str> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["question"].as_str().unwrap())
        .collect();
    assert_eq!(
        questions,
        [
            "where is it defined?",
            "what calls total_with_tax?",
            "where is the tax added to invoices?"
        ]
    );
    let first = answer["answer_id"].as_i64().unwrap().to_string();
    let shown = json(&repo, &["history", "--show", &first]);
    let log = shown["candidates"].as_array().unwrap();
    assert!(
        log.iter()
            .any(|c| c["packed"] == true && c["cited"] == true)
    );

    // Every query is in the audit log.
    let audit = std::fs::read_to_string(repo.home().join("audit.log")).unwrap();
    assert_eq!(audit.lines().count(), 3);
    assert!(audit.contains("\"mode\":\"extractive\""));
}

#[test]
fn explain_shows_every_candidate_and_whether_it_was_packed_and_cited() {
    let repo = repo();
    let answer = json(
        &repo,
        &["ask", "--explain", "how is the invoice total rounded?"],
    );
    let candidates = answer["explain"]["candidates"].as_array().unwrap();
    assert!(!candidates.is_empty());
    assert!(candidates.iter().any(|c| c["cited"] == true));
    assert!(
        candidates
            .iter()
            .any(|c| c["features"].as_array().is_some_and(|f| !f.is_empty()))
    );
    assert_eq!(answer["explain"]["question"]["intent"], "general");
}

#[test]
fn config_is_kept_in_lore_home_and_bad_values_are_refused() {
    let repo = repo();
    ok(lore(&repo).args(["config", "set", "provider.model", "qwen2.5-coder:7b"]));
    let got = ok(lore(&repo).args(["config", "get", "provider.model"]));
    assert_eq!(got.trim(), "qwen2.5-coder:7b");
    let toml = std::fs::read_to_string(repo.home().join("config.toml")).unwrap();
    assert!(toml.contains("qwen2.5-coder:7b"), "{toml}");
    let out = fails(lore(&repo).args(["config", "set", "context.chunks", "many"]));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("context.chunks") && err.contains("many"),
        "{err}"
    );
}

fn sse(text: &str) -> FakeResponse {
    FakeResponse::chat_stream("small-model", text)
}

#[test]
fn a_configured_provider_answers_and_a_dead_one_falls_back_with_a_notice() {
    let repo = repo();
    let server = FakeHttp::start(|r| {
        if r.path.ends_with("/models") {
            FakeResponse::json(200, r#"{"data":[{"id":"small-model"}]}"#)
        } else {
            sse("Tax is added in `total_with_tax` [1:4].")
        }
    });
    ok(lore(&repo).args(["config", "set", "provider.kind", "openai"]));
    ok(lore(&repo).args(["config", "set", "provider.base_url", &server.url()]));
    ok(lore(&repo).args(["config", "set", "provider.model", "small-model"]));

    let answer = json(&repo, &["ask", "where is the tax added?"]);
    assert_eq!(answer["mode"], "llm");
    assert_eq!(answer["model"], "small-model");
    assert_eq!(answer["answer"], "Tax is added in `total_with_tax` [1:4].");
    assert_eq!(answer["citations"][0]["start_line"], 4);
    assert_eq!(answer["cost"], 0.0);
    assert!(answer["tokens"]["prompt"].as_u64().unwrap() > 0);

    let check = json(&repo, &["providers", "check"]);
    assert_eq!(check["reachable"], true);
    assert_eq!(check["models"][0]["available"], true);

    // --no-llm answers extractively without asking.
    let before = server.requests().len();
    let answer = json(&repo, &["ask", "--no-llm", "where is the tax added?"]);
    assert_eq!(answer["mode"], "extractive");
    assert_eq!(server.requests().len(), before);

    // A provider nobody listens on: extractive, with a one-line notice.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    ok(lore(&repo).args([
        "config",
        "set",
        "provider.base_url",
        &format!("http://127.0.0.1:{port}"),
    ]));
    ok(lore(&repo).args(["config", "set", "provider.retries", "0"]));
    let out = lore(&repo)
        .args(["ask", "where is the tax added?"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    let notices: Vec<&str> = stderr.lines().filter(|l| l.starts_with("note:")).collect();
    assert_eq!(notices.len(), 1, "{stderr}");
    assert!(notices[0].contains("evidence alone"), "{stderr}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("total_with_tax"));
    let check = fails(lore(&repo).args(["providers", "check"]));
    assert!(String::from_utf8_lossy(&check.stdout).contains("unreachable"));
}

#[test]
fn chat_keeps_one_conversation_and_understands_commands() {
    let repo = repo();
    let mut child = lore(&repo)
        .arg("chat")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"what calls total_with_tax?\n/history\nwhere is it defined?\n/quit\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("`total_with_tax` has 1 call site"),
        "{stdout}"
    );
    assert!(stdout.contains("what calls total_with_tax?"), "{stdout}");
    let history = json(&repo, &["history"]);
    let rows = history.as_array().unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["conversation"], rows[1]["conversation"]);
    assert!(
        rows[0]["answer"]
            .as_str()
            .unwrap()
            .contains("billing/invoice.py")
    );
}

/// `lore feedback`: votes, notes and corrections on an answer, with its
/// reward; one person's repeated votes count once; bad input is named.
#[test]
fn feedback_is_recorded_with_its_signal_and_reward() {
    let repo = repo();
    let answer = json(&repo, &["ask", "where is the tax added to invoices?"]);
    let id = answer["answer_id"].as_i64().unwrap().to_string();
    let first = json(&repo, &["feedback", &id, "up", "--note", "thanks, spot on"]);
    let value = first["reward"]["value"].as_f64().unwrap();
    assert!(value > 0.99, "{first}");
    // Again: the same person, counted once.
    let again = json(&repo, &["feedback", &id, "up"]);
    assert_eq!(again["reward"]["counted"]["up"], 1, "{again}");
    assert_eq!(again["reward"]["people"], 1);
    // Changing one's mind, with the right place.
    let down = json(
        &repo,
        &[
            "feedback",
            &id,
            "down",
            "--correct",
            "billing/report.py:4-5",
        ],
    );
    assert!(down["reward"]["value"].as_f64().unwrap() < -0.99, "{down}");
    assert_eq!(down["reward"]["counted"]["correct"], 1, "{down}");
    let text = ok(lore(&repo).args([
        "feedback",
        &id,
        "--note",
        "the answer mentions the sync client",
    ]));
    assert!(
        text.starts_with(&format!("recorded on answer {id}: reward")),
        "{text}"
    );
    let (signals, shown) = feedback_signals(&repo, &id);
    assert_eq!(signals, ["up", "up", "down", "note"]);
    assert!(
        shown["feedback"][0]["user"]
            .as_str()
            .unwrap()
            .starts_with("local")
    );
    assert!(
        shown["feedback"][2]["correct_citations"]
            .as_str()
            .unwrap()
            .contains("\"billing/report.py\""),
        "{shown}"
    );

    let err = fails(lore(&repo).args(["feedback", &id, "--correct", "billing/nope.py:1-2"]));
    assert!(String::from_utf8_lossy(&err.stderr).contains("billing/nope.py: not an indexed file"));
    let err = fails(lore(&repo).args(["feedback", &id, "--correct", "billing/report.py:9-2"]));
    assert!(String::from_utf8_lossy(&err.stderr).contains("expected PATH:START-END"));
    let err = fails(lore(&repo).args(["feedback", "424242", "up"]));
    assert!(String::from_utf8_lossy(&err.stderr).contains("no answer 424242"));
    let err = fails(lore(&repo).args(["feedback", &id]));
    assert!(String::from_utf8_lossy(&err.stderr).contains("say up or down"));
}

/// Implicit feedback from asking: the same question again within minutes
/// is a re-ask of the earlier answer; a next question in the conversation
/// is a follow-up on the previous answer.
#[test]
fn a_reask_and_a_follow_up_are_recorded_on_the_earlier_answers() {
    let repo = repo();
    let first = json(&repo, &["ask", "where is the tax added to invoices?"]);
    let second = json(&repo, &["ask", "Where is the tax  added to invoices"]);
    let third = json(&repo, &["ask", "-c", "what calls it?"]);
    let signals = |answer: &serde_json::Value| -> Vec<String> {
        feedback_signals(&repo, &answer["answer_id"].to_string()).0
    };
    assert_eq!(signals(&first), ["reask"]);
    assert_eq!(signals(&second), ["follow-up"]);
    assert!(signals(&third).is_empty());
}

#[test]
fn a_local_gguf_model_answers_in_process_with_checked_citations() {
    let repo = repo();
    let model = lore_test_support::smollm_gguf();
    // A path that is not a file is refused, naming the setting.
    ok(lore(&repo).args(["config", "set", "provider.kind", "local"]));
    ok(lore(&repo).args(["config", "set", "provider.model", "/nowhere/model.gguf"]));
    let out = lore(&repo)
        .args(["ask", "where is the tax added?"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("provider.model") && err.contains("/nowhere/model.gguf"),
        "{err}"
    );

    ok(lore(&repo).args(["config", "set", "provider.model", model.to_str().unwrap()]));
    let check = json(&repo, &["providers", "check"]);
    assert_eq!(check["reachable"], true, "{check}");
    let question = "Which function adds the tax? Cite it.";
    let a = json(&repo, &["ask", "--no-cache", question]);
    assert_eq!(a["mode"], "llm", "{a}");
    assert!(
        a["model"]
            .as_str()
            .unwrap()
            .to_lowercase()
            .contains("smollm2"),
        "{a}"
    );
    assert_eq!(a["cost"], 0.0, "{a}");
    assert!(a["tokens"]["prompt"].as_u64().unwrap() > 0, "{a}");
    assert!(!a["answer"].as_str().unwrap().trim().is_empty(), "{a}");
    // Whatever the model cites is checked like any provider's: each kept
    // citation names lines of a file it was shown.
    for c in a["citations"].as_array().unwrap() {
        assert!(c["path"].as_str().unwrap().starts_with("billing/"), "{a}");
    }
    // Greedy decoding: the same question, the same answer.
    let b = json(&repo, &["ask", "--no-cache", question]);
    assert_eq!(a["answer"], b["answer"]);
}
