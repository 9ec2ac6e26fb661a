//! How well the bot does, from its audit trail: resolution, hand-off
//! reasons, and containment per intent.
//!
//! A bot conversation is **resolved** when the bot never handed it off, it
//! has been quiet for [`SETTLE_MS`], and the same shopper did not come back
//! within 24 hours about the same order (about anything, when no order was
//! named). **Containment** of an intent is the share of conversations where
//! it came up that stayed with the bot.

use std::collections::BTreeMap;

use kefu_core::botturn::BotAuditRow;
use kefu_core::clock::Timestamp;
use kefu_core::id::{ConversationId, CustomerId};

/// A conversation quiet this long is judged; younger ones are still going.
pub const SETTLE_MS: i64 = 30 * 60 * 1000;
const RECONTACT_MS: i64 = 24 * 60 * 60 * 1000;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct IntentStats {
    pub conversations: usize,
    pub handed_off: usize,
    pub containment: f64,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct BotMetrics {
    pub conversations: usize,
    /// Still going (quiet for less than [`SETTLE_MS`]) and not handed off.
    pub in_progress: usize,
    pub handed_off: usize,
    pub resolved: usize,
    /// Resolved among the judged (handed off + settled) conversations.
    pub resolution_rate: f64,
    pub handoff_reasons: BTreeMap<String, usize>,
    pub per_intent: BTreeMap<String, IntentStats>,
    /// Turns the bot answered from the knowledge base.
    pub knowledge_answers: usize,
    /// Turns the bot did not understand (before any hand-off).
    pub misunderstood_turns: usize,
}

struct Conv<'a> {
    customer: CustomerId,
    first: Timestamp,
    last: Timestamp,
    rows: Vec<&'a BotAuditRow>,
}

pub fn compute(rows: &[BotAuditRow], now: Timestamp) -> BotMetrics {
    let mut convs: BTreeMap<ConversationId, Conv<'_>> = BTreeMap::new();
    for r in rows {
        let c =
            convs.entry(r.conversation).or_insert(Conv { customer: r.customer, first: r.at, last: r.at, rows: vec![] });
        c.first = c.first.min(r.at);
        c.last = c.last.max(r.at);
        c.rows.push(r);
    }
    let mut m = BotMetrics { conversations: convs.len(), ..BotMetrics::default() };
    for c in convs.values() {
        for r in &c.rows {
            m.knowledge_answers += usize::from(r.audit.outcome == "answered:faq");
            m.misunderstood_turns += usize::from(r.audit.outcome == "misunderstood");
        }
    }
    let orders_of = |c: &Conv<'_>| -> Vec<String> { c.rows.iter().filter_map(|r| r.audit.order_no.clone()).collect() };
    let mut judged = 0usize;
    for (id, c) in &convs {
        let handoff = c.rows.iter().find_map(|r| r.audit.outcome.strip_prefix("handoff:"));
        let mut intents: Vec<&str> = c
            .rows
            .iter()
            .filter(|r| r.audit.outcome != "misunderstood" && r.audit.intent != kefu_nlu::OUT_OF_SCOPE)
            .map(|r| r.audit.intent.as_str())
            .collect();
        intents.sort_unstable();
        intents.dedup();
        for intent in intents {
            let s = m.per_intent.entry(intent.to_owned()).or_default();
            s.conversations += 1;
            s.handed_off += usize::from(handoff.is_some());
        }
        if let Some(reason) = handoff {
            m.handed_off += 1;
            judged += 1;
            *m.handoff_reasons.entry(reason.to_owned()).or_default() += 1;
            continue;
        }
        if now.0 - c.last.0 < SETTLE_MS {
            m.in_progress += 1;
            continue;
        }
        judged += 1;
        let mine = orders_of(c);
        let came_back = convs.iter().any(|(other_id, o)| {
            other_id != id
                && o.customer == c.customer
                && o.first > c.last
                && o.first.0 - c.last.0 <= RECONTACT_MS
                && (mine.is_empty() || orders_of(o).iter().any(|n| mine.contains(n)))
        });
        m.resolved += usize::from(!came_back);
    }
    m.resolution_rate = if judged == 0 { 0.0 } else { m.resolved as f64 / judged as f64 };
    for s in m.per_intent.values_mut() {
        s.containment = 1.0 - s.handed_off as f64 / s.conversations.max(1) as f64;
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;
    use kefu_core::botturn::BotAudit;
    use uuid::Uuid;

    const H: i64 = 3_600_000;

    /// Conversation `conv`'s shopper is customer `conv * 10`, but 4 is 3's shopper again.
    fn row(conv: u128, at_h: i64, intent: &str, outcome: &str, order: Option<&str>) -> BotAuditRow {
        let customer = if conv == 4 { 30 } else { conv * 10 };
        BotAuditRow {
            conversation: ConversationId::from_uuid(Uuid::from_u128(conv)),
            customer: CustomerId::from_uuid(Uuid::from_u128(customer)),
            at: Timestamp(at_h * H),
            audit: BotAudit {
                intent: intent.into(),
                confidence: 0.9,
                emotion: "calm".into(),
                order_no: order.map(str::to_owned),
                outcome: outcome.into(),
            },
        }
    }

    #[test]
    fn resolution_handoffs_and_containment() {
        let rows = vec![
            // 1: logistics answered, never came back: resolved.
            row(1, 0, "logistics", "answered:logistics", Some("A")),
            // 2: urge then hand-off on anger.
            row(2, 0, "urge_shipment", "urge_recorded", Some("B")),
            row(2, 0, "complaint", "handoff:angry", Some("B")),
            // 3: logistics about C, and the same shopper (customer 30) returns about C 5 h later: not resolved.
            row(3, 1, "logistics", "answered:logistics", Some("C")),
            row(4, 6, "logistics", "answered:logistics", Some("C")),
            // 5: still going, after a knowledge-base answer and a message it did not get.
            row(5, 98, "oos", "misunderstood", None),
            row(5, 98, "product_inquiry", "answered:faq", None),
            row(5, 99, "invoice", "asked:invoice", None),
        ];
        let m = compute(&rows, Timestamp(99 * H + 600_000));
        assert_eq!(m.conversations, 5);
        assert_eq!(m.in_progress, 1);
        assert_eq!(m.handed_off, 1);
        assert_eq!(m.resolved, 2, "1 and 4 (4 had no re-contact); 3 came back");
        assert!((m.resolution_rate - 2.0 / 4.0).abs() < 1e-9);
        assert_eq!(m.handoff_reasons.get("angry"), Some(&1));
        assert_eq!(m.per_intent["logistics"].conversations, 3);
        assert_eq!(m.per_intent["logistics"].containment, 1.0);
        assert_eq!(m.per_intent["urge_shipment"].containment, 0.0);
        assert_eq!((m.knowledge_answers, m.misunderstood_turns), (1, 1));
    }

    #[test]
    fn nothing_to_judge_is_zero_not_nan() {
        let m = compute(&[], Timestamp(0));
        assert_eq!(m.resolution_rate, 0.0);
        assert_eq!(m.conversations, 0);
    }
}
