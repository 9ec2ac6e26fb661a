//! Customers (shoppers) of a shop, as the merchant's systems know them, plus
//! anonymous visitors of the chat widget.

use crate::clock::Timestamp;
use crate::id::{CustomerId, ShopId};
use crate::money::Fen;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Tier {
    Normal,
    Vip,
    Plus,
}

impl Tier {
    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Normal => "normal",
            Tier::Vip => "vip",
            Tier::Plus => "plus",
        }
    }
    pub fn parse(text: &str) -> Option<Tier> {
        match text.trim().to_ascii_lowercase().as_str() {
            "" | "normal" | "普通" => Some(Tier::Normal),
            "vip" => Some(Tier::Vip),
            "plus" => Some(Tier::Plus),
            _ => None,
        }
    }
}

/// A mainland mobile number, kept only in masked form (138****5678): agents
/// recognise a shopper by it without the desk storing the number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MaskedPhone(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a mainland mobile number (11 digits starting 1[3-9])")]
pub struct InvalidPhone;

impl MaskedPhone {
    /// Accepts a full number (masks it) or an already masked one.
    pub fn parse(text: &str) -> Result<Self, InvalidPhone> {
        let digits: String =
            text.trim().trim_start_matches("+86").chars().filter(|c| !matches!(c, ' ' | '-')).collect();
        let b = digits.as_bytes();
        if b.len() != 11 || b[0] != b'1' || !(b'3'..=b'9').contains(&b[1]) {
            return Err(InvalidPhone);
        }
        let full = b.iter().all(u8::is_ascii_digit);
        let masked = b[..3].iter().chain(&b[7..]).all(u8::is_ascii_digit) && &b[3..7] == b"****";
        if !(full || masked) {
            return Err(InvalidPhone);
        }
        Ok(Self(format!("{}****{}", &digits[..3], &digits[7..])))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Customer {
    pub id: CustomerId,
    pub shop_id: ShopId,
    /// The merchant's own customer id; `None` for anonymous widget visitors.
    pub external_id: Option<String>,
    pub nickname: String,
    pub tier: Tier,
    pub tags: Vec<String>,
    pub phone: Option<MaskedPhone>,
    pub lifetime_spend: Fen,
    pub complaint_count: u32,
    pub created_at: Timestamp,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones_are_masked() {
        assert_eq!(MaskedPhone::parse("13812345678").map(|p| p.0), Ok("138****5678".into()));
        assert_eq!(MaskedPhone::parse("+86 138-1234-5678").map(|p| p.0), Ok("138****5678".into()));
        assert_eq!(MaskedPhone::parse("138****5678").map(|p| p.0), Ok("138****5678".into()));
        assert!(MaskedPhone::parse("12812345678").is_err());
        assert!(MaskedPhone::parse("1381234567").is_err());
        assert!(MaskedPhone::parse("1381234567x").is_err());
    }
}
