use super::*;

#[test]
fn coverage_py_json() {
    let text = r#"{"meta": {"version": "7.4"}, "files": {
        "/work/app/core.py": {"executed_lines": [1, 2, 4], "missing_lines": [5, 6]},
        "/usr/lib/python3/os.py": {"executed_lines": [1], "missing_lines": []},
        "pkg/util.py": {"executed_lines": [], "missing_lines": [3]}}}"#;
    assert_eq!(sniff(text), Some(Format::CoveragePy));
    let c = parse(text, Format::CoveragePy, "/work", None, "coverage.json").unwrap();
    assert_eq!(c.keys().collect::<Vec<_>>(), ["app/core.py", "pkg/util.py"]);
    let core = &c["app/core.py"];
    assert_eq!(core.lines.len(), 5);
    assert!((core.ratio() - 0.6).abs() < 1e-9);
    assert_eq!(core.ratio_in(4, 6), Some(1.0 / 3.0));
    assert_eq!(core.ratio_in(7, 9), None);
    assert_eq!(c["pkg/util.py"].ratio(), 0.0);
}

#[test]
fn coverage_py_contexts_name_the_tests_that_ran_each_line() {
    // What `coverage json --show-contexts` writes with a dynamic context
    // per test function (the module as pytest imported it).
    let text = r#"{"meta": {"version": "7.6"}, "files": {
        "/w/shop/tax.py": {"executed_lines": [1, 2, 4], "missing_lines": [5],
            "contexts": {"1": [""], "2": ["test_tax.TestX.test_y", "test_tax.test_vat"], "4": [""]}},
        "/w/shop/cart.py": {"executed_lines": [1, 3], "missing_lines": [],
            "contexts": {"1": [""], "3": ["test_tax.test_vat"]}},
        "/w/tests/test_tax.py": {"executed_lines": [1, 3, 4, 7, 8], "missing_lines": [],
            "contexts": {"1": [""], "4": ["test_tax.test_vat"], "8": ["test_tax.TestX.test_y"]}}}}"#;
    let c = parse(text, Format::CoveragePy, "/w", None, "coverage.json").unwrap();
    let tax = &c["shop/tax.py"].by_test;
    assert_eq!(
        tax.keys().collect::<Vec<_>>(),
        [
            "tests/test_tax.py::TestX.test_y",
            "tests/test_tax.py::test_vat"
        ]
    );
    assert_eq!(
        tax["tests/test_tax.py::test_vat"]
            .iter()
            .copied()
            .collect::<Vec<_>>(),
        [2]
    );
    assert_eq!(
        c["shop/cart.py"].by_test.keys().collect::<Vec<_>>(),
        ["tests/test_tax.py::test_vat"]
    );
    assert!(
        c["tests/test_tax.py"].by_test.is_empty(),
        "a test file is not attributed to itself"
    );
    // Without contexts, nothing is attributed.
    let plain = r#"{"files": {"/w/a.py": {"executed_lines": [1], "missing_lines": []}}}"#;
    let c = parse(plain, Format::CoveragePy, "/w", None, "coverage.json").unwrap();
    assert!(c["a.py"].by_test.is_empty());
}

#[test]
fn go_cover_profiles_by_import_path() {
    let text = "mode: set\n\
        example.com/m/pkg/a.go:3.14,5.2 2 1\n\
        example.com/m/pkg/a.go:7.14,9.2 2 0\n\
        example.com/m/main.go:1.1,1.20 1 1\n";
    assert_eq!(sniff(text), Some(Format::GoProfile));
    let c = parse(
        text,
        Format::GoProfile,
        "/work",
        Some("example.com/m"),
        "cover.out",
    )
    .unwrap();
    let a = &c["pkg/a.go"];
    assert_eq!(a.covered.iter().copied().collect::<Vec<_>>(), [3, 4, 5]);
    assert_eq!(a.lines.len(), 6);
    assert_eq!(c["main.go"].ratio(), 1.0);
    let err = parse(
        "mode: set\nnonsense\n",
        Format::GoProfile,
        "/w",
        None,
        "cover.out",
    )
    .unwrap_err();
    assert!(err.to_string().contains("cover.out: line 2"), "{err}");
}

#[test]
fn lcov_tracefiles() {
    let text = "TN:\nSF:/work/src/lib.rs\nDA:1,3\nDA:2,0\nDA:4,1\nend_of_record\n\
                SF:/home/u/.cargo/registry/dep.rs\nDA:1,1\nend_of_record\n";
    assert_eq!(sniff(text), Some(Format::Lcov));
    let c = parse(text, Format::Lcov, "/work", None, "lcov.info").unwrap();
    assert_eq!(c.len(), 1);
    let lib = &c["src/lib.rs"];
    assert_eq!(lib.covered.iter().copied().collect::<Vec<_>>(), [1, 4]);
    assert!((lib.ratio() - 2.0 / 3.0).abs() < 1e-9);
}

#[test]
fn istanbul_coverage_final() {
    let text = r#"{"/work/lib/run.js": {"path": "/work/lib/run.js",
        "statementMap": {"0": {"start": {"line": 2, "column": 0}, "end": {"line": 2, "column": 9}},
                         "1": {"start": {"line": 5, "column": 2}, "end": {"line": 6, "column": 1}}},
        "s": {"0": 4, "1": 0}}}"#;
    assert_eq!(sniff(text), Some(Format::Istanbul));
    let c = parse(text, Format::Istanbul, "/work", None, "coverage-final.json").unwrap();
    let run = &c["lib/run.js"];
    assert_eq!(run.covered.iter().copied().collect::<Vec<_>>(), [2]);
    assert_eq!(run.lines.len(), 2);
    assert_eq!(sniff("hello"), None);
}
