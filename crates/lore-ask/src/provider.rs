//! Chat providers behind one trait: OpenAI-compatible chat completions
//! (OpenAI, vLLM, llama.cpp server, LM Studio) and Ollama's `/api/chat`,
//! both streamed.
//!
//! A request that fails before the first streamed token with 429, a 5xx
//! or a transport error is retried with exponential backoff and jitter
//! (honouring `Retry-After`); other statuses fail at once with the
//! server's message. Once text has streamed out, a failure is final:
//! retrying would show the user the same words twice.

use std::io::{BufRead, BufReader};
use std::time::{Duration, Instant};

use lore_core::{Endpoint, EndpointError, retry};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The wire format of a chat endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProviderKind {
    /// `POST {base}/v1/chat/completions`, server-sent events.
    #[serde(rename = "openai")]
    OpenAi,
    /// `POST {base}/api/chat`, one JSON object per line.
    Ollama,
    /// A GGUF model run in this process (`model` is its path).
    Local,
}

impl ProviderKind {
    /// The name used in settings and records.
    pub fn name(self) -> &'static str {
        match self {
            ProviderKind::OpenAi => "openai",
            ProviderKind::Ollama => "ollama",
            ProviderKind::Local => "local",
        }
    }

    /// Where the kind's usual local server listens (llama.cpp server, vLLM
    /// and LM Studio use other ports: set `provider.base_url`).
    pub fn default_base_url(self) -> &'static str {
        match self {
            ProviderKind::OpenAi => "https://api.openai.com/v1",
            ProviderKind::Ollama => "http://127.0.0.1:11434",
            ProviderKind::Local => "local",
        }
    }

    /// Parses a settings name.
    pub fn from_name(name: &str) -> Option<ProviderKind> {
        match name {
            "openai" => Some(ProviderKind::OpenAi),
            "ollama" => Some(ProviderKind::Ollama),
            "local" => Some(ProviderKind::Local),
            _ => None,
        }
    }
}

/// Where and how to reach a chat model.
#[derive(Clone, Debug, PartialEq)]
pub struct ProviderConfig {
    /// Wire format.
    pub kind: ProviderKind,
    /// Base URL, e.g. `https://api.openai.com/v1` or `http://127.0.0.1:11434`.
    pub base_url: String,
    /// Model name as the server knows it.
    pub model: String,
    /// Bearer token, if the server wants one.
    pub api_key: Option<String>,
    /// Retries of a request that failed before streaming.
    pub retries: u32,
    /// First backoff; doubled on each retry.
    pub backoff: Duration,
    /// Longest silence while connecting or streaming.
    pub timeout: Duration,
    /// A local model's adapter for this repository (the version in force).
    pub adapter: Option<AdapterChoice>,
}

/// The adapter a local model should wear.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AdapterChoice {
    /// Its directory (`adapters/vN`).
    pub dir: std::path::PathBuf,
    /// Its version.
    pub version: u32,
    /// The base model it was trained on (BLAKE3 of the file).
    pub base_hash: String,
}

impl ProviderConfig {
    /// A config with the usual defaults for everything but the endpoint.
    pub fn new(kind: ProviderKind, base_url: &str, model: &str) -> ProviderConfig {
        ProviderConfig {
            kind,
            base_url: base_url.trim_end_matches('/').to_owned(),
            model: model.to_owned(),
            api_key: None,
            retries: 4,
            backoff: Duration::from_millis(500),
            timeout: Duration::from_secs(120),
            adapter: None,
        }
    }

    /// Whether the endpoint is on this machine (nothing leaves it), from
    /// the host requests really go to; a URL that does not parse strictly
    /// ([`Endpoint::parse`]) is not, and nothing is sent to it.
    pub fn is_loopback(&self) -> bool {
        self.kind == ProviderKind::Local || self.endpoint().is_ok_and(|e| e.is_loopback())
    }

    /// The parsed base URL, or why it is refused.
    pub fn endpoint(&self) -> std::result::Result<Endpoint, EndpointError> {
        Endpoint::parse(&self.base_url)
    }

