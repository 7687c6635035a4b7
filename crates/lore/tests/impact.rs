//! `lore impact` on fixtures whose call graph and history are known.

mod common;

use common::*;
use serde_json::Value;

/// A Python package: `store.save` is called by `service.handle` (which
/// imports it), `service.handle` by `api.route` (transitively); `legacy.py`
/// calls a `save` it never imports (name only); `cache.py` defines its
/// own `save` and is the one `other.py` imports; `SqlStore.save`
/// overrides `Store.save`.
fn python_fixture() -> TestRepo {
    let repo = TestRepo::new();
    repo.write("pkg/__init__.py", "")
        .write(
            "pkg/store.py",
            "class Store:\n    def save(self, item):\n        return item\n\n\ndef save(item):\n    return Store().save(item)\n",
        )
        .write(
            "pkg/service.py",
            "from pkg.store import save\n\n\ndef handle(request):\n    return save(request)\n",
        )
        .write(
            "pkg/api.py",
            "from pkg.service import handle\n\n\ndef route(path):\n    return handle(path)\n",
        )
        .write("legacy.py", "def old_entry(x):\n    return save(x)\n")
        .write("pkg/cache.py", "def save(item):\n    return None\n")
        .write(
            "pkg/other.py",
            "from pkg.cache import save\n\n\ndef warm(x):\n    return save(x)\n",
        )
        .write(
            "pkg/sql.py",
            "from pkg.store import Store\n\n\nclass SqlStore(Store):\n    def save(self, item):\n        return item\n",
        )
        .write(
            "tests/test_store.py",
            "from pkg.store import save\n\n\ndef test_save():\n    assert save(1) == 1\n",
        )
        .write("pkg/unused.py", "def lonely():\n    return 1\n");
    repo.commit("Initial import");
    repo
}

fn impact(repo: &TestRepo, target: &str) -> Value {
    json(repo, &["impact", target, "--depth", "3"])
}

fn symbol<'a>(result: &'a Value, path: &str, name: &str) -> Option<&'a Value> {
    result["symbols"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["path"] == path && s["symbol"] == name)
}

