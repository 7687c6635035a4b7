use super::*;

fn finding(rule: &str, path: &str, line: u32) -> Finding {
    Finding {
        rule: rule.to_owned(),
        severity: Severity::Medium,
        message: format!("{rule} here"),
        hint: hint(rule),
        path: path.to_owned(),
        start_line: line,
        end_line: line + 2,
        symbol: Some("Parser.parse".to_owned()),
        tool: "lore".to_owned(),
        fingerprint: fingerprint_of(&format!("{rule}{path}{line}")),
    }
}

#[test]
fn sarif_round_trip_keeps_rules_locations_and_fingerprints() {
    let findings = vec![
        finding(rules::SQL_FORMAT, "src/db/query.py", 12),
        finding(rules::TODO, "src/a b/ü.rs", 3),
        Finding {
            tool: "ruff".to_owned(),
            rule: "E501".to_owned(),
            severity: Severity::Low,
            ..finding("E501", "src/x.py", 7)
        },
    ];
    let log = to_sarif(&findings, "0.5.0");
    assert_eq!(log["version"], "2.1.0");
    assert_eq!(log["runs"].as_array().unwrap().len(), 2);
    let lore_run = &log["runs"][0];
    assert_eq!(lore_run["tool"]["driver"]["name"], "lore");
    let result = &lore_run["results"][0];
    // GitHub code scanning: a stable ruleId with its rule, a relative URI,
    // partial fingerprints.
    assert_eq!(result["ruleId"], rules::SQL_FORMAT);
    let index = result["ruleIndex"].as_u64().unwrap() as usize;
    assert_eq!(
        lore_run["tool"]["driver"]["rules"][index]["id"],
        rules::SQL_FORMAT
    );
    let location = &result["locations"][0]["physicalLocation"];
    assert_eq!(location["artifactLocation"]["uri"], "src/db/query.py");
    assert_eq!(location["artifactLocation"]["uriBaseId"], "%SRCROOT%");
    assert_eq!(location["region"]["startLine"], 12);
    assert!(result["partialFingerprints"][FINGERPRINT_KEY].is_string());
    assert_eq!(result["level"], "warning");
    let sql_rule = &lore_run["tool"]["driver"]["rules"][index];
    assert_eq!(sql_rule["properties"]["security-severity"], "8.0");
    // Non-ASCII and spaces are percent-encoded.
    assert_eq!(
        lore_run["results"][1]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "src/a%20b/%C3%BC.rs"
    );

    let text = serde_json::to_string_pretty(&log).unwrap();
    let back = from_sarif(&text, Path::new("in.sarif"), Path::new("/repo")).unwrap();
    let mut expected = findings.clone();
    expected.sort_by(|a, b| (&a.tool, &a.path).cmp(&(&b.tool, &b.path)));
    let mut back_sorted = back.clone();
    back_sorted.sort_by(|a, b| (&a.tool, &a.path).cmp(&(&b.tool, &b.path)));
    assert_eq!(back_sorted, expected);
}

#[test]
fn sarif_of_other_tools_is_read_with_their_levels_and_paths() {
    let log = json!({
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "eslint", "rules": [
                {"id": "no-eval", "defaultConfiguration": {"level": "error"},
                 "shortDescription": {"text": "Disallow eval"}}
            ]}},
            "results": [
                {"ruleIndex": 0, "message": {"text": "eval can be harmful."},
                 "locations": [{"physicalLocation": {
                    "artifactLocation": {"uri": "file:///repo/lib/run.js"},
                    "region": {"startLine": 4, "startColumn": 3}}}],
                 "partialFingerprints": {"primaryLocationLineHash": "abc:1"}},
                {"ruleId": "no-unused-vars", "level": "note",
                 "message": {"text": "x is unused"},
                 "locations": [{"physicalLocation": {
                    "artifactLocation": {"uri": "./lib/a.js"}}}]},
                {"ruleId": "project-level", "message": {"text": "no file"}}
            ]
        }]
    });
    let found = from_sarif(
        &log.to_string(),
        Path::new("eslint.sarif"),
        Path::new("/repo"),
    )
    .unwrap();
    assert_eq!(found.len(), 2);
    assert_eq!(
        (
            found[0].rule.as_str(),
            found[0].severity,
            found[0].path.as_str(),
            found[0].start_line
        ),
        ("no-eval", Severity::High, "lib/run.js", 4)
    );
    assert_eq!(found[0].fingerprint, "abc:1");
    assert_eq!(found[0].tool, "eslint");
    assert_eq!(
        (
            found[1].severity,
            found[1].path.as_str(),
            found[1].start_line
        ),
        (Severity::Low, "lib/a.js", 1)
    );
    // Computed fingerprints are stable.
    let again = from_sarif(
        &log.to_string(),
        Path::new("eslint.sarif"),
        Path::new("/repo"),
    )
    .unwrap();
    assert_eq!(found[1].fingerprint, again[1].fingerprint);

    let err = from_sarif("{\"runs\": 3}", Path::new("bad.sarif"), Path::new("/repo")).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("bad.sarif: not a SARIF 2.1.0 log"),
        "{err}"
    );
    let old = json!({"version": "2.0.0", "runs": []}).to_string();
    let err = from_sarif(&old, Path::new("old.sarif"), Path::new("/repo")).unwrap_err();
    assert!(err.to_string().contains("only 2.1.0"), "{err}");
}

