//! The WebSocket protocol (v1), documented in `docs/protocol.md`.
//!
//! One task per connection reads frames, forwards bus events and writes
//! replies. A bad frame is answered with an `error` frame carrying a stable
//! code; the connection stays up. Every message of a conversation reaches a
//! resumed connection exactly once and in `seq` order: the connection
//! remembers the last `seq` it delivered per conversation, skips repeats and
//! fills gaps from the store.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use axum::extract::ws::{CloseFrame, Message as WsMessage, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::response::Response;
use futures_util::SinkExt;
use kefu_core::agent::Agent;
use kefu_core::conversation::{
    ClientMsgId, Conversation, ConversationStatus, Message, MessageKind, MessageText, Sender,
};
use kefu_core::customer::Customer;
use kefu_core::desk::{self, DeskError};
use kefu_core::event::{Delivery, Event, Inbox, Mailbox, Subscription, Topic};
use kefu_core::id::ConversationId;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::SharedState;
use crate::api::{agent_from_cookie, customer_from_token};
use crate::bot::Said;
use crate::dto::{ConversationDto, CustomerConversationDto, MessageDto, SendKind};
use crate::error::{ApiError, Code};

pub const PROTOCOL_VERSION: u64 = 1;
/// Tungstenite's own hard limit; frames between our configured limit and
/// this are read and refused politely, larger ones end the connection.
const HARD_LIMIT: usize = 1 << 20;
const MAILBOX: usize = 1024;
/// Tungstenite allocates its read buffer eagerly (128 KiB by default); chat
/// frames are small and most sockets idle, so 2 KiB keeps an idle socket cheap
/// (a larger frame is read in more pieces). 4 KiB measured 15.5 KiB of RSS per
/// idle socket, 2 KiB 13.4 (S1's limit is 16).
const READ_BUFFER: usize = 2 * 1024;
/// Frames are queued and written together when the connection's task has
/// nothing more at hand (see `run`): an ack, the shopper's own message and
/// the bot's answer leave in one write instead of three. A queue over this
/// size is written out at once, so a long backlog never piles up in memory.
const WRITE_BUFFER: usize = 16 * 1024;
/// Deliveries taken from the inbox in one go before the socket is flushed
/// and the client's frames get their turn again.
const DRAIN: usize = 64;
const HELLO_TIMEOUT: Duration = Duration::from_secs(10);
/// How long after `hello` live deliveries wait for the client's first frame (see `run`).
const RESUME_GRACE: Duration = Duration::from_millis(200);
const RESUME_PAGE: u32 = 500;
/// Consecutive rate-limited frames after which a flooding client is cut off.
const FLOOD_CUTOFF: u32 = 500;

/// Agent identity from the upgrade request's cookie, if any. Checked against
/// `Origin` so another site cannot ride an agent's cookie (CSWSH).
pub struct UpgradeAuth(Option<Box<AgentConn>>);

/// An agent's connection: who, and the session to check again. Boxed, so a
/// shopper's idle socket carries one pointer for it, not an account.
pub struct AgentConn {
    agent: Agent,
    session: [u8; 32],
}

impl FromRequestParts<SharedState> for UpgradeAuth {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &SharedState) -> Result<Self, Self::Rejection> {
        let same_origin = match (parts.headers.get("origin"), parts.headers.get("host")) {
            (None, _) => true, // not a browser
            (Some(origin), Some(host)) => {
                let origin = origin.to_str().unwrap_or("");
                let host = host.to_str().unwrap_or("-");
                origin.strip_prefix("http://").or_else(|| origin.strip_prefix("https://")) == Some(host)
            }
            (Some(_), None) => false,
        };
        if !same_origin {
            return Ok(UpgradeAuth(None));
        }
        let agent = agent_from_cookie(state, parts).await.ok();
        Ok(UpgradeAuth(agent.map(|(agent, s)| Box::new(AgentConn { agent, session: s.token_hash }))))
    }
}

