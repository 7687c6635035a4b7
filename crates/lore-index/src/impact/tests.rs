use super::*;

#[test]
fn tests_are_found_by_the_naming_conventions_of_each_language() {
    let paths: Vec<String> = [
        "src/pkg/parser.py",
        "tests/test_parser.py",
        "tests/parser_test.py",
        "router.go",
        "router_test.go",
        "lib/app.js",
        "test/app.test.js",
        "src/Codec.java",
        "src/test/CodecTest.java",
        "tests/test_lexer.py",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    assert_eq!(
        tests_named_for("src/pkg/parser.py", &paths),
        ["tests/test_parser.py", "tests/parser_test.py"]
    );
    assert_eq!(tests_named_for("router.go", &paths), ["router_test.go"]);
    assert_eq!(tests_named_for("lib/app.js", &paths), ["test/app.test.js"]);
    assert_eq!(
        tests_named_for("src/Codec.java", &paths),
        ["src/test/CodecTest.java"]
    );
    // A test is not the test of itself.
    assert!(tests_named_for("tests/test_parser.py", &paths).is_empty());
}

#[test]
fn path_words_drop_the_words_every_path_has() {
    let words = path_words("src/werkzeug/datastructures/cache_control.py");
    for w in ["werkzeug", "datastructures", "cache", "control"] {
        assert!(words.contains(w), "{words:?}");
    }
    assert!(!words.contains("src") && !words.contains("py"), "{words:?}");
}

#[test]
fn dunder_methods_and_one_letter_names_are_not_followed() {
    let def = |name: &str| Def {
        path: "a.py".into(),
        qualname: name.into(),
        name: name.into(),
        kind: SymbolKind::Function,
        start: 1,
        end: 2,
    };
    assert!(!followable(&def("__init__")));
    assert!(!followable(&def("T")));
    assert!(followable(&def("parse")));
}

#[test]
fn co_change_and_frequency_weigh_by_square_root() {
    let strong = FileFeatures {
        co_change: 1.0,
        ..Default::default()
    };
    let half = FileFeatures {
        co_change: 0.25,
        ..Default::default()
    };
    // sqrt: a quarter of the commits is half the evidence, not a quarter.
    assert!((half.score(&WEIGHTS) * 2.0 - strong.score(&WEIGHTS)).abs() < 1e-9);
}
