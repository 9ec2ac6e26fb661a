//! Outbound notifications (出站通知): the merchant's systems are told when
//! something they act on happens — a 服务单 filed (the bot's refund
//! request, an agent's address change) or closed, a conversation ended or
//! rated — by a signed HTTP POST to the shop's endpoint.
//!
//! A notification is written to an outbox in the transaction that makes the
//! change, and delivered after the commit: a change that rolled back is
//! never announced, and one that committed is announced at least once, even
//! when the node dies before it sends (its claim runs out and another node,
//! or the restarted one, sends it). Deliveries are not ordered; each names
//! what happened and when, and carries the request as it stands.

use std::time::Duration;

use crate::clock::Timestamp;
use crate::id::ShopId;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NotifyEvent {
    /// A 服务单 was filed, by the bot or an agent.
    RequestFiled,
    /// A 服务单 was closed (done or rejected).
    RequestClosed,
    /// A conversation ended (an agent closed it, or the bot's went quiet).
    ConversationClosed,
    /// The shopper rated a conversation (满意度).
    ConversationRated,
    /// Sent from the admin page to try the endpoint.
    Ping,
}

impl NotifyEvent {
    pub const ALL: [NotifyEvent; 5] = [
        NotifyEvent::RequestFiled,
        NotifyEvent::RequestClosed,
        NotifyEvent::ConversationClosed,
        NotifyEvent::ConversationRated,
        NotifyEvent::Ping,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            NotifyEvent::RequestFiled => "order_request.filed",
            NotifyEvent::RequestClosed => "order_request.closed",
            NotifyEvent::ConversationClosed => "conversation.closed",
            NotifyEvent::ConversationRated => "conversation.rated",
            NotifyEvent::Ping => "ping",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        NotifyEvent::ALL.into_iter().find(|e| e.as_str() == text)
    }

    /// The events an endpoint may choose; a ping goes whatever it chose.
    pub fn choosable() -> impl Iterator<Item = NotifyEvent> {
        NotifyEvent::ALL.into_iter().filter(|e| *e != NotifyEvent::Ping)
    }

    /// This event's bit in an [`EventSet`]; stored, so never renumbered.
    pub fn bit(self) -> i64 {
        match self {
            NotifyEvent::RequestFiled => 1,
            NotifyEvent::RequestClosed => 1 << 1,
            NotifyEvent::ConversationClosed => 1 << 2,
            NotifyEvent::ConversationRated => 1 << 3,
            NotifyEvent::Ping => 1 << 4,
        }
    }
}

/// The events an endpoint is sent. "Every event" is its own value, not the
/// events there are today: an endpoint that takes everything also takes an
/// event a later version adds, one that chose a few does not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventSet(i64);

impl EventSet {
    pub const EVERY: EventSet = EventSet(-1);

    /// The set as stored (every bit set for [`EventSet::EVERY`]).
    pub fn bits(self) -> i64 {
        self.0
    }

    pub fn from_bits(bits: i64) -> EventSet {
        EventSet(bits)
    }

    pub fn is_every(self) -> bool {
        self == EventSet::EVERY
    }

    /// Whether `event` is sent; a ping always is.
    pub fn contains(self, event: NotifyEvent) -> bool {
        event == NotifyEvent::Ping || self.0 & event.bit() != 0
    }

    /// The chosen events, in [`NotifyEvent::ALL`]'s order (without ping).
    pub fn events(self) -> Vec<NotifyEvent> {
        NotifyEvent::choosable().filter(|e| self.contains(*e)).collect()
    }
}