    fn chat_url(&self) -> String {
        let base = &self.base_url;
        match self.kind {
            ProviderKind::OpenAi if base.ends_with("/chat/completions") => base.clone(),
            ProviderKind::OpenAi if base.ends_with("/v1") => format!("{base}/chat/completions"),
            ProviderKind::OpenAi => format!("{base}/v1/chat/completions"),
            ProviderKind::Ollama if base.ends_with("/api/chat") => base.clone(),
            ProviderKind::Ollama => format!("{base}/api/chat"),
            ProviderKind::Local => base.clone(),
        }
    }

    fn models_url(&self) -> String {
        let base = self
            .base_url
            .trim_end_matches("/chat/completions")
            .trim_end_matches("/api/chat");
        match self.kind {
            ProviderKind::OpenAi if base.ends_with("/v1") => format!("{base}/models"),
            ProviderKind::OpenAi => format!("{base}/v1/models"),
            ProviderKind::Ollama => format!("{base}/api/tags"),
            ProviderKind::Local => base.to_owned(),
        }
    }
}

/// One message of a conversation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    /// `system`, `user` or `assistant`.
    pub role: String,
    /// The text.
    pub content: String,
}

impl Message {
    /// A message with `role`.
    pub fn new(role: &str, content: impl Into<String>) -> Message {
        Message {
            role: role.to_owned(),
            content: content.into(),
        }
    }
}

/// What to ask a model.
#[derive(Clone, Debug)]
pub struct ChatRequest {
    /// The conversation, system prompt first.
    pub messages: Vec<Message>,
    /// Sampling temperature.
    pub temperature: f32,
    /// Most tokens to generate.
    pub max_tokens: Option<u32>,
}

/// Token counts of one exchange.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    /// Tokens of the prompt.
    pub prompt: u64,
    /// Tokens generated.
    pub completion: u64,
    /// True if the server reported the counts; false if they were counted
    /// here with the o200k tokenizer.
    pub reported: bool,
}

/// A model's answer.
#[derive(Clone, Debug, PartialEq)]
pub struct ChatResponse {
    /// The whole text.
    pub text: String,
    /// The model that answered, as the server names it.
    pub model: String,
    /// Token counts.
    pub usage: Usage,
    /// Wall time of the exchange, retries included.
    pub latency_ms: u64,
    /// Something the user should know about how it was answered (an
    /// adapter that could not be used, say).
    pub notice: Option<String>,
}

/// A provider's reachability.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Health {
    /// The endpoint asked.
    pub url: String,
    /// Whether it answered.
    pub reachable: bool,
    /// Models it offers (when it lists them).
    pub models: Vec<String>,
    /// Whether the configured model is among them.
    pub model_available: bool,
    /// Round trip of the listing.
    pub latency_ms: u64,
    /// The error, if unreachable.
    pub error: Option<String>,
}

/// A chat model behind some endpoint.
pub trait ChatProvider: Send + Sync {
    /// The configuration it was made from.
    fn config(&self) -> &ProviderConfig;

    /// Sends the conversation; `on_text` gets each piece of the answer as
    /// it streams in.
    fn chat(&self, request: &ChatRequest, on_text: &mut dyn FnMut(&str)) -> Result<ChatResponse>;

    /// Lists the server's models and times the round trip.
    fn health(&self) -> Health;

    /// Tokens of context the model takes, when the provider knows (a local
    /// model's file says; servers do not).
    fn context_window(&self) -> Option<usize> {
        None
    }
}

/// The prompt's token budget: the configured one, within the model's
/// context less the answer's tokens and a tenth for the difference between
/// the budget's tokenizer and the model's.
pub fn prompt_budget(provider: &dyn ChatProvider, budget: usize, answer_tokens: u32) -> usize {
    match provider.context_window() {
        Some(window) => budget.min(window.saturating_sub(answer_tokens as usize) * 9 / 10),
        None => budget,
    }
}

/// A provider for `config`.
pub fn open(config: ProviderConfig) -> Box<dyn ChatProvider> {
    match config.kind {
        ProviderKind::Local => Box::new(crate::local::LocalProvider::new(config)),
        _ => Box::new(HttpProvider::new(config)),
    }
}

