//! The desk's use cases: what customers and agents do to conversations.
//!
//! Each function takes the [`Ctx`] first, checks who may do what, writes
//! through the store (one transaction) and only then publishes events, so
//! nothing is announced that was not committed.

use std::sync::Arc;

use crate::agent::{Agent, AgentStatus};
use crate::attachment::{self, Attachment, ImageKind};
use crate::clock::Clock;
use crate::conversation::{
    Appended, ClientMsgId, Conversation, ConversationStatus, MessageKind, MessageText, NewMessage, Sender,
};
use crate::customer::Customer;
use crate::event::{Event, EventBus};
use crate::id::{AgentId, AttachmentId, ConversationId, CustomerId, IdGen, MessageId, ShopId, SkillGroupId};
use crate::order::OrderNo;
use crate::routing::{self, Routing};
use crate::store::{Store, StoreError, TransferTarget};

/// Everything a use case needs from outside.
#[derive(Clone)]
pub struct Ctx {
    pub store: Arc<dyn Store>,
    pub bus: Arc<dyn EventBus>,
    pub clock: Arc<dyn Clock>,
    pub ids: Arc<dyn IdGen>,
    /// How each shop's shoppers reach people (push or pull, offers).
    pub routing: Arc<dyn RoutingPolicy>,
    /// New conversations start with the self-service bot, which hands them
    /// to the queue when a person is needed.
    pub bot: bool,
    /// How much shoppers may upload, each and per shop.
    pub uploads: attachment::Quota,
}

/// Where each shop's [`Routing`] comes from. A fixed `Routing` serves every
/// shop alike; the server's reads each shop's rules over the deployment's.
#[async_trait::async_trait]
pub trait RoutingPolicy: Send + Sync {
    async fn of_shop(&self, ctx: &Ctx, shop: ShopId) -> Routing;
}

#[async_trait::async_trait]
impl RoutingPolicy for Routing {
    async fn of_shop(&self, _: &Ctx, _: ShopId) -> Routing {
        *self
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DeskError {
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("not allowed: {0}")]
    Forbidden(&'static str),
    #[error("the conversation is closed")]
    Closed,
    #[error("the agent is at their concurrency limit")]
    CapacityReached,
    #[error("conflict: {0}")]
    Conflict(&'static str),
    #[error("invalid input: {0}")]
    Invalid(String),
    /// Over a quota (a shopper's uploads): may try again after this long.
    #[error("too many requests; try again in {retry_after_ms} ms")]
    RateLimited { retry_after_ms: i64 },
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for DeskError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(what) => DeskError::NotFound(what),
            StoreError::ConversationClosed => DeskError::Closed,
            StoreError::CapacityReached => DeskError::CapacityReached,
            StoreError::Conflict(what) => DeskError::Conflict(what),
            other => DeskError::Store(other),
        }
    }
}

pub type DeskResult<T> = Result<T, DeskError>;

/// Whether `agent` may read a conversation: it must belong to one of their
/// shops, and plain agents see the queue, the shop's history and their own
/// conversations, not colleagues' live ones.
pub fn agent_may_read(agent: &Agent, conversation: &Conversation) -> bool {
    if !agent.can_access_shop(conversation.shop_id) {
        return false;
    }
    agent.role.reads_all_conversations()
        || agent.role.handles_conversations()
            && (conversation.assigned_agent == Some(agent.id)
                || matches!(
                    conversation.status,
                    ConversationStatus::Queued | ConversationStatus::Bot | ConversationStatus::Closed
                )
                || agent.role == crate::agent::Role::Senior)
}

/// Whether `agent` may write a public reply: the assigned agent, or a
/// supervisor stepping in.
pub fn agent_may_reply(agent: &Agent, conversation: &Conversation) -> bool {
    agent.can_access_shop(conversation.shop_id)
        && agent.role.handles_conversations()
        && (conversation.assigned_agent == Some(agent.id) || agent.role.supervises())
}

async fn conversation_for_agent(ctx: &Ctx, agent: &Agent, id: ConversationId) -> DeskResult<Conversation> {
    let conversation = ctx.store.conversation(id).await?.ok_or(DeskError::NotFound("conversation"))?;
    // Another shop's conversation is reported as missing, not forbidden, so
    // ids cannot be probed across shops.
    if !agent.can_access_shop(conversation.shop_id) {
        return Err(DeskError::NotFound("conversation"));
    }
    Ok(conversation)
}

/// Loads a conversation the agent may read.
pub async fn open_for_agent(ctx: &Ctx, agent: &Agent, id: ConversationId) -> DeskResult<Conversation> {
    let conversation = conversation_for_agent(ctx, agent, id).await?;
    if !agent_may_read(agent, &conversation) {
        return Err(DeskError::Forbidden("conversation_not_yours"));
    }
    Ok(conversation)
}

/// Loads a conversation that must be the customer's own.
pub async fn open_for_customer(ctx: &Ctx, customer: &Customer, id: ConversationId) -> DeskResult<Conversation> {
    let conversation = ctx.store.conversation(id).await?.ok_or(DeskError::NotFound("conversation"))?;
    if conversation.customer_id != customer.id {
        return Err(DeskError::NotFound("conversation"));
    }
    Ok(conversation)
}

pub fn new_message(
    ctx: &Ctx,
    conversation: ConversationId,
    sender: Sender,
    kind: MessageKind,
    text: MessageText,
    client_msg_id: Option<ClientMsgId>,
) -> NewMessage {
    NewMessage {
        id: MessageId::from_uuid(ctx.ids.new_uuid()),
        conversation_id: conversation,
        sender,
        kind,
        text,
        client_msg_id,
        at: ctx.clock.now(),
    }
}

/// What a shopper's message says, checked: words, a card of one of their
/// own orders, or a card of a product of the shop. Only [`customer_content`] makes one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerContent {
    kind: MessageKind,
    text: MessageText,
}

