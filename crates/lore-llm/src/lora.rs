//! LoRA adapters: low-rank deltas on the base model's projections,
//! trained with candle's autograd on the dequantized base (which stays
//! frozen), saved as safetensors with a JSON description beside them.
//!
//! `A` starts small and random, `B` at zero, so a new adapter changes
//! nothing until it learns; the delta is `alpha / rank · (x Aᵀ) Bᵀ`.

use std::collections::BTreeMap;
use std::path::Path;

use candle_core::{DType, Device, Tensor, Var};
use candle_nn::optim::{AdamW, Optimizer, ParamsAdamW};
use serde::{Deserialize, Serialize};

use crate::model::{Lora, Model, PROJECTIONS};
use crate::{Error, Result};

/// What an adapter adapts, and how much.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AdapterConfig {
    /// Rank of the deltas.
    pub rank: usize,
    /// Scale numerator (`alpha / rank`).
    pub alpha: f32,
    /// Projection kinds (`attn_q`, `attn_k`, `attn_v`, `attn_output`,
    /// `ffn_gate`, `ffn_up`, `ffn_down`), in every block.
    pub targets: Vec<String>,
}

impl Default for AdapterConfig {
    fn default() -> Self {
        AdapterConfig {
            rank: 8,
            alpha: 16.0,
            targets: ["attn_q", "attn_k", "attn_v", "attn_output"]
                .map(str::to_owned)
                .to_vec(),
        }
    }
}

impl AdapterConfig {
    fn scale(&self) -> f64 {
        f64::from(self.alpha) / self.rank.max(1) as f64
    }

    fn check(&self) -> Result<()> {
        if self.rank == 0 || self.rank > 256 {
            return Err(Error::Tokenizer(format!(
                "rank {}: expected 1 to 256",
                self.rank
            )));
        }
        if let Some(bad) = self
            .targets
            .iter()
            .find(|t| !PROJECTIONS.contains(&t.as_str()))
        {
            return Err(Error::Tokenizer(format!(
                "`{bad}` is not a projection: expected one of {}",
                PROJECTIONS.join(", ")
            )));
        }
        Ok(())
    }
}

/// A trained adapter: per projection (`blk.{i}.attn_q`), `A` and `B`.
#[derive(Clone, Debug)]
pub struct Adapter {
    /// Its settings.
    pub config: AdapterConfig,
    /// The deltas.
    pub deltas: BTreeMap<String, (Tensor, Tensor)>,
}

/// The description saved beside the tensors (`adapter.json`).
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Description {
    config: AdapterConfig,
    projections: Vec<String>,
}

impl Adapter {
    /// Puts the adapter on `model` (replacing any other).
    pub fn attach(&self, model: &mut Model) -> Result<()> {
        model.clear_lora();
        let scale = self.config.scale();
        for (name, (a, b)) in &self.deltas {
            model.set_lora(
                name,
                Some(Lora {
                    a: a.clone(),
                    b: b.clone(),
                    scale,
                }),
            )?;
        }
        Ok(())
    }

    /// Saves to `dir` (`adapter.safetensors` and `adapter.json`), each file
    /// written whole or not at all.
    pub fn save(&self, dir: &Path) -> Result<()> {
        let io = |path: &Path, source| Error::Io {
            path: path.to_owned(),
            source,
        };
        std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
        let mut tensors = std::collections::HashMap::new();
        for (name, (a, b)) in &self.deltas {
            tensors.insert(format!("{name}.lora_a"), a.clone());
            tensors.insert(format!("{name}.lora_b"), b.clone());
        }
        let weights = dir.join("adapter.safetensors");
        let tmp = dir.join("adapter.safetensors.tmp");
        candle_core::safetensors::save(&tensors, &tmp)?;
        std::fs::rename(&tmp, &weights).map_err(|e| io(&weights, e))?;
        let description = Description {
            config: self.config.clone(),
            projections: self.deltas.keys().cloned().collect(),
        };
        let json = dir.join("adapter.json");
        let tmp = dir.join("adapter.json.tmp");
        std::fs::write(
            &tmp,
            serde_json::to_vec_pretty(&description).expect("serializable"),
        )
        .map_err(|e| io(&tmp, e))?;
        std::fs::rename(&tmp, &json).map_err(|e| io(&json, e))?;
        Ok(())
    }