impl FromIterator<NotifyEvent> for EventSet {
    fn from_iter<I: IntoIterator<Item = NotifyEvent>>(events: I) -> Self {
        EventSet(events.into_iter().fold(0, |bits, e| bits | e.bit()))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeliveryState {
    /// Waiting for its first or next attempt (or being attempted).
    Pending,
    /// The endpoint answered 2xx.
    Delivered,
    /// Every attempt failed; an admin may send it again.
    Failed,
}

impl DeliveryState {
    pub const ALL: [DeliveryState; 3] = [DeliveryState::Pending, DeliveryState::Delivered, DeliveryState::Failed];

    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Pending => "pending",
            DeliveryState::Delivered => "delivered",
            DeliveryState::Failed => "failed",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        DeliveryState::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

/// Where a shop's notifications go. The URL is checked by the server (which
/// speaks HTTP); the store keeps the text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub shop: ShopId,
    pub url: String,
    /// A paused endpoint gets nothing new queued for it.
    pub enabled: bool,
    /// What is queued for it (checked when the change is written).
    pub events: EventSet,
    pub updated_at: Timestamp,
}

/// One notification and where its delivery stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub id: uuid::Uuid,
    pub shop: ShopId,
    pub event: NotifyEvent,
    /// What it is about: the request's id (none for a ping).
    pub subject: Option<uuid::Uuid>,
    pub created_at: Timestamp,
    pub state: DeliveryState,
    pub attempts: u32,
    /// When it is next due; while one node attempts it, when that claim
    /// runs out.
    pub next_at: Timestamp,
    pub last_status: Option<u16>,
    pub last_error: Option<String>,
    pub delivered_at: Option<Timestamp>,
}

/// What one attempt came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attempt {
    Delivered {
        status: u16,
    },
    /// `status` is `None` when no answer came (refused, timed out).
    Failed {
        status: Option<u16>,
        error: String,
    },
}

/// When failed attempts are tried again: after `first`, doubling up to
/// `max`, `attempts` times in all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    pub first: Duration,
    pub max: Duration,
    pub attempts: u32,
}

impl Default for Backoff {
    /// 20 attempts over about eleven hours: 10 s, 20 s, … 43 min, then
    /// hourly — long enough to ride out a merchant's deploy or a night's
    /// outage.
    fn default() -> Self {
        Backoff { first: Duration::from_secs(10), max: Duration::from_secs(3600), attempts: 20 }
    }
}

/// The longest error text kept with a delivery.
pub const MAX_ERROR_CHARS: usize = 200;

impl Backoff {
    /// The delivery as it stands after `attempt`, made at `at`.
    pub fn after(&self, delivery: &Delivery, attempt: &Attempt, at: Timestamp) -> AttemptDone {
        let attempts = delivery.attempts.saturating_add(1);
        match attempt {
            Attempt::Delivered { status } => AttemptDone {
                id: delivery.id,
                attempts,
                state: DeliveryState::Delivered,
                next_at: at,
                status: Some(*status),
                error: None,
                delivered_at: Some(at),
            },
            Attempt::Failed { status, error } => {
                let (state, next_at) = if attempts >= self.attempts {
                    (DeliveryState::Failed, at)
                } else {
                    let doubled = self.first.saturating_mul(1u32.checked_shl(attempts - 1).unwrap_or(u32::MAX));
                    let wait = doubled.min(self.max);
                    (DeliveryState::Pending, at.plus_millis(i64::try_from(wait.as_millis()).unwrap_or(i64::MAX)))
                };
                AttemptDone {
                    id: delivery.id,
                    attempts,
                    state,
                    next_at,
                    status: *status,
                    error: Some(error.chars().take(MAX_ERROR_CHARS).collect()),
                    delivered_at: None,
                }
            }
        }
    }
}

impl Backoff {
    /// Gives up without an attempt: there is nowhere to send it (the
    /// endpoint was removed or paused, what it names is gone).
    pub fn give_up(&self, delivery: &Delivery, why: &str, at: Timestamp) -> AttemptDone {
        let mut done =
            Backoff { attempts: 0, ..*self }.after(delivery, &Attempt::Failed { status: None, error: why.into() }, at);
        done.attempts = delivery.attempts;
        done
    }
}

/// How much a sender may claim at once: `total` deliveries, and for each
/// shop at most `per_shop` less what it already has in flight (`busy`), so
/// one shop's slow or dead endpoint holds a few of the sender's slots, never
/// all of them, and the other shops' notifications keep going.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimRoom {
    pub total: u32,
    pub per_shop: u32,
    pub busy: Vec<(ShopId, u32)>,
}

