//! `lore mcp` as a child process, driven by rmcp's client over stdio:
//! initialize → tools/list → tools/call for every tool.

mod common;

use common::{TestRepo, lore};
use rmcp::ServiceExt;
use rmcp::model::CallToolRequestParams;
use rmcp::transport::TokioChildProcess;
use serde_json::{Value, json};

fn fixture() -> TestRepo {
    let repo = TestRepo::new();
    repo.write(
        "shop/cart.py",
        r#"from shop.tax import vat


class Cart:
    """A shopping cart of priced items."""

    def total(self):
        """Sum of the items with VAT."""
        return sum(vat(item.price) for item in self.items)


def checkout(cart):
    """Charge the cart's total."""
    return cart.total()
"#,
    );
    repo.write(
        "shop/tax.py",
        "RATE = 0.2\n\n\ndef vat(price):\n    \"\"\"Price with value added tax.\"\"\"\n    return price * (1 + RATE)\n",
    );
    repo.commit("shop");
    common::ok(lore(&repo).arg("index"));
    repo
}

async fn call(
    client: &rmcp::service::RunningService<rmcp::RoleClient, ()>,
    name: &'static str,
    args: Value,
) -> (Value, bool) {
    let params =
        CallToolRequestParams::new(name).with_arguments(args.as_object().expect("object").clone());
    let result = client.call_tool(params).await.expect("tools/call");
    let error = result.is_error.unwrap_or(false);
    let value = match result.structured_content {
        Some(v) => v,
        None => json!(format!("{:?}", result.content)),
    };
    (value, error)
}

