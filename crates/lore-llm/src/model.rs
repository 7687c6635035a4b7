//! The transformer: llama and qwen2 (pre-norm blocks, RMS norm, rotary
//! position embedding, grouped-query attention, SwiGLU feed-forward), with
//! a KV cache for decoding. Weights stay quantized and are multiplied as
//! such (candle's `QMatMul`); formats without a fast CPU kernel are
//! re-quantized to Q8_0 once at load.

use candle_core::quantized::{GgmlDType, QMatMul, QTensor};
use candle_core::{D, DType, Device, IndexOp, Module, Tensor};

use crate::gguf::{Arch, Gguf, Hyper};
use crate::{Error, Result};

/// A projection: `x @ Wᵀ (+ b)`: quantized for one token at a time
/// (decoding is bound by memory), dense for a prompt (a matrix product
/// the dense kernel does far faster than row-by-row dot products) when the
/// model's dense budget kept a dense copy, plus a LoRA delta
/// `scale · (x @ Aᵀ) @ Bᵀ` when an adapter is on.
#[derive(Debug)]
pub struct Linear {
    weight: QMatMul,
    /// `Wᵀ` in f32, `[in, out]`, if kept.
    dense: Option<Tensor>,
    bias: Option<Tensor>,
    lora: Option<Lora>,
    /// `[out, in]`.
    shape: (usize, usize),
}

/// A low-rank delta: `A` is `[rank, in]`, `B` `[out, rank]`.
#[derive(Clone, Debug)]
pub struct Lora {
    /// Down-projection.
    pub a: Tensor,
    /// Up-projection.
    pub b: Tensor,
    /// `alpha / rank`.
    pub scale: f64,
}

/// Tokens of a prompt fed to the model at once (by default).
const PREFILL_CHUNK: usize = 512;

/// Rows from which the dense weights are used.
const DENSE_ROWS: usize = 8;

impl Linear {
    fn forward(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        let rows = x.elem_count() / x.dim(D::Minus1)?;
        let mut y = match &self.dense {
            Some(dense) if train || rows >= DENSE_ROWS => x.broadcast_matmul(dense)?,
            // Training needs f32 weights autograd can go through: made
            // for this pass when no copy is kept.
            None if train => x.broadcast_matmul(&self.dequantized()?.t()?)?,
            _ => self.weight.forward(x)?,
        };
        if let Some(l) = &self.lora {
            let delta = x.broadcast_matmul(&l.a.t()?)?.broadcast_matmul(&l.b.t()?)?;
            y = (y + (delta * l.scale)?)?;
        }
        Ok(match &self.bias {
            Some(b) => y.broadcast_add(b)?,
            None => y,
        })
    }

    /// `W` in f32, `[out, in]`.
    fn dequantized(&self) -> Result<Tensor> {
        Ok(match &self.weight {
            QMatMul::QTensor(q) => q.dequantize(&Device::Cpu)?,
            QMatMul::Tensor(t) => t.clone(),
            QMatMul::TensorF16(t) => t.to_dtype(DType::F32)?,
        })
    }

    /// Bytes its dense copy takes (0 when none is kept).
    fn dense_bytes(&self) -> usize {
        self.dense.as_ref().map_or(0, |d| d.elem_count() * 4)
    }
}

/// Bytes of dense f32 weight copies a model keeps for prompts (and
/// training), at most: `LORE_LLM_DENSE_MB` (default 1024). Projections
/// past it multiply quantized: prompts run slower, memory stays bounded.
pub fn dense_budget() -> usize {
    std::env::var("LORE_LLM_DENSE_MB")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(1024)
        << 20
}

#[derive(Debug)]
struct Block {
    attn_norm: Tensor,
    q: Linear,
    k: Linear,
    v: Linear,
    o: Linear,
    ffn_norm: Tensor,
    gate: Linear,
    up: Linear,
    down: Linear,
    cache: Cache,
}

/// Keys and values seen so far, `[1, kv_heads, capacity, head_dim]`, the
/// first `len` positions filled; grown by doubling, written in place.
#[derive(Debug, Default)]
struct Cache {
    kv: Option<(Tensor, Tensor)>,
    len: usize,
}