/// Both wire formats over one blocking HTTP client.
#[derive(Debug)]
struct HttpProvider {
    config: ProviderConfig,
    agent: ureq::Agent,
}

/// A failed attempt: worth retrying or not.
enum Attempt {
    Retry(String, Option<Duration>),
    Fatal(String),
}

impl HttpProvider {
    fn new(config: ProviderConfig) -> HttpProvider {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_connect(Some(config.timeout.min(Duration::from_secs(15))))
            .timeout_recv_response(Some(config.timeout))
            .timeout_per_read(Some(config.timeout))
            .http_status_as_error(false)
            // A redirect could lead from this machine to another one.
            .max_redirects(0)
            .build()
            .into();
        HttpProvider { config, agent }
    }

    fn error(&self, url: &str, what: impl std::fmt::Display) -> Error {
        Error::Provider {
            url: url.to_owned(),
            what: what.to_string(),
        }
    }

    fn body(&self, request: &ChatRequest) -> serde_json::Value {
        let c = &self.config;
        match c.kind {
            ProviderKind::OpenAi => {
                let mut body = serde_json::json!({
                    "model": c.model,
                    "messages": request.messages,
                    "temperature": request.temperature,
                    "stream": true,
                    "stream_options": {"include_usage": true},
                });
                if let Some(max) = request.max_tokens {
                    body["max_tokens"] = max.into();
                }
                body
            }
            // Never `Local`: `open` gives it its own provider.
            ProviderKind::Ollama | ProviderKind::Local => {
                let mut options = serde_json::json!({"temperature": request.temperature});
                if let Some(max) = request.max_tokens {
                    options["num_predict"] = max.into();
                }
                serde_json::json!({
                    "model": c.model,
                    "messages": request.messages,
                    "stream": true,
                    "options": options,
                })
            }
        }
    }

    /// One attempt. `streamed` turns true once text reached `on_text`.
    fn attempt(
        &self,
        url: &str,
        body: &serde_json::Value,
        on_text: &mut dyn FnMut(&str),
        streamed: &mut bool,
    ) -> std::result::Result<(String, String, Option<Usage>), Attempt> {
        let mut request = self.agent.post(url);
        if let Some(key) = &self.config.api_key {
            request = request.header("Authorization", &format!("Bearer {key}"));
        }
        let mut response = request
            .send_json(body)
            .map_err(|e| Attempt::Retry(e.to_string(), None))?;
        let status = response.status().as_u16();
        if status != 200 {
            let retry_after = response
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .and_then(retry::parse_retry_after);
            let text = response
                .body_mut()
                .with_config()
                .limit(1 << 20)
                .read_to_string()
                .unwrap_or_default();
            let what = format!("HTTP {status}: {}", retry::snippet(&text));
            return Err(if retry::is_retryable(status) {
                Attempt::Retry(what, retry_after)
            } else {
                Attempt::Fatal(what)
            });
        }
        let reader = BufReader::new(response.body_mut().as_reader());
        let mut text = String::new();
        let mut model = self.config.model.clone();
        let mut usage = None;
        for line in reader.lines() {
            let line = line.map_err(|e| {
                let what = format!("reading the stream: {e}");
                if *streamed {
                    Attempt::Fatal(what)
                } else {
                    Attempt::Retry(what, None)
                }
            })?;
            let event = match self.config.kind {
                ProviderKind::OpenAi => {
                    let Some(data) = line.strip_prefix("data:") else {
                        continue;
                    };
                    let data = data.trim();
                    if data == "[DONE]" {
                        break;
                    }
                    parse_openai_event(data)
                }
                ProviderKind::Ollama | ProviderKind::Local => {
                    if line.trim().is_empty() {
                        continue;
                    }
                    parse_ollama_event(&line)
                }
            }
            .map_err(Attempt::Fatal)?;
            if let Some(m) = event.model {
                model = m;
            }
            if let Some(u) = event.usage {
                usage = Some(u);
            }
            if !event.text.is_empty() {
                *streamed = true;
                on_text(&event.text);
                text.push_str(&event.text);
            }
            if event.done {
                break;
            }
        }
        Ok((text, model, usage))
    }
}

