//! tantivy adapter for [`lore_core::tokens`].

use tantivy::tokenizer::{Token, TokenStream, Tokenizer};

/// Splits camelCase, PascalCase, snake_case, kebab-case and digits,
/// lower-cases, and also keeps the whole identifier.
#[derive(Clone, Debug, Default)]
pub struct CodeTokenizer {
    /// Token slots reused across texts, so their strings keep their
    /// capacity; only the first `len` are current.
    tokens: Vec<Token>,
}

/// The tokens of one text.
pub struct CodeTokenStream<'a> {
    tokens: &'a mut [Token],
    index: usize,
}

impl Tokenizer for CodeTokenizer {
    type TokenStream<'a> = CodeTokenStream<'a>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> CodeTokenStream<'a> {
        let mut len = 0;
        let tokens = &mut self.tokens;
        lore_core::tokens::tokenize_with(text, |t| {
            if len == tokens.len() {
                tokens.push(Token::default());
            }
            let slot = &mut tokens[len];
            slot.offset_from = t.start;
            slot.offset_to = t.end;
            slot.position = t.position;
            slot.position_length = 1;
            slot.text.clear();
            slot.text.push_str(t.text);
            len += 1;
        });
        CodeTokenStream {
            tokens: &mut self.tokens[..len],
            index: 0,
        }
    }
}

impl TokenStream for CodeTokenStream<'_> {
    fn advance(&mut self) -> bool {
        self.index += 1;
        self.index <= self.tokens.len()
    }

    fn token(&self) -> &Token {
        &self.tokens[self.index - 1]
    }

    fn token_mut(&mut self) -> &mut Token {
        &mut self.tokens[self.index - 1]
    }
}
