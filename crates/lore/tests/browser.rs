//! The web UI in headless Chromium (driven through chromedriver): add and
//! index a fixture repository from the Repos page, ask a question, click a
//! citation and check the code viewer shows the cited lines; thumbs up;
//! search. Screenshots go to `target/e2e/`.
//!
//! Needs `chromium` and `chromedriver` (Debian: chromium, chromium-driver),
//! which `.ci/run` installs; `LORE_CHROMIUM` and `LORE_CHROMEDRIVER`
//! override their paths.

mod common;

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::TestRepo;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

/// Kills a child process when dropped (also when a test fails).
struct Reaped(Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn tool(env: &str, default: &str) -> String {
    std::env::var(env).unwrap_or_else(|_| default.to_owned())
}

/// `lore serve` on a free port; returns the process and its base URL.
fn serve(repo: &TestRepo) -> (Reaped, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_lore"))
        .args(["serve", "--addr", "127.0.0.1:0", "--no-llm", "--repo-root"])
        .arg(repo.path())
        .env("LORE_HOME", repo.home())
        .env_remove("RUST_LOG")
        .stderr(Stdio::piped())
        .spawn()
        .expect("start lore serve");
    let stderr = child.stderr.take().unwrap();
    let mut lines = BufReader::new(stderr).lines();
    let url = loop {
        let line = lines
            .next()
            .expect("lore serve printed its address")
            .unwrap();
        if let Some(url) = line.strip_prefix("Lore is serving on ") {
            break url.trim().to_owned();
        }
    };
    // Keep draining stderr so the server never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    (Reaped(child), url)
}

fn chromedriver() -> (Reaped, String) {
    let port = free_port();
    let binary = tool("LORE_CHROMEDRIVER", "chromedriver");
    let child = Command::new(&binary)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {binary} (install chromium-driver): {e}"));
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "chromedriver did not listen");
        std::thread::sleep(Duration::from_millis(50));
    }
    (Reaped(child), format!("http://127.0.0.1:{port}"))
}

async fn browser(driver: &str) -> Client {
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": tool("LORE_CHROMIUM", "/usr/bin/chromium"),
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                     "--disable-dev-shm-usage", "--window-size=1400,1000"],
        }),
    );
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    ClientBuilder::new(connector)
        .capabilities(caps)
        .connect(driver)
        .await
        .expect("a Chromium session")
}

fn artifacts() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/e2e");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

async fn text_of(client: &Client, css: &str) -> String {
    client
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .text()
        .await
        .unwrap()
}

async fn click(client: &Client, locator: Locator<'_>) {
    client
        .find(locator)
        .await
        .unwrap_or_else(|e| panic!("{locator:?}: {e}"))
        .click()
        .await
        .unwrap();
}

async fn type_into(client: &Client, locator: Locator<'_>, text: &str) {
    client
        .wait()
        .for_element(locator)
        .await
        .unwrap_or_else(|e| panic!("{locator:?}: {e}"))
        .send_keys(text)
        .await
        .unwrap();
}

