//! The local model on the real SmolLM2-135M-Instruct GGUF: metadata,
//! tokenizer against llama.cpp's ids, the chat template, generation.

use lore_llm::{Arch, Generator, Gguf, Sampling, tokenizer};

/// Ids llama.cpp (llama-cpp-python 0.3.16, `tokenize(text, add_bos=False,
/// special=True)`) gives for these texts with this GGUF.
const REFERENCE: [(&str, &[u32]); 5] = [
    ("Hello, world!", &[19556, 28, 905, 17]),
    (
        "def add(a, b):\n    return a + b\n",
        &[
            1604, 803, 24, 81, 28, 278, 727, 472, 1003, 253, 1232, 278, 198,
        ],
    ),
    (
        "Version 2024.12 costs $3,999 — naïve café 日本語 🙂",
        &[
            22348, 216, 34, 32, 34, 36, 30, 33, 34, 3499, 1885, 35, 28, 41, 41, 41, 1841, 15486,
            46494, 37366, 17097, 241, 115, 40993, 179, 120, 248, 47526,
        ],
    ),
    (
        "  leading spaces\tand\ttabs\n\n\nnewlines",
        &[
            216, 2899, 5600, 197, 397, 197, 100, 7366, 1116, 198, 2241, 5110,
        ],
    ),
    (
        "<|im_start|>user\nWhere is tax added?<|im_end|>\n",
        &[1, 4093, 198, 9576, 314, 3024, 3235, 47, 2, 198],
    ),
];

#[test]
fn metadata_tokenizer_and_template_come_from_the_file() {
    let path = lore_test_support::smollm_gguf();
    let gguf = Gguf::open(&path).unwrap();
    let h = &gguf.hyper;
    assert_eq!(h.arch, Arch::Llama);
    assert_eq!((h.layers, h.dim, h.heads, h.kv_heads), (30, 576, 9, 3));
    assert_eq!((h.context, h.vocab), (8192, 49152));
    let tok = tokenizer::from_gguf(&gguf).unwrap();
    for (text, ids) in REFERENCE {
        assert_eq!(tokenizer::encode(&tok, text).unwrap(), ids, "{text:?}");
        // Round trip: the ids decode to the text (special tokens kept).
        let back = tok.decode(ids, false).unwrap();
        assert_eq!(back, text);
    }
    let template = lore_llm::ChatTemplate::from_gguf(&gguf);
    let prompt = template
        .render(&[lore_llm::template::Turn {
            role: "user",
            content: "Hi",
        }])
        .unwrap();
    assert_eq!(
        prompt,
        "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"
    );
}

#[test]
fn not_a_model_is_named_in_the_error() {
    let dir = tempfile_dir();
    let bad = dir.join("notes.gguf");
    std::fs::write(&bad, b"plain text, not a model").unwrap();
    let err = Gguf::open(&bad).unwrap_err().to_string();
    assert!(
        err.contains("notes.gguf") && err.contains("not a GGUF"),
        "{err}"
    );
    let err = Gguf::open(&dir.join("missing.gguf"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("missing.gguf"), "{err}");
}

#[test]
fn greedy_generation_is_deterministic_and_streams_what_it_returns() {
    let mut g = Generator::load(&lore_test_support::smollm_gguf()).unwrap();
    let turns = [("user", "What is the capital of France?")];
    let mut streamed = String::new();
    let a = g
        .chat(&turns, 24, Sampling::default(), &mut |t| {
            streamed.push_str(t)
        })
        .unwrap();
    let b = g
        .chat(&turns, 24, Sampling::default(), &mut |_| {})
        .unwrap();
    assert_eq!(a.tokens, b.tokens);
    assert_eq!(a.text, streamed);
    assert!(!a.text.trim().is_empty());
    assert_eq!(a.prompt_tokens, 37);
    // A working forward pass answers this; a broken one babbles.
    assert!(a.text.contains("Paris"), "{:?}", a.text);
    assert!(a.stopped, "it ends its turn: {:?}", a.text);
}

fn tempfile_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("lore-llm-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A model whose dense budget keeps no dense copies multiplies its
/// prompts quantized (the same answer, memory bounded) and trains through
/// weights dequantized for the pass (the same loss).
#[test]
fn without_dense_copies_prompts_run_quantized_and_training_is_unchanged() {
    use lore_llm::Model;
    let gguf = Gguf::open(&lore_test_support::smollm_gguf()).unwrap();
    let mut full = Model::load_with(&gguf, usize::MAX).unwrap();
    let mut lean = Model::load_with(&gguf, 0).unwrap();
    assert!(full.dense_bytes() > 400 << 20, "{}", full.dense_bytes());
    assert_eq!(lean.dense_bytes(), 0);
    let tok = tokenizer::from_gguf(&gguf).unwrap();
    let ids = tokenizer::encode(
        &tok,
        "def add(a, b):\n    return a + b\n\n\ndef sub(a, b):\n    return",
    )
    .unwrap();
    assert!(ids.len() >= 8, "a prompt long enough for the dense path");
    let a: Vec<f32> = full.forward(&ids).unwrap().to_vec1().unwrap();
    let b: Vec<f32> = lean.forward(&ids).unwrap().to_vec1().unwrap();
    let argmax = |v: &[f32]| {
        v.iter()
            .enumerate()
            .max_by(|x, y| x.1.total_cmp(y.1))
            .unwrap()
            .0
    };
    assert_eq!(argmax(&a), argmax(&b));
    let dot: f64 = a
        .iter()
        .zip(&b)
        .map(|(x, y)| f64::from(*x) * f64::from(*y))
        .sum();
    let norm = |v: &[f32]| v.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>().sqrt();
    let cosine = dot / (norm(&a) * norm(&b));
    assert!(cosine > 0.99, "cosine {cosine}");
    let loss = |m: &mut Model| {
        lore_llm::lora::mean_loss(m, &ids)
            .unwrap()
            .to_scalar::<f32>()
            .unwrap()
    };
    let (la, lb) = (loss(&mut full), loss(&mut lean));
    assert!((la - lb).abs() / la < 1e-3, "{la} vs {lb}");
}

/// A prompt longer than one prefill chunk gives the logits it gives fed
/// whole.
#[test]
fn a_long_prompt_fed_in_chunks_gives_the_logits_of_one_pass() {
    use lore_llm::Model;
    let gguf = Gguf::open(&lore_test_support::smollm_gguf()).unwrap();
    let mut model = Model::load(&gguf).unwrap();
    let tok = tokenizer::from_gguf(&gguf).unwrap();
    let text: String = (0..30)
        .map(|i| format!("def f{i}(x):\n    return x * {i} + {}\n", i % 7))
        .collect();
    let ids = tokenizer::encode(&tok, &text).unwrap();
    assert!(ids.len() > 300, "{} tokens", ids.len());
    let mut logits = |chunk: usize| -> Vec<f32> {
        model.reset();
        model.set_prefill_chunk(chunk);
        model.forward(&ids).unwrap().to_vec1().unwrap()
    };
    let whole = logits(usize::MAX);
    let chunked = logits(128);
    let max = whole.iter().fold(0f32, |m, x| m.max(x.abs()));
    let diff = chunked
        .iter()
        .zip(&whole)
        .fold(0f32, |m, (a, b)| m.max((a - b).abs()));
    assert!(diff / max < 1e-4, "max difference {diff} of {max}");
}