impl Cache {
    /// Adds `k`/`v` (`[1, kv, seq, hd]`); all keys and values so far.
    fn append(&mut self, k: &Tensor, v: &Tensor) -> Result<(Tensor, Tensor)> {
        let seq = k.dim(2)?;
        let need = self.len + seq;
        let capacity = self.kv.as_ref().map_or(0, |(ck, _)| ck.dim(2).unwrap_or(0));
        if need > capacity {
            let (b, heads, _, hd) = k.dims4()?;
            let grown = need.next_power_of_two().max(256);
            let nk = Tensor::zeros((b, heads, grown, hd), k.dtype(), k.device())?;
            let nv = Tensor::zeros((b, heads, grown, hd), v.dtype(), v.device())?;
            if let Some((ck, cv)) = &self.kv {
                nk.slice_set(&ck.narrow(2, 0, self.len)?.contiguous()?, 2, 0)?;
                nv.slice_set(&cv.narrow(2, 0, self.len)?.contiguous()?, 2, 0)?;
            }
            self.kv = Some((nk, nv));
        }
        let (ck, cv) = self.kv.as_ref().expect("allocated above");
        ck.slice_set(k, 2, self.len)?;
        cv.slice_set(v, 2, self.len)?;
        self.len = need;
        Ok((ck.narrow(2, 0, need)?, cv.narrow(2, 0, need)?))
    }
}

/// A loaded model.
#[derive(Debug)]
pub struct Model {
    hyper: Hyper,
    embed: Tensor,
    blocks: Vec<Block>,
    norm: Tensor,
    output: Linear,
    cos: Tensor,
    sin: Tensor,
    device: Device,
    prefill_chunk: usize,
}

/// Quantized formats whose CPU dot products candle vectorises; others are
/// re-quantized to Q8_0 at load (measured: `bench/llm.sh`).
fn fast(dtype: GgmlDType) -> bool {
    matches!(
        dtype,
        GgmlDType::Q8_0 | GgmlDType::Q4_0 | GgmlDType::Q4K | GgmlDType::Q6K | GgmlDType::Q8K
    )
}

impl Model {
    /// Loads the weights of `gguf` onto the CPU, with dense copies of the
    /// projections up to [`dense_budget`].
    pub fn load(gguf: &Gguf) -> Result<Model> {
        Model::load_with(gguf, dense_budget())
    }

    /// Loads the weights of `gguf`, with dense copies of the projections
    /// (in load order) while they fit in `dense_bytes`.
    pub fn load_with(gguf: &Gguf, dense_bytes: usize) -> Result<Model> {
        let device = Device::Cpu;
        let h = gguf.hyper.clone();
        let mut w = Loader {
            gguf,
            file: std::fs::File::open(&gguf.path).map_err(|source| Error::Io {
                path: gguf.path.clone(),
                source,
            })?,
            device: device.clone(),
            dense_left: dense_bytes,
        };
        let embed = w.dense("token_embd.weight")?;
        let norm = w.dense("output_norm.weight")?;
        let output = if w.has("output.weight") {
            w.linear("output", false)?
        } else {
            // Tied embeddings: the output projection is the embedding.
            w.linear("token_embd", false)?
        };
        let qkv_bias = h.arch == Arch::Qwen2;
        let mut blocks = Vec::with_capacity(h.layers);
        for i in 0..h.layers {
            let p = format!("blk.{i}");
            blocks.push(Block {
                attn_norm: w.dense(&format!("{p}.attn_norm.weight"))?,
                ffn_norm: w.dense(&format!("{p}.ffn_norm.weight"))?,
                q: w.linear(&format!("{p}.attn_q"), qkv_bias)?,
                k: w.linear(&format!("{p}.attn_k"), qkv_bias)?,
                v: w.linear(&format!("{p}.attn_v"), qkv_bias)?,
                o: w.linear(&format!("{p}.attn_output"), false)?,
                gate: w.linear(&format!("{p}.ffn_gate"), false)?,
                up: w.linear(&format!("{p}.ffn_up"), false)?,
                down: w.linear(&format!("{p}.ffn_down"), false)?,
                cache: Cache::default(),
            });
        }
        let (cos, sin) = rope_tables(&h, &device)?;
        Ok(Model {
            hyper: h,
            embed,
            blocks,
            norm,
            output,
            cos,
            sin,
            device,
            prefill_chunk: PREFILL_CHUNK,
        })
    }

