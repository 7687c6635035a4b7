//! Context packing: evidence chunks, best first, rendered with numbered
//! ids, path, line range and commit, fitted exactly into the model's
//! token budget.

use lore_core::Located;
use serde::{Deserialize, Serialize};

use crate::tokens;

/// What goes into the context: a versioned record, so a learned policy can
/// replace it later and every answer says which one it used.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ContextPolicy {
    /// Increases whenever a field changes meaning or value.
    pub version: u32,
    /// Most evidence chunks retrieved for packing.
    pub chunks: usize,
    /// Graph hops: chunks of definitions the top evidence calls are added
    /// (0 or 1).
    pub graph_hops: usize,
    /// Whether symbol cards (signature, callers, callees) head the context.
    pub symbol_cards: bool,
    /// Tokens for the whole prompt (system, history, evidence, question).
    pub budget_tokens: usize,
    /// Tokens kept free for the answer.
    pub answer_tokens: u32,
    /// Sampling temperature.
    pub temperature: f32,
    /// Let the context bandit vary chunks, graph hops, cards (and the
    /// model size, when both are configured) around these values, learning
    /// from feedback which works best for this repository
    /// (`crate::context_bandit`); false pins them.
    pub learn: bool,
    /// The bandit's arm that chose this policy (none: as configured).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub arm: Option<String>,
    /// The model size the arm chose (`small` or `large`; none: routed by
    /// the question).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model_size: Option<String>,
}

impl Default for ContextPolicy {
    fn default() -> ContextPolicy {
        ContextPolicy {
            version: 1,
            chunks: 12,
            graph_hops: 1,
            symbol_cards: true,
            budget_tokens: 6000,
            answer_tokens: 800,
            temperature: 0.1,
            learn: true,
            arm: None,
            model_size: None,
        }
    }
}

/// One retrieved chunk offered to the model.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Evidence {
    /// Where the chunk is: path, lines (1-based, inclusive), symbol, kind
    /// and language (for the code fence).
    #[serde(flatten)]
    pub at: Located,
    /// The chunk's text, lines `start_line..=end_line`.
    #[serde(skip)]
    pub text: String,
    /// Retrieval score.
    pub score: f64,
}

/// Evidence as packed: its id in the prompt and whether it was cut.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Packed {
    /// The number the model cites, from 1.
    pub n: usize,
    /// The chunk (lines possibly cut to fit the budget).
    pub evidence: Evidence,
}

/// Renders evidence `n` as the model sees it: a header, then each line
/// with its number, so that citations can name exact lines.
pub fn render(n: usize, e: &Evidence, commit: &str) -> String {
    lore_core::prompt::evidence(n, &e.at, &e.text, commit)
}

/// Renders a whole evidence block.
pub fn render_all(packed: &[Packed], commit: &str) -> String {
    packed
        .iter()
        .map(|p| render(p.n, &p.evidence, commit))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Evidence numbered from 1 in order, all of it (extractive answers have
/// no budget).
pub fn number(evidence: &[Evidence]) -> Vec<Packed> {
    evidence
        .iter()
        .enumerate()
        .map(|(i, e)| Packed {
            n: i + 1,
            evidence: e.clone(),
        })
        .collect()
}

/// Takes evidence best first while the whole prompt — `frame(block)` with
/// the rendered evidence — stays within `budget` tokens. When not even the
/// first chunk fits whole, its first lines are packed instead. Never over
/// budget: returns nothing if the frame alone is too big.
pub fn pack(
    evidence: &[Evidence],
    commit: &str,
    budget: usize,
    frame: impl Fn(&str) -> String,
) -> Vec<Packed> {
    let numbered = number(evidence);
    let cost = |items: &[Packed]| tokens::count(&frame(&render_all(items, commit)));
    let k = lore_retrieve::budget::fit_prefix(numbered.len(), budget, |k| cost(&numbered[..k]));
    if k > 0 || numbered.is_empty() {
        return numbered[..k].to_vec();
    }
    // The best chunk alone is too long: keep as many of its lines as fit.
    let first = &numbered[0];
    let lines: Vec<&str> = first.evidence.text.lines().collect();
    let cut = |m: usize| {
        let mut p = first.clone();
        p.evidence.text = lines[..m].join("\n");
        p.evidence.at.end_line = first.evidence.at.start_line + m.saturating_sub(1) as u32;
        p
    };
    let m = lore_retrieve::budget::fit_prefix(lines.len(), budget, |m| {
        if m == 0 { cost(&[]) } else { cost(&[cut(m)]) }
    });
    if m == 0 { Vec::new() } else { vec![cut(m)] }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunk(path: &str, start: u32, lines: usize) -> Evidence {
        let text: Vec<String> = (0..lines)
            .map(|i| format!("    value_{i} = compute_something({i}) + other_value"))
            .collect();
        Evidence {
            at: Located {
                symbol: Some("f".into()),
                kind: Some("function".into()),
                lang: "python".into(),
                ..Located::lines(path, start, start + lines as u32 - 1)
            },
            text: text.join("\n"),
            score: 1.0,
        }
    }

    #[test]
    fn packing_never_exceeds_the_budget_and_keeps_the_order() {
        let evidence: Vec<Evidence> = (0..8)
            .map(|i| chunk(&format!("f{i}.py"), 10, 5 + i * 3))
            .collect();
        let frame = |block: &str| format!("System prompt.\n\n{block}\n\nQuestion: where?");
        for budget in [0, 5, 30, 60, 120, 250, 500, 1000, 5000] {
            let packed = pack(&evidence, "abc123", budget, frame);
            let used = tokens::count(&frame(&render_all(&packed, "abc123")));
            if !packed.is_empty() {
                assert!(used <= budget, "budget {budget}: used {used}");
            }
            for (i, p) in packed.iter().enumerate() {
                assert_eq!(p.n, i + 1);
                assert_eq!(p.evidence.at.path, format!("f{i}.py"));
            }
            // One more chunk would not have fit.
            if !packed.is_empty()
                && packed.len() < evidence.len()
                && packed[0].evidence == evidence[0]
            {
                let more: Vec<Packed> = evidence[..packed.len() + 1]
                    .iter()
                    .enumerate()
                    .map(|(i, e)| Packed {
                        n: i + 1,
                        evidence: e.clone(),
                    })
                    .collect();
                assert!(tokens::count(&frame(&render_all(&more, "abc123"))) > budget);
            }
        }
        assert_eq!(pack(&evidence, "c", 100_000, frame).len(), 8);
    }

    #[test]
    fn a_long_first_chunk_is_cut_to_its_first_lines() {
        let evidence = vec![chunk("big.py", 100, 400)];
        let frame = |block: &str| format!("S\n{block}\nQ");
        let packed = pack(&evidence, "", 300, frame);
        assert_eq!(packed.len(), 1);
        let p = &packed[0].evidence;
        assert_eq!(p.at.start_line, 100);
        assert!(
            p.at.end_line > 100 && p.at.end_line < 499,
            "{}",
            p.at.end_line
        );
        assert_eq!(p.text.lines().count() as u32, p.at.line_count());
        assert!(tokens::count(&frame(&render_all(&packed, ""))) <= 300);
    }

    #[test]
    fn rendering_numbers_every_line() {
        let e = chunk("a.py", 41, 2);
        let text = render(3, &e, "0123456789abcdef");
        assert!(
            text.starts_with("[3] a.py:41-42 (f) @0123456789ab\n"),
            "{text}"
        );
        assert!(text.contains("   41     value_0"));
        assert!(text.contains("   42     value_1"));
    }
}
