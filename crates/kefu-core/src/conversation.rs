//! Conversations between a customer and the desk, and their messages.
//!
//! Every message has a per-conversation `seq` (1, 2, 3…) assigned by the store
//! in the same transaction that inserts it, so clients resume from the last
//! `seq` they saw; a client's `client_msg_id` makes a retried send idempotent.

use crate::clock::Timestamp;
use crate::id::{AgentId, ConversationId, CustomerId, MessageId, ShopId, SkillGroupId};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConversationStatus {
    /// The self-service bot is answering.
    Bot,
    /// Waiting in the shop's queue for an agent.
    Queued,
    /// An agent has it.
    Assigned,
    Closed,
}

impl ConversationStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ConversationStatus::Bot => "bot",
            ConversationStatus::Queued => "queued",
            ConversationStatus::Assigned => "assigned",
            ConversationStatus::Closed => "closed",
        }
    }
    pub fn parse(text: &str) -> Option<Self> {
        use ConversationStatus::*;
        [Bot, Queued, Assigned, Closed].into_iter().find(|s| s.as_str() == text)
    }
    pub fn is_open(self) -> bool {
        self != ConversationStatus::Closed
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Channel {
    /// The embedded widget or the hosted chat page.
    Web,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        "web"
    }
    pub fn parse(text: &str) -> Option<Self> {
        (text == "web").then_some(Channel::Web)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conversation {
    pub id: ConversationId,
    pub shop_id: ShopId,
    pub customer_id: CustomerId,
    pub channel: Channel,
    pub status: ConversationStatus,
    pub assigned_agent: Option<AgentId>,
    pub skill_group: Option<SkillGroupId>,
    /// Higher first; the bot raises it for VIPs and complaints.
    pub priority: i32,
    pub tags: Vec<String>,
    /// 1 (非常不满意) … 5 (非常满意), once per conversation.
    pub csat: Option<u8>,
    /// The `seq` of the newest message, 0 when there is none.
    pub last_seq: i64,
    /// When the oldest customer message that no human has answered arrived:
    /// the reply timer agents are judged by. `None` when nothing waits.
    pub waiting_since: Option<Timestamp>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub closed_at: Option<Timestamp>,
    /// When its agent got it (assigned or transferred to them): their
    /// reply figures count from here, not from the queue (`kpi::answer`).
    pub assigned_at: Option<Timestamp>,
    /// When its agent first answered a waiting shopper since getting it.
    pub answered_at: Option<Timestamp>,
    /// When a person last answered a waiting shopper in it.
    pub last_answer_at: Option<Timestamp>,
    /// Offered to its agent by auto-assign and not yet accepted: if they
    /// neither accept nor answer by then, it goes back to the queue and they
    /// go 挂起 (`Store::lapse_offers`).
    pub offered_until: Option<Timestamp>,
}

impl Conversation {
    /// In the queue with nobody holding it: the shopper waits for people
    /// (the bot may still answer what only needs their orders).
    pub fn waits_for_people(&self) -> bool {
        self.status == ConversationStatus::Queued && self.assigned_agent.is_none()
    }

    /// The conversation once `message` (its next) is stored: its seq, the
    /// reply timer, and the first answer since its agent got it. Both
    /// stores write exactly this.
    pub fn after(self, message: &Message) -> Conversation {
        let (answered_at, last_answer_at) = match crate::kpi::answer(&self, message) {
            Some(_) => (self.answered_at.or(Some(message.created_at)), Some(message.created_at)),
            None => (self.answered_at, self.last_answer_at),
        };
        Conversation {
            last_seq: message.seq,
            waiting_since: waiting_since_after(self.waiting_since, message),
            updated_at: message.created_at,
            answered_at,
            last_answer_at,
            ..self
        }
    }

    /// A web conversation just opened: no messages, nobody assigned, no tags.
    pub fn opened(
        id: ConversationId,
        shop_id: ShopId,
        customer_id: CustomerId,
        status: ConversationStatus,
        priority: i32,
        at: Timestamp,
    ) -> Conversation {
        Conversation {
            id,
            shop_id,
            customer_id,
            channel: Channel::Web,
            status,
            assigned_agent: None,
            skill_group: None,
            priority,
            tags: Vec::new(),
            csat: None,
            last_seq: 0,
            waiting_since: None,
            created_at: at,
            updated_at: at,
            closed_at: None,
            assigned_at: None,
            answered_at: None,
            last_answer_at: None,
            offered_until: None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Sender {
    Customer(CustomerId),
    Agent(AgentId),
    Bot,
    System,
}

impl Sender {
    pub fn kind(self) -> &'static str {
        match self {
            Sender::Customer(_) => "customer",
            Sender::Agent(_) => "agent",
            Sender::Bot => "bot",
            Sender::System => "system",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MessageKind {
    Text,
    /// An internal note between agents; never shown to the customer.
    Note,
    /// An order card: the text is the order number of one of the
    /// conversation's customer's orders (checked when it is sent), so the
    /// card is drawn from the order as it is now.
    Order,
    /// A product card (咨询此商品): the text is the SKU of one of the shop's
    /// products, so the card shows the product as the catalogue has it now.
    Product,
    /// An image: the text is the id of an attachment of this conversation's shopper.
    Image,
}

impl MessageKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MessageKind::Text => "text",
            MessageKind::Note => "note",
            MessageKind::Order => "order",
            MessageKind::Product => "product",
            MessageKind::Image => "image",
        }
    }
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "text" => Some(MessageKind::Text),
            "note" => Some(MessageKind::Note),
            "order" => Some(MessageKind::Order),
            "product" => Some(MessageKind::Product),
            "image" => Some(MessageKind::Image),
            _ => None,
        }
    }
}

/// The text of a message: trimmed, non-empty, at most [`MessageText::MAX_CHARS`]
/// characters, with control characters other than newline and tab removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageText(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidText {
    #[error("the message is empty")]
    Empty,
    #[error("the message is longer than {max} characters")]
    TooLong { max: usize },
}

impl MessageText {
    pub const MAX_CHARS: usize = 5000;

    pub fn parse(text: &str) -> Result<Self, InvalidText> {
        let cleaned: String = text.chars().filter(|c| !c.is_control() || *c == '\n' || *c == '\t').collect();
        let trimmed = cleaned.trim();
        if trimmed.is_empty() {
            return Err(InvalidText::Empty);
        }
        if trimmed.chars().count() > Self::MAX_CHARS {
            return Err(InvalidText::TooLong { max: Self::MAX_CHARS });
        }
        Ok(Self(trimmed.to_owned()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    pub fn into_string(self) -> String {
        self.0
    }
}

/// A client's id for one send, so that a retry after a lost ack is stored once:
/// 1-64 characters of ASCII letters, digits, `-` and `_`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ClientMsgId(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("client_msg_id must be 1-64 characters of letters, digits, '-' and '_'")]
pub struct InvalidClientMsgId;

impl ClientMsgId {
    pub fn parse(text: &str) -> Result<Self, InvalidClientMsgId> {
        let ok =
            (1..=64).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if ok { Ok(Self(text.to_owned())) } else { Err(InvalidClientMsgId) }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub id: MessageId,
    pub conversation_id: ConversationId,
    pub shop_id: ShopId,
    pub seq: i64,
    pub sender: Sender,
    pub kind: MessageKind,
    pub text: String,
    pub client_msg_id: Option<ClientMsgId>,
    pub created_at: Timestamp,
}

impl Message {
    /// Whether the customer may see this message.
    pub fn visible_to_customer(&self) -> bool {
        self.kind != MessageKind::Note
    }

    /// Whether this message answers the customer for the reply timer: a human's
    /// public message (text or card) does; notes, bot and system messages don't.
    pub fn answers_customer(&self) -> bool {
        matches!(self.sender, Sender::Agent(_)) && self.kind != MessageKind::Note
    }
}

/// What a caller asks the store to append; the store assigns id, seq and time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMessage {
    pub id: MessageId,
    pub conversation_id: ConversationId,
    pub sender: Sender,
    pub kind: MessageKind,
    pub text: MessageText,
    pub client_msg_id: Option<ClientMsgId>,
    pub at: Timestamp,
}

/// The result of an append: the stored message, and whether it was already
/// there (same `client_msg_id`), in which case nothing new was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Appended {
    pub message: Message,
    pub conversation: Conversation,
    pub duplicate: bool,
}

/// How the reply timer moves when a message arrives: a customer message
/// starts it if nothing was waiting, a human reply stops it, anything else
/// leaves it.
pub fn waiting_since_after(current: Option<Timestamp>, message: &Message) -> Option<Timestamp> {
    match message.sender {
        Sender::Customer(_) => current.or(Some(message.created_at)),
        _ if message.answers_customer() => None,
        _ => current,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::id::*;
    use uuid::Uuid;

    #[test]
    fn text_is_cleaned_and_bounded() {
        assert_eq!(MessageText::parse("  你好\u{0}\u{7}  ").map(|t| t.0), Ok("你好".into()));
        assert_eq!(MessageText::parse(" \u{1} "), Err(InvalidText::Empty));
        assert_eq!(MessageText::parse("a\nb").map(|t| t.0), Ok("a\nb".into()));
        let long = "好".repeat(MessageText::MAX_CHARS + 1);
        assert!(matches!(MessageText::parse(&long), Err(InvalidText::TooLong { .. })));
    }

    #[test]
    fn client_msg_ids() {
        assert!(ClientMsgId::parse("c-1_a").is_ok());
        assert!(ClientMsgId::parse("").is_err());
        assert!(ClientMsgId::parse("a b").is_err());
        assert!(ClientMsgId::parse(&"a".repeat(65)).is_err());
    }

    #[test]
    fn reply_timer_starts_on_customer_and_stops_on_human_reply() {
        let msg = |sender, kind, at| Message {
            id: MessageId::from_uuid(Uuid::nil()),
            conversation_id: ConversationId::from_uuid(Uuid::nil()),
            shop_id: ShopId::from_uuid(Uuid::nil()),
            seq: 1,
            sender,
            kind,
            text: "x".into(),
            client_msg_id: None,
            created_at: Timestamp(at),
        };
        let customer = Sender::Customer(CustomerId::from_uuid(Uuid::nil()));
        let agent = Sender::Agent(AgentId::from_uuid(Uuid::nil()));
        let t = waiting_since_after(None, &msg(customer, MessageKind::Text, 10));
        assert_eq!(t, Some(Timestamp(10)));
        // A second customer message does not restart the clock.
        assert_eq!(waiting_since_after(t, &msg(customer, MessageKind::Text, 20)), t);
        // A note or a bot message does not count as an answer.
        assert_eq!(waiting_since_after(t, &msg(agent, MessageKind::Note, 30)), t);
        assert_eq!(waiting_since_after(t, &msg(Sender::Bot, MessageKind::Text, 30)), t);
        assert_eq!(waiting_since_after(t, &msg(agent, MessageKind::Text, 40)), None);
        assert_eq!(waiting_since_after(t, &msg(agent, MessageKind::Order, 40)), None, "an order card answers too");
    }
}