    /// Its shape.
    pub fn hyper(&self) -> &Hyper {
        &self.hyper
    }

    /// Feeds prompts in chunks of `tokens` (at least 1).
    pub fn set_prefill_chunk(&mut self, tokens: usize) {
        self.prefill_chunk = tokens.max(1);
    }

    /// Bytes the dense copies of its projections take.
    pub fn dense_bytes(&self) -> usize {
        self.output.dense_bytes()
            + self
                .blocks
                .iter()
                .flat_map(|b| [&b.q, &b.k, &b.v, &b.o, &b.gate, &b.up, &b.down])
                .map(Linear::dense_bytes)
                .sum::<usize>()
    }

    /// Forgets the cached keys and values (a new sequence follows).
    pub fn reset(&mut self) {
        for b in &mut self.blocks {
            b.cache = Cache::default();
        }
    }

    /// Tokens in the cache.
    pub fn cached(&self) -> usize {
        self.blocks.first().map_or(0, |b| b.cache.len)
    }

    /// Feeds `tokens` after the cached ones; the logits of the last, over
    /// the vocabulary.
    pub fn forward(&mut self, tokens: &[u32]) -> Result<Tensor> {
        if tokens.is_empty() {
            return Err(Error::Tokenizer("nothing to feed the model".into()));
        }
        // A long prompt goes in chunks: each chunk's attention scores are
        // `[heads, chunk, seen]`, not `[heads, seq, seq]` (gigabytes for a
        // prompt of thousands of tokens).
        let mut last = None;
        for chunk in tokens.chunks(self.prefill_chunk) {
            let pos = self.cached();
            last = Some((self.run(chunk, pos, Pass::Decode)?, chunk.len()));
        }
        let (x, seq) = last.expect("at least one chunk");
        let last = x.i((.., seq - 1, ..))?;
        let last = candle_nn::ops::rms_norm(&last, &self.norm, self.hyper.eps as f32)?;
        Ok(self
            .output
            .forward(&last, false)?
            .squeeze(0)?
            .to_dtype(DType::F32)?)
    }

    /// The logits at every position of `tokens` (`[seq, vocab]`), from
    /// position 0, without the cache and with operations autograd can
    /// differentiate: what training and held-out evaluation use.
    pub fn logits_all(&mut self, tokens: &[u32]) -> Result<Tensor> {
        let x = self.run(tokens, 0, Pass::Train)?;
        let x = candle_nn::ops::rms_norm_slow(&x, &self.norm, self.hyper.eps as f32)?;
        Ok(self.output.forward(&x, true)?.squeeze(0)?)
    }

