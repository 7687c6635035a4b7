//! The tokenizer a GGUF carries: a byte-level BPE (`tokenizer.ggml.model =
//! gpt2`) rebuilt from its vocabulary and merges, with the pre-tokenizer
//! its `tokenizer.ggml.pre` names, matched to llama.cpp's rules for that
//! name (the reference the tests check ids against).

use candle_core::quantized::tokenizer::TokenizerFromGguf;
use tokenizers::Tokenizer;
use tokenizers::pre_tokenizers::PreTokenizerWrapper;
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::pre_tokenizers::digits::Digits;
use tokenizers::pre_tokenizers::sequence::Sequence;

use crate::gguf::Gguf;
use crate::{Error, Result};

/// The tokenizer of `gguf`.
pub fn from_gguf(gguf: &Gguf) -> Result<Tokenizer> {
    let mut tokenizer = Tokenizer::from_gguf(&gguf.content)
        .map_err(|e| gguf.error(format!("tokenizer metadata: {e}")))?;
    let prefix_space = gguf
        .content
        .metadata
        .get("tokenizer.ggml.add_space_prefix")
        .and_then(|v| v.to_bool().ok())
        .unwrap_or(false);
    let byte_level = ByteLevel::new(prefix_space, true, true);
    // llama.cpp's pre-tokenizers that candle's defaults do not match.
    let pre: Option<PreTokenizerWrapper> = match gguf.string("tokenizer.ggml.pre").unwrap_or("gpt2")
    {
        // Digits one by one, then GPT-2's split (SmolLM, StarCoder).
        "smollm" | "starcoder" | "refact" => {
            Some(Sequence::new(vec![Digits::new(true).into(), byte_level.into()]).into())
        }
        "gpt2" | "default" => Some(byte_level.into()),
        _ => None,
    };
    if let Some(pre) = pre {
        tokenizer.with_pre_tokenizer(Some(pre));
    }
    Ok(tokenizer)
}

/// Token ids of `text` (special tokens written in it are matched; nothing
/// is added around it).
pub fn encode(tokenizer: &Tokenizer, text: &str) -> Result<Vec<u32>> {
    tokenizer
        .encode(text, false)
        .map(|e| e.get_ids().to_vec())
        .map_err(|e| Error::Tokenizer(e.to_string()))
}

/// The text of `ids` (special tokens left out).
pub fn decode(tokenizer: &Tokenizer, ids: &[u32]) -> Result<String> {
    tokenizer
        .decode(ids, true)
        .map_err(|e| Error::Tokenizer(e.to_string()))
}
