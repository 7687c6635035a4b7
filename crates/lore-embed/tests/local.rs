//! The local transformer embedder on the real all-MiniLM-L6-v2 files.

use lore_core::embed::{Embedder, dot};
use lore_embed::{LocalConfig, LocalModel};
use lore_test_support::minilm_dir;

fn model() -> LocalModel {
    LocalModel::load(&minilm_dir(), &LocalConfig::default()).expect("model loads")
}

#[test]
fn matches_sentence_transformers() {
    let model = model();
    assert_eq!(model.dims(), 384);
    assert!(
        model.model_id().starts_with("local:"),
        "{}",
        model.model_id()
    );
    // The first components of the vector sentence-transformers 6.2 computes
    // for this text (max_seq_length 128, normalised).
    let expected = [
        -0.05225, -0.05082, 0.03972, 0.00267, -0.02356, -0.05629, -0.0369, -0.08301,
    ];
    let v = &model
        .embed(&["where do we give up retrying a request?"])
        .unwrap()[0];
    for (got, want) in v.iter().zip(expected) {
        assert!((got - want).abs() < 1e-4, "{:?} vs {expected:?}", &v[..8]);
    }
    assert!((dot(v, v) - 1.0).abs() < 1e-5);
}

#[test]
fn batching_and_padding_do_not_change_vectors() {
    let model = model();
    let short = "parse the configuration file";
    let long = "fn retry_with_backoff(request: Request, attempts: u32) -> Result<Response> { \
                for attempt in 0..attempts { match send(&request) { Ok(r) => return Ok(r), \
                Err(e) if e.is_transient() => sleep(backoff(attempt)), Err(e) => return Err(e) } } }";
    let alone = model.embed(&[short]).unwrap().remove(0);
    let batched = model.embed(&[long, short, "", long]).unwrap();
    assert_eq!(batched.len(), 4);
    assert!(
        dot(&alone, &batched[1]) > 0.9999,
        "padding leaked into the pooled vector"
    );
    assert!(dot(&batched[0], &batched[3]) > 0.9999);
    // An empty text still gets a unit vector (of its special tokens).
    assert!((dot(&batched[2], &batched[2]) - 1.0).abs() < 1e-5);
}

#[test]
fn similar_meanings_are_close() {
    let model = model();
    let v = model
        .embed(&[
            "how do I reverse a list",
            "reverse the order of the items in an array",
            "open a TCP connection to the database server",
        ])
        .unwrap();
    assert!(dot(&v[0], &v[1]) > dot(&v[0], &v[2]) + 0.2);
}

#[test]
fn bad_directories_name_the_file_at_fault() {
    let dir = tempfile::tempdir().unwrap();
    let err = LocalModel::load(&dir.path().join("nope"), &LocalConfig::default()).unwrap_err();
    assert!(err.to_string().contains("nope"), "{err}");
    std::fs::write(dir.path().join("config.json"), "{\"hidden_size\": 3}").unwrap();
    let err = LocalModel::load(dir.path(), &LocalConfig::default()).unwrap_err();
    assert!(err.to_string().contains("config.json"), "{err}");
}
