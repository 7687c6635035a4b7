//! `lore diagnose` on a fixture with a planted error message and raise site.

mod common;

use common::*;
use serde_json::Value;

fn fixture() -> TestRepo {
    let repo = TestRepo::new();
    repo.write(
        "billing/invoice.py",
        "class InvoiceError(Exception):\n    pass\n\n\ndef total(lines):\n    amount = sum(l.price for l in lines)\n    if amount < 0:\n        raise InvoiceError(\"negative invoice total for account\")\n    return amount\n",
    )
    .write(
        "billing/report.py",
        "from billing.invoice import total\n\n\ndef monthly(invoices):\n    return [total(i) for i in invoices]\n",
    )
    .write(
        "billing/export.py",
        "def export_csv(rows):\n    return \"\\n\".join(\",\".join(r) for r in rows)\n",
    )
    .write(
        "docs/errors.md",
        "# Errors\n\nThe billing module reports errors for accounts.\n",
    );
    repo.commit("Initial import");
    repo.advance_days(2);
    repo.write(
        "billing/export.py",
        "def export_csv(rows):\n    return \"\\n\".join(\";\".join(r) for r in rows)\n",
    );
    repo.commit("Fix crash in export of empty rows");
    ok(lore(&repo).arg("index"));
    repo
}

fn places(repo: &TestRepo, symptom: &str) -> Vec<Value> {
    json(repo, &["diagnose", symptom, "-k", "5"])
        .as_array()
        .unwrap()
        .clone()
}

#[test]
fn an_error_message_leads_to_its_raise_site() {
    let repo = fixture();
    let got = places(&repo, "InvoiceError: negative invoice total for account 42");
    let first = &got[0];
    assert_eq!(first["path"], "billing/invoice.py", "{got:?}");
    let kinds: Vec<&str> = first["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert!(kinds.contains(&"raise-site"), "{kinds:?}");
    assert_eq!(first["symbol"], "total", "{got:?}");
    // The exception's definition is the file's other place.
    let second = &got[1];
    assert_eq!(second["path"], "billing/invoice.py", "{got:?}");
    assert!(
        second["evidence"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["kind"] == "definition"),
        "{got:?}"
    );
    let raise = first["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "raise-site")
        .unwrap();
    assert_eq!(raise["at"], "billing/invoice.py:8", "{raise}");
}

#[test]
fn a_stack_frame_and_the_fix_history_are_evidence() {
    let repo = fixture();
    let trace = "Traceback (most recent call last):\n  File \"/srv/app/billing/report.py\", line 5, in monthly\nKeyError: 'price'";
    let got = places(&repo, trace);
    assert_eq!(got[0]["path"], "billing/report.py", "{got:?}");
    assert_eq!(got[0]["symbol"], "monthly", "{got:?}");
    assert!(got[0]["features"]["stack"].as_bool().unwrap(), "{got:?}");

    let got = places(&repo, "export writes the wrong separator");
    let export = got
        .iter()
        .find(|p| p["path"] == "billing/export.py")
        .unwrap_or_else(|| panic!("{got:?}"));
    assert!(
        export["evidence"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["kind"] == "fix-history"
                && e["detail"]
                    .as_str()
                    .unwrap()
                    .contains("Fix crash in export")),
        "{export}"
    );
}

#[test]
fn an_empty_symptom_is_refused() {
    let repo = fixture();
    let out = fails(lore(&repo).args(["diagnose", "  "]));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("symptom is empty"),
        "{out:?}"
    );
}

#[test]
fn a_provider_writes_a_hypothesis_whose_citations_are_checked() {
    let repo = fixture();
    let out = lore(&repo)
        .args(["diagnose", "--hypothesis", "negative invoice total"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("needs a provider"), "{err}");

    // Evidence 1 is the raise site's function; evidence 9 was never shown.
    let server = lore_test_support::fake_chat(
        "small-model",
        "`total` raises when the sum is negative [1:7-8]; a refund line makes it so [9:1].",
    );
    ok(lore(&repo).args(["config", "set", "provider.kind", "openai"]));
    ok(lore(&repo).args(["config", "set", "provider.base_url", &server.url()]));
    ok(lore(&repo).args(["config", "set", "provider.model", "small-model"]));
    let r = json(
        &repo,
        &[
            "diagnose",
            "--hypothesis",
            "-k",
            "3",
            "InvoiceError: negative invoice total",
        ],
    );
    assert_eq!(r["places"][0]["path"], "billing/invoice.py", "{r}");
    let h = &r["hypothesis"];
    assert_eq!(h["model"], "small-model", "{h}");
    assert_eq!(h["citations"].as_array().unwrap().len(), 1, "{h}");
    assert_eq!(h["citations"][0]["path"], "billing/invoice.py", "{h}");
    assert_eq!(h["citations"][0]["start_line"], 7, "{h}");
    assert_eq!(h["rejected"].as_array().unwrap().len(), 1, "{h}");
    assert!(!h["text"].as_str().unwrap().contains("[9:1]"), "{h}");
    // The model saw the symptom and the raise site's lines.
    let sent = server
        .requests()
        .into_iter()
        .find(|r| r.path.ends_with("/chat/completions"))
        .unwrap();
    assert!(
        sent.body.contains("negative invoice total") && sent.body.contains("raise InvoiceError"),
        "{}",
        sent.body
    );
    // Text output writes it whenever a provider is configured; the plain
    // JSON list stays a list.
    let text = ok(lore(&repo).args(["diagnose", "negative invoice total"]));
    assert!(
        text.contains("hypothesis (small-model, citations checked)"),
        "{text}"
    );
    assert!(json(&repo, &["diagnose", "negative invoice total"]).is_array());
}