#[test]
fn fingerprints_survive_lines_moving_but_not_edits() {
    let text = "a\nSELECT\nb\nSELECT\n";
    let mut two = vec![
        finding(rules::TODO, "f.py", 2),
        finding(rules::TODO, "f.py", 4),
    ];
    fingerprint_all(&mut two, text);
    // Same line text twice: the ordinal tells them apart.
    assert_ne!(two[0].fingerprint, two[1].fingerprint);
    let moved = "new\nlines\na\nSELECT\nb\nSELECT\n";
    let mut shifted = vec![
        finding(rules::TODO, "f.py", 4),
        finding(rules::TODO, "f.py", 6),
    ];
    fingerprint_all(&mut shifted, moved);
    assert_eq!(shifted[0].fingerprint, two[0].fingerprint);
    assert_eq!(shifted[1].fingerprint, two[1].fingerprint);
    let edited = "a\nSELECT *\nb\nSELECT\n";
    let mut changed = vec![finding(rules::TODO, "f.py", 2)];
    fingerprint_all(&mut changed, edited);
    assert_ne!(changed[0].fingerprint, two[0].fingerprint);
}

#[test]
fn findings_as_insights_read_back() {
    let f = finding(rules::EVAL, "app/run.py", 9);
    let new = to_insight(&f, "abc123");
    assert_eq!(
        (new.kind.as_str(), new.severity.as_str()),
        ("finding", "medium")
    );
    let evidence: Value = serde_json::from_str(&new.evidence).unwrap();
    assert_eq!(evidence[0]["path"], "app/run.py");
    let insight = Insight {
        id: 1,
        repo: "r".into(),
        found: new,
        status: "new".into(),
        run: 1,
        created_at: 0,
        updated_at: 0,
    };
    assert_eq!(from_insight(&insight), Some(f));
}

#[test]
fn duplicated_blocks_across_files() {
    let block: String = (0..10)
        .map(|i| format!("    total_{i} = compute_value(item_{i}, weight={i}) + offset\n"))
        .collect();
    let a = format!("def f():\n{block}    return 1\n");
    let b = format!("import os\n\n\ndef g():\n    x = 1\n{block}");
    let c = "def h():\n    return 2\n".to_owned();
    let files = [
        ("a.py", Language::Python, a.as_str()),
        ("b.py", Language::Python, b.as_str()),
        ("c.py", Language::Python, c.as_str()),
    ];
    let found = duplicate_blocks(&files, 8);
    assert_eq!(
        found,
        [
            DuplicateBlock {
                path: "a.py".into(),
                start_line: 2,
                end_line: 11,
                other_path: "b.py".into(),
                other_line: 6,
            },
            DuplicateBlock {
                path: "b.py".into(),
                start_line: 6,
                end_line: 15,
                other_path: "a.py".into(),
                other_line: 2,
            },
        ]
    );
    // Shorter than the threshold: nothing.
    assert!(duplicate_blocks(&files, 12).is_empty());
}

#[test]
fn configuration_from_home_then_repository() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("config.toml");
    std::fs::write(
        &home,
        "[provider]\nkind = \"none\"\n[smells]\ndisable = [\"notes/todo\"]\n[smells.thresholds]\ncyclomatic = 30\nnesting = 6\n",
    )
    .unwrap();
    let root = dir.path().join("repo");
    std::fs::create_dir(&root).unwrap();
    std::fs::write(
        root.join(REPO_CONFIG),
        "[smells.thresholds]\ncyclomatic = 20\n[smells.severity]\n\"size/long-function\" = \"high\"\n",
    )
    .unwrap();
    let config = SmellConfig::load(&home, &root).unwrap();
    assert_eq!(config.thresholds.cyclomatic, 20);
    assert_eq!(config.thresholds.nesting, 6);
    assert!(!config.enabled(rules::TODO));
    assert_eq!(config.severity_of(rules::LONG_FUNCTION), Severity::High);
    assert_eq!(config.severity_of(rules::EVAL), Severity::High);
    assert_eq!(config.severity_of(rules::PARAMETERS), Severity::Low);

    std::fs::write(
        root.join(REPO_CONFIG),
        "[smells]\ndisable = [\"nope/rule\"]\n",
    )
    .unwrap();
    let err = SmellConfig::load(&home, &root).unwrap_err().to_string();
    assert!(
        err.contains(".lore.toml") && err.contains("no rule `nope/rule`"),
        "{err}"
    );
    std::fs::write(
        root.join(REPO_CONFIG),
        "[smells.severity]\n\"notes/todo\" = \"urgent\"\n",
    )
    .unwrap();
    let err = SmellConfig::load(&home, &root).unwrap_err().to_string();
    assert!(err.contains("expected low, medium or high"), "{err}");
    std::fs::write(root.join(REPO_CONFIG), "[smells]\nthreshold = 3\n").unwrap();
    let err = SmellConfig::load(&home, &root).unwrap_err().to_string();
    assert!(
        err.contains(".lore.toml") && err.contains("threshold"),
        "{err}"
    );
}
