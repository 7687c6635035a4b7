use super::*;

#[test]
fn eslint_json_becomes_findings() {
    let text = r#"[{"filePath":"/w/tree/src/a.js","messages":[
        {"ruleId":"no-eval","severity":2,"message":"eval can be harmful.","line":3,"endLine":3},
        {"ruleId":"no-unused-vars","severity":1,"message":"'x' is defined but never used.","line":1},
        {"ruleId":null,"severity":2,"message":"Parsing error: Unexpected token","line":9}]},
        {"filePath":"/w/tree/b.js","messages":[]}]"#;
    let found = parse_eslint(text, Path::new("/w/tree")).unwrap();
    assert_eq!(found.len(), 3);
    assert_eq!(
        (
            found[0].rule.as_str(),
            found[0].path.as_str(),
            found[0].start_line
        ),
        ("no-eval", "src/a.js", 3)
    );
    assert_eq!(found[0].severity, Severity::Medium);
    assert_eq!(found[1].severity, Severity::Low);
    assert_eq!(found[2].rule, "parse-error");
    let err = parse_eslint("Oops: no config", Path::new("/w")).unwrap_err();
    assert!(err.to_string().contains("eslint report"), "{err}");
}

#[test]
fn cargo_diagnostics_become_findings() {
    let text = [
        r#"{"reason":"compiler-artifact","target":{}}"#,
        r#"{"reason":"compiler-message","message":{"level":"warning","message":"unneeded `return` statement","code":{"code":"clippy::needless_return"},"spans":[{"file_name":"src/lib.rs","line_start":4,"line_end":4,"is_primary":true}]}}"#,
        r#"{"reason":"compiler-message","message":{"level":"warning","message":"unused variable: `x`","code":{"code":"unused_variables"},"spans":[{"file_name":"src/main.rs","line_start":2,"line_end":3,"is_primary":false},{"file_name":"src/main.rs","line_start":7,"line_end":7,"is_primary":true}]}}"#,
        r#"{"reason":"compiler-message","message":{"level":"warning","message":"2 warnings emitted","code":null,"spans":[]}}"#,
        "not json",
    ]
    .join("\n");
    let found = parse_cargo(&text, Path::new("/w/tree"));
    assert_eq!(found.len(), 2);
    assert_eq!(
        (
            found[0].tool.as_str(),
            found[0].rule.as_str(),
            found[0].start_line
        ),
        ("clippy", "needless_return", 4)
    );
    assert_eq!(
        (
            found[1].tool.as_str(),
            found[1].rule.as_str(),
            found[1].path.as_str(),
            found[1].start_line
        ),
        ("rustc", "unused_variables", "src/main.rs", 7)
    );
}

#[test]
fn settled_findings_carry_the_tool_and_the_repository_settings() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("a.py"),
        "import os\nimport sys\n\n\nx = eval('1')\n",
    )
    .unwrap();
    let raw = |rule: &str, line: u32, severity: Severity| {
        finding("ruff", rule, severity, "m", "a.py".to_owned(), line, line)
    };
    let mut config = SmellConfig::default();
    config
        .apply(
            &toml::from_str("disable = [\"ruff/F401\"]\n[severity]\n\"ruff/S307\" = \"high\"\n")
                .unwrap(),
            Path::new(".lore.toml"),
        )
        .unwrap();
    let found = settle(
        vec![
            raw("F401", 1, Severity::High),
            raw("S307", 5, Severity::High),
            raw("E501", 2, Severity::High),
        ],
        "ruff",
        dir.path(),
        &config,
    );
    let rules: Vec<(&str, Severity)> = found
        .iter()
        .map(|f| (f.rule.as_str(), f.severity))
        .collect();
    // F401 disabled; S307 re-graded high; E501's `error` capped at medium.
    assert_eq!(
        rules,
        vec![
            ("ruff/E501", Severity::Medium),
            ("ruff/S307", Severity::High)
        ]
    );
    // Fingerprints follow the line's text, not its number.
    std::fs::write(
        dir.path().join("a.py"),
        "\n\nimport os\nimport sys\n\n\nx = eval('1')\n",
    )
    .unwrap();
    let moved = settle(
        vec![raw("S307", 7, Severity::High)],
        "ruff",
        dir.path(),
        &config,
    );
    assert_eq!(moved[0].fingerprint, found[1].fingerprint);
    // An unknown tool's rule is refused by the settings.
    let err = SmellConfig::default()
        .apply(
            &toml::from_str("disable = [\"pylint/C0301\"]").unwrap(),
            Path::new(".lore.toml"),
        )
        .unwrap_err();
    assert!(err.to_string().contains("ruff/F401"), "{err}");
}