pub async fn upgrade(State(state): State<SharedState>, auth: UpgradeAuth, ws: WebSocketUpgrade) -> Response {
    ws.max_message_size(HARD_LIMIT)
        .max_frame_size(HARD_LIMIT)
        .read_buffer_size(READ_BUFFER)
        .write_buffer_size(WRITE_BUFFER)
        .on_upgrade(move |socket| async move {
            state.metrics.ws_connections.fetch_add(1, Ordering::Relaxed);
            state.metrics.ws_connections_total.fetch_add(1, Ordering::Relaxed);
            run(state.clone(), socket, auth.0).await;
            state.metrics.ws_connections.fetch_sub(1, Ordering::Relaxed);
        })
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum ClientFrame {
    Hello {
        v: u64,
        #[serde(default)]
        token: Option<String>,
    },
    Send {
        #[serde(default)]
        conversation_id: Option<String>,
        client_msg_id: String,
        text: String,
        #[serde(default)]
        note: bool,
        /// `order`: the text is the order number of an order card;
        /// `product`: the SKU of a product card; `image`: an uploaded attachment's id.
        #[serde(default)]
        kind: SendKind,
    },
    Resume {
        conversation_id: String,
        #[serde(default)]
        after_seq: i64,
    },
    Typing {
        conversation_id: String,
        on: bool,
    },
    Read {
        conversation_id: String,
        seq: i64,
    },
    Ping {
        #[serde(default)]
        t: Option<Value>,
    },
}

const FRAME_TYPES: [&str; 6] = ["hello", "send", "resume", "typing", "read", "ping"];

enum Who {
    Agent(Agent),
    Customer(Customer),
}

struct Conn {
    state: SharedState,
    socket: WebSocket,
    who: Option<Who>,
    mailbox: Mailbox,
    subscriptions: HashMap<Topic, Subscription>,
    /// Highest seq delivered per resumed conversation (and per shopper's
    /// open conversation, tracked from `hello`).
    delivered: HashMap<ConversationId, i64>,
    /// The shopper's open conversation's last seq at `hello`: live delivery
    /// began after it, so a later `resume` owes only what came before.
    floor: HashMap<ConversationId, i64>,
    bucket: TokenBucket,
    limited_in_a_row: u32,
    /// A shopper's open conversation as the server last told this connection.
    open_conversation: Option<ConversationId>,
    /// Whether the bot held it then: the shopper's next message goes to
    /// [`Bot::customer_send`](crate::bot::Bot::customer_send).
    bot_holds_open: bool,
}

/// A frame that could not be handled: its code and message.
struct FrameError {
    code: Code,
    message: String,
}

impl From<ApiError> for FrameError {
    fn from(e: ApiError) -> Self {
        FrameError { code: e.code, message: e.message }
    }
}

impl From<DeskError> for FrameError {
    fn from(e: DeskError) -> Self {
        ApiError::from(e).into()
    }
}

fn frame_error(code: Code, message: impl Into<String>) -> FrameError {
    FrameError { code, message: message.into() }
}

async fn run(state: SharedState, socket: WebSocket, agent: Option<Box<AgentConn>>) {
    let (agent, session) = match agent {
        Some(conn) => {
            let AgentConn { agent, session } = *conn;
            (Some(agent), Some(Box::new(session)))
        }
        None => (None, None),
    };
    // An agent's socket reads its session and account again now and then;
    // a shopper's holds no timer (idle sockets are counted in KiB).
    let mut recheck = agent.as_ref().map(|a| Box::pin(tokio::time::sleep(first_recheck(&state, a))));
    if let Some(a) = &agent
        && let Err(e) = state.ctx.store.agent_seen(a.id, state.ctx.clock.now()).await
    {
        tracing::warn!(error = %e, agent = %a.id, "recording an agent's connection failed");
    }
    let (mailbox, mut inbox) = Mailbox::new(MAILBOX);
    let bucket = TokenBucket::new(state.config.rate_burst, state.config.rate_per_second);
    let mut shutdown = state.shutting_down();
    let mut conn = Conn {
        state,
        socket,
        who: agent.map(Who::Agent),
        mailbox,
        subscriptions: HashMap::new(),
        delivered: HashMap::new(),
        floor: HashMap::new(),
        bucket,
        limited_in_a_row: 0,
        open_conversation: None,
        bot_holds_open: false,
    };
    let hello_deadline = tokio::time::sleep(HELLO_TIMEOUT);
    tokio::pin!(hello_deadline);
    let mut greeted = false;
    // Right after `hello` the bus holds its deliveries until the client's next
    // frame (at most RESUME_GRACE): a reconnecting client sends `resume` at
    // once, and its backlog must go out before newer live messages.
    let hold = tokio::time::sleep(Duration::ZERO);
    tokio::pin!(hold);
    let mut holding = false;
    loop {
        // Biased: shut down first, then hand over what the bus already
        // delivered before reading the client's next frame, so a `ping`
        // answered with `pong` proves every earlier event was written.
        tokio::select! {
            biased;
            _ = shutdown.changed() => {
                let _ = conn.socket.send(WsMessage::Close(Some(CloseFrame { code: 1001, reason: Utf8Bytes::from_static("server shutting down") }))).await;
                break;
            }
            delivery = inbox.recv(), if !holding => {
                let Some(delivery) = delivery else { break };
                if conn.on_delivery(delivery).await.is_err() { break }
            }
            frame = conn.socket.recv() => {
                let Some(Ok(frame)) = frame else { break };
                let was_greeted = greeted;
                match conn.on_frame(frame, &mut greeted).await {
                    Ok(true) => {}
                    Ok(false) | Err(_) => break,
                }
                holding = !was_greeted && greeted;
                if holding {
                    hold.as_mut().reset(tokio::time::Instant::now() + RESUME_GRACE);
                }
            }
            _ = &mut hold, if holding => holding = false,
            _ = armed(&mut recheck) => {
                let Some(session) = &session else { break };
                // Boxed: the check's state is not carried by every idle socket's task.
                if Box::pin(conn.recheck(session)).await.is_err() { break }
                if let Some(timer) = recheck.as_mut() {
                    timer.as_mut().reset(tokio::time::Instant::now() + conn.state.config.session_recheck);
                }
            }
            _ = &mut hello_deadline, if !greeted => {
                let _ = conn.send_json(json!({"type": "error", "code": Code::Unauthenticated.as_str(), "message": "no hello within 10 seconds"})).await;
                let _ = conn.socket.flush().await;
                break;
            }
        }
        // What the bus delivered meanwhile (a send's own message and the
        // bot's answer are published before its ack is queued) joins the
        // frames already queued, and they all go out in one write.
        if !holding && conn.drain(&mut inbox).await.is_err() {
            break;
        }
        if conn.socket.flush().await.is_err() {
            break;
        }
    }
}

/// What every shopper's message sends back: its ack and the message frame.
/// Written straight from these, not through a `Value` (a map of owned
/// strings built only to be printed).
#[derive(Serialize)]
struct AckFrame<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    client_msg_id: &'a str,
    conversation_id: String,
    message_id: String,
    seq: i64,
    created_at: i64,
    duplicate: bool,
}