#[test]
fn callers_direct_transitive_name_only_and_overriders_are_labelled() {
    let repo = python_fixture();
    ok(lore(&repo).arg("index"));
    let r = impact(&repo, "pkg/store.py:save");
    assert_eq!(r["target"]["kind"], "symbol", "{r}");
    assert_eq!(
        r["target"]["definitions"].as_array().unwrap().len(),
        1,
        "{r}"
    );

    let direct = symbol(&r, "pkg/service.py", "handle").expect("direct caller");
    assert_eq!(direct["distance"], 1, "{r}");
    assert_eq!(direct["edge"], "resolved", "{r}");
    assert_eq!(direct["relation"], "caller", "{r}");

    let transitive = symbol(&r, "pkg/api.py", "route").expect("transitive caller");
    assert_eq!(transitive["distance"], 2, "{r}");
    assert_eq!(transitive["edge"], "resolved", "{r}");
    assert_eq!(transitive["uses"], "handle", "{r}");

    let guess = symbol(&r, "legacy.py", "old_entry").expect("name-only caller");
    assert_eq!(guess["edge"], "name-only", "{r}");

    // other.py imports cache.save: not a caller of store.save.
    assert!(symbol(&r, "pkg/other.py", "warm").is_none(), "{r}");

    let test = symbol(&r, "tests/test_store.py", "test_save").expect("test caller");
    assert_eq!(test["edge"], "resolved", "{r}");
    let tests: Vec<&str> = r["tests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["path"].as_str().unwrap())
        .collect();
    assert!(tests.contains(&"tests/test_store.py"), "{r}");
    assert!(
        r["uncertain"]
            .as_array()
            .unwrap()
            .iter()
            .any(|u| u.as_str().unwrap().contains("name only")),
        "{r}"
    );

    let method = impact(&repo, "Store.save");
    let over = symbol(&method, "pkg/sql.py", "SqlStore.save").expect("overrider");
    assert_eq!(over["relation"], "overrider", "{method}");
    assert_eq!(over["edge"], "resolved", "{method}");
}

#[test]
fn a_bare_name_takes_every_definition_and_says_so() {
    let repo = python_fixture();
    ok(lore(&repo).arg("index"));
    let r = impact(&repo, "save");
    let defs: Vec<&str> = r["target"]["definitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["path"].as_str().unwrap())
        .collect();
    assert!(
        defs.contains(&"pkg/store.py") && defs.contains(&"pkg/cache.py"),
        "{r}"
    );
    // Now other.py is a caller, of cache.save.
    assert_eq!(
        symbol(&r, "pkg/other.py", "warm").expect("cache.save's caller")["edge"],
        "resolved",
        "{r}"
    );
    let text = ok(lore(&repo).args(["impact", "save"]));
    assert!(text.contains("definitions, all taken"), "{text}");
}

#[test]
fn no_caller_is_never_claimed_as_none() {
    let repo = python_fixture();
    ok(lore(&repo).arg("index"));
    let r = impact(&repo, "lonely");
    assert!(r["symbols"].as_array().unwrap().is_empty(), "{r}");
    let notes = r["uncertain"].to_string();
    assert!(notes.contains("does not mean it has none"), "{notes}");
    let out = fails(lore(&repo).args(["impact", "no_such_thing"]));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no_such_thing"), "{err}");
}

#[test]
fn files_that_changed_together_rank_by_co_change() {
    let repo = TestRepo::new();
    repo.write("src/parser.rs", "pub fn parse() {}\n")
        .write("src/lexer.rs", "pub fn lex() {}\n")
        .write("docs/grammar.md", "# Grammar\n")
        .write("src/unrelated.rs", "pub fn other() {}\n")
        .write(
            "src/lib.rs",
            "pub mod parser;\npub mod lexer;\npub mod unrelated;\n",
        );
    repo.commit("Initial import");
    for i in 0..6 {
        repo.advance_days(3);
        repo.write(
            "src/parser.rs",
            format!("pub fn parse() {{ let _ = {i}; }}\n"),
        )
        .write("docs/grammar.md", format!("# Grammar\n\nrev {i}\n"));
        if i % 2 == 0 {
            repo.write("src/lexer.rs", format!("pub fn lex() {{ let _ = {i}; }}\n"));
        }
        repo.commit(&format!("Grammar change {i}"));
        repo.advance_days(1);
        repo.write(
            "src/unrelated.rs",
            format!("pub fn other() {{ let _ = {i}; }}\n"),
        );
        repo.commit(&format!("Unrelated change {i}"));
    }
    ok(lore(&repo).arg("index"));
    let r = impact(&repo, "src/parser.rs");
    assert_eq!(r["target"]["kind"], "file", "{r}");
    let files: Vec<&str> = r["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert_eq!(files[0], "docs/grammar.md", "{r}");
    assert_eq!(files[1], "src/lexer.rs", "{r}");
    let top = &r["files"][0];
    // The six grammar changes and the initial import.
    assert_eq!(top["features"]["co_commits"], 7, "{r}");
    assert!(
        top["reasons"][0]
            .as_str()
            .unwrap()
            .contains("changed together"),
        "{r}"
    );
    let unrelated = r["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"] == "src/unrelated.rs");
    assert!(
        unrelated.is_none_or(|u| u["score"].as_f64() < top["score"].as_f64()),
        "{r}"
    );

    // No risk map yet: impact says so rather than guessing; once one is
    // made it quotes the target's risk and each file's.
    assert!(r["target"]["risk"].as_array().unwrap().is_empty(), "{r}");
    assert!(
        r["uncertain"]
            .as_array()
            .unwrap()
            .iter()
            .any(|u| u.as_str().unwrap().contains("no risk map")),
        "{r}"
    );
    let risks = json(&repo, &["risks"]);
    let parser = risks
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"] == "src/parser.rs")
        .unwrap()
        .clone();
    let r = impact(&repo, "src/parser.rs");
    let touched = &r["target"]["risk"][0];
    assert_eq!(touched["path"], "src/parser.rs", "{r}");
    assert_eq!(touched["score"], parser["score"], "{r}");
    assert_eq!(touched["rank"], parser["rank"], "{r}");
    let lexer = r["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"] == "src/lexer.rs")
        .unwrap();
    assert!(lexer["risk"].as_f64().is_some(), "{r}");
    assert!(
        !r["uncertain"]
            .as_array()
            .unwrap()
            .iter()
            .any(|u| u.as_str().unwrap().contains("no risk map")),
        "{r}"
    );
    let text = ok(lore(&repo).args(["impact", "src/parser.rs"]));
    assert!(text.contains("risk    src/parser.rs"), "{text}");

    // A commit range: the files it changed are the target.
    let range = impact(&repo, "HEAD~2..HEAD~1");
    assert_eq!(range["target"]["kind"], "range", "{range}");
    let changed: Vec<&str> = range["target"]["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap())
        .collect();
    assert!(changed.contains(&"src/parser.rs"), "{range}");
    assert!(
        range["files"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| !changed.contains(&f["path"].as_str().unwrap())),
        "a range's own files are not its impact: {range}"
    );
}

#[test]
fn rust_go_and_javascript_imports_resolve() {
    let repo = TestRepo::new();
    repo.write("wirecore/src/lib.rs", "pub mod codec;\n")
        .write("wirecore/src/codec.rs", "pub fn encode_frame() {}\n")
        .write(
            "app/src/main.rs",
            "use wirecore::codec::encode_frame;\n\nfn send() {\n    encode_frame();\n}\n",
        )
        .write("go.mod", "module example.com/tool\n\ngo 1.21\n")
        .write("wire/wire.go", "package wire\n\nfunc PackBytes() {}\n")
        .write(
            "cmd/main.go",
            "package main\n\nimport \"example.com/tool/wire\"\n\nfunc run() {\n\twire.PackBytes()\n}\n",
        )
        .write("web/util.js", "function formatPrice(x) { return x }\nmodule.exports = { formatPrice }\n")
        .write(
            "web/cart.js",
            "const { formatPrice } = require('./util')\nfunction total(x) { return formatPrice(x) }\n",
        );
    repo.commit("Initial import");
    ok(lore(&repo).arg("index"));
    for (target, caller_path, caller) in [
        ("encode_frame", "app/src/main.rs", "send"),
        ("PackBytes", "cmd/main.go", "run"),
        ("formatPrice", "web/cart.js", "total"),
    ] {
        let r = impact(&repo, target);
        let s = symbol(&r, caller_path, caller).unwrap_or_else(|| panic!("{target}: {r}"));
        assert_eq!(s["edge"], "resolved", "{target}: {r}");
    }
}

#[test]
fn tests_that_ran_the_target_in_verify_come_first_with_what_they_ran() {
    let repo = TestRepo::new();
    repo.write("shop/__init__.py", "")
        .write(
            "shop/tax.py",
            "RATE = 0.2\n\n\ndef vat(price):\n    return price * (1 + RATE)\n\n\ndef unused_rate():\n    return RATE\n",
        )
        .write(
            "shop/cart.py",
            "from shop.tax import vat\n\n\ndef total(prices):\n    return sum(vat(p) for p in prices)\n",
        )
        .write(
            "tests/test_cart.py",
            "from shop.cart import total\n\n\ndef test_total():\n    assert total([10]) == 12\n",
        )
        // Imports the module but runs nothing of `vat`.
        .write(
            "tests/test_rate.py",
            "from shop import tax\n\n\ndef test_rate():\n    assert tax.RATE == 0.2\n",
        )
        .write(
            "conftest.py",
            "import sys, os\nsys.path.insert(0, os.path.dirname(__file__))\n",
        );
    repo.commit("shop");
    ok(lore(&repo).arg("index"));

    // Before Verify: tests by imports and names, and a note saying so.
    let before = impact(&repo, "vat");
    assert!(
        before["uncertain"]
            .as_array()
            .unwrap()
            .iter()
            .any(|u| u.as_str().unwrap().contains("Verify has not run")),
        "{before}"
    );

    let run = json(&repo, &["verify"]);
    assert_eq!(run["output"]["status"], "passed", "{run}");
    let r = impact(&repo, "vat");
    let first = &r["tests"][0];
    assert_eq!(first["path"], "tests/test_cart.py", "{r}");
    assert_eq!(
        first["runs"][0], "tests/test_cart.py::test_total → vat",
        "{r}"
    );
    assert!(
        first["reasons"][0]
            .as_str()
            .unwrap()
            .starts_with("ran the target"),
        "{r}"
    );
    assert!(
        r["tests"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["path"] != "tests/test_rate.py" || t["runs"].is_null()),
        "test_rate imports the module but runs nothing of vat: {r}"
    );

    // A function no test runs: said plainly.
    let lonely = impact(&repo, "unused_rate");
    assert!(
        lonely["uncertain"].as_array().unwrap().iter().any(|u| u
            .as_str()
            .unwrap()
            .contains("no test ran the target's lines")),
        "{lonely}"
    );
    let text = ok(lore(&repo).args(["impact", "vat"]));
    assert!(
        text.contains("tests/test_cart.py::test_total → vat"),
        "{text}"
    );
}