#[test]
fn linters_are_found_by_language_and_installation() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::write(root.join("package.json"), "{}").unwrap();
    std::fs::create_dir_all(root.join("node_modules/.bin")).unwrap();
    std::fs::write(root.join("node_modules/.bin/eslint"), "#!/bin/sh\n").unwrap();
    std::fs::write(root.join(".semgrep.yml"), "rules: []\n").unwrap();
    let (found, _) = detect(root, &["src/a.js".to_owned()]);
    let eslint = found
        .iter()
        .find(|l| l.tool == "eslint")
        .expect("eslint in the tree");
    assert!(
        eslint.script.contains("node_modules/.bin/eslint -f json"),
        "{}",
        eslint.script
    );
    assert!(!found.iter().any(|l| l.tool == "ruff"), "no Python files");
    // No JavaScript: eslint does not apply even when installed.
    let (found, _) = detect(root, &["main.go".to_owned()]);
    assert!(!found.iter().any(|l| l.tool == "eslint"));
    // semgrep runs only with the repository's own rules.
    if let Some(semgrep) = detect(root, &[]).0.iter().find(|l| l.tool == "semgrep") {
        assert!(
            semgrep.script.contains("--config .semgrep.yml"),
            "{}",
            semgrep.script
        );
    } else {
        assert!(detect(root, &[]).1.iter().any(|m| m.starts_with("semgrep")));
    }
}

/// The lint thought on `root` whose one indexed file is `path`.
fn lint_in_sandbox(root: &Path, path: &str) -> Produced {
    let home = tempfile::tempdir().unwrap();
    lint(
        root,
        &[path.to_owned()],
        "abc",
        &SmellConfig::default(),
        home.path(),
        &Limits::default(),
    )
    .unwrap()
}

/// ruff (installed by `.ci/run`) in the sandbox: its SARIF read back as
/// findings on indexed files, with the tool in the rule id.
#[test]
fn ruff_runs_in_the_sandbox() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::write(
        root.join("app.py"),
        "import os\n\n\ndef f(x):\n    try:\n        return x\n    except:\n        pass\n",
    )
    .unwrap();
    std::fs::write(root.join("ignored.py"), "import sys\n").unwrap();
    let produced = lint_in_sandbox(root, "app.py");
    let out = &produced.output;
    assert_eq!(out["status"], "ok", "{out} {:?}", produced.log);
    let ruff = out["linters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["tool"] == "ruff")
        .expect("ruff ran");
    assert!(ruff["findings"].as_u64().unwrap() >= 2, "{out}");
    assert!(out["by_rule"]["ruff/F401"].is_number(), "{out}");
    assert!(out["by_rule"]["ruff/E722"].is_number(), "{out}");
    // Only indexed files' findings become insights.
    assert!(
        produced
            .insights
            .iter()
            .all(|i| i.evidence.to_string().contains("app.py"))
    );
    assert!(
        !produced
            .insights
            .iter()
            .any(|i| i.evidence.to_string().contains("ignored.py"))
    );
    let names: Vec<&str> = produced.files.iter().map(|(n, _)| n.as_str()).collect();
    assert!(
        names.contains(&"ruff.sarif") && names.contains(&"ruff.log"),
        "{names:?}"
    );
}

/// clippy in the sandbox, through the rustup proxy with the sandbox's
/// HOME: its diagnostics read back with the tool in the rule id.
#[test]
fn clippy_runs_in_the_sandbox() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::write(
        root.join("Cargo.toml"),
        "[package]\nname = \"fixture\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[workspace]\n",
    )
    .unwrap();
    std::fs::create_dir_all(root.join("src")).unwrap();
    std::fs::write(
        root.join("src/lib.rs"),
        "pub fn f(x: i32) -> i32 {\n    return x;\n}\n",
    )
    .unwrap();
    let produced = lint_in_sandbox(root, "src/lib.rs");
    let out = &produced.output;
    assert_eq!(
        out["by_rule"]["clippy/needless_return"], 1,
        "{out} {:?}",
        produced.log
    );
    assert!(produced.insights[0].evidence.contains("src/lib.rs"));
}
