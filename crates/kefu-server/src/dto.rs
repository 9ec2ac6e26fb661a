//! The API's JSON shapes. Domain types never derive `Serialize`; these do,
//! and each is built from the domain explicitly. Times are UTC milliseconds,
//! money is integer fen.

use kefu_core::agent::Agent;
use kefu_core::conversation::{Conversation, Message, MessageKind, Sender};
use kefu_core::customer::Customer;
use kefu_core::order::{Order, Shipment};
use kefu_core::shop::{Shop, SkillGroup};
use kefu_core::store::ConversationOverview;
use serde::{Deserialize, Serialize};

#[derive(Debug, Serialize)]
pub struct ShopDto {
    pub id: String,
    pub slug: String,
    pub name: String,
}

impl From<&Shop> for ShopDto {
    fn from(s: &Shop) -> Self {
        Self { id: s.id.to_string(), slug: s.slug.to_string(), name: s.name.clone() }
    }
}

#[derive(Debug, Serialize)]
pub struct SkillGroupDto {
    pub id: String,
    pub shop_id: String,
    pub name: String,
}

impl From<&SkillGroup> for SkillGroupDto {
    fn from(g: &SkillGroup) -> Self {
        Self { id: g.id.to_string(), shop_id: g.shop_id.to_string(), name: g.name.clone() }
    }
}

#[derive(Debug, Serialize)]
pub struct AgentDto {
    pub id: String,
    pub username: String,
    pub display_name: String,
    pub role: &'static str,
    pub shops: Vec<String>,
    pub skill_groups: Vec<String>,
    pub max_concurrent: u32,
    pub status: &'static str,
    /// 停用: cannot log in, gets no conversation.
    pub disabled: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub open_conversations: Option<u32>,
}

