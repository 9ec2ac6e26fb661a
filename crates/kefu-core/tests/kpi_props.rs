//! Whatever happens in a conversation — shoppers, bots, notes, cards,
//! assignments and transfers in any order, at any times — the figures an
//! answer adds stay sane: no negative wait, one first answer per stint, and
//! the counts nest (30 s ≤ first answers ≤ answers, 3 minutes ≤ 5 ≤ answers).

use kefu_core::clock::Timestamp;
use kefu_core::conversation::{Conversation, ConversationStatus, Message, MessageKind, Sender};
use kefu_core::id::{AgentId, ConversationId, CustomerId, MessageId, ShopId};
use kefu_core::kpi::{DayCounts, ReplyWindow, answer};
use proptest::prelude::*;
use uuid::Uuid;

#[derive(Debug, Clone)]
enum Step {
    /// Someone writes after `gap` ms: 0 the shopper, 1 the bot, 2 agent A, 3 agent B; `kind` 0–3.
    Say { who: u8, kind: u8, gap: i64 },
    /// The conversation reaches agent A or B (assignment or transfer) after `gap` ms.
    Reach { b: bool, gap: i64 },
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => (0u8..4, 0u8..4, 0i64..400_000).prop_map(|(who, kind, gap)| Step::Say { who, kind, gap }),
        1 => (any::<bool>(), 0i64..400_000).prop_map(|(b, gap)| Step::Reach { b, gap }),
    ]
}

proptest! {
    #[test]
    fn answers_add_sane_figures(steps in prop::collection::vec(step(), 0..60), start in 0i64..4_000_000_000_000) {
        let id = |n: u128| Uuid::from_u128(n);
        let (a, b) = (AgentId::from_uuid(id(10)), AgentId::from_uuid(id(11)));
        let shopper = CustomerId::from_uuid(id(3));
        let mut c = Conversation::opened(
            ConversationId::from_uuid(id(1)), ShopId::from_uuid(id(2)), shopper,
            ConversationStatus::Queued, 0, Timestamp(start),
        );
        let mut now = start;
        let mut day = DayCounts::default();
        let mut firsts_this_stint = 0;
        for s in steps {
            match s {
                Step::Reach { b: to_b, gap } => {
                    now += gap;
                    let to = if to_b { b } else { a };
                    if c.assigned_agent != Some(to) {
                        c.assigned_agent = Some(to);
                        c.assigned_at = Some(Timestamp(now));
                        c.answered_at = None;
                        firsts_this_stint = 0;
                    }
                }
                Step::Say { who, kind, gap } => {
                    now += gap;
                    let sender = match who {
                        0 => Sender::Customer(shopper),
                        1 => Sender::Bot,
                        2 => Sender::Agent(a),
                        _ => Sender::Agent(b),
                    };
                    let kind = [MessageKind::Text, MessageKind::Note, MessageKind::Order, MessageKind::Image][kind as usize];
                    let m = Message {
                        id: MessageId::from_uuid(id(100 + c.last_seq as u128)),
                        conversation_id: c.id,
                        shop_id: c.shop_id,
                        seq: c.last_seq + 1,
                        sender,
                        kind,
                        text: "x".into(),
                        client_msg_id: None,
                        created_at: Timestamp(now),
                    };
                    if let Some(x) = answer(&c, &m) {
                        prop_assert!(x.waited_ms >= 0);
                        prop_assert!(x.waited_ms <= now - c.waiting_since.expect("a wait").millis());
                        if x.first {
                            firsts_this_stint += 1;
                            prop_assert!(x.new_chat, "a first answer is a new chat");
                        }
                        prop_assert!(firsts_this_stint <= 1, "one first answer per stint");
                        let d = x.counts();
                        day = DayCounts {
                            chats: day.chats + d.chats,
                            answers: day.answers + d.answers,
                            waited_ms: day.waited_ms + d.waited_ms,
                            first_answers: day.first_answers + d.first_answers,
                            first_within_30s: day.first_within_30s + d.first_within_30s,
                            within_3m: day.within_3m + d.within_3m,
                            within_5m: day.within_5m + d.within_5m,
                            missed_offers: day.missed_offers + d.missed_offers,
                        };
                    } else {
                        prop_assert!(!m.answers_customer() || c.waiting_since.is_none());
                    }
                    c = c.after(&m);
                    prop_assert!(c.answered_at <= c.last_answer_at.or(c.answered_at));
                }
            }
        }
        prop_assert!(day.first_within_30s <= day.first_answers && day.first_answers <= day.answers);
        prop_assert!(day.within_3m <= day.within_5m && day.within_5m <= day.answers);
        prop_assert!(day.chats <= day.answers);
        for window in [ReplyWindow::ThreeMinutes, ReplyWindow::FiveMinutes] {
            let judged = day.judged(window, 0);
            for rate in [judged.first_answer_rate(), judged.reply_rate()].into_iter().flatten() {
                prop_assert!((0.0..=1.0).contains(&rate));
            }
        }
    }
}
