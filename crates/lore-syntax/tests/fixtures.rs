//! Snapshot tests: each fixture's symbols, references, imports and chunks.

use std::path::Path;

use lore_core::Language;

fn check(file: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("resources/test/fixtures")
        .join(file);
    let source = std::fs::read_to_string(&path).unwrap();
    let lang = Language::from_path(&path);
    let syntax = lore_syntax::parse(&source, lang);
    insta::assert_snapshot!(file, syntax.debug_dump(lang));
}

#[test]
fn python() {
    check("sample.py");
}
#[test]
fn javascript() {
    check("sample.js");
}
#[test]
fn typescript() {
    check("sample.ts");
}
#[test]
fn tsx() {
    check("sample.tsx");
}
#[test]
fn rust() {
    check("sample.rs");
}
#[test]
fn go() {
    check("sample.go");
}
#[test]
fn java() {
    check("Sample.java");
}
#[test]
fn c() {
    check("sample.c");
}
#[test]
fn cpp() {
    check("sample.cpp");
}
#[test]
fn python_with_syntax_errors() {
    check("broken.py");
}

#[test]
fn every_query_compiles() {
    assert_eq!(lore_syntax::check_queries(), 9);
}
