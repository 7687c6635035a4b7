//! One question, start to end: read it, gather evidence, answer with a
//! model (packed context, streamed, citations checked as they arrive) or
//! extractively, and report everything the records need.

use std::collections::HashMap;
use std::time::Instant;

use serde::Serialize;

use crate::cite::{self, Citation, Rejected, StreamCheck};
use crate::cost::cost;
use crate::gather::{Candidate, gather};
use crate::pack::{ContextPolicy, Packed, number, pack, render_all};
use crate::provider::{ChatProvider, ChatRequest, Message};
use crate::question::Question;
use crate::redact::Redactor;
use crate::{Result, extractive};
use lore_index::RepoIndex;

/// Exchanges of the conversation quoted to the model.
const QUOTED_EXCHANGES: usize = 3;
/// Characters of a previous answer quoted to the model.
const QUOTED_ANSWER_CHARS: usize = 1200;

const SYSTEM_PROMPT: &str = lore_core::prompt::ANSWER_SYSTEM;

/// How an answer was made.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// By a language model, from packed evidence.
    Llm,
    /// From the evidence alone.
    Extractive,
}

/// One earlier exchange of the conversation.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Exchange {
    /// The question.
    pub question: String,
    /// The answer's text.
    pub answer: String,
    /// Symbols the answer cited, most relevant first.
    pub symbols: Vec<String>,
}

/// The conversation so far.
#[derive(Clone, Debug, Default)]
pub struct Conversation {
    /// A summary of exchanges older than `exchanges`.
    pub summary: Option<String>,
    /// The latest exchanges, oldest first.
    pub exchanges: Vec<Exchange>,
}

/// Settings of one question.
#[derive(Clone, Debug, Default)]
pub struct AskOptions {
    /// What goes into the context.
    pub policy: ContextPolicy,
    /// Refuse providers that are not on loopback.
    pub no_remote: bool,
    /// Redact secrets for loopback providers too (they always are for
    /// remote ones).
    pub redact_local: bool,
    /// Where the thinker keeps function cards (LORE_HOME/thinker.db) and
    /// the repository's id there: the cards of the evidence's functions go
    /// to the model as known facts beside the evidence.
    pub cards: Option<(std::path::PathBuf, String)>,
}

/// At most this many cards go with an answer's evidence.
const CARDS_PER_ANSWER: usize = 4;

/// What the thinker's function cards know of the evidence's functions, as
/// lines for the model: call sites, tests, complexity, churn and owners.
/// Only cards written at the file's current content (a stale card would
/// describe other code); nothing when there are none.
fn known_facts(
    index: &RepoIndex,
    cards: &(std::path::PathBuf, String),
    evidence: &[crate::pack::Evidence],
) -> String {
    use lore_core::jobs::JobStore;
    let (db, repo) = cards;
    if !db.exists() {
        return String::new();
    }
    let Ok(queue) = lore_store::SqliteJobs::open(db) else {
        return String::new();
    };
    let mut lines = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for e in evidence {
        let Some(symbol) = &e.at.symbol else { continue };
        if lines.len() >= CARDS_PER_ANSWER || !seen.insert((e.at.path.clone(), symbol.clone())) {
            continue;
        }
        let scope = lore_index::thoughts::card_scope(repo, &e.at.path, symbol);
        let Ok(Some((_, value))) = queue.fact_latest(&scope, lore_index::thoughts::keys::CARD)
        else {
            continue;
        };
        let Ok(card) = serde_json::from_str::<lore_index::thoughts::Card>(&value) else {
            continue;
        };
        let current = index
            .file_hash(&card.path)
            .ok()
            .flatten()
            .is_some_and(|h| h == card.file_hash);
        if !current {
            continue;
        }
        let mut line = format!(
            "- {} ({}:{}-{}): {} call sites found by name",
            card.symbol, card.path, card.start_line, card.end_line, card.callers_total
        );
        let tests: Vec<String> = card
            .tests
            .iter()
            .filter_map(|t| Some(format!("{}:{}", t["path"].as_str()?, t["line"].as_u64()?)))
            .collect();
        if !tests.is_empty() {
            line.push_str(&format!("; tests calling it: {}", tests.join(", ")));
        }
        line.push_str(&format!("; cyclomatic complexity {}", card.complexity));
        if let Some(commits) = card.churn["commits"].as_u64() {
            line.push_str(&format!(
                "; its file changed in {commits} commits, last {}",
                card.churn["last_change"].as_str().unwrap_or("?")
            ));
        }
        let owners: Vec<String> = card
            .owners
            .iter()
            .filter_map(|o| Some(format!("{} ({})", o["author"].as_str()?, o["commits"])))
            .collect();
        if !owners.is_empty() {
            line.push_str(&format!("; changed most by {}", owners.join(", ")));
        }
        lines.push(line);
    }
    if lines.is_empty() {
        return String::new();
    }
    format!(
        "Known facts about these functions (from Lore's function cards; context, not evidence: cite only the numbered evidence):\n{}\n",
        lines.join("\n")
    )
}

