//! Money is integer fen (1/100 yuan): no floating point ever touches an amount.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Fen(pub i64);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not an amount in yuan with at most two decimals: {0:?}")]
pub struct InvalidAmount(pub String);

impl Fen {
    /// Parses "129", "129.9" or "129.90" (yuan) into fen, exactly.
    pub fn parse_yuan(text: &str) -> Result<Self, InvalidAmount> {
        let bad = || InvalidAmount(text.to_owned());
        let t = text.trim().trim_start_matches(['¥', '￥']);
        let (negative, t) = match t.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, t),
        };
        let (whole, frac) = t.split_once('.').unwrap_or((t, ""));
        if whole.is_empty() || !whole.bytes().all(|b| b.is_ascii_digit()) || frac.len() > 2 {
            return Err(bad());
        }
        if !frac.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        let whole: i64 = whole.parse().map_err(|_| bad())?;
        let frac: i64 = if frac.is_empty() {
            0
        } else {
            let f: i64 = frac.parse().map_err(|_| bad())?;
            if frac.len() == 1 { f * 10 } else { f }
        };
        let fen = whole.checked_mul(100).and_then(|w| w.checked_add(frac)).ok_or_else(bad)?;
        Ok(Fen(if negative { -fen } else { fen }))
    }
}

impl fmt::Display for Fen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        write!(f, "{sign}{}.{:02}", abs / 100, abs % 100)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_yuan_exactly() {
        assert_eq!(Fen::parse_yuan("129"), Ok(Fen(12900)));
        assert_eq!(Fen::parse_yuan("129.9"), Ok(Fen(12990)));
        assert_eq!(Fen::parse_yuan("¥0.05"), Ok(Fen(5)));
        assert!(Fen::parse_yuan("1.234").is_err());
        assert!(Fen::parse_yuan("abc").is_err());
        assert!(Fen::parse_yuan("").is_err());
        assert!(Fen::parse_yuan("99999999999999999999").is_err());
        assert_eq!(Fen(12990).to_string(), "129.90");
    }
}
