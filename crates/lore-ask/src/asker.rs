//! [`Asker`]: one conversation of one repository with everything a question
//! needs around [`ask`](crate::ask) — configuration, routing, the history,
//! the audit log. Shared by `lore ask`/`lore chat`, the HTTP API and MCP.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use lore_core::history::{CandidateRecord, HistoryStore};
use lore_index::RepoIndex;
use lore_store::SqliteHistory;
use serde_json::{Value, json};

use crate::cache::Probe;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::pack::ContextPolicy;
use crate::provider::{self, ChatProvider};
use crate::question::Question;
use crate::redact::Redactor;
use crate::session::{self, AuditEntry};
use crate::{Answer, AskOptions, Mode};

/// Which conversation a question continues.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Thread {
    /// A new conversation.
    New,
    /// The repository's most recent conversation (a new one if none).
    Latest,
    /// This conversation.
    Id(i64),
}

/// Per-question choices of the caller.
#[derive(Clone, Debug, Default)]
pub struct AskRequest {
    /// Answer from the evidence alone.
    pub no_llm: bool,
    /// Refuse providers that are not on this machine.
    pub no_remote: bool,
    /// The model (overrides routing and `provider.model`).
    pub model: Option<String>,
    /// Who asks (the server's token user); the local user when `None`.
    /// Implicit feedback this question gives earlier answers (a re-ask, a
    /// follow-up) is theirs.
    pub user: Option<String>,
    /// Answer afresh even if the answer cache holds a valid answer.
    pub no_cache: bool,
}

/// An answer as stored.
#[derive(Debug)]
pub struct Asked {
    /// The answer.
    pub answer: Answer,
    /// Its id in the repository's history.
    pub id: i64,
    /// Why the model was chosen, when one answered.
    pub route: Option<&'static str>,
}

/// A conversation of one repository.
pub struct Asker {
    config: Config,
    history: SqliteHistory,
    redactor: Redactor,
    audit_path: PathBuf,
    /// The thinker's store, for function cards.
    thinker_db: PathBuf,
    conversation: i64,
    /// Why nothing is recorded, when the data directory cannot be written.
    unrecorded: Option<String>,
}

impl std::fmt::Debug for Asker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Asker")
            .field("conversation", &self.conversation)
            .finish()
    }
}

/// A non-empty environment variable (for [`Config::provider`]).
pub fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// Seconds since the epoch.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// The configuration in `home` (LORE_HOME), checked.
pub fn load_config(home: &Path) -> Result<Config> {
    let config = Config::load(&Config::path(home))?;
    config.check()?;
    Ok(config)
}

/// The history of the repository whose data directory is `data_dir`.
pub fn open_history(data_dir: &Path) -> Result<SqliteHistory> {
    let path = lore_index::Layout::new(data_dir).history_db();
    SqliteHistory::open(&path).map_err(|e| Error::History {
        path,
        what: e.to_string(),
    })
}

impl Asker {
    /// Opens the conversation `thread` of `index`'s repository, with the
    /// configuration and audit log of `home` (LORE_HOME).
    pub fn open(home: &Path, index: &RepoIndex, thread: Thread) -> Result<Asker> {
        let config = load_config(home)?;
        // A read-only data directory (a shared index): answer all the same,
        // and say that nothing was recorded.
        let (mut history, unrecorded) = match open_history(index.data_dir()) {
            Ok(history) => (history, None),
            Err(err) => match SqliteHistory::in_memory() {
                Ok(history) => (history, Some(err.to_string())),
                Err(_) => return Err(err),
            },
        };
        let conversation = match thread {
            Thread::Id(id) => match history.conversation(id).map_err(history_error)? {
                Some(c) => c.id,
                None => return Err(Error::NoConversation(id)),
            },
            Thread::Latest => match history.latest_conversation().map_err(history_error)? {
                Some(c) => c.id,
                None => history.new_conversation(now()).map_err(history_error)?,
            },
            Thread::New => history.new_conversation(now()).map_err(history_error)?,
        };
        Ok(Asker {
            config,
            history,
            redactor: Redactor::builtin(),
            audit_path: home.join("audit.log"),
            thinker_db: home.join("thinker.db"),
            conversation,
            unrecorded,
        })
    }

