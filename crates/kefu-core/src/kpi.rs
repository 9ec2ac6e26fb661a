//! The numbers an agent is judged by, from the waits they answered: what
//! the workspace's top bar shows (今日接待 · 30秒应答率 · 平均响应 ·
//! N分钟回复率). Each answer is counted by the store in the write that
//! stores it (`Store::response_counts` reads them back), so the figures are
//! exact, not sampled.
//!
//! A wait counts from the later of the shopper's oldest unanswered message
//! and the agent getting the conversation: time with the bot or in the queue
//! is not the agent's. Each answer adds its [`DayCounts`] to its agent's
//! day in its shop (China time), in the write that stores it.

use crate::clock::Timestamp;
use crate::conversation::{Conversation, Message};
use crate::id::{AgentId, ShopId};

/// Within this long, a first answer counts for the 30秒应答率.
pub const FIRST_ANSWER_MS: i64 = 30_000;

/// The reply window a shop judges its agents by (N分钟回复率): the
/// marketplaces' rules use 3 or 5 minutes, and each day's figures keep both.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ReplyWindow {
    #[default]
    ThreeMinutes,
    FiveMinutes,
}

impl ReplyWindow {
    pub fn from_minutes(minutes: u32) -> Option<ReplyWindow> {
        match minutes {
            3 => Some(ReplyWindow::ThreeMinutes),
            5 => Some(ReplyWindow::FiveMinutes),
            _ => None,
        }
    }

    pub fn minutes(self) -> u32 {
        match self {
            ReplyWindow::ThreeMinutes => 3,
            ReplyWindow::FiveMinutes => 5,
        }
    }

    pub fn millis(self) -> i64 {
        i64::from(self.minutes()) * 60_000
    }
}

/// A waiting shopper answered by an agent: what the answering message
/// records (`messages.waited_ms`, `first_answer`) and adds to its agent's day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Answer {
    /// From the later of the shopper's oldest unanswered message and the
    /// agent getting the conversation.
    pub waited_ms: i64,
    /// The first answer since the conversation reached its agent (首次响应).
    pub first: bool,
    /// The conversation's first answer on this China day (or since it
    /// reached this agent): it counts once among the day's 接待.
    pub new_chat: bool,
}

/// What `message`, appended to `before`, answers: a person's public reply
/// while a shopper waits; nothing for notes, the bot, or nobody waiting.
pub fn answer(before: &Conversation, message: &Message) -> Option<Answer> {
    if !message.answers_customer() {
        return None;
    }
    let since = before.waiting_since?;
    let from = before.assigned_at.map_or(since, |got| got.max(since));
    let first = before.answered_at.is_none();
    let today = message.created_at.china_day();
    Some(Answer {
        waited_ms: (message.created_at.millis() - from.millis()).max(0),
        first,
        new_chat: first || before.last_answer_at.is_none_or(|last| last.china_day() != today),
    })
}

impl Answer {
    /// What this answer adds to its agent's day.
    pub fn counts(&self) -> DayCounts {
        let n = |yes: bool| i64::from(yes);
        DayCounts {
            chats: n(self.new_chat),
            answers: 1,
            waited_ms: self.waited_ms,
            first_answers: n(self.first),
            first_within_30s: n(self.first && self.waited_ms <= FIRST_ANSWER_MS),
            within_3m: n(self.waited_ms <= ReplyWindow::ThreeMinutes.millis()),
            within_5m: n(self.waited_ms <= ReplyWindow::FiveMinutes.millis()),
            missed_offers: 0,
        }
    }
}

/// One agent's day in one shop as stored (`agent_days`), or several added up.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DayCounts {
    pub chats: i64,
    pub answers: i64,
    pub waited_ms: i64,
    pub first_answers: i64,
    pub first_within_30s: i64,
    pub within_3m: i64,
    pub within_5m: i64,
    /// Offers they let lapse (漏接).
    pub missed_offers: i64,
}

