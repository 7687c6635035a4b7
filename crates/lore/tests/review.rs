//! `lore review` on scripted diffs.

mod common;

use common::*;
use serde_json::Value;

const OLD: &str = "import subprocess\n\n\ndef legacy(cmd):\n    subprocess.run(f\"ls {cmd}\", shell=True)\n\n\ndef ok(x):\n    return x + 1\n";

fn repo() -> TestRepo {
    let repo = TestRepo::new();
    repo.write("app.py", OLD);
    repo.commit("Initial import");
    repo
}

/// A review's findings of `rule`.
fn by_rule<'a>(review: &'a Value, rule: &str) -> Vec<&'a Value> {
    review["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == rule)
        .collect()
}

fn review(repo: &TestRepo, args: &[&str]) -> (Value, Option<i32>) {
    let out = lore(repo)
        .args(["review", "--format", "json"])
        .args(args)
        .output()
        .unwrap();
    let value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&out.stderr)));
    (value, out.status.code())
}

#[test]
fn findings_on_added_lines_only_and_a_clean_diff_is_silent() {
    let repo = repo();
    ok(lore(&repo).arg("index"));
    // The first commit added every line: its own findings are all there.
    let (r, _) = review(&repo, &[]);
    assert!(
        r["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["rule"] == "security/shell-format" && f["start_line"] == 5),
        "{r}"
    );
    // A clean change (code with its test): the old finding on an
    // untouched line is not its own.
    repo.write(
        "app.py",
        format!("{OLD}\n\ndef more(x):\n    return x * 2\n"),
    );
    repo.write(
        "tests/test_app.py",
        "from app import more\n\n\ndef test_more():\n    assert more(2) == 4\n",
    );
    repo.commit("Add more");
    let (r, code) = review(&repo, &["--fail-on", "low"]);
    assert_eq!(r["findings"].as_array().unwrap().len(), 0, "{r}");
    assert_eq!(r["files"], 2, "{r}");
    assert_eq!(code, Some(0));

    // A change that evaluates its input.
    let text = format!(
        "{OLD}\n\ndef more(x):\n    return x * 2\n\n\ndef run(expr):\n    return eval(expr)\n"
    );
    repo.write("app.py", &text);
    repo.commit("Run expressions");
    let (r, code) = review(&repo, &["--fail-on", "high"]);
    let found: Vec<(&str, u64)> = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["rule"].as_str().unwrap(),
                f["start_line"].as_u64().unwrap(),
            )
        })
        .collect();
    let run = line_of(&text, "def run");
    assert_eq!(
        found,
        [
            ("review/missing-tests", run),
            ("security/eval", line_of(&text, "eval(expr)"))
        ],
        "{r}"
    );
    let severity = r["findings"][1]["severity"].as_str().unwrap().to_owned();
    // Exit status follows --fail-on over the findings' severities.
    assert_eq!(code, Some(if severity == "high" { 1 } else { 0 }), "{r}");
    let (_, code) = review(&repo, &["--fail-on", "low"]);
    assert_eq!(code, Some(1));
    let (_, code) = review(&repo, &[]);
    assert_eq!(code, Some(0), "no --fail-on, no failure");

    // The whole history as one range sees the old finding too.
    let first = repo.git(&["rev-list", "--max-parents=0", "HEAD"]);
    let (r, _) = review(&repo, &[&format!("{}..HEAD", first.trim())]);
    assert!(
        r["findings"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["start_line"].as_u64() > Some(9)),
        "{r}"
    );
}

