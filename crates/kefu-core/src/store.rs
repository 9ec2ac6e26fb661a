//! The storage port: domain verbs, one transaction per call.
//!
//! `kefu-store` implements it twice (SQLite, PostgreSQL) and runs one contract
//! suite against both. Callers hold an `Arc<dyn Store>` and never see SQL.

use std::collections::HashMap;

use async_trait::async_trait;

use crate::agent::{Agent, AgentSession, AgentStatus};
use crate::attachment::{Attachment, ShopBudget};
use crate::botturn::{BotAuditRow, BotMemory, BotTurnWrite, BotTurnWritten, SaidAndAnswered};
use crate::catalog::Product;
use crate::clock::Timestamp;
use crate::conversation::{Appended, Conversation, ConversationStatus, Message, NewMessage};
use crate::customer::Customer;
use crate::id::{
    AgentId, AttachmentId, ConversationId, CustomerId, KnowledgeId, OrderId, PhraseId, ShopId, SkillGroupId,
};
use crate::knowledge::KnowledgeEntry;
use crate::order::{Order, OrderNo, OrderWithShipments, Shipment};
use crate::outbound::{AttemptDone, ClaimRoom, Delivery, DeliveryState, Endpoint, NotifyEvent};
use crate::phrase::QuickPhrase;
use crate::request::{FiledRequest, RequestFilter, RequestRow, Resolution};
use crate::shop::{Shop, ShopSecret, ShopSlug, SkillGroup};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{0} not found")]
    NotFound(&'static str),
    /// A uniqueness rule or a state rule refused the write (the `&str` names it).
    #[error("conflict: {0}")]
    Conflict(&'static str),
    #[error("the conversation is closed")]
    ConversationClosed,
    #[error("the agent already holds as many conversations as allowed")]
    CapacityReached,
    /// The database failed; nothing of this call was written.
    #[error("storage backend failed")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl StoreError {
    pub fn backend(e: impl std::error::Error + Send + Sync + 'static) -> Self {
        StoreError::Backend(Box::new(e))
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Which conversations an agent's list shows.
#[derive(Debug, Clone, Default)]
pub struct ConversationFilter {
    pub shops: Vec<ShopId>,
    pub statuses: Vec<ConversationStatus>,
    pub assigned_agent: Option<AgentId>,
    pub customer: Option<CustomerId>,
    /// Matches a nickname, a masked phone's visible digits, or an order number.
    pub search: Option<String>,
    pub limit: u32,
}

/// Which part of a shop's conversations a filter reads. A shop's year holds a
/// few hundred open conversations among a million closed ones, so the stores
/// read each part through its own partial index and order the closed part
/// newest first (the history tab), rather than let averaged statistics pick
/// a table scan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListSlice {
    Open,
    Closed,
    Mixed,
}

impl ConversationFilter {
    pub fn slice(&self) -> ListSlice {
        let closed = self.statuses.iter().filter(|s| **s == ConversationStatus::Closed).count();
        match (closed, self.statuses.len()) {
            (_, 0) => ListSlice::Mixed,
            (0, _) => ListSlice::Open,
            (c, n) if c == n => ListSlice::Closed,
            _ => ListSlice::Mixed,
        }
    }
}

/// A row of the conversation list: the conversation with who it is with and
/// the newest message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConversationOverview {
    pub conversation: Conversation,
    pub customer: Customer,
    pub last_message: Option<Message>,
}

/// Where a transfer sends a conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransferTarget {
    Agent { agent: AgentId, max_concurrent: u32 },
    Group(SkillGroupId),
}

/// A conversation waiting in its shop's queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Queued {
    pub id: ConversationId,
    /// Transferred to a group: only its agents take it.
    pub group: Option<SkillGroupId>,
}

/// What [`Store::lapse_offers`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Lapsed {
    /// The agents set 挂起, each with their shops.
    pub away: Vec<(AgentId, Vec<ShopId>)>,
    /// The conversations back in the queue.
    pub requeued: Vec<Conversation>,
}