/// Tokens of an answer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Tokens {
    /// Prompt tokens.
    pub prompt: u64,
    /// Completion tokens.
    pub completion: u64,
}

/// An answer with everything known about how it was made.
#[derive(Clone, Debug, Serialize)]
pub struct Answer {
    /// The question as read.
    pub question: Question,
    /// The answer, unverifiable citations removed.
    pub text: String,
    /// Verified citations.
    pub citations: Vec<Citation>,
    /// Citations removed, with why.
    pub rejected: Vec<Rejected>,
    /// LLM or extractive.
    pub mode: Mode,
    /// The model that answered.
    pub model: Option<String>,
    /// The provider's endpoint.
    pub provider: Option<String>,
    /// Whether the provider is off this machine.
    pub remote: bool,
    /// The context policy.
    pub policy: ContextPolicy,
    /// Tokens used.
    pub tokens: Tokens,
    /// Cost in US dollars (`None`: unknown price).
    pub cost: Option<f64>,
    /// Wall time from question to checked answer.
    pub latency_ms: u64,
    /// Why the answer is extractive although a provider is configured.
    pub notice: Option<String>,
    /// The commit the evidence was indexed at.
    pub commit: String,
    /// Evidence as packed (ids as cited).
    #[serde(skip)]
    pub packed: Vec<Packed>,
    /// Every candidate considered.
    #[serde(skip)]
    pub candidates: Vec<Candidate>,
    /// Secrets redacted from what was sent.
    pub redactions: usize,
    /// Characters sent to the provider.
    pub sent_chars: usize,
    /// For a follow-up that names nothing: the earlier names it was read
    /// as being about ("it"), so the next follow-up stays on them.
    pub referents: Vec<String>,
    /// The earlier answer this one reuses from the answer cache.
    pub reused: Option<i64>,
    /// The retrieval policy that ranked the evidence.
    pub retrieval_policy: RetrievalPolicy,
}

/// Which retrieval policy ranked an answer's evidence (the context policy
/// is [`Answer::policy`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct RetrievalPolicy {
    /// The global policy version (4 without transformer vectors, 5 with).
    pub version: u32,
    /// The repository's own trained version in force, if any.
    pub repository: Option<u32>,
}

impl RetrievalPolicy {
    /// The policy `index` ranks hybrid search with.
    pub fn of(index: &RepoIndex) -> RetrievalPolicy {
        let policy = index.policy();
        RetrievalPolicy {
            version: policy.version,
            repository: policy.repository,
        }
    }
}

/// Answers `text`. With a provider, the model answers and its text is
/// streamed to `on_text` as it is verified; without one, or when it cannot
/// be used, the extractive answer is passed to `on_text` whole.
pub fn ask(
    index: &RepoIndex,
    text: &str,
    conversation: &Conversation,
    provider: Option<&dyn ChatProvider>,
    redactor: &Redactor,
    options: &AskOptions,
    on_text: &mut dyn FnMut(&str),
) -> Result<Answer> {
    let started = Instant::now();
    let question = Question::parse(text);
    let policy = options.policy.clone();
    let context: Vec<String> = conversation
        .exchanges
        .last()
        .map(|e| e.symbols.clone())
        .unwrap_or_default();
    let gathered = gather(index, &question, &context, &policy)?;
    let commit = index.indexed_commit().unwrap_or_default().to_owned();

    let mut answer = Answer {
        question: question.clone(),
        text: String::new(),
        citations: Vec::new(),
        rejected: Vec::new(),
        mode: Mode::Extractive,
        model: None,
        provider: None,
        remote: false,
        policy: policy.clone(),
        tokens: Tokens::default(),
        cost: Some(0.0),
        latency_ms: 0,
        notice: None,
        commit: commit.clone(),
        packed: Vec::new(),
        candidates: Vec::new(),
        redactions: 0,
        sent_chars: 0,
        referents: if question.follow_up && question.identifiers.is_empty() {
            context.iter().take(2).cloned().collect()
        } else {
            Vec::new()
        },
        reused: None,
        retrieval_policy: RetrievalPolicy::of(index),
    };

    let mut answered = None;
    if let Some(provider) = provider {
        let config = provider.config();
        answer.provider = Some(config.base_url.clone());
        answer.remote = !config.is_loopback();
        if answer.remote && options.no_remote {
            answer.notice = Some(format!(
                "{} is not on this machine and remote providers are off; answering from the evidence alone",
                config.base_url
            ));
        } else {
            let known = options
                .cards
                .as_ref()
                .filter(|_| policy.symbol_cards)
                .map(|c| known_facts(index, c, &gathered.evidence))
                .unwrap_or_default();
            match llm_answer(
                provider,
                &question,
                conversation,
                &gathered.evidence,
                &known,
                &commit,
                &policy,
                (answer.remote || options.redact_local).then_some(redactor),
                on_text,
            ) {
                Ok(done) => answered = Some(done),
                Err(e) if e.is_unreachable() => {
                    answer.notice = Some(format!("{e}; answering from the evidence alone"));
                }
                Err(e) => return Err(e),
            }
        }
    }

    let raw = match answered {
        Some(done) => {
            answer.mode = Mode::Llm;
            answer.model = Some(done.model.clone());
            answer.tokens = done.tokens;
            answer.cost = cost(
                &done.model,
                !answer.remote,
                done.tokens.prompt,
                done.tokens.completion,
            );
            answer.redactions = done.redactions;
            answer.sent_chars = done.sent_chars;
            if done.notice.is_some() {
                answer.notice = done.notice.clone();
            }
            answer.packed = done.packed;
            done.text
        }
        None => {
            answer.packed = number(&gathered.evidence);
            let text = extractive::answer(index, &question, &gathered, &answer.packed)?;
            let shown = cite::check(&text, &answer.packed, &commit, &|_| false).text;
            on_text(&shown);
            text
        }
    };
    let stale: HashMap<&str, bool> = answer
        .packed
        .iter()
        .map(|p| {
            let path = p.evidence.at.path.as_str();
            (path, index.is_stale(path).unwrap_or(true))
        })
        .collect();
    let checked = cite::check(&raw, &answer.packed, &commit, &|p| {
        stale.get(p).copied().unwrap_or(true)
    });
    answer.text = checked.text;
    answer.citations = checked.citations;
    answer.rejected = checked.rejected;
    answer.candidates = gathered.candidates;
    answer.latency_ms = started.elapsed().as_millis() as u64;
    Ok(answer)
}