impl CustomerContent {
    /// Words need no look-up.
    pub fn text(text: MessageText) -> Self {
        Self { kind: MessageKind::Text, text }
    }
    pub fn kind(&self) -> MessageKind {
        self.kind
    }
    pub fn as_str(&self) -> &str {
        self.text.as_str()
    }
    pub fn into_parts(self) -> (MessageKind, MessageText) {
        (self.kind, self.text)
    }
}

/// Checks what a shopper sends: notes are not theirs to write, an order
/// card must name one of their own orders, a product card a product of the shop.
pub async fn customer_content(
    ctx: &Ctx,
    customer: &Customer,
    kind: MessageKind,
    text: MessageText,
) -> DeskResult<CustomerContent> {
    match kind {
        MessageKind::Text => Ok(CustomerContent::text(text)),
        MessageKind::Note => Err(DeskError::Forbidden("customers_cannot_write_notes")),
        MessageKind::Order => {
            let text = order_card(ctx, customer.shop_id, customer.id, &text).await?;
            Ok(CustomerContent { kind, text })
        }
        MessageKind::Product => {
            let text = product_card(ctx, customer.shop_id, &text).await?;
            Ok(CustomerContent { kind, text })
        }
        MessageKind::Image => {
            let text = image(ctx, customer.shop_id, customer.id, &text).await?;
            Ok(CustomerContent { kind, text })
        }
    }
}

/// An image message's text, once the attachment is found among those of
/// `customer` in `shop`: its id. Anyone else's image is "not found".
async fn image(ctx: &Ctx, shop: ShopId, customer: CustomerId, text: &MessageText) -> DeskResult<MessageText> {
    let id = AttachmentId::parse(text.as_str())
        .map_err(|_| DeskError::Invalid("an image message's text is the attachment id".into()))?;
    // Only who it belongs to: the bytes (up to 5 MiB) are not read to send it.
    match ctx.store.attachment_owner(id).await? {
        Some(owner) if owner == (shop, customer) => {
            MessageText::parse(&id.to_string()).map_err(|e| DeskError::Invalid(e.to_string()))
        }
        _ => Err(DeskError::NotFound("attachment")),
    }
}

/// Stores an image for the conversation with `customer`, uploaded by them
/// or by an agent; the bytes are checked to be an image.
pub async fn upload_image(
    ctx: &Ctx,
    shop: ShopId,
    customer: CustomerId,
    uploaded_by: Sender,
    bytes: Vec<u8>,
) -> DeskResult<Attachment> {
    let kind = ImageKind::check(&bytes).map_err(|e| DeskError::Invalid(e.to_string()))?;
    let now = ctx.clock.now();
    let mut budget = None;
    if let Sender::Customer(_) = uploaded_by {
        // Checked before the write, so two uploads racing may both pass: the
        // quota bounds a flood, it is not an exact meter. The shop's day is
        // exact: the store counts it in the write.
        let recent = ctx.store.uploads_by_customer(customer, now.plus_millis(-attachment::DAY_MS)).await?;
        ctx.uploads
            .check(&recent, now, bytes.len() as u64)
            .map_err(|e| DeskError::RateLimited { retry_after_ms: e.retry_after_ms })?;
        budget = ctx.uploads.shop_budget(now);
    }
    let attachment = Attachment {
        id: AttachmentId::from_uuid(ctx.ids.new_uuid()),
        shop_id: shop,
        customer_id: customer,
        uploaded_by,
        kind,
        bytes,
        created_at: now,
    };
    match ctx.store.put_attachment(&attachment, budget).await {
        Ok(()) => Ok(attachment),
        Err(StoreError::Conflict("upload_budget")) => {
            Err(DeskError::RateLimited { retry_after_ms: (now.next_china_midnight().0 - now.0).max(1) })
        }
        Err(e) => Err(e.into()),
    }
}

