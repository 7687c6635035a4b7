//! Writing over evidence Lore already ranked: a diagnosis's places to look
//! (a hypothesis of where the bug is) or a change's lines (review
//! comments). The provider sees the evidence numbered as answers do, and
//! every citation it writes is checked against what it was shown
//! ([`crate::cite::check`]); the rest is removed and reported, never shown
//! as if verified. Secrets are redacted before anything leaves this
//! machine, and a remote provider is not used when remote providers are off.

use lore_core::Located;
use lore_index::RepoIndex;
use serde::Serialize;

use crate::cite::{self, Citation, Rejected};
use crate::config::Config;
use crate::error::Result;
use crate::pack::{Evidence, pack, render_all};
use crate::provider::{ChatProvider, ChatRequest, Message};
use crate::redact::Redactor;

/// What the model wrote, checked.
#[derive(Clone, Debug, Serialize)]
pub struct Written {
    /// The text with unverifiable citations removed.
    pub text: String,
    /// Verified citations, in order of first mention.
    pub citations: Vec<Citation>,
    /// Citations removed, and why.
    pub rejected: Vec<Rejected>,
    /// The model that wrote it.
    pub model: String,
    /// Whether the provider is off this machine.
    pub remote: bool,
    /// Secrets redacted from what was sent.
    pub redactions: usize,
    /// The evidence as the model saw it (what citations are checked on).
    #[serde(skip)]
    pub packed: Vec<crate::pack::Packed>,
    /// The indexed commit.
    #[serde(skip)]
    pub commit: String,
}

/// Why nothing was written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NotWritten {
    /// The provider is remote and remote providers are off.
    RemoteOff(String),
    /// The provider could not be reached.
    Unreachable(String),
}

impl std::fmt::Display for NotWritten {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NotWritten::RemoteOff(url) => write!(
                f,
                "{url} is not on this machine and remote providers are off: nothing written"
            ),
            NotWritten::Unreachable(e) => write!(f, "{e}: nothing written"),
        }
    }
}

/// One piece of evidence: lines `start..=end` of `path`, read from the
/// working tree (`None` when the file or the lines are gone).
pub fn evidence_at(
    index: &RepoIndex,
    path: &str,
    start: u32,
    end: u32,
    symbol: Option<&str>,
) -> Option<Evidence> {
    let text = std::fs::read_to_string(index.root().join(path)).ok()?;
    let lines: Vec<&str> = text.lines().collect();
    let start = start.max(1);
    let end = end.min(lines.len() as u32);
    if start > end {
        return None;
    }
    let mut at = Located::lines(path, start, end);
    at.symbol = symbol.map(str::to_owned);
    Some(Evidence {
        at,
        text: lines[start as usize - 1..end as usize].join("\n"),
        score: 0.0,
    })
}

/// Evidence from text already in hand (`text` is lines `start..=end`).
pub fn evidence(path: &str, start: u32, end: u32, text: String) -> Evidence {
    Evidence {
        at: Located::lines(path, start, end),
        text,
        score: 0.0,
    }
}

/// Asks `provider` to write about `evidence`: `system` says what to write
/// and how to cite, `task` is the request shown after the evidence. The
/// evidence is packed into the context policy's budget, most important
/// first.
pub fn write(
    index: &RepoIndex,
    provider: &dyn ChatProvider,
    config: &Config,
    system: &str,
    task: &str,
    evidence: &[Evidence],
) -> Result<std::result::Result<Written, NotWritten>> {
    let remote = !provider.config().is_loopback();
    if remote && config.privacy.no_remote {
        return Ok(Err(NotWritten::RemoteOff(
            provider.config().base_url.clone(),
        )));
    }
    let redactor = (remote || config.privacy.redact_local).then(Redactor::builtin);
    let mut redactions = 0;
    let mut redact = |text: &str, path: &str| match &redactor {
        Some(r) => {
            let (text, n) = r.redact(text, path);
            redactions += n;
            text
        }
        None => text.to_owned(),
    };
    let evidence: Vec<Evidence> = evidence
        .iter()
        .map(|e| {
            let mut e = e.clone();
            e.text = redact(&e.text, &e.at.path);
            e
        })
        .collect();
    let task = redact(task, "");
    let commit = index.indexed_commit().unwrap_or_default().to_owned();
    let policy = &config.context;
    let user = |block: &str| format!("Evidence:\n\n{block}\n{task}");
    let budget =
        crate::provider::prompt_budget(provider, policy.budget_tokens, policy.answer_tokens);
    let packed = pack(&evidence, &commit, budget, |block| {
        format!("{system}\n\n{}", user(block))
    });
    let request = ChatRequest {
        messages: vec![
            Message::new("system", system),
            Message::new("user", user(&render_all(&packed, &commit))),
        ],
        temperature: policy.temperature,
        max_tokens: Some(policy.answer_tokens),
    };
    let response = match provider.chat(&request, &mut |_| {}) {
        Ok(r) => r,
        Err(e) if e.is_unreachable() => return Ok(Err(NotWritten::Unreachable(e.to_string()))),
        Err(e) => return Err(e),
    };
    let checked = cite::check(&response.text, &packed, &commit, &|p| {
        index.is_stale(p).unwrap_or(true)
    });
    Ok(Ok(Written {
        text: checked.text,
        citations: checked.citations,
        rejected: checked.rejected,
        model: response.model,
        remote,
        redactions,
        packed,
        commit,
    }))
}

