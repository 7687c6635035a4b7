use super::*;

#[test]
fn junit_reports_of_pytest_and_surefire() {
    let xml = r#"<?xml version="1.0"?><testsuites><testsuite name="pytest">
<testcase classname="tests.test_app" name="test_ok" file="tests/test_app.py" line="3" time="0.01" />
<testcase classname="tests.test_app" name="test_bad" file="tests/test_app.py" line="7"><failure message="assert 1 == 2">long trace</failure></testcase>
<testcase classname="tests.test_app" name="test_skip"><skipped message="later" /></testcase>
<testcase classname="com.x.AppTest" name="boom"><error message="NullPointerException &amp; more"/></testcase>
</testsuite></testsuites>"#;
    let tests = parse_junit(xml);
    let summary: Vec<(&str, &str)> = tests.iter().map(|t| (t.name.as_str(), t.outcome)).collect();
    assert_eq!(
        summary,
        [
            ("tests.test_app.test_ok", "passed"),
            ("tests.test_app.test_bad", "failed"),
            ("tests.test_app.test_skip", "skipped"),
            ("com.x.AppTest.boom", "failed"),
        ]
    );
    // pytest's lines are 0-based.
    assert_eq!(
        (tests[1].file.as_deref(), tests[1].line),
        (Some("tests/test_app.py"), Some(8))
    );
    assert_eq!(tests[1].message, "assert 1 == 2");
    assert_eq!(tests[3].message, "NullPointerException & more");
}

#[test]
fn go_json_and_cargo_output() {
    let go = r#"{"Action":"run","Package":"m/p","Test":"TestA"}
{"Action":"pass","Package":"m/p","Test":"TestA"}
{"Action":"fail","Package":"m/p","Test":"TestB"}
{"Action":"fail","Package":"m/p"}"#;
    let tests = parse_go_json(go);
    assert_eq!(tests.len(), 2);
    assert_eq!(
        (tests[1].name.as_str(), tests[1].outcome),
        ("m/p.TestB", "failed")
    );
    let cargo = "running 3 tests\ntest a::b ... ok\ntest c ... FAILED\ntest d ... ignored, slow\n";
    let tests = parse_cargo(cargo);
    let outcomes: Vec<&str> = tests.iter().map(|t| t.outcome).collect();
    assert_eq!(outcomes, ["passed", "failed", "skipped"]);
}

#[test]
fn test_commands_are_detected_from_the_tree() {
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(detect(dir.path()), None);
    std::fs::write(dir.path().join("conftest.py"), "").unwrap();
    let pytest = detect(dir.path()).unwrap();
    assert_eq!(pytest.tool, "pytest");
    // Its own coverage settings: the whole tree, a context per test.
    assert!(
        pytest.script.contains("source = .")
            && pytest.script.contains("dynamic_context = test_function")
            && pytest.script.contains("--show-contexts"),
        "{}",
        pytest.script
    );
    assert!(!pytest.env.iter().any(|(k, _)| k == "PYTHONPATH"));
    // A src layout's packages come from the tree, not from what is
    // installed; a coverage configuration of the tree's own is kept.
    std::fs::create_dir_all(dir.path().join("src/pkg")).unwrap();
    std::fs::write(dir.path().join("src/pkg/__init__.py"), "").unwrap();
    std::fs::write(dir.path().join(".coveragerc"), "[run]\nsource = src\n").unwrap();
    let pytest = detect(dir.path()).unwrap();
    assert!(
        pytest
            .env
            .contains(&("PYTHONPATH".to_owned(), "src".to_owned()))
    );
    assert!(!pytest.script.contains("--rcfile"), "{}", pytest.script);
    std::fs::write(dir.path().join("package.json"), "{}").unwrap();
    let npm = detect(dir.path()).unwrap();
    assert_eq!((npm.tool, npm.coverage.is_none()), ("npm", true));
    std::fs::create_dir_all(dir.path().join("node_modules/.bin")).unwrap();
    std::fs::write(dir.path().join("node_modules/.bin/jest"), "").unwrap();
    assert_eq!(detect(dir.path()).unwrap().tool, "jest");
    std::fs::write(dir.path().join("go.mod"), "module example.com/m\n").unwrap();
    assert_eq!(detect(dir.path()).unwrap().tool, "go");
}

