//! What Lore remembers of the people who use it: every answer with its
//! retrieval log, grouped in conversations. The records a learned ranker
//! and context policy are fitted on later.
//!
//! Kept apart from the index (a full rebuild replaces the index, never the
//! history). Structured fields the store does not query (policy,
//! citations, features) are JSON text, so the schema does not follow every
//! change of those types.

use serde::{Deserialize, Serialize};

use crate::Result;

/// One answer as recorded.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AnswerRecord {
    /// Storage id (0 before it is stored).
    pub id: i64,
    /// The conversation it belongs to.
    pub conversation: i64,
    /// Unix time of the question.
    pub time: i64,
    /// The question.
    pub question: String,
    /// The checked answer.
    pub answer: String,
    /// `llm` or `extractive`.
    pub mode: String,
    /// Model that answered.
    pub model: Option<String>,
    /// Provider endpoint.
    pub provider: Option<String>,
    /// Context policy (JSON).
    pub policy: String,
    /// Commit of the evidence.
    pub commit: String,
    /// Prompt tokens.
    pub prompt_tokens: u64,
    /// Completion tokens.
    pub completion_tokens: u64,
    /// Cost in US dollars, if known.
    pub cost: Option<f64>,
    /// Latency.
    pub latency_ms: u64,
    /// Verified citations (JSON array).
    pub citations: String,
    /// Removed citations (JSON array).
    pub rejected: String,
    /// Why an answer is extractive although a provider was configured.
    pub notice: Option<String>,
    /// Symbols the answer cited, most relevant first: what a follow-up
    /// refers to.
    pub symbols: Vec<String>,
}

/// One retrieval candidate of an answer.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CandidateRecord {
    /// Where it came from (`definition`, `caller`, `search`, `graph`).
    pub source: String,
    /// Rank within its source.
    pub rank: u32,
    /// Path.
    pub path: String,
    /// First line.
    pub start_line: u32,
    /// Last line.
    pub end_line: u32,
    /// Symbol.
    pub symbol: Option<String>,
    /// Retrieval score.
    pub score: f64,
    /// Feature contributions (JSON).
    pub features: String,
    /// Packed into the context.
    pub packed: bool,
    /// Cited by the answer.
    pub cited: bool,
}

/// A conversation: its exchanges live in the answers.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ConversationRecord {
    /// Storage id.
    pub id: i64,
    /// Unix time of its first question.
    pub started: i64,
    /// Summary of exchanges folded out of the window.
    pub summary: Option<String>,
    /// Answers folded into the summary.
    pub summarised: u64,
}

/// A person's verdict on an answer: the signal the ranker and the context
/// policy learn from.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct FeedbackRecord {
    /// The answer judged.
    pub answer: i64,
    /// Unix time of the verdict.
    pub time: i64,
    /// +1 (helpful) or -1 (not helpful); 0 for a note alone.
    pub vote: i8,
    /// Free text.
    pub note: Option<String>,
    /// Locations the person says the answer should have cited (JSON array
    /// of `{path, start_line, end_line}`); for the signal `wrong`, the
    /// citation they say is wrong.
    pub correct_citations: String,
    /// What they did: `up`, `down`, `note`, `correct`, `wrong`, `open`, `copy`,
    /// `reask`, `follow-up`, `read-cited` (see `lore_learn::reward`).
    pub signal: String,
    /// Who: the server token's user, or the local user.
    pub user: String,
}

/// An answer kept for reuse: a later question that means the same gets
/// it while nothing it depends on has changed (`lore_ask::cache`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CacheEntry {
    /// Storage id (0 before it is stored).
    pub id: i64,
    /// The answer reused.
    pub answer: i64,
    /// Unix time it was stored.
    pub time: i64,
    /// What must be the same for a reuse: the route (model or extractive)
    /// and the retrieval and context policies.
    pub key: String,
    /// The question's identifiers, sorted, space-separated.
    pub identifiers: String,
    /// The question's content words, normalised, sorted, space-separated.
    pub words: String,
    /// The question's vector (the static table's).
    pub vector: Vec<f32>,
    /// What the answer depends on (JSON: files with their hashes, names
    /// with the digest of their definitions and uses).
    pub depends: String,
}

