//! Answers on record: conversations loaded from and saved to the
//! repository's history, the window of the last exchanges with older ones
//! folded into a summary, and the audit log of every query.

use std::collections::HashSet;
use std::io::Write;
use std::path::Path;

use lore_core::history::{AnswerRecord, CandidateRecord, HistoryStore};
use serde::Serialize;

use crate::provider::{ChatProvider, ChatRequest, Message};
use crate::{Answer, Conversation, Error, Exchange, Mode, Result};

/// Exchanges a conversation keeps before older ones are summarised.
pub const WINDOW: usize = 50;
/// Characters of the summary made without a model.
const PLAIN_SUMMARY_CHARS: usize = 1500;

fn history_error(e: lore_core::Error) -> Error {
    Error::Index(lore_index::Error::from(e))
}

/// The conversation `id` as the asker sees it.
pub fn load(history: &dyn HistoryStore, id: i64) -> Result<Conversation> {
    let record = history.conversation(id).map_err(history_error)?;
    let exchanges = history
        .exchanges(id)
        .map_err(history_error)?
        .into_iter()
        .map(|a| Exchange {
            question: a.question,
            answer: a.answer,
            symbols: a.symbols,
        })
        .collect();
    Ok(Conversation {
        summary: record.and_then(|r| r.summary),
        exchanges,
    })
}

/// Stores `answer` in conversation `conversation` with its retrieval log;
/// returns the answer's id.
pub fn record(
    history: &mut dyn HistoryStore,
    conversation: i64,
    time: i64,
    answer: &Answer,
) -> Result<i64> {
    let record = answer_record(conversation, time, answer);
    let cited: HashSet<usize> = answer.citations.iter().map(|c| c.n).collect();
    let packed = answer.packed.len();
    let candidates: Vec<CandidateRecord> = answer
        .candidates
        .iter()
        .map(|c| {
            let n = c.chosen.filter(|&i| i < packed).map(|i| i + 1);
            CandidateRecord {
                source: json(&c.source).trim_matches('"').to_owned(),
                rank: c.rank as u32,
                path: c.evidence.at.path.clone(),
                start_line: c.evidence.at.start_line,
                end_line: c.evidence.at.end_line,
                symbol: c.evidence.at.symbol.clone(),
                score: c.evidence.score,
                features: json(&c.features),
                packed: n.is_some(),
                cited: n.is_some_and(|n| cited.contains(&n)),
            }
        })
        .collect();
    history
        .add_answer(&record, &candidates)
        .map_err(history_error)
}

/// Stores an answer reused from the cache in conversation
/// `conversation`, with the retrieval log of the answer it reuses.
pub fn record_reused(
    history: &mut dyn HistoryStore,
    conversation: i64,
    time: i64,
    answer: &Answer,
    candidates: &[CandidateRecord],
) -> Result<i64> {
    history
        .add_answer(&answer_record(conversation, time, answer), candidates)
        .map_err(history_error)
}

fn answer_record(conversation: i64, time: i64, answer: &Answer) -> AnswerRecord {
    // What a follow-up's "it" most likely means: the names asked about (or
    // that an earlier follow-up was about), then the symbols the answer cited.
    let mut symbols: Vec<String> = answer.question.identifiers.clone();
    for r in &answer.referents {
        if !symbols.contains(r) {
            symbols.push(r.clone());
        }
    }
    for c in &answer.citations {
        if let Some(s) = &c.at.symbol
            && !symbols.contains(s)
        {
            symbols.push(s.clone());
        }
    }
    AnswerRecord {
        id: 0,
        conversation,
        time,
        question: answer.question.text.clone(),
        answer: answer.text.clone(),
        mode: mode_name(answer.mode).into(),
        model: answer.model.clone(),
        provider: answer.provider.clone(),
        policy: json(&answer.policy),
        commit: answer.commit.clone(),
        prompt_tokens: answer.tokens.prompt,
        completion_tokens: answer.tokens.completion,
        cost: answer.cost,
        latency_ms: answer.latency_ms,
        citations: json(&answer.citations),
        rejected: json(&answer.rejected),
        notice: answer.notice.clone(),
        symbols,
    }
}