#[derive(Serialize)]
struct MessageFrame {
    #[serde(rename = "type")]
    kind: &'static str,
    message: MessageDto,
    #[serde(skip_serializing_if = "Option::is_none")]
    conversation: Option<ConversationDto>,
}

impl Conn {
    /// Queues a frame; `run` flushes the queue before it waits again.
    async fn send_json(&mut self, v: Value) -> Result<(), axum::Error> {
        self.send_frame(&v).await
    }

    async fn send_frame(&mut self, frame: &impl Serialize) -> Result<(), axum::Error> {
        let text = serde_json::to_string(frame).map_err(axum::Error::new)?;
        self.socket.feed(WsMessage::Text(text.into())).await
    }

    /// Takes up to [`DRAIN`] deliveries that are already waiting.
    async fn drain(&mut self, inbox: &mut Inbox) -> Result<(), axum::Error> {
        for _ in 0..DRAIN {
            let Some(delivery) = inbox.try_recv() else { return Ok(()) };
            self.on_delivery(delivery).await?;
        }
        Ok(())
    }

    async fn send_error(&mut self, e: FrameError, reference: Option<&str>) -> Result<(), axum::Error> {
        self.state.metrics.error(e.code);
        let mut v = json!({"type": "error", "code": e.code.as_str(), "message": e.message});
        if let Some(r) = reference {
            v["ref"] = json!(r);
        }
        self.send_json(v).await
    }