/// One interleaved result list shown to someone: the results of the
/// retrieval policy in force (team A) and of a challenger (team B) merged
/// by team draft, and what they clicked (`lore_learn::interleave`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Impression {
    /// Storage id (0 before it is stored).
    pub id: i64,
    /// Unix time it was shown.
    pub time: i64,
    /// The search.
    pub query: String,
    /// Team A: the repository policy version in force (`None`: global).
    pub a: Option<u32>,
    /// Team B: the challenger version.
    pub b: u32,
    /// The results, in order (JSON array of `{path, start_line, end_line,
    /// team}`).
    pub results: String,
    /// What people did with them (JSON array of `{rank, signal}`, rank
    /// 0-based; signals `open` or `up`).
    pub clicks: String,
}

/// Storage of answers, retrieval logs and conversations.
pub trait HistoryStore {
    /// Starts a conversation and returns its id.
    fn new_conversation(&mut self, time: i64) -> Result<i64>;
    /// The most recent conversation.
    fn latest_conversation(&self) -> Result<Option<ConversationRecord>>;
    /// A conversation by id.
    fn conversation(&self, id: i64) -> Result<Option<ConversationRecord>>;
    /// Stores an answer with its candidates; returns the answer's id.
    fn add_answer(&mut self, answer: &AnswerRecord, candidates: &[CandidateRecord]) -> Result<i64>;
    /// Answers of a conversation not folded into its summary, oldest first.
    fn exchanges(&self, conversation: i64) -> Result<Vec<AnswerRecord>>;
    /// Folds the oldest `count` unfolded answers of a conversation into
    /// `summary`.
    fn fold(&mut self, conversation: i64, count: u64, summary: &str) -> Result<()>;
    /// The latest answers of all conversations, newest first.
    fn recent(&self, limit: usize) -> Result<Vec<AnswerRecord>>;
    /// The retrieval log of an answer.
    fn candidates(&self, answer: i64) -> Result<Vec<CandidateRecord>>;
    /// An answer by id.
    fn answer(&self, id: i64) -> Result<Option<AnswerRecord>>;
    /// Stores a verdict on an existing answer; returns its id.
    fn add_feedback(&mut self, feedback: &FeedbackRecord) -> Result<i64>;
    /// The verdicts on an answer, oldest first.
    fn feedback(&self, answer: i64) -> Result<Vec<FeedbackRecord>>;
    /// Every verdict since `time` (seconds), oldest first.
    fn feedback_since(&self, time: i64) -> Result<Vec<FeedbackRecord>>;
    /// Every answer with a verdict since `time`, with those verdicts
    /// (oldest first), by answer id. A store may read it in one pass; the
    /// default asks for each answer.
    fn judged_since(&self, time: i64) -> Result<Vec<(AnswerRecord, Vec<FeedbackRecord>)>> {
        let mut by_answer: std::collections::BTreeMap<i64, Vec<FeedbackRecord>> =
            std::collections::BTreeMap::new();
        for f in self.feedback_since(time)? {
            by_answer.entry(f.answer).or_default().push(f);
        }
        let mut out = Vec::with_capacity(by_answer.len());
        for (id, rows) in by_answer {
            if let Some(answer) = self.answer(id)? {
                out.push((answer, rows));
            }
        }
        Ok(out)
    }
    /// Forgets every answer that used evidence from a path `matches`
    /// accepts (its text may quote that file), with its retrieval log and
    /// feedback, so that nothing of the file stays on record (`lore
    /// purge`). Returns how many answers went.
    fn purge(&mut self, matches: &dyn Fn(&str) -> bool) -> Result<usize>;
    /// Stores a cache entry; returns its id.
    fn put_cache(&mut self, entry: &CacheEntry) -> Result<i64>;
    /// The cache entries with this key and identifiers, newest first.
    fn cache_entries(&self, key: &str, identifiers: &str) -> Result<Vec<CacheEntry>>;
    /// Forgets a cache entry (it went stale).
    fn drop_cache(&mut self, id: i64) -> Result<()>;
    /// Stores an interleaved result list; returns its id.
    fn add_impression(&mut self, impression: &Impression) -> Result<i64>;
    /// An impression by id.
    fn impression(&self, id: i64) -> Result<Option<Impression>>;
    /// Replaces an impression's clicks.
    fn set_clicks(&mut self, id: i64, clicks: &str) -> Result<()>;
    /// Impressions shown since `time` (seconds), oldest first.
    fn impressions_since(&self, time: i64) -> Result<Vec<Impression>>;
}