/// What the store writes after an attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptDone {
    pub id: uuid::Uuid,
    pub attempts: u32,
    pub state: DeliveryState,
    pub next_at: Timestamp,
    pub status: Option<u16>,
    pub error: Option<String>,
    pub delivered_at: Option<Timestamp>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn delivery(attempts: u32) -> Delivery {
        Delivery {
            id: uuid::Uuid::from_u128(1),
            shop: ShopId::from_uuid(uuid::Uuid::from_u128(2)),
            event: NotifyEvent::RequestFiled,
            subject: Some(uuid::Uuid::from_u128(3)),
            created_at: Timestamp(0),
            state: DeliveryState::Pending,
            attempts,
            next_at: Timestamp(0),
            last_status: None,
            last_error: None,
            delivered_at: None,
        }
    }

    fn failed() -> Attempt {
        Attempt::Failed { status: Some(503), error: "x".repeat(1000) }
    }

    #[test]
    fn failures_wait_twice_as_long_each_time_up_to_the_cap_then_give_up() {
        let b = Backoff::default();
        let at = Timestamp(1_000_000);
        let waits: Vec<i64> =
            (0..b.attempts - 1).map(|n| b.after(&delivery(n), &failed(), at).next_at.0 - at.0).collect();
        assert_eq!(&waits[..4], &[10_000, 20_000, 40_000, 80_000]);
        assert!(waits.iter().all(|w| *w <= 3_600_000));
        assert_eq!(*waits.last().expect("waits"), 3_600_000);
        let hours: i64 = waits.iter().sum::<i64>() / 3_600_000;
        assert_eq!(hours, 11, "about eleven hours in all");
        let last = b.after(&delivery(b.attempts - 1), &failed(), at);
        assert_eq!(last.state, DeliveryState::Failed);
        assert_eq!(last.attempts, b.attempts);
        assert_eq!(last.error.expect("error").chars().count(), MAX_ERROR_CHARS);
    }

    #[test]
    fn a_delivery_is_done_on_its_first_success() {
        let done = Backoff::default().after(&delivery(3), &Attempt::Delivered { status: 204 }, Timestamp(5));
        assert_eq!(
            (done.state, done.attempts, done.status, done.delivered_at),
            (DeliveryState::Delivered, 4, Some(204), Some(Timestamp(5)))
        );
    }

    #[test]
    fn giving_up_counts_no_attempt() {
        let done = Backoff::default().give_up(&delivery(2), "endpoint removed", Timestamp(7));
        assert_eq!((done.state, done.attempts, done.status), (DeliveryState::Failed, 2, None));
        assert_eq!(done.error.as_deref(), Some("endpoint removed"));
    }

    #[test]
    fn huge_attempt_counts_do_not_overflow() {
        let b = Backoff { first: Duration::from_secs(10), max: Duration::from_secs(3600), attempts: u32::MAX };
        let done = b.after(&delivery(200), &failed(), Timestamp(0));
        assert_eq!(done.next_at, Timestamp(3_600_000));
    }

    #[test]
    fn an_endpoint_gets_what_it_chose_and_every_ping() {
        let some: EventSet = [NotifyEvent::RequestFiled, NotifyEvent::ConversationRated].into_iter().collect();
        assert!(some.contains(NotifyEvent::RequestFiled) && some.contains(NotifyEvent::ConversationRated));
        assert!(!some.contains(NotifyEvent::RequestClosed) && !some.contains(NotifyEvent::ConversationClosed));
        assert!(some.contains(NotifyEvent::Ping));
        assert_eq!(some.events(), vec![NotifyEvent::RequestFiled, NotifyEvent::ConversationRated]);
        assert_eq!(EventSet::from_bits(some.bits()), some);
        assert!(!some.is_every());
        assert!(NotifyEvent::ALL.into_iter().all(|e| EventSet::EVERY.contains(e)));
        assert_eq!(EventSet::EVERY.events(), NotifyEvent::choosable().collect::<Vec<_>>());
        // Choosing every event there is today is not "every event": a later one would not be sent.
        assert!(!NotifyEvent::choosable().collect::<EventSet>().is_every());
    }

    #[test]
    fn event_bits_are_distinct() {
        let bits: std::collections::HashSet<i64> = NotifyEvent::ALL.iter().map(|e| e.bit()).collect();
        assert_eq!(bits.len(), NotifyEvent::ALL.len());
        assert!(bits.iter().all(|b| b.count_ones() == 1));
    }

    #[test]
    fn names_round_trip() {
        for e in NotifyEvent::ALL {
            assert_eq!(NotifyEvent::parse(e.as_str()), Some(e));
        }
        for s in DeliveryState::ALL {
            assert_eq!(DeliveryState::parse(s.as_str()), Some(s));
        }
    }
}
