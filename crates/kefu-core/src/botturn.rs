//! What one turn of the self-service bot writes: its replies, its memory,
//! an audit line, the requests it filed against orders, the order changes it
//! made, and a hand-off. [`Store::apply_bot_turn`](crate::store::Store::apply_bot_turn)
//! writes all of it in one transaction or none of it.

use crate::clock::Timestamp;
use crate::conversation::{Appended, Conversation, ConversationStatus, NewMessage};
use crate::id::{ConversationId, CustomerId, OrderId, ShopId};
use crate::order::OrderStatus;

#[derive(Debug, Clone, PartialEq)]
pub struct BotTurnWrite {
    pub conversation: ConversationId,
    pub shop: ShopId,
    /// The bot's memory for this conversation; opaque to the store.
    pub state: String,
    /// The memory's version the turn was decided on ([`BotMemory::version`]).
    pub base_version: i64,
    /// The bot's replies (and, on a hand-off, the summary note), in order.
    pub messages: Vec<NewMessage>,
    pub audit: BotAudit,
    pub requests: Vec<OrderRequest>,
    pub order_changes: Vec<OrderChange>,
    /// Hand the conversation to people: bot → queued, priority raised by this much.
    pub handoff_priority: Option<i32>,
    pub at: Timestamp,
    /// An answer to a shopper already waiting for people (where is my parcel,
    /// a knowledge-base answer) while nobody has taken them: written only on
    /// a queued conversation no agent holds, and only if it just answers.
    pub while_queued: bool,
}

impl BotTurnWrite {
    /// Whether the turn may be written on the conversation as it is now (the
    /// store asks under the conversation's lock): a turn on a conversation
    /// the bot holds, or an answer while queued on one still waiting for
    /// people — never a hand-off, a request or an order change there.
    pub fn fits(&self, conversation: &Conversation) -> bool {
        match conversation.status {
            ConversationStatus::Bot => !self.while_queued,
            ConversationStatus::Queued => {
                self.while_queued
                    && conversation.waits_for_people()
                    && self.handoff_priority.is_none()
                    && self.requests.is_empty()
                    && self.order_changes.is_empty()
            }
            ConversationStatus::Assigned | ConversationStatus::Closed => false,
        }
    }
}

/// The bot's memory of a conversation as a turn reads it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BotMemory {
    /// Opaque to the store; `None` before the first turn.
    pub state: Option<String>,
    /// Raised by one with every turn written; 0 before the first. Turns on
    /// several nodes are ordered by it: a turn is written only on the
    /// version it was decided on.
    pub version: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct BotAudit {
    pub intent: String,
    pub confidence: f32,
    pub emotion: String,
    pub order_no: Option<String>,
    /// `asked:*`, `answered:*`, `refused:*`, `handoff:*`, `misunderstood` or an action code.
    pub outcome: String,
}

/// A row of the bot's audit trail, as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct BotAuditRow {
    pub conversation: ConversationId,
    /// The conversation's shopper (read with the row: metrics judge re-contact per shopper).
    pub customer: CustomerId,
    pub at: Timestamp,
    pub audit: BotAudit,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestKind {
    Urge,
    Cancel,
    AddressChange,
    AfterSale,
    PriceProtection,
    Invoice,
}

impl RequestKind {
    pub const ALL: [RequestKind; 6] = [
        RequestKind::Urge,
        RequestKind::Cancel,
        RequestKind::AddressChange,
        RequestKind::AfterSale,
        RequestKind::PriceProtection,
        RequestKind::Invoice,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RequestKind::Urge => "urge",
            RequestKind::Cancel => "cancel",
            RequestKind::AddressChange => "address_change",
            RequestKind::AfterSale => "after_sale",
            RequestKind::PriceProtection => "price_protection",
            RequestKind::Invoice => "invoice",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        RequestKind::ALL.into_iter().find(|k| k.as_str() == text)
    }

    /// What agents call it (hand-off summaries).
    pub fn zh(self) -> &'static str {
        match self {
            RequestKind::Urge => "催发货",
            RequestKind::Cancel => "取消订单",
            RequestKind::AddressChange => "改地址",
            RequestKind::AfterSale => "售后",
            RequestKind::PriceProtection => "价保",
            RequestKind::Invoice => "发票",
        }
    }
}

/// Something filed against an order for the merchant's people or systems:
/// an urge, an after-sales request, an invoice task…
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderRequest {
    pub id: uuid::Uuid,
    pub order: OrderId,
    pub kind: RequestKind,
    /// Human-readable details (reason, amount, address, invoice title…).
    pub detail: String,
    /// A person must confirm before anything happens.
    pub needs_review: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrderChange {
    /// Only while the order may still become cancelled (not shipped).
    Cancel { order: OrderId },
    /// Only before shipment.
    Address { order: OrderId, province: String, city: String, address: String },
}

impl OrderChange {
    pub fn order(&self) -> OrderId {
        match self {
            OrderChange::Cancel { order } | OrderChange::Address { order, .. } => *order,
        }
    }

    /// Whether an order in `status` may take this change; both stores refuse
    /// the turn with `order_state` otherwise.
    pub fn allowed_from(&self, status: OrderStatus) -> bool {
        match self {
            OrderChange::Cancel { .. } => !status.has_shipped() && status.can_become(OrderStatus::Cancelled),
            OrderChange::Address { .. } => {
                !status.has_shipped() && !matches!(status, OrderStatus::Cancelled | OrderStatus::Refunded)
            }
        }
    }

    /// The order's status once the change is made.
    pub fn status_after(&self, status: OrderStatus) -> OrderStatus {
        match self {
            OrderChange::Cancel { .. } => OrderStatus::Cancelled,
            OrderChange::Address { .. } => status,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct BotTurnWritten {
    pub appended: Vec<Appended>,
    /// The requests the turn filed, as written.
    pub filed: Vec<OrderRequest>,
    /// The conversation after the turn (status and priority after a hand-off).
    pub conversation: Conversation,
}

/// A shopper's message and the bot's answer to it, written in one commit
/// ([`Store::append_with_bot_turn`](crate::store::Store::append_with_bot_turn)).
#[derive(Debug)]
pub struct SaidAndAnswered {
    /// The shopper's message: written whatever became of the turn.
    pub said: Appended,
    /// The turn, or why it was left out: `Conflict("duplicate")` when the
    /// message was a retry already stored (and answered) before, and the
    /// refusals of [`Store::apply_bot_turn`](crate::store::Store::apply_bot_turn).
    pub turn: Result<BotTurnWritten, crate::store::StoreError>,
}
