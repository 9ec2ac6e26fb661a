//! Quick phrases (快捷短语): a shop's canned replies, which agents insert
//! by typing `/` and a few letters of the code, the text or its pinyin
//! initials, as they do in 千牛.

use crate::clock::Timestamp;
use crate::id::{PhraseId, ShopId};

pub const MAX_CODE_CHARS: usize = 16;
pub const MAX_TEXT_CHARS: usize = 1_000;
/// Phrases one shop may hold: a list an agent can still scan.
pub const MAX_PER_SHOP: usize = 500;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuickPhrase {
    pub id: PhraseId,
    pub shop_id: ShopId,
    /// Short, unique within the shop: `fh`, `th7`.
    pub code: String,
    /// What is inserted into the composer; the agent may still edit it.
    pub text: String,
    pub updated_at: Timestamp,
}

/// Why a phrase was refused: the field and a stable code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {code}")]
pub struct InvalidPhrase {
    pub field: &'static str,
    /// `empty`, `too_long`, `invalid`.
    pub code: &'static str,
}

impl QuickPhrase {
    /// A phrase from what a person typed: the code is lower-cased letters,
    /// digits and `_`; the text is trimmed, with control characters other
    /// than line breaks removed.
    pub fn parse(
        id: PhraseId,
        shop_id: ShopId,
        code: &str,
        text: &str,
        updated_at: Timestamp,
    ) -> Result<QuickPhrase, InvalidPhrase> {
        let code = code.trim().to_lowercase();
        if code.is_empty() {
            return Err(InvalidPhrase { field: "code", code: "empty" });
        }
        if code.chars().count() > MAX_CODE_CHARS {
            return Err(InvalidPhrase { field: "code", code: "too_long" });
        }
        if !code.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_') {
            return Err(InvalidPhrase { field: "code", code: "invalid" });
        }
        let cleaned: String = text.chars().filter(|c| !c.is_control() || *c == '\n').collect();
        let text = cleaned.trim();
        if text.is_empty() {
            return Err(InvalidPhrase { field: "text", code: "empty" });
        }
        if text.chars().count() > MAX_TEXT_CHARS {
            return Err(InvalidPhrase { field: "text", code: "too_long" });
        }
        Ok(QuickPhrase { id, shop_id, code, text: text.to_owned(), updated_at })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn parse(code: &str, text: &str) -> Result<QuickPhrase, InvalidPhrase> {
        QuickPhrase::parse(PhraseId::from_uuid(Uuid::nil()), ShopId::from_uuid(Uuid::nil()), code, text, Timestamp(0))
    }

    #[test]
    fn codes_and_texts_are_checked() {
        let p = parse(" FH ", "  亲，今天下单\u{7}明天发货\n哦 ").expect("ok");
        assert_eq!((p.code.as_str(), p.text.as_str()), ("fh", "亲，今天下单明天发货\n哦"));
        assert_eq!(parse("", "x"), Err(InvalidPhrase { field: "code", code: "empty" }));
        assert_eq!(parse("a b", "x"), Err(InvalidPhrase { field: "code", code: "invalid" }));
        assert_eq!(parse("发货", "x"), Err(InvalidPhrase { field: "code", code: "invalid" }));
        assert_eq!(parse(&"a".repeat(17), "x"), Err(InvalidPhrase { field: "code", code: "too_long" }));
        assert_eq!(parse("fh", " \u{1} "), Err(InvalidPhrase { field: "text", code: "empty" }));
        assert_eq!(parse("fh", &"好".repeat(1001)), Err(InvalidPhrase { field: "text", code: "too_long" }));
    }
}
