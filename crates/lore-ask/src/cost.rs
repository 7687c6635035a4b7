//! Prices per model, for the cost of an answer.
//!
//! US dollars per million tokens (input, output), from the providers'
//! public price lists. Models are matched by the longest known prefix of
//! their name; a model on loopback (Ollama, llama.cpp, vLLM on this
//! machine) costs nothing; an unknown remote model has no known cost
//! (`None`), which is reported as such rather than guessed.

/// (model name prefix, input $/1M tokens, output $/1M tokens).
const PRICES: &[(&str, f64, f64)] = &[
    ("gpt-4o-mini", 0.15, 0.60),
    ("gpt-4o", 2.50, 10.00),
    ("gpt-4.1-nano", 0.10, 0.40),
    ("gpt-4.1-mini", 0.40, 1.60),
    ("gpt-4.1", 2.00, 8.00),
    ("gpt-5-nano", 0.05, 0.40),
    ("gpt-5-mini", 0.25, 2.00),
    ("gpt-5", 1.25, 10.00),
    ("o4-mini", 1.10, 4.40),
    ("o3-mini", 1.10, 4.40),
    ("o3", 2.00, 8.00),
    ("claude-3-5-haiku", 0.80, 4.00),
    ("claude-haiku-4", 1.00, 5.00),
    ("claude-sonnet-4", 3.00, 15.00),
    ("claude-3-7-sonnet", 3.00, 15.00),
    ("claude-opus-4", 15.00, 75.00),
    ("deepseek-chat", 0.27, 1.10),
    ("deepseek-reasoner", 0.55, 2.19),
    ("mistral-small", 0.10, 0.30),
    ("mistral-large", 2.00, 6.00),
    ("codestral", 0.30, 0.90),
];

/// The cost in US dollars of `prompt` + `completion` tokens on `model`:
/// zero on loopback, `None` for an unknown remote model.
pub fn cost(model: &str, loopback: bool, prompt: u64, completion: u64) -> Option<f64> {
    if loopback {
        return Some(0.0);
    }
    let name = model.rsplit('/').next().unwrap_or(model).to_lowercase();
    let (_, input, output) = PRICES
        .iter()
        .filter(|(prefix, _, _)| name.starts_with(prefix))
        .max_by_key(|(prefix, _, _)| prefix.len())?;
    Some((prompt as f64 * input + completion as f64 * output) / 1e6)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_longest_prefix_prices_the_model() {
        let c = cost("gpt-4o-mini-2024-07-18", false, 1_000_000, 1_000_000).unwrap();
        assert!((c - 0.75).abs() < 1e-9, "{c}");
        let c = cost("openai/gpt-4o", false, 2000, 500).unwrap();
        assert!((c - (2000.0 * 2.5 + 500.0 * 10.0) / 1e6).abs() < 1e-12);
        assert_eq!(cost("qwen2.5-coder:7b", true, 5000, 300), Some(0.0));
        assert_eq!(cost("some-private-model", false, 5000, 300), None);
    }
}