impl DayCounts {
    /// The day judged by `window`, with the shoppers late and still waiting now.
    pub fn judged(self, window: ReplyWindow, overdue_now: u32) -> ResponseCounts {
        let n = |v: i64| u32::try_from(v.max(0)).unwrap_or(u32::MAX);
        ResponseCounts {
            chats: n(self.chats),
            answers: n(self.answers),
            waited_ms: self.waited_ms,
            first_answers: n(self.first_answers),
            first_within_30s: n(self.first_within_30s),
            within_window: n(match window {
                ReplyWindow::ThreeMinutes => self.within_3m,
                ReplyWindow::FiveMinutes => self.within_5m,
            }),
            overdue_now,
            missed_offers: n(self.missed_offers),
        }
    }
}

/// Which day's answers to count, in China time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    /// Today so far, with the shoppers late and still waiting at this instant.
    Today(Timestamp),
    /// A day that has ended (`Timestamp::china_day`): its answers as counted;
    /// nobody is still waiting on it.
    Day(i64),
}

impl Period {
    /// The China day counted.
    pub fn day(self) -> i64 {
        match self {
            Period::Today(now) => now.china_day(),
            Period::Day(day) => day,
        }
    }

    /// When shoppers still waiting are judged late, if they are.
    pub fn late_at(self) -> Option<Timestamp> {
        match self {
            Period::Today(now) => Some(now),
            Period::Day(_) => None,
        }
    }

    /// Where the period starts.
    pub fn since(self) -> Timestamp {
        Timestamp::china_day_start(self.day())
    }
}

/// Whose answers to count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// One agent's, in every shop (their own top bar).
    Agent(AgentId),
    /// Each agent's of the shop, in that shop only (a supervisor's 团队).
    Shop(ShopId),
}

/// One agent's answers over a period (a China day), as the store counts them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ResponseCounts {
    /// Conversations they answered at least once (今日接待).
    pub chats: u32,
    /// Waits they answered.
    pub answers: u32,
    /// All those waits together, in milliseconds.
    pub waited_ms: i64,
    /// Their first answers since getting a conversation (首次响应) …
    pub first_answers: u32,
    /// … and those within [`FIRST_ANSWER_MS`].
    pub first_within_30s: u32,
    /// Answers within the shop's reply window (3 or 5 minutes).
    pub within_window: u32,
    /// Shoppers of theirs waiting now for longer than the window: not
    /// answered yet, but already late, so they count against the rate.
    pub overdue_now: u32,
    /// Offers routed to them that they let lapse (漏接): each went to
    /// someone else, and they were set 挂起.
    pub missed_offers: u32,
}

impl ResponseCounts {
    /// Two periods or two shops together (rates are recomputed from the sums).
    pub fn plus(self, o: ResponseCounts) -> ResponseCounts {
        ResponseCounts {
            chats: self.chats.saturating_add(o.chats),
            answers: self.answers.saturating_add(o.answers),
            waited_ms: self.waited_ms.saturating_add(o.waited_ms),
            first_answers: self.first_answers.saturating_add(o.first_answers),
            first_within_30s: self.first_within_30s.saturating_add(o.first_within_30s),
            within_window: self.within_window.saturating_add(o.within_window),
            overdue_now: self.overdue_now.saturating_add(o.overdue_now),
            missed_offers: self.missed_offers.saturating_add(o.missed_offers),
        }
    }

    /// 30秒应答率: the share of first answers within 30 s.
    pub fn first_answer_rate(&self) -> Option<f64> {
        ratio(self.first_within_30s, self.first_answers)
    }

    /// 平均响应: the mean wait answered, in milliseconds.
    pub fn average_response_ms(&self) -> Option<i64> {
        (self.answers > 0).then(|| self.waited_ms / i64::from(self.answers))
    }

    /// N分钟回复率: the share of waits answered within the window, counting
    /// the ones already late and still waiting as missed.
    pub fn reply_rate(&self) -> Option<f64> {
        ratio(self.within_window, self.answers.saturating_add(self.overdue_now))
    }
}

