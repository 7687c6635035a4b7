use super::*;

#[test]
fn fix_subjects() {
    for s in [
        "Fixed #31234 -- Crash when saving a model",
        "fix: panic on empty input",
        "Bug 1234: wrong total",
        "Revert regression in parser",
        "hotfix for the deadlock",
    ] {
        assert!(is_fix(s), "{s}");
    }
    for s in [
        "Fix typo in docs",
        "Add a feature",
        "Merge branch 'fix/x'",
        "Release 1.2 (fixes)",
        "Refs #123 -- refactor",
        "prefix handling",
        "ci: fix ci error about wasm32-wasip1 (#7085)",
        "chore: fix dead code warnings (#6423)",
        "fix(deps): update dependency yargs-parser to v22",
        "Fix dev version in 8.4.1",
        "fix flake8 finding",
    ] {
        assert!(!is_fix(s), "{s}");
    }
}

#[test]
fn auc_and_recall() {
    let labels = [true, false, true, false];
    assert_eq!(roc_auc(&[0.9, 0.1, 0.8, 0.2], &labels), Some(1.0));
    assert_eq!(roc_auc(&[0.1, 0.9, 0.2, 0.8], &labels), Some(0.0));
    assert_eq!(roc_auc(&[0.5; 4], &labels), Some(0.5));
    assert_eq!(roc_auc(&[0.5; 2], &[true, true]), None);
    // Lines 10, 100, 10, 100: 20% of 220 is 44 lines; the two small
    // positives fit when ranked first.
    let lines = [10.0, 100.0, 10.0, 100.0];
    assert_eq!(
        recall_at_lines(&[0.9, 0.1, 0.8, 0.2], &labels, &lines, 0.2),
        1.0
    );
    // A big file ranked first uses the budget up: nothing found.
    assert_eq!(
        recall_at_lines(&[0.1, 0.9, 0.2, 0.8], &labels, &lines, 0.2),
        0.0
    );
}

fn file(path: &str, commits: f64, lines: f64) -> FileFeatures {
    let mut raw = vec![0.0; FEATURES.len()];
    raw[0] = lines;
    raw[1] = commits;
    FileFeatures {
        path: path.to_owned(),
        raw,
    }
}

#[test]
fn a_fitted_model_learns_which_feature_predicts_fixes() {
    // Fixes follow commits, not size.
    let mut files = Vec::new();
    let mut labels = Vec::new();
    for i in 0..60 {
        let commits = (i % 10) as f64;
        let lines = ((i * 37) % 500 + 20) as f64;
        files.push(file(&format!("f{i}"), commits, lines));
        labels.push(commits >= 6.0);
    }
    let model = Model::fit(&files, &labels, json!({}));
    assert_eq!(model.kind, "fitted");
    let w = |name: &str| model.weights[FEATURES.iter().position(|f| *f == name).unwrap()];
    assert!(w("commits") > 1.0, "{:?}", model.weights);
    assert!(w("lines").abs() < w("commits") / 3.0, "{:?}", model.weights);
    let scores: Vec<f64> = files.iter().map(|f| model.score(&f.raw)).collect();
    assert!(roc_auc(&scores, &labels).unwrap() > 0.95);
    // Contributions add up to the linear score.
    let c = model.contributions(&files[9].raw);
    let z: f64 = c.iter().sum::<f64>() + model.bias;
    assert!((sigmoid(z) - model.score(&files[9].raw)).abs() < 1e-12);
}

#[test]
fn ranks_are_riskiest_first_and_dense() {
    let files = vec![
        file("a", 0.0, 10.0),
        file("b", 9.0, 300.0),
        file("c", 3.0, 50.0),
    ];
    let model = Model::prior(&files);
    let ranked = rank_files(&model, &files, true);
    let order: Vec<(&str, usize)> = ranked.iter().map(|r| (r.path.as_str(), r.rank)).collect();
    assert_eq!(order, [("b", 1), ("c", 2), ("a", 3)]);
    assert!(ranked[0].contributions.as_ref().unwrap()["commits"] > 0.0);
    assert_eq!(ranked[0].features["lines"], 300.0);
}

#[test]
fn coverage_gap_within_a_function() {
    // Lines 2-4 and 9 ran, 5-6 did not.
    let gap = Gap {
        ratio: 2.0 / 6.0,
        missing: vec![5, 6],
        ran: vec![[2, 4], [9, 9]],
    };
    assert_eq!(gap.within(1, 4), Some(0.0));
    assert_eq!(gap.within(4, 6), Some(2.0 / 3.0));
    assert_eq!(gap.within(5, 6), Some(1.0));
    assert_eq!(gap.within(10, 20), None);
    assert_eq!(gap.within(1, 100), Some(2.0 / 6.0));
}
