//! The local provider: a GGUF model run in this process on the CPU
//! (`provider.kind = "local"`, `provider.model = "/path/to/model.gguf"`).
//! Nothing leaves the machine. Loaded models are kept per process — the
//! two most recently used — so a server does not reload one per question.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use lore_llm::lora::Adapter;
use lore_llm::{Generator, Sampling};

use crate::error::{Error, Result};
use crate::provider::{
    AdapterChoice, ChatProvider, ChatRequest, ChatResponse, Health, ProviderConfig, Usage,
};

/// Things loaded from files, the `cap` most recently used kept.
#[derive(Debug)]
pub struct Kept<T> {
    cap: usize,
    items: Vec<(PathBuf, Arc<T>)>,
}

impl<T> Kept<T> {
    /// An empty cache of at most `cap` things.
    pub const fn new(cap: usize) -> Kept<T> {
        Kept {
            cap,
            items: Vec::new(),
        }
    }

    /// The thing loaded from `path`, loading it if it is not kept (and
    /// letting go of the least recently used one beyond `cap`).
    pub fn get<E>(
        &mut self,
        path: &Path,
        load: impl FnOnce(&Path) -> std::result::Result<T, E>,
    ) -> std::result::Result<Arc<T>, E> {
        if let Some(i) = self.items.iter().position(|(p, _)| p == path) {
            let entry = self.items.remove(i);
            let thing = entry.1.clone();
            self.items.push(entry);
            return Ok(thing);
        }
        let thing = Arc::new(load(path)?);
        self.items.push((path.to_owned(), thing.clone()));
        if self.items.len() > self.cap {
            self.items.remove(0);
        }
        Ok(thing)
    }

    /// The paths kept, least recently used first.
    pub fn paths(&self) -> Vec<&Path> {
        self.items.iter().map(|(p, _)| p.as_path()).collect()
    }
}

/// Models kept loaded per process.
static MODELS: Mutex<Kept<Mutex<Generator>>> = Mutex::new(Kept::new(2));
/// Adapters kept loaded per process.
static ADAPTERS: Mutex<Kept<Adapter>> = Mutex::new(Kept::new(3));

/// The model at `path`, loaded once per process.
pub fn generator(path: &Path) -> Result<Arc<Mutex<Generator>>> {
    MODELS
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(path, |p| {
            Generator::load(p)
                .map(Mutex::new)
                .map_err(|e| Error::Provider {
                    url: p.display().to_string(),
                    what: e.to_string(),
                })
        })
}

/// An adapter, loaded once per process.
fn adapter(dir: &Path) -> std::result::Result<Arc<Adapter>, String> {
    ADAPTERS
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(dir, |d| Adapter::load(d).map_err(|e| e.to_string()))
}

/// BLAKE3 of the model file at `path`, once per process.
fn model_hash(path: &Path) -> std::result::Result<String, String> {
    static HASHES: Mutex<Kept<String>> = Mutex::new(Kept::new(8));
    HASHES
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(path, |p| {
            lore_llm::gguf::file_hash(p).map_err(|e| e.to_string())
        })
        .map(|h| h.as_ref().clone())
}

/// Puts the repository's adapter on `model` (or takes any off); what it
/// wears, for the answer's model name, or why it answers with the base.
fn wear(
    model: &mut Generator,
    path: &Path,
    choice: Option<&AdapterChoice>,
) -> (Option<u32>, Option<String>) {
    model.model_mut().clear_lora();
    let Some(choice) = choice else {
        return (None, None);
    };
    let fallback = |why: String| {
        (
            None,
            Some(format!(
                "adapter v{} not used ({why}): the base model answers",
                choice.version
            )),
        )
    };
    match model_hash(path) {
        Ok(h) if h == choice.base_hash => {}
        Ok(_) => return fallback("it was trained on another base model".into()),
        Err(e) => return fallback(e),
    }
    match adapter(&choice.dir).and_then(|a| a.attach(model.model_mut()).map_err(|e| e.to_string()))
    {
        Ok(()) => (Some(choice.version), None),
        Err(e) => {
            model.model_mut().clear_lora();
            fallback(e)
        }
    }
}

/// A chat model in this process.
#[derive(Debug)]
pub struct LocalProvider {
    config: ProviderConfig,
}

impl LocalProvider {
    /// The provider for `config` (its `model` is the GGUF's path); the
    /// model loads at the first question.
    pub fn new(config: ProviderConfig) -> LocalProvider {
        LocalProvider { config }
    }

    fn path(&self) -> &Path {
        Path::new(&self.config.model)
    }
}

impl ChatProvider for LocalProvider {
    fn config(&self) -> &ProviderConfig {
        &self.config
    }

