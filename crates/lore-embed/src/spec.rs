//! Which embedder computes a repository's transformer vectors, as a
//! one-line spec that config files, flags and the index record.
//!
//! - `learned` — only the per-repository learned model (the default);
//! - `local:DIR` or `local:DIR?tokens=N` — a sentence-transformers model
//!   directory run with candle (feature `local`);
//! - `openai:MODEL[@BASE_URL]` — an OpenAI-compatible endpoint (default
//!   `https://api.openai.com/v1`; key from `LORE_EMBED_API_KEY` or
//!   `OPENAI_API_KEY`);
//! - `ollama:MODEL[@BASE_URL]` — Ollama (default `http://127.0.0.1:11434`).

use std::fmt;
use std::path::PathBuf;

use lore_core::embed::Embedder;

use crate::error::{Error, Result};
use crate::remote::{RemoteApi, RemoteConfig, RemoteEmbedder};

/// A parsed embedder spec.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EmbedderSpec {
    /// The learned model only: no transformer vectors.
    Learned,
    /// A local model directory.
    Local {
        dir: PathBuf,
        /// Token limit per text (`None`: the default).
        tokens: Option<usize>,
    },
    /// A remote endpoint.
    Remote {
        api: RemoteApi,
        model: String,
        base_url: String,
    },
}

impl EmbedderSpec {
    /// Parses a spec; the error says what was expected.
    pub fn parse(spec: &str) -> Result<EmbedderSpec> {
        let invalid = |why: &str| Error::Spec {
            spec: spec.to_owned(),
            what: why.to_owned(),
        };
        let spec_trim = spec.trim();
        if spec_trim == "learned" {
            return Ok(EmbedderSpec::Learned);
        }
        let (kind, rest) = spec_trim.split_once(':').ok_or_else(|| {
            invalid("expected learned, local:DIR, openai:MODEL[@URL] or ollama:MODEL[@URL]")
        })?;
        match kind {
            "local" => {
                let (dir, tokens) = match rest.rsplit_once("?tokens=") {
                    Some((dir, n)) => {
                        let n = n
                            .parse::<usize>()
                            .map_err(|_| invalid("tokens must be a number, e.g. ?tokens=256"))?;
                        (dir, Some(n))
                    }
                    None => (rest, None),
                };
                if dir.is_empty() {
                    return Err(invalid("local: needs a model directory"));
                }
                Ok(EmbedderSpec::Local {
                    dir: PathBuf::from(dir),
                    tokens,
                })
            }
            "openai" | "ollama" => {
                let (api, default_url) = if kind == "openai" {
                    (RemoteApi::OpenAi, "https://api.openai.com/v1")
                } else {
                    (RemoteApi::Ollama, "http://127.0.0.1:11434")
                };
                let (model, url) = match rest.split_once('@') {
                    Some((model, url)) => (model, url),
                    None => (rest, default_url),
                };
                if model.is_empty() {
                    return Err(invalid("the model name is missing"));
                }
                // Strict, so that the host recorded is the host asked
                // (no `user@`, which would move it).
                lore_core::Endpoint::parse(url).map_err(|refused| invalid(refused.why))?;
                Ok(EmbedderSpec::Remote {
                    api,
                    model: model.to_owned(),
                    base_url: url.trim_end_matches('/').to_owned(),
                })
            }
            _ => Err(invalid(
                "unknown embedder; expected learned, local:DIR, openai:MODEL[@URL] or ollama:MODEL[@URL]",
            )),
        }
    }

    /// True for `learned`.
    pub fn is_learned(&self) -> bool {
        matches!(self, EmbedderSpec::Learned)
    }

    /// The embedder kind as `lore embed status` shows it.
    pub fn kind(&self) -> &'static str {
        match self {
            EmbedderSpec::Learned => "learned",
            EmbedderSpec::Local { .. } => "local",
            EmbedderSpec::Remote { api, .. } => api.name(),
        }
    }

    /// Loads or connects to the embedder (`None` for `learned`, whose
    /// model lives in the index). `dims`, when known, spares a remote
    /// endpoint the probe request.
    pub fn open(&self, dims: Option<usize>) -> Result<Option<Box<dyn Embedder>>> {
        match self {
            EmbedderSpec::Learned => Ok(None),
            #[cfg(feature = "local")]
            EmbedderSpec::Local { dir, tokens } => {
                let mut config = crate::LocalConfig::default();
                if let Some(n) = tokens {
                    config.max_tokens = *n;
                }
                Ok(Some(Box::new(crate::LocalModel::load(dir, &config)?)))
            }
            #[cfg(not(feature = "local"))]
            EmbedderSpec::Local { dir, .. } => Err(Error::Model {
                path: dir.clone(),
                what: "this build of lore has no local models (cargo feature `local`)".into(),
            }),
            EmbedderSpec::Remote {
                api,
                model,
                base_url,
            } => {
                let mut config = RemoteConfig::new(*api, base_url, model);
                config.api_key = std::env::var("LORE_EMBED_API_KEY")
                    .ok()
                    .or_else(|| {
                        (*api == RemoteApi::OpenAi)
                            .then(|| std::env::var("OPENAI_API_KEY").ok())
                            .flatten()
                    })
                    .filter(|k| !k.is_empty());
                let embedder = match dims {
                    Some(d) => RemoteEmbedder::with_dims(config, d),
                    None => RemoteEmbedder::connect(config)?,
                };
                Ok(Some(Box::new(embedder)))
            }
        }
    }
}

impl fmt::Display for EmbedderSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EmbedderSpec::Learned => f.write_str("learned"),
            EmbedderSpec::Local { dir, tokens } => {
                write!(f, "local:{}", dir.display())?;
                if let Some(n) = tokens {
                    write!(f, "?tokens={n}")?;
                }
                Ok(())
            }
            EmbedderSpec::Remote {
                api,
                model,
                base_url,
            } => write!(f, "{}:{model}@{base_url}", api.name()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_round_trips() {
        for spec in [
            "learned",
            "local:/models/minilm",
            "local:/models/minilm?tokens=256",
            "openai:text-embedding-3-small@https://api.openai.com/v1",
            "ollama:nomic-embed-code@http://127.0.0.1:11434",
        ] {
            let parsed = EmbedderSpec::parse(spec).unwrap();
            assert_eq!(parsed.to_string(), spec);
        }
        assert_eq!(
            EmbedderSpec::parse("ollama:bge-m3").unwrap().to_string(),
            "ollama:bge-m3@http://127.0.0.1:11434"
        );
        for bad in [
            "",
            "bert",
            "local:",
            "openai:@http://x",
            "ollama:m@ftp://x",
            "local:d?tokens=x",
            "ollama:m@http://localhost:1@192.0.2.2:18800",
            "openai:m@http://user:pw@127.0.0.1/v1",
        ] {
            let err = EmbedderSpec::parse(bad).unwrap_err().to_string();
            assert!(err.contains(&format!("{bad:?}")), "{err}");
        }
        let err = EmbedderSpec::parse("ollama:m@http://localhost:1@192.0.2.2:18800")
            .unwrap_err()
            .to_string();
        assert!(err.contains("user names"), "{err}");
    }
}