fn pytest_tree() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir_all(root.join("tests")).unwrap();
    std::fs::write(
        root.join("calc.py"),
        "def add(a, b):\n    return a + b\n\n\ndef unused(x):\n    return x * 2\n",
    )
    .unwrap();
    std::fs::write(
        root.join("tests/test_calc.py"),
        "from calc import add\n\n\ndef test_add():\n    assert add(1, 2) == 3\n\n\ndef test_wrong():\n    assert add(1, 1) == 3\n",
    )
    .unwrap();
    std::fs::write(
        root.join("conftest.py"),
        "import sys, os\nsys.path.insert(0, os.path.dirname(__file__))\n",
    )
    .unwrap();
    dir
}

#[test]
fn verify_runs_pytest_in_the_sandbox_with_coverage() {
    let tree = pytest_tree();
    let home = tempfile::tempdir().unwrap();
    let produced = verify(tree.path(), "r", "abc", home.path(), &Limits::default()).unwrap();
    let out = &produced.output;
    assert_eq!(out["status"], "failed", "{out}\n{:?}", produced.log);
    assert_eq!(out["tool"], "pytest");
    assert_eq!(
        out["tests"],
        json!({"passed": 1, "failed": 1, "skipped": 0})
    );
    assert_eq!(out["failures"][0]["name"], "tests.test_calc.test_wrong");
    assert_eq!(out["failures"][0]["file"], "tests/test_calc.py");
    assert_eq!(out["failures"][0]["line"], 8);
    // Coverage: `unused` never ran.
    let facts: Value = serde_json::from_str(&produced.facts[0].value).unwrap();
    assert_eq!(facts["calc.py"]["missing"], json!([6]), "{facts}");
    assert!(out["coverage"]["ratio"].as_f64().unwrap() < 1.0);
    assert_eq!(produced.insights.len(), 1);
    assert_eq!(produced.insights[0].kind, "test-failure");
    let names: Vec<&str> = produced.files.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["verify.log", "junit.xml", "coverage.json"]);
    // The tree itself is untouched: reports went to the scratch copy.
    assert!(!tree.path().join(".lore-verify").exists());
}

#[test]
fn missing_dependencies_are_a_result_not_a_failure() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("package.json"),
        r#"{"scripts": {"test": "jest"}}"#,
    )
    .unwrap();
    let home = tempfile::tempdir().unwrap();
    let produced = verify(dir.path(), "r", "abc", home.path(), &Limits::default()).unwrap();
    assert_eq!(produced.output["status"], "deps-unavailable");
    assert!(
        produced.output["message"]
            .as_str()
            .unwrap()
            .contains("node_modules is not in the tree"),
        "{}",
        produced.output
    );
    let none = tempfile::tempdir().unwrap();
    let produced = verify(none.path(), "r", "abc", home.path(), &Limits::default()).unwrap();
    assert_eq!(produced.output["status"], "no-tests");
}

#[test]
fn covered_lines_as_runs() {
    let lines: std::collections::BTreeSet<u32> = [1, 2, 3, 7, 9, 10].into_iter().collect();
    assert_eq!(ranges(&lines), vec![[1, 3], [7, 7], [9, 10]]);
    assert!(ranges(&Default::default()).is_empty());
}

#[test]
fn a_missing_dependency_is_told_from_a_missing_module_of_the_tree() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir_all(root.join("src/shop")).unwrap();
    let go = "go: downloading github.com/spf13/pflag v1.0.9\ngo: github.com/cpuguy83/go-md2man/v2@v2.0.6: module lookup disabled by GOPROXY=off\n";
    let why = missing_dependency("go", go, root).unwrap();
    assert!(
        why.contains("go-md2man") && why.contains("module cache"),
        "{why}"
    );
    let py = "E   ModuleNotFoundError: No module named 'numpy'\nERROR tests/test_a.py\n";
    assert!(
        missing_dependency("pytest", py, root)
            .unwrap()
            .contains("`numpy`")
    );
    // The tree's own module missing is a failure of the tree, not offline.
    let own = "E   ModuleNotFoundError: No module named 'shop.cart'\n";
    assert_eq!(missing_dependency("pytest", own, root), None);
    let jest = "Cannot find module 'left-pad' from 'src/a.test.js'\n";
    assert!(
        missing_dependency("jest", jest, root)
            .unwrap()
            .contains("left-pad")
    );
    assert_eq!(
        missing_dependency("jest", "Cannot find module './a' from 'b'", root),
        None
    );
    let cargo = "error: no matching package named `serde` found\n";
    assert!(missing_dependency("cargo", cargo, root).is_some());
    assert_eq!(
        missing_dependency("pytest", "1 failed, 0 passed", root),
        None
    );
}
