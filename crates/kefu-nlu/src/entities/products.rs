//! Product mentions matched against a shop's catalogue: SKU, model (with or
//! without its separators: BCD-470WDPG, bcd470wdpg) or the full name.

use aho_corasick::{AhoCorasick, MatchKind};

use crate::normalize;

/// What the matcher needs of a catalogue entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogueEntry {
    pub sku: String,
    pub name: String,
    pub model: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductMention {
    pub start: usize,
    pub end: usize,
    /// Index into the catalogue the matcher was built from.
    pub product: usize,
}

pub struct ProductMatcher {
    automaton: Option<AhoCorasick>,
    targets: Vec<usize>,
}

/// Shorter keys match too much (型号 "x1" is inside many words).
const MIN_KEY_CHARS: usize = 3;

impl ProductMatcher {
    pub fn new(catalogue: &[CatalogueEntry]) -> ProductMatcher {
        let mut keys = Vec::new();
        let mut targets = Vec::new();
        for (i, p) in catalogue.iter().enumerate() {
            let model = p.model.as_deref().map(normalize).unwrap_or_default();
            let compact: String = model.chars().filter(|c| !matches!(c, ' ' | '-' | '_' | '/')).collect();
            for key in [normalize(&p.sku), normalize(&p.name), model, compact] {
                if key.chars().count() >= MIN_KEY_CHARS && !keys.contains(&key) {
                    keys.push(key);
                    targets.push(i);
                }
            }
        }
        let automaton = (!keys.is_empty()).then(|| {
            AhoCorasick::builder()
                .match_kind(MatchKind::LeftmostLongest)
                .build(&keys)
                .unwrap_or_else(|e| unreachable!("plain string patterns always build: {e}"))
        });
        ProductMatcher { automaton, targets }
    }

    /// `text` must be normalised.
    pub fn find(&self, text: &str) -> Vec<ProductMention> {
        let Some(automaton) = &self.automaton else { return Vec::new() };
        automaton
            .find_iter(text)
            .filter(|m| {
                // A model inside a longer alphanumeric word is another model.
                let before = text[..m.start()].chars().next_back();
                let after = text[m.end()..].chars().next();
                !(before.is_some_and(|c| c.is_ascii_alphanumeric()) || after.is_some_and(|c| c.is_ascii_alphanumeric()))
            })
            .map(|m| ProductMention { start: m.start(), end: m.end(), product: self.targets[m.pattern().as_usize()] })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn catalogue() -> Vec<CatalogueEntry> {
        vec![
            CatalogueEntry {
                sku: "HA-10001".into(),
                name: "海尔十字对开门冰箱".into(),
                model: Some("BCD-470WDPG".into()),
            },
            CatalogueEntry { sku: "PH-20002".into(), name: "小米15 Pro".into(), model: Some("24101PNB7C".into()) },
        ]
    }

    fn found(text: &str) -> Vec<usize> {
        ProductMatcher::new(&catalogue()).find(&normalize(text)).into_iter().map(|m| m.product).collect()
    }

    #[test]
    fn sku_model_and_name() {
        assert_eq!(found("BCD-470WDPG这款冰箱多宽"), [0]);
        assert_eq!(found("bcd470wdpg有货吗"), [0]);
        assert_eq!(found("我买的海尔十字对开门冰箱不制冷"), [0]);
        assert_eq!(found("sku ha-10001"), [0]);
        assert_eq!(found("小米15 pro发热"), [1]);
        assert!(found("xbcd470wdpgx").is_empty());
        assert!(ProductMatcher::new(&[]).find("anything").is_empty());
    }
}
