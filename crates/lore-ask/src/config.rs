//! Settings of asking: provider, models, context budget, privacy.
//!
//! Read from `LORE_HOME/config.toml`, then environment variables
//! (`LORE_PROVIDER`, `LORE_BASE_URL`, `LORE_MODEL`, `LORE_API_KEY`, and the
//! provider's usual key variable such as `OPENAI_API_KEY`), then flags.
//! `lore config set KEY VALUE` edits the file by dotted key and refuses a
//! value the settings cannot hold, naming the key.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::pack::ContextPolicy;
use crate::provider::{ProviderConfig, ProviderKind};
use crate::question::Question;
use crate::{Error, Result};

/// Everything in `config.toml`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// The chat provider.
    pub provider: ProviderSettings,
    /// What goes into the context.
    pub context: ContextPolicy,
    /// What may leave this machine.
    pub privacy: Privacy,
}

/// The chat provider's settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ProviderSettings {
    /// `none` (extractive answers only), `openai` (any OpenAI-compatible
    /// server) or `ollama`.
    pub kind: String,
    /// Base URL; empty for the kind's default.
    pub base_url: String,
    /// The model for every question, unless routing picks another.
    pub model: String,
    /// Model for simple questions (routing; empty: `model`).
    pub small_model: String,
    /// Model for complex questions (routing; empty: `model`).
    pub large_model: String,
    /// Name of the environment variable holding the API key.
    pub api_key_env: String,
    /// Seconds before a request is given up.
    pub timeout_secs: u64,
    /// Retries of a failed request before its first token.
    pub retries: u32,
}

impl Default for ProviderSettings {
    fn default() -> ProviderSettings {
        ProviderSettings {
            kind: "none".into(),
            base_url: String::new(),
            model: String::new(),
            small_model: String::new(),
            large_model: String::new(),
            api_key_env: "OPENAI_API_KEY".into(),
            timeout_secs: 120,
            retries: 4,
        }
    }
}

/// What may leave this machine.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Privacy {
    /// Refuse providers that are not on loopback.
    pub no_remote: bool,
    /// Redact secrets for loopback providers too.
    pub redact_local: bool,
}

/// The model a question is sent to, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Route {
    /// The model.
    pub model: String,
    /// `flag`, `small`, `large` or `default`.
    pub reason: &'static str,
}

impl Config {
    /// The config file under `home`.
    pub fn path(home: &Path) -> PathBuf {
        home.join("config.toml")
    }

