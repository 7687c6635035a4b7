//! The chat template a GGUF carries (`tokenizer.chat_template`, Jinja as
//! Hugging Face writes it), rendered with `minijinja`. A file without one
//! gets ChatML, the most common format.

use serde::Serialize;

use crate::gguf::Gguf;
use crate::{Error, Result};

/// ChatML, for models that name no template.
const CHATML: &str = "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}";

/// One message of a conversation.
#[derive(Clone, Debug, Serialize)]
pub struct Turn<'a> {
    /// `system`, `user` or `assistant`.
    pub role: &'a str,
    /// The text.
    pub content: &'a str,
}

/// A model's chat template.
#[derive(Clone, Debug)]
pub struct ChatTemplate {
    source: String,
    bos: String,
    eos: String,
}

impl ChatTemplate {
    /// The template of `gguf`, with its BOS and EOS token texts.
    pub fn from_gguf(gguf: &Gguf) -> ChatTemplate {
        let token = |key: &str| {
            let id = gguf.u32(key)? as usize;
            gguf.content
                .metadata
                .get("tokenizer.ggml.tokens")?
                .to_vec()
                .ok()?
                .get(id)?
                .to_string()
                .ok()
                .cloned()
        };
        ChatTemplate {
            source: gguf
                .string("tokenizer.chat_template")
                .unwrap_or(CHATML)
                .to_owned(),
            bos: token("tokenizer.ggml.bos_token_id").unwrap_or_default(),
            eos: token("tokenizer.ggml.eos_token_id").unwrap_or_default(),
        }
    }

    /// A template from its source (tests, and models configured by hand).
    pub fn new(source: &str) -> ChatTemplate {
        ChatTemplate {
            source: source.to_owned(),
            bos: String::new(),
            eos: String::new(),
        }
    }

    /// The prompt for `turns`, ending where the assistant's answer starts.
    pub fn render(&self, turns: &[Turn<'_>]) -> Result<String> {
        let mut env = minijinja::Environment::new();
        env.add_function(
            "raise_exception",
            |message: String| -> std::result::Result<String, minijinja::Error> {
                Err(minijinja::Error::new(
                    minijinja::ErrorKind::InvalidOperation,
                    message,
                ))
            },
        );
        env.add_template("chat", &self.source)
            .map_err(|e| Error::Template(e.to_string()))?;
        let template = env
            .get_template("chat")
            .map_err(|e| Error::Template(e.to_string()))?;
        template
            .render(minijinja::context! {
                messages => turns,
                add_generation_prompt => true,
                bos_token => self.bos,
                eos_token => self.eos,
            })
            .map_err(|e| Error::Template(e.to_string()))
    }
}