    /// The current conversation.
    pub fn conversation(&self) -> i64 {
        self.conversation
    }

    /// The history underneath.
    pub fn history(&self) -> &SqliteHistory {
        &self.history
    }

    /// Starts a new conversation.
    pub fn restart(&mut self) -> Result<()> {
        self.conversation = self
            .history
            .new_conversation(now())
            .map_err(history_error)?;
        Ok(())
    }

    /// The provider for `question`, routed; `None` for extractive answers.
    /// The context bandit's arm may choose the model size.
    fn provider(
        &self,
        question: &str,
        request: &AskRequest,
        context: &ContextPolicy,
        data_dir: &Path,
    ) -> Result<Option<(Box<dyn ChatProvider>, &'static str)>> {
        if request.no_llm {
            return Ok(None);
        }
        let Some(mut config) = self.config.provider(&env)? else {
            return Ok(None);
        };
        if config.kind == crate::provider::ProviderKind::Local {
            // The repository's adapter in force, if any (`lore adapt`).
            config.adapter = crate::local::adapter_for(data_dir, None);
        }
        let sized = match (request.model.as_deref(), context.model_size.as_deref()) {
            (None, Some("small")) => Some(self.config.provider.small_model.clone()),
            (None, Some("large")) => Some(self.config.provider.large_model.clone()),
            _ => None,
        };
        if let Some(model) = sized.filter(|m| !m.is_empty()) {
            config.model = model;
            return Ok(Some((provider::open(config), "context bandit")));
        }
        let route = self.config.route(
            &Question::parse(question),
            request.model.as_deref(),
            &config.model,
        );
        config.model = route.model;
        Ok(Some((provider::open(config), route.reason)))
    }

    /// The context policy of the next answer: the configured one, or the
    /// arm the context bandit draws (see [`crate::context_bandit`]).
    fn context_policy(&self) -> ContextPolicy {
        let p = &self.config.provider;
        let sizes = !p.small_model.is_empty()
            && !p.large_model.is_empty()
            && p.small_model != p.large_model;
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        let mut rng = lore_learn::bandit::Rng::new(seed ^ (self.conversation as u64) << 32);
        crate::context_bandit::choose(&self.history, &self.config.context, sizes, now(), &mut rng)
            .unwrap_or_else(|e| {
                tracing::warn!("context bandit: {e}; the configured context policy answers");
                self.config.context.clone()
            })
    }

