//! Runs the self-service bot for conversations in `bot` status: loads what
//! [`kefu_bot::flow`] needs, lets it decide, writes the whole turn in one
//! store transaction, then tells everyone (replies, hand-off, routing).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kefu_bot::flow::{self, BotState, Facts, Input, OrderFacts, Turn};
use kefu_bot::knowledge::Knowledge;

use crate::llm::Llm;
use kefu_bot::rules::ShopRules;
use kefu_core::botturn::{BotAudit, BotTurnWrite, BotTurnWritten, SaidAndAnswered};
use kefu_core::catalog::CategoryPath;
use kefu_core::conversation::{
    Appended, ClientMsgId, Conversation, ConversationStatus, MessageKind, MessageText, NewMessage, Sender,
};
use kefu_core::customer::Customer;
use kefu_core::desk::{self, Ctx, CustomerContent, DeskResult, RoutingPolicy};
use kefu_core::event::Event;
use kefu_core::id::{ConversationId, MessageId, ShopId};
use kefu_core::order::OrderNo;
use kefu_core::routing::Routing;
use kefu_core::service::PeopleNow;
use kefu_core::store::StoreError;
use kefu_nlu::Classifier;
use kefu_nlu::entities::{CatalogueEntry, Extractor};

mod requests;
mod waiting;

use requests::action_order_no;
pub use requests::request_of;

/// Orders the bot looks through, newest first.
const ORDERS: u32 = 20;
/// Catalogue entries loaded per shop for categories and product mentions.
const CATALOGUE: u32 = 20_000;

/// What the bot knows of one shop: its rules, its catalogue's categories and
/// an entity extractor with its order-number pattern and products.
struct ShopBrain {
    name: String,
    rules: Arc<ShopRules>,
    categories: HashMap<String, CategoryPath>,
    extractor: Extractor,
    knowledge: Knowledge,
    /// The shop's own intent model, if it has one.
    intents: Option<Arc<Classifier>>,
    loaded: Instant,
}

/// A brain is rebuilt this long after it was loaded, so catalogue imports
/// and knowledge edits made on another node reach this one's bot.
const BRAIN_TTL: Duration = Duration::from_secs(60);
/// Knowledge entries loaded per shop.
const KNOWLEDGE: u32 = 5_000;

/// Per-shop rules from the rules files (a shop's rules saved on /admin,
/// read with its brain, win over them), lazily built brains, and one lock
/// per conversation with a turn in progress.
pub struct Bot {
    /// Replaced whole by [`Bot::replace_rules`].
    rules: std::sync::RwLock<HashMap<String, ShopRules>>,
    intents: HashMap<String, Arc<Classifier>>,
    /// The optional model endpoint for rephrasing and summaries.
    pub llm: Option<Llm>,
    brains: Mutex<HashMap<ShopId, Arc<ShopBrain>>>,
    /// Shops' rules read without their brain (routing asks for every shop,
    /// bot or not), kept as long as a brain.
    light_rules: Mutex<HashMap<ShopId, (Instant, Arc<ShopRules>)>>,
    brain_ttl: Duration,
    /// Shops whose brain a turn is rebuilding now.
    rebuilding: Mutex<std::collections::HashSet<ShopId>>,
    /// Turns of one conversation run one after another (a shopper with two
    /// tabs open), so each reads the state the previous one wrote.
    turns: Mutex<HashMap<ConversationId, Arc<tokio::sync::Mutex<()>>>>,
}

impl Bot {
    /// `rules` and `intents` (own models) by shop slug; shops without a
    /// file use the default rules and the built-in model.
    pub fn new(rules: HashMap<String, ShopRules>, intents: HashMap<String, Arc<Classifier>>, llm: Option<Llm>) -> Bot {
        Bot {
            rules: std::sync::RwLock::new(rules),
            intents,
            llm,
            brains: Mutex::default(),
            light_rules: Mutex::default(),
            brain_ttl: BRAIN_TTL,
            rebuilding: Mutex::default(),
            turns: Mutex::default(),
        }
    }

