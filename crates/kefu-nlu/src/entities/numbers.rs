//! Order numbers (the shop's own pattern), carrier tracking numbers and
//! Chinese mobile numbers. Order and tracking numbers can look alike; the
//! words before them (订单 / 运单, order / tracking) and the carriers'
//! prefixes decide.

use regex::Regex;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NumberKind {
    Order,
    Tracking,
    Phone,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NumberMention {
    pub kind: NumberKind,
    pub start: usize,
    pub end: usize,
    /// The number as the merchant's systems write it (upper case, no spaces).
    pub value: String,
    /// The carrier a tracking number's shape points to, when it does.
    pub carrier: Option<&'static str>,
}

/// The default shape of an order number: an optional 1–4 letter prefix and
/// 8–20 digits (JD2026…, 1234567890123).
pub const DEFAULT_ORDER_PATTERN: &str = r"[a-z]{0,4}[0-9]{8,20}";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("the order-number pattern is not a valid regular expression: {0}")]
pub struct BadPattern(pub String);

pub struct NumberFinder {
    candidates: Regex,
    order: Regex,
    phone: Regex,
}

/// (prefix of the lower-cased number, carrier): shapes carriers publish.
const CARRIER_PREFIXES: &[(&str, &str)] =
    &[("sf", "顺丰"), ("jdv", "京东物流"), ("jdx", "京东物流"), ("jt", "极兔"), ("yt", "圆通"), ("dpk", "德邦")];

const TRACKING_CUES: &[&str] = &["运单", "快递单", "物流单", "单号是快递", "tracking", "waybill", "快递号"];
const ORDER_CUES: &[&str] = &["订单", "order"];

impl NumberFinder {
    /// `order_pattern` is the shop's order-number shape, matched against the
    /// whole candidate (lower case); see [`DEFAULT_ORDER_PATTERN`].
    pub fn new(order_pattern: &str) -> Result<NumberFinder, BadPattern> {
        let order = Regex::new(&format!("^(?:{order_pattern})$")).map_err(|e| BadPattern(e.to_string()))?;
        let candidates = Regex::new(r"[a-z]{2}[0-9]{9}[a-z]{2}|(?:\+?86[ -]?)?[a-z]{0,4}[0-9][0-9 -]{6,24}[0-9]")
            .unwrap_or_else(|e| unreachable!("constant pattern: {e}"));
        let phone = Regex::new(r"^(?:\+?86)?1[3-9][0-9]{9}$").unwrap_or_else(|e| unreachable!("constant pattern: {e}"));
        Ok(NumberFinder { candidates, order, phone })
    }

    /// `text` must be normalised (lower case, half width).
    pub fn find(&self, text: &str) -> Vec<NumberMention> {
        let mut out = Vec::new();
        for m in self.candidates.find_iter(text) {
            // Inside a longer run of letters or digits it is not a number of its own.
            let before = text[..m.start()].chars().next_back();
            let after = text[m.end()..].chars().next();
            if before.is_some_and(|c| c.is_ascii_alphanumeric()) || after.is_some_and(|c| c.is_ascii_alphanumeric()) {
                continue;
            }
            let compact: String = m.as_str().chars().filter(|c| c.is_ascii_alphanumeric()).collect();
            let cue_window = &text[floor_char(text, m.start().saturating_sub(24))..m.start()];
            let says_tracking = TRACKING_CUES.iter().any(|c| cue_window.contains(c));
            let says_order = ORDER_CUES.iter().any(|c| cue_window.contains(c));
            let carrier = CARRIER_PREFIXES
                .iter()
                .find(|(p, _)| compact.starts_with(p))
                .map(|(_, c)| *c)
                .or_else(|| is_upu_tracking(&compact).then_some("邮政EMS"));
            let kind = if self.phone.is_match(&compact) && !says_order && !says_tracking {
                NumberKind::Phone
            } else if says_tracking || (carrier.is_some() && !says_order) {
                NumberKind::Tracking
            } else if self.order.is_match(&compact) {
                NumberKind::Order
            } else if compact.len() >= 10 && compact.bytes().all(|b| b.is_ascii_digit()) && !says_order {
                NumberKind::Tracking
            } else {
                continue;
            };
            let value = match kind {
                NumberKind::Phone => compact.trim_start_matches("86").to_owned(),
                _ => compact.to_ascii_uppercase(),
            };
            out.push(NumberMention { kind, start: m.start(), end: m.end(), value, carrier });
        }
        out
    }
}

/// The international postal shape: two letters, nine digits, two letters (EA123456789CN).
fn is_upu_tracking(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 13
        && b[..2].iter().all(u8::is_ascii_alphabetic)
        && b[2..11].iter().all(u8::is_ascii_digit)
        && b[11..].iter().all(u8::is_ascii_alphabetic)
}

fn floor_char(text: &str, mut i: usize) -> usize {
    while !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(text: &str) -> Vec<(NumberKind, String)> {
        let finder = NumberFinder::new(DEFAULT_ORDER_PATTERN).expect("pattern");
        finder.find(text).into_iter().map(|m| (m.kind, m.value)).collect()
    }

    #[test]
    fn orders_tracking_and_phones() {
        assert_eq!(found("订单jd202611110001怎么还没发"), [(NumberKind::Order, "JD202611110001".into())]);
        assert_eq!(found("sf1234567890123到哪了"), [(NumberKind::Tracking, "SF1234567890123".into())]);
        assert_eq!(found("运单号 773012345678901"), [(NumberKind::Tracking, "773012345678901".into())]);
        assert_eq!(found("电话13812345678"), [(NumberKind::Phone, "13812345678".into())]);
        assert_eq!(found("打 138 1234 5678"), [(NumberKind::Phone, "13812345678".into())]);
        assert_eq!(found("+86 13812345678"), [(NumberKind::Phone, "13812345678".into())]);
        assert_eq!(found("ea123456789cn"), [(NumberKind::Tracking, "EA123456789CN".into())]);
        assert_eq!(found("order 2026111100012345 status"), [(NumberKind::Order, "2026111100012345".into())]);
    }

    #[test]
    fn short_numbers_and_embedded_digits_are_not_matched() {
        assert!(found("买了3件 共199元").is_empty());
        assert!(found("iphone15promax").is_empty());
    }

    #[test]
    fn a_shop_pattern_narrows_orders_and_bad_patterns_are_errors() {
        let finder = NumberFinder::new(r"dd[0-9]{12}").expect("pattern");
        let kinds: Vec<NumberKind> = finder.find("订单dd202611110001").into_iter().map(|m| m.kind).collect();
        assert_eq!(kinds, [NumberKind::Order]);
        assert!(NumberFinder::new("(unclosed").is_err());
    }
}