    /// Handles one incoming frame; `Ok(false)` ends the connection.
    async fn on_frame(&mut self, frame: WsMessage, greeted: &mut bool) -> Result<bool, axum::Error> {
        let text = match frame {
            WsMessage::Text(t) => t,
            WsMessage::Binary(_) => {
                self.send_error(frame_error(Code::MalformedFrame, "frames are JSON text"), None).await?;
                return Ok(true);
            }
            WsMessage::Close(_) => return Ok(false),
            WsMessage::Ping(_) | WsMessage::Pong(_) => return Ok(true),
        };
        self.state.metrics.ws_frames_received_total.fetch_add(1, Ordering::Relaxed);
        if text.len() > self.state.config.max_frame_bytes {
            let max = self.state.config.max_frame_bytes;
            self.send_error(frame_error(Code::FrameTooLarge, format!("frames are limited to {max} bytes")), None)
                .await?;
            return Ok(true);
        }
        if !self.bucket.take(Instant::now()) {
            self.limited_in_a_row += 1;
            if self.limited_in_a_row >= FLOOD_CUTOFF {
                let _ = self
                    .socket
                    .send(WsMessage::Close(Some(CloseFrame { code: 1008, reason: Utf8Bytes::from_static("flood") })))
                    .await;
                return Ok(false);
            }
            // Tell the client once per burst, not once per dropped frame.
            if self.limited_in_a_row == 1 {
                self.send_error(frame_error(Code::RateLimited, "too many frames; slow down"), None).await?;
            }
            return Ok(true);
        }
        self.limited_in_a_row = 0;
        let value: Value = match serde_json::from_str(&text) {
            Ok(v) => v,
            Err(e) => {
                self.send_error(frame_error(Code::MalformedFrame, format!("not JSON: {e}")), None).await?;
                return Ok(true);
            }
        };
        let kind = value.get("type").and_then(Value::as_str).unwrap_or("").to_owned();
        let reference = value.get("client_msg_id").and_then(Value::as_str).map(str::to_owned);
        if !FRAME_TYPES.contains(&kind.as_str()) {
            self.send_error(
                frame_error(Code::UnknownFrameType, format!("unknown frame type {kind:?}")),
                reference.as_deref(),
            )
            .await?;
            return Ok(true);
        }
        let frame: ClientFrame = match serde_json::from_value(value) {
            Ok(f) => f,
            Err(e) => {
                self.send_error(
                    frame_error(Code::MalformedFrame, format!("bad {kind} frame: {e}")),
                    reference.as_deref(),
                )
                .await?;
                return Ok(true);
            }
        };
        let result = match frame {
            ClientFrame::Hello { v, token } => {
                let r = self.hello(v, token).await;
                *greeted |= r.is_ok();
                r
            }
            _ if !*greeted => Err(frame_error(Code::Unauthenticated, "send hello first")),
            ClientFrame::Send { conversation_id, client_msg_id, text, note, kind } => {
                // Boxed: the send path (store, bot, cards) is the largest state
                // of a connection; inline, every idle socket would reserve it.
                Box::pin(self.send_message(conversation_id, client_msg_id, text, kind, note)).await
            }
            ClientFrame::Resume { conversation_id, after_seq } => self.resume(&conversation_id, after_seq).await,
            ClientFrame::Typing { conversation_id, on } => self.typing(&conversation_id, on).await,
            ClientFrame::Read { conversation_id, seq } => self.read(&conversation_id, seq).await,
            ClientFrame::Ping { t } => {
                self.send_json(json!({"type": "pong", "t": t})).await.map_err(|_| frame_error(Code::Internal, "socket"))
            }
        };
        if let Err(e) = result {
            self.send_error(e, reference.as_deref()).await?;
        }
        Ok(true)
    }

    async fn hello(&mut self, v: u64, token: Option<String>) -> Result<(), FrameError> {
        if v != PROTOCOL_VERSION {
            return Err(frame_error(
                Code::UnsupportedVersion,
                format!("this server speaks protocol v{PROTOCOL_VERSION}"),
            ));
        }
        if let Some(token) = token {
            let auth = customer_from_token(&self.state, &token).await?;
            self.who = Some(Who::Customer(auth.customer));
        }
        let mut topics = Vec::new();
        let welcome = match &self.who {
            None => return Err(frame_error(Code::Unauthenticated, "log in (cookie) or pass a chat token")),
            Some(Who::Agent(agent)) => {
                let shops: Vec<_> = if agent.role.administers() {
                    self.state.ctx.store.shops().await.map_err(ApiError::from)?.into_iter().map(|s| s.id).collect()
                } else {
                    agent.shops.clone()
                };
                topics.push(Topic::Agent(agent.id));
                topics.extend(shops.iter().map(|s| Topic::Shop(*s)));
                json!({"type": "welcome", "v": PROTOCOL_VERSION, "role": "agent", "agent_id": agent.id.to_string()})
            }
            Some(Who::Customer(customer)) => {
                let open =
                    self.state.ctx.store.open_conversation_of_customer(customer.id).await.map_err(ApiError::from)?;
                topics.extend(open.as_ref().map(|c| Topic::Conversation(c.id)));
                self.open_conversation = open.as_ref().map(|c| c.id);
                self.bot_holds_open = open.as_ref().is_some_and(|c| c.status == ConversationStatus::Bot);
                json!({
                    "type": "welcome", "v": PROTOCOL_VERSION, "role": "customer",
                    "customer_id": customer.id.to_string(),
                    "conversation": open.as_ref().map(CustomerConversationDto::from),
                })
            }
        };
        for topic in topics {
            self.subscribe(topic);
        }
        if let Some(id) = self.open_conversation.filter(|_| self.for_customer()) {
            // Read after subscribing: whatever is newer arrives live or is
            // filled from the store, and a `resume` owes only what is older.
            let last = self.state.ctx.store.conversation(id).await.map_err(ApiError::from)?.map_or(0, |c| c.last_seq);
            self.delivered.insert(id, last);
            self.floor.insert(id, last);
        }
        self.send_json(welcome).await.map_err(|_| frame_error(Code::Internal, "socket"))
    }