/// What [`Store::sweep_absent`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Absence {
    /// The agents set offline, each with their shops.
    pub offline: Vec<(AgentId, Vec<ShopId>)>,
    /// The conversations put back in the queue.
    pub requeued: Vec<Conversation>,
}

/// An agent's current number of open assigned conversations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentLoad {
    pub agent: Agent,
    pub open_conversations: u32,
    /// Of those, offers not accepted yet (auto-assign with offers).
    pub pending_offers: u32,
}

#[async_trait]
pub trait Store: Send + Sync + 'static {
    // Deployment
    /// The key this deployment signs customer tokens with, created on first
    /// use so every node sharing the database agrees on it.
    async fn server_key(&self, candidate: &str) -> StoreResult<String>;

    // Shops
    async fn create_shop(&self, shop: &Shop) -> StoreResult<()>;
    async fn shops(&self) -> StoreResult<Vec<Shop>>;
    async fn shop(&self, id: ShopId) -> StoreResult<Option<Shop>>;
    async fn shop_by_slug(&self, slug: &ShopSlug) -> StoreResult<Option<Shop>>;
    async fn set_shop_secret(&self, id: ShopId, secret: &ShopSecret) -> StoreResult<()>;
    async fn create_skill_group(&self, group: &SkillGroup) -> StoreResult<()>;
    async fn skill_groups(&self, shop: ShopId) -> StoreResult<Vec<SkillGroup>>;

    // Agents and sessions
    async fn create_agent(&self, agent: &Agent) -> StoreResult<()>;
    async fn update_agent(&self, agent: &Agent) -> StoreResult<()>;
    async fn agent(&self, id: AgentId) -> StoreResult<Option<Agent>>;
    async fn agent_by_username(&self, username: &str) -> StoreResult<Option<Agent>>;
    async fn agents_of_shop(&self, shop: ShopId) -> StoreResult<Vec<AgentLoad>>;
    /// Whether an agent of the shop who handles conversations is online
    /// (and not disabled): what every widget asks when it opens, so one
    /// indexed read, not the team with its loads.
    async fn someone_online(&self, shop: ShopId) -> StoreResult<bool>;
    async fn set_agent_status(&self, id: AgentId, status: AgentStatus) -> StoreResult<()>;
    /// The agent's workspace is connected at `at` (a heartbeat).
    async fn agent_seen(&self, id: AgentId, at: Timestamp) -> StoreResult<()>;
    /// In one write: sets offline every agent not offline and not seen
    /// since `before` (never seen counts as not seen) — the ones who left
    /// without going 离线 — and puts back in the queue every conversation
    /// held by an offline agent whose shopper has been waiting since before
    /// `before` (nobody there to answer). Answers both, the agents with their
    /// shops, for everyone's screens.
    async fn sweep_absent(&self, before: Timestamp, now: Timestamp) -> StoreResult<Absence>;
    /// In one write: every offer not accepted by `now` goes back to the
    /// queue (the shopper keeping their wait), and each agent who let one
    /// lapse and is still 接待中 goes 挂起 — someone who does not answer
    /// offers is not there. Answers the agents set 挂起 with their shops, and
    /// the conversations, to be routed again.
    async fn lapse_offers(&self, now: Timestamp) -> StoreResult<Lapsed>;
    async fn create_session(&self, session: &AgentSession) -> StoreResult<()>;
    async fn session(&self, token_hash: &[u8; 32], now: Timestamp) -> StoreResult<Option<AgentSession>>;
    async fn delete_session(&self, token_hash: &[u8; 32]) -> StoreResult<()>;
    /// Ends every session of the agent but `keep` (the one changing their
    /// own password stays signed in); answers how many ended.
    async fn revoke_sessions(&self, agent: AgentId, keep: Option<[u8; 32]>) -> StoreResult<u32>;
    /// Disables the account in one transaction: offline, every session
    /// ended, and the conversations it held back in the queue (answered, to
    /// be routed again). `update_agent` never changes `disabled`.
    async fn disable_agent(&self, id: AgentId, now: Timestamp) -> StoreResult<Vec<Conversation>>;
    async fn enable_agent(&self, id: AgentId) -> StoreResult<()>;
    /// A supervisor takes back the conversations an agent holds in `shops`
    /// (every shop when `None`): in one write that first checks the agent is
    /// not 接待中 (`Conflict("agent_online")`, since routing would hand them
    /// straight back), they go back to the queue, each shopper keeping their
    /// wait. Answers them, to be routed again.
    async fn release_conversations(
        &self,
        agent: AgentId,
        shops: Option<Vec<ShopId>>,
        now: Timestamp,
    ) -> StoreResult<Vec<Conversation>>;

    // Merchant data. Each upsert is all-or-nothing.
    async fn upsert_customers(&self, customers: &[Customer]) -> StoreResult<()>;
    async fn customer(&self, id: CustomerId) -> StoreResult<Option<Customer>>;
    async fn customer_ids_by_external(
        &self,
        shop: ShopId,
        external_ids: &[String],
    ) -> StoreResult<HashMap<String, CustomerId>>;
    async fn upsert_products(&self, products: &[Product]) -> StoreResult<()>;
    async fn products(&self, shop: ShopId, limit: u32) -> StoreResult<Vec<Product>>;
    async fn product_by_sku(&self, shop: ShopId, sku: &str) -> StoreResult<Option<Product>>;
    /// Orders whose stored `updated_at` is newer than the incoming one are
    /// left as they are: a late webhook never undoes a newer state.
    async fn upsert_orders(&self, orders: &[Order]) -> StoreResult<()>;
    async fn order(&self, id: OrderId) -> StoreResult<Option<Order>>;
    async fn order_by_no(&self, shop: ShopId, order_no: &OrderNo) -> StoreResult<Option<Order>>;
    async fn order_ids_by_no(&self, shop: ShopId, order_nos: &[OrderNo]) -> StoreResult<HashMap<OrderNo, OrderId>>;
    async fn orders_of_customer(&self, customer: CustomerId, limit: u32) -> StoreResult<Vec<Order>>;
    /// Keyed by (shop, tracking number); the event timeline is replaced.
    async fn upsert_shipments(&self, shipments: &[Shipment]) -> StoreResult<()>;
    async fn shipments_of_order(&self, order: OrderId) -> StoreResult<Vec<Shipment>>;
    /// The customer's newest orders (as `orders_of_customer`), each with its
    /// shipments (as `shipments_of_order`), in one read: the bot runs this for
    /// every shopper message, and one call per order queued behind other reads.
    async fn orders_with_shipments(&self, customer: CustomerId, limit: u32) -> StoreResult<Vec<OrderWithShipments>>;

    // Conversations
    /// Inserts `conversation` unless the customer already has an open one,
    /// which is returned instead: a customer has at most one open conversation.
    async fn open_conversation(&self, conversation: &Conversation) -> StoreResult<Conversation>;
    async fn conversation(&self, id: ConversationId) -> StoreResult<Option<Conversation>>;
    async fn open_conversation_of_customer(&self, customer: CustomerId) -> StoreResult<Option<Conversation>>;
    async fn conversations(&self, filter: &ConversationFilter) -> StoreResult<Vec<ConversationOverview>>;
    /// Assigns a queued (or bot) conversation to `agent` unless that agent
    /// already holds `max_concurrent` open conversations; with `offer_until`,
    /// as an offer they must accept by then. On a conversation the agent
    /// already holds, `None` accepts its offer (and changes nothing else).
    async fn assign_conversation(
        &self,
        id: ConversationId,
        agent: AgentId,
        max_concurrent: u32,
        now: Timestamp,
        offer_until: Option<Timestamp>,
    ) -> StoreResult<Conversation>;
    /// Gives `agent` the shop's next queued conversation they may take —
    /// longest wait first, of no skill group or of one of theirs — in one
    /// write that reads the agent as it is then: `None` unless they are
    /// 接待中, enabled and answer shoppers, or when nobody waits for them;
    /// `CapacityReached` at their limit. What a place an agent frees takes,
    /// without reading the team; agents and nodes taking at once never take
    /// the same shopper, and nobody takes one out of turn.
    async fn take_next_queued(
        &self,
        shop: ShopId,
        agent: AgentId,
        now: Timestamp,
        offer_until: Option<Timestamp>,
    ) -> StoreResult<Option<Conversation>>;
    async fn transfer_conversation(
        &self,
        id: ConversationId,
        to: TransferTarget,
        now: Timestamp,
    ) -> StoreResult<Conversation>;
    async fn close_conversation(&self, id: ConversationId, now: Timestamp) -> StoreResult<Conversation>;
    /// The shop's queued conversations in the order the queue shows them
    /// (longest wait first), at most `limit`, each with the skill group it
    /// waits for: where each shopper stands.
    async fn queue_of_shop(&self, shop: ShopId, limit: u32) -> StoreResult<Vec<Queued>>;
    /// Records the customer's rating; a conversation is rated once.
    async fn rate_conversation(&self, id: ConversationId, csat: u8, now: Timestamp) -> StoreResult<Conversation>;

    // Messages
    /// Assigns the next `seq`, inserts, and moves the conversation's counters
    /// in one transaction; a repeated `client_msg_id` returns the stored
    /// message with `duplicate` set and writes nothing.
    async fn append_message(&self, message: NewMessage) -> StoreResult<Appended>;
    /// Messages with `seq > after_seq`, oldest first.
    async fn messages_after(
        &self,
        conversation: ConversationId,
        after_seq: i64,
        limit: u32,
    ) -> StoreResult<Vec<Message>>;
    /// The newest messages with `seq < before_seq`, returned oldest first.
    async fn messages_before(
        &self,
        conversation: ConversationId,
        before_seq: i64,
        limit: u32,
    ) -> StoreResult<Vec<Message>>;

    /// What each agent of `scope` answered on the period's China day, judged
    /// by the reply window (the shop's N分钟回复率), today with their shoppers
    /// waiting now for longer than it (see [`crate::kpi`]): one entry per
    /// agent with anything to count, by agent id.
    async fn response_counts(
        &self,
        scope: crate::kpi::Scope,
        period: crate::kpi::Period,
        window: crate::kpi::ReplyWindow,
    ) -> StoreResult<Vec<(AgentId, crate::kpi::ResponseCounts)>>;

    // The self-service bot
    /// The bot's memory of a conversation, as last written.
    async fn bot_state(&self, conversation: ConversationId) -> StoreResult<Option<String>>;
    /// What a bot turn reads, in one go: the conversation's bot memory with
    /// its version and the shopper's newest orders with their shipments, as
    /// [`Store::bot_state`] and [`Store::orders_with_shipments`] give them.
    async fn bot_context(
        &self,
        conversation: ConversationId,
        customer: CustomerId,
        orders: u32,
    ) -> StoreResult<(BotMemory, Vec<OrderWithShipments>)>;
    /// Writes a whole bot turn in one transaction: messages (appended in
    /// order), state, audit line, order requests (refused with
    /// `Conflict("request_open")` as [`Store::file_order_request`] refuses
    /// them), order changes (refused with
    /// `Conflict("order_state")` when the order has moved on), and the
    /// hand-off. The conversation must be in `bot` status
    /// (`Conflict("not_bot")` otherwise, e.g. an agent took it meanwhile),
    /// and its memory still at the turn's `base_version`
    /// (`Conflict("stale_turn")` otherwise: another node's turn came first).
    async fn apply_bot_turn(&self, turn: BotTurnWrite) -> StoreResult<BotTurnWritten>;
    /// Appends a shopper's message as [`Store::append_message`] does and,
    /// in the same commit, the bot's turn that answers it as
    /// [`Store::apply_bot_turn`] does: one commit (one fsync) on the way to
    /// the bot's reply instead of two. The message is written even when the
    /// turn is refused; the turn is left out of a duplicate's retry.
    async fn append_with_bot_turn(&self, message: NewMessage, turn: BotTurnWrite) -> StoreResult<SaidAndAnswered>;
    /// Closes bot conversations nobody has written in since `quiet_since`
    /// (at most `limit`), returning them as closed.
    async fn close_idle_bot_conversations(
        &self,
        quiet_since: Timestamp,
        now: Timestamp,
        limit: u32,
    ) -> StoreResult<Vec<Conversation>>;
    /// The bot's audit lines of a shop since `since`, oldest first.
    async fn bot_audit(&self, shop: ShopId, since: Timestamp, limit: u32) -> StoreResult<Vec<BotAuditRow>>;

    // The knowledge base
    /// A shop's entries (enabled or not), oldest first.
    async fn knowledge(&self, shop: ShopId, limit: u32) -> StoreResult<Vec<KnowledgeEntry>>;
    /// Inserts the entry, or replaces the one with its id in the same shop
    /// (`NotFound("knowledge entry")` when that id belongs to another shop).
    async fn put_knowledge(&self, entry: &KnowledgeEntry) -> StoreResult<()>;
    /// Puts every entry, as `put_knowledge` does, in one transaction: all or none.
    async fn put_knowledge_many(&self, entries: &[KnowledgeEntry]) -> StoreResult<()>;
    /// `NotFound("knowledge entry")` unless the shop has it.
    async fn delete_knowledge(&self, shop: ShopId, id: KnowledgeId) -> StoreResult<()>;

    // Images
    /// Stores an image; with a `budget`, only if the shop's uploads of that
    /// day stay within it, counted in the same write
    /// (`Conflict("upload_budget")` and nothing written otherwise).
    async fn put_attachment(&self, attachment: &Attachment, budget: Option<ShopBudget>) -> StoreResult<()>;
    async fn attachment(&self, id: AttachmentId) -> StoreResult<Option<Attachment>>;
    /// The shop and shopper an attachment belongs to, without its bytes.
    async fn attachment_owner(&self, id: AttachmentId) -> StoreResult<Option<(ShopId, CustomerId)>>;
    /// Deletes up to `limit` images sent before `before`, oldest first;
    /// answers how many. The messages that named them stay. (On SQLite the
    /// images live in two files, old and new, each deleted from in its own
    /// transaction: a failure halfway leaves done what was done, and the
    /// next sweep does the rest.)
    async fn delete_attachments_before(&self, before: Timestamp, limit: u32) -> StoreResult<u32>;
    /// What the shopper uploaded themself since `since` (not what agents
    /// sent them): when, and how many bytes. Read for the upload quota.
    async fn uploads_by_customer(&self, customer: CustomerId, since: Timestamp) -> StoreResult<Vec<(Timestamp, u64)>>;

    // Quick phrases
    /// A shop's quick phrases, by code.
    async fn quick_phrases(&self, shop: ShopId) -> StoreResult<Vec<QuickPhrase>>;
    /// Inserts the phrase, or replaces the one with its id in the same shop
    /// (`NotFound("quick phrase")` when that id belongs to another shop);
    /// `Conflict("phrase_code_taken")` when another phrase of the shop has its code.
    async fn put_quick_phrase(&self, phrase: &QuickPhrase) -> StoreResult<()>;
    /// `NotFound("quick phrase")` unless the shop has it.
    async fn delete_quick_phrase(&self, shop: ShopId, id: PhraseId) -> StoreResult<()>;

    // Order requests (服务单)
    /// Files an agent's request and makes its order change, in one
    /// transaction. `NotFound("order")` unless the order is the shop's;
    /// `Conflict("order_state")` when the order's status does not allow the
    /// change; `Conflict("request_open")` when the order already has an open
    /// request of a kind that takes one at a time
    /// ([`RequestKind::one_open_per_order`](crate::botturn::RequestKind::one_open_per_order)).
    async fn file_order_request(&self, filed: &FiledRequest) -> StoreResult<RequestRow>;
    /// One of the shop's requests (another shop's is `None`).
    async fn order_request(&self, shop: ShopId, id: uuid::Uuid) -> StoreResult<Option<RequestRow>>;
    /// A shop's requests, newest first.
    async fn order_requests(&self, filter: &RequestFilter) -> StoreResult<Vec<RequestRow>>;
    /// Closes an open request. `NotFound("order request")` unless the shop
    /// has it; `Conflict("request_closed")` when it is no longer open (two
    /// people closing one request: the first one's word stands).
    async fn resolve_order_request(&self, resolution: &Resolution) -> StoreResult<RequestRow>;

    // The bot's rules, as edited on /admin
    /// The shop's rules text, if one was stored, and the version of its
    /// latest rules change, read together.
    async fn shop_rules(&self, shop: ShopId) -> StoreResult<ShopRulesState>;
    /// Stores the shop's rules text (the caller validated it), or with `None`
    /// removes it so the shop goes back to its file or the defaults; in the
    /// same transaction the change joins the shop's rules history (a removal
    /// only when there was something to remove). With `base`, the change is
    /// refused (`Conflict("rules_changed")`, nothing written) unless `base`
    /// is still the shop's latest version: whoever edited from an older
    /// version has not seen the change since. Answers the shop's version
    /// after the change.
    async fn put_shop_rules(&self, shop: ShopId, change: &RulesChange, base: Option<i64>) -> StoreResult<i64>;
    /// The shop's rules changes, newest first, at most `limit`.
    async fn shop_rules_history(&self, shop: ShopId, limit: u32) -> StoreResult<Vec<RulesVersion>>;

    // Outbound notifications (出站通知)
    // While a shop has an enabled endpoint, filing a request
    // (`file_order_request`, a bot turn's requests) and closing one
    // (`resolve_order_request`) queue a delivery in the same transaction.
    /// The shop's endpoint, if it has one.
    async fn notify_endpoint(&self, shop: ShopId) -> StoreResult<Option<Endpoint>>;
    /// Sets the shop's endpoint, or with `None` removes it (what is queued
    /// stays, and fails when its turn comes).
    async fn set_notify_endpoint(&self, shop: ShopId, endpoint: Option<&Endpoint>) -> StoreResult<()>;
    /// Queues a delivery whether or not the shop has an endpoint (a ping
    /// from the admin page).
    async fn queue_delivery(
        &self,
        shop: ShopId,
        event: NotifyEvent,
        subject: Option<uuid::Uuid>,
        at: Timestamp,
    ) -> StoreResult<Delivery>;
    /// Takes pending deliveries due at `now`, oldest first, as many as
    /// `room` allows in all and per shop, and moves each one's `next_at` to
    /// `until`: no other node takes them before then, and a node that dies
    /// holding them lets them fall due again.
    async fn claim_deliveries(&self, now: Timestamp, until: Timestamp, room: ClaimRoom) -> StoreResult<Vec<Delivery>>;
    /// Writes what an attempt came to, unless the delivery is no longer
    /// pending (an admin's retry meanwhile is not undone).
    async fn finish_delivery(&self, done: &AttemptDone) -> StoreResult<()>;
    /// The shop's deliveries, newest first, in `state` if given.
    async fn deliveries(&self, shop: ShopId, state: Option<DeliveryState>, limit: u32) -> StoreResult<Vec<Delivery>>;
    /// Sends a delivery again from its first attempt, due at `at`, whatever
    /// it came to. `NotFound("delivery")` unless the shop has it.
    async fn retry_delivery(&self, shop: ShopId, id: uuid::Uuid, at: Timestamp) -> StoreResult<Delivery>;
    /// Deletes up to `limit` deliveries made before `before` that are done
    /// with (delivered or given up; pending ones stay), oldest first, and
    /// answers how many.
    async fn prune_deliveries(&self, before: Timestamp, limit: u32) -> StoreResult<u32>;
}

/// A save (`text`) or a removal (`None`) of a shop's rules on /admin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RulesChange {
    pub text: Option<String>,
    pub at: Timestamp,
    /// The agent's username.
    pub by: String,
}

/// One entry of a shop's rules history; `version` grows with every change
/// (of any shop), so it orders a shop's changes and names one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RulesVersion {
    pub version: i64,
    pub change: RulesChange,
}

/// What a shop's rules editor starts from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShopRulesState {
    pub stored: Option<StoredRules>,
    /// The shop's latest [`RulesVersion::version`], 0 before its first change.
    pub version: i64,
}

/// A shop's bot rules (TOML) as stored, and when they were saved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRules {
    pub text: String,
    pub updated_at: Timestamp,
    /// Who saved them (an agent's username), for the admin page.
    pub updated_by: String,
}