    /// Answers `question` in this conversation, streaming verified text to
    /// `on_text`, and records the answer, its retrieval log and an audit
    /// line.
    pub fn ask(
        &mut self,
        index: &RepoIndex,
        question: &str,
        request: &AskRequest,
        on_text: &mut dyn FnMut(&str),
    ) -> Result<Asked> {
        let context = self.context_policy();
        let provider = self.provider(question, request, &context, index.data_dir())?;
        let conversation = session::load(&self.history, self.conversation)?;
        let repo_id = index
            .data_dir()
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let options = AskOptions {
            policy: context,
            no_remote: request.no_remote || self.config.privacy.no_remote,
            redact_local: self.config.privacy.redact_local,
            cards: Some((self.thinker_db.clone(), repo_id)),
        };
        // History, the audit log and the cache keep the question as a
        // remote provider would see it: secrets in it are redacted first
        // (once: the first use of some rules compiles their patterns).
        let (logged, _) = self.redactor.redact(question, "");
        let started = std::time::Instant::now();
        let model = provider.as_ref().map(|(p, _)| {
            let config = p.config();
            format!("{} at {}", config.model, config.base_url)
        });
        let probe = (!request.no_cache && self.unrecorded.is_none())
            .then(|| {
                let key = cache_key(index, &options, model.as_deref());
                Probe::new(
                    &Question::parse(&logged),
                    key,
                    !conversation.exchanges.is_empty(),
                )
            })
            .flatten();
        let reused = match &probe {
            Some(probe) => match probe.lookup(&mut self.history, index) {
                Ok(Some(entry)) => self.reuse(index, entry.answer, question, &options, started)?,
                Ok(None) => None,
                Err(e) => {
                    tracing::warn!("answer cache: {e}");
                    None
                }
            },
            None => None,
        };
        let (mut answer, reused_log) = match reused {
            Some((answer, log)) => {
                on_text(&answer.text);
                (answer, Some(log))
            }
            None => (
                crate::ask(
                    index,
                    question,
                    &conversation,
                    provider.as_ref().map(|(p, _)| p.as_ref()),
                    &self.redactor,
                    &options,
                    on_text,
                )?,
                None,
            ),
        };
        if let (Some(model), None) = (&request.model, &provider) {
            let why = if request.no_llm {
                "answers come from the evidence alone with --no-llm"
            } else {
                "no chat provider is configured (`lore config set provider.kind ollama` or `openai`)"
            };
            let ignored = format!("model {model:?} was not used: {why}");
            answer.notice = Some(match answer.notice.take() {
                Some(notice) => format!("{ignored}; {notice}"),
                None => ignored,
            });
        }
        answer.question.text = logged;
        let question = answer.question.text.as_str();
        let time = now();
        let id = match &reused_log {
            Some(log) => {
                session::record_reused(&mut self.history, self.conversation, time, &answer, log)?
            }
            None => session::record(&mut self.history, self.conversation, time, &answer)?,
        };
        if let (Some(probe), None) = (&probe, &reused_log)
            && !answer.citations.is_empty()
        {
            let files: Vec<&str> = answer
                .citations
                .iter()
                .map(|c| c.at.path.as_str())
                .chain(
                    answer
                        .candidates
                        .iter()
                        .map(|c| c.evidence.at.path.as_str()),
                )
                .collect();
            if let Err(e) = probe.store(&mut self.history, index, id, time, &files) {
                tracing::warn!("answer cache: {e}");
            }
        }
        let user = request
            .user
            .clone()
            .unwrap_or_else(crate::feedback::local_user);
        if let Err(e) = crate::feedback::implicit(
            &mut self.history,
            id,
            self.conversation,
            time,
            question,
            &user,
        ) {
            tracing::warn!("implicit feedback of answer {id}: {e}");
        }
        session::prune(
            &mut self.history,
            self.conversation,
            provider
                .as_ref()
                .filter(|_| answer.mode == Mode::Llm)
                .map(|(p, _)| p.as_ref()),
        )?;
        let audited = session::audit(
            &self.audit_path,
            &AuditEntry {
                time: now(),
                repo: &index.root().to_string_lossy(),
                question,
                mode: session::mode_name(answer.mode),
                provider: answer.provider.as_deref(),
                model: answer.model.as_deref(),
                remote: answer.remote,
                sent_chars: answer.sent_chars,
                redactions: answer.redactions,
                answer_id: Some(id),
            },
        );
        let unrecorded = match (&self.unrecorded, audited) {
            (Some(why), _) => Some(why.clone()),
            (None, Err(err)) => Some(err.to_string()),
            (None, Ok(())) => None,
        };
        if let Some(why) = unrecorded {
            let note = format!("nothing was recorded ({why})");
            answer.notice = Some(match answer.notice.take() {
                Some(notice) => format!("{notice}; {note}"),
                None => note,
            });
        }
        Ok(Asked {
            answer,
            id,
            route: provider.map(|(_, reason)| reason),
        })
    }
}

