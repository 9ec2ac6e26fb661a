//! Sparse features of a tokenised text, as 64-bit hashes: words, word
//! bigrams, Chinese character 1–3-grams, Latin character 3–5-grams, number
//! shapes, punctuation and symbols. Hashes keep models small and lookups
//! cheap; 64 bits make collisions irrelevant at any vocabulary we train.

use crate::tokenize::{Token, TokenKind};

const WORD: u8 = 1;
const NUMBER: u8 = 2;
const PUNCT: u8 = 3;
const SYMBOL: u8 = 4;
const BIGRAM: u8 = 5;
const HAN_GRAM: u8 = 6;
const LATIN_GRAM: u8 = 7;

/// Appends every feature of `tokens` (repeats count as term frequency).
pub fn features(tokens: &[Token<'_>], out: &mut Vec<u64>) {
    let mut previous: Option<u64> = None;
    let mut han_run: Vec<char> = Vec::new();
    let mut run_end = usize::MAX;
    for t in tokens {
        if t.kind == TokenKind::Word || t.start != run_end {
            flush_run(&mut han_run, out);
        }
        if t.kind != TokenKind::Word {
            // Digits join the run as a shape, so order numbers stay one feature set.
            han_run.extend(t.text.chars().map(|c| if c.is_ascii_digit() { '0' } else { c }));
            run_end = t.start + t.text.len();
        }
        let unit = match t.kind {
            TokenKind::Han => Some(hash(WORD, &[t.text.as_bytes()])),
            TokenKind::Word => {
                latin_grams(t.text, out);
                Some(hash(WORD, &[t.text.as_bytes()]))
            }
            // Order numbers, phones and amounts differ in every message; their shape does not.
            TokenKind::Number => Some(hash(NUMBER, &[&[t.text.len().min(20) as u8]])),
            TokenKind::Punct => {
                out.push(hash(PUNCT, &[t.text.as_bytes()]));
                None
            }
            TokenKind::Symbol => {
                out.push(hash(SYMBOL, &[t.text.as_bytes()]));
                None
            }
        };
        if let Some(unit) = unit {
            out.push(unit);
            if let Some(p) = previous {
                out.push(hash(BIGRAM, &[&p.to_le_bytes(), &unit.to_le_bytes()]));
            }
        }
        previous = unit;
    }
    flush_run(&mut han_run, out);
}

/// Character grams of a run of Chinese with its punctuation and numbers;
/// a run without Chinese (English punctuation, a lone number) has none.
fn flush_run(run: &mut Vec<char>, out: &mut Vec<u64>) {
    if run.iter().any(|c| crate::tokenize::is_han(*c)) {
        han_grams(run, out);
    }
    run.clear();
}

fn han_grams(run: &[char], out: &mut Vec<u64>) {
    let mut buf = [0u8; 12];
    for n in 1..=3 {
        for window in run.windows(n) {
            let mut len = 0;
            for c in window {
                len += c.encode_utf8(&mut buf[len..]).len();
            }
            out.push(hash(HAN_GRAM, &[&buf[..len]]));
        }
    }
}

fn latin_grams(word: &str, out: &mut Vec<u64>) {
    let bounded: Vec<u8> = [b"<".as_slice(), word.as_bytes(), b">".as_slice()].concat();
    for n in 3..=5 {
        for window in bounded.windows(n) {
            out.push(hash(LATIN_GRAM, &[window]));
        }
    }
    if bounded.len() < 3 {
        out.push(hash(LATIN_GRAM, &[&bounded]));
    }
}

const MATCH_WORD: u8 = 8;
const MATCH_HAN: u8 = 9;

/// Features for question matching (`faq`): words and number shapes, and the
/// Chinese characters and character pairs of the text read as one run
/// (punctuation and spaces dropped).
pub fn matching_features(tokens: &[Token<'_>], out: &mut Vec<u64>) {
    let mut han: Vec<char> = Vec::new();
    for t in tokens {
        match t.kind {
            TokenKind::Han => {
                han.extend(t.text.chars());
                out.push(hash(MATCH_WORD, &[t.text.as_bytes()]));
            }
            TokenKind::Word => out.push(hash(MATCH_WORD, &[t.text.as_bytes()])),
            TokenKind::Number => out.push(hash(NUMBER, &[&[t.text.len().min(20) as u8]])),
            TokenKind::Punct | TokenKind::Symbol => {}
        }
    }
    let mut buf = [0u8; 8];
    for c in &han {
        out.push(hash(MATCH_HAN, &[c.encode_utf8(&mut buf).as_bytes()]));
    }
    for pair in han.windows(2) {
        let a = pair[0].encode_utf8(&mut buf).len();
        let b = pair[1].encode_utf8(&mut buf[a..]).len();
        out.push(hash(MATCH_HAN, &[&buf[..a + b]]));
    }
}

/// FNV-1a, 64 bits, over a namespace byte and the parts.
fn hash(namespace: u8, parts: &[&[u8]]) -> u64 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let mut h = (OFFSET ^ u64::from(namespace)).wrapping_mul(PRIME);
    for part in parts {
        for b in *part {
            h = (h ^ u64::from(*b)).wrapping_mul(PRIME);
        }
        h = (h ^ 0xff).wrapping_mul(PRIME);
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Tokenizer, normalize};

    fn of(text: &str) -> Vec<u64> {
        let n = normalize(text);
        let mut out = Vec::new();
        features(&Tokenizer::shared().tokens(&n), &mut out);
        out
    }

    #[test]
    fn order_numbers_share_a_shape() {
        let a = of("订单1234567890123什么时候发货");
        let b = of("订单9876543210987什么时候发货");
        assert_eq!(a, b);
    }

    #[test]
    fn traditional_and_full_width_spellings_give_the_same_features() {
        assert_eq!(of("請問發貨了嗎？"), of("请问发货了吗?"));
    }

    #[test]
    fn character_grams_run_across_punctuation_but_not_in_english() {
        assert!(of("好评!物流快").contains(&hash(HAN_GRAM, &["评!物".as_bytes()])));
        assert!(!of("where is it?").contains(&hash(HAN_GRAM, &["?".as_bytes()])));
    }

    #[test]
    fn empty_text_has_no_features() {
        assert!(of("").is_empty());
        assert!(!of("a").is_empty());
    }
}

/// A map keyed by feature hashes. The keys are FNV-1a hashes already, so one
/// multiply-xorshift spreads them over the table; SipHash cost a tenth of a
/// bot turn, and its flood resistance buys nothing for tables no message can
/// add to (models and knowledge indexes are built from the merchant's and
/// our own text; shopper text only looks keys up).
pub(crate) type FeatureMap<V> = std::collections::HashMap<u64, V, std::hash::BuildHasherDefault<FeatureHasher>>;

#[derive(Default)]
pub(crate) struct FeatureHasher(u64);

impl std::hash::Hasher for FeatureHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3);
        }
    }

    fn write_u64(&mut self, h: u64) {
        let x = (h ^ (h >> 31)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        self.0 = x ^ (x >> 29);
    }
}
