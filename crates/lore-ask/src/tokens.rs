//! Token counts with the o200k tokenizer (the encoding of current OpenAI
//! models; close enough for budgets of others).

/// Tokens of `text`.
pub fn count(text: &str) -> usize {
    lore_index::count_tokens(text)
}
