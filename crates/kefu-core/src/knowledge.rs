//! The knowledge base: a shop's answered questions. The bot answers from it
//! when it is confident a shopper asks one of them (FAQ fallback); agents
//! will search it while they reply.

use crate::catalog::CategoryPath;
use crate::clock::Timestamp;
use crate::id::{KnowledgeId, ShopId};

pub const MAX_QUESTION_CHARS: usize = 200;
pub const MAX_ANSWER_CHARS: usize = 2_000;
pub const MAX_ALTERNATES: usize = 20;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnowledgeEntry {
    pub id: KnowledgeId,
    pub shop_id: ShopId,
    /// The question as the merchant writes it.
    pub question: String,
    /// Other ways shoppers ask it.
    pub alternates: Vec<String>,
    pub answer: String,
    /// Knowledge about one category (冰箱 installation, 手机 warranty).
    pub category: Option<CategoryPath>,
    /// Disabled entries stay stored but are never answered from.
    pub enabled: bool,
    pub updated_at: Timestamp,
}

impl KnowledgeEntry {
    pub fn new(id: KnowledgeId, shop_id: ShopId, text: KnowledgeText, enabled: bool, updated_at: Timestamp) -> Self {
        let KnowledgeText { question, alternates, answer, category } = text;
        KnowledgeEntry { id, shop_id, question, alternates, answer, category, enabled, updated_at }
    }

    /// The question and its alternates.
    pub fn questions(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.question.as_str()).chain(self.alternates.iter().map(String::as_str))
    }
}

/// Why an entry was refused: the field and a stable code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {code}")]
pub struct InvalidKnowledge {
    pub field: &'static str,
    /// `empty`, `too_long`, `too_many`, `line_break`, `invalid`.
    pub code: &'static str,
}

/// What a person writes, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnowledgeText {
    pub question: String,
    pub alternates: Vec<String>,
    pub answer: String,
    pub category: Option<CategoryPath>,
}

impl KnowledgeText {
    pub fn parse(
        question: &str,
        alternates: &[String],
        answer: &str,
        category: Option<&str>,
    ) -> Result<KnowledgeText, InvalidKnowledge> {
        let question = one_line("question", question)?;
        if alternates.len() > MAX_ALTERNATES {
            return Err(InvalidKnowledge { field: "alternates", code: "too_many" });
        }
        let mut alts: Vec<String> = Vec::new();
        for a in alternates {
            let a = one_line("alternates", a)?;
            if a != question && !alts.contains(&a) {
                alts.push(a);
            }
        }
        let answer = answer.trim();
        if answer.is_empty() {
            return Err(InvalidKnowledge { field: "answer", code: "empty" });
        }
        if answer.chars().count() > MAX_ANSWER_CHARS {
            return Err(InvalidKnowledge { field: "answer", code: "too_long" });
        }
        if answer.chars().any(|c| c.is_control() && c != '\n') {
            return Err(InvalidKnowledge { field: "answer", code: "invalid" });
        }
        let category = match category.map(str::trim).filter(|c| !c.is_empty()) {
            Some(c) => {
                Some(CategoryPath::parse(c).map_err(|_| InvalidKnowledge { field: "category", code: "invalid" })?)
            }
            None => None,
        };
        Ok(KnowledgeText { question, alternates: alts, answer: answer.to_owned(), category })
    }
}

fn one_line(field: &'static str, text: &str) -> Result<String, InvalidKnowledge> {
    let t = text.trim();
    if t.is_empty() {
        return Err(InvalidKnowledge { field, code: "empty" });
    }
    if t.chars().count() > MAX_QUESTION_CHARS {
        return Err(InvalidKnowledge { field, code: "too_long" });
    }
    if t.chars().any(char::is_control) {
        return Err(InvalidKnowledge { field, code: "line_break" });
    }
    Ok(t.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_are_checked_field_by_field() {
        let ok = KnowledgeText::parse(
            " 发什么快递 ",
            &["默认快递".into(), "发什么快递".into()],
            "顺丰",
            Some("家用电器/冰箱"),
        )
        .expect("valid");
        assert_eq!(ok.question, "发什么快递");
        assert_eq!(ok.alternates, ["默认快递"]);
        let err = |q: &str, a: &[String], ans: &str, cat: Option<&str>| {
            KnowledgeText::parse(q, a, ans, cat).expect_err("refused")
        };
        assert_eq!(err(" ", &[], "x", None), InvalidKnowledge { field: "question", code: "empty" });
        assert_eq!(err("q\nq", &[], "x", None).code, "line_break");
        assert_eq!(err(&"问".repeat(201), &[], "x", None).code, "too_long");
        assert_eq!(err("q", &["".into()], "x", None).field, "alternates");
        assert_eq!(err("q", &vec!["a".into(); 21], "x", None).code, "too_many");
        assert_eq!(err("q", &[], "", None).field, "answer");
        assert_eq!(err("q", &[], &"答".repeat(2001), None).code, "too_long");
        assert_eq!(err("q", &[], "x", Some("a//b")).field, "category");
    }
}
