//! An adapter's training data beyond the code itself: pairs of a prompt
//! and what the model should write, each with its provenance.
//!
//! - **doc → code**: a function's doc comment, or a paragraph of the
//!   project's Markdown that names one function, and the function's code;
//! - **commit → diff**: a commit message and the patch it made;
//! - **card / dossier**: questions Summarize's facts answer ("what does
//!   `f` do and where is it used?", "what is this file for?"), asked the
//!   way `lore ask` asks — numbered evidence, citations `[n:a-b]`;
//! - **rated answer**: answers people rated well, over their cited code.
//!
//! Everything comes from files the index holds (so paths the user
//! excluded never enter) and that are not held out, with secrets
//! redacted; the card and answer pairs cite only lines they show.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use lore_core::{Language, Located, SymbolKind};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{Source, is_held_out};
use crate::error::Result;
use crate::query::RepoIndex;
use crate::redact::Redactor;
use crate::utility::Judged;

/// What kind of example.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// A window of a source file (next-token learning).
    Code,
    /// A doc comment or Markdown paragraph → the function it describes.
    DocCode,
    /// A commit message → its patch.
    CommitDiff,
    /// A question a function card answers → the cited answer.
    Card,
    /// A question a file dossier answers → the cited answer.
    Dossier,
    /// A question people asked → the answer they rated well.
    RatedAnswer,
}

impl Kind {
    /// Its name in records and logs.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Code => "code",
            Kind::DocCode => "doc_code",
            Kind::CommitDiff => "commit_diff",
            Kind::Card => "card",
            Kind::Dossier => "dossier",
            Kind::RatedAnswer => "rated_answer",
        }
    }
}

/// Where an example came from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Provenance {
    /// Its kind.
    pub kind: Kind,
    /// The file it was made from (the function's file for doc → code and
    /// cards, the doc file for a Markdown paragraph).
    pub path: String,
    /// Its lines in that file (first, last), when it is a span of it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lines: Option<(u32, u32)>,
    /// The commit: the data commit, the commit of a commit → diff pair,
    /// the commit a rated answer's evidence was read at.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    /// Other files it holds (a commit's other files, a pair's evidence).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub also: Vec<String>,
    /// The rated answer's id in the history.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer: Option<i64>,
}

/// A prompt and what the model should answer.
#[derive(Clone, Debug)]
pub struct Pair {
    /// Where it came from.
    pub provenance: Provenance,
    /// The conversation before the answer, `(role, content)`.
    pub turns: Vec<(&'static str, String)>,
    /// The answer.
    pub answer: String,
}

/// What the repository has learned beside its code: Summarize's cards and
/// dossiers, and answers people judged.
#[derive(Clone, Debug, Default)]
pub struct Extras {
    /// Cards and file dossiers (their JSON).
    pub facts: Vec<Value>,
    /// Answers with feedback.
    pub judged: Vec<Judged>,
}

impl Extras {
    /// What the thinker's fact store and the answer history of the
    /// repository at `index` hold; the cards and dossiers of a sample of
    /// `train` made on the spot when Summarize has written none yet.
    pub fn gather(home: &crate::Home, index: &RepoIndex, train: &[String]) -> Result<Extras> {
        use lore_core::jobs::JobStore;
        let repo = home.repo_id(index.root());
        let mut facts = Vec::new();
        if home.thinker_db().exists() {
            let queue = lore_store::SqliteJobs::open(&home.thinker_db())?;
            let prefix = crate::thoughts::repo_scope(&repo);
            for key in [crate::thoughts::keys::CARD, crate::thoughts::keys::DOSSIER] {
                for (fact, _) in queue.facts_under(&prefix, key, 20_000)? {
                    if let Ok(v) = serde_json::from_str::<Value>(&fact.value) {
                        facts.push(v);
                    }
                }
            }
        }
        if facts.is_empty() && !train.is_empty() {
            let mut sample: Vec<&String> = train.iter().collect();
            sample.sort_by_key(|p| blake3::hash(p.as_bytes()).as_bytes()[..8].to_vec());
            let sample: Vec<String> = sample.into_iter().take(60).cloned().collect();
            let made = crate::thoughts::summarize(index, &repo, &sample)?;
            facts.extend(
                made.facts
                    .iter()
                    .filter_map(|f| serde_json::from_str::<Value>(&f.value).ok()),
            );
        }
        let history = crate::layout::Layout::new(index.data_dir()).history_db();
        let judged = crate::utility::judged_in(&history, 0)?;
        Ok(Extras { facts, judged })
    }
}

/// Limits on the pairs.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Pairs of each kind at most (a deterministic sample beyond).
    pub per_kind: usize,
    /// Lines of a function body, of a piece of evidence.
    pub body_lines: usize,
    /// Commits looked at for commit → diff pairs.
    pub commits: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            per_kind: 400,
            body_lines: 60,
            commits: 2000,
        }
    }
}