    /// The hidden states after the last block, `[1, seq, dim]`.
    fn run(&mut self, tokens: &[u32], pos: usize, pass: Pass) -> Result<Tensor> {
        let h = self.hyper.clone();
        let seq = tokens.len();
        if seq == 0 {
            return Err(Error::Tokenizer("nothing to feed the model".into()));
        }
        if pos + seq > h.context {
            return Err(Error::Tokenizer(format!(
                "{} tokens exceed the model's context of {}",
                pos + seq,
                h.context
            )));
        }
        let train = pass == Pass::Train;
        let ids = Tensor::new(tokens, &self.device)?;
        let mut x = self.embed.index_select(&ids, 0)?.unsqueeze(0)?;
        let hd = h.head_dim();
        let cos = self.cos.narrow(0, pos, seq)?;
        let sin = self.sin.narrow(0, pos, seq)?;
        let mask = (seq > 1)
            .then(|| causal_mask(seq, pos, &self.device))
            .transpose()?;
        let norm = |x: &Tensor, w: &Tensor| -> Result<Tensor> {
            Ok(if train {
                candle_nn::ops::rms_norm_slow(x, w, h.eps as f32)?
            } else {
                candle_nn::ops::rms_norm(x, w, h.eps as f32)?
            })
        };
        let rope = |x: &Tensor| -> Result<Tensor> {
            Ok(match (h.arch, train) {
                (Arch::Llama, false) => candle_nn::rotary_emb::rope_i(x, &cos, &sin)?,
                (Arch::Llama, true) => candle_nn::rotary_emb::rope_i_slow(x, &cos, &sin)?,
                (Arch::Qwen2, false) => candle_nn::rotary_emb::rope(x, &cos, &sin)?,
                (Arch::Qwen2, true) => candle_nn::rotary_emb::rope_slow(x, &cos, &sin)?,
            })
        };
        for b in &mut self.blocks {
            let n = norm(&x, &b.attn_norm)?;
            let q = b.q.forward(&n, train)?;
            let k = b.k.forward(&n, train)?;
            let v = b.v.forward(&n, train)?;
            let q = q
                .reshape((1, seq, h.heads, hd))?
                .transpose(1, 2)?
                .contiguous()?;
            let k = k
                .reshape((1, seq, h.kv_heads, hd))?
                .transpose(1, 2)?
                .contiguous()?;
            let v = v
                .reshape((1, seq, h.kv_heads, hd))?
                .transpose(1, 2)?
                .contiguous()?;
            let (q, k) = (rope(&q)?, rope(&k)?);
            let (k, v) = if train {
                (k, v)
            } else {
                b.cache.append(&k, &v)?
            };
            // Grouped-query attention without copying keys and values per
            // query head: the query heads that share a key/value head are
            // stacked as rows (`[kv, rep·seq, hd]`).
            let rep = h.heads / h.kv_heads;
            let t = k.dim(2)?;
            let q = q.reshape((1, h.kv_heads, rep * seq, hd))?;
            let att = (q.matmul(&k.t()?)? / (hd as f64).sqrt())?;
            let att = match &mask {
                Some(m) => att
                    .reshape((1, h.kv_heads, rep, seq, t))?
                    .broadcast_add(m)?
                    .reshape((1, h.kv_heads, rep * seq, t))?,
                None => att,
            };
            let att = candle_nn::ops::softmax_last_dim(&att)?;
            let y = att.matmul(&v)?.reshape((1, h.heads, seq, hd))?;
            let y = y.transpose(1, 2)?.reshape((1, seq, h.dim))?;
            x = (x + b.o.forward(&y, train)?)?;
            let n = norm(&x, &b.ffn_norm)?;
            let gated = (b.gate.forward(&n, train)?.silu()? * b.up.forward(&n, train)?)?;
            x = (x + b.down.forward(&gated, train)?)?;
        }
        Ok(x)
    }

    /// The projections an adapter can target, by name
    /// (`blk.{i}.attn_q`, …, `blk.{i}.ffn_down`), with their shapes
    /// (`[out, in]`).
    pub fn projections(&self) -> Vec<(String, (usize, usize))> {
        let mut out = Vec::new();
        for (i, b) in self.blocks.iter().enumerate() {
            for (name, l) in b.named() {
                out.push((format!("blk.{i}.{name}"), l.shape));
            }
        }
        out
    }

    /// Puts low-rank deltas on projections by name (`None` takes one off).
    pub fn set_lora(&mut self, name: &str, lora: Option<Lora>) -> Result<()> {
        let (block, proj) = name
            .strip_prefix("blk.")
            .and_then(|r| r.split_once('.'))
            .and_then(|(i, p)| Some((i.parse::<usize>().ok()?, p)))
            .ok_or_else(|| Error::Tokenizer(format!("`{name}` names no projection")))?;
        let b = self
            .blocks
            .get_mut(block)
            .ok_or_else(|| Error::Tokenizer(format!("`{name}`: no block {block}")))?;
        let l = b
            .named_mut(proj)
            .ok_or_else(|| Error::Tokenizer(format!("`{name}` names no projection")))?;
        if let Some(lora) = &lora {
            let (out, inp) = l.shape;
            if lora.a.dims() != [lora.a.dim(0)?, inp] || lora.b.dims() != [out, lora.a.dim(0)?] {
                return Err(Error::Tokenizer(format!(
                    "`{name}`: an adapter of shapes {:?} and {:?} does not fit a {out}×{inp} projection",
                    lora.a.dims(),
                    lora.b.dims()
                )));
            }
        }
        l.lora = lora;
        Ok(())
    }

    /// Takes every low-rank delta off.
    pub fn clear_lora(&mut self) {
        for b in &mut self.blocks {
            for p in PROJECTIONS {
                if let Some(l) = b.named_mut(p) {
                    l.lora = None;
                }
            }
        }
    }
}

/// How a pass runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Pass {
    /// With the cache and the fast kernels.
    Decode,
    /// From scratch, with operations autograd differentiates.
    Train,
}

