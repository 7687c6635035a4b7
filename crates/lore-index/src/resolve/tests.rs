use super::*;

fn row(path: &str, module: &str, name: Option<&str>) -> ImportRow {
    ImportRow {
        path: path.to_owned(),
        lang: Language::from_path(std::path::Path::new(path)),
        module: module.to_owned(),
        name: name.map(str::to_owned),
        line: 1,
    }
}

fn resolve(paths: &[&str], go: &[(&str, &str)], import: ImportRow) -> Vec<String> {
    let paths: Vec<String> = paths.iter().map(|p| p.to_string()).collect();
    let go: Vec<(String, String)> = go
        .iter()
        .map(|(d, m)| (d.to_string(), m.to_string()))
        .collect();
    let graph = ImportGraph::build(&paths, &[import], &go);
    graph.edges().iter().map(|e| e.dst.clone()).collect()
}

#[test]
fn python_absolute_relative_and_submodule_imports() {
    let paths = [
        "src/pkg/__init__.py",
        "src/pkg/core.py",
        "src/pkg/util/__init__.py",
        "src/pkg/util/text.py",
        "tests/test_core.py",
        "tests/json.py",
    ];
    assert_eq!(
        resolve(
            &paths,
            &[],
            row("tests/test_core.py", "pkg.core", Some("Thing"))
        ),
        ["src/pkg/core.py"]
    );
    assert_eq!(
        resolve(&paths, &[], row("src/pkg/core.py", ".util", Some("text"))),
        ["src/pkg/util/text.py"],
        "from .util import text names the submodule"
    );
    assert_eq!(
        resolve(
            &paths,
            &[],
            row("src/pkg/util/text.py", "..core", Some("Thing"))
        ),
        ["src/pkg/core.py"]
    );
    assert_eq!(
        resolve(
            &paths,
            &[],
            row("src/pkg/core.py", "pkg.util", Some("helper"))
        ),
        ["src/pkg/util/__init__.py"]
    );
    // `json` is the standard library here: `tests/json.py` is not a
    // top-level package seen from the package... but `tests` has no
    // __init__.py, so a script beside it would import it; the package's
    // own `import json` must not resolve inside the package.
    assert!(resolve(&paths, &[], row("src/pkg/core.py", "os", None)).is_empty());
    // Not a top-level match: `util.text` is only reachable as `pkg.util.text`.
    assert!(resolve(&paths, &[], row("tests/test_core.py", "util.text", None)).is_empty());
}

#[test]
fn script_relative_specifiers_with_extensions_and_index_files() {
    let paths = ["lib/a.js", "lib/b/index.ts", "lib/c.ts", "test/a.test.js"];
    assert_eq!(
        resolve(&paths, &[], row("test/a.test.js", "../lib/a", None)),
        ["lib/a.js"]
    );
    assert_eq!(
        resolve(&paths, &[], row("lib/a.js", "./b", None)),
        ["lib/b/index.ts"]
    );
    assert_eq!(
        resolve(&paths, &[], row("lib/a.js", "./c.js", None)),
        ["lib/c.ts"]
    );
    assert!(resolve(&paths, &[], row("lib/a.js", "express", None)).is_empty());
    assert!(resolve(&paths, &[], row("lib/a.js", "../../x", None)).is_empty());
}

#[test]
fn rust_crate_self_super_and_workspace_crates() {
    let paths = [
        "app/src/lib.rs",
        "app/src/routing/mod.rs",
        "app/src/routing/route.rs",
        "app/src/body.rs",
        "app-core/src/lib.rs",
        "app-core/src/extract.rs",
    ];
    assert_eq!(
        resolve(
            &paths,
            &[],
            row("app/src/body.rs", "crate::routing::route", Some("Route"))
        ),
        ["app/src/routing/route.rs"]
    );
    assert_eq!(
        resolve(
            &paths,
            &[],
            row("app/src/routing/route.rs", "super", Some("Router"))
        ),
        ["app/src/routing/mod.rs"]
    );
    assert_eq!(
        resolve(
            &paths,
            &[],
            row("app/src/routing/mod.rs", "self::route", Some("Route"))
        ),
        ["app/src/routing/route.rs"]
    );
    assert_eq!(
        resolve(
            &paths,
            &[],
            row("app/src/body.rs", "app_core::extract", Some("FromRequest"))
        ),
        ["app-core/src/extract.rs"]
    );
    assert_eq!(
        resolve(
            &paths,
            &[],
            row("app/src/body.rs", "app_core", Some("Error"))
        ),
        ["app-core/src/lib.rs"]
    );
    assert!(resolve(&paths, &[], row("app/src/body.rs", "std::io", Some("Read"))).is_empty());
    assert!(
        resolve(
            &paths,
            &[],
            row("app/src/body.rs", "serde", Some("Serialize"))
        )
        .is_empty()
    );
}

#[test]
fn go_import_paths_under_the_module_name_a_package_directory() {
    let paths = ["cmd.go", "doc/man.go", "doc/md.go", "doc/man_test.go"];
    let go = [("", "github.com/x/cli")];
    assert_eq!(
        resolve(&paths, &go, row("cmd.go", "github.com/x/cli/doc", None)),
        ["doc/man.go", "doc/md.go"]
    );
    assert!(resolve(&paths, &go, row("cmd.go", "fmt", None)).is_empty());
    assert!(resolve(&paths, &go, row("cmd.go", "github.com/x/other/doc", None)).is_empty());
}

#[test]
fn java_classes_packages_and_static_members() {
    let paths = [
        "src/main/java/com/acme/Foo.java",
        "src/main/java/com/acme/Bar.java",
        "src/test/java/com/acme/FooTest.java",
    ];
    let from = "src/test/java/com/acme/FooTest.java";
    assert_eq!(
        resolve(&paths, &[], row(from, "com.acme.Foo", None)),
        ["src/main/java/com/acme/Foo.java"]
    );
    assert_eq!(
        resolve(&paths, &[], row(from, "com.acme.Bar.make", None)),
        ["src/main/java/com/acme/Bar.java"]
    );
    assert_eq!(resolve(&paths, &[], row(from, "com.acme.*", None)).len(), 2);
    assert!(resolve(&paths, &[], row(from, "java.util.List", None)).is_empty());
}

#[test]
fn c_includes_beside_the_includer_then_by_suffix() {
    let paths = ["src/a.c", "src/a.h", "include/lib/b.h"];
    assert_eq!(
        resolve(&paths, &[], row("src/a.c", "\"a.h\"", None)),
        ["src/a.h"]
    );
    assert_eq!(
        resolve(&paths, &[], row("src/a.c", "lib/b.h", None)),
        ["include/lib/b.h"]
    );
    assert!(resolve(&paths, &[], row("src/a.c", "<stdio.h>", None)).is_empty());
}

#[test]
fn unresolved_imports_are_counted() {
    let paths: Vec<String> = vec!["a.py".into()];
    let graph = ImportGraph::build(
        &paths,
        &[row("a.py", "os", None), row("a.py", "sys", None)],
        &[],
    );
    assert_eq!(graph.unresolved, 2);
    assert!(graph.edges().is_empty());
}
