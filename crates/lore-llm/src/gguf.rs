//! A GGUF file: its metadata, the hyper-parameters of the transformer it
//! holds and the hash that names it.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use candle_core::quantized::gguf_file::{Content, Value};

use crate::{Error, Result};

/// The architectures Lore runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arch {
    /// Llama and its kind (SmolLM, TinyLlama, Llama 2/3, Mistral):
    /// interleaved rotary embedding, no attention biases.
    Llama,
    /// Qwen2 (and Qwen2.5): rotary embedding on halves, q/k/v biases.
    Qwen2,
}

impl Arch {
    /// The name GGUF uses (`general.architecture`, the metadata prefix).
    pub fn name(self) -> &'static str {
        match self {
            Arch::Llama => "llama",
            Arch::Qwen2 => "qwen2",
        }
    }
}

/// The transformer's shape, from the metadata.
#[derive(Clone, Debug, PartialEq)]
pub struct Hyper {
    /// Architecture.
    pub arch: Arch,
    /// Transformer blocks.
    pub layers: usize,
    /// Hidden size.
    pub dim: usize,
    /// Feed-forward size.
    pub ffn: usize,
    /// Attention heads.
    pub heads: usize,
    /// Key/value heads (grouped-query attention).
    pub kv_heads: usize,
    /// RMS norm epsilon.
    pub eps: f64,
    /// Rotary base frequency.
    pub rope_base: f32,
    /// Tokens of context the model was trained for.
    pub context: usize,
    /// Vocabulary size.
    pub vocab: usize,
}

impl Hyper {
    /// Size of one attention head.
    pub fn head_dim(&self) -> usize {
        self.dim / self.heads
    }
}

/// An opened GGUF file (metadata read, tensors not yet).
pub struct Gguf {
    /// Where it is.
    pub path: PathBuf,
    /// Its metadata and tensor directory.
    pub content: Content,
    /// Its shape.
    pub hyper: Hyper,
}

impl std::fmt::Debug for Gguf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gguf")
            .field("path", &self.path)
            .field("hyper", &self.hyper)
            .finish()
    }
}

impl Gguf {
    /// Reads the metadata of the GGUF at `path`.
    pub fn open(path: &Path) -> Result<Gguf> {
        let io = |source| Error::Io {
            path: path.to_owned(),
            source,
        };
        let mut file = File::open(path).map_err(io)?;
        let content = Content::read(&mut file).map_err(|e| Error::Model {
            path: path.to_owned(),
            message: format!("not a GGUF model file ({e})"),
        })?;
        let hyper = hyper(path, &content.metadata)?;
        Ok(Gguf {
            path: path.to_owned(),
            content,
            hyper,
        })
    }

    /// A string of the metadata.
    pub fn string(&self, key: &str) -> Option<&str> {
        self.content
            .metadata
            .get(key)
            .and_then(|v| v.to_string().ok())
            .map(String::as_str)
    }

    /// A number of the metadata.
    pub fn u32(&self, key: &str) -> Option<u32> {
        self.content.metadata.get(key).and_then(number)
    }

    /// The model's name (`general.name`), else the file's.
    pub fn name(&self) -> String {
        self.string("general.name").map_or_else(
            || {
                self.path
                    .file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_default()
            },
            str::to_owned,
        )
    }

    /// The error for something wrong in this file.
    pub fn error(&self, message: impl Into<String>) -> Error {
        Error::Model {
            path: self.path.clone(),
            message: message.into(),
        }
    }
}

/// BLAKE3 of the whole file, hex: what names a base model (an adapter
/// records the hash of the base it was trained on).
pub fn file_hash(path: &Path) -> Result<String> {
    let io = |source| Error::Io {
        path: path.to_owned(),
        source,
    };
    let mut reader = BufReader::with_capacity(1 << 20, File::open(path).map_err(io)?);
    let mut hasher = blake3::Hasher::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = reader.read(&mut buf).map_err(io)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hasher.finalize().to_hex().to_string())
}

fn number(v: &Value) -> Option<u32> {
    match v {
        Value::U8(x) => Some(u32::from(*x)),
        Value::U16(x) => Some(u32::from(*x)),
        Value::U32(x) => Some(*x),
        Value::U64(x) => u32::try_from(*x).ok(),
        Value::I32(x) => u32::try_from(*x).ok(),
        Value::I64(x) => u32::try_from(*x).ok(),
        _ => None,
    }
}

fn hyper(path: &Path, md: &HashMap<String, Value>) -> Result<Hyper> {
    let bad = |message: String| Error::Model {
        path: path.to_owned(),
        message,
    };
    let arch_name = md
        .get("general.architecture")
        .and_then(|v| v.to_string().ok())
        .ok_or_else(|| bad("no `general.architecture` in the metadata".into()))?;
    let arch = match arch_name.as_str() {
        "llama" => Arch::Llama,
        "qwen2" => Arch::Qwen2,
        other => {
            return Err(bad(format!(
                "architecture `{other}`: Lore runs llama- and qwen2-family models"
            )));
        }
    };
    let key = |k: &str| format!("{arch_name}.{k}");
    let get = |k: &str| -> Result<usize> {
        md.get(&key(k))
            .and_then(number)
            .map(|n| n as usize)
            .ok_or_else(|| bad(format!("no `{}` in the metadata", key(k))))
    };
    let float = |k: &str| -> Option<f32> {
        md.get(&key(k)).and_then(|v| match v {
            Value::F32(x) => Some(*x),
            Value::F64(x) => Some(*x as f32),
            _ => None,
        })
    };
    let heads = get("attention.head_count")?;
    let vocab = md
        .get(&key("vocab_size"))
        .and_then(number)
        .map(|n| n as usize)
        .or_else(|| {
            md.get("tokenizer.ggml.tokens")
                .and_then(|v| v.to_vec().ok())
                .map(Vec::len)
        })
        .ok_or_else(|| bad("no vocabulary size".into()))?;
    let hyper = Hyper {
        arch,
        layers: get("block_count")?,
        dim: get("embedding_length")?,
        ffn: get("feed_forward_length")?,
        heads,
        kv_heads: get("attention.head_count_kv").unwrap_or(heads),
        eps: f64::from(float("attention.layer_norm_rms_epsilon").unwrap_or(1e-5)),
        rope_base: float("rope.freq_base").unwrap_or(10_000.0),
        context: get("context_length").unwrap_or(2048),
        vocab,
    };
    if hyper.heads == 0
        || !hyper.dim.is_multiple_of(hyper.heads)
        || !hyper.heads.is_multiple_of(hyper.kv_heads.max(1))
    {
        return Err(bad(format!(
            "{} heads ({} for keys and values) do not divide a hidden size of {}",
            hyper.heads, hyper.kv_heads, hyper.dim
        )));
    }
    Ok(hyper)
}
