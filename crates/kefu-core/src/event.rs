//! The event bus port: how one node tells the others (and its own sockets)
//! that something happened. In-process now; NATS when nodes scale out.
//!
//! Topics are per conversation (customers listen there) and per shop (agents
//! listen there). Subscribers get a bounded queue: a subscriber that falls
//! behind is told so ([`Delivery::Lagged`]) rather than slowing publishers, and
//! catches up from the store by `seq`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};

use tokio::sync::mpsc;

use crate::agent::AgentStatus;
use crate::conversation::{Conversation, ConversationStatus, Message, Sender};
use crate::id::{AgentId, ConversationId, OrderId, ShopId};
use crate::request::{RequestRow, RequestStatus};

/// Where events go. Topics are chosen so each event reaches only those who
/// need it: a message goes to its customer, its assigned agent (or the shop's
/// queue while unassigned) and anyone watching that conversation, never to
/// every agent of a busy shop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Topic {
    /// The shop's queue and team: unassigned conversations' messages, every
    /// conversation change, presence.
    Shop(ShopId),
    /// One agent's assigned conversations.
    Agent(AgentId),
    /// The customer's side of a conversation: nothing internal.
    Conversation(ConversationId),
    /// Staff watching a conversation they do not hold: notes included.
    Watch(ConversationId),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A message and the conversation as it stands after it (sequence,
    /// reply timer), so lists update without another read.
    MessageAppended {
        message: Message,
        conversation: Conversation,
    },
    /// Status, assignment, priority or rating changed.
    ConversationChanged(Conversation),
    Typing {
        conversation: ConversationId,
        shop: ShopId,
        assigned: Option<AgentId>,
        who: Sender,
        on: bool,
    },
    /// A side has read up to `seq`.
    Read {
        conversation: ConversationId,
        shop: ShopId,
        assigned: Option<AgentId>,
        by_customer: bool,
        seq: i64,
    },
    AgentPresence {
        shop: ShopId,
        agent: AgentId,
        status: AgentStatus,
        /// The supervisor who set it, when it was not the agent (nor the
        /// absence sweep): their screen says who.
        by: Option<AgentId>,
        /// Set 挂起 because an offer to them lapsed: their screen says so.
        missed_offer: bool,
    },
    /// An order request (服务单) was filed or closed: the shop's people
    /// refresh their lists (the event names it; the list is read afresh).
    RequestChanged {
        shop: ShopId,
        id: uuid::Uuid,
        order: OrderId,
        conversation: Option<ConversationId>,
        status: RequestStatus,
        needs_review: bool,
    },
    /// An agent's account changed under them (role, shops, password,
    /// disabled): their open connections end, so they come back with the
    /// account as it is now — or, when `signed_out`, do not come back.
    AccountChanged {
        agent: AgentId,
        signed_out: bool,
    },
}

impl Event {
    /// The notice that a bot's turn in `conversation` filed `request`.
    pub fn request_filed(shop: ShopId, conversation: ConversationId, request: &crate::botturn::OrderRequest) -> Event {
        Event::RequestChanged {
            shop,
            id: request.id,
            order: request.order,
            conversation: Some(conversation),
            status: RequestStatus::Open,
            needs_review: request.needs_review,
        }
    }

    /// The notice that a request was filed or closed.
    pub fn request_changed(row: &RequestRow) -> Event {
        Event::RequestChanged {
            shop: row.shop,
            id: row.request.id,
            order: row.request.order,
            conversation: row.conversation,
            status: row.status,
            needs_review: row.request.needs_review,
        }
    }
}

fn staff_topic(shop: ShopId, assigned: Option<AgentId>) -> Topic {
    match assigned {
        Some(agent) => Topic::Agent(agent),
        None => Topic::Shop(shop),
    }
}