/// Keeps the last [`WINDOW`] exchanges of a conversation: older ones are
/// folded into its summary, written by the model when one is given (and
/// answers), else a plain list of the earlier questions.
pub fn prune(
    history: &mut dyn HistoryStore,
    conversation: i64,
    provider: Option<&dyn ChatProvider>,
) -> Result<()> {
    let exchanges = history.exchanges(conversation).map_err(history_error)?;
    if exchanges.len() <= WINDOW {
        return Ok(());
    }
    let fold = &exchanges[..exchanges.len() - WINDOW];
    let previous = history
        .conversation(conversation)
        .map_err(history_error)?
        .and_then(|c| c.summary);
    let summary = provider
        .and_then(|p| summarise(p, previous.as_deref(), fold).ok())
        .unwrap_or_else(|| plain_summary(previous.as_deref(), fold));
    history
        .fold(conversation, fold.len() as u64, &summary)
        .map_err(history_error)
}

fn summarise(
    provider: &dyn ChatProvider,
    previous: Option<&str>,
    fold: &[AnswerRecord],
) -> Result<String> {
    let mut text = String::new();
    if let Some(p) = previous {
        text.push_str(&format!("Summary so far: {p}\n\n"));
    }
    for a in fold {
        let answer: String = a.answer.chars().take(600).collect();
        text.push_str(&format!("Q: {}\nA: {answer}\n\n", a.question));
    }
    let request = ChatRequest {
        messages: vec![
            Message::new(
                "system",
                "Summarise this conversation about a code repository in at most 120 words: \
                 the questions asked and the code names and files the answers pointed to.",
            ),
            Message::new("user", text),
        ],
        temperature: 0.0,
        max_tokens: Some(240),
    };
    let response = provider.chat(&request, &mut |_| {})?;
    Ok(response.text.trim().to_owned())
}

fn plain_summary(previous: Option<&str>, fold: &[AnswerRecord]) -> String {
    let mut questions: Vec<String> = previous
        .and_then(|p| p.strip_prefix("Earlier questions: "))
        .map(|p| p.split(" | ").map(str::to_owned).collect())
        .unwrap_or_default();
    questions.extend(fold.iter().map(|a| a.question.clone()));
    // Keep the most recent questions within the size.
    let mut kept: Vec<&str> = Vec::new();
    let mut size = 0;
    for q in questions.iter().rev() {
        size += q.len() + 3;
        if size > PLAIN_SUMMARY_CHARS {
            break;
        }
        kept.push(q);
    }
    kept.reverse();
    format!("Earlier questions: {}", kept.join(" | "))
}

/// The stable name of a mode.
pub fn mode_name(mode: Mode) -> &'static str {
    match mode {
        Mode::Llm => "llm",
        Mode::Extractive => "extractive",
    }
}

/// One line of the audit log.
#[derive(Clone, Debug, Serialize)]
pub struct AuditEntry<'a> {
    /// Unix time.
    pub time: i64,
    /// Repository root.
    pub repo: &'a str,
    /// The question.
    pub question: &'a str,
    /// `llm` or `extractive`.
    pub mode: &'static str,
    /// Provider endpoint, if one was asked.
    pub provider: Option<&'a str>,
    /// Model.
    pub model: Option<&'a str>,
    /// Whether the provider is off this machine.
    pub remote: bool,
    /// Characters sent to the provider.
    pub sent_chars: usize,
    /// Secrets redacted from them.
    pub redactions: usize,
    /// The answer's id in the history.
    pub answer_id: Option<i64>,
}

/// Appends `entry` to the audit log at `path` (one JSON object per line).
pub fn audit(path: &Path, entry: &AuditEntry<'_>) -> Result<()> {
    let io = |source| Error::Io {
        path: path.to_owned(),
        source,
    };
    let mut line = serde_json::to_string(entry).unwrap_or_default();
    line.push('\n');
    let mut options = std::fs::OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).map_err(io)?;
    // A log made before files holding questions were private.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if file.metadata().map_err(io)?.permissions().mode() & 0o077 != 0 {
            file.set_permissions(std::fs::Permissions::from_mode(0o600))
                .map_err(io)?;
        }
    }
    file.write_all(line.as_bytes()).map_err(io)
}

/// Anything serialisable, as JSON text.
fn json<T: Serialize + ?Sized>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_plain_summary_keeps_the_latest_questions() {
        let fold: Vec<AnswerRecord> = (0..3)
            .map(|i| AnswerRecord {
                question: format!("q{i}"),
                ..AnswerRecord::default()
            })
            .collect();
        let s = plain_summary(Some("Earlier questions: a | b"), &fold);
        assert_eq!(s, "Earlier questions: a | b | q0 | q1 | q2");
        let long: Vec<AnswerRecord> = (0..400)
            .map(|i| AnswerRecord {
                question: format!("question number {i}"),
                ..AnswerRecord::default()
            })
            .collect();
        let s = plain_summary(None, &long);
        assert!(s.len() <= PLAIN_SUMMARY_CHARS + 20);
        assert!(s.ends_with("question number 399"));
    }
}