    /// The shop's brain. A stale one is rebuilt by one turn while the others
    /// go on with it: at 2,000 turns/s every turn in flight when the TTL ran
    /// out used to rebuild it at once (the catalogue's extractor, the
    /// knowledge index: tens of ms of CPU each), once a minute.
    async fn brain(&self, ctx: &Ctx, shop: ShopId) -> Result<Arc<ShopBrain>, StoreError> {
        let cached = self.brains.lock().unwrap_or_else(|e| e.into_inner()).get(&shop).cloned();
        let Some(stale) = cached else { return self.build_brain(ctx, shop).await };
        if stale.loaded.elapsed() < self.brain_ttl {
            return Ok(stale);
        }
        let Some(_rebuilding) = Rebuilding::claim(&self.rebuilding, shop) else { return Ok(stale) };
        match self.build_brain(ctx, shop).await {
            Ok(fresh) => Ok(fresh),
            Err(e) => {
                // The old brain is still a shop's real catalogue and knowledge.
                tracing::warn!(error = %e, shop = %shop, "rebuilding the bot's shop data failed; keeping the old");
                Ok(stale)
            }
        }
    }

    /// The shop's rules as they stand: edited on /admin, else its file, else
    /// the defaults. Answers its slug and name too.
    async fn read_rules(&self, ctx: &Ctx, shop: ShopId) -> Result<(String, String, ShopRules), StoreError> {
        let (slug, name) =
            ctx.store.shop(shop).await?.map(|s| (s.slug.as_str().to_owned(), s.name)).unwrap_or_default();
        let file_rules =
            || self.rules.read().unwrap_or_else(|e| e.into_inner()).get(&slug).cloned().unwrap_or_default();
        // Rules edited on /admin win over the file; they were checked when saved.
        let rules = match ctx.store.shop_rules(shop).await?.stored {
            Some(stored) => ShopRules::parse(&stored.text).unwrap_or_else(|e| {
                tracing::warn!(shop = %shop, error = %e, "stored bot rules do not parse; using the file's");
                file_rules()
            }),
            None => file_rules(),
        };
        Ok((slug, name, rules))
    }

    /// The shop's rules without building its brain: a fresh brain's, else
    /// read (two reads) and kept as long as a brain is.
    async fn rules_only(&self, ctx: &Ctx, shop: ShopId) -> Result<Arc<ShopRules>, StoreError> {
        let brain = self.brains.lock().unwrap_or_else(|e| e.into_inner()).get(&shop).cloned();
        if let Some(brain) = brain.filter(|b| b.loaded.elapsed() < self.brain_ttl) {
            return Ok(brain.rules.clone());
        }
        let kept = self.light_rules.lock().unwrap_or_else(|e| e.into_inner()).get(&shop).cloned();
        if let Some((_, rules)) = kept.filter(|(at, _)| at.elapsed() < self.brain_ttl) {
            return Ok(rules);
        }
        let rules = Arc::new(self.read_rules(ctx, shop).await?.2);
        self.light_rules.lock().unwrap_or_else(|e| e.into_inner()).insert(shop, (Instant::now(), rules.clone()));
        Ok(rules)
    }

    /// How the shop's shoppers reach people: its rules over `deployment`'s
    /// (kefu.toml); the deployment's when the rules cannot be read.
    pub async fn routing(&self, ctx: &Ctx, shop: ShopId, deployment: Routing) -> Routing {
        match self.rules_only(ctx, shop).await {
            Ok(rules) => rules.routing(deployment),
            Err(e) => {
                tracing::warn!(error = %e, shop = %shop, "reading the shop's routing failed; routing as kefu.toml says");
                deployment
            }
        }
    }

    async fn build_brain(&self, ctx: &Ctx, shop: ShopId) -> Result<Arc<ShopBrain>, StoreError> {
        let (slug, name, rules) = self.read_rules(ctx, shop).await?;
        let intents = self.intents.get(&slug).cloned();
        let products = ctx.store.products(shop, CATALOGUE).await?;
        let catalogue: Vec<CatalogueEntry> = products
            .iter()
            .map(|p| CatalogueEntry { sku: p.sku.clone(), name: p.name.clone(), model: p.model.clone() })
            .collect();
        // The pattern was validated when the rules were parsed.
        let extractor = Extractor::new(&rules.order_number_pattern, &catalogue)
            .or_else(|_| Extractor::new(kefu_nlu::entities::DEFAULT_ORDER_PATTERN, &catalogue))
            .map_err(StoreError::backend)?;
        let categories = products.into_iter().map(|p| (p.sku, p.category)).collect();
        let knowledge = Knowledge::new(ctx.store.knowledge(shop, KNOWLEDGE).await?);
        let brain = Arc::new(ShopBrain {
            name,
            rules: Arc::new(rules),
            categories,
            extractor,
            knowledge,
            intents,
            loaded: Instant::now(),
        });
        self.brains.lock().unwrap_or_else(|e| e.into_inner()).insert(shop, brain.clone());
        Ok(brain)
    }