impl Event {
    /// The topics an event goes to. Notes never go to the customer's topic.
    pub fn topics(&self) -> Vec<Topic> {
        match self {
            Event::MessageAppended { message, conversation } => {
                // While the bot holds a conversation its messages are not the
                // team's business: the shop topic would carry every bot turn
                // to every agent. Watchers still see them.
                let mut t = if conversation.status == ConversationStatus::Bot {
                    vec![Topic::Watch(conversation.id)]
                } else {
                    vec![staff_topic(conversation.shop_id, conversation.assigned_agent), Topic::Watch(conversation.id)]
                };
                if message.visible_to_customer() {
                    t.push(Topic::Conversation(conversation.id));
                }
                t
            }
            Event::ConversationChanged(c) => {
                vec![Topic::Shop(c.shop_id), Topic::Conversation(c.id), Topic::Watch(c.id)]
            }
            Event::Typing { conversation, shop, assigned, .. } | Event::Read { conversation, shop, assigned, .. } => {
                vec![staff_topic(*shop, *assigned), Topic::Conversation(*conversation), Topic::Watch(*conversation)]
            }
            Event::AgentPresence { shop, .. } | Event::RequestChanged { shop, .. } => vec![Topic::Shop(*shop)],
            Event::AccountChanged { agent, .. } => vec![Topic::Agent(*agent)],
        }
    }
}

#[derive(Debug, Clone)]
pub enum Delivery {
    Event(Arc<Event>),
    /// Events were dropped because this subscriber's queue was full; it must
    /// resynchronise from the store.
    Lagged,
}

/// The receiving half of a subscriber's queue.
pub struct Inbox {
    rx: mpsc::Receiver<Arc<Event>>,
    lagged: Arc<AtomicBool>,
}

impl Inbox {
    /// The next delivery; `None` once every mailbox for it is gone.
    pub async fn recv(&mut self) -> Option<Delivery> {
        if self.lagged.swap(false, Ordering::AcqRel) {
            return Some(Delivery::Lagged);
        }
        self.rx.recv().await.map(Delivery::Event)
    }

    pub fn try_recv(&mut self) -> Option<Delivery> {
        if self.lagged.swap(false, Ordering::AcqRel) {
            return Some(Delivery::Lagged);
        }
        self.rx.try_recv().ok().map(Delivery::Event)
    }
}

/// The sending half of a subscriber's queue; one per connection.
#[derive(Debug, Clone)]
pub struct Mailbox {
    id: u64,
    tx: mpsc::Sender<Arc<Event>>,
    lagged: Arc<AtomicBool>,
}

impl Mailbox {
    pub fn new(capacity: usize) -> (Mailbox, Inbox) {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        let (tx, rx) = mpsc::channel(capacity);
        let lagged = Arc::new(AtomicBool::new(false));
        let mailbox = Mailbox { id: NEXT.fetch_add(1, Ordering::Relaxed), tx, lagged: lagged.clone() };
        (mailbox, Inbox { rx, lagged })
    }

    fn deliver(&self, event: &Arc<Event>) {
        if let Err(mpsc::error::TrySendError::Full(_)) = self.tx.try_send(event.clone()) {
            self.lagged.store(true, Ordering::Release);
        }
    }
}

/// Dropping it ends the subscription.
pub struct Subscription {
    unsubscribe: Option<Box<dyn FnOnce() + Send + Sync>>,
}

impl Subscription {
    pub fn new(unsubscribe: impl FnOnce() + Send + Sync + 'static) -> Self {
        Self { unsubscribe: Some(Box::new(unsubscribe)) }
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        if let Some(f) = self.unsubscribe.take() {
            f();
        }
    }
}

pub trait EventBus: Send + Sync + 'static {
    fn publish(&self, event: Event);
    fn subscribe(&self, topic: Topic, mailbox: &Mailbox) -> Subscription;
}

/// One node's bus: a topic → mailboxes map.
#[derive(Default)]
pub struct InProcessBus {
    topics: Arc<Mutex<HashMap<Topic, Vec<Mailbox>>>>,
}

impl InProcessBus {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn subscriber_count(&self) -> usize {
        self.topics.lock().map(|t| t.values().map(Vec::len).sum()).unwrap_or(0)
    }
}

impl EventBus for InProcessBus {
    fn publish(&self, event: Event) {
        let event = Arc::new(event);
        for topic in event.topics() {
            // Clone the mailboxes out so no lock is held while delivering.
            let targets: Vec<Mailbox> = match self.topics.lock() {
                Ok(t) => t.get(&topic).cloned().unwrap_or_default(),
                Err(_) => continue,
            };
            for mailbox in &targets {
                mailbox.deliver(&event);
            }
        }
    }