#[test]
fn staged_changes_sarif_and_github_annotations() {
    let repo = repo();
    ok(lore(&repo).arg("index"));
    let text = format!(
        "{OLD}\n\ndef query(db, name):\n    return db.execute(f\"SELECT * FROM users WHERE name = '{{name}}'\")\n"
    );
    repo.write("app.py", &text);
    let line = line_of(&text, "SELECT");
    repo.git(&["add", "app.py"]);
    let sarif: Value = serde_json::from_str(&ok(
        lore(&repo).args(["review", "--staged", "--format", "sarif"])
    ))
    .unwrap();
    assert_eq!(sarif["version"], "2.1.0", "{sarif}");
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    let rules: Vec<&str> = results
        .iter()
        .map(|r| r["ruleId"].as_str().unwrap())
        .collect();
    assert_eq!(
        rules,
        ["review/missing-tests", "security/sql-format"],
        "{sarif}"
    );
    assert_eq!(
        results[1]["locations"][0]["physicalLocation"]["region"]["startLine"], line,
        "{sarif}"
    );
    let github = ok(lore(&repo).args(["review", "--staged", "--format", "github"]));
    assert!(
        github.starts_with("::") && github.contains(&format!("file=app.py,line={line}")),
        "{github}"
    );

    let out = fails(lore(&repo).args(["review", "HEAD.."]));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("FROM..TO"),
        "{out:?}"
    );
}

#[test]
fn findings_like_dismissed_ones_are_left_out_and_counted() {
    let repo = repo();
    repo.write(
        "app.py",
        format!("{OLD}\n\ndef run(expr):\n    return eval(expr)\n"),
    );
    repo.commit("Run expressions");
    ok(lore(&repo).arg("index"));
    let (before, _) = review(&repo, &[]);
    assert_eq!(before["findings"][1]["rule"], "security/eval", "{before}");
    ok(lore(&repo).args(["learn", "on"]));
    ok(lore(&repo).args(["worker", "--once"]));
    let insights = json(&repo, &["insights", "--kind", "finding", "--limit", "100"]);
    let eval = insights
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["title"].as_str().unwrap().starts_with("security/eval"))
        .unwrap_or_else(|| panic!("{insights}"));
    ok(lore(&repo).args(["insights", "dismiss", &eval["id"].to_string()]));
    let (after, _) = review(&repo, &[]);
    let rules: Vec<&str> = after["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap())
        .collect();
    assert_eq!(rules, ["review/missing-tests"], "{after}");
    assert_eq!(after["suppressed"], 1, "{after}");
}

/// SARIF from `lore review` and `lore findings --sarif` is valid against
/// the 2.1.0 schema and follows what GitHub code scanning requires: a tool
/// driver name, a rule id, a message text and a relative artifact URI
/// with a start line per result, rules with a level, fingerprints. An
/// empty review is a valid log too.
#[test]
fn sarif_validates_against_the_schema_and_github_rules() {
    let repo = repo();
    repo.write(
        "app.py",
        format!("{OLD}\n\ndef run(expr):\n    return eval(expr)  # TODO: a parser\n"),
    );
    repo.commit("Run expressions");
    ok(lore(&repo).arg("index"));
    let logs = [
        ok(lore(&repo).args(["review", "--format", "sarif"])),
        ok(lore(&repo).args(["findings", "--sarif"])),
        ok(lore(&repo).args(["review", "HEAD..HEAD", "--format", "sarif"])),
    ];
    for log in &logs {
        lore_test_support::validate_sarif(log).unwrap_or_else(|e| panic!("{e}\n{log}"));
        let v: Value = serde_json::from_str(log).unwrap();
        assert_eq!(v["version"], "2.1.0");
        for run in v["runs"].as_array().unwrap() {
            assert!(run["tool"]["driver"]["name"].is_string(), "{run}");
            for rule in run["tool"]["driver"]["rules"]
                .as_array()
                .into_iter()
                .flatten()
            {
                assert!(rule["id"].is_string(), "{rule}");
                assert!(rule["defaultConfiguration"]["level"].is_string(), "{rule}");
            }
            for r in run["results"].as_array().unwrap() {
                assert!(r["ruleId"].is_string(), "{r}");
                assert!(r["message"]["text"].is_string(), "{r}");
                let loc = &r["locations"][0]["physicalLocation"];
                let uri = loc["artifactLocation"]["uri"].as_str().unwrap();
                assert!(!uri.starts_with('/') && !uri.contains("://"), "{uri}");
                assert!(loc["region"]["startLine"].as_u64().unwrap() >= 1, "{r}");
                assert!(r["partialFingerprints"].is_object(), "{r}");
            }
        }
    }
    let review: Value = serde_json::from_str(&logs[0]).unwrap();
    assert!(!review["runs"][0]["results"].as_array().unwrap().is_empty());
    let empty: Value = serde_json::from_str(&logs[2]).unwrap();
    assert!(
        empty["runs"][0]["results"].as_array().unwrap().is_empty(),
        "{empty}"
    );
}