impl From<&Agent> for AgentDto {
    fn from(a: &Agent) -> Self {
        Self {
            id: a.id.to_string(),
            username: a.username.as_str().to_owned(),
            display_name: a.display_name.clone(),
            role: a.role.as_str(),
            shops: a.shops.iter().map(ToString::to_string).collect(),
            skill_groups: a.skill_groups.iter().map(ToString::to_string).collect(),
            max_concurrent: a.max_concurrent,
            status: a.status.as_str(),
            disabled: a.disabled,
            open_conversations: None,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct CustomerDto {
    pub id: String,
    pub shop_id: String,
    pub external_id: Option<String>,
    pub nickname: String,
    pub tier: &'static str,
    pub tags: Vec<String>,
    pub phone: Option<String>,
    pub lifetime_spend_fen: i64,
    pub complaint_count: u32,
    pub created_at: i64,
}

impl From<&Customer> for CustomerDto {
    fn from(c: &Customer) -> Self {
        Self {
            id: c.id.to_string(),
            shop_id: c.shop_id.to_string(),
            external_id: c.external_id.clone(),
            nickname: c.nickname.clone(),
            tier: c.tier.as_str(),
            tags: c.tags.clone(),
            phone: c.phone.as_ref().map(|p| p.as_str().to_owned()),
            lifetime_spend_fen: c.lifetime_spend.0,
            complaint_count: c.complaint_count,
            created_at: c.created_at.millis(),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct OrderItemDto {
    pub sku: String,
    pub name: String,
    pub quantity: u32,
    pub unit_price_fen: i64,
}

#[derive(Debug, Serialize)]
pub struct OrderDto {
    pub id: String,
    pub order_no: String,
    pub customer_id: String,
    pub status: &'static str,
    pub items: Vec<OrderItemDto>,
    pub total_fen: i64,
    pub province: String,
    pub city: String,
    pub address: String,
    pub created_at: i64,
    pub paid_at: Option<i64>,
    pub shipped_at: Option<i64>,
    pub delivered_at: Option<i64>,
    pub completed_at: Option<i64>,
    pub cancelled_at: Option<i64>,
    pub updated_at: i64,
    pub shipments: Vec<ShipmentDto>,
    /// Kinds of the order's open requests (服务单): `after_sale`, `invoice`…
    pub open_requests: Vec<&'static str>,
}

impl OrderDto {
    pub fn new(o: &Order, shipments: &[Shipment], open_requests: &[kefu_core::botturn::RequestKind]) -> Self {
        Self {
            id: o.id.to_string(),
            order_no: o.order_no.as_str().to_owned(),
            customer_id: o.customer_id.to_string(),
            status: o.status.as_str(),
            items: o
                .items
                .iter()
                .map(|i| OrderItemDto {
                    sku: i.sku.clone(),
                    name: i.name.clone(),
                    quantity: i.quantity,
                    unit_price_fen: i.unit_price.0,
                })
                .collect(),
            total_fen: o.total.0,
            province: o.province.clone(),
            city: o.city.clone(),
            address: o.address.clone(),
            created_at: o.created_at.millis(),
            paid_at: o.paid_at.map(|t| t.millis()),
            shipped_at: o.shipped_at.map(|t| t.millis()),
            delivered_at: o.delivered_at.map(|t| t.millis()),
            completed_at: o.completed_at.map(|t| t.millis()),
            cancelled_at: o.cancelled_at.map(|t| t.millis()),
            updated_at: o.updated_at.millis(),
            shipments: shipments.iter().map(ShipmentDto::from).collect(),
            open_requests: open_requests.iter().map(|k| k.as_str()).collect(),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct ShipmentEventDto {
    pub at: i64,
    pub location: String,
    pub description: String,
}

#[derive(Debug, Serialize)]
pub struct ShipmentDto {
    pub id: String,
    pub carrier: String,
    pub tracking_no: String,
    pub events: Vec<ShipmentEventDto>,
}

impl From<&Shipment> for ShipmentDto {
    fn from(s: &Shipment) -> Self {
        Self {
            id: s.id.to_string(),
            carrier: s.carrier.clone(),
            tracking_no: s.tracking_no.clone(),
            events: s
                .events
                .iter()
                .map(|e| ShipmentEventDto {
                    at: e.at.millis(),
                    location: e.location.clone(),
                    description: e.description.clone(),
                })
                .collect(),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct ConversationDto {
    pub id: String,
    pub shop_id: String,
    pub customer_id: String,
    pub channel: &'static str,
    pub status: &'static str,
    pub assigned_agent: Option<String>,
    pub skill_group: Option<String>,
    pub priority: i32,
    pub tags: Vec<String>,
    pub csat: Option<u8>,
    pub last_seq: i64,
    pub waiting_since: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
    pub closed_at: Option<i64>,
    /// Offered to its agent, who must accept (or answer) by then (ms).
    pub offered_until: Option<i64>,
}

impl From<&Conversation> for ConversationDto {
    fn from(c: &Conversation) -> Self {
        Self {
            id: c.id.to_string(),
            shop_id: c.shop_id.to_string(),
            customer_id: c.customer_id.to_string(),
            channel: c.channel.as_str(),
            status: c.status.as_str(),
            assigned_agent: c.assigned_agent.map(|a| a.to_string()),
            skill_group: c.skill_group.map(|g| g.to_string()),
            priority: c.priority,
            tags: c.tags.clone(),
            csat: c.csat,
            last_seq: c.last_seq,
            waiting_since: c.waiting_since.map(|t| t.millis()),
            created_at: c.created_at.millis(),
            updated_at: c.updated_at.millis(),
            closed_at: c.closed_at.map(|t| t.millis()),
            offered_until: c.offered_until.map(|t| t.millis()),
        }
    }
}

/// What a customer sees of a conversation: no agent ids, no tags.
#[derive(Debug, Clone, Serialize)]
pub struct CustomerConversationDto {
    pub id: String,
    pub status: &'static str,
    pub csat: Option<u8>,
    pub last_seq: i64,
}

impl From<&Conversation> for CustomerConversationDto {
    fn from(c: &Conversation) -> Self {
        Self { id: c.id.to_string(), status: c.status.as_str(), csat: c.csat, last_seq: c.last_seq }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct SenderDto {
    pub kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct MessageDto {
    pub id: String,
    pub conversation_id: String,
    pub seq: i64,
    pub sender: SenderDto,
    pub kind: &'static str,
    pub text: String,
    pub client_msg_id: Option<String>,
    pub created_at: i64,
}

impl MessageDto {
    /// For customers the sending agent's id is left out.
    pub fn new(m: &Message, for_customer: bool) -> Self {
        let id = match m.sender {
            Sender::Customer(id) => Some(id.to_string()),
            Sender::Agent(id) if !for_customer => Some(id.to_string()),
            _ => None,
        };
        Self {
            id: m.id.to_string(),
            conversation_id: m.conversation_id.to_string(),
            seq: m.seq,
            sender: SenderDto { kind: m.sender.kind(), id },
            kind: m.kind.as_str(),
            text: m.text.clone(),
            client_msg_id: m.client_msg_id.as_ref().map(|c| c.as_str().to_owned()),
            created_at: m.created_at.millis(),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct ConversationOverviewDto {
    pub conversation: ConversationDto,
    pub customer: CustomerDto,
    pub last_message: Option<MessageDto>,
}

impl From<&ConversationOverview> for ConversationOverviewDto {
    fn from(o: &ConversationOverview) -> Self {
        Self {
            conversation: ConversationDto::from(&o.conversation),
            customer: CustomerDto::from(&o.customer),
            last_message: o.last_message.as_ref().map(|m| MessageDto::new(m, false)),
        }
    }
}

/// A product as a card shows it.
#[derive(Debug, Serialize)]
pub struct ProductDto {
    pub sku: String,
    pub name: String,
    pub model: Option<String>,
    pub category: String,
    pub price_fen: i64,
}

impl From<&kefu_core::catalog::Product> for ProductDto {
    fn from(p: &kefu_core::catalog::Product) -> Self {
        Self {
            sku: p.sku.clone(),
            name: p.name.clone(),
            model: p.model.clone(),
            category: p.category.joined(),
            price_fen: p.price.0,
        }
    }
}

/// What a client asks to send besides the text, over the WebSocket and REST
/// alike: `text` (the default), or a card or an image naming what it shows.
#[derive(Debug, Deserialize, Default, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum SendKind {
    #[default]
    Text,
    Order,
    Product,
    Image,
}

impl SendKind {
    /// The message kind, with `note` (agents' internal notes): only words can be a note.
    pub fn message_kind(self, note: bool) -> Result<MessageKind, &'static str> {
        match (self, note) {
            (SendKind::Text, false) => Ok(MessageKind::Text),
            (SendKind::Text, true) => Ok(MessageKind::Note),
            (SendKind::Order, false) => Ok(MessageKind::Order),
            (SendKind::Product, false) => Ok(MessageKind::Product),
            (SendKind::Image, false) => Ok(MessageKind::Image),
            (SendKind::Order | SendKind::Product | SendKind::Image, true) => Err("a card or an image cannot be a note"),
        }
    }
}

/// An order request (服务单); `filed_by` and `resolved.by` are agent ids
/// (`null` filer: the bot), with their names when the caller knows them.
#[derive(Debug, Serialize)]
pub struct OrderRequestDto {
    pub id: String,
    pub shop_id: String,
    pub order_id: String,
    pub order_no: String,
    pub conversation_id: Option<String>,
    pub kind: &'static str,
    pub detail: String,
    pub needs_review: bool,
    pub status: &'static str,
    pub filed_by: Option<String>,
    pub filed_by_name: Option<String>,
    pub created_at: i64,
    pub resolved: Option<ResolvedDto>,
}

#[derive(Debug, Serialize)]
pub struct ResolvedDto {
    /// `null`: the merchant's system.
    pub by: Option<String>,
    pub by_name: Option<String>,
    pub at: i64,
    pub note: String,
}

impl OrderRequestDto {
    /// `name` gives an agent's display name by id, where known.
    pub fn new(r: &kefu_core::request::RequestRow, name: impl Fn(kefu_core::id::AgentId) -> Option<String>) -> Self {
        Self {
            id: r.request.id.to_string(),
            shop_id: r.shop.to_string(),
            order_id: r.request.order.to_string(),
            order_no: r.order_no.as_str().to_owned(),
            conversation_id: r.conversation.map(|c| c.to_string()),
            kind: r.request.kind.as_str(),
            detail: r.request.detail.clone(),
            needs_review: r.request.needs_review,
            status: r.status.as_str(),
            filed_by: r.filed_by.map(|a| a.to_string()),
            filed_by_name: r.filed_by.and_then(&name),
            created_at: r.created_at.millis(),
            resolved: r.resolved.as_ref().map(|x| ResolvedDto {
                by: x.by.map(|a| a.to_string()),
                by_name: x.by.and_then(&name),
                at: x.at.millis(),
                note: x.note.clone(),
            }),
        }
    }
}

/// An agent's counted answers (`kefu_core::kpi`) with their rates: a rate
/// with nothing to count is `null`, not 0 or 100%. The raw counts let a
/// screen add up several shops.
pub fn response_counts(c: &kefu_core::kpi::ResponseCounts) -> serde_json::Value {
    serde_json::json!({
        "chats": c.chats,
        "answers": c.answers,
        "waited_ms": c.waited_ms,
        "first_answers": c.first_answers,
        "first_within_30s": c.first_within_30s,
        "within_window": c.within_window,
        "overdue_now": c.overdue_now,
        "missed_offers": c.missed_offers,
        "first_answer_rate": c.first_answer_rate(),
        "average_response_seconds": c.average_response_ms().map(|ms| ms as f64 / 1000.0),
        "reply_rate": c.reply_rate(),
    })
}