    /// Writes the adapter as a GGUF LoRA file, the format llama.cpp
    /// (`--lora`) and Ollama (`ADAPTER`) load: tensors
    /// `blk.N.attn_q.weight.lora_a` (`[in, rank]` in GGUF's order) and
    /// `.lora_b` (`[rank, out]`), F32; metadata `general.type = adapter`,
    /// `adapter.type = lora`, `adapter.lora.alpha`, and the base's
    /// architecture. Written whole or not at all.
    pub fn export_gguf(&self, arch: &str, path: &Path) -> Result<()> {
        use candle_core::quantized::gguf_file::Value;
        use candle_core::quantized::{GgmlDType, QTensor};
        let mut tensors = Vec::new();
        for (name, (a, b)) in &self.deltas {
            tensors.push((
                format!("{name}.weight.lora_a"),
                QTensor::quantize(a, GgmlDType::F32)?,
            ));
            tensors.push((
                format!("{name}.weight.lora_b"),
                QTensor::quantize(b, GgmlDType::F32)?,
            ));
        }
        let metadata = [
            ("general.architecture", Value::String(arch.to_owned())),
            ("general.type", Value::String("adapter".into())),
            ("adapter.type", Value::String("lora".into())),
            ("adapter.lora.alpha", Value::F32(self.config.alpha)),
        ];
        let io = |p: &Path, source| Error::Io {
            path: p.to_owned(),
            source,
        };
        let tmp = path.with_extension("gguf.tmp");
        let mut file = std::fs::File::create(&tmp).map_err(|e| io(&tmp, e))?;
        let md: Vec<(&str, &Value)> = metadata.iter().map(|(k, v)| (*k, v)).collect();
        let ts: Vec<(&str, &QTensor)> = tensors.iter().map(|(k, t)| (k.as_str(), t)).collect();
        candle_core::quantized::gguf_file::write(&mut file, &md, &ts)?;
        file.sync_all().map_err(|e| io(&tmp, e))?;
        std::fs::rename(&tmp, path).map_err(|e| io(path, e))?;
        Ok(())
    }

    /// Loads what [`Adapter::save`] wrote in `dir`.
    pub fn load(dir: &Path) -> Result<Adapter> {
        let json = dir.join("adapter.json");
        let bad = |path: &Path, message: String| Error::Model {
            path: path.to_owned(),
            message,
        };
        let text = std::fs::read(&json).map_err(|source| Error::Io {
            path: json.clone(),
            source,
        })?;
        let description: Description = serde_json::from_slice(&text)
            .map_err(|e| bad(&json, format!("not an adapter description ({e})")))?;
        description.config.check()?;
        let weights = dir.join("adapter.safetensors");
        let mut tensors = candle_core::safetensors::load(&weights, &Device::Cpu)
            .map_err(|e| bad(&weights, format!("not readable as safetensors ({e})")))?;
        let mut deltas = BTreeMap::new();
        for name in description.projections {
            let mut take = |suffix: &str| {
                tensors
                    .remove(&format!("{name}.{suffix}"))
                    .ok_or_else(|| bad(&weights, format!("no tensor `{name}.{suffix}`")))
            };
            let a = take("lora_a")?;
            let b = take("lora_b")?;
            deltas.insert(name, (a, b));
        }
        Ok(Adapter {
            config: description.config,
            deltas,
        })
    }
}

/// An adapter being trained: its variables on the model, and the
/// optimizer.
pub struct Trainer {
    config: AdapterConfig,
    vars: Vec<(String, Var, Var)>,
    optimizer: AdamW,
}

impl std::fmt::Debug for Trainer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Trainer")
            .field("config", &self.config)
            .field("projections", &self.vars.len())
            .finish()
    }
}

/// Options of training.
#[derive(Clone, Debug)]
pub struct TrainOptions {
    /// Learning rate.
    pub lr: f64,
    /// Weight decay.
    pub weight_decay: f64,
    /// Seed of `A`'s initialisation.
    pub seed: u64,
}

impl Default for TrainOptions {
    fn default() -> Self {
        TrainOptions {
            lr: 2e-3,
            weight_decay: 0.0,
            seed: 7,
        }
    }
}