/// A diagnosis's hypothesis: the first five places' lines (at most
/// [`HYPOTHESIS_SPAN`] around each one's first evidence line) and the
/// symptom, written over by the model with [`HYPOTHESIS_PROMPT`].
pub fn hypothesis(
    index: &RepoIndex,
    provider: &dyn ChatProvider,
    config: &Config,
    symptom: &str,
    places: &[lore_index::diagnose::Place],
) -> Result<std::result::Result<Written, NotWritten>> {
    let evidence: Vec<Evidence> = places
        .iter()
        .take(5)
        .filter_map(|p| {
            let (mut start, mut end) = (p.start_line, p.end_line);
            if end.saturating_sub(start) >= HYPOTHESIS_SPAN {
                let prefix = format!("{}:", p.path);
                let line = p
                    .evidence
                    .iter()
                    .filter_map(|e| e.at.as_deref()?.strip_prefix(&prefix)?.parse::<u32>().ok())
                    .next()
                    .unwrap_or(start);
                start = line.saturating_sub(HYPOTHESIS_SPAN / 2).max(p.start_line);
                end = (start + HYPOTHESIS_SPAN - 1).min(p.end_line);
            }
            evidence_at(index, &p.path, start, end, p.symbol.as_deref())
        })
        .collect();
    let task = format!(
        "Symptom:\n{}\n\nWhere is the bug most likely, and why?",
        symptom.trim()
    );
    write(index, provider, config, HYPOTHESIS_PROMPT, &task, &evidence)
}

/// Lines of a place shown at most.
pub const HYPOTHESIS_SPAN: u32 = 60;

/// The instructions for a diagnosis's hypothesis.
pub const HYPOTHESIS_PROMPT: &str = "You help a developer find the bug behind a symptom. \
The evidence is the code Lore ranked as the likeliest places, each numbered, with its lines numbered. \
Write a short hypothesis (at most six sentences): where the bug most likely is and why, tying the symptom \
to specific lines. Cite every claim about the code as [n:a-b] (lines a to b of evidence n). \
Use only the evidence; if it does not explain the symptom, say so.";

/// The instructions for review comments on a change.
pub const REVIEW_PROMPT: &str = "You review a code change. The evidence is the changed code, each piece numbered, \
with its lines numbered. Write at most five comments, one per line, each starting with `- ` and citing the lines \
it is about as [n:a-b]: bugs, unhandled errors, edge cases, risky behaviour. Only what the evidence shows; \
no praise, no style nits. If nothing is worth saying, write `- none`.";

/// Review comments: one per `- ` line of `written`, each with the
/// citations it makes that verify (a comment with none is dropped).
pub fn comments(written: &Written) -> Vec<(String, Vec<Citation>)> {
    written
        .text
        .lines()
        .filter_map(|line| line.trim().strip_prefix("- "))
        .filter_map(|body| {
            let checked = cite::check(body, &written.packed, &written.commit, &|_| false);
            (!checked.citations.is_empty())
                .then(|| (checked.text.trim().to_owned(), checked.citations))
        })
        .collect()
}

/// The configured provider's comments on a reviewed change's hunks, added
/// to `review` as `review/model-comment` findings: only comments whose
/// citations verify, none like a dismissed one (counted in `suppressed`).
/// `home` holds the provider settings; no provider (or the rule turned
/// off, or nothing added) leaves the review as it is. `Some(reason)` when
/// a configured provider could not be used.
pub fn review_comments(
    home: &std::path::Path,
    index: &RepoIndex,
    change: &lore_index::review::Change,
    smells: &lore_index::findings::SmellConfig,
    dismissed: &std::collections::HashSet<String>,
    review: &mut lore_index::review::Review,
) -> Result<Option<String>> {
    if !smells.enabled(lore_index::findings::MODEL_COMMENT) || review.added_lines == 0 {
        return Ok(None);
    }
    let config = crate::asker::load_config(home)?;
    let Some(provider) = config.provider(&crate::asker::env)? else {
        return Ok(None);
    };
    let provider = crate::provider::open(provider);
    let evidence: Vec<Evidence> = lore_index::review::hunks(index, change)?
        .into_iter()
        .map(|h| evidence(&h.path, h.start, h.end, h.text))
        .collect();
    let written = match write(
        index,
        provider.as_ref(),
        &config,
        REVIEW_PROMPT,
        "Review this change.",
        &evidence,
    )? {
        Ok(w) => w,
        Err(why) => return Ok(Some(why.to_string())),
    };
    for (comment, cited) in comments(&written) {
        let c = &cited[0];
        let f = lore_index::review::model_comment(
            index,
            smells,
            &c.at.path,
            (c.at.start_line, c.at.end_line),
            &comment,
            &written.model,
        );
        if dismissed.contains(&f.fingerprint) {
            review.suppressed += 1;
        } else {
            review.findings.push(f);
        }
    }
    lore_index::review::sort_findings(&mut review.findings);
    Ok(None)
}
