//! Decoding: a chat in, text out, streamed as it is made. Greedy by
//! default (the same prompt gives the same answer); with a temperature,
//! sampled from a seeded generator.

use std::path::Path;
use std::time::Instant;

use candle_core::Tensor;
use tokenizers::Tokenizer;

use crate::gguf::Gguf;
use crate::model::{Model, argmax};
use crate::template::{ChatTemplate, Turn};
use crate::{Error, Result, tokenizer};

/// How the next token is chosen.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sampling {
    /// 0 is greedy.
    pub temperature: f32,
    /// The sampler's seed.
    pub seed: u64,
    /// Go on past stop tokens to the token limit (benchmarks).
    pub ignore_stops: bool,
    /// Stop once this many lines are complete (line breaks after some
    /// text); 0 never.
    pub stop_after_lines: usize,
}

impl Default for Sampling {
    fn default() -> Self {
        Sampling {
            temperature: 0.0,
            seed: 42,
            ignore_stops: false,
            stop_after_lines: 0,
        }
    }
}

/// What a generation made.
#[derive(Clone, Debug, PartialEq)]
pub struct Generated {
    /// The text (stop tokens left out).
    pub text: String,
    /// Its token ids.
    pub tokens: Vec<u32>,
    /// Tokens of the prompt.
    pub prompt_tokens: usize,
    /// Milliseconds until the first token was chosen (the prompt's pass).
    pub first_token_ms: f64,
    /// Milliseconds in all.
    pub total_ms: f64,
    /// Whether it stopped at a stop token (else at the token limit).
    pub stopped: bool,
}

impl Generated {
    /// Generated tokens per second after the first.
    pub fn decode_tokens_per_s(&self) -> f64 {
        let rest = self.tokens.len().saturating_sub(1) as f64;
        let ms = self.total_ms - self.first_token_ms;
        if rest == 0.0 || ms <= 0.0 {
            0.0
        } else {
            rest * 1000.0 / ms
        }
    }
}

/// A model with its tokenizer and chat template.
#[derive(Debug)]
pub struct Generator {
    /// The file it came from.
    pub gguf: Gguf,
    model: Model,
    tokenizer: Tokenizer,
    template: ChatTemplate,
    stops: Vec<u32>,
}

/// Token texts that end a turn in the common chat formats.
const STOP_TEXTS: [&str; 6] = [
    "<|im_end|>",
    "<|endoftext|>",
    "<|eot_id|>",
    "<|end|>",
    "</s>",
    "<|end_of_text|>",
];

impl Generator {
    /// Loads the model at `path`.
    pub fn load(path: &Path) -> Result<Generator> {
        let gguf = Gguf::open(path)?;
        let tokenizer = tokenizer::from_gguf(&gguf)?;
        let template = ChatTemplate::from_gguf(&gguf);
        let model = Model::load(&gguf)?;
        let mut stops: Vec<u32> = STOP_TEXTS
            .iter()
            .filter_map(|t| tokenizer.token_to_id(t))
            .collect();
        if let Some(eos) = gguf.u32("tokenizer.ggml.eos_token_id") {
            stops.push(eos);
        }
        stops.sort_unstable();
        stops.dedup();
        Ok(Generator {
            gguf,
            model,
            tokenizer,
            template,
            stops,
        })
    }

    /// The model (to train an adapter on, or attach one).
    pub fn model_mut(&mut self) -> &mut Model {
        &mut self.model
    }

    /// The tokenizer.
    pub fn tokenizer(&self) -> &Tokenizer {
        &self.tokenizer
    }

    /// Tokens of context the model takes.
    pub fn context(&self) -> usize {
        self.gguf.hyper.context
    }

    /// Tokens of `text`.
    pub fn count(&self, text: &str) -> Result<usize> {
        Ok(tokenizer::encode(&self.tokenizer, text)?.len())
    }

    /// The prompt for a conversation (`(role, content)` pairs).
    pub fn prompt(&self, turns: &[(&str, &str)]) -> Result<String> {
        let turns: Vec<Turn<'_>> = turns
            .iter()
            .map(|(role, content)| Turn { role, content })
            .collect();
        self.template.render(&turns)
    }