    /// Reads `path`; a missing file is the default configuration.
    pub fn load(path: &Path) -> Result<Config> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Config::default()),
            Err(source) => {
                return Err(Error::Io {
                    path: path.to_owned(),
                    source,
                });
            }
        };
        toml::from_str(&text).map_err(|e| Error::Config {
            name: path.display().to_string(),
            what: e.to_string().trim().to_owned(),
        })
    }

    /// Writes the configuration to `path` (atomically).
    pub fn save(&self, path: &Path) -> Result<()> {
        let text = toml::to_string_pretty(self).map_err(|e| Error::Config {
            name: path.display().to_string(),
            what: e.to_string(),
        })?;
        let io = |source| Error::Io {
            path: path.to_owned(),
            source,
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let tmp = path.with_extension("toml.tmp");
        std::fs::write(&tmp, text).map_err(io)?;
        std::fs::rename(&tmp, path).map_err(io)
    }

    /// The value at a dotted key (`provider.model`), as TOML text.
    pub fn get(&self, key: &str) -> Result<String> {
        let value = toml::Value::try_from(self).map_err(|e| Error::Config {
            name: key.into(),
            what: e.to_string(),
        })?;
        let mut at = &value;
        for part in key.split('.') {
            at = at.get(part).ok_or_else(|| unknown_key(key))?;
        }
        Ok(match at {
            toml::Value::String(s) => s.clone(),
            other => other.to_string(),
        })
    }

    /// Sets a dotted key from text (`true`, `12`, `0.2` or a string).
    pub fn set(&mut self, key: &str, value: &str) -> Result<()> {
        let mut table = toml::Value::try_from(&*self).map_err(|e| Error::Config {
            name: key.into(),
            what: e.to_string(),
        })?;
        let parts: Vec<&str> = key.split('.').collect();
        let (last, parents) = parts.split_last().ok_or_else(|| unknown_key(key))?;
        let mut at = &mut table;
        for part in parents {
            at = at.get_mut(*part).ok_or_else(|| unknown_key(key))?;
        }
        let slot = at
            .as_table_mut()
            .and_then(|t| t.get_mut(*last))
            .ok_or_else(|| unknown_key(key))?;
        *slot = match slot {
            toml::Value::String(_) => toml::Value::String(value.to_owned()),
            toml::Value::Boolean(_) => toml::Value::Boolean(
                value
                    .parse()
                    .map_err(|_| bad_value(key, value, "true or false"))?,
            ),
            toml::Value::Integer(_) => toml::Value::Integer(
                value
                    .parse()
                    .map_err(|_| bad_value(key, value, "a whole number"))?,
            ),
            toml::Value::Float(_) => toml::Value::Float(
                value
                    .parse()
                    .map_err(|_| bad_value(key, value, "a number"))?,
            ),
            _ => return Err(unknown_key(key)),
        };
        let updated: Config = table
            .try_into()
            .map_err(|e: toml::de::Error| bad_value(key, value, e.message()))?;
        updated.check()?;
        *self = updated;
        Ok(())
    }

    /// Refuses settings that cannot work, naming the key.
    pub fn check(&self) -> Result<()> {
        if self.provider.kind != "none" && ProviderKind::from_name(&self.provider.kind).is_none() {
            return Err(bad_value(
                "provider.kind",
                &self.provider.kind,
                "none, openai, ollama or local",
            ));
        }
        if self.context.budget_tokens < 500 {
            return Err(bad_value(
                "context.budget_tokens",
                &self.context.budget_tokens.to_string(),
                "at least 500",
            ));
        }
        if !(0.0..=2.0).contains(&self.context.temperature) {
            return Err(bad_value(
                "context.temperature",
                &self.context.temperature.to_string(),
                "between 0 and 2",
            ));
        }
        Ok(())
    }

    /// The provider to ask, after environment overrides: `None` when no
    /// provider is configured (extractive answers).
    pub fn provider(&self, env: &dyn Fn(&str) -> Option<String>) -> Result<Option<ProviderConfig>> {
        let kind = env("LORE_PROVIDER").unwrap_or_else(|| self.provider.kind.clone());
        if kind == "none" || kind.is_empty() {
            return Ok(None);
        }
        let kind = ProviderKind::from_name(&kind)
            .ok_or_else(|| bad_value("provider.kind", &kind, "none, openai, ollama or local"))?;
        let base_url = env("LORE_BASE_URL")
            .or_else(|| {
                (!self.provider.base_url.is_empty()).then(|| self.provider.base_url.clone())
            })
            .unwrap_or_else(|| kind.default_base_url().to_owned());
        let model = env("LORE_MODEL").unwrap_or_else(|| self.provider.model.clone());
        if model.is_empty() {
            return Err(Error::Config {
                name: "provider.model".into(),
                what: "no model is set: `lore config set provider.model NAME` or LORE_MODEL".into(),
            });
        }
        if kind == ProviderKind::Local {
            // The model is a file here; nothing is sent anywhere.
            if !std::path::Path::new(&model).is_file() {
                return Err(Error::Config {
                    name: "provider.model".into(),
                    what: format!(
                        "`{model}` is not a file: a local provider's model is the path of a GGUF file"
                    ),
                });
            }
            let mut config = ProviderConfig::new(kind, "local", &model);
            config.retries = 0;
            return Ok(Some(config));
        }
        if let Err(refused) = lore_core::Endpoint::parse(&base_url) {
            return Err(Error::Config {
                name: if env("LORE_BASE_URL").is_some() {
                    "LORE_BASE_URL".into()
                } else {
                    "provider.base_url".into()
                },
                what: refused.to_string(),
            });
        }
        let mut config = ProviderConfig::new(kind, &base_url, &model);
        config.api_key = env("LORE_API_KEY").or_else(|| env(&self.provider.api_key_env));
        config.timeout = Duration::from_secs(self.provider.timeout_secs.max(1));
        config.retries = self.provider.retries;
        Ok(Some(config))
    }

    /// The model for `question`: `--model` wins; otherwise complex
    /// questions (see [`Question::complex`]) go to `large_model` and the
    /// rest to `small_model`, each falling back to `model`.
    pub fn route(&self, question: &Question, flag: Option<&str>, default: &str) -> Route {
        if let Some(model) = flag {
            return Route {
                model: model.to_owned(),
                reason: "flag",
            };
        }
        let (model, reason) = if question.complex {
            (&self.provider.large_model, "large")
        } else {
            (&self.provider.small_model, "small")
        };
        if model.is_empty() {
            Route {
                model: default.to_owned(),
                reason: "default",
            }
        } else {
            Route {
                model: model.clone(),
                reason,
            }
        }
    }
}