/// An agent uploads an image for a conversation they may reply to.
pub async fn agent_upload_image(
    ctx: &Ctx,
    agent: &Agent,
    conversation: ConversationId,
    bytes: Vec<u8>,
) -> DeskResult<Attachment> {
    let conv = conversation_for_agent(ctx, agent, conversation).await?;
    if !agent_may_reply(agent, &conv) {
        return Err(DeskError::Forbidden("conversation_not_yours"));
    }
    upload_image(ctx, conv.shop_id, conv.customer_id, Sender::Agent(agent.id), bytes).await
}

/// An image the shopper may see: theirs, or sent to them.
pub async fn image_for_customer(ctx: &Ctx, customer: &Customer, id: AttachmentId) -> DeskResult<Attachment> {
    match ctx.store.attachment(id).await? {
        Some(a) if a.customer_id == customer.id && a.shop_id == customer.shop_id => Ok(a),
        _ => Err(DeskError::NotFound("attachment")),
    }
}

/// An image of one of the agent's shops.
pub async fn image_for_agent(ctx: &Ctx, agent: &Agent, id: AttachmentId) -> DeskResult<Attachment> {
    match ctx.store.attachment(id).await? {
        Some(a) if agent.can_access_shop(a.shop_id) => Ok(a),
        _ => Err(DeskError::NotFound("attachment")),
    }
}

/// A product card's text, once the SKU is found in `shop`'s catalogue.
async fn product_card(ctx: &Ctx, shop: ShopId, text: &MessageText) -> DeskResult<MessageText> {
    let sku = text.as_str();
    if sku.chars().count() > 64 || sku.contains(char::is_whitespace) {
        return Err(DeskError::Invalid("a product card's text is the product's SKU".into()));
    }
    match ctx.store.product_by_sku(shop, sku).await? {
        Some(product) => MessageText::parse(&product.sku).map_err(|e| DeskError::Invalid(e.to_string())),
        None => Err(DeskError::NotFound("product")),
    }
}

/// An order card's text, once the order is found among `customer`'s orders
/// in `shop`: its order number. Another customer's order is reported as
/// missing, like another's conversation, so order numbers cannot be probed.
async fn order_card(ctx: &Ctx, shop: ShopId, customer: CustomerId, text: &MessageText) -> DeskResult<MessageText> {
    let no = OrderNo::parse(text.as_str())
        .map_err(|_| DeskError::Invalid("an order card's text is the order number".into()))?;
    match ctx.store.order_by_no(shop, &no).await? {
        Some(order) if order.customer_id == customer => {
            MessageText::parse(order.order_no.as_str()).map_err(|e| DeskError::Invalid(e.to_string()))
        }
        _ => Err(DeskError::NotFound("order")),
    }
}

/// Tells everyone concerned about a stored message (no-op for a duplicate).
pub fn publish_appended(ctx: &Ctx, appended: &Appended) {
    if !appended.duplicate {
        ctx.bus.publish(Event::MessageAppended {
            message: appended.message.clone(),
            conversation: appended.conversation.clone(),
        });
    }
}

/// A customer writes. Their open conversation is used, or a new one is
/// opened in the queue (and routed when auto-assign is on). `known` is the
/// open conversation the caller already knows of (a connection remembers it
/// from its last send), which saves a read per message; it must be one the
/// caller learned from the server for this customer.
pub async fn customer_send(
    ctx: &Ctx,
    customer: &Customer,
    known: Option<ConversationId>,
    content: CustomerContent,
    client_msg_id: Option<ClientMsgId>,
) -> DeskResult<Appended> {
    let conversation = match known {
        Some(id) => id,
        None => match ctx.store.open_conversation_of_customer(customer.id).await? {
            Some(c) => c.id,
            None => open_conversation(ctx, customer).await?.id,
        },
    };
    let msg = new_message(ctx, conversation, Sender::Customer(customer.id), content.kind, content.text, client_msg_id);
    append_customer_message(ctx, customer, known, msg).await
}

/// Appends a shopper's message (checked by [`customer_content`]) to the
/// conversation it names, `known` being where the caller thought it was
/// open; closed since, it goes to their open conversation or a new one.
pub async fn append_customer_message(
    ctx: &Ctx,
    customer: &Customer,
    known: Option<ConversationId>,
    msg: NewMessage,
) -> DeskResult<Appended> {
    let appended = match ctx.store.append_message(msg.clone()).await {
        // Closed (or gone) since it was looked up: start a new conversation.
        Err(StoreError::ConversationClosed | StoreError::NotFound(_)) => {
            let fresh = match ctx.store.open_conversation_of_customer(customer.id).await? {
                Some(c) if Some(c.id) != known => c,
                _ => open_conversation(ctx, customer).await?,
            };
            ctx.store.append_message(NewMessage { conversation_id: fresh.id, ..msg }).await?
        }
        other => other?,
    };
    publish_appended(ctx, &appended);
    Ok(appended)
}

