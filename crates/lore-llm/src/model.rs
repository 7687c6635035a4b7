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
/// the dense kernel does far faster than row-by-row dot products).
#[derive(Debug)]
pub struct Linear {
    weight: QMatMul,
    dense: Option<Tensor>,
    bias: Option<Tensor>,
}

/// Rows from which the dense weights are used.
const DENSE_ROWS: usize = 8;

impl Linear {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let rows = x.elem_count() / x.dim(D::Minus1)?;
        let y = match &self.dense {
            Some(wt) if rows >= DENSE_ROWS => x.broadcast_matmul(wt)?,
            _ => self.weight.forward(x)?,
        };
        Ok(match &self.bias {
            Some(b) => y.broadcast_add(b)?,
            None => y,
        })
    }
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
    /// Loads the weights of `gguf` onto the CPU.
    pub fn load(gguf: &Gguf) -> Result<Model> {
        let device = Device::Cpu;
        let h = gguf.hyper.clone();
        let mut w = Loader {
            gguf,
            file: std::fs::File::open(&gguf.path).map_err(|source| Error::Io {
                path: gguf.path.clone(),
                source,
            })?,
            device: device.clone(),
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
        })
    }

    /// Its shape.
    pub fn hyper(&self) -> &Hyper {
        &self.hyper
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
        let h = self.hyper.clone();
        let pos = self.cached();
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
        let ids = Tensor::new(tokens, &self.device)?;
        let mut x = self.embed.index_select(&ids, 0)?.unsqueeze(0)?;
        let hd = h.head_dim();
        let cos = self.cos.narrow(0, pos, seq)?;
        let sin = self.sin.narrow(0, pos, seq)?;
        let mask = (seq > 1)
            .then(|| causal_mask(seq, pos, &self.device))
            .transpose()?;
        for b in &mut self.blocks {
            let n = candle_nn::ops::rms_norm(&x, &b.attn_norm, h.eps as f32)?;
            let q = b.q.forward(&n)?;
            let k = b.k.forward(&n)?;
            let v = b.v.forward(&n)?;
            let q = q
                .reshape((1, seq, h.heads, hd))?
                .transpose(1, 2)?
                .contiguous()?;
            let k = k
                .reshape((1, seq, h.kv_heads, hd))?
                .transpose(1, 2)?
                .contiguous()?;
            let v = v.reshape((1, seq, h.kv_heads, hd))?.transpose(1, 2)?;
            let (q, k) = match h.arch {
                Arch::Llama => (
                    candle_nn::rotary_emb::rope_i(&q, &cos, &sin)?,
                    candle_nn::rotary_emb::rope_i(&k, &cos, &sin)?,
                ),
                Arch::Qwen2 => (
                    candle_nn::rotary_emb::rope(&q, &cos, &sin)?,
                    candle_nn::rotary_emb::rope(&k, &cos, &sin)?,
                ),
            };
            let (k, v) = b.cache.append(&k, &v.contiguous()?)?;
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
            x = (x + b.o.forward(&y)?)?;
            let n = candle_nn::ops::rms_norm(&x, &b.ffn_norm, h.eps as f32)?;
            let gated = (candle_nn::ops::silu(&b.gate.forward(&n)?)? * b.up.forward(&n)?)?;
            x = (x + b.down.forward(&gated)?)?;
        }
        let last = x.i((.., seq - 1, ..))?;
        let last = candle_nn::ops::rms_norm(&last, &self.norm, h.eps as f32)?;
        Ok(self
            .output
            .forward(&last)?
            .squeeze(0)?
            .to_dtype(DType::F32)?)
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
        // Kept transposed (`[in, out]`), the layout the product wants.
        let dense = Some(q.dequantize(&self.device)?.t()?.contiguous()?);
        Ok(Linear {
            weight: QMatMul::from_qtensor(q)?,
            dense,
            bias,
        })
    }
}

/// The index of the largest logit.
pub fn argmax(logits: &Tensor) -> Result<u32> {
    Ok(logits.argmax(D::Minus1)?.to_scalar::<u32>()?)
}