/// Waits until `script` (a JS expression) is truthy.
async fn until(client: &Client, what: &str, script: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let value = client
            .execute(&format!("return !!({script});"), vec![])
            .await
            .unwrap();
        if value == json!(true) {
            return;
        }
        if Instant::now() > deadline {
            let shot = client.screenshot().await.unwrap_or_default();
            let _ = std::fs::write(artifacts().join("failure.png"), shot);
            let body = text_of(client, "body").await;
            panic!("timed out waiting for {what}; page:\n{body}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

const CART: &str = r#"from shop.tax import vat


class Cart:
    """A shopping cart of priced items."""

    def __init__(self):
        self.items = []

    def total(self):
        """Sum of the items with VAT."""
        return sum(vat(item.price) for item in self.items)


def checkout(cart):
    """Charge the cart's total."""
    return cart.total()
"#;

const TAX: &str = "RATE = 0.2\n\n\ndef vat(price):\n    \"\"\"Price with value added tax at ``RATE``.\"\"\"\n    return price * (1 + RATE)\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn index_ask_click_a_citation_and_search_in_chromium() {
    let repo = TestRepo::new();
    repo.write("shop/cart.py", CART);
    repo.write("shop/tax.py", TAX);
    repo.commit("shop");
    let (_server, url) = serve(&repo);
    let (_driver, driver_url) = chromedriver();
    let client = browser(&driver_url).await;

    // Repos: nothing yet; add the fixture and index it from the page.
    client.goto(&format!("{url}/#/")).await.unwrap();
    let path = repo.path().to_string_lossy().into_owned();
    type_into(&client, Locator::Css("input[name=path]"), &path).await;
    let nav = text_of(&client, "#nav").await;
    assert_eq!(nav, "Repos", "the navigation names no repository here");
    click(&client, Locator::XPath("//button[text()='Add and index']")).await;
    until(
        &client,
        "the index run to finish and the row to show its status",
        "[...document.querySelectorAll('.repo-row .repo-status')].some(e => e.textContent.startsWith('indexed'))",
    )
    .await;
    let status = text_of(&client, ".repo-row .repo-status").await;
    assert!(status.contains("2 files"), "{status}");
    assert!(status.contains(" at "), "{status}");

    // Chat: ask, get an answer with citations.
    click(&client, Locator::Css(".repo-row a")).await;
    client
        .wait()
        .for_element(Locator::Css("#question"))
        .await
        .unwrap();
    until(
        &client,
        "the status line",
        "document.querySelector('#status-line').textContent.includes('files')",
    )
    .await;
    type_into(&client, Locator::Css("#question"), "What does vat return?").await;
    click(&client, Locator::Css("#ask")).await;
    until(
        &client,
        "an answer with citations",
        "document.querySelector('.answer a.cite')",
    )
    .await;

    // The view names the repository; the new exchange is shown from its
    // top; code quoted reStructuredText-style renders as code; sources are
    // listed by their labels in the order the answer first cites them.
    let title = text_of(&client, "#repo-title").await;
    let dir = repo
        .path()
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    assert!(title.starts_with(&dir), "{title}");
    let checks = client
        .execute(
            "const log = document.querySelector('#chat-log');
             const q = log.querySelector('.exchange:last-child .q');
             const answer = document.querySelector('.answer');
             const firstCited = [];
             for (const m of answer.textContent.matchAll(/\\[(\\d+)/g)) {
               if (!firstCited.includes(m[1])) firstCited.push(m[1]);
             }
             return {
               top_visible: q.getBoundingClientRect().top >= log.getBoundingClientRect().top - 1,
               backticks: answer.textContent.includes('``'),
               code: [...answer.querySelectorAll('code')].map(c => c.textContent),
               list: document.querySelector('#sources').tagName,
               sources: [...document.querySelectorAll('#sources a.source')].map(a => a.dataset.n),
               cited: firstCited,
             };",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(checks["top_visible"], true, "{checks}");
    assert_eq!(checks["backticks"], false, "{checks}");
    assert!(
        checks["code"].as_array().unwrap().contains(&json!("RATE")),
        "{checks}"
    );
    assert_eq!(checks["list"], "UL", "{checks}");
    assert_eq!(checks["sources"], checks["cited"], "{checks}");

    // Click the citation of shop/tax.py: the viewer opens at its lines.
    let cited = client
        .execute(
            "const links = [...document.querySelectorAll('#sources a.source')];
             const tax = links.find(a => a.textContent.includes('shop/tax.py'));
             if (!tax) return null;
             const n = tax.dataset.n;
             document.querySelector(`.answer a.cite[data-n='${n}']`).click();
             return tax.textContent;",
            vec![],
        )
        .await
        .unwrap();
    let cited = cited
        .as_str()
        .expect("a citation of shop/tax.py")
        .to_owned();
    // "[n] shop/tax.py:a-b"
    let range = cited.rsplit(':').next().unwrap();
    let (a, b) = range.split_once('-').unwrap();
    let (a, b): (usize, usize) = (a.parse().unwrap(), b.parse().unwrap());
    until(
        &client,
        "the code viewer",
        "document.querySelector('#viewer .line.hl')",
    )
    .await;
    let title = text_of(&client, "#viewer-title").await;
    assert!(
        title.starts_with(&format!("shop/tax.py:{a}-{b} @ ")),
        "{title}"
    );
    let marked = client
        .execute(
            "return [...document.querySelectorAll('#viewer .line.hl')].map(l => [Number(l.dataset.n), l.querySelector('.src').textContent]);",
            vec![],
        )
        .await
        .unwrap();
    let marked = marked.as_array().unwrap();
    assert_eq!(marked.len(), b - a + 1, "{marked:?}");
    let file_lines: Vec<&str> = TAX.lines().collect();
    for line in marked {
        let n = line[0].as_u64().unwrap() as usize;
        assert!((a..=b).contains(&n));
        assert_eq!(line[1], file_lines[n - 1], "line {n}");
    }
    assert!(
        client
            .find(Locator::Css("#viewer .line.hl .t-keyword"))
            .await
            .is_ok(),
        "the cited code is highlighted"
    );
    // "This citation is wrong", and "the right place is…" from lines
    // selected in the viewer (a click, then a shift-click).
    click(&client, Locator::Css("#wrong-citation")).await;
    until(
        &client,
        "the wrong citation noted",
        "document.querySelector('#correction-note').textContent.includes('is wrong')",
    )
    .await;
    client
        .execute(
            "const n = (k) => document.querySelector(`#viewer .line[data-n=\"${k}\"] .n`);
             n(1).dispatchEvent(new MouseEvent('click', { bubbles: true }));
             n(2).dispatchEvent(new MouseEvent('click', { bubbles: true, shiftKey: true }));",
            vec![],
        )
        .await
        .unwrap();
    let right = text_of(&client, "#right-place").await;
    assert_eq!(right, "The right place is shop/tax.py:1-2");
    click(&client, Locator::Css("#right-place")).await;
    until(
        &client,
        "the right place noted",
        "document.querySelector('#correction-note').textContent.includes('the right place is shop/tax.py:1-2')",
    )
    .await;
    let answer_id = client
        .execute(
            "return document.querySelector('.answer').dataset.answerId;",
            vec![],
        )
        .await
        .unwrap();
    let (signals, shown) = common::feedback_signals(&repo, answer_id.as_str().unwrap());
    assert_eq!(signals, ["open", "wrong", "correct"], "{shown}");
    assert!(
        shown["feedback"][2]["correct_citations"]
            .as_str()
            .unwrap()
            .contains("\"start_line\":1,\"end_line\":2"),
        "{shown}"
    );
    let shot = client.screenshot().await.unwrap();
    std::fs::write(artifacts().join("chat.png"), &shot).unwrap();
    assert!(shot.starts_with(b"\x89PNG"));

    // "Why this answer?" opens across the page, with no sideways scrolling.
    click(&client, Locator::Css(".why-open")).await;
    until(
        &client,
        "the why panel",
        "!document.querySelector('#why').hidden",
    )
    .await;
    let why = text_of(&client, "#why").await;
    assert!(
        why.contains("Why this answer?") && why.contains("shop/tax.py"),
        "{why}"
    );
    // It names both policies and says the answer was not reused.
    assert!(
        why.contains("retrieval policy: global v4")
            && why.contains("context policy v1")
            && why.contains("answered afresh"),
        "{why}"
    );
    let wide = client
        .execute(
            "return document.documentElement.scrollWidth <= window.innerWidth + 1;",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(wide, json!(true), "the page scrolls sideways");
    std::fs::write(
        artifacts().join("why.png"),
        client.screenshot().await.unwrap(),
    )
    .unwrap();

    // Feedback is saved, and shown again with the conversation after a reload.
    type_into(&client, Locator::Css("textarea.note"), "spot on").await;
    click(&client, Locator::Css(".vote-up")).await;
    until(
        &client,
        "feedback to be saved",
        "document.querySelector('.feedback-saved')",
    )
    .await;
    client.refresh().await.unwrap();
    until(
        &client,
        "the conversation after a reload",
        "document.querySelector('.answer a.cite') && document.querySelector('.feedback-saved')",
    )
    .await;
    let restored = client
        .execute(
            "return {
               q: document.querySelector('.exchange .q').textContent,
               up: document.querySelector('.vote-up').classList.contains('on'),
               note: document.querySelector('textarea.note').value,
               saved: document.querySelector('.feedback-saved').textContent,
             };",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(restored["q"], "What does vat return?", "{restored}");
    assert_eq!(restored["up"], true, "{restored}");
    assert_eq!(restored["note"], "spot on", "{restored}");
    assert!(
        restored["saved"]
            .as_str()
            .unwrap()
            .contains("feedback given"),
        "{restored}"
    );

    // A narrow window stacks the chat above the sources.
    client.set_window_size(600, 900).await.unwrap();
    until(
        &client,
        "the columns to stack",
        "(() => { const [a, b] = document.querySelectorAll('.split > .panel'); \
          return b.getBoundingClientRect().top >= a.getBoundingClientRect().bottom; })()",
    )
    .await;
    std::fs::write(
        artifacts().join("narrow.png"),
        client.screenshot().await.unwrap(),
    )
    .unwrap();
    client.set_window_size(1400, 1000).await.unwrap();

    // Search with a language filter; a result opens in the viewer.
    click(&client, Locator::XPath("//nav/a[text()='Search']")).await;
    type_into(&client, Locator::Css("input[name=q]"), "shopping cart").await;
    type_into(&client, Locator::Css("input[name=langs]"), "python").await;
    click(&client, Locator::XPath("//form//button[text()='Search']")).await;
    until(
        &client,
        "search results",
        "document.querySelector('.hit-link')",
    )
    .await;
    let first = text_of(&client, ".hit-link").await;
    assert!(first.starts_with("shop/cart.py:"), "{first}");
    click(&client, Locator::Css(".hit-link")).await;
    until(
        &client,
        "the viewer on the hit",
        "document.querySelector('#viewer .line.hl')",
    )
    .await;
    std::fs::write(
        artifacts().join("search.png"),
        client.screenshot().await.unwrap(),
    )
    .unwrap();
    client.close().await.unwrap();
}

/// The thinker in the UI: the learning toggle and status line, the Runs
/// tab (detail, rerun), Insights (evidence opens the code viewer,
/// dismiss), Settings (saved; running the repository's code refused
/// without the server's token), and a function card reached from a
/// citation.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_thinker_in_chromium() {
    let repo = TestRepo::new();
    repo.write("shop/cart.py", CART);
    repo.write("shop/tax.py", TAX);
    repo.write(
        "shop/cli.py",
        "from shop.cart import checkout\n\n\nif __name__ == \"__main__\":\n    checkout(None)\n",
    );
    repo.commit("shop");
    common::ok(common::lore(&repo).arg("index"));
    let status = common::json(&repo, &["status"]);
    let id = PathBuf::from(status["data_dir"].as_str().unwrap())
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    let (_server, url) = serve(&repo);
    let (_driver, driver_url) = chromedriver();
    let client = browser(&driver_url).await;

    // Chat page: learning is off; the toggle turns it on and the server's
    // worker maps and summarizes the repository.
    client.goto(&format!("{url}/#/repo/{id}")).await.unwrap();
    until(
        &client,
        "the thinker's status line",
        "document.querySelector('#thinker-status').textContent.startsWith('indexed')",
    )
    .await;
    let line = text_of(&client, "#thinker-status").await;
    assert!(line.contains("learning off"), "{line}");
    click(&client, Locator::Css("#learning-toggle")).await;
    until(
        &client,
        "learning on",
        "document.querySelector('#learning-toggle').checked && !document.querySelector('#thinker-status').textContent.includes('learning off')",
    )
    .await;

    // Runs: the six first thoughts succeed; one's detail; a rerun.
    click(&client, Locator::XPath("//nav/a[text()='Runs']")).await;
    until(
        &client,
        "six runs succeeded",
        "document.querySelectorAll('#runs tr.state-succeeded').length === 6",
    )
    .await;
    client
        .execute(
            "[...document.querySelectorAll('#runs tr.run')].find(tr => tr.textContent.includes('map-repo')).querySelector('td a').click();",
            vec![],
        )
        .await
        .unwrap();
    until(
        &client,
        "a run's detail",
        "document.querySelector('#run-detail .artifact-link')",
    )
    .await;
    let log = text_of(&client, "#run-log").await;
    assert!(log.contains("entry points"), "{log}");
    let output = text_of(&client, "#run-output").await;
    assert!(output.contains("entry_points"), "{output}");
    click(&client, Locator::Css("#run-detail .artifact-link")).await;
    until(
        &client,
        "the overview artifact",
        "document.querySelector('#artifact-view').textContent.startsWith('# Repository overview')",
    )
    .await;
    click(&client, Locator::Css("#runs tr.run .run-rerun")).await;
    until(
        &client,
        "the rerun listed",
        "document.querySelectorAll('#runs tr.run').length === 7",
    )
    .await;
    std::fs::write(
        artifacts().join("runs.png"),
        client.screenshot().await.unwrap(),
    )
    .unwrap();

    // Insights: the entry point, its evidence in the viewer; dismissed.
    click(&client, Locator::XPath("//nav/a[text()='Insights']")).await;
    until(
        &client,
        "an insight",
        "document.querySelector('.insight .evidence-link')",
    )
    .await;
    let title = text_of(&client, ".insight strong").await;
    assert!(title.contains("1 main"), "{title}");
    click(&client, Locator::Css(".insight .evidence-link")).await;
    until(
        &client,
        "the evidence in the viewer",
        "document.querySelector('#viewer .line.hl')",
    )
    .await;
    let viewer = text_of(&client, "#viewer-title").await;
    assert!(viewer.starts_with("shop/cli.py:4-4"), "{viewer}");
    click(&client, Locator::Css(".insight .insight-dismissed")).await;
    until(
        &client,
        "the insight dismissed",
        "!document.querySelector('.insight')",
    )
    .await;
    std::fs::write(
        artifacts().join("insights.png"),
        client.screenshot().await.unwrap(),
    )
    .unwrap();

    // Settings: a budget and quiet hours are saved; allowing Verify is not,
    // from a page of a server without a token.
    click(&client, Locator::XPath("//nav/a[text()='Settings']")).await;
    type_into(&client, Locator::Css("#budget-cpu"), "6m/h").await;
    type_into(&client, Locator::Css("#quiet-hours"), "01:00-02:00").await;
    click(&client, Locator::Css("#save-settings")).await;
    until(
        &client,
        "saved",
        "document.querySelector('#settings-note').textContent.startsWith('Saved')",
    )
    .await;
    let learned = common::json(&repo, &["learn", "status"]);
    assert_eq!(learned["budgets"]["cpu"]["limit"], "6m/h", "{learned}");
    assert_eq!(learned["quiet_hours"], "01:00-02:00");
    click(&client, Locator::Css("input[value=verify]")).await;
    click(&client, Locator::Css("#save-settings")).await;
    until(
        &client,
        "refused",
        "document.querySelector('#settings-note.error')",
    )
    .await;
    let note = text_of(&client, "#settings-note").await;
    assert!(note.contains("lore learn on --allow verify"), "{note}");

    // Learning: the policy versions with their held-out evaluations, the
    // A/B comparison running, and a rollback button that works.
    let version = |v: u32| {
        serde_json::json!({
            "version": v, "created_at": 0, "commit": "", "base": 4,
            "weights": {"lexical": 1.0, "name": v as f64},
            "sources": {"doc": 20, "identifier": 10},
            "verdict": {"promote": true, "reason": "by hand",
                "current": {"mrr10": 0.5, "recall10": 0.5, "queries": 9},
                "candidate": {"mrr10": 0.6, "recall10": 0.7, "queries": 9}},
            "train": {"mrr10": 0.0, "recall10": 0.0, "queries": 0}
        })
    };
    let policies = serde_json::json!({
        "versions": [version(1), version(2)], "current": 1, "previous": [null],
        "ab": {"challenger": 2, "started_at": 0},
    });
    std::fs::write(
        PathBuf::from(status["data_dir"].as_str().unwrap()).join("policies.json"),
        policies.to_string(),
    )
    .unwrap();
    click(&client, Locator::XPath("//nav/a[text()='Learning']")).await;
    until(
        &client,
        "the policy versions",
        "document.querySelector('#policy-versions')",
    )
    .await;
    let in_force = text_of(&client, "#policy-in-force").await;
    assert!(in_force.contains("repository v1"), "{in_force}");
    let versions = text_of(&client, "#policy-versions").await;
    assert!(
        versions.contains("0.500 / 0.500") && versions.contains("0.700 / 0.600"),
        "{versions}"
    );
    let ab = text_of(&client, "#ab-running").await;
    assert!(ab.contains("v2"), "{ab}");
    std::fs::write(
        artifacts().join("learning.png"),
        client.screenshot().await.unwrap(),
    )
    .unwrap();
    click(&client, Locator::Css("#rollback")).await;
    until(
        &client,
        "rolled back to the global policy",
        "document.querySelector('#policy-in-force') && document.querySelector('#policy-in-force').textContent.includes('global v4')",
    )
    .await;
    let listed = common::json(&repo, &["policy", "list"]);
    assert_eq!(listed["current"], serde_json::Value::Null, "{listed}");

    // A card from a citation of an answer.
    click(&client, Locator::XPath("//nav/a[text()='Chat']")).await;
    type_into(&client, Locator::Css("#question"), "What does vat return?").await;
    click(&client, Locator::Css("#ask")).await;
    until(
        &client,
        "a citation with a card",
        "document.querySelector('#sources .card-link')",
    )
    .await;
    client
        .execute(
            "[...document.querySelectorAll('#sources li')].find(li => li.textContent.includes('vat')).querySelector('.card-link').click();",
            vec![],
        )
        .await
        .unwrap();
    until(&client, "the card", "document.querySelector('.card h3')").await;
    let card = text_of(&client, "#card").await;
    assert!(
        card.contains("vat") && card.contains("shop/cart.py:12"),
        "{card}"
    );
    std::fs::write(
        artifacts().join("card.png"),
        client.screenshot().await.unwrap(),
    )
    .unwrap();
    client.close().await.unwrap();
}

/// The Risk heatmap: files sized by lines and coloured by risk; a click
/// shows the file's functions, a function's card says why with evidence.
/// And the Runs tab shows a Verify run's tests and coverage.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_risk_heatmap_and_verify_in_chromium() {
    let repo = TestRepo::new();
    repo.write("shop/cart.py", CART);
    repo.write("shop/tax.py", TAX);
    repo.write(
        "tests/test_tax.py",
        "from shop.tax import vat\n\n\ndef test_vat():\n    assert vat(10) == 12\n",
    );
    repo.write(
        "conftest.py",
        "import sys, os\nsys.path.insert(0, os.path.dirname(__file__))\n",
    );
    repo.write("shop/__init__.py", "");
    repo.write(
        "shop/pay.py",
        "def charge(card, amount):\n    if amount > card.balance:\n        raise ValueError(\"card declined: insufficient funds\")\n    card.balance -= amount\n",
    );
    repo.commit("shop");
    for day in 0..3 {
        repo.advance_days(20);
        repo.write(
            "shop/cart.py",
            format!("{CART}\n\ndef refund_{day}(cart):\n    if cart.items:\n        return cart.total()\n    return 0\n"),
        );
        repo.commit(&format!("Fix crash in refund {day}"));
    }
    common::ok(common::lore(&repo).arg("index"));
    let run = common::json(&repo, &["verify"]);
    assert_eq!(run["output"]["status"], "passed", "{run}");
    let status = common::json(&repo, &["status"]);
    let id = PathBuf::from(status["data_dir"].as_str().unwrap())
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    let risks = common::json(&repo, &["risks"]);
    // A provider for the diagnosis's hypothesis: evidence 1 will be the
    // raise site's function.
    let provider = lore_test_support::fake_chat(
        "m",
        "`charge` raises when the amount exceeds the balance [1:2-3].",
    );
    lore_test_support::configure_provider(repo.home(), &provider, "m");
    let (_server, url) = serve(&repo);
    let (_driver, driver_url) = chromedriver();
    let client = browser(&driver_url).await;

    client
        .goto(&format!("{url}/#/repo/{id}/risk"))
        .await
        .unwrap();
    let n = risks.as_array().unwrap().len();
    until(
        &client,
        "one cell per source file",
        &format!("document.querySelectorAll('#heatmap .cell').length === {n}"),
    )
    .await;
    // The riskiest file is the one fixed three times; its cell is the
    // reddest and, being the largest file, the largest cell.
    assert_eq!(risks[0]["path"], "shop/cart.py", "{risks}");
    let area = |path: &str| {
        format!(
            "(() => {{ const c = document.querySelector('#heatmap .cell[data-path=\"{path}\"]'); return c.offsetWidth * c.offsetHeight; }})()"
        )
    };
    let cart = client
        .execute(&format!("return {};", area("shop/cart.py")), vec![])
        .await
        .unwrap();
    let init = client
        .execute(&format!("return {};", area("shop/tax.py")), vec![])
        .await
        .unwrap();
    assert!(
        cart.as_f64().unwrap() > init.as_f64().unwrap(),
        "{cart} vs {init}"
    );
    let rank = client
        .execute(
            "return document.querySelector('#heatmap .cell[data-path=\"shop/cart.py\"]').dataset.rank;",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(rank, json!("1"));

    // The riskiest file opens by itself; a click opens another.
    until(
        &client,
        "the file card",
        "(document.querySelector('#file-card h3') || {}).textContent?.startsWith('shop/cart.py')",
    )
    .await;
    click(
        &client,
        Locator::Css("#heatmap .cell[data-path=\"shop/tax.py\"]"),
    )
    .await;
    until(
        &client,
        "tax.py's card",
        "(document.querySelector('#file-card h3') || {}).textContent?.startsWith('shop/tax.py')",
    )
    .await;
    click(
        &client,
        Locator::Css("#heatmap .cell[data-path=\"shop/cart.py\"]"),
    )
    .await;
    until(
        &client,
        "cart.py's functions",
        "(document.querySelector('#file-card h3') || {}).textContent?.startsWith('shop/cart.py') && document.querySelector('#risk-functions .function-link')",
    )
    .await;
    client
        .execute(
            "[...document.querySelectorAll('#risk-functions .function-link')].find(a => a.textContent === 'refund_2').click();",
            vec![],
        )
        .await
        .unwrap();
    until(
        &client,
        "the function card",
        "document.querySelector('#function-card .reason[data-feature=past_fixes] .evidence-link')",
    )
    .await;
    let why = text_of(&client, "#function-card .reason[data-feature=past_fixes]").await;
    assert!(
        why.contains("3 bug-fix commits") && why.contains("Fix crash in refund 2"),
        "{why}"
    );
    let card = text_of(&client, "#function-card").await;
    assert!(
        card.contains("refund_2") && card.contains("coverage gap"),
        "{card}"
    );
    click(
        &client,
        Locator::Css("#function-card .reason[data-feature=past_fixes] .evidence-link"),
    )
    .await;
    until(
        &client,
        "the evidence in the viewer",
        "document.querySelector('#viewer .line.hl')",
    )
    .await;
    std::fs::write(
        artifacts().join("risk.png"),
        client.screenshot().await.unwrap(),
    )
    .unwrap();

    // Runs: the Verify run with its tests and coverage.
    click(&client, Locator::XPath("//nav/a[text()='Runs']")).await;
    until(
        &client,
        "the verify run",
        "[...document.querySelectorAll('#runs tr.run')].some(tr => tr.textContent.includes('verify'))",
    )
    .await;
    client
        .execute(
            "[...document.querySelectorAll('#runs tr.run')].find(tr => tr.textContent.includes('verify')).querySelector('td a').click();",
            vec![],
        )
        .await
        .unwrap();
    until(
        &client,
        "the verify summary",
        "document.querySelector('#verify-coverage')",
    )
    .await;
    let summary = text_of(&client, "#verify-summary").await;
    assert!(summary.contains("1 passed, 0 failed"), "{summary}");
    assert!(
        summary.contains("Coverage:") && summary.contains("shop/cart.py"),
        "{summary}"
    );

    // A function card's impact view: who uses `vat` (through a resolved
    // import), the files that may change with it and their risk, its test.
    client
        .goto(&format!("{url}/#/repo/{id}/card/shop%2Ftax.py%3Avat"))
        .await
        .unwrap();
    until(
        &client,
        "vat's card",
        "document.querySelector('#card .impact-link')",
    )
    .await;
    click(&client, Locator::Css("#card .impact-link")).await;
    until(
        &client,
        "the impact view",
        "document.querySelector('#impact-files tr td a.impact-file')",
    )
    .await;
    let uses = text_of(&client, "#impact-symbols").await;
    assert!(
        uses.contains("shop/cart.py") && uses.contains("Cart.total"),
        "{uses}"
    );
    let edge = client
        .execute(
            "return [...document.querySelectorAll('#impact-symbols li')].find(li => li.textContent.includes('Cart.total')).dataset.edge;",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(edge, json!("resolved"));
    let files = text_of(&client, "#impact-files").await;
    assert!(files.contains("shop/cart.py"), "{files}");
    let cart_risk = risks
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["path"] == "shop/cart.py")
        .unwrap()["score"]
        .as_f64()
        .unwrap();
    assert!(files.contains(&format!("{cart_risk:.2}")), "{files}");
    let touched = text_of(&client, "#impact-risk").await;
    assert!(touched.contains("shop/tax.py"), "{touched}");
    let tests = text_of(&client, "#impact-tests").await;
    assert!(tests.contains("tests/test_tax.py"), "{tests}");
    assert!(
        tests.contains("tests/test_tax.py::test_vat → vat"),
        "Verify ran test_vat, which runs vat: {tests}"
    );
    std::fs::write(
        artifacts().join("impact.png"),
        client.screenshot().await.unwrap(),
    )
    .unwrap();

    // Diagnose: the error a user saw, in; the raise site first, with why.
    click(&client, Locator::XPath("//nav/a[text()='Diagnose']")).await;
    type_into(
        &client,
        Locator::Css("#symptom"),
        "ValueError: card declined: insufficient funds",
    )
    .await;
    click(&client, Locator::Css("#diagnose")).await;
    until(
        &client,
        "places to look",
        "document.querySelector('#places .place-link')",
    )
    .await;
    let first = text_of(&client, "#places li.place:first-child .place-link").await;
    assert!(first.starts_with("shop/pay.py:"), "{first}");
    let why = text_of(&client, "#places li.place:first-child .evidence").await;
    assert!(why.contains("card declined"), "{why}");
    let hypothesis = text_of(&client, "#hypothesis").await;
    assert!(
        hypothesis.contains("Hypothesis (m, citations checked)")
            && hypothesis.contains("raises when the amount exceeds"),
        "{hypothesis}"
    );
    click(&client, Locator::Css("#hypothesis a.cite")).await;
    until(
        &client,
        "the hypothesis's citation in the viewer",
        "[...document.querySelectorAll('#viewer .line.hl')].some(l => l.textContent.includes('if amount > card.balance'))",
    )
    .await;
    click(
        &client,
        Locator::Css("#places li.place:first-child .evidence-link"),
    )
    .await;
    until(
        &client,
        "the raise site in the viewer",
        "[...document.querySelectorAll('#viewer .line.hl')].some(l => l.textContent.includes('raise ValueError'))",
    )
    .await;
    std::fs::write(
        artifacts().join("diagnose.png"),
        client.screenshot().await.unwrap(),
    )
    .unwrap();
    client.close().await.unwrap();
}
