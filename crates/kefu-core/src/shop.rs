//! Shops: the tenants. One deployment serves several; every agent, customer,
//! order and conversation belongs to one, and nothing crosses between them.

use std::fmt;

use crate::clock::Timestamp;
use crate::id::{ShopId, SkillGroupId};

/// A shop's short name in URLs and the widget snippet: `[a-z0-9-]{2,32}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ShopSlug(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a shop slug is 2-32 characters of a-z, 0-9 and '-'")]
pub struct InvalidSlug;

impl ShopSlug {
    pub fn parse(text: &str) -> Result<Self, InvalidSlug> {
        let ok = (2..=32).contains(&text.len())
            && text.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if ok { Ok(Self(text.to_owned())) } else { Err(InvalidSlug) }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ShopSlug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The key a shop signs customer identities and webhooks with. `Debug`
/// never prints it.
#[derive(Clone, PartialEq, Eq)]
pub struct ShopSecret(String);

impl ShopSecret {
    pub fn new(secret: String) -> Self {
        Self(secret)
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ShopSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ShopSecret(<redacted>)")
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shop {
    pub id: ShopId,
    pub slug: ShopSlug,
    pub name: String,
    pub secret: ShopSecret,
    pub created_at: Timestamp,
}

/// A group of agents with one skill (大家电, 售后, English…); conversations
/// are routed to a group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkillGroup {
    pub id: SkillGroupId,
    pub shop_id: ShopId,
    pub name: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_strict() {
        assert!(ShopSlug::parse("jd-home").is_ok());
        assert!(ShopSlug::parse("J").is_err());
        assert!(ShopSlug::parse("has space").is_err());
        assert!(ShopSlug::parse("店铺").is_err());
    }

    #[test]
    fn secrets_are_redacted_in_debug() {
        let s = ShopSecret::new("topsecret".into());
        assert!(!format!("{s:?}").contains("topsecret"));
    }
}
