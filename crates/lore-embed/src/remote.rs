//! Remote embedders: OpenAI-compatible `/v1/embeddings` (OpenAI, vLLM,
//! llama.cpp server, LM Studio, …) and Ollama `/api/embed`.
//!
//! Texts go in batches; a batch that fails with 429, a 5xx or a transport
//! error is retried with exponential backoff and jitter (honouring
//! `Retry-After`), other errors fail at once with the server's message.

use std::time::Duration;

use lore_core::embed::{Embedder, normalize};
use lore_core::retry;
use serde_json::{Value, json};

use crate::error::{Error, Result};

/// The wire format of a remote endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RemoteApi {
    /// `POST {base}/v1/embeddings` with `{model, input: [...]}`.
    OpenAi,
    /// `POST {base}/api/embed` with `{model, input: [...]}`.
    Ollama,
}

impl RemoteApi {
    /// The name used in specs and model ids.
    pub fn name(self) -> &'static str {
        match self {
            RemoteApi::OpenAi => "openai",
            RemoteApi::Ollama => "ollama",
        }
    }
}

/// Where and how to reach a remote embedder.
#[derive(Clone, Debug)]
pub struct RemoteConfig {
    /// Wire format.
    pub api: RemoteApi,
    /// Base URL, e.g. `https://api.openai.com/v1` or `http://127.0.0.1:11434`.
    pub base_url: String,
    /// Model name as the server knows it.
    pub model: String,
    /// Bearer token, if the server wants one.
    pub api_key: Option<String>,
    /// Texts per request.
    pub batch_size: usize,
    /// Retries of a failed batch before giving up.
    pub retries: u32,
    /// First backoff; doubled on each retry.
    pub backoff: Duration,
    /// Time limit of one request.
    pub timeout: Duration,
}

impl RemoteConfig {
    /// A config with the usual defaults for everything but the endpoint.
    pub fn new(api: RemoteApi, base_url: &str, model: &str) -> RemoteConfig {
        RemoteConfig {
            api,
            base_url: base_url.trim_end_matches('/').to_owned(),
            model: model.to_owned(),
            api_key: None,
            batch_size: 64,
            retries: 5,
            backoff: Duration::from_millis(500),
            timeout: Duration::from_secs(120),
        }
    }

    fn url(&self) -> String {
        let base = &self.base_url;
        match self.api {
            RemoteApi::OpenAi if base.ends_with("/embeddings") => base.clone(),
            RemoteApi::OpenAi if base.ends_with("/v1") => format!("{base}/embeddings"),
            RemoteApi::OpenAi => format!("{base}/v1/embeddings"),
            RemoteApi::Ollama if base.ends_with("/api/embed") => base.clone(),
            RemoteApi::Ollama => format!("{base}/api/embed"),
        }
    }
}

/// An embedding model behind an HTTP endpoint.
#[derive(Debug)]
pub struct RemoteEmbedder {
    config: RemoteConfig,
    agent: ureq::Agent,
    url: String,
    id: String,
    dims: usize,
}

/// A failed attempt: worth retrying or not.
enum Attempt {
    Retry(String, Option<Duration>),
    Fatal(String),
}

impl RemoteEmbedder {
    /// Connects: embeds one probe text to learn the vector length, so a
    /// wrong URL, model or key fails here with the server's message.
    pub fn connect(config: RemoteConfig) -> Result<RemoteEmbedder> {
        let mut embedder = RemoteEmbedder::unconnected(config);
        let probe = embedder.request_with_retries(&["dimension probe"])?;
        embedder.dims = probe.first().map_or(0, Vec::len);
        if embedder.dims == 0 {
            return Err(embedder.error("the server returned an empty vector"));
        }
        Ok(embedder)
    }

    /// An embedder for an endpoint whose vector length is known (from
    /// vectors it made before): no probe request.
    pub fn with_dims(config: RemoteConfig, dims: usize) -> RemoteEmbedder {
        let mut embedder = RemoteEmbedder::unconnected(config);
        embedder.dims = dims;
        embedder
    }