impl Asker {
    /// The answer `id` again, for `question`: its text, citations and
    /// retrieval log, as a new answer that says what it reuses. `None`
    /// when the earlier answer is gone.
    fn reuse(
        &self,
        index: &RepoIndex,
        id: i64,
        question: &str,
        options: &AskOptions,
        started: std::time::Instant,
    ) -> Result<Option<(Answer, Vec<CandidateRecord>)>> {
        let Some(record) = self.history.answer(id).map_err(history_error)? else {
            return Ok(None);
        };
        let log = self.history.candidates(id).map_err(history_error)?;
        let answer = Answer {
            question: Question::parse(question),
            text: record.answer,
            citations: serde_json::from_str(&record.citations).unwrap_or_default(),
            rejected: Vec::new(),
            mode: if record.mode == "llm" {
                Mode::Llm
            } else {
                Mode::Extractive
            },
            model: record.model,
            provider: record.provider,
            remote: false,
            policy: options.policy.clone(),
            tokens: crate::Tokens::default(),
            cost: Some(0.0),
            latency_ms: started.elapsed().as_millis() as u64,
            notice: record.notice,
            commit: record.commit,
            packed: Vec::new(),
            candidates: Vec::new(),
            redactions: 0,
            sent_chars: 0,
            referents: Vec::new(),
            reused: Some(id),
            retrieval_policy: crate::RetrievalPolicy::of(index),
        };
        Ok(Some((answer, log)))
    }
}

/// What must be the same for an answer to be reused: the model and its
/// endpoint (or extractive), whether remote providers are off, the retrieval policy
/// and the context policy.
fn cache_key(index: &RepoIndex, options: &AskOptions, model: Option<&str>) -> String {
    let retrieval = index.policy();
    format!(
        "{}|{}|retrieval {}.{}|context {}",
        model.unwrap_or("extractive"),
        if options.no_remote { "local" } else { "any" },
        retrieval.version,
        retrieval.repository.map_or(0, |v| v),
        serde_json::to_string(&options.policy).unwrap_or_default()
    )
}

fn history_error(e: lore_core::Error) -> Error {
    Error::Index(lore_index::Error::from(e))
}

impl Asked {
    /// The answer as the CLI (`--json`), the HTTP API and MCP return it.
    pub fn to_json(&self, conversation: i64) -> Value {
        let a = &self.answer;
        json!({
            "answer_id": self.id,
            "answer": a.text,
            "citations": a.citations,
            "rejected": a.rejected,
            "mode": a.mode,
            "model": a.model,
            "policy": a.policy,
            "policy_version": a.policy.version,
            "tokens": a.tokens,
            "cost": a.cost,
            "latency_ms": a.latency_ms,
            "notice": a.notice,
            "commit": a.commit,
            "conversation": conversation,
            "cache": {"hit": a.reused.is_some(), "answer_id": a.reused},
            "retrieval_policy": a.retrieval_policy,
        })
    }

    /// How the answer was made: the question as read, the route, and every
    /// candidate with its features and whether it was packed and cited.
    pub fn explain_json(&self) -> Value {
        let answer = &self.answer;
        let cited: HashSet<usize> = answer.citations.iter().map(|c| c.n).collect();
        json!({
            "question": answer.question,
            "route": self.route,
            "provider": answer.provider,
            "remote": answer.remote,
            "redactions": answer.redactions,
            "candidates": answer.candidates.iter().map(|c| {
                let n = c.chosen.filter(|&i| i < answer.packed.len()).map(|i| i + 1);
                json!({
                    "n": n,
                    "source": c.source,
                    "rank": c.rank,
                    "path": c.evidence.at.path,
                    "start_line": c.evidence.at.start_line,
                    "end_line": c.evidence.at.end_line,
                    "symbol": c.evidence.at.symbol,
                    "score": c.evidence.score,
                    "features": c.features,
                    "packed": n.is_some(),
                    "cited": n.is_some_and(|n| cited.contains(&n)),
                })
            }).collect::<Vec<_>>(),
        })
    }
}
