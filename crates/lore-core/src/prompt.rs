//! The form in which a model sees a question about the repository: the
//! system prompt of `lore ask` and evidence rendered with line numbers.
//! Asking and training share it, so that an adapter learns to answer in
//! exactly the form it is asked in.

use crate::Located;

/// What `lore ask` tells a model before the evidence.
pub const ANSWER_SYSTEM: &str = "You are Lore, the resident expert of one code repository. \
Answer the question from the numbered evidence only. Cite every claim with the evidence id in \
square brackets: [n] for a whole piece of evidence, [n:a-b] for its lines a to b (the line \
numbers shown). Never cite anything that is not in the evidence and never invent file names. \
If the evidence does not answer the question, say what is missing. Be concise: short \
paragraphs or a list, code names in backticks.";

/// Renders evidence `n` as the model sees it: a header, then each line of
/// `text` (lines `at.start_line..`) with its number, so that citations
/// can name exact lines.
pub fn evidence(n: usize, at: &Located, text: &str, commit: &str) -> String {
    let mut out = format!("[{n}] {}:{}-{}", at.path, at.start_line, at.end_line);
    if let Some(symbol) = &at.symbol {
        out.push_str(&format!(" ({symbol})"));
    }
    if !commit.is_empty() {
        out.push_str(&format!(" @{}", &commit[..commit.len().min(12)]));
    }
    out.push('\n');
    for (i, line) in text.lines().enumerate() {
        out.push_str(&format!("{:>5} {line}\n", at.start_line as usize + i));
    }
    out
}

/// The user's turn of a single question: the evidence block, then the
/// question.
pub fn question(evidence_block: &str, question: &str) -> String {
    format!("Evidence:\n\n{evidence_block}\nQuestion: {question}")
}