fn unknown_key(key: &str) -> Error {
    Error::Config {
        name: key.into(),
        what: "no such setting (see `lore config`)".into(),
    }
}

fn bad_value(key: &str, value: &str, expected: &str) -> Error {
    Error::Config {
        name: key.into(),
        what: format!("`{value}` is not valid here: expected {expected}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_round_trip_through_the_file_and_bad_values_name_their_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = Config::path(dir.path());
        let mut config = Config::load(&path).unwrap();
        assert_eq!(config, Config::default());
        config.set("provider.kind", "ollama").unwrap();
        config.set("provider.model", "qwen2.5-coder:7b").unwrap();
        config.set("context.budget_tokens", "8000").unwrap();
        config.set("privacy.no_remote", "true").unwrap();
        config.save(&path).unwrap();

        let loaded = Config::load(&path).unwrap();
        assert_eq!(loaded, config);
        assert_eq!(loaded.get("provider.model").unwrap(), "qwen2.5-coder:7b");
        assert_eq!(loaded.get("context.budget_tokens").unwrap(), "8000");

        let err = config
            .set("context.budget_tokens", "lots")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("context.budget_tokens") && err.contains("lots"),
            "{err}"
        );
        let err = config
            .set("provider.kind", "gemini")
            .unwrap_err()
            .to_string();
        assert!(err.contains("provider.kind"), "{err}");
        let err = config
            .set("provider.colour", "red")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("provider.colour") && err.contains("no such setting"),
            "{err}"
        );

        std::fs::write(&path, "[provider]\nkind = 3\n").unwrap();
        let err = Config::load(&path).unwrap_err().to_string();
        assert!(err.contains("config.toml"), "{err}");
    }

    #[test]
    fn environment_overrides_the_file_and_routing_follows_complexity() {
        let mut config = Config::default();
        let none = |_: &str| None;
        assert!(config.provider(&none).unwrap().is_none());
        config.provider.kind = "openai".into();
        config.provider.model = "gpt-4o-mini".into();
        config.provider.large_model = "gpt-4o".into();
        let env = |k: &str| match k {
            "OPENAI_API_KEY" => Some("sk-1".to_owned()),
            "LORE_BASE_URL" => Some("http://127.0.0.1:8080/v1".to_owned()),
            _ => None,
        };
        let p = config.provider(&env).unwrap().unwrap();
        assert_eq!(p.base_url, "http://127.0.0.1:8080/v1");
        assert_eq!(p.api_key.as_deref(), Some("sk-1"));

        let simple = Question::parse("where is `send` defined?");
        let complex = Question::parse("why does `send` retry and what breaks if it stops?");
        assert_eq!(
            config.route(&simple, None, "gpt-4o-mini").model,
            "gpt-4o-mini"
        );
        assert_eq!(config.route(&complex, None, "gpt-4o-mini").model, "gpt-4o");
        assert_eq!(config.route(&complex, None, "x").reason, "large");
        assert_eq!(config.route(&complex, Some("m"), "x").model, "m");
    }

    #[test]
    fn a_provider_url_with_a_user_name_is_refused_naming_its_source() {
        let mut config = Config::default();
        config.provider.kind = "openai".into();
        config.provider.model = "m".into();
        config.provider.base_url = "http://localhost:1@192.0.2.2:18800".into();
        let err = config.provider(&|_| None).unwrap_err().to_string();
        assert!(
            err.contains("provider.base_url") && err.contains("user names"),
            "{err}"
        );
        config.provider.base_url = String::new();
        let env = |k: &str| (k == "LORE_BASE_URL").then(|| "http://u:p@127.0.0.1/v1".to_owned());
        let err = config.provider(&env).unwrap_err().to_string();
        assert!(err.contains("LORE_BASE_URL"), "{err}");
    }
}
