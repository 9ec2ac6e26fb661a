//! The numbers an agent is judged by, from the waits they answered: what
//! the workspace's top bar shows (今日接待 · 30秒应答率 · 平均响应 ·
//! N分钟回复率). Each answer is counted by the store in the write that
//! stores it (`Store::response_counts` reads them back), so the figures are
//! exact, not sampled.
//!
//! A wait counts from the later of the shopper's oldest unanswered message
//! and the agent getting the conversation: time with the bot or in the queue
//! is not the agent's.

use crate::id::{AgentId, ShopId};

/// Within this long, a first answer counts for the 30秒应答率.
pub const FIRST_ANSWER_MS: i64 = 30_000;

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

fn ratio(part: u32, whole: u32) -> Option<f64> {
    (whole > 0).then(|| f64::from(part) / f64::from(whole))
}

#[cfg(test)]
mod tests {
    use super::*;

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
        };
        assert_eq!(c.first_answer_rate(), Some(2.0 / 3.0));
        assert_eq!(c.average_response_ms(), Some(25_000));
        assert_eq!(c.reply_rate(), Some(3.0 / 5.0));
    }
}
