//! The local provider: a GGUF model run in this process on the CPU
//! (`provider.kind = "local"`, `provider.model = "/path/to/model.gguf"`).
//! Nothing leaves the machine. Loaded models are kept per process — the
//! two most recently used — so a server does not reload one per question.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

use lore_llm::lora::Adapter;
use lore_llm::{Generator, Sampling};

use crate::error::{Error, Result};
use crate::provider::{
    AdapterChoice, ChatProvider, ChatRequest, ChatResponse, Health, ProviderConfig, Usage,
};

/// Models kept loaded at once.
const KEPT: usize = 2;

type Loaded = Arc<Mutex<Generator>>;

/// Most recently used last.
fn loaded() -> &'static Mutex<Vec<(PathBuf, Loaded)>> {
    static LOADED: OnceLock<Mutex<Vec<(PathBuf, Loaded)>>> = OnceLock::new();
    LOADED.get_or_init(|| Mutex::new(Vec::new()))
}

/// The model at `path`, loaded once per process (the least recently used
/// of more than [`KEPT`] is let go).
pub fn generator(path: &Path) -> Result<Loaded> {
    let mut all = loaded().lock().unwrap_or_else(|e| e.into_inner());
    if let Some(i) = all.iter().position(|(p, _)| p == path) {
        let entry = all.remove(i);
        let model = entry.1.clone();
        all.push(entry);
        return Ok(model);
    }
    let model = Arc::new(Mutex::new(Generator::load(path).map_err(|e| {
        Error::Provider {
            url: path.display().to_string(),
            what: e.to_string(),
        }
    })?));
    all.push((path.to_owned(), model.clone()));
    if all.len() > KEPT {
        all.remove(0);
    }
    Ok(model)
}

/// Adapters kept loaded at once.
const ADAPTERS_KEPT: usize = 3;

/// An adapter, loaded once per process (the three most recently used are
/// kept).
fn adapter(dir: &Path) -> std::result::Result<Arc<Adapter>, String> {
    static LOADED: OnceLock<Mutex<Vec<(PathBuf, Arc<Adapter>)>>> = OnceLock::new();
    let mut all = LOADED
        .get_or_init(|| Mutex::new(Vec::new()))
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    if let Some(i) = all.iter().position(|(p, _)| p == dir) {
        let entry = all.remove(i);
        let a = entry.1.clone();
        all.push(entry);
        return Ok(a);
    }
    let a = Arc::new(Adapter::load(dir).map_err(|e| e.to_string())?);
    all.push((dir.to_owned(), a.clone()));
    if all.len() > ADAPTERS_KEPT {
        all.remove(0);
    }
    Ok(a)
}

/// BLAKE3 of the model file at `path`, once per process.
fn model_hash(path: &Path) -> std::result::Result<String, String> {
    static HASHES: OnceLock<Mutex<Vec<(PathBuf, String)>>> = OnceLock::new();
    let mut all = HASHES
        .get_or_init(|| Mutex::new(Vec::new()))
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    if let Some((_, h)) = all.iter().find(|(p, _)| p == path) {
        return Ok(h.clone());
    }
    let h = lore_llm::gguf::file_hash(path).map_err(|e| e.to_string())?;
    all.push((path.to_owned(), h.clone()));
    Ok(h)
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