/// The documented workflow's Lore commands run as written (the pull
/// request's range replaced by one commit).
#[test]
fn the_documented_workflow_commands_run() {
    let workflow = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/ci/lore-review.yml"),
    )
    .unwrap();
    let repo = repo();
    let mut ran = 0;
    let lines: Vec<&str> = workflow.lines().collect();
    let mut folded_until = 0;
    for (i, line) in lines.iter().enumerate() {
        if i < folded_until {
            continue;
        }
        let line = line.trim().trim_start_matches("run:").trim();
        let command = if line == ">" {
            // A folded block: the next lines up to the next key.
            let block: Vec<&str> = lines[i + 1..]
                .iter()
                .take_while(|l| !l.trim_start().starts_with('-') && !l.contains(": "))
                .map(|l| l.trim())
                .collect();
            folded_until = i + 1 + block.len();
            block.join(" ")
        } else {
            line.to_owned()
        };
        let Some(args) = command.strip_prefix("lore ") else {
            continue;
        };
        let args = args
            .split(" > ")
            .next()
            .unwrap()
            .replace("\"origin/${{ github.base_ref }}..HEAD\"", "HEAD");
        let argv: Vec<&str> = args.split_whitespace().collect();
        assert!(!args.contains("${{"), "{args}");
        ok(lore(&repo).args(&argv));
        ran += 1;
    }
    assert_eq!(ran, 2, "lore index and lore review: {workflow}");
}

