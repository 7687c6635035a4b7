//! LoRA on the real SmolLM2-135M: a tiny run lowers the training loss, the
//! adapter file round-trips to the same logits, a mismatched one is refused.

use lore_llm::Generator;
use lore_llm::lora::{Adapter, AdapterConfig, TrainOptions, Trainer, mean_loss};

const CODE: &str = "def lore_checksum(blob):\n    acc = 7\n    for byte in blob:\n        acc = (acc * 31 + byte) % 65521\n    return acc\n";

#[test]
fn a_tiny_run_lowers_the_loss_and_the_adapter_round_trips() {
    let mut g = Generator::load(&lore_test_support::smollm_gguf()).unwrap();
    let tokens = lore_llm::tokenizer::encode(g.tokenizer(), CODE).unwrap();
    let model = g.model_mut();
    let before = mean_loss(model, &tokens)
        .unwrap()
        .to_scalar::<f32>()
        .unwrap();
    let config = AdapterConfig {
        rank: 4,
        alpha: 8.0,
        targets: vec!["attn_q".into(), "attn_v".into()],
    };
    let options = TrainOptions {
        lr: 1e-2,
        ..TrainOptions::default()
    };
    let mut trainer = Trainer::new(model, config, None, &options).unwrap();
    // A fresh adapter changes nothing (B starts at zero).
    let first = trainer.step(model, &tokens).unwrap();
    assert!((first - before).abs() < 1e-4, "{first} vs {before}");
    for _ in 0..5 {
        trainer.step(model, &tokens).unwrap();
    }
    let after = mean_loss(model, &tokens)
        .unwrap()
        .to_scalar::<f32>()
        .unwrap();
    assert!(after < before - 0.1, "loss {before} → {after}");

    let adapter = trainer.adapter().unwrap();
    assert_eq!(adapter.deltas.len(), 2 * 30);
    let trained = first_logits(model, &tokens);
    let dir = std::env::temp_dir().join(format!("lore-lora-{}", std::process::id()));
    adapter.save(&dir).unwrap();
    let bytes = std::fs::metadata(dir.join("adapter.safetensors"))
        .unwrap()
        .len();
    assert!(bytes < 10 << 20, "{bytes} bytes");

    // Off: the base's logits; the loaded file on: the trained logits.
    model.clear_lora();
    let base = first_logits(model, &tokens);
    assert!(base.iter().zip(&trained).any(|(a, b)| (a - b).abs() > 1e-3));
    Adapter::load(&dir).unwrap().attach(model).unwrap();
    let loaded = first_logits(model, &tokens);
    assert_eq!(loaded, trained);

    // Exported for llama.cpp and Ollama: the names and metadata they read.
    let gguf = dir.join("adapter.gguf");
    Adapter::load(&dir)
        .unwrap()
        .export_gguf("llama", &gguf)
        .unwrap();
    let mut f = std::fs::File::open(&gguf).unwrap();
    let content = candle_core::quantized::gguf_file::Content::read(&mut f).unwrap();
    let md = |k: &str| content.metadata[k].clone();
    assert_eq!(md("general.type").to_string().unwrap(), "adapter");
    assert_eq!(md("adapter.type").to_string().unwrap(), "lora");
    assert_eq!(md("general.architecture").to_string().unwrap(), "llama");
    assert_eq!(md("adapter.lora.alpha").to_f32().unwrap(), 8.0);
    assert_eq!(content.tensor_infos.len(), 2 * 2 * 30);
    let a = &content.tensor_infos["blk.0.attn_q.weight.lora_a"];
    let b = &content.tensor_infos["blk.0.attn_q.weight.lora_b"];
    // candle's dims are GGUF's reversed: lora_a is ne [in, rank], lora_b [rank, out].
    assert_eq!(a.shape.dims(), [4, 576]);
    assert_eq!(b.shape.dims(), [576, 4]);
    let back = content
        .tensor(
            &mut f,
            "blk.0.attn_q.weight.lora_b",
            &candle_core::Device::Cpu,
        )
        .unwrap();
    let expected = &trainer.adapter().unwrap().deltas["blk.0.attn_q"].1;
    let diff: f32 = (back.dequantize(&candle_core::Device::Cpu).unwrap() - expected)
        .unwrap()
        .abs()
        .unwrap()
        .max_all()
        .unwrap()
        .to_scalar()
        .unwrap();
    assert!(diff < 1e-6, "{diff}");

    // A file that is not an adapter is named in the error.
    std::fs::write(dir.join("adapter.safetensors"), b"garbage").unwrap();
    let err = Adapter::load(&dir).unwrap_err().to_string();
    assert!(err.contains("adapter.safetensors"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// The logits of the first eight positions, flat.
fn first_logits(model: &mut lore_llm::Model, tokens: &[u32]) -> Vec<f32> {
    model
        .logits_all(&tokens[..8])
        .unwrap()
        .flatten_all()
        .unwrap()
        .to_vec1()
        .unwrap()
}