#[tokio::test]
async fn every_tool_answers_with_citations_over_stdio() {
    let repo = fixture();
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_lore"));
    cmd.arg("mcp")
        .current_dir(repo.path())
        .env("LORE_HOME", repo.home())
        .env_remove("RUST_LOG");
    let client = ().serve(TokioChildProcess::new(cmd).unwrap()).await.expect("initialize");
    let info = client.peer_info().expect("server info");
    assert_eq!(
        info.server_info.as_ref().expect("implementation").name,
        "lore"
    );
    assert!(info.capabilities.tools.is_some());

    let tools = client.list_all_tools().await.expect("tools/list");
    let mut names: Vec<&str> = tools.iter().map(|t| t.name.as_ref()).collect();
    names.sort();
    assert_eq!(
        names,
        [
            "ask",
            "card",
            "diagnose",
            "dossier",
            "feedback",
            "findings",
            "impact",
            "insights",
            "learning_status",
            "outline",
            "refs",
            "repo_map",
            "review",
            "risks",
            "search",
            "status",
            "symbols"
        ]
    );
    let search_tool = tools.iter().find(|t| t.name == "search").unwrap();
    let schema = serde_json::to_value(&*search_tool.input_schema).unwrap();
    assert_eq!(schema["required"], json!(["query"]), "{schema}");
    assert!(schema["properties"]["offset"].is_object());

    let (found, error) = call(
        &client,
        "search",
        json!({"query": "value added tax", "limit": 1}),
    )
    .await;
    assert!(!error, "{found}");
    assert_eq!(found["hits"].as_array().unwrap().len(), 1);
    assert!(
        found["hits"][0]["citation"]
            .as_str()
            .unwrap()
            .starts_with("shop/tax.py:"),
        "{found}"
    );
    assert_eq!(found["next_offset"], 1, "a second page exists: {found}");
    let (page2, _) = call(
        &client,
        "search",
        json!({"query": "value added tax", "limit": 1, "offset": 1}),
    )
    .await;
    assert_ne!(page2["hits"][0]["citation"], found["hits"][0]["citation"]);

    let (symbols, _) = call(&client, "symbols", json!({"name": "vat"})).await;
    assert_eq!(
        symbols["symbols"][0]["citation"], "shop/tax.py:4-6",
        "{symbols}"
    );
    assert_eq!(symbols["symbols"][0]["doc"], "Price with value added tax.");

    let (refs, _) = call(&client, "refs", json!({"name": "vat"})).await;
    let citations: Vec<&str> = refs["refs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["citation"].as_str().unwrap())
        .collect();
    assert!(citations.contains(&"shop/cart.py:9"), "{refs}");

    let (outline, _) = call(&client, "outline", json!({"path": "shop/cart.py"})).await;
    let cart = &outline["symbols"][0];
    assert_eq!(cart["name"], "Cart");
    assert_eq!(cart["children"][0]["name"], "total");
    assert_eq!(cart["children"][0]["citation"], "shop/cart.py:7-9");

    let (answer, error) = call(
        &client,
        "ask",
        json!({"question": "What does vat return?", "no_llm": true}),
    )
    .await;
    assert!(!error, "{answer}");
    assert_eq!(answer["mode"], "extractive");
    let cited: Vec<&str> = answer["citations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["citation"].as_str().unwrap())
        .collect();
    assert!(
        cited.iter().any(|c| c.starts_with("shop/tax.py:")),
        "{answer}"
    );
    assert!(answer["conversation_id"].as_i64().is_some());
    // The agent reads a cited file next: an implicit signal; then it says
    // the answer was good, with a corrected place.
    let answer_id = answer["answer_id"].as_i64().unwrap();
    call(&client, "outline", json!({"path": "shop/tax.py"})).await;
    let (reward, error) = call(
        &client,
        "feedback",
        json!({"answer_id": answer_id, "verdict": "up", "note": "thanks", "correct": ["shop/tax.py:4-6"]}),
    )
    .await;
    assert!(!error, "{reward}");
    assert_eq!(reward["reward"]["people"], 1, "{reward}");
    assert_eq!(reward["reward"]["counted"]["read-cited"], 1, "{reward}");
    assert_eq!(reward["reward"]["counted"]["up"], 1, "{reward}");
    assert_eq!(reward["reward"]["counted"]["correct"], 1, "{reward}");
    let bad = client
        .call_tool(
            CallToolRequestParams::new("feedback").with_arguments(
                json!({"answer_id": answer_id, "verdict": "sideways"})
                    .as_object()
                    .unwrap()
                    .clone(),
            ),
        )
        .await
        .unwrap_err();
    assert!(bad.to_string().contains("expected up or down"), "{bad}");
    let (missing, error) = call(
        &client,
        "feedback",
        json!({"answer_id": 999_999, "verdict": "up"}),
    )
    .await;
    assert!(
        error && missing.to_string().contains("no answer 999999"),
        "{missing}"
    );

    let (map, _) = call(&client, "repo_map", json!({"tokens": 256})).await;
    assert!(
        map["text"].as_str().unwrap().contains("shop/cart.py"),
        "{map}"
    );

    let (status, _) = call(&client, "status", json!({})).await;
    assert_eq!(status["fresh"], "up to date");
    assert_eq!(
        status["indexed_commit"].as_str().map(str::len),
        Some(40),
        "{status}"
    );

    // The thinker's tools: cards and dossiers (made on the spot before
    // Summarize runs), insights, learning status.
    let (cards, error) = call(&client, "card", json!({"symbol": "vat"})).await;
    assert!(!error, "{cards}");
    let card = &cards["cards"][0];
    assert_eq!(card["citation"], "shop/tax.py:4-6", "{cards}");
    assert_eq!(card["callers"][0]["citation"], "shop/cart.py:9");
    assert_eq!(card["source"], "live");
    let (impact, error) = call(&client, "impact", json!({"target": "vat"})).await;
    assert!(!error, "{impact}");
    let caller = impact["symbols"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["relation"] == "caller")
        .expect("vat's caller");
    assert_eq!(caller["path"], "shop/cart.py", "{impact}");
    assert_eq!(caller["edge"], "resolved", "{impact}");
    assert!(
        caller["citation"]
            .as_str()
            .unwrap()
            .starts_with("shop/cart.py:"),
        "{impact}"
    );
    let (diag, error) = call(
        &client,
        "diagnose",
        json!({"symptom": "vat is wrong", "limit": 3, "hypothesis": true}),
    )
    .await;
    assert!(!error, "{diag}");
    assert!(
        diag["hypothesis"].is_null(),
        "no provider configured: no hypothesis, and no error: {diag}"
    );
    assert!(
        diag["places"][0]["citation"]
            .as_str()
            .unwrap()
            .starts_with("shop/tax.py:"),
        "{diag}"
    );
    let (review, error) = call(&client, "review", json!({"range": "HEAD"})).await;
    assert!(!error, "{review}");
    assert_eq!(review["to"], "HEAD", "{review}");
    assert!(review["findings"].is_array(), "{review}");
    let (dossier, _) = call(&client, "dossier", json!({"path": "shop"})).await;
    assert_eq!(dossier["kind"], "directory", "{dossier}");
    let (risks, error) = call(&client, "risks", json!({"limit": 2})).await;
    assert!(!error, "{risks}");
    assert_eq!(risks["items"].as_array().unwrap().len(), 2, "{risks}");
    assert_eq!(risks["items"][0]["rank"], 1);
    assert!(
        risks["items"][0]["citation"]
            .as_str()
            .unwrap()
            .starts_with("shop/"),
        "{risks}"
    );
    assert!(risks["items"][0]["contributions"].is_object(), "{risks}");
    let (findings, error) = call(&client, "findings", json!({"severity": "high"})).await;
    assert!(!error, "{findings}");
    assert_eq!(findings["total"], 0, "{findings}");
    let (learning, _) = call(&client, "learning_status", json!({})).await;
    assert_eq!(learning["on"], false, "{learning}");
    common::ok(lore(&repo).args(["learn", "on"]));
    common::ok(lore(&repo).args(["worker", "--once"]));
    let (learning, _) = call(&client, "learning_status", json!({})).await;
    assert_eq!(learning["on"], true, "{learning}");
    let (cards, _) = call(&client, "card", json!({"symbol": "Cart.total"})).await;
    assert_eq!(cards["cards"][0]["source"], "facts", "{cards}");
    let (insights, error) = call(&client, "insights", json!({"limit": 5})).await;
    assert!(!error, "{insights}");
    assert!(insights["insights"].is_array(), "{insights}");

    // A tool error reaches the caller as an error result naming the value.
    let (bad, error) = call(
        &client,
        "symbols",
        json!({"name": "vat", "kind": "spaceship"}),
    )
    .await;
    assert!(error, "{bad}");
    assert!(bad.to_string().contains("spaceship"), "{bad}");

    client.cancel().await.expect("shutdown");
}

/// Raw lines over stdio: a malformed line, even the first, gets a JSON-RPC
/// error and the session goes on; an unknown tool's error names it.
#[test]
fn malformed_lines_and_unknown_tools_get_errors_that_say_why() {
    use std::io::{BufRead, BufReader, Write};

    let repo = fixture();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_lore"))
        .arg("mcp")
        .current_dir(repo.path())
        .env("LORE_HOME", repo.home())
        .env_remove("RUST_LOG")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start lore mcp");
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut read = || -> Value {
        let mut line = String::new();
        stdout.read_line(&mut line).expect("a reply line");
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line:?}"))
    };
    let mut send = |line: &str| {
        stdin.write_all(line.as_bytes()).unwrap();
        stdin.write_all(b"\n").unwrap();
        stdin.flush().unwrap();
    };

    send("{this is not json");
    let reply = read();
    assert_eq!(reply["error"]["code"], -32700, "{reply}");
    assert_eq!(reply["id"], Value::Null);

    send(
        &json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {},
            "clientInfo": {"name": "raw", "version": "1"}}})
        .to_string(),
    );
    let reply = read();
    assert_eq!(reply["id"], 1, "{reply}");
    assert_eq!(reply["result"]["serverInfo"]["name"], "lore", "{reply}");
    send(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}).to_string());

    send(r#"{"jsonrpc": "2.0", "id": 2, "method": "tools/list""#);
    assert_eq!(read()["error"]["code"], -32700);
    send(r#"{"id": 3, "method": "tools/list"}"#);
    let reply = read();
    assert_eq!(reply["error"]["code"], -32600, "{reply}");
    assert_eq!(reply["id"], 3);

    send(
        &json!({"jsonrpc": "2.0", "id": 4, "method": "tools/call",
                "params": {"name": "serach", "arguments": {}}})
        .to_string(),
    );
    let reply = read();
    assert_eq!(reply["id"], 4, "{reply}");
    let message = reply["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("\"serach\"") && message.contains("search"),
        "{reply}"
    );

    // Still serving.
    send(&json!({"jsonrpc": "2.0", "id": 5, "method": "tools/list"}).to_string());
    let reply = read();
    assert_eq!(reply["id"], 5, "{reply}");
    assert!(
        reply["result"]["tools"]
            .as_array()
            .is_some_and(|t| t.len() == 17)
    );

    drop(stdin);
    let status = child.wait().unwrap();
    assert!(status.success(), "{status}");
}