/// What a shop may honestly promise shoppers about reply times (the chat's
/// header: 通常 30 秒内回复), from today's answers of all its agents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TypicalReply {
    Within30s,
    Within3m,
    Within5m,
}

/// A promise needs this many answers behind it, and this share of them kept.
pub const TYPICAL_MIN_ANSWERS: u32 = 10;
const TYPICAL_SHARE: f64 = 0.8;

/// The promise the shop's day keeps for most shoppers, if any: first
/// answers within 30 s, else answers within 3 minutes (`three`, the day
/// judged by 3 minutes), else within 5 (`five`).
pub fn typical_reply(three: &ResponseCounts, five: &ResponseCounts) -> Option<TypicalReply> {
    let kept =
        |part: u32, whole: u32| whole >= TYPICAL_MIN_ANSWERS && f64::from(part) >= TYPICAL_SHARE * f64::from(whole);
    if kept(three.first_within_30s, three.first_answers) {
        Some(TypicalReply::Within30s)
    } else if kept(three.within_window, three.answers.saturating_add(three.overdue_now)) {
        Some(TypicalReply::Within3m)
    } else if kept(five.within_window, five.answers.saturating_add(five.overdue_now)) {
        Some(TypicalReply::Within5m)
    } else {
        None
    }
}

fn ratio(part: u32, whole: u32) -> Option<f64> {
    (whole > 0).then(|| f64::from(part) / f64::from(whole))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::Timestamp;
    use crate::conversation::{ConversationStatus, MessageKind, Sender};
    use crate::id::{ConversationId, CustomerId, MessageId};
    use uuid::Uuid;

    fn said(sender: Sender, kind: MessageKind, at: i64, seq: i64) -> Message {
        Message {
            id: MessageId::from_uuid(Uuid::from_u128(seq as u128)),
            conversation_id: ConversationId::from_uuid(Uuid::from_u128(1)),
            shop_id: ShopId::from_uuid(Uuid::from_u128(2)),
            seq,
            sender,
            kind,
            text: "在吗".into(),
            client_msg_id: None,
            created_at: Timestamp(at),
        }
    }

    #[test]
    fn an_answer_counts_from_when_the_agent_got_the_shopper_and_only_the_first_is_first() {
        let shopper = Sender::Customer(CustomerId::from_uuid(Uuid::from_u128(3)));
        let li = Sender::Agent(AgentId::from_uuid(Uuid::from_u128(4)));
        let mut c = Conversation::opened(
            ConversationId::from_uuid(Uuid::from_u128(1)),
            ShopId::from_uuid(Uuid::from_u128(2)),
            CustomerId::from_uuid(Uuid::from_u128(3)),
            ConversationStatus::Queued,
            0,
            Timestamp(0),
        );
        c = c.after(&said(shopper, MessageKind::Text, 1_000, 1));
        c.assigned_at = Some(Timestamp(61_000)); // a minute in the queue is not the agent's
        let note = said(li, MessageKind::Note, 62_000, 2);
        assert_eq!(answer(&c, &note), None, "a note answers nobody");
        c = c.after(&note);
        let reply = said(li, MessageKind::Text, 71_000, 3);
        assert_eq!(answer(&c, &reply), Some(Answer { waited_ms: 10_000, first: true, new_chat: true }));
        c = c.after(&reply);
        assert_eq!((c.answered_at, c.waiting_since), (Some(Timestamp(71_000)), None));
        assert_eq!(answer(&c, &said(li, MessageKind::Text, 72_000, 4)), None, "nobody waits");
        c = c.after(&said(shopper, MessageKind::Text, 80_000, 5));
        c = c.after(&said(Sender::Bot, MessageKind::Text, 80_001, 6));
        let again = said(li, MessageKind::Order, 95_000, 7);
        assert_eq!(
            answer(&c, &again),
            Some(Answer { waited_ms: 15_000, first: false, new_chat: false }),
            "a card answers too"
        );
        c = c.after(&again);
        assert_eq!((c.answered_at, c.last_answer_at), (Some(Timestamp(71_000)), Some(Timestamp(95_000))));
        // The next China day the conversation counts again among the day's chats.
        let midnight = Timestamp(95_000).next_china_midnight().millis();
        c = c.after(&said(shopper, MessageKind::Text, midnight + 1_000, 8));
        let tomorrow = answer(&c, &said(li, MessageKind::Text, midnight + 400_000, 9)).expect("answer");
        assert_eq!((tomorrow.first, tomorrow.new_chat), (false, true));
        let counts = tomorrow.counts();
        assert_eq!((counts.chats, counts.within_3m, counts.within_5m), (1, 0, 0), "399 s is late for both windows");
    }

    #[test]
    fn a_shop_promises_only_what_most_of_its_day_kept() {
        let day = |first: u32, first_30s: u32, answers: u32, within: u32, late: u32| ResponseCounts {
            chats: first,
            answers,
            waited_ms: 0,
            first_answers: first,
            first_within_30s: first_30s,
            within_window: within,
            overdue_now: late,
            missed_offers: 0,
        };
        let fast = day(10, 9, 20, 20, 0);
        assert_eq!(typical_reply(&fast, &fast), Some(TypicalReply::Within30s));
        let few = day(9, 9, 9, 9, 0);
        assert_eq!(typical_reply(&few, &few), None, "nine answers promise nothing");
        let steady = day(10, 5, 20, 16, 0);
        assert_eq!(typical_reply(&steady, &steady), Some(TypicalReply::Within3m));
        // Late shoppers still waiting count against the promise.
        let (three, five) = (day(10, 5, 20, 16, 1), day(10, 5, 20, 19, 0));
        assert_eq!(typical_reply(&three, &five), Some(TypicalReply::Within5m));
        let slow = day(10, 0, 20, 10, 0);
        assert_eq!(typical_reply(&slow, &slow), None);
    }

    #[test]
    fn a_day_is_judged_by_the_shops_window() {
        let day = DayCounts {
            chats: 2,
            answers: 4,
            waited_ms: 800_000,
            first_answers: 2,
            first_within_30s: 1,
            within_3m: 2,
            within_5m: 3,
            missed_offers: 2,
        };
        assert_eq!(day.judged(ReplyWindow::ThreeMinutes, 1).reply_rate(), Some(2.0 / 5.0));
        assert_eq!(day.judged(ReplyWindow::ThreeMinutes, 1).missed_offers, 2);
        assert_eq!(day.judged(ReplyWindow::FiveMinutes, 0).reply_rate(), Some(3.0 / 4.0));
        assert_eq!(ReplyWindow::from_minutes(4), None);
    }

    #[test]
    fn nothing_answered_has_no_rates_rather_than_zero_or_full_marks() {
        let none = ResponseCounts::default();
        assert_eq!((none.first_answer_rate(), none.average_response_ms(), none.reply_rate()), (None, None, None));
        // Nothing answered yet but one shopper already late: the rate is 0, not absent.
        let late = ResponseCounts { overdue_now: 1, ..ResponseCounts::default() };
        assert_eq!(late.reply_rate(), Some(0.0));
    }

    #[test]
    fn rates_count_the_late_and_waiting_against_the_window() {
        let c = ResponseCounts {
            chats: 3,
            answers: 4,
            waited_ms: 100_000,
            first_answers: 3,
            first_within_30s: 2,
            within_window: 3,
            overdue_now: 1,
            missed_offers: 0,
        };
        assert_eq!(c.first_answer_rate(), Some(2.0 / 3.0));
        assert_eq!(c.average_response_ms(), Some(25_000));
        assert_eq!(c.reply_rate(), Some(3.0 / 5.0));
    }
}