    fn chat(&self, request: &ChatRequest, on_text: &mut dyn FnMut(&str)) -> Result<ChatResponse> {
        let started = Instant::now();
        let model = generator(self.path())?;
        let mut model = model.lock().unwrap_or_else(|e| e.into_inner());
        let (wearing, notice) = wear(&mut model, self.path(), self.config.adapter.as_ref());
        let turns: Vec<(&str, &str)> = request
            .messages
            .iter()
            .map(|m| (m.role.as_str(), m.content.as_str()))
            .collect();
        let sampling = Sampling {
            temperature: request.temperature,
            ..Sampling::default()
        };
        let max_tokens = request.max_tokens.unwrap_or(512) as usize;
        let done = model
            .chat(&turns, max_tokens, sampling, on_text)
            .map_err(|e| Error::Provider {
                url: self.config.model.clone(),
                what: e.to_string(),
            })?;
        let name = match wearing {
            Some(v) => format!("{} + adapter v{v}", model.gguf.name()),
            None => model.gguf.name(),
        };
        Ok(ChatResponse {
            text: done.text,
            model: name,
            notice,
            usage: Usage {
                prompt: done.prompt_tokens as u64,
                completion: done.tokens.len() as u64,
                reported: true,
            },
            latency_ms: started.elapsed().as_millis() as u64,
        })
    }

    fn context_window(&self) -> Option<usize> {
        let model = generator(self.path()).ok()?;
        let model = model.lock().unwrap_or_else(|e| e.into_inner());
        Some(model.context())
    }

    fn health(&self) -> Health {
        let started = Instant::now();
        let url = self.config.model.clone();
        match lore_llm::Gguf::open(self.path()) {
            Ok(gguf) => Health {
                url,
                reachable: true,
                models: vec![gguf.name()],
                model_available: true,
                latency_ms: started.elapsed().as_millis() as u64,
                error: None,
            },
            Err(e) => Health {
                url,
                reachable: false,
                models: Vec::new(),
                model_available: false,
                latency_ms: started.elapsed().as_millis() as u64,
                error: Some(e.to_string()),
            },
        }
    }
}

/// The adapter to wear for the repository whose data directory is
/// `data_dir` (`lore adapt`): for code in `language`, that language's
/// adapter in force if there is one; else the repository's.
pub fn adapter_for(data_dir: &Path, language: Option<&str>) -> Option<AdapterChoice> {
    lore_index::adapt::Adapters::for_language(data_dir, language)
        .ok()
        .flatten()
        .map(|(v, dir)| AdapterChoice {
            dir,
            version: v.version,
            base_hash: v.base_hash,
        })
}

/// A completion of code.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Completed {
    /// The lines written (without the prompt).
    pub text: String,
    /// The model, and the adapter it wore.
    pub model: String,
    /// The adapter version worn, if any.
    pub adapter: Option<u32>,
    /// Why no adapter was worn, when one is in force but could not be.
    pub notice: Option<String>,
    /// Tokens generated.
    pub tokens: usize,
    /// Milliseconds in all.
    pub ms: f64,
}

/// The next `lines` lines after `prompt` (code up to the cursor, ending
/// without its line break), greedy, by the local model of `config`
/// wearing its adapter.
pub fn complete(config: &ProviderConfig, prompt: &str, lines: usize) -> Result<Completed> {
    let path = Path::new(&config.model);
    let model = generator(path)?;
    let mut model = model.lock().unwrap_or_else(|e| e.into_inner());
    let (wearing, notice) = wear(&mut model, path, config.adapter.as_ref());
    let sampling = Sampling {
        stop_after_lines: lines.max(1),
        ..Sampling::default()
    };
    let done = model
        .complete(prompt, 64 * lines.max(1), sampling, &mut |_| {})
        .map_err(|e| Error::Provider {
            url: config.model.clone(),
            what: e.to_string(),
        })?;
    // The text up to the last complete line asked for.
    let body = done.text.trim_start_matches(['\r', '\n']);
    let text: String = body
        .split_inclusive('\n')
        .take(lines.max(1))
        .collect::<String>()
        .trim_end_matches(['\r', '\n'])
        .to_owned();
    let name = match wearing {
        Some(v) => format!("{} + adapter v{v}", model.gguf.name()),
        None => model.gguf.name(),
    };
    Ok(Completed {
        text,
        model: name,
        adapter: wearing,
        notice,
        tokens: done.tokens.len(),
        ms: (done.total_ms * 10.0).round() / 10.0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_least_recently_used_is_let_go() {
        let mut kept: Kept<String> = Kept::new(2);
        let mut loads = 0;
        let mut get = |kept: &mut Kept<String>, p: &str| {
            kept.get(Path::new(p), |p| {
                loads += 1;
                Ok::<_, ()>(p.display().to_string())
            })
            .unwrap();
        };
        get(&mut kept, "a");
        get(&mut kept, "b");
        get(&mut kept, "a");
        get(&mut kept, "c");
        assert_eq!(kept.paths(), [Path::new("a"), Path::new("c")]);
        get(&mut kept, "a");
        assert_eq!(loads, 3, "a stayed loaded");
        let failed = kept.get(Path::new("d"), |_| Err::<String, _>("broken"));
        assert_eq!(failed.unwrap_err(), "broken");
        assert_eq!(kept.paths().len(), 2);
    }
}