    fn subscribe(&self, topic: Topic, mailbox: &Mailbox) -> Subscription {
        if let Ok(mut t) = self.topics.lock() {
            t.entry(topic).or_default().push(mailbox.clone());
        }
        let topics: Weak<Mutex<HashMap<Topic, Vec<Mailbox>>>> = Arc::downgrade(&self.topics);
        let id = mailbox.id;
        Subscription::new(move || {
            if let Some(topics) = topics.upgrade()
                && let Ok(mut t) = topics.lock()
                && let Some(list) = t.get_mut(&topic)
            {
                list.retain(|m| m.id != id);
                if list.is_empty() {
                    t.remove(&topic);
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::Timestamp;
    use crate::conversation::MessageKind;
    use crate::id::{CustomerId, MessageId};
    use uuid::Uuid;

    fn appended(kind: MessageKind) -> Event {
        let message = message(kind);
        let conversation = Conversation {
            id: message.conversation_id,
            shop_id: message.shop_id,
            customer_id: CustomerId::from_uuid(Uuid::from_u128(4)),
            channel: crate::conversation::Channel::Web,
            status: crate::conversation::ConversationStatus::Queued,
            assigned_agent: None,
            skill_group: None,
            priority: 0,
            tags: vec![],
            csat: None,
            last_seq: 1,
            waiting_since: None,
            created_at: Timestamp(0),
            updated_at: Timestamp(0),
            closed_at: None,
            assigned_at: None,
            offered_until: None,
            answered_at: None,
            last_answer_at: None,
        };
        Event::MessageAppended { message, conversation }
    }

    fn message(kind: MessageKind) -> Message {
        Message {
            id: MessageId::from_uuid(Uuid::from_u128(1)),
            conversation_id: ConversationId::from_uuid(Uuid::from_u128(2)),
            shop_id: ShopId::from_uuid(Uuid::from_u128(3)),
            seq: 1,
            sender: Sender::Customer(CustomerId::from_uuid(Uuid::from_u128(4))),
            kind,
            text: "在吗".into(),
            client_msg_id: None,
            created_at: Timestamp(0),
        }
    }

    #[test]
    fn bot_conversations_do_not_flood_the_shop_topic() {
        let Event::MessageAppended { message, mut conversation } = appended(MessageKind::Text) else { unreachable!() };
        conversation.status = crate::conversation::ConversationStatus::Bot;
        let topics = Event::MessageAppended { message, conversation: conversation.clone() }.topics();
        assert_eq!(topics, [Topic::Watch(conversation.id), Topic::Conversation(conversation.id)]);
    }

    #[tokio::test]
    async fn notes_never_reach_the_conversation_topic() {
        let bus = InProcessBus::new();
        let (customer, mut customer_inbox) = Mailbox::new(8);
        let (agent, mut agent_inbox) = Mailbox::new(8);
        let m = message(MessageKind::Note);
        let _c = bus.subscribe(Topic::Conversation(m.conversation_id), &customer);
        let _a = bus.subscribe(Topic::Shop(m.shop_id), &agent);
        bus.publish(appended(m.kind));
        assert!(matches!(agent_inbox.try_recv(), Some(Delivery::Event(_))));
        assert!(customer_inbox.try_recv().is_none());
    }

    #[tokio::test]
    async fn dropping_the_subscription_unsubscribes() {
        let bus = InProcessBus::new();
        let (mb, mut inbox) = Mailbox::new(8);
        let m = message(MessageKind::Text);
        let sub = bus.subscribe(Topic::Conversation(m.conversation_id), &mb);
        assert_eq!(bus.subscriber_count(), 1);
        drop(sub);
        assert_eq!(bus.subscriber_count(), 0);
        bus.publish(appended(m.kind));
        assert!(inbox.try_recv().is_none());
    }

    #[tokio::test]
    async fn a_full_mailbox_reports_lag_instead_of_blocking() {
        let bus = InProcessBus::new();
        let (mb, mut inbox) = Mailbox::new(1);
        let m = message(MessageKind::Text);
        let _s = bus.subscribe(Topic::Conversation(m.conversation_id), &mb);
        for _ in 0..3 {
            bus.publish(appended(m.kind));
        }
        assert!(matches!(inbox.try_recv(), Some(Delivery::Lagged)));
        assert!(matches!(inbox.try_recv(), Some(Delivery::Event(_))));
        assert!(inbox.try_recv().is_none());
    }
}