/// One streamed event, whatever the wire format.
#[derive(Debug, Default)]
struct Event {
    text: String,
    model: Option<String>,
    usage: Option<Usage>,
    done: bool,
}

fn parse_openai_event(data: &str) -> std::result::Result<Event, String> {
    let value: serde_json::Value = serde_json::from_str(data).map_err(|e| {
        format!(
            "malformed JSON in the stream ({e}): {}",
            retry::snippet(data)
        )
    })?;
    if let Some(error) = value.get("error") {
        return Err(format!("the server reported an error: {error}"));
    }
    let text = value
        .pointer("/choices/0/delta/content")
        .and_then(|v| v.as_str())
        .unwrap_or("")
        .to_owned();
    let usage = value.get("usage").filter(|u| !u.is_null()).map(|u| Usage {
        prompt: u.get("prompt_tokens").and_then(|v| v.as_u64()).unwrap_or(0),
        completion: u
            .get("completion_tokens")
            .and_then(|v| v.as_u64())
            .unwrap_or(0),
        reported: true,
    });
    Ok(Event {
        text,
        model: value
            .get("model")
            .and_then(|v| v.as_str())
            .map(str::to_owned),
        usage,
        done: false,
    })
}

fn parse_ollama_event(line: &str) -> std::result::Result<Event, String> {
    let value: serde_json::Value = serde_json::from_str(line).map_err(|e| {
        format!(
            "malformed JSON in the stream ({e}): {}",
            retry::snippet(line)
        )
    })?;
    if let Some(error) = value.get("error") {
        return Err(format!("the server reported an error: {error}"));
    }
    let done = value.get("done").and_then(|v| v.as_bool()).unwrap_or(false);
    let usage = done.then(|| Usage {
        prompt: value
            .get("prompt_eval_count")
            .and_then(|v| v.as_u64())
            .unwrap_or(0),
        completion: value
            .get("eval_count")
            .and_then(|v| v.as_u64())
            .unwrap_or(0),
        reported: true,
    });
    Ok(Event {
        text: value
            .pointer("/message/content")
            .and_then(|v| v.as_str())
            .unwrap_or("")
            .to_owned(),
        model: value
            .get("model")
            .and_then(|v| v.as_str())
            .map(str::to_owned),
        usage,
        done,
    })
}

impl ChatProvider for HttpProvider {
    fn config(&self) -> &ProviderConfig {
        &self.config
    }

    fn chat(&self, request: &ChatRequest, on_text: &mut dyn FnMut(&str)) -> Result<ChatResponse> {
        let started = Instant::now();
        let url = self.config.chat_url();
        if let Err(refused) = self.config.endpoint() {
            return Err(self.error(&url, refused.why));
        }
        let body = self.body(request);
        let mut attempt = 0;
        loop {
            let mut streamed = false;
            match self.attempt(&url, &body, on_text, &mut streamed) {
                Ok((text, model, usage)) => {
                    let usage = usage.unwrap_or_else(|| Usage {
                        prompt: request
                            .messages
                            .iter()
                            .map(|m| crate::tokens::count(&m.content) as u64 + 4)
                            .sum(),
                        completion: crate::tokens::count(&text) as u64,
                        reported: false,
                    });
                    return Ok(ChatResponse {
                        text,
                        model,
                        usage,
                        latency_ms: started.elapsed().as_millis() as u64,
                        notice: None,
                    });
                }
                Err(Attempt::Fatal(what)) => return Err(self.error(&url, what)),
                Err(Attempt::Retry(what, _)) if streamed || attempt >= self.config.retries => {
                    return Err(
                        self.error(&url, format!("{what} (gave up after {attempt} retries)"))
                    );
                }
                Err(Attempt::Retry(what, after)) => {
                    let wait = retry::backoff(self.config.backoff, attempt, after);
                    tracing::warn!(%url, %what, ?wait, "chat request failed; retrying");
                    std::thread::sleep(wait);
                    attempt += 1;
                }
            }
        }
    }