    /// A training example: the prompt for `turns` followed by `answer`
    /// and the token that ends a turn, as token ids, with the index of the
    /// answer's first token (the loss is taken from there on).
    pub fn example(&self, turns: &[(&str, &str)], answer: &str) -> Result<(Vec<u32>, usize)> {
        let mut ids = tokenizer::encode(&self.tokenizer, &self.prompt(turns)?)?;
        let from = ids.len();
        ids.extend(tokenizer::encode(&self.tokenizer, answer)?);
        let end = STOP_TEXTS
            .iter()
            .find_map(|t| self.tokenizer.token_to_id(t))
            .or_else(|| self.stops.first().copied());
        ids.extend(end);
        Ok((ids, from))
    }

    /// Answers a conversation: at most `max_tokens` tokens; `on_text`
    /// gets the text as it grows (whole characters only).
    pub fn chat(
        &mut self,
        turns: &[(&str, &str)],
        max_tokens: usize,
        sampling: Sampling,
        on_text: &mut dyn FnMut(&str),
    ) -> Result<Generated> {
        let prompt = self.prompt(turns)?;
        self.complete(&prompt, max_tokens, sampling, on_text)
    }

    /// Continues `prompt` (already in the model's format).
    pub fn complete(
        &mut self,
        prompt: &str,
        max_tokens: usize,
        sampling: Sampling,
        on_text: &mut dyn FnMut(&str),
    ) -> Result<Generated> {
        let started = Instant::now();
        let ids = tokenizer::encode(&self.tokenizer, prompt)?;
        let context = self.context();
        if ids.len() >= context {
            return Err(Error::Tokenizer(format!(
                "a prompt of {} tokens does not fit the model's context of {context}",
                ids.len()
            )));
        }
        let max_tokens = max_tokens.min(context - ids.len());
        self.model.reset();
        let mut rng = SplitMix(sampling.seed);
        let mut logits = self.model.forward(&ids)?;
        let first_token_ms = started.elapsed().as_secs_f64() * 1000.0;
        let mut tokens: Vec<u32> = Vec::new();
        let mut shown = 0;
        let mut stopped = false;
        while tokens.len() < max_tokens {
            let next = pick(&logits, sampling, &mut rng)?;
            if self.stops.contains(&next) && !sampling.ignore_stops {
                stopped = true;
                break;
            }
            tokens.push(next);
            let text = tokenizer::decode(&self.tokenizer, &tokens)?;
            // A character split over tokens shows once it is whole.
            if !text.ends_with('\u{FFFD}') && text.len() > shown {
                on_text(&text[shown..]);
                shown = text.len();
            }
            if tokens.len() == max_tokens {
                break;
            }
            if sampling.stop_after_lines > 0
                && text.trim_start().matches('\n').count() >= sampling.stop_after_lines
            {
                stopped = true;
                break;
            }
            logits = self.model.forward(&[next])?;
        }
        let text = tokenizer::decode(&self.tokenizer, &tokens)?;
        if text.len() > shown {
            on_text(&text[shown..]);
        }
        Ok(Generated {
            text,
            tokens,
            prompt_tokens: ids.len(),
            first_token_ms,
            total_ms: started.elapsed().as_secs_f64() * 1000.0,
            stopped,
        })
    }
}

fn pick(logits: &Tensor, sampling: Sampling, rng: &mut SplitMix) -> Result<u32> {
    if sampling.temperature <= 0.0 {
        return argmax(logits);
    }
    let scaled: Vec<f32> = (logits / f64::from(sampling.temperature))?.to_vec1()?;
    let max = scaled.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let weights: Vec<f64> = scaled.iter().map(|l| f64::from(l - max).exp()).collect();
    let total: f64 = weights.iter().sum();
    let mut r = rng.next_f64() * total;
    for (i, w) in weights.iter().enumerate() {
        r -= w;
        if r <= 0.0 {
            return Ok(i as u32);
        }
    }
    Ok((weights.len() - 1) as u32)
}

/// SplitMix64: a small seeded generator.
pub(crate) struct SplitMix(pub(crate) u64);

impl SplitMix {
    pub(crate) fn next_f64(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64
    }
}
