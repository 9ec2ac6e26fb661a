//! Invoice requests: a title, the buyer's unified social credit code (统一社会
//! 信用代码, GB 32100-2015) checked with its check character, and an e-mail.

use std::fmt;

/// The 31 characters a credit code may use (no I, O, Z, S, V).
const CHARSET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
const WEIGHTS: [u32; 17] = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CreditCode(String);

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum InvalidCreditCode {
    #[error("a unified social credit code has 18 characters")]
    Length,
    #[error("character {0} is not allowed in a unified social credit code")]
    Character(usize),
    #[error("the check character does not match: the code is mistyped")]
    Check,
}

impl CreditCode {
    /// Accepts lower case and surrounding spaces.
    pub fn parse(text: &str) -> Result<CreditCode, InvalidCreditCode> {
        let code: String = text.trim().to_ascii_uppercase();
        if code.chars().count() != 18 {
            return Err(InvalidCreditCode::Length);
        }
        let mut values = [0u32; 18];
        for (i, b) in code.bytes().enumerate() {
            values[i] = CHARSET.iter().position(|c| *c == b).ok_or(InvalidCreditCode::Character(i + 1))? as u32;
        }
        let sum: u32 = WEIGHTS.iter().zip(&values[..17]).map(|(w, v)| w * v).sum();
        let check = (31 - sum % 31) % 31;
        if values[17] != check {
            return Err(InvalidCreditCode::Check);
        }
        Ok(CreditCode(code))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The check character for 17 leading characters (used to make examples).
    pub fn check_char(first17: &str) -> Option<char> {
        let bytes = first17.as_bytes();
        if bytes.len() != 17 {
            return None;
        }
        let mut sum = 0;
        for (b, w) in bytes.iter().zip(WEIGHTS) {
            sum += w * CHARSET.iter().position(|c| c == &b.to_ascii_uppercase())? as u32;
        }
        Some(char::from(CHARSET[((31 - sum % 31) % 31) as usize]))
    }
}

impl fmt::Display for CreditCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not an e-mail address")]
pub struct InvalidEmail;

impl Email {
    /// A pragmatic check: one `@`, a dotted domain, no spaces, at most 254 characters.
    pub fn parse(text: &str) -> Result<Email, InvalidEmail> {
        let t = text.trim();
        let (local, domain) = t.split_once('@').ok_or(InvalidEmail)?;
        let ok = !local.is_empty()
            && t.len() <= 254
            && !domain.contains('@')
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !t.chars().any(char::is_whitespace);
        if ok { Ok(Email(t.to_ascii_lowercase())) } else { Err(InvalidEmail) }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Who the invoice is made out to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Title {
    Personal { name: String },
    Company { name: String, credit_code: CreditCode },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvoiceRequest {
    pub title: Title,
    pub email: Email,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_character_is_verified() {
        let first = "91110000600007336";
        let check = CreditCode::check_char(first).expect("check");
        let good = format!("{first}{check}");
        assert_eq!(CreditCode::parse(&good).map(|c| c.to_string()), Ok(good.clone()));
        assert_eq!(CreditCode::parse(&good.to_lowercase()).map(|c| c.to_string()), Ok(good.clone()));
        // One mistyped character is caught.
        let mut typo: Vec<char> = good.chars().collect();
        typo[5] = if typo[5] == '1' { '2' } else { '1' };
        assert_eq!(CreditCode::parse(&typo.into_iter().collect::<String>()), Err(InvalidCreditCode::Check));
        // The example printed in GB 32100-2015's guidance.
        assert!(CreditCode::parse("91350100M000100Y43").is_ok());
        assert_eq!(CreditCode::parse("123"), Err(InvalidCreditCode::Length));
        assert_eq!(CreditCode::parse("9111000060000733IO"), Err(InvalidCreditCode::Character(17)));
    }

    #[test]
    fn emails() {
        assert_eq!(
            Email::parse(" Finance@Example.COM ").map(|e| e.as_str().to_owned()),
            Ok("finance@example.com".into())
        );
        for bad in ["", "a", "a@b", "@b.cn", "a@.cn", "a@b.", "a b@c.cn", "a@b@c.cn"] {
            assert_eq!(Email::parse(bad), Err(InvalidEmail), "{bad}");
        }
    }
}