/// What the model produced.
struct LlmDone {
    text: String,
    model: String,
    tokens: Tokens,
    packed: Vec<Packed>,
    redactions: usize,
    sent_chars: usize,
    notice: Option<String>,
}

#[allow(clippy::too_many_arguments)]
fn llm_answer(
    provider: &dyn ChatProvider,
    question: &Question,
    conversation: &Conversation,
    evidence: &[crate::pack::Evidence],
    known: &str,
    commit: &str,
    policy: &ContextPolicy,
    redactor: Option<&Redactor>,
    on_text: &mut dyn FnMut(&str),
) -> Result<LlmDone> {
    // Secrets are redacted before packing, so the budget counts what is sent.
    let mut redactions = 0;
    let evidence: Vec<crate::pack::Evidence> = evidence
        .iter()
        .map(|e| {
            let mut e = e.clone();
            if let Some(r) = redactor {
                let (text, n) = r.redact(&e.text, &e.at.path);
                redactions += n;
                e.text = text;
            }
            e
        })
        .collect();
    let mut history = String::new();
    if let Some(summary) = &conversation.summary {
        history.push_str(&format!("Earlier in this conversation: {summary}\n\n"));
    }
    let recent = &conversation.exchanges[conversation
        .exchanges
        .len()
        .saturating_sub(QUOTED_EXCHANGES)..];
    for e in recent {
        let answer: String = e.answer.chars().take(QUOTED_ANSWER_CHARS).collect();
        history.push_str(&format!("Q: {}\nA: {answer}\n\n", e.question));
    }
    if let Some(r) = redactor {
        let (text, n) = r.redact(&history, "");
        redactions += n;
        history = text;
    }
    let question_text = match redactor {
        Some(r) => {
            let (text, n) = r.redact(&question.text, "");
            redactions += n;
            text
        }
        None => question.text.clone(),
    };
    let user = |block: &str| -> String {
        let mut out = String::new();
        if !history.is_empty() {
            out.push_str("Conversation so far:\n");
            out.push_str(&history);
        }
        out.push_str("Evidence:\n\n");
        out.push_str(block);
        if !known.is_empty() {
            out.push('\n');
            out.push_str(known);
        }
        out.push_str("\nQuestion: ");
        out.push_str(&question_text);
        out
    };
    let frame = |block: &str| format!("{SYSTEM_PROMPT}\n\n{}", user(block));
    let budget =
        crate::provider::prompt_budget(provider, policy.budget_tokens, policy.answer_tokens);
    let packed = pack(&evidence, commit, budget, frame);
    let content = user(&render_all(&packed, commit));
    let request = ChatRequest {
        messages: vec![
            Message::new("system", SYSTEM_PROMPT),
            Message::new("user", content.clone()),
        ],
        temperature: policy.temperature,
        max_tokens: Some(policy.answer_tokens),
    };
    let sent_chars = SYSTEM_PROMPT.len() + content.len();
    let mut stream = StreamCheck::new(&packed);
    let response = provider.chat(&request, &mut |piece| {
        let shown = stream.push(piece);
        if !shown.is_empty() {
            on_text(&shown);
        }
    })?;
    let rest = stream.finish();
    if !rest.is_empty() {
        on_text(&rest);
    }
    Ok(LlmDone {
        text: response.text,
        model: response.model,
        tokens: Tokens {
            prompt: response.usage.prompt,
            completion: response.usage.completion,
        },
        packed,
        redactions,
        sent_chars,
        notice: response.notice,
    })
}