    /// New rules for every shop (all or nothing: they were all parsed). Every
    /// brain is dropped, so the next turn of each shop reads its new policy;
    /// turns already running finish on the old one.
    pub fn replace_rules(&self, rules: HashMap<String, ShopRules>) {
        *self.rules.write().unwrap_or_else(|e| e.into_inner()) = rules;
        self.brains.lock().unwrap_or_else(|e| e.into_inner()).clear();
        self.light_rules.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }

    /// Whether the shop (by slug) has a rules file.
    pub fn has_rules_file(&self, slug: &str) -> bool {
        self.rules.read().unwrap_or_else(|e| e.into_inner()).contains_key(slug)
    }

    /// The shop's rules as the bot applies them now (edited on /admin, else
    /// its file, else the defaults): agents' order actions keep to them too.
    pub async fn rules(&self, ctx: &Ctx, shop: ShopId) -> Result<ShopRules, StoreError> {
        Ok(ShopRules::clone(&*self.rules_only(ctx, shop).await?))
    }

    /// The shop's service hours, from its rules (the defaults when they cannot be read).
    pub async fn service_hours(&self, ctx: &Ctx, shop: ShopId) -> kefu_core::service::ServiceHours {
        self.rules_only(ctx, shop).await.map_or_else(|_| Default::default(), |rules| rules.service_hours)
    }

    /// The shop's reply window (N分钟回复率), from its rules (3 minutes when they cannot be read).
    pub async fn reply_window(&self, ctx: &Ctx, shop: ShopId) -> kefu_core::kpi::ReplyWindow {
        self.rules_only(ctx, shop).await.map_or_else(|_| Default::default(), |rules| rules.reply_window)
    }

    /// Drops a shop's brain so the next turn loads the catalogue and the
    /// knowledge base afresh (after an edit on this node).
    pub fn forget(&self, shop: ShopId) {
        self.brains.lock().unwrap_or_else(|e| e.into_inner()).remove(&shop);
        self.light_rules.lock().unwrap_or_else(|e| e.into_inner()).remove(&shop);
    }

    /// Whether [`Bot::customer_send`] may write a shopper's message with the
    /// bot's answer. Not with a model endpoint: its calls (seconds, at worst
    /// their timeout) would hold up the shopper's acknowledgement.
    pub fn answers_with_the_message(&self) -> bool {
        self.llm.is_none()
    }

    /// A shopper writes to `conversation`, which the bot held at the
    /// caller's last look: the bot answers first, and the message and the
    /// answer are written in one commit. Acknowledging the message waits for
    /// the answer (a few hundred µs of reads and language work), and the
    /// answer waits for one commit instead of two. A refused turn (people
    /// took the conversation, an order moved on) leaves the message written.
    pub async fn customer_send(
        &self,
        ctx: &Ctx,
        customer: &Customer,
        conversation: ConversationId,
        content: CustomerContent,
        client_msg_id: Option<ClientMsgId>,
    ) -> DeskResult<Said> {
        let _turn = self.turn_of(conversation).await;
        let at = Target { conversation, shop: customer.shop_id, while_queued: false };
        let thought = match self.think(ctx, customer, at, Input::of(content.kind(), content.as_str())).await {
            Ok(thought) => thought,
            Err(e) => {
                // The message matters more than the answer: stored the usual way, answered after.
                tracing::warn!(error = %e, conversation = %conversation, "bot turn could not be prepared");
                let appended = desk::customer_send(ctx, customer, Some(conversation), content, client_msg_id).await?;
                return Ok(Said::unanswered(appended));
            }
        };
        let (kind, text) = content.into_parts();
        let message = desk::new_message(ctx, conversation, Sender::Customer(customer.id), kind, text, client_msg_id);
        self.write_with_answer(ctx, customer, at, message, thought).await
    }