/// The training files' text by path (what pairs may show).
struct Texts<'a> {
    by_path: HashMap<&'a str, Vec<&'a str>>,
}

impl<'a> Texts<'a> {
    fn new(train: &'a [Source]) -> Texts<'a> {
        Texts {
            by_path: train
                .iter()
                .map(|s| (s.path.as_str(), s.text.lines().collect()))
                .collect(),
        }
    }

    /// Lines `a..=b` (1-based) of a training file, at most `max` of them.
    fn span(&self, path: &str, a: u32, b: u32, max: usize) -> Option<(u32, u32, String)> {
        let lines = self.by_path.get(path)?;
        let a = a.max(1);
        let max = max.clamp(1, u32::MAX as usize) as u32;
        let b = b.min(lines.len() as u32).min(a.saturating_add(max - 1));
        (a <= b).then(|| {
            let text = lines[a as usize - 1..b as usize].join("\n");
            (a, b, text)
        })
    }
}

/// Every pair the repository offers, at most `limits.per_kind` of each
/// kind, in a fixed order that takes the kinds in turn (so that any
/// prefix holds some of each).
pub fn pairs(
    index: &RepoIndex,
    train: &[Source],
    held: &[Source],
    extras: &Extras,
    limits: Limits,
) -> Result<Vec<Pair>> {
    let texts = Texts::new(train);
    // What a commit may touch: indexed files not held out (docs and
    // configuration too, not only code).
    let held: HashSet<&str> = held.iter().map(|s| s.path.as_str()).collect();
    let allowed: HashSet<String> = index
        .store()
        .paths()?
        .into_iter()
        .filter(|p| !held.contains(p.as_str()) && !is_held_out(p))
        .collect();
    let commit = index.indexed_commit().map(str::to_owned);
    let redactor = Redactor::builtin();
    let mut by_kind: Vec<std::vec::IntoIter<Pair>> = Vec::new();
    let mut kind = |mut made: Vec<Pair>| {
        sample(&mut made, limits.per_kind);
        by_kind.push(made.into_iter());
    };
    kind(doc_code(index, &texts, &commit, limits)?);
    kind(markdown_code(index, &texts, &commit, &redactor, limits)?);
    kind(commit_diff(index.root(), &allowed, &redactor, limits)?);
    kind(cards(&extras.facts, &texts, &commit, limits));
    kind(dossiers(&extras.facts, &texts, &commit));
    kind(rated(&extras.judged, &texts, limits));
    let mut out = Vec::new();
    loop {
        let before = out.len();
        out.extend(by_kind.iter_mut().filter_map(Iterator::next));
        if out.len() == before {
            return Ok(out);
        }
    }
}

/// Keeps `n` of `pairs`, chosen by a hash of their provenance (the same
/// ones every run while the data stays the same).
fn sample(pairs: &mut Vec<Pair>, n: usize) {
    if pairs.len() <= n {
        return;
    }
    let key = |p: &Pair| {
        let pr = &p.provenance;
        blake3::hash(format!("{}\0{:?}\0{:?}", pr.path, pr.lines, pr.commit).as_bytes())
    };
    pairs.sort_by_cached_key(|p| *key(p).as_bytes());
    pairs.truncate(n);
}

fn user(text: String) -> Vec<(&'static str, String)> {
    vec![("user", text)]
}

/// The turns of a question asked the way `lore ask` asks it.
fn asked(evidence: &[String], question: &str) -> Vec<(&'static str, String)> {
    vec![
        ("system", lore_core::prompt::ANSWER_SYSTEM.to_owned()),
        (
            "user",
            lore_core::prompt::question(&evidence.join("\n"), question),
        ),
    ]
}

fn located(path: &str, a: u32, b: u32, symbol: Option<&str>) -> Located {
    Located {
        symbol: symbol.map(str::to_owned),
        ..Located::lines(path, a, b)
    }
}

/// The first paragraph of a doc comment, if it says something (at least
/// four words).
fn paragraph(doc: &str) -> Option<String> {
    let p = doc
        .split("\n\n")
        .next()?
        .split_whitespace()
        .collect::<Vec<_>>();
    (p.len() >= 4).then(|| p.join(" "))
}

fn doc_code(
    index: &RepoIndex,
    texts: &Texts<'_>,
    commit: &Option<String>,
    limits: Limits,
) -> Result<Vec<Pair>> {
    let mut out = Vec::new();
    for row in index
        .store()
        .documented_symbols(&[SymbolKind::Function, SymbolKind::Method])?
    {
        let Some(doc) = row.doc.as_deref().and_then(paragraph) else {
            continue;
        };
        let Some((a, b, code)) = texts.span(&row.path, row.start_line, row.end_line, usize::MAX)
        else {
            continue;
        };
        if (b - a) as usize >= limits.body_lines {
            continue;
        }
        out.push(Pair {
            provenance: Provenance {
                kind: Kind::DocCode,
                path: row.path.clone(),
                lines: Some((a, b)),
                commit: commit.clone(),
                also: Vec::new(),
                answer: None,
            },
            turns: user(format!("Write `{}` in {}: {doc}", row.qualname, row.path)),
            answer: code,
        });
    }
    Ok(out)
}

/// Names in backticks in `text` that look like identifiers.
fn backticked(text: &str) -> Vec<&str> {
    text.split('`')
        .skip(1)
        .step_by(2)
        .map(|s| s.trim_end_matches("()"))
        .filter(|s| {
            s.len() >= 3
                && s.chars().all(|c| c.is_alphanumeric() || c == '_')
                && s.chars().next().is_some_and(|c| !c.is_ascii_digit())
        })
        .collect()
}

/// Markdown paragraphs (of files not held out) that name exactly one
/// function defined in the training files, and that function.
fn markdown_code(
    index: &RepoIndex,
    texts: &Texts<'_>,
    commit: &Option<String>,
    redactor: &Redactor,
    limits: Limits,
) -> Result<Vec<Pair>> {
    let mut out = Vec::new();
    let mut defined: HashMap<String, Option<(String, u32, u32)>> = HashMap::new();
    for path in index.store().paths()? {
        if Language::from_path(Path::new(&path)) != Language::Markdown || is_held_out(&path) {
            continue;
        }
        let Ok(text) = std::fs::read_to_string(index.root().join(&path)) else {
            continue;
        };
        let (text, _) = redactor.redact(&text, &path);
        let mut line = 1u32;
        for para in text.split("\n\n") {
            let start = line;
            let end = start + para.matches('\n').count() as u32;
            line = end + 2;
            let words = para.split_whitespace().count();
            if !(8..=200).contains(&words) || para.trim_start().starts_with("```") {
                continue;
            }
            let mut named: Vec<(String, u32, u32)> = Vec::new();
            for name in backticked(para) {
                let def = defined.entry(name.to_owned()).or_insert_with(|| {
                    let hits: Vec<_> = index
                        .symbols(name, None, 3)
                        .unwrap_or_default()
                        .into_iter()
                        .filter(|h| h.matched == "exact")
                        .filter(|h| matches!(h.kind.as_str(), "function" | "method"))
                        .collect();
                    match hits.as_slice() {
                        [h] => Some((h.path.clone(), h.start_line, h.end_line)),
                        _ => None,
                    }
                });
                if let Some(d) = def.clone()
                    && !named.contains(&d)
                {
                    named.push(d);
                }
            }
            let [(fpath, fa, fb)] = named.as_slice() else {
                continue;
            };
            let Some((_, b, code)) = texts.span(fpath, *fa, *fb, limits.body_lines) else {
                continue;
            };
            if b < *fb {
                continue;
            }
            out.push(Pair {
                provenance: Provenance {
                    kind: Kind::DocCode,
                    path: path.clone(),
                    lines: Some((start, end)),
                    commit: commit.clone(),
                    also: vec![fpath.clone()],
                    answer: None,
                },
                turns: user(format!(
                    "The documentation in {path} says:\n\n{}\n\nWrite the code it describes ({fpath}).",
                    para.trim()
                )),
                answer: code,
            });
        }
    }
    Ok(out)
}

/// Commits whose files are all `allowed` (none held out, none the index
/// does not hold): the message, and the patch.
fn commit_diff(
    root: &Path,
    allowed: &HashSet<String>,
    redactor: &Redactor,
    limits: Limits,
) -> Result<Vec<Pair>> {
    let Some(commits) = lore_git::commit_patches(root, limits.commits, 4, 4000)
        .map_err(|e| crate::Error::Invalid(e.to_string()))?
    else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for c in commits {
        if c.message.split_whitespace().count() < 3
            || !c.files.iter().all(|(p, _)| allowed.contains(p))
        {
            continue;
        }
        let mut patch = String::new();
        for (path, text) in &c.files {
            let (text, _) = redactor.redact(text, path);
            patch.push_str(&text);
        }
        let (message, _) = redactor.redact(&c.message, "commit message");
        let mut files = c.files.iter().map(|(p, _)| p.clone());
        let path = files.next().expect("a commit with files");
        out.push(Pair {
            provenance: Provenance {
                kind: Kind::CommitDiff,
                path,
                lines: None,
                commit: Some(c.sha.clone()),
                also: files.collect(),
                answer: None,
            },
            turns: user(format!(
                "Write the change (a unified diff) for this commit message:\n\n{message}"
            )),
            answer: patch,
        });
    }
    Ok(out)
}

fn first_sentence(text: &str) -> String {
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match flat.find(". ") {
        Some(i) => flat[..=i].to_owned(),
        None => flat,
    }
}

/// "What does `f` do and where is it used?" from a function card: the
/// function and up to two callers (in training files) as evidence.
fn cards(facts: &[Value], texts: &Texts<'_>, commit: &Option<String>, limits: Limits) -> Vec<Pair> {
    let mut out = Vec::new();
    for card in facts.iter().filter(|f| f.get("symbol").is_some()) {
        let (Some(symbol), Some(path)) = (card["symbol"].as_str(), card["path"].as_str()) else {
            continue;
        };
        let (start, end) = (
            card["start_line"].as_u64().unwrap_or(0) as u32,
            card["end_line"].as_u64().unwrap_or(0) as u32,
        );
        let Some((a, b, code)) = texts.span(path, start, end, limits.body_lines / 2) else {
            continue;
        };
        let data_commit = commit.as_deref().unwrap_or("");
        let mut evidence = vec![lore_core::prompt::evidence(
            1,
            &located(path, a, b, Some(symbol)),
            &code,
            data_commit,
        )];
        let mut answer = format!("`{symbol}` is defined in {path} [1:{a}-{b}].");
        if let Some(doc) = card["doc"]
            .as_str()
            .map(first_sentence)
            .filter(|d| !d.is_empty())
        {
            answer.push_str(&format!(" {doc} [1]"));
        }
        let mut also = Vec::new();
        let mut callers = Vec::new();
        for c in card["callers"].as_array().into_iter().flatten() {
            let (Some(cp), Some(line)) = (c["path"].as_str(), c["line"].as_u64()) else {
                continue;
            };
            let line = line as u32;
            let Some((ca, cb, text)) = texts.span(cp, line.saturating_sub(2), line + 2, 5) else {
                continue;
            };
            let n = evidence.len() + 1;
            let within = c["in"].as_str();
            evidence.push(lore_core::prompt::evidence(
                n,
                &located(cp, ca, cb, within),
                &text,
                data_commit,
            ));
            callers.push(match within {
                Some(f) => format!("`{f}` in {cp} [{n}:{line}-{line}]"),
                None => format!("{cp} [{n}:{line}-{line}]"),
            });
            also.push(cp.to_owned());
            if callers.len() == 2 {
                break;
            }
        }
        if !callers.is_empty() {
            answer.push_str(&format!(" It is called from {}.", callers.join(" and ")));
        }
        let callees: Vec<String> = card["callees"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|c| Some((c["name"].as_str()?, c["line"].as_u64()? as u32)))
            .filter(|(_, l)| (a..=b).contains(l))
            .take(4)
            .map(|(name, l)| format!("`{name}` [1:{l}-{l}]"))
            .collect();
        if !callees.is_empty() {
            answer.push_str(&format!(" It calls {}.", callees.join(", ")));
        }
        also.sort();
        also.dedup();
        out.push(Pair {
            provenance: Provenance {
                kind: Kind::Card,
                path: path.to_owned(),
                lines: Some((a, b)),
                commit: commit.clone(),
                also,
                answer: None,
            },
            turns: asked(
                &evidence,
                &format!("What does `{symbol}` do and where is it used?"),
            ),
            answer,
        });
    }
    out
}

/// "What is FILE for?" from a file dossier that states a purpose: the
/// file's head and its first public definitions as evidence.
fn dossiers(facts: &[Value], texts: &Texts<'_>, commit: &Option<String>) -> Vec<Pair> {
    let mut out = Vec::new();
    for d in facts.iter().filter(|f| f["kind"] == "file") {
        let (Some(path), Some(purpose)) = (d["path"].as_str(), d["purpose"].as_str()) else {
            continue;
        };
        let Some((a, b, head)) = texts.span(path, 1, 12, 12) else {
            continue;
        };
        let data_commit = commit.as_deref().unwrap_or("");
        let mut evidence = vec![lore_core::prompt::evidence(
            1,
            &located(path, a, b, None),
            &head,
            data_commit,
        )];
        let mut defines = Vec::new();
        for s in d["public_api"].as_array().into_iter().flatten().take(3) {
            let (Some(name), Some(line)) = (s["symbol"].as_str(), s["line"].as_u64()) else {
                continue;
            };
            let line = line as u32;
            let Some((sa, sb, text)) = texts.span(path, line, line + 2, 3) else {
                continue;
            };
            let n = evidence.len() + 1;
            evidence.push(lore_core::prompt::evidence(
                n,
                &located(path, sa, sb, Some(name)),
                &text,
                data_commit,
            ));
            defines.push(format!("`{name}` [{n}:{line}-{line}]"));
        }
        let mut answer = format!("{} [1]", first_sentence(purpose));
        if !defines.is_empty() {
            answer.push_str(&format!(" It defines {}.", defines.join(", ")));
        }
        out.push(Pair {
            provenance: Provenance {
                kind: Kind::Dossier,
                path: path.to_owned(),
                lines: Some((a, b)),
                commit: commit.clone(),
                also: Vec::new(),
                answer: None,
            },
            turns: asked(&evidence, &format!("What is {path} for?")),
            answer,
        });
    }
    out
}

/// Answers people rated well (a positive reward, no citation called
/// wrong), over their cited lines as they are in the training files.
fn rated(judged: &[Judged], texts: &Texts<'_>, limits: Limits) -> Vec<Pair> {
    let mut out = Vec::new();
    'answers: for j in judged {
        if j.reward.people == 0 || j.reward.value <= 0.0 || !j.wrong.is_empty() {
            continue;
        }
        let cited: Vec<Value> = serde_json::from_str(&j.citations).unwrap_or_default();
        let mut by_n: std::collections::BTreeMap<u64, (String, u32, u32, Option<String>)> =
            std::collections::BTreeMap::new();
        for c in &cited {
            let (Some(n), Some(path), Some(a), Some(b)) = (
                c["n"].as_u64(),
                c["path"].as_str(),
                c["start_line"].as_u64(),
                c["end_line"].as_u64(),
            ) else {
                continue;
            };
            let e = by_n
                .entry(n)
                .or_insert((path.to_owned(), a as u32, b as u32, None));
            e.1 = e.1.min(a as u32);
            e.2 = e.2.max(b as u32);
            e.3 = c["symbol"].as_str().map(str::to_owned);
        }
        if by_n.is_empty() {
            continue;
        }
        let mut evidence = Vec::new();
        let mut paths = Vec::new();
        for (n, (path, a, b, symbol)) in &by_n {
            // Evidence the answer cited from a file held out, excluded or
            // gone: the pair would teach citing what is not shown.
            let Some((sa, sb, text)) = texts.span(path, *a, *b, limits.body_lines) else {
                continue 'answers;
            };
            evidence.push(lore_core::prompt::evidence(
                *n as usize,
                &located(path, sa, sb, symbol.as_deref()),
                &text,
                &j.commit,
            ));
            paths.push(path.clone());
        }
        let path = paths.remove(0);
        paths.sort();
        paths.dedup();
        out.push(Pair {
            provenance: Provenance {
                kind: Kind::RatedAnswer,
                path,
                lines: None,
                commit: Some(j.commit.clone()).filter(|c| !c.is_empty()),
                also: paths,
                answer: Some(j.id),
            },
            turns: asked(&evidence, &j.question),
            answer: j.answer.clone(),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn judged(id: i64, value: f64, citations: &str) -> Judged {
        Judged {
            id,
            question: "what does open_beta return?".into(),
            answer: "The total of the beta book [1:3-3], audited first [2].".into(),
            commit: "c".repeat(40),
            citations: citations.into(),
            reward: lore_learn::reward::Reward {
                value,
                people: 1,
                counted: Default::default(),
                mood: 0.0,
            },
            cited: Vec::new(),
            right: Vec::new(),
            wrong: Vec::new(),
        }
    }

    #[test]
    fn a_rated_answer_is_asked_again_over_the_evidence_it_cited() {
        let train = vec![
            Source {
                path: "shop/beta.py".into(),
                text: "def open_beta(ledger):\n    ledger.audit()\n    return ledger.total()\n"
                    .into(),
            },
            Source {
                path: "shop/core.py".into(),
                text: "class Ledger:\n    def audit(self):\n        pass\n".into(),
            },
        ];
        let texts = Texts::new(&train);
        let cite = |n: u32, path: &str, a: u32, b: u32| {
            format!(r#"{{"n":{n},"path":"{path}","start_line":{a},"end_line":{b},"symbol":null}}"#)
        };
        let good = judged(
            7,
            1.0,
            &format!(
                "[{},{},{}]",
                cite(1, "shop/beta.py", 1, 3),
                cite(1, "shop/beta.py", 3, 3),
                cite(2, "shop/core.py", 2, 3)
            ),
        );
        let pairs = rated(std::slice::from_ref(&good), &texts, Limits::default());
        assert_eq!(pairs.len(), 1);
        let p = &pairs[0];
        assert_eq!(p.answer, good.answer);
        assert_eq!(p.provenance.kind, Kind::RatedAnswer);
        assert_eq!(p.provenance.answer, Some(7));
        assert_eq!(p.provenance.path, "shop/beta.py");
        assert_eq!(p.provenance.also, vec!["shop/core.py".to_owned()]);
        let (system, user) = (&p.turns[0], &p.turns[1]);
        assert_eq!(system.1, lore_core::prompt::ANSWER_SYSTEM);
        // Numbered as the answer cites them, with their line numbers.
        assert!(user.1.contains("[1] shop/beta.py:1-3"), "{}", user.1);
        assert!(
            user.1.contains("    3     return ledger.total()"),
            "{}",
            user.1
        );
        assert!(user.1.contains("[2] shop/core.py:2-3"), "{}", user.1);
        assert!(user.1.ends_with("Question: what does open_beta return?"));

        // Not rated well, or citing what training may not show (held
        // out, excluded, gone): left out.
        let poor = judged(8, -1.0, &good.citations);
        let hidden = judged(9, 1.0, &format!("[{}]", cite(1, "shop/gamma.py", 1, 2)));
        assert!(rated(&[poor, hidden], &texts, Limits::default()).is_empty());
    }

    #[test]
    fn backticked_names_are_identifiers_only() {
        assert_eq!(
            backticked("Call `parse_args()` or `x`, not `a b` nor `--flag`; see `Group.add`."),
            vec!["parse_args"]
        );
    }

    #[test]
    fn a_doc_paragraph_needs_words() {
        assert_eq!(paragraph("Parse."), None);
        assert_eq!(
            paragraph("Parse the   command line\nof the program.\n\nMore."),
            Some("Parse the command line of the program.".into())
        );
    }
}