async fn open_conversation(ctx: &Ctx, customer: &Customer) -> DeskResult<Conversation> {
    let now = ctx.clock.now();
    let priority = i32::from(customer.tier != crate::customer::Tier::Normal) + i32::from(customer.complaint_count > 0);
    let conversation = ctx
        .store
        .open_conversation(&Conversation::opened(
            ConversationId::from_uuid(ctx.ids.new_uuid()),
            customer.shop_id,
            customer.id,
            if ctx.bot { ConversationStatus::Bot } else { ConversationStatus::Queued },
            priority,
            now,
        ))
        .await?;
    ctx.bus.publish(Event::ConversationChanged(conversation.clone()));
    if conversation.status == ConversationStatus::Queued {
        return Ok(route(ctx, conversation).await);
    }
    Ok(conversation)
}

/// Offers a queued conversation to the best agent when its shop pushes
/// (pulling, it waits for an agent to take it); on any failure it stays
/// queued (an agent can still accept it). When several conversations arrive
/// at once they may all pick the same least-loaded agent from the same read;
/// the store refuses the ones over capacity and the next candidate is tried.
pub async fn route(ctx: &Ctx, conversation: Conversation) -> Conversation {
    let routing = ctx.routing.of_shop(ctx, conversation.shop_id).await;
    if !routing.auto_assign {
        return conversation;
    }
    let Ok(mut loads) = ctx.store.agents_of_shop(conversation.shop_id).await else { return conversation };
    let now = ctx.clock.now();
    let offer_until = routing.offer_until(now);
    for _ in 0..ROUTE_ATTEMPTS {
        let Some(agent_id) = routing::pick_agent(&loads, conversation.skill_group) else { return conversation };
        let Some(load) = loads.iter_mut().find(|l| l.agent.id == agent_id) else { return conversation };
        match ctx
            .store
            .assign_conversation(conversation.id, agent_id, load.agent.max_concurrent, now, offer_until)
            .await
        {
            Ok(assigned) => {
                ctx.bus.publish(Event::ConversationChanged(assigned.clone()));
                return assigned;
            }
            Err(StoreError::CapacityReached) => load.open_conversations = load.agent.max_concurrent,
            Err(_) => return conversation,
        }
    }
    conversation
}

const ROUTE_ATTEMPTS: usize = 5;