    /// The second half of [`Bot::customer_send`]: the message and the turn
    /// decided for it, in one commit.
    async fn write_with_answer(
        &self,
        ctx: &Ctx,
        customer: &Customer,
        at: Target,
        message: NewMessage,
        thought: Thought,
    ) -> DeskResult<Said> {
        let conversation = at.conversation;
        let write = self.to_write(ctx, at, &thought, &thought.turn);
        match ctx.store.append_with_bot_turn(message.clone(), write).await {
            Ok(SaidAndAnswered { said, turn: written }) => {
                desk::publish_appended(ctx, &said);
                let mut status = said.conversation.status;
                let settled = match written {
                    // Another node answered this conversation since we read
                    // it: the message is stored; decide again on what it left.
                    Err(StoreError::Conflict("stale_turn")) => {
                        let input = Input::of(said.message.kind, &said.message.text);
                        self.turn_on_fresh_memory(ctx, customer, at, input).await
                    }
                    written => self.settle(ctx, at, &thought, written).await,
                };
                let c = &said.conversation;
                match settled {
                    Ok(Some(w)) => {
                        status = w.conversation.status;
                        publish_turn(ctx, w).await
                    }
                    // Handed to people since the caller looked (the turn before
                    // this one did it) and nobody has the shopper yet: answered
                    // as a waiting shopper is.
                    Ok(None) if !said.duplicate && c.waits_for_people() => {
                        if self.answers_while_queued(ctx, at.shop).await
                            && let Err(e) = self.write_while_queued(ctx, at, &thought).await
                        {
                            tracing::warn!(error = %e, conversation = %conversation, "bot answer while queued failed");
                        }
                    }
                    Ok(None) => {}
                    Err(e) => tracing::warn!(error = %e, conversation = %conversation, "bot turn failed"),
                }
                Ok(Said { appended: said, answered: true, status })
            }
            // Closed since the caller looked: the usual way opens a new
            // conversation, which the bot answers after the acknowledgement.
            Err(StoreError::ConversationClosed | StoreError::NotFound(_)) => {
                let appended = desk::append_customer_message(ctx, customer, Some(conversation), message).await?;
                Ok(Said::unanswered(appended))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// One turn for a shopper's message already stored in a bot
    /// conversation. Errors are logged, never sent to the shopper: their
    /// message is stored, and an agent can pick the conversation up from the queue.
    pub async fn answer(&self, ctx: &Ctx, customer: &Customer, conversation: &Conversation, said: &CustomerContent) {
        if conversation.status != ConversationStatus::Bot {
            return;
        }
        let _turn = self.turn_of(conversation.id).await;
        let input = Input::of(said.kind(), said.as_str());
        if let Err(e) = self.try_answer(ctx, customer, conversation, input).await {
            tracing::warn!(error = %e, conversation = %conversation.id, "bot turn failed");
        }
    }

    /// Waits for the conversation's turn: one turn at a time per conversation.
    async fn turn_of(&self, conversation: ConversationId) -> TurnGuard<'_> {
        let lock = self.turns.lock().unwrap_or_else(|e| e.into_inner()).entry(conversation).or_default().clone();
        let held = Some(lock.clone().lock_owned().await);
        TurnGuard { turns: &self.turns, conversation, lock, held }
    }

    /// Reads what the turn needs and decides it: the turn, the orders it
    /// read and the bot's memory after it.
    async fn think(&self, ctx: &Ctx, customer: &Customer, at: Target, input: Input<'_>) -> Result<Thought, StoreError> {
        let brain = self.brain(ctx, at.shop).await?;
        let (memory, mut orders) = ctx.store.bot_context(at.conversation, customer.id, ORDERS).await?;
        if let Input::OrderCard(no) = input
            && !orders.iter().any(|o| o.order.order_no.as_str() == no)
        {
            // A card of an order older than the ones read: the card was
            // checked to be the shopper's, so the bot must see that order.
            orders.extend(self.order_of(ctx, customer, no).await?);
        }
        let mut state: BotState = match memory.state {
            Some(json) => serde_json::from_str(&json).unwrap_or_default(),
            None => BotState::default(),
        };
        let facts = Facts {
            customer,
            orders: &orders,
            categories: &brain.categories,
            rules: &brain.rules,
            extractor: &brain.extractor,
            knowledge: &brain.knowledge,
            intents: brain.intents.as_deref().unwrap_or_else(|| kefu_nlu::builtin::intent_model()),
            now: ctx.clock.now(),
            people: PeopleNow::Answering,
        };
        let before = state.clone();
        let mut turn = flow::respond_to(&facts, &mut state, input);
        if turn.handoff.is_some() {
            // Who is at the desk is read only when a turn hands off (most
            // turns do not); with nobody there the same turn is decided
            // again — the flow is pure — to say so instead of "请稍候".
            let online = ctx.store.someone_online(at.shop).await?;
            let people = PeopleNow::of(online, &brain.rules.service_hours, facts.now);
            if people != PeopleNow::Answering {
                state = before;
                turn = flow::respond_to(&Facts { people, ..facts }, &mut state, input);
            }
        }
        if let Some(llm) = &self.llm {
            let text = match input {
                Input::Text(text) => text.to_owned(),
                Input::OrderCard(no) => format!("[订单卡片] {no}"),
                Input::ProductCard(sku) => format!("[商品卡片] {sku}"),
                Input::Image(_) => "[图片]".to_owned(),
            };
            self.with_llm(llm, ctx, &brain, at.conversation, &text, &mut turn).await;
        }
        Ok(Thought { turn, orders, state, base_version: memory.version })
    }

    async fn order_of(&self, ctx: &Ctx, customer: &Customer, no: &str) -> Result<Option<OrderFacts>, StoreError> {
        let Ok(no) = OrderNo::parse(no) else { return Ok(None) };
        match ctx.store.order_by_no(customer.shop_id, &no).await? {
            Some(order) if order.customer_id == customer.id => {
                let shipments = ctx.store.shipments_of_order(order.id).await?;
                Ok(Some(OrderFacts { order, shipments, open_requests: Vec::new() }))
            }
            _ => Ok(None),
        }
    }

    async fn try_answer(
        &self,
        ctx: &Ctx,
        customer: &Customer,
        conversation: &Conversation,
        input: Input<'_>,
    ) -> Result<(), StoreError> {
        let at = Target { conversation: conversation.id, shop: conversation.shop_id, while_queued: false };
        if let Some(w) = self.turn_on_fresh_memory(ctx, customer, at, input).await? {
            publish_turn(ctx, w).await;
        }
        Ok(())
    }

    /// Reads, decides and writes a turn for a message already stored. When
    /// another node's turn for the same conversation writes first (the
    /// store's `stale_turn`), it decides again on what that turn left, a
    /// few times at most.
    async fn turn_on_fresh_memory(
        &self,
        ctx: &Ctx,
        customer: &Customer,
        at: Target,
        input: Input<'_>,
    ) -> Result<Option<BotTurnWritten>, StoreError> {
        let mut tries = 0;
        loop {
            let thought = self.think(ctx, customer, at, input).await?;
            let written = ctx.store.apply_bot_turn(self.to_write(ctx, at, &thought, &thought.turn)).await;
            match written {
                Err(StoreError::Conflict("stale_turn")) if tries < STALE_RETRIES => tries += 1,
                written => return self.settle(ctx, at, &thought, written).await,
            }
        }
    }

    /// What became of a turn the store was asked to write: written; or, when
    /// the order moved on meanwhile, an apology and a hand-off written
    /// instead; or nothing to tell when people took the conversation (the
    /// bot steps back) or the message was a retry already answered.
    async fn settle(
        &self,
        ctx: &Ctx,
        at: Target,
        thought: &Thought,
        written: Result<BotTurnWritten, StoreError>,
    ) -> Result<Option<BotTurnWritten>, StoreError> {
        let written = match written {
            // The order moved on, or someone filed the same request meanwhile.
            Err(StoreError::Conflict("order_state" | "request_open")) => {
                self.write_order_changed(ctx, at, thought).await
            }
            other => other,
        };
        match written {
            Ok(w) => Ok(Some(w)),
            Err(StoreError::Conflict("not_bot" | "duplicate")) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The order moved on (shipped, cancelled) between reading and writing:
    /// instead of the turn, an apology and a hand-off.
    async fn write_order_changed(
        &self,
        ctx: &Ctx,
        at: Target,
        thought: &Thought,
    ) -> Result<BotTurnWritten, StoreError> {
        let turn = &thought.turn;
        let mut fallback = turn.clone();
        fallback.actions.clear();
        // Worded to hold whoever is at the desk: no "请稍候" (nobody may be online).
        fallback.replies = vec!["抱歉，订单状态刚刚发生了变化，已为您转人工核实，客服会尽快回复您。".into()];
        fallback.handoff = Some(flow::Handoff {
            reason: flow::HandoffReason::NeedsHuman,
            priority: 1,
            summary: format!("机器人操作时订单状态已变化，请人工核实；{}", turn.audit.outcome),
        });
        fallback.audit.outcome = "handoff:order_changed".into();
        // Nothing was written, so the memory's version is still the one read.
        ctx.store.apply_bot_turn(self.to_write(ctx, at, thought, &fallback)).await
    }

    /// The model's rephrasing of a knowledge-base answer and its hand-off
    /// summary, where it gives one; the bot's own text otherwise.
    async fn with_llm(
        &self,
        llm: &Llm,
        ctx: &Ctx,
        brain: &ShopBrain,
        conversation: ConversationId,
        text: &str,
        turn: &mut Turn,
    ) {
        if let Some(id) = turn.answered_from
            && let Some(entry) = brain.knowledge.get(id)
            && let Some(reply) = llm.rephrase(&brain.name, text, &entry.question, &entry.answer).await
            && let Some(first) = turn.replies.first_mut()
        {
            *first = reply;
        }
        if let Some(handoff) = &mut turn.handoff {
            let history = ctx.store.messages_before(conversation, i64::MAX, 20).await.unwrap_or_default();
            let mut transcript: Vec<String> = history
                .iter()
                .filter(|m| m.visible_to_customer())
                .map(|m| format!("{}：{}", speaker(m.sender), m.text))
                .collect();
            if !history.iter().any(|m| m.text == text && matches!(m.sender, Sender::Customer(_))) {
                transcript.push(format!("客户：{text}"));
            }
            if let Some(summary) = llm.summarize(&transcript.join("\n"), &handoff.summary).await {
                handoff.summary = format!("{}\n【AI 摘要】{summary}", handoff.summary);
            }
        }
    }

    fn to_write(&self, ctx: &Ctx, at: Target, thought: &Thought, turn: &Turn) -> BotTurnWrite {
        let Thought { orders, state, base_version, .. } = thought;
        let now = ctx.clock.now();
        let message = |sender: Sender, kind: MessageKind, text: &str| {
            MessageText::parse(text).ok().map(|text| NewMessage {
                id: MessageId::from_uuid(ctx.ids.new_uuid()),
                conversation_id: at.conversation,
                sender,
                kind,
                text,
                client_msg_id: None,
                at: now,
            })
        };
        let mut messages: Vec<NewMessage> =
            turn.replies.iter().filter_map(|r| message(Sender::Bot, MessageKind::Text, r)).collect();
        if let Some(h) = &turn.handoff {
            messages.extend(message(Sender::System, MessageKind::Note, &format!("【机器人转人工】{}", h.summary)));
        }
        let order_id = |no: &str| orders.iter().find(|o| o.order.order_no.as_str() == no).map(|o| o.order.id);
        let mut requests = Vec::new();
        let mut order_changes = Vec::new();
        for action in &turn.actions {
            if let Some(order) = order_id(action_order_no(action)) {
                let (request, change) = request_of(action, order, ctx.ids.new_uuid());
                requests.push(request);
                order_changes.extend(change);
            }
        }
        BotTurnWrite {
            conversation: at.conversation,
            shop: at.shop,
            state: serde_json::to_string(state).unwrap_or_default(),
            base_version: *base_version,
            messages,
            audit: BotAudit {
                intent: turn.audit.intent.clone(),
                confidence: turn.audit.confidence,
                emotion: turn.audit.emotion.to_owned(),
                order_no: turn.audit.order_no.clone(),
                outcome: turn.audit.outcome.clone(),
            },
            requests,
            order_changes,
            handoff_priority: turn.handoff.as_ref().map(|h| h.priority),
            at: now,
            while_queued: at.while_queued,
        }
    }
}

/// A turn decided and not yet written: the turn, the orders and bot memory
/// it was decided on (memory as it will be after it), and the memory's
/// version when read.
struct Thought {
    turn: Turn,
    orders: Vec<OrderFacts>,
    state: BotState,
    base_version: i64,
}

/// How often a turn is decided again after other nodes' turns wrote first.
const STALE_RETRIES: usize = 3;

/// A shopper's message as stored, and whether the bot has answered it.
pub struct Said {
    pub appended: Appended,
    /// False: the caller hands the message to [`Bot::answer`] once the shopper has their acknowledgement.
    pub answered: bool,
    /// The conversation's status after the message, and after the bot's turn when it answered.
    pub status: ConversationStatus,
}

impl Said {
    /// Stored without the bot's answer.
    pub fn unanswered(appended: Appended) -> Said {
        let status = appended.conversation.status;
        Said { appended, answered: false, status }
    }
}

/// The conversation a turn is written to.
#[derive(Clone, Copy)]
struct Target {
    conversation: ConversationId,
    shop: ShopId,
    /// The shopper waits for people: the turn is written only if it just answers.
    while_queued: bool,
}

/// Tells everyone about a written turn: its replies, the requests it filed,
/// and a hand-off to the queue (routed at once when auto-assign is on).
async fn publish_turn(ctx: &Ctx, written: BotTurnWritten) {
    for appended in &written.appended {
        desk::publish_appended(ctx, appended);
    }
    let c = &written.conversation;
    for r in &written.filed {
        ctx.bus.publish(Event::request_filed(c.shop_id, c.id, r));
    }
    if written.conversation.status != ConversationStatus::Bot {
        ctx.bus.publish(Event::ConversationChanged(written.conversation.clone()));
        desk::route(ctx, written.conversation).await;
    }
}

/// The server's [`RoutingPolicy`]: each shop's rules over the deployment's
/// routing (kefu.toml).
pub struct ShopRouting {
    pub deployment: Arc<dyn RoutingPolicy>,
    pub bot: Arc<Bot>,
}

#[async_trait::async_trait]
impl RoutingPolicy for ShopRouting {
    async fn of_shop(&self, ctx: &Ctx, shop: ShopId) -> Routing {
        let deployment = self.deployment.of_shop(ctx, shop).await;
        self.bot.routing(ctx, shop, deployment).await
    }
}

/// A conversation's turn, held until dropped (also when the task holding it
/// is cancelled); the last one out removes the conversation's lock.
struct TurnGuard<'a> {
    turns: &'a Mutex<HashMap<ConversationId, Arc<tokio::sync::Mutex<()>>>>,
    conversation: ConversationId,
    lock: Arc<tokio::sync::Mutex<()>>,
    held: Option<tokio::sync::OwnedMutexGuard<()>>,
}

impl Drop for TurnGuard<'_> {
    fn drop(&mut self) {
        // Given back first: the held guard is one more owner of the lock.
        self.held.take();
        let mut turns = self.turns.lock().unwrap_or_else(|e| e.into_inner());
        // Ours plus the map's: nobody else is waiting, the entry can go.
        if Arc::strong_count(&self.lock) <= 2 {
            turns.remove(&self.conversation);
        }
    }
}

/// A shop's place in `Bot::rebuilding`, given back when dropped (also when
/// the turn that holds it is cancelled), so a failed rebuild is retried.
struct Rebuilding<'a> {
    set: &'a Mutex<std::collections::HashSet<ShopId>>,
    shop: ShopId,
}

impl<'a> Rebuilding<'a> {
    fn claim(set: &'a Mutex<std::collections::HashSet<ShopId>>, shop: ShopId) -> Option<Self> {
        let claimed = set.lock().unwrap_or_else(|e| e.into_inner()).insert(shop);
        // Built only when claimed: a guard made and dropped here would give back another turn's claim.
        claimed.then(|| Rebuilding { set, shop })
    }
}

impl Drop for Rebuilding<'_> {
    fn drop(&mut self) {
        self.set.lock().unwrap_or_else(|e| e.into_inner()).remove(&self.shop);
    }
}