impl Trainer {
    /// A fresh adapter on `model` (or, with `from`, one that continues
    /// where `from` left off), ready to train.
    pub fn new(
        model: &mut Model,
        config: AdapterConfig,
        from: Option<&Adapter>,
        options: &TrainOptions,
    ) -> Result<Trainer> {
        config.check()?;
        model.clear_lora();
        let mut rng = crate::generate::SplitMix(options.seed);
        let scale = config.scale();
        let mut vars = Vec::new();
        for (name, (out, inp)) in model.projections() {
            let kind = name.rsplit('.').next().unwrap_or("");
            if !config.targets.iter().any(|t| t == kind) {
                continue;
            }
            let (a, b) = match from.and_then(|f| f.deltas.get(&name)) {
                Some((a, b)) => (Var::from_tensor(a)?, Var::from_tensor(b)?),
                None => {
                    // Kaiming-uniform-like: U(-1/√in, 1/√in).
                    let bound = 1.0 / (inp as f64).sqrt();
                    let values: Vec<f32> = (0..config.rank * inp)
                        .map(|_| ((rng.next_f64() * 2.0 - 1.0) * bound) as f32)
                        .collect();
                    let a = Tensor::from_vec(values, (config.rank, inp), &Device::Cpu)?;
                    (
                        Var::from_tensor(&a)?,
                        Var::zeros((out, config.rank), DType::F32, &Device::Cpu)?,
                    )
                }
            };
            model.set_lora(
                &name,
                Some(Lora {
                    a: a.as_tensor().clone(),
                    b: b.as_tensor().clone(),
                    scale,
                }),
            )?;
            vars.push((name, a, b));
        }
        let params = ParamsAdamW {
            lr: options.lr,
            weight_decay: options.weight_decay,
            ..ParamsAdamW::default()
        };
        let all: Vec<Var> = vars
            .iter()
            .flat_map(|(_, a, b)| [a.clone(), b.clone()])
            .collect();
        let optimizer = AdamW::new(all, params)?;
        Ok(Trainer {
            config,
            vars,
            optimizer,
        })
    }

    /// One step on `tokens` (next-token loss over every position); the
    /// loss before the step.
    pub fn step(&mut self, model: &mut Model, tokens: &[u32]) -> Result<f32> {
        self.step_from(model, tokens, 1)
    }

    /// One step on `tokens` with the loss taken on the tokens from index
    /// `from` on (an answer after its prompt); the loss before the step.
    pub fn step_from(&mut self, model: &mut Model, tokens: &[u32], from: usize) -> Result<f32> {
        let loss = mean_loss_from(model, tokens, from)?;
        self.optimizer.backward_step(&loss)?;
        Ok(loss.to_scalar::<f32>()?)
    }

    /// The adapter as it is now (a copy).
    pub fn adapter(&self) -> Result<Adapter> {
        let mut deltas = BTreeMap::new();
        for (name, a, b) in &self.vars {
            deltas.insert(name.clone(), (a.as_tensor().copy()?, b.as_tensor().copy()?));
        }
        Ok(Adapter {
            config: self.config.clone(),
            deltas,
        })
    }
}

/// The mean next-token cross-entropy of `tokens` under `model` (as it is:
/// with or without an adapter), differentiable.
pub fn mean_loss(model: &mut Model, tokens: &[u32]) -> Result<Tensor> {
    mean_loss_from(model, tokens, 1)
}

/// The mean next-token cross-entropy of the tokens of `tokens` from index
/// `from` on (at least 1: the first token has nothing before it),
/// differentiable.
pub fn mean_loss_from(model: &mut Model, tokens: &[u32], from: usize) -> Result<Tensor> {
    let from = from.max(1);
    if tokens.len() <= from {
        return Err(Error::Tokenizer(format!(
            "a training sequence of {} tokens has nothing to learn after token {from}",
            tokens.len()
        )));
    }
    let n = tokens.len() - 1;
    let logits = model.logits_all(&tokens[..n])?;
    let logits = logits.narrow(0, from - 1, n + 1 - from)?;
    let targets = Tensor::new(&tokens[from..], &Device::Cpu)?;
    Ok(candle_nn::loss::cross_entropy(&logits, &targets)?)
}

/// Total negative log-likelihood and the number of predicted tokens of
/// `tokens` (perplexity is `exp(total / count)` over many sequences).
pub fn nll(model: &mut Model, tokens: &[u32]) -> Result<(f64, usize)> {
    let loss = mean_loss(model, tokens)?.to_scalar::<f32>()?;
    let n = tokens.len() - 1;
    Ok((f64::from(loss) * n as f64, n))
}