#[test]
fn missing_tests_name_the_tests_that_exercise_the_file_and_docs_that_name_a_change() {
    let repo = TestRepo::new();
    repo.write(
        "shop/pricing.py",
        "def discounted_price(price, rate):\n    return price * (1 - rate)\n",
    )
    .write(
        "tests/test_pricing.py",
        "from shop.pricing import discounted_price\n\n\ndef test_discount():\n    assert discounted_price(10, 0.5) == 5\n",
    )
    .write(
        "docs/pricing.md",
        "# Pricing\n\nUse `discounted_price` to apply a rate.\n",
    );
    repo.commit("Initial import");
    repo.write(
        "shop/pricing.py",
        "def discounted_price(price, rate):\n    return round(price * (1 - rate), 2)\n",
    );
    repo.commit("Round prices");
    ok(lore(&repo).arg("index"));
    let (r, _) = review(&repo, &[]);
    let by_rule = |rule: &str| -> Vec<Value> {
        r["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["rule"] == rule)
            .cloned()
            .collect()
    };
    let missing = by_rule("review/missing-tests");
    assert_eq!(missing.len(), 1, "{r}");
    assert_eq!(missing[0]["path"], "shop/pricing.py", "{r}");
    assert!(
        missing[0]["message"]
            .as_str()
            .unwrap()
            .contains("tests/test_pricing.py"),
        "{r}"
    );
    let docs = by_rule("review/docs-mention");
    assert_eq!(docs.len(), 1, "{r}");
    assert_eq!(docs[0]["path"], "docs/pricing.md", "{r}");
    assert_eq!(docs[0]["start_line"], 3, "{r}");
    assert_eq!(
        r["changed_symbols"][0], "shop/pricing.py:discounted_price",
        "{r}"
    );
    assert!(
        r["impact"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["path"] == "tests/test_pricing.py"),
        "{r}"
    );

    // Changing the test too: no missing-tests finding; the docs one stays
    // until the document changes.
    repo.write(
        "shop/pricing.py",
        "def discounted_price(price, rate):\n    return round(price * (1 - rate), 3)\n",
    )
    .write(
        "tests/test_pricing.py",
        "from shop.pricing import discounted_price\n\n\ndef test_discount():\n    assert discounted_price(10, 0.25) == 7.5\n",
    )
    .write(
        "docs/pricing.md",
        "# Pricing\n\nUse `discounted_price` to apply a rate (rounded to 3 places).\n",
    );
    repo.commit("Round to 3 places, tested and documented");
    ok(lore(&repo).arg("index"));
    let (r, _) = review(&repo, &[]);
    assert!(r["findings"].as_array().unwrap().is_empty(), "{r}");
}

fn branchy(name: &str, n: usize, extra: &str) -> String {
    let mut s = format!("def {name}(x):\n{extra}");
    for i in 0..n {
        s.push_str(&format!("    if x == {i}:\n        return {i}\n"));
    }
    s.push_str("    return -1\n");
    s
}

/// Complexity counts against a change only when the change put the
/// function over the threshold, not when it touched one already over it.
#[test]
fn metric_findings_only_when_the_change_crossed_the_threshold() {
    let repo = TestRepo::new();
    repo.write(
        "calc.py",
        branchy("pick", 20, "") + "\n\n" + &branchy("small", 3, ""),
    );
    repo.write("tests/test_calc.py", "def test_pick():\n    pass\n");
    repo.commit("Initial import");
    ok(lore(&repo).arg("index"));
    // A line added inside the already complex `pick`.
    repo.write(
        "calc.py",
        branchy("pick", 20, "    x = int(x)\n") + "\n\n" + &branchy("small", 3, ""),
    );
    repo.write("tests/test_calc.py", "def test_pick():\n    assert True\n");
    repo.commit("Parse first");
    let (r, _) = review(&repo, &[]);
    assert!(r["findings"].as_array().unwrap().is_empty(), "{r}");
    // `small` grows past the threshold: that is this change's doing.
    repo.write(
        "calc.py",
        branchy("pick", 20, "    x = int(x)\n") + "\n\n" + &branchy("small", 20, ""),
    );
    repo.write("tests/test_calc.py", "def test_small():\n    assert True\n");
    repo.commit("More cases");
    let (r, _) = review(&repo, &[]);
    let rules: Vec<(&str, &str)> = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["rule"].as_str().unwrap(), f["symbol"].as_str().unwrap()))
        .collect();
    assert!(rules.contains(&("complexity/cyclomatic", "small")), "{r}");
    assert!(!rules.iter().any(|(_, s)| *s == "pick"), "{r}");
}

/// A learned convention, quoted with its evidence, flags a new function
/// that departs from it; one that follows it is silent.
#[test]
fn a_function_that_departs_from_its_directorys_convention_is_flagged_with_the_evidence() {
    let repo = TestRepo::new();
    let mut api = String::from("pub struct ApiError;\npub struct Json<T>(T);\n\n");
    for i in 0..12 {
        api.push_str(&format!(
            "pub fn handler_{i}(id: u32) -> Result<Json<u32>, ApiError> {{\n    Ok(Json(id + {i}))\n}}\n\n"
        ));
    }
    repo.write("src/api/handlers.rs", &api);
    repo.write("tests/api.rs", "#[test]\nfn t() {}\n");
    repo.commit("Handlers");
    ok(lore(&repo).arg("index"));
    repo.write(
        "src/api/handlers.rs",
        format!("{api}pub fn handler_new(id: u32) -> Result<Json<u32>, String> {{\n    Ok(Json(id))\n}}\n\npub fn handlerFollows(id: u32) -> Result<Json<u32>, ApiError> {{\n    Ok(Json(id))\n}}\n"),
    );
    repo.write("tests/api.rs", "#[test]\nfn t() {\n    assert!(true);\n}\n");
    repo.commit("Two more handlers");
    let (r, _) = review(&repo, &[]);
    let conv: Vec<&Value> = by_rule(&r, "review/convention");
    let messages: Vec<&str> = conv
        .iter()
        .map(|f| f["message"].as_str().unwrap())
        .collect();
    assert_eq!(conv.len(), 2, "{r}");
    assert!(
        messages.iter().any(|m| m.starts_with("`handler_new` returns `Result<_, String>`; 12 of 12 functions in src/api return `Result<_, ApiError>`")),
        "{messages:?}"
    );
    assert!(
        messages.iter().any(|m| m.starts_with("`handlerFollows` is named in camelCase; 12 of 12 function names in src/api are snake_case")),
        "{messages:?}"
    );
    assert!(
        messages.iter().all(|m| m.contains("src/api/handlers.rs:")),
        "{messages:?}"
    );
}