/// The projections of a block, by the names adapters use.
pub const PROJECTIONS: [&str; 7] = [
    "attn_q",
    "attn_k",
    "attn_v",
    "attn_output",
    "ffn_gate",
    "ffn_up",
    "ffn_down",
];

impl Block {
    fn named(&self) -> [(&'static str, &Linear); 7] {
        [
            ("attn_q", &self.q),
            ("attn_k", &self.k),
            ("attn_v", &self.v),
            ("attn_output", &self.o),
            ("ffn_gate", &self.gate),
            ("ffn_up", &self.up),
            ("ffn_down", &self.down),
        ]
    }

    fn named_mut(&mut self, name: &str) -> Option<&mut Linear> {
        Some(match name {
            "attn_q" => &mut self.q,
            "attn_k" => &mut self.k,
            "attn_v" => &mut self.v,
            "attn_output" => &mut self.o,
            "ffn_gate" => &mut self.gate,
            "ffn_up" => &mut self.up,
            "ffn_down" => &mut self.down,
            _ => return None,
        })
    }
}

/// cos and sin of every position's rotation angles, `[context, head_dim/2]`.
fn rope_tables(h: &Hyper, device: &Device) -> Result<(Tensor, Tensor)> {
    let hd = h.head_dim();
    let inv: Vec<f32> = (0..hd / 2)
        .map(|i| 1.0 / h.rope_base.powf(2.0 * i as f32 / hd as f32))
        .collect();
    let inv = Tensor::new(inv.as_slice(), device)?;
    let positions = Tensor::arange(0u32, h.context as u32, device)?.to_dtype(DType::F32)?;
    let angles = positions.unsqueeze(1)?.broadcast_mul(&inv.unsqueeze(0)?)?;
    Ok((angles.cos()?, angles.sin()?))
}

/// `[seq, pos + seq]`: 0 where a query may look, −∞ after it.
fn causal_mask(seq: usize, pos: usize, device: &Device) -> Result<Tensor> {
    let total = pos + seq;
    let m: Vec<f32> = (0..seq)
        .flat_map(|i| (0..total).map(move |j| if j > pos + i { f32::NEG_INFINITY } else { 0.0 }))
        .collect();
    Ok(Tensor::from_vec(m, (seq, total), device)?)
}

/// Reads tensors of one GGUF file.
struct Loader<'a> {
    gguf: &'a Gguf,
    file: std::fs::File,
    device: Device,
    /// Bytes of dense copies still allowed.
    dense_left: usize,
}

impl Loader<'_> {
    fn has(&self, name: &str) -> bool {
        self.gguf.content.tensor_infos.contains_key(name)
    }

    fn q(&mut self, name: &str) -> Result<QTensor> {
        if !self.has(name) {
            return Err(self.gguf.error(format!("no tensor `{name}`")));
        }
        self.gguf
            .content
            .tensor(&mut self.file, name, &self.device)
            .map_err(|e| self.gguf.error(format!("tensor `{name}`: {e}")))
    }

    fn dense(&mut self, name: &str) -> Result<Tensor> {
        Ok(self.q(name)?.dequantize(&self.device)?)
    }

    fn linear(&mut self, name: &str, bias: bool) -> Result<Linear> {
        let q = self.q(&format!("{name}.weight"))?;
        let q = if fast(q.dtype()) {
            q
        } else {
            QTensor::quantize(&q.dequantize(&self.device)?, GgmlDType::Q8_0)?
        };
        let bias = if bias && self.has(&format!("{name}.bias")) {
            Some(self.dense(&format!("{name}.bias"))?)
        } else {
            None
        };
        // Kept transposed (`[in, out]`), the layout the product wants,
        // while the budget lasts.
        let (out, inp) = q.shape().dims2()?;
        let bytes = out * inp * 4;
        let dense = if bytes <= self.dense_left {
            self.dense_left -= bytes;
            Some(q.dequantize(&self.device)?.t()?.contiguous()?)
        } else {
            None
        };
        Ok(Linear {
            weight: QMatMul::from_qtensor(q)?,
            dense,
            bias,
            lora: None,
            shape: (out, inp),
        })
    }
}

/// The index of the largest logit.
pub fn argmax(logits: &Tensor) -> Result<u32> {
    Ok(logits.argmax(D::Minus1)?.to_scalar::<u32>()?)
}