    fn health(&self) -> Health {
        let url = self.config.models_url();
        let started = Instant::now();
        if let Err(refused) = self.config.endpoint() {
            return Health {
                url,
                reachable: false,
                models: Vec::new(),
                model_available: false,
                latency_ms: 0,
                error: Some(refused.to_string()),
            };
        }
        let mut request = self.agent.get(&url);
        if let Some(key) = &self.config.api_key {
            request = request.header("Authorization", &format!("Bearer {key}"));
        }
        let result = request.call().map_err(|e| e.to_string()).and_then(|mut r| {
            let status = r.status().as_u16();
            let text = r
                .body_mut()
                .with_config()
                .limit(16 << 20)
                .read_to_string()
                .map_err(|e| e.to_string())?;
            if status != 200 {
                return Err(format!("HTTP {status}: {}", retry::snippet(&text)));
            }
            let value: serde_json::Value = serde_json::from_str(&text)
                .map_err(|e| format!("malformed JSON ({e}): {}", retry::snippet(&text)))?;
            let (list, key) = match self.config.kind {
                ProviderKind::OpenAi => ("data", "id"),
                ProviderKind::Ollama | ProviderKind::Local => ("models", "name"),
            };
            Ok(value
                .get(list)
                .and_then(|v| v.as_array())
                .map(|items: &Vec<serde_json::Value>| {
                    items
                        .iter()
                        .filter_map(|m| m.get(key).and_then(|v| v.as_str()))
                        .map(str::to_owned)
                        .collect::<Vec<String>>()
                })
                .unwrap_or_default())
        });
        let latency_ms = started.elapsed().as_millis() as u64;
        match result {
            Ok(models) => Health {
                model_available: models.iter().any(|m| {
                    m == &self.config.model
                        || m.strip_suffix(":latest") == Some(self.config.model.as_str())
                }),
                url,
                reachable: true,
                models,
                latency_ms,
                error: None,
            },
            Err(error) => Health {
                url,
                reachable: false,
                models: Vec::new(),
                model_available: false,
                latency_ms,
                error: Some(error),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_is_told_from_remote() {
        let local = |url: &str| ProviderConfig::new(ProviderKind::OpenAi, url, "m").is_loopback();
        assert!(local("http://127.0.0.1:8080/v1"));
        assert!(local("http://localhost:11434"));
        assert!(local("http://[::1]:8000"));
        assert!(!local("https://api.openai.com/v1"));
        assert!(!local("http://192.168.1.5:11434"));
        assert!(!local("http://localhost.evil.example"));
        assert!(!local("http://127.example.com"));
        assert!(local("http://127.0.0.2"));
        // The host is what follows `@`: not this machine, and refused.
        assert!(!local("http://localhost:1@192.0.2.2:18800"));
    }

    #[test]
    fn nothing_is_sent_to_a_url_with_a_user_name() {
        let config = ProviderConfig::new(
            ProviderKind::OpenAi,
            "http://localhost:1@192.0.2.2:18800",
            "m",
        );
        let provider = open(config);
        let started = Instant::now();
        let err = provider
            .chat(
                &ChatRequest {
                    messages: vec![Message {
                        role: "user".into(),
                        content: "AKIAIOSFODNN7EXAMPLE".into(),
                    }],
                    temperature: 0.0,
                    max_tokens: None,
                },
                &mut |_| {},
            )
            .unwrap_err();
        assert!(err.to_string().contains("user names"), "{err}");
        // Refused before any connection (192.0.2.2 would time out).
        assert!(started.elapsed() < Duration::from_secs(2));
        let health = provider.health();
        assert!(!health.reachable);
        assert!(health.error.unwrap().contains("user names"));
    }

    #[test]
    fn urls_follow_the_wire_format() {
        let c = ProviderConfig::new(ProviderKind::OpenAi, "https://api.openai.com/v1/", "m");
        assert_eq!(c.chat_url(), "https://api.openai.com/v1/chat/completions");
        assert_eq!(c.models_url(), "https://api.openai.com/v1/models");
        let c = ProviderConfig::new(ProviderKind::Ollama, "http://127.0.0.1:11434", "m");
        assert_eq!(c.chat_url(), "http://127.0.0.1:11434/api/chat");
        assert_eq!(c.models_url(), "http://127.0.0.1:11434/api/tags");
    }
}