#[test]
fn a_providers_comments_are_kept_only_where_their_citations_verify() {
    let repo = repo();
    repo.write(
        "app.py",
        format!("{OLD}\n\ndef refund(amount, balance):\n    return balance + amount\n"),
    );
    repo.commit("Refunds");
    ok(lore(&repo).arg("index"));
    // Evidence 1 is the added function with context (lines 7-13 of the
    // new app.py); evidence 7 was never shown.
    let server = lore_test_support::fake_chat(
        "small-model",
        "- `refund` accepts a negative amount [1:12-13]\n- the lock is never released [7:2]\n- naming is fine\n",
    );
    ok(lore(&repo).args(["config", "set", "provider.kind", "openai"]));
    ok(lore(&repo).args(["config", "set", "provider.base_url", &server.url()]));
    ok(lore(&repo).args(["config", "set", "provider.model", "small-model"]));

    let (r, code) = review(&repo, &[]);
    assert_eq!(code, Some(0));
    let comments: Vec<&Value> = by_rule(&r, "review/model-comment");
    assert_eq!(comments.len(), 1, "{r}");
    let c = comments[0];
    assert_eq!(
        (c["path"].as_str(), c["start_line"].as_u64()),
        (Some("app.py"), Some(12)),
        "{r}"
    );
    let message = c["message"].as_str().unwrap();
    assert!(
        message.contains("accepts a negative amount") && message.contains("small-model"),
        "{message}"
    );
    assert_eq!(c["severity"], "low");
    // The model saw the added lines.
    let sent = server
        .requests()
        .into_iter()
        .find(|r| r.path.ends_with("/chat/completions"))
        .unwrap();
    assert!(
        sent.body.contains("return balance + amount"),
        "{}",
        sent.body
    );

    let sarif = ok(lore(&repo).args(["review", "--format", "sarif"]));
    lore_test_support::validate_sarif(&sarif).unwrap_or_else(|e| panic!("{e}\n{sarif}"));
    assert!(sarif.contains("review/model-comment"), "{sarif}");

    // --no-llm: no request, no comment.
    let before = server.requests().len();
    let (r, _) = review(&repo, &["--no-llm"]);
    assert_eq!(server.requests().len(), before);
    assert!(
        r["findings"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["rule"] != "review/model-comment"),
        "{r}"
    );
}