fn speaker(sender: Sender) -> &'static str {
    match sender {
        Sender::Customer(_) => "客户",
        Sender::Agent(_) => "客服",
        Sender::Bot => "机器人",
        Sender::System => "系统",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kefu_core::clock::{Clock, SystemClock};
    use kefu_core::event::InProcessBus;
    use kefu_core::id::UuidV7;
    use kefu_core::shop::{Shop, ShopSecret, ShopSlug};

    /// A desk on a fresh SQLite store in its own directory, with one shop.
    async fn desk_with_shop(name: &str) -> (Ctx, Shop, std::path::PathBuf) {
        let dir = std::env::temp_dir().join(format!("kefu-{name}-{}", uuid::Uuid::now_v7().simple()));
        let backend =
            kefu_store::Backend::Sqlite { path: dir.join("kefu.db"), durability: kefu_store::Durability::Normal };
        let store = kefu_store::open(&backend).await.expect("store");
        let shop = Shop {
            id: ShopId::from_uuid(uuid::Uuid::now_v7()),
            slug: ShopSlug::parse(name).expect("slug"),
            name: "店".into(),
            secret: ShopSecret::new("s".into()),
            created_at: SystemClock.now(),
        };
        store.create_shop(&shop).await.expect("shop");
        let ctx = Ctx {
            store,
            bus: Arc::new(InProcessBus::new()),
            clock: Arc::new(SystemClock),
            ids: Arc::new(UuidV7),
            routing: Arc::new(kefu_core::routing::Routing::PULL),
            bot: true,
            uploads: kefu_core::attachment::Quota::default(),
        };
        (ctx, shop, dir)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_turn_another_node_wrote_first_is_decided_again_on_what_it_left() {
        let (ctx, shop, dir) = desk_with_shop("two-nodes").await;
        let customer = Customer {
            id: kefu_core::id::CustomerId::from_uuid(uuid::Uuid::now_v7()),
            shop_id: shop.id,
            external_id: Some("c1".into()),
            nickname: "小王".into(),
            tier: kefu_core::customer::Tier::Normal,
            tags: vec![],
            phone: None,
            lifetime_spend: kefu_core::money::Fen(0),
            complaint_count: 0,
            created_at: SystemClock.now(),
        };
        ctx.store.upsert_customers(std::slice::from_ref(&customer)).await.expect("customer");
        let text = |t: &str| MessageText::parse(t).expect("text");
        let said = |t: &str| CustomerContent::text(text(t));
        let opened = desk::customer_send(&ctx, &customer, None, said("你好"), None).await.expect("opened");
        assert_eq!(opened.conversation.status, ConversationStatus::Bot);
        let at = Target { conversation: opened.conversation.id, shop: shop.id, while_queued: false };
        // Two nodes: each its own bot, with its own per-conversation turn locks.
        let (node_a, node_b) =
            (Bot::new(HashMap::new(), HashMap::new(), None), Bot::new(HashMap::new(), HashMap::new(), None));

        // Node B reads and decides; meanwhile node A answers another message of the same conversation.
        let thought = node_b.think(&ctx, &customer, at, Input::Text("谢谢")).await.expect("thought");
        assert_eq!(thought.base_version, 0);
        let first = node_a.customer_send(&ctx, &customer, at.conversation, said("在吗"), None).await.expect("a");
        assert!(first.answered);
        let message = desk::new_message(
            &ctx,
            at.conversation,
            Sender::Customer(customer.id),
            MessageKind::Text,
            text("谢谢"),
            None,
        );
        let second = node_b.write_with_answer(&ctx, &customer, at, message, thought).await.expect("b");
        assert!(second.answered);

        // Both turns are written, one after the other: B's was decided again on A's memory.
        let (memory, _) = ctx.store.bot_context(at.conversation, customer.id, 0).await.expect("memory");
        assert_eq!(memory.version, 2);
        let audit = ctx.store.bot_audit(shop.id, kefu_core::clock::Timestamp(0), 10).await.expect("audit");
        assert_eq!(audit.len(), 2, "{audit:?}");
        let messages = ctx.store.messages_after(at.conversation, 0, 100).await.expect("messages");
        let senders: Vec<bool> = messages.iter().map(|m| matches!(m.sender, Sender::Customer(_))).collect();
        let said: Vec<&str> =
            messages.iter().filter(|m| matches!(m.sender, Sender::Customer(_))).map(|m| m.text.as_str()).collect();
        assert_eq!(said, ["你好", "在吗", "谢谢"]);
        assert!(!senders.last().expect("last"), "the last message is B's answer, written after B's message");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_stale_brain_is_rebuilt_by_one_turn_while_the_others_use_it() {
        let (ctx, shop, dir) = desk_with_shop("brain-shop").await;
        let mut bot = Bot::new(HashMap::new(), HashMap::new(), None);
        // Every brain is stale at once.
        bot.brain_ttl = Duration::ZERO;
        let first = bot.brain(&ctx, shop.id).await.expect("first");

        // While one turn holds the rebuild, the others go on with the stale brain.
        let held = Rebuilding::claim(&bot.rebuilding, shop.id).expect("claim");
        assert!(Rebuilding::claim(&bot.rebuilding, shop.id).is_none(), "one claim per shop");
        for _ in 0..16 {
            let brain = bot.brain(&ctx, shop.id).await.expect("brain");
            assert!(Arc::ptr_eq(&brain, &first), "the old brain meanwhile: no rebuild while one is under way");
        }
        drop(held);
        // Given back: the next turn rebuilds, and gives the claim back in turn.
        let fresh = bot.brain(&ctx, shop.id).await.expect("fresh");
        assert!(!Arc::ptr_eq(&fresh, &first), "rebuilt once the claim is free");
        assert!(bot.rebuilding.lock().expect("lock").is_empty(), "the claim is given back");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