    fn subscribe(&mut self, topic: Topic) {
        if !self.subscriptions.contains_key(&topic) {
            let sub = self.state.ctx.bus.subscribe(topic, &self.mailbox);
            self.subscriptions.insert(topic, sub);
        }
    }

    fn conversation_id(text: &str) -> Result<ConversationId, FrameError> {
        ConversationId::parse(text).map_err(|_| frame_error(Code::NotFound, "conversation not found"))
    }

    async fn send_message(
        &mut self,
        conversation: Option<String>,
        client_msg_id: String,
        text: String,
        kind: SendKind,
        note: bool,
    ) -> Result<(), FrameError> {
        let kind = kind.message_kind(note).map_err(|e| frame_error(Code::InvalidInput, e))?;
        let client = ClientMsgId::parse(&client_msg_id).map_err(|e| frame_error(Code::InvalidInput, e.to_string()))?;
        let text = MessageText::parse(&text).map_err(|e| frame_error(Code::InvalidInput, e.to_string()))?;
        let ctx = &self.state.ctx;
        let (appended, content) = match &self.who {
            Some(Who::Customer(customer)) => {
                if kind == MessageKind::Note {
                    return Err(frame_error(Code::Forbidden, "customers cannot write notes"));
                }
                if let Some(id) = conversation.as_deref() {
                    // A customer may only name their own conversation.
                    desk::open_for_customer(ctx, customer, Self::conversation_id(id)?).await?;
                }
                let content = desk::customer_content(ctx, customer, kind, text).await?;
                let bot = &self.state.bot;
                let said = match self.open_conversation {
                    Some(open) if self.bot_holds_open && bot.answers_with_the_message() => {
                        bot.customer_send(ctx, customer, open, content.clone(), Some(client)).await?
                    }
                    known => Said::unanswered(
                        desk::customer_send(ctx, customer, known, content.clone(), Some(client)).await?,
                    ),
                };
                (said, Some(content))
            }
            Some(Who::Agent(agent)) => {
                let id = conversation
                    .as_deref()
                    .ok_or_else(|| frame_error(Code::InvalidInput, "conversation_id is required"))?;
                let appended =
                    desk::agent_send(ctx, agent, Self::conversation_id(id)?, kind, text, Some(client)).await?;
                (Said::unanswered(appended), None)
            }
            None => return Err(frame_error(Code::Unauthenticated, "send hello first")),
        };
        let Said { appended, answered, status } = appended;
        let m = if appended.duplicate {
            &self.state.metrics.messages_duplicate_total
        } else {
            &self.state.metrics.messages_stored_total
        };
        m.fetch_add(1, Ordering::Relaxed);
        let conversation_id = appended.message.conversation_id;
        if self.for_customer() {
            self.open_conversation = Some(conversation_id);
            self.bot_holds_open = status == ConversationStatus::Bot;
        }
        let newly_joined =
            self.for_customer() && !self.subscriptions.contains_key(&Topic::Conversation(conversation_id));
        self.send_frame(&AckFrame {
            kind: "ack",
            client_msg_id: &client_msg_id,
            conversation_id: appended.message.conversation_id.to_string(),
            message_id: appended.message.id.to_string(),
            seq: appended.message.seq,
            created_at: appended.message.created_at.millis(),
            duplicate: appended.duplicate,
        })
        .await
        .map_err(|_| frame_error(Code::Internal, "socket"))?;
        if newly_joined {
            // The conversation was opened by this send, so its first events
            // were published before we listened: deliver from the store.
            self.subscribe(Topic::Conversation(conversation_id));
            self.delivered.insert(conversation_id, 0);
            self.fill_gap(conversation_id).await?;
        }
        if let Some(Who::Customer(customer)) = &self.who
            && let Some(content) = content
            && !appended.duplicate
            && !answered
        {
            // The shopper already has their ack (flushed now: the bot may
            // take a while); its replies arrive through the bus. A message to
            // people is not flushed here: its ack leaves with what the bus
            // delivered meanwhile, in `run`'s one write.
            let (ctx, bot, conversation) = (&self.state.ctx, &self.state.bot, &appended.conversation);
            match conversation.status {
                ConversationStatus::Bot => {
                    self.socket.flush().await.map_err(|_| frame_error(Code::Internal, "socket"))?;
                    bot.answer(ctx, customer, conversation, &content).await;
                }
                // Waiting for people and nobody has them yet: the bot may still answer.
                ConversationStatus::Queued if ctx.bot && conversation.waits_for_people() => {
                    self.socket.flush().await.map_err(|_| frame_error(Code::Internal, "socket"))?;
                    bot.answer_while_queued(ctx, customer, conversation, &content).await;
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn for_customer(&self) -> bool {
        matches!(self.who, Some(Who::Customer(_)))
    }

    /// Sends every message after `after_seq`, then `resumed`, and from then on
    /// delivers this conversation exactly once and in order.
    async fn resume(&mut self, id: &str, after_seq: i64) -> Result<(), FrameError> {
        let id = Self::conversation_id(id)?;
        // The shopper's own open conversation was read from the store for
        // them (at hello or their send); any other must be checked.
        let known_own = self.for_customer() && self.open_conversation == Some(id);
        if !known_own {
            check_access(&self.state, &self.who, id).await?;
        }
        // Subscribe before reading the store, so nothing falls between.
        self.subscribe(if self.for_customer() { Topic::Conversation(id) } else { Topic::Watch(id) });
        match self.floor.remove(&id) {
            Some(floor) => {
                // Tracked since `hello`: send what came before it, never again
                // what came live. Everything after `floor` was published after
                // this connection subscribed, so it arrives live (or, if the
                // bus lagged, by the refill that follows): no gap to fill here.
                self.deliver_between(id, after_seq.max(0), floor).await?;
                let last = self.delivered.entry(id).or_insert(0);
                *last = (*last).max(after_seq);
            }
            None => {
                self.delivered.insert(id, after_seq.max(0));
                self.fill_gap(id).await?;
            }
        }
        let last = self.delivered.get(&id).copied().unwrap_or(0);
        self.send_json(json!({"type": "resumed", "conversation_id": id.to_string(), "last_seq": last}))
            .await
            .map_err(|_| frame_error(Code::Internal, "socket"))
    }

    /// Delivers from the store the messages with `after < seq <= up_to`.
    async fn deliver_between(&mut self, id: ConversationId, mut after: i64, up_to: i64) -> Result<(), FrameError> {
        while after < up_to {
            let page = self.state.ctx.store.messages_after(id, after, RESUME_PAGE).await.map_err(ApiError::from)?;
            let Some(last) = page.last().map(|m| m.seq) else { return Ok(()) };
            for m in page.iter().filter(|m| m.seq <= up_to) {
                self.deliver_message(m, None).await?;
            }
            after = last;
        }
        Ok(())
    }

    /// Delivers from the store everything after the last delivered seq.
    async fn fill_gap(&mut self, id: ConversationId) -> Result<(), FrameError> {
        loop {
            let after = self.delivered.get(&id).copied().unwrap_or(0);
            let page = self.state.ctx.store.messages_after(id, after, RESUME_PAGE).await.map_err(ApiError::from)?;
            let n = page.len();
            for m in &page {
                self.deliver_message(m, None).await?;
            }
            if n < RESUME_PAGE as usize {
                return Ok(());
            }
        }
    }

    async fn deliver_message(&mut self, m: &Message, conversation: Option<&Conversation>) -> Result<(), FrameError> {
        if let Some(last) = self.delivered.get_mut(&m.conversation_id) {
            *last = (*last).max(m.seq);
        }
        let for_customer = self.for_customer();
        if for_customer && !m.visible_to_customer() {
            return Ok(());
        }
        let frame = MessageFrame {
            kind: "message",
            message: MessageDto::new(m, for_customer),
            conversation: conversation.filter(|_| !for_customer).map(ConversationDto::from),
        };
        self.send_frame(&frame).await.map_err(|_| frame_error(Code::Internal, "socket"))
    }

    async fn typing(&mut self, id: &str, on: bool) -> Result<(), FrameError> {
        let conversation = accessible_conversation(&self.state, &self.who, Self::conversation_id(id)?).await?;
        let id = conversation.id;
        let who = match &self.who {
            Some(Who::Customer(c)) => Sender::Customer(c.id),
            Some(Who::Agent(a)) => Sender::Agent(a.id),
            None => return Err(frame_error(Code::Unauthenticated, "send hello first")),
        };
        self.state.ctx.bus.publish(Event::Typing {
            conversation: id,
            shop: conversation.shop_id,
            assigned: conversation.assigned_agent,
            who,
            on,
        });
        Ok(())
    }

    async fn read(&mut self, id: &str, seq: i64) -> Result<(), FrameError> {
        let conversation = accessible_conversation(&self.state, &self.who, Self::conversation_id(id)?).await?;
        let id = conversation.id;
        let seq = seq.clamp(0, conversation.last_seq);
        self.state.ctx.bus.publish(Event::Read {
            conversation: id,
            shop: conversation.shop_id,
            assigned: conversation.assigned_agent,
            by_customer: self.for_customer(),
            seq,
        });
        Ok(())
    }

    async fn on_delivery(&mut self, delivery: Delivery) -> Result<(), axum::Error> {
        let event = match delivery {
            Delivery::Event(e) => e,
            Delivery::Lagged => {
                // Missed events: resynchronise every resumed conversation.
                let ids: Vec<ConversationId> = self.delivered.keys().copied().collect();
                for id in ids {
                    if self.fill_gap(id).await.is_err() {
                        return Ok(());
                    }
                }
                return self.send_json(json!({"type": "lagged"})).await;
            }
        };
        match &*event {
            Event::MessageAppended { message: m, conversation } => {
                match self.delivered.get(&m.conversation_id).copied() {
                    Some(last) if m.seq <= last => Ok(()),
                    Some(last) if m.seq > last + 1 => self.fill_gap(m.conversation_id).await.or(Ok(())),
                    _ => self.deliver_message(m, Some(conversation)).await.or(Ok(())),
                }
            }
            Event::ConversationChanged(c) => {
                if self.for_customer() && self.open_conversation == Some(c.id) {
                    // The bot handed it to people (or it closed): the next message goes the usual way.
                    self.bot_holds_open = c.status == ConversationStatus::Bot;
                }
                let v = match &self.who {
                    Some(Who::Customer(me)) if c.customer_id == me.id => {
                        json!({"type": "conversation", "conversation": CustomerConversationDto::from(c)})
                    }
                    Some(Who::Agent(a)) if a.can_access_shop(c.shop_id) => {
                        json!({"type": "conversation", "conversation": ConversationDto::from(c)})
                    }
                    _ => return Ok(()),
                };
                self.send_json(v).await
            }
            Event::Typing { conversation, who, on, .. } => {
                let from = match (who, &self.who) {
                    (Sender::Customer(c), Some(Who::Customer(me))) if *c == me.id => return Ok(()),
                    (Sender::Agent(a), Some(Who::Agent(me))) if *a == me.id => return Ok(()),
                    (s, _) => s.kind(),
                };
                self.send_json(
                    json!({"type": "typing", "conversation_id": conversation.to_string(), "from": from, "on": on}),
                )
                .await
            }
            Event::Read { conversation, by_customer, seq, .. } => {
                // Each side hears when the other side has read.
                if *by_customer == self.for_customer() {
                    return Ok(());
                }
                let by = if *by_customer { "customer" } else { "agent" };
                self.send_json(
                    json!({"type": "read", "conversation_id": conversation.to_string(), "by": by, "seq": seq}),
                )
                .await
            }
            Event::AgentPresence { agent, status, by, missed_offer, .. } => {
                if self.for_customer() {
                    return Ok(());
                }
                let mut frame = json!({"type": "presence", "agent_id": agent.to_string(), "status": status.as_str()});
                if let Some(by) = by {
                    frame["by"] = json!(by.to_string());
                }
                if *missed_offer {
                    frame["missed_offer"] = json!(true);
                }
                self.send_json(frame).await
            }
            Event::AccountChanged { agent, signed_out } => {
                let Some(Who::Agent(me)) = &self.who else { return Ok(()) };
                if me.id != *agent {
                    return Ok(());
                }
                Err(self.end_for_account(*signed_out).await)
            }
            Event::RequestChanged { shop, id, order, conversation, status, needs_review } => {
                if self.for_customer() {
                    return Ok(());
                }
                self.send_json(json!({
                    "type": "request",
                    "shop_id": shop.to_string(),
                    "id": id.to_string(),
                    "order_id": order.to_string(),
                    "conversation_id": conversation.map(|c| c.to_string()),
                    "status": status.as_str(),
                    "needs_review": needs_review,
                }))
                .await
            }
        }
    }
}

impl Conn {
    /// Ends an agent's connection because their account changed: signed out
    /// (told why, with `session_revoked`), or granted other rights (it comes
    /// back with the account as it is now). Answers the error to end with.
    async fn end_for_account(&mut self, signed_out: bool) -> axum::Error {
        if signed_out {
            let message = "signed out: the account was disabled or its password changed";
            let _ = self
                .send_json(json!({"type": "error", "code": Code::SessionRevoked.as_str(), "message": message}))
                .await;
        }
        let close = CloseFrame { code: 4000, reason: Utf8Bytes::from_static("account changed") };
        let _ = self.socket.send(WsMessage::Close(Some(close))).await;
        axum::Error::new(AccountChanged)
    }

    /// Reads the agent's session and account again: a change made where
    /// this node's bus does not reach (the CLI, another node) ends the
    /// connection as [`Event::AccountChanged`] would. A store that fails
    /// keeps the connection: an outage is no reason to sign people out. A
    /// connection still good is the agent's heartbeat (`Store::agent_seen`).
    async fn recheck(&mut self, session: &[u8; 32]) -> Result<(), axum::Error> {
        let Some(Who::Agent(granted)) = &self.who else { return Ok(()) };
        let store = &self.state.ctx.store;
        let now = self.state.ctx.clock.now();
        let account = match store.session(session, now).await {
            Ok(Some(_)) => store.agent(granted.id).await,
            Ok(None) => Ok(None),
            Err(e) => Err(e),
        };
        match account {
            Ok(Some(account)) if !account.disabled && account.same_rights(granted) => {
                // The heartbeat that keeps a connected agent from being swept as absent.
                if let Err(e) = store.agent_seen(granted.id, now).await {
                    tracing::warn!(error = %e, agent = %granted.id, "recording an agent's heartbeat failed");
                }
                Ok(())
            }
            Ok(Some(account)) if !account.disabled => Err(self.end_for_account(false).await),
            Ok(_) => Err(self.end_for_account(true).await),
            Err(e) => {
                tracing::warn!(error = %e, agent = %granted.id, "rechecking an agent's session failed");
                Ok(())
            }
        }
    }
}

/// When an agent's socket first rechecks: the period, spread by the agent's
/// id over one more period so that sockets opened together (a restart, a
/// shift starting) do not all read at once.
fn first_recheck(state: &SharedState, agent: &Agent) -> Duration {
    let period = state.config.session_recheck;
    let spread = (agent.id.as_uuid().as_u128() % 1024) as u32;
    period + period * spread / 1024
}

/// Waits for the timer if there is one, forever if not.
async fn armed(timer: &mut Option<std::pin::Pin<Box<tokio::time::Sleep>>>) {
    match timer {
        Some(t) => t.as_mut().await,
        None => std::future::pending().await,
    }
}

/// Takes the fields rather than the connection: the socket is not `Sync`.
/// The conversation a frame names, if this connection may see it. (A free
/// function: the socket itself must not be borrowed across the await.)
async fn accessible_conversation(
    state: &SharedState,
    who: &Option<Who>,
    id: ConversationId,
) -> Result<Conversation, FrameError> {
    let conversation = state
        .ctx
        .store
        .conversation(id)
        .await
        .map_err(ApiError::from)?
        .ok_or_else(|| frame_error(Code::NotFound, "conversation not found"))?;
    check_access(state, who, id).await?;
    Ok(conversation)
}

async fn check_access(state: &SharedState, who: &Option<Who>, id: ConversationId) -> Result<(), FrameError> {
    match who {
        Some(Who::Customer(c)) => desk::open_for_customer(&state.ctx, c, id).await.map(|_| ()).map_err(Into::into),
        Some(Who::Agent(a)) => desk::open_for_agent(&state.ctx, a, id).await.map(|_| ()).map_err(Into::into),
        None => Err(frame_error(Code::Unauthenticated, "send hello first")),
    }
}

/// A token bucket: `burst` frames at once, refilled at `per_second`.
pub struct TokenBucket {
    tokens: f64,
    burst: f64,
    per_second: f64,
    last: Option<Instant>,
}

impl TokenBucket {
    pub fn new(burst: u32, per_second: u32) -> Self {
        Self { tokens: f64::from(burst), burst: f64::from(burst), per_second: f64::from(per_second), last: None }
    }

    pub fn take(&mut self, now: Instant) -> bool {
        if let Some(last) = self.last {
            let elapsed = now.saturating_duration_since(last).as_secs_f64();
            self.tokens = (self.tokens + elapsed * self.per_second).min(self.burst);
        }
        self.last = Some(now);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_allows_bursts_then_refills() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(3, 2);
        assert!(b.take(t0) && b.take(t0) && b.take(t0));
        assert!(!b.take(t0));
        assert!(b.take(t0 + Duration::from_millis(500)));
        assert!(!b.take(t0 + Duration::from_millis(500)));
    }
}

#[derive(Debug, thiserror::Error)]
#[error("the agent's account changed")]
struct AccountChanged;