    fn unconnected(config: RemoteConfig) -> RemoteEmbedder {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(config.timeout))
            .http_status_as_error(false)
            // A redirect could lead from this machine to another one.
            .max_redirects(0)
            .build()
            .into();
        let url = config.url();
        let host = url
            .split("://")
            .nth(1)
            .and_then(|rest| rest.split('/').next())
            .unwrap_or(&url)
            .to_owned();
        RemoteEmbedder {
            id: format!("{}:{}@{host}", config.api.name(), config.model),
            config,
            agent,
            url,
            dims: 0,
        }
    }

    fn error(&self, what: impl std::fmt::Display) -> Error {
        Error::Remote {
            url: self.url.clone(),
            what: what.to_string(),
        }
    }

    fn request_with_retries(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        let mut attempt = 0;
        loop {
            match self.request(texts) {
                Ok(vectors) => return Ok(vectors),
                Err(Attempt::Fatal(what)) => return Err(self.error(what)),
                Err(Attempt::Retry(what, _)) if attempt >= self.config.retries => {
                    return Err(self.error(format!("{what} (gave up after {attempt} retries)")));
                }
                Err(Attempt::Retry(what, after)) => {
                    let wait = retry::backoff(self.config.backoff, attempt, after);
                    tracing::warn!(url = %self.url, %what, ?wait, "embedding request failed; retrying");
                    std::thread::sleep(wait);
                    attempt += 1;
                }
            }
        }
    }

    fn request(&self, texts: &[&str]) -> std::result::Result<Vec<Vec<f32>>, Attempt> {
        let body = json!({"model": self.config.model, "input": texts});
        let mut request = self.agent.post(&self.url);
        if let Some(key) = &self.config.api_key {
            request = request.header("Authorization", &format!("Bearer {key}"));
        }
        let mut response = match request.send_json(&body) {
            Ok(r) => r,
            Err(e) => return Err(Attempt::Retry(e.to_string(), None)),
        };
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(retry::parse_retry_after);
        let text = response
            .body_mut()
            .with_config()
            .limit(256 << 20)
            .read_to_string()
            .map_err(|e| Attempt::Retry(format!("reading the response: {e}"), None))?;
        if retry::is_retryable(status) {
            return Err(Attempt::Retry(
                format!("HTTP {status}: {}", retry::snippet(&text)),
                retry_after,
            ));
        }
        if status != 200 {
            return Err(Attempt::Fatal(format!(
                "HTTP {status}: {}",
                retry::snippet(&text)
            )));
        }
        let value: Value = serde_json::from_str(&text).map_err(|e| {
            Attempt::Fatal(format!("malformed JSON ({e}): {}", retry::snippet(&text)))
        })?;
        let vectors = match self.config.api {
            RemoteApi::OpenAi => parse_openai(&value),
            RemoteApi::Ollama => parse_ollama(&value),
        }
        .ok_or_else(|| Attempt::Fatal(format!("unexpected response: {}", retry::snippet(&text))))?;
        if vectors.len() != texts.len() {
            return Err(Attempt::Fatal(format!(
                "{} vectors for {} texts",
                vectors.len(),
                texts.len()
            )));
        }
        Ok(vectors)
    }
}

fn floats(value: &Value) -> Option<Vec<f32>> {
    value
        .as_array()?
        .iter()
        .map(|x| x.as_f64().map(|x| x as f32))
        .collect()
}

/// `{"data": [{"index": i, "embedding": [...]}, ...]}`, in any order.
fn parse_openai(value: &Value) -> Option<Vec<Vec<f32>>> {
    let data = value.get("data")?.as_array()?;
    let mut rows: Vec<(u64, Vec<f32>)> = data
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let index = item
                .get("index")
                .and_then(Value::as_u64)
                .unwrap_or(i as u64);
            Some((index, floats(item.get("embedding")?)?))
        })
        .collect::<Option<_>>()?;
    rows.sort_by_key(|(i, _)| *i);
    Some(rows.into_iter().map(|(_, v)| v).collect())
}

/// `{"embeddings": [[...], ...]}`.
fn parse_ollama(value: &Value) -> Option<Vec<Vec<f32>>> {
    value
        .get("embeddings")?
        .as_array()?
        .iter()
        .map(floats)
        .collect()
}

impl Embedder for RemoteEmbedder {
    fn model_id(&self) -> &str {
        &self.id
    }

    fn dims(&self) -> usize {
        self.dims
    }

    fn embed(&self, texts: &[&str]) -> lore_core::Result<Vec<Vec<f32>>> {
        let mut out = Vec::with_capacity(texts.len());
        for batch in texts.chunks(self.config.batch_size.max(1)) {
            for mut v in self.request_with_retries(batch)? {
                if v.len() != self.dims {
                    return Err(self
                        .error(format!(
                            "a vector of {} dimensions, expected {}",
                            v.len(),
                            self.dims
                        ))
                        .into());
                }
                normalize(&mut v);
                out.push(v);
            }
        }
        Ok(out)
    }
}