/// Hands a pushing shop's queue out to its agents with room, longest wait first
/// (the order the widget counts places in): what the server's queue sweep
/// does every few seconds for whatever no event on this node announced
/// (where one did — a closing, 接待中 — the agent with room takes their
/// next shopper at once: `take_waiting`). A conversation of a skill group
/// none of whose agents has room is passed over, not waited behind. Several
/// nodes may fill at once: the store refuses a conversation already taken
/// and an agent over their limit, and the next one is tried. Answers the
/// conversations assigned.
pub async fn fill_from_queue(ctx: &Ctx, shop: ShopId) -> DeskResult<Vec<Conversation>> {
    let routing = ctx.routing.of_shop(ctx, shop).await;
    if !routing.auto_assign {
        return Ok(Vec::new());
    }
    // The queue's front first, through its index: most sweeps find it
    // empty, and then the team (every agent with their load) is not worth reading.
    let mut queue = ctx.store.queue_of_shop(shop, FILL_FIRST_READ).await?;
    if queue.is_empty() {
        return Ok(Vec::new());
    }
    let mut loads = ctx.store.agents_of_shop(shop).await?;
    let room = routing::room(&loads);
    if room == 0 {
        return Ok(Vec::new());
    }
    // Some at the front may be of a group with no room: read a little past the room.
    let wanted = room.saturating_add(FILL_LOOKAHEAD).min(FILL_MAX_READ);
    if queue.len() == FILL_FIRST_READ as usize && wanted > FILL_FIRST_READ {
        queue = ctx.store.queue_of_shop(shop, wanted).await?;
    }
    let now = ctx.clock.now();
    let offer_until = routing.offer_until(now);
    let mut assigned = Vec::new();
    'queue: for waiting in queue {
        for _ in 0..ROUTE_ATTEMPTS {
            if routing::room(&loads) == 0 {
                break 'queue;
            }
            let Some(agent_id) = routing::pick_agent(&loads, waiting.group) else { continue 'queue };
            let Some(load) = loads.iter_mut().find(|l| l.agent.id == agent_id) else { continue 'queue };
            match ctx.store.assign_conversation(waiting.id, agent_id, load.agent.max_concurrent, now, offer_until).await
            {
                Ok(conversation) => {
                    load.open_conversations += 1;
                    load.pending_offers += u32::from(conversation.offered_until.is_some());
                    ctx.bus.publish(Event::ConversationChanged(conversation.clone()));
                    assigned.push(conversation);
                    continue 'queue;
                }
                // Another node or request filled them since the read.
                Err(StoreError::CapacityReached) => load.open_conversations = load.agent.max_concurrent,
                // Taken, closed or gone since the read: the next one.
                Err(StoreError::Conflict(_) | StoreError::ConversationClosed | StoreError::NotFound(_)) => {
                    continue 'queue;
                }
                Err(e) => return Err(e.into()),
            }
        }
    }
    Ok(assigned)
}

/// What [`fill_from_queue`] reads of the queue before it knows the room,
/// how far past the room it reads, and the most it reads.
const FILL_FIRST_READ: u32 = 64;
const FILL_LOOKAHEAD: u32 = 50;
const FILL_MAX_READ: u32 = 500;

/// [`fill_from_queue`] for every shop: the server's sweep. Answers how many
/// conversations were assigned.
pub async fn fill_queues(ctx: &Ctx) -> DeskResult<usize> {
    let mut assigned = 0;
    for shop in ctx.store.shops().await? {
        assigned += fill_from_queue(ctx, shop.id).await?.len();
    }
    Ok(assigned)
}

/// `agent` has room in these shops (those that push): they freed a place
/// (a closing, a conversation passed on: `at_most` 1) or came back 接待中.
/// The shoppers waiting for them come to them, longest wait first, up to
/// their limit, one write each (`Store::take_next_queued`) and the team not
/// read: while shoppers queue, everyone else is full. Taken in turn across
/// their shops. Best effort: an error here is the sweep's to retry, not the
/// closing's or the status change's to fail. Answers what they took.
pub async fn take_waiting(ctx: &Ctx, agent: AgentId, shops: &[ShopId], at_most: usize) -> Vec<Conversation> {
    let mut taken = Vec::new();
    let mut pushing = Vec::with_capacity(shops.len());
    for shop in shops {
        let routing = ctx.routing.of_shop(ctx, *shop).await;
        if routing.auto_assign {
            pushing.push((*shop, routing));
        }
    }
    loop {
        let mut took = false;
        for (shop, routing) in &pushing {
            // The store reads the agent in the write (接待中? their groups, their limit): a
            // caller's copy may be a session's, older than a status change.
            let now = ctx.clock.now();
            let next = ctx.store.take_next_queued(*shop, agent, now, routing.offer_until(now)).await;
            match next {
                Ok(Some(conversation)) => {
                    ctx.bus.publish(Event::ConversationChanged(conversation.clone()));
                    taken.push(conversation);
                    if taken.len() >= at_most {
                        return taken;
                    }
                    took = true;
                }
                Ok(None) => {}
                Err(_) => return taken, // full (or the store failing): done either way
            }
        }
        if !took {
            return taken;
        }
    }
}

/// Closes bot conversations quiet for `quiet_ms` and tells everyone (the
/// shopper's widget then offers the rating). Returns how many it closed.
pub async fn close_idle_bot_conversations(ctx: &Ctx, quiet_ms: i64) -> DeskResult<usize> {
    let now = ctx.clock.now();
    let closed = ctx.store.close_idle_bot_conversations(now.plus_millis(-quiet_ms), now, 500).await?;
    for c in &closed {
        ctx.bus.publish(Event::ConversationChanged(c.clone()));
    }
    Ok(closed.len())
}

/// How a transfer's note starts, so the colleague taking over sees why.
const TRANSFER_MARK: &str = "【转接】";

/// What a shopper whose agent is gone reads when they are queued again.
const REQUEUED_LINE: &str = "正在为您转接其他客服，请稍候";

/// An agent writes a reply or an internal note.
pub async fn agent_send(
    ctx: &Ctx,
    agent: &Agent,
    conversation: ConversationId,
    kind: MessageKind,
    text: MessageText,
    client_msg_id: Option<ClientMsgId>,
) -> DeskResult<Appended> {
    let conv = conversation_for_agent(ctx, agent, conversation).await?;
    let allowed = match kind {
        MessageKind::Text | MessageKind::Order | MessageKind::Product | MessageKind::Image => {
            agent_may_reply(agent, &conv)
        }
        MessageKind::Note => agent_may_read(agent, &conv) && agent.role.handles_conversations(),
    };
    if !allowed {
        return Err(DeskError::Forbidden("conversation_not_yours"));
    }
    // A card shows the shopper one of their own orders (never another's) or a product of the shop.
    let text = match kind {
        MessageKind::Order => order_card(ctx, conv.shop_id, conv.customer_id, &text).await?,
        MessageKind::Product => product_card(ctx, conv.shop_id, &text).await?,
        MessageKind::Image => image(ctx, conv.shop_id, conv.customer_id, &text).await?,
        MessageKind::Text | MessageKind::Note => text,
    };
    // Answering an offer accepts it.
    let answers_offer =
        kind != MessageKind::Note && conv.offered_until.is_some() && conv.assigned_agent == Some(agent.id);
    if answers_offer {
        let accepted = ctx
            .store
            .assign_conversation(conv.id, agent.id, agent.max_concurrent, ctx.clock.now(), None)
            .await
            .map_err(|e| match e {
                StoreError::Conflict(_) => DeskError::Forbidden("conversation_not_yours"),
                e => e.into(),
            })?;
        ctx.bus.publish(Event::ConversationChanged(accepted));
    }
    let msg = new_message(ctx, conv.id, Sender::Agent(agent.id), kind, text, client_msg_id);
    let appended = ctx.store.append_message(msg).await?;
    publish_appended(ctx, &appended);
    if answers_offer {
        // After the answer is stored: it does not wait on the next offer.
        take_waiting(ctx, agent.id, &[conv.shop_id], 1).await;
    }
    Ok(appended)
}

/// An agent takes a conversation from the queue.
pub async fn accept(ctx: &Ctx, agent: &Agent, conversation: ConversationId) -> DeskResult<Conversation> {
    let conv = conversation_for_agent(ctx, agent, conversation).await?;
    if !agent.role.handles_conversations() {
        return Err(DeskError::Forbidden("role_cannot_handle_conversations"));
    }
    // 挂起 takes nothing new, but what was offered before it may still be accepted.
    let offered_to_me = conv.offered_until.is_some() && conv.assigned_agent == Some(agent.id);
    if agent.status != AgentStatus::Online && !offered_to_me {
        return Err(DeskError::Forbidden("agent_not_online"));
    }
    let assigned =
        ctx.store.assign_conversation(conv.id, agent.id, agent.max_concurrent, ctx.clock.now(), None).await?;
    ctx.bus.publish(Event::ConversationChanged(assigned.clone()));
    if offered_to_me {
        // An offer taken: the next shopper waiting for them may be offered.
        take_waiting(ctx, agent.id, &[assigned.shop_id], 1).await;
    }
    Ok(assigned)
}

/// Where an agent transfers a conversation.
#[derive(Debug, Clone, Copy)]
pub enum Transfer {
    ToAgent(AgentId),
    ToGroup(SkillGroupId),
}

/// Hands a conversation to a colleague or a group, with an optional note
/// for whoever takes it (why, what was tried): an internal note in the
/// thread, marked 【转接】, written just after the move.
pub async fn transfer(
    ctx: &Ctx,
    agent: &Agent,
    conversation: ConversationId,
    to: Transfer,
    note: Option<MessageText>,
) -> DeskResult<Conversation> {
    let conv = conversation_for_agent(ctx, agent, conversation).await?;
    if !agent_may_reply(agent, &conv) {
        return Err(DeskError::Forbidden("conversation_not_yours"));
    }
    let target = match to {
        Transfer::ToAgent(id) => {
            let target = ctx.store.agent(id).await?.ok_or(DeskError::NotFound("agent"))?;
            if target.disabled || !target.can_access_shop(conv.shop_id) || !target.role.handles_conversations() {
                return Err(DeskError::NotFound("agent"));
            }
            TransferTarget::Agent { agent: target.id, max_concurrent: target.max_concurrent }
        }
        Transfer::ToGroup(group) => {
            let groups = ctx.store.skill_groups(conv.shop_id).await?;
            if !groups.iter().any(|g| g.id == group) {
                return Err(DeskError::NotFound("skill_group"));
            }
            TransferTarget::Group(group)
        }
    };
    // Checked before anything moves: a note too long refuses the transfer, not just the note.
    let note = note.map(|n| MessageText::parse(&format!("{TRANSFER_MARK}{}", n.as_str()))).transpose();
    let note = note.map_err(|e| DeskError::Invalid(format!("note: {e}")))?;
    let moved = ctx.store.transfer_conversation(conv.id, target, ctx.clock.now()).await?;
    ctx.bus.publish(Event::ConversationChanged(moved.clone()));
    // After the move, so it reaches the new holder; best effort, as the closing line.
    if let Some(text) = note {
        let line = new_message(ctx, conv.id, Sender::Agent(agent.id), MessageKind::Note, text, None);
        if let Ok(appended) = ctx.store.append_message(line).await {
            publish_appended(ctx, &appended);
        }
    }
    let moved = match to {
        Transfer::ToGroup(_) => route(ctx, moved).await,
        _ => moved,
    };
    if let Some(before) = conv.assigned_agent.filter(|a| moved.assigned_agent != Some(*a)) {
        take_waiting(ctx, before, &[moved.shop_id], 1).await;
    }
    Ok(moved)
}

/// Ends a conversation; the customer is then asked for a rating.
pub async fn close(ctx: &Ctx, agent: &Agent, conversation: ConversationId) -> DeskResult<Conversation> {
    let conv = conversation_for_agent(ctx, agent, conversation).await?;
    if !agent_may_reply(agent, &conv) {
        return Err(DeskError::Forbidden("conversation_not_yours"));
    }
    let system = new_message(
        ctx,
        conv.id,
        Sender::System,
        MessageKind::Text,
        MessageText::parse("会话已结束，请为本次服务评分").map_err(|e| DeskError::Invalid(e.to_string()))?,
        None,
    );
    // The closing line is best effort: a conversation closed meanwhile is fine.
    if let Ok(appended) = ctx.store.append_message(system).await {
        publish_appended(ctx, &appended);
    }
    let closed = ctx.store.close_conversation(conv.id, ctx.clock.now()).await?;
    ctx.bus.publish(Event::ConversationChanged(closed.clone()));
    if let Some(holder) = conv.assigned_agent {
        take_waiting(ctx, holder, &[closed.shop_id], 1).await;
    }
    Ok(closed)
}

/// The customer rates a conversation (1-5), once.
pub async fn rate(ctx: &Ctx, customer: &Customer, conversation: ConversationId, csat: u8) -> DeskResult<Conversation> {
    if !(1..=5).contains(&csat) {
        return Err(DeskError::Invalid("csat must be 1-5".into()));
    }
    let conv = open_for_customer(ctx, customer, conversation).await?;
    let rated = ctx.store.rate_conversation(conv.id, csat, ctx.clock.now()).await?;
    ctx.bus.publish(Event::ConversationChanged(rated.clone()));
    Ok(rated)
}

/// An agent goes 接待中 / 挂起 / 离线.
pub async fn set_status(ctx: &Ctx, agent: &Agent, status: AgentStatus) -> DeskResult<()> {
    if status != AgentStatus::Offline {
        // Whoever sets themself 接待中 or 挂起 is here: not swept as absent
        // before their workspace's first heartbeat.
        ctx.store.agent_seen(agent.id, ctx.clock.now()).await?;
    }
    ctx.store.set_agent_status(agent.id, status).await?;
    announce_presence(ctx, agent.id, &agent.shops, status, None, false);
    if status == AgentStatus::Online {
        take_waiting(ctx, agent.id, &agent.shops, usize::MAX).await;
    }
    Ok(())
}

/// Tells each of the agent's shops (their colleagues' screens and their own)
/// their new status, who set it when not they, and whether a missed offer did.
fn announce_presence(
    ctx: &Ctx,
    agent: AgentId,
    shops: &[ShopId],
    status: AgentStatus,
    by: Option<AgentId>,
    missed_offer: bool,
) {
    for shop in shops {
        ctx.bus.publish(Event::AgentPresence { shop: *shop, agent, status, by, missed_offer });
    }
}

/// Sets offline the agents whose workspace has not been connected for
/// `unseen_ms` (they closed the browser without going 离线): routing stops
/// sending them shoppers, and their colleagues' screens show them offline.
/// A conversation of an offline agent whose shopper has waited that long
/// goes back to the queue (and is routed again); the others stay theirs (a
/// dropped connection may come back). Answers (agents, conversations).
pub async fn sweep_absent_agents(ctx: &Ctx, unseen_ms: i64) -> DeskResult<(usize, usize)> {
    let now = ctx.clock.now();
    let absence = ctx.store.sweep_absent(now.plus_millis(-unseen_ms), now).await?;
    for (agent, shops) in &absence.offline {
        announce_presence(ctx, *agent, shops, AgentStatus::Offline, None, false);
    }
    let requeued = absence.requeued.len();
    back_in_queue(ctx, absence.requeued).await;
    Ok((absence.offline.len(), requeued))
}

/// Offers nobody accepted in time go back to the queue (the shoppers keep
/// their place: their wait did not start over) and are routed again; each
/// agent who let one lapse while 接待中 goes 挂起, and their screen says why.
/// Answers (agents set 挂起, conversations requeued).
pub async fn lapse_offers(ctx: &Ctx) -> DeskResult<(usize, usize)> {
    let lapsed = ctx.store.lapse_offers(ctx.clock.now()).await?;
    for (agent, shops) in &lapsed.away {
        announce_presence(ctx, *agent, shops, AgentStatus::Away, None, true);
    }
    let requeued = lapsed.requeued.len();
    for conversation in lapsed.requeued {
        ctx.bus.publish(Event::ConversationChanged(conversation.clone()));
        route(ctx, conversation).await;
    }
    Ok((lapsed.away.len(), requeued))
}

/// Conversations an agent held are back in the queue: everyone's screens
/// hear it, each shopper is told another agent is coming (they were waiting
/// on someone who is not there), and routing finds them someone. Answers
/// them as they end up.
async fn back_in_queue(ctx: &Ctx, conversations: Vec<Conversation>) -> Vec<Conversation> {
    let mut routed = Vec::with_capacity(conversations.len());
    for conversation in conversations {
        ctx.bus.publish(Event::ConversationChanged(conversation.clone()));
        // Best effort, as the closing line: the shopper's place in the queue matters more.
        if let Ok(text) = MessageText::parse(REQUEUED_LINE) {
            let line = new_message(ctx, conversation.id, Sender::System, MessageKind::Text, text, None);
            if let Ok(appended) = ctx.store.append_message(line).await {
                publish_appended(ctx, &appended);
            }
        }
        routed.push(route(ctx, conversation).await);
    }
    routed
}

/// An admin disables an account (a person who left): it goes offline, every
/// session of it ends and its open connections close, and the conversations
/// it held go back to the queue (and are routed again). An admin cannot
/// disable themself (nobody would be left to undo it).
pub async fn disable_agent(ctx: &Ctx, by: &Agent, id: AgentId) -> DeskResult<Agent> {
    if !by.role.administers() {
        return Err(DeskError::Forbidden("admins_only"));
    }
    if by.id == id {
        return Err(DeskError::Conflict("cannot_disable_self"));
    }
    let released = ctx.store.disable_agent(id, ctx.clock.now()).await?;
    let agent = ctx.store.agent(id).await?.ok_or(DeskError::NotFound("agent"))?;
    ctx.bus.publish(Event::AccountChanged { agent: id, signed_out: true });
    announce_presence(ctx, id, &agent.shops, AgentStatus::Offline, Some(by.id), false);
    back_in_queue(ctx, released).await;
    Ok(agent)
}

/// A colleague a supervisor may act on: one of a shop they share (another
/// shop's people are reported missing, as their conversations are), enabled,
/// and not a supervisor themself unless the one acting is an admin.
async fn colleague_of(ctx: &Ctx, by: &Agent, id: AgentId) -> DeskResult<Agent> {
    if !by.role.supervises() {
        return Err(DeskError::Forbidden("supervisors_only"));
    }
    let target = ctx.store.agent(id).await?.ok_or(DeskError::NotFound("agent"))?;
    if !target.shops.iter().any(|s| by.can_access_shop(*s)) && !by.role.administers() {
        return Err(DeskError::NotFound("agent"));
    }
    if target.disabled {
        return Err(DeskError::Conflict("agent_disabled"));
    }
    if target.id != by.id && target.role.supervises() && !by.role.administers() {
        return Err(DeskError::Forbidden("colleague_outranks"));
    }
    Ok(target)
}

/// A supervisor sets a colleague 挂起 or 离线: someone who walked away from
/// a busy desk gets no more shoppers. Only the agent themself goes 接待中
/// (routing must not count on someone who may not be there).
pub async fn set_colleague_status(ctx: &Ctx, by: &Agent, id: AgentId, status: AgentStatus) -> DeskResult<Agent> {
    let mut target = colleague_of(ctx, by, id).await?;
    if status == AgentStatus::Online && target.id != by.id {
        return Err(DeskError::Forbidden("only_self_online"));
    }
    ctx.store.set_agent_status(target.id, status).await?;
    target.status = status;
    announce_presence(ctx, target.id, &target.shops, status, Some(by.id), false);
    Ok(target)
}

/// A supervisor takes back the conversations of a colleague who is not
/// 接待中 (挂起 or 离线: set them so first) in the shops the supervisor
/// runs: back in the queue, the shoppers told, routed to whoever is free.
pub async fn take_back(ctx: &Ctx, by: &Agent, id: AgentId) -> DeskResult<Vec<Conversation>> {
    let target = colleague_of(ctx, by, id).await?;
    let shops = (!by.role.administers()).then(|| by.shops.clone());
    let released = ctx.store.release_conversations(target.id, shops, ctx.clock.now()).await?;
    Ok(back_in_queue(ctx, released).await)
}

/// An admin gives a disabled account back; its owner logs in again.
pub async fn enable_agent(ctx: &Ctx, by: &Agent, id: AgentId) -> DeskResult<Agent> {
    if !by.role.administers() {
        return Err(DeskError::Forbidden("admins_only"));
    }
    ctx.store.enable_agent(id).await?;
    ctx.store.agent(id).await?.ok_or(DeskError::NotFound("agent"))
}