#[test]
fn printing_where_the_directory_logs_and_a_bare_error_where_it_wraps_are_flagged() {
    let repo = TestRepo::new();
    let mut svc = String::from("import logging\n\nlogger = logging.getLogger(__name__)\n\n");
    for i in 0..11 {
        svc.push_str(&format!(
            "\ndef job_{i}(x):\n    logger.info(\"job {i} %s\", x)\n    return x\n\n"
        ));
    }
    let mut store = String::from("package store\n\nimport (\n\t\"fmt\"\n\t\"os\"\n)\n\n");
    for i in 0..11 {
        store.push_str(&format!(
            "func Open{i}(p string) (*os.File, error) {{\n\tf, err := os.Open(p)\n\tif err != nil {{\n\t\treturn nil, fmt.Errorf(\"open {i}: %w\", err)\n\t}}\n\treturn f, nil\n}}\n\n"
        ));
    }
    repo.write("svc/jobs.py", &svc)
        .write("store/open.go", &store)
        .write("go.mod", "module example.com/m\n\ngo 1.21\n");
    repo.commit("Jobs and store");
    ok(lore(&repo).arg("index"));
    repo.write(
        "svc/jobs.py",
        format!("{svc}\ndef job_new(x):\n    print(\"job new\", x)\n    return x\n\n\ndef job_quiet(x):\n    logger.debug(\"quiet %s\", x)\n    return x\n"),
    )
    .write(
        "store/open.go",
        format!("{store}func OpenNew(p string) (*os.File, error) {{\n\tf, err := os.Open(p)\n\tif err != nil {{\n\t\treturn nil, err\n\t}}\n\treturn f, nil\n}}\n"),
    );
    repo.commit("Two more");
    let (r, _) = review(&repo, &["--no-llm"]);
    let conv: Vec<&Value> = by_rule(&r, "review/convention");
    let messages: Vec<&str> = conv
        .iter()
        .map(|f| f["message"].as_str().unwrap())
        .collect();
    assert_eq!(conv.len(), 2, "{messages:?}");
    assert!(
        messages.iter().any(|m| m.starts_with(
            "`job_new` prints (`print(\"job new\", x)`); 11 of 11 functions in svc that write diagnostics use a logger"
        )),
        "{messages:?}"
    );
    assert!(
        messages.iter().any(|m| m.starts_with(
            "`OpenNew` returns an error as it came (`return nil, err`); 11 of 11 functions in store that return errors wrap them"
        )),
        "{messages:?}"
    );
    // Each points at the line that departs.
    let printed = conv.iter().find(|f| f["symbol"] == "job_new").unwrap();
    let line = printed["start_line"].as_u64().unwrap() as usize;
    let text = std::fs::read_to_string(repo.join("svc/jobs.py")).unwrap();
    assert!(
        text.lines().nth(line - 1).unwrap().contains("print("),
        "{printed}"
    );
}

#[test]
fn a_block_the_change_copied_from_elsewhere_is_flagged_with_where_it_came_from() {
    let repo = TestRepo::new();
    let block = "def normalise(rows):\n    out = []\n    for row in rows:\n        name = row['name'].strip().lower()\n        email = row['email'].strip().lower()\n        if not name or not email:\n            continue\n        key = (name, email)\n        if key in out:\n            continue\n        out.append(key)\n    return sorted(out, key=lambda k: (k[1], k[0]))\n";
    repo.write("etl/clean.py", block).write(
        "etl/load.py",
        "def load(path):\n    return open(path).read()\n",
    );
    repo.commit("ETL");
    ok(lore(&repo).arg("index"));
    let renamed = block.replace("def normalise", "def tidy");
    repo.write(
        "etl/load.py",
        format!("def load(path):\n    return open(path).read()\n\n\n{renamed}"),
    );
    repo.commit("Tidy rows on load");
    let (r, _) = review(&repo, &["--no-llm"]);
    let dup: Vec<&Value> = by_rule(&r, "duplication/block");
    assert_eq!(dup.len(), 1, "{r}");
    assert_eq!(dup[0]["path"], "etl/load.py", "{r}");
    assert!(
        dup[0]["message"]
            .as_str()
            .unwrap()
            .contains("etl/clean.py:"),
        "{r}"
    );
    // The copy that was already there is not this change's finding.
    let (r, _) = review(&repo, &["HEAD~1", "--no-llm"]);
    assert!(
        r["findings"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["rule"] != "duplication/block"),
        "{r}"
    );
}
