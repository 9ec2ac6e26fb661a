//! The one tokeniser: jieba-rs for Chinese runs (with the team's e-commerce
//! dictionary on top of jieba's own), plain splitting for Latin words and
//! numbers. Input must be [`normalize`](crate::normalize)d first.

use std::sync::OnceLock;

use jieba_rs::Jieba;

/// Brands, product words and service terms jieba would cut apart
/// (七天无理由, 价保, 京豆…), written by the team; `word freq [tag]` per line.
const ECOMMERCE_DICT: &str = include_str!("../dict/ecommerce.txt");

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// A Chinese word.
    Han,
    /// Latin letters, possibly with digits (`iphone15`, `jd`).
    Word,
    /// Digits only.
    Number,
    Punct,
    /// Anything else: emoji, symbols, other scripts, one character each.
    Symbol,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Token<'a> {
    pub text: &'a str,
    pub kind: TokenKind,
    /// Byte offset in the normalised text.
    pub start: usize,
}

pub struct Tokenizer {
    jieba: Jieba,
}

impl Default for Tokenizer {
    fn default() -> Self {
        Self::new()
    }
}

impl Tokenizer {
    /// Builds jieba's dictionary plus ours (~100 ms); prefer [`Tokenizer::shared`].
    pub fn new() -> Self {
        let mut jieba = Jieba::new();
        for line in ECOMMERCE_DICT.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')) {
            let mut parts = line.split_whitespace();
            let Some(word) = parts.next() else { continue };
            let freq = parts.next().and_then(|f| f.parse().ok());
            jieba.add_word(word, freq, parts.next());
        }
        Tokenizer { jieba }
    }

    /// The process-wide tokeniser, built on first use.
    pub fn shared() -> &'static Tokenizer {
        static SHARED: OnceLock<Tokenizer> = OnceLock::new();
        SHARED.get_or_init(Tokenizer::new)
    }

    pub fn tokens<'a>(&self, text: &'a str) -> Vec<Token<'a>> {
        // About one token per two Chinese characters (3 bytes each).
        let mut out = Vec::with_capacity(text.len() / 5 + 1);
        let mut rest = text;
        let mut offset = 0;
        while let Some(first) = rest.chars().next() {
            let class = class_of(first);
            let len = match class {
                // Chinese text up to the next Latin letter or digit, punctuation
                // and spaces included: one jieba call for a whole review rather
                // than one per clause (jieba splits at punctuation itself).
                Class::Han => han_span(rest),
                Class::Alnum => rest.char_indices().find(|(_, c)| class_of(*c) != class).map_or(rest.len(), |(i, _)| i),
                Class::Space | Class::Punct | Class::Other => first.len_utf8(),
            };
            let run = &rest[..len];
            match class {
                Class::Space => {}
                Class::Han => {
                    for word in self.jieba.cut(run, true) {
                        // jieba hands back slices of `run`.
                        let at = offset + (word.as_ptr() as usize - run.as_ptr() as usize);
                        if word.chars().all(is_han) {
                            out.push(Token { text: word, kind: TokenKind::Han, start: at });
                        } else {
                            single_chars(word, at, &mut out);
                        }
                    }
                }
                Class::Alnum => {
                    let kind =
                        if run.bytes().all(|b| b.is_ascii_digit()) { TokenKind::Number } else { TokenKind::Word };
                    out.push(Token { text: run, kind, start: offset });
                }
                Class::Punct => out.push(Token { text: run, kind: TokenKind::Punct, start: offset }),
                Class::Other => out.push(Token { text: run, kind: TokenKind::Symbol, start: offset }),
            }
            offset += len;
            rest = &rest[len..];
        }
        out
    }
}

/// The length of the Chinese span `text` starts with: up to the first Latin
/// letter or digit, ending on its last Chinese character.
fn han_span(text: &str) -> usize {
    let mut end = 0;
    for (i, c) in text.char_indices() {
        if c.is_ascii_alphanumeric() {
            break;
        }
        if is_han(c) {
            end = i + c.len_utf8();
        }
    }
    end
}

/// A piece jieba returned that is not all Chinese: one token per character
/// (spaces dropped), as outside Chinese spans.
fn single_chars<'a>(word: &'a str, start: usize, out: &mut Vec<Token<'a>>) {
    for (i, c) in word.char_indices() {
        let kind = match class_of(c) {
            Class::Space => continue,
            Class::Han => TokenKind::Han,
            Class::Punct => TokenKind::Punct,
            // Not reached: spans hold no Latin letters or digits.
            Class::Alnum => TokenKind::Word,
            Class::Other => TokenKind::Symbol,
        };
        out.push(Token { text: &word[i..i + c.len_utf8()], kind, start: start + i });
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Class {
    Han,
    Alnum,
    Punct,
    Space,
    Other,
}

fn class_of(c: char) -> Class {
    if is_han(c) {
        Class::Han
    } else if c.is_ascii_alphanumeric() {
        Class::Alnum
    } else if c.is_whitespace() {
        Class::Space
    } else if c.is_ascii_punctuation() {
        Class::Punct
    } else {
        Class::Other
    }
}

pub fn is_han(c: char) -> bool {
    matches!(c, '\u{4E00}'..='\u{9FFF}' | '\u{3400}'..='\u{4DBF}' | '\u{F900}'..='\u{FAFF}' | '\u{20000}'..='\u{2A6DF}')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::normalize;

    fn words(text: &str) -> Vec<String> {
        let n = normalize(text);
        Tokenizer::shared().tokens(&n).iter().map(|t| t.text.to_owned()).collect()
    }

    #[test]
    fn the_ecommerce_dictionary_keeps_service_terms_whole() {
        assert!(words("这个支持七天无理由吗").contains(&"七天无理由".to_owned()));
        assert!(words("支持七天无理由退货吗").contains(&"七天无理由退货".to_owned()));
        assert!(words("买贵了能价保吗").contains(&"价保".to_owned()));
        assert!(words("京豆怎么用").contains(&"京豆".to_owned()));
    }

    #[test]
    fn latin_numbers_and_punctuation_are_separate_tokens() {
        let n = normalize("订单JD2024110112345还没发货？iPhone15");
        let tokens = Tokenizer::shared().tokens(&n);
        let kinds: Vec<(&str, TokenKind)> = tokens.iter().map(|t| (t.text, t.kind)).collect();
        assert!(kinds.contains(&("jd2024110112345", TokenKind::Word)));
        assert!(kinds.contains(&("?", TokenKind::Punct)));
        assert!(kinds.contains(&("iphone15", TokenKind::Word)));
        for t in &tokens {
            assert_eq!(&n[t.start..t.start + t.text.len()], t.text, "offsets point into the text");
        }
    }

    #[test]
    fn english_splits_on_spaces_and_punctuation() {
        assert_eq!(words("Where's my ORDER #123?"), ["where", "'", "s", "my", "order", "#", "123", "?"]);
    }
}
