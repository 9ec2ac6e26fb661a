//! Order requests as people handle them (服务单): the bot and agents file
//! them against an order (an urge, a cancellation, an address change, an
//! after-sales request, price protection, an invoice); the merchant's
//! people close them as done or rejected. What one request holds is
//! [`OrderRequest`]; this module adds who filed it, where it stands and who
//! closed it.

use crate::agent::{Agent, Role};
use crate::botturn::{OrderChange, OrderRequest, RequestKind};
use crate::clock::Timestamp;
use crate::id::{AgentId, ConversationId, CustomerId, ShopId};
use crate::order::OrderNo;

/// The longest word a person may leave when closing a request, and the
/// longest detail an agent may file.
pub const MAX_NOTE_CHARS: usize = 500;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestStatus {
    Open,
    Done,
    Rejected,
}

impl RequestStatus {
    pub const ALL: [RequestStatus; 3] = [RequestStatus::Open, RequestStatus::Done, RequestStatus::Rejected];

    pub fn as_str(self) -> &'static str {
        match self {
            RequestStatus::Open => "open",
            RequestStatus::Done => "done",
            RequestStatus::Rejected => "rejected",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        RequestStatus::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

impl RequestKind {
    /// Kinds of which an order holds one open request at a time: a second
    /// after-sales request, invoice or price check for the same order is a
    /// mistake (two refunds, two invoices), while urges and address changes
    /// may repeat.
    pub fn one_open_per_order(self) -> bool {
        matches!(self, RequestKind::AfterSale | RequestKind::Invoice | RequestKind::PriceProtection)
    }
}

/// A request as stored, with its order's number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestRow {
    pub request: OrderRequest,
    pub shop: ShopId,
    pub order_no: OrderNo,
    pub conversation: Option<ConversationId>,
    pub status: RequestStatus,
    /// `None`: the bot filed it.
    pub filed_by: Option<AgentId>,
    pub created_at: Timestamp,
    pub resolved: Option<Resolved>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// `None`: the merchant's system closed it (`/api/merchant/…`).
    pub by: Option<AgentId>,
    pub at: Timestamp,
    pub note: String,
}

/// A request an agent files, with the order change it makes at once
/// (cancel or new address, before shipment). Written in one transaction:
/// the change is checked against the order's status as it is then.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FiledRequest {
    pub shop: ShopId,
    pub conversation: Option<ConversationId>,
    pub by: AgentId,
    pub request: OrderRequest,
    pub change: Option<OrderChange>,
    pub at: Timestamp,
}

/// Which requests to list, newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestFilter {
    pub shop: ShopId,
    /// Empty: every status.
    pub statuses: Vec<RequestStatus>,
    /// Only this shopper's orders.
    pub customer: Option<CustomerId>,
    /// Only requests that wait for a senior's review.
    pub needs_review: Option<bool>,
    pub limit: u32,
}

impl RequestFilter {
    pub fn shop(shop: ShopId) -> Self {
        RequestFilter { shop, statuses: Vec::new(), customer: None, needs_review: None, limit: 100 }
    }
}

/// Closing a request: done or rejected, by whom, with a word for the record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolution {
    pub shop: ShopId,
    pub id: uuid::Uuid,
    pub status: RequestStatus,
    /// `None`: the merchant's system.
    pub by: Option<AgentId>,
    pub note: String,
    pub at: Timestamp,
}

impl Role {
    /// Who may grant what the shop's rules refuse (a return past its window,
    /// 特批) and confirm requests that wait for review.
    pub fn approves_exceptions(self) -> bool {
        matches!(self, Role::Senior | Role::Supervisor | Role::Admin)
    }
}

/// Whether `agent` may close `row`: anyone who handles the shop's
/// conversations closes an urge or an address change once the warehouse
/// has it; a request that waits for review takes a senior.
pub fn may_resolve(agent: &Agent, row: &RequestRow) -> bool {
    agent.can_access_shop(row.shop)
        && agent.role.handles_conversations()
        && (!row.request.needs_review || agent.role.approves_exceptions())
}

/// A person's note, trimmed, control characters (but line breaks) removed,
/// at most [`MAX_NOTE_CHARS`]; `None` when too long.
pub fn clean_note(text: &str) -> Option<String> {
    let cleaned: String = text.trim().chars().filter(|c| !c.is_control() || *c == '\n').collect();
    (cleaned.chars().count() <= MAX_NOTE_CHARS).then_some(cleaned)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agent::{AgentStatus, Username};
    use crate::id::OrderId;
    use uuid::Uuid;

    fn agent(role: Role, shop: ShopId) -> Agent {
        Agent {
            id: AgentId::from_uuid(Uuid::from_u128(9)),
            username: Username::parse("a1").expect("username"),
            display_name: "A".into(),
            password_hash: String::new(),
            role,
            shops: vec![shop],
            skill_groups: vec![],
            max_concurrent: 5,
            status: AgentStatus::Online,
            created_at: Timestamp(0),
            disabled: false,
        }
    }

    fn row(shop: ShopId, needs_review: bool) -> RequestRow {
        RequestRow {
            request: OrderRequest {
                id: Uuid::from_u128(1),
                order: OrderId::from_uuid(Uuid::from_u128(2)),
                kind: RequestKind::AfterSale,
                detail: String::new(),
                needs_review,
            },
            shop,
            order_no: OrderNo::parse("JD1234567890").expect("order no"),
            conversation: None,
            status: RequestStatus::Open,
            filed_by: None,
            created_at: Timestamp(0),
            resolved: None,
        }
    }

    #[test]
    fn a_request_that_waits_for_review_takes_a_senior() {
        let shop = ShopId::from_uuid(Uuid::from_u128(3));
        assert!(may_resolve(&agent(Role::Agent, shop), &row(shop, false)));
        assert!(!may_resolve(&agent(Role::Agent, shop), &row(shop, true)));
        assert!(may_resolve(&agent(Role::Senior, shop), &row(shop, true)));
        assert!(!may_resolve(&agent(Role::Qa, shop), &row(shop, false)), "QA reads, it does not act");
        let other = ShopId::from_uuid(Uuid::from_u128(4));
        assert!(!may_resolve(&agent(Role::Senior, other), &row(shop, false)));
    }

    #[test]
    fn notes_are_cleaned_and_bounded() {
        assert_eq!(clean_note("  已补发\u{7}\n顺丰 "), Some("已补发\n顺丰".into()));
        assert_eq!(clean_note(&"字".repeat(MAX_NOTE_CHARS)).map(|n| n.chars().count()), Some(MAX_NOTE_CHARS));
        assert_eq!(clean_note(&"字".repeat(MAX_NOTE_CHARS + 1)), None);
    }
}
