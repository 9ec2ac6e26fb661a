//! Text encodings shared by both backends for enum columns and tag lists.

use kefu_core::agent::{AgentStatus, Role};
use kefu_core::conversation::{Channel, ConversationStatus, MessageKind, Sender};
use kefu_core::customer::Tier;
use kefu_core::id::{AgentId, CustomerId};
use kefu_core::kpi::{DayCounts, ReplyWindow, ResponseCounts, Scope};
use kefu_core::order::OrderStatus;
use kefu_core::store::StoreError;
use uuid::Uuid;

/// A value in the database that the domain cannot read: a corrupted row or a
/// newer schema. Reported as a backend failure, never a panic.
#[derive(Debug, thiserror::Error)]
#[error("unreadable {column} value {value:?} in the database")]
pub struct Corrupt {
    pub column: &'static str,
    pub value: String,
}

pub fn corrupt(column: &'static str, value: impl Into<String>) -> StoreError {
    StoreError::backend(Corrupt { column, value: value.into() })
}

/// `Store::someone_online` for both backends (`param` is the shop's
/// placeholder): an online, enabled agent of the shop whose role answers
/// (`Role::handles_conversations`, spelled out for SQL here, not in core).
pub fn someone_online_sql(param: &str) -> String {
    let roles: Vec<String> =
        Role::ALL.iter().filter(|r| r.handles_conversations()).map(|r| format!("'{}'", r.as_str())).collect();
    format!(
        "SELECT 1 FROM agent_shops s JOIN agents a ON a.id = s.agent_id WHERE s.shop_id = {param} \
         AND a.status = 'online' AND NOT a.disabled AND a.role IN ({}) LIMIT 1",
        roles.join(", ")
    )
}

/// What an answer adds to its agent's day: the end of the upsert into
/// `agent_days` (the same on both backends), after the columns and values.
pub const ADD_TO_DAY: &str = "ON CONFLICT (day, shop_id, agent_id) DO UPDATE SET \
     chats = agent_days.chats + excluded.chats, answers = agent_days.answers + excluded.answers, \
     waited_ms = agent_days.waited_ms + excluded.waited_ms, \
     first_answers = agent_days.first_answers + excluded.first_answers, \
     first_within_30s = agent_days.first_within_30s + excluded.first_within_30s, \
     within_3m = agent_days.within_3m + excluded.within_3m, within_5m = agent_days.within_5m + excluded.within_5m";

/// One offer let lapse, added to its agent's day in its shop (placeholders
/// 1 the China day, 2 the shop, 3 the agent).
pub fn missed_offer_sql(p: fn(u8) -> String) -> String {
    format!(
        "INSERT INTO agent_days ({DAY_COLUMNS}, missed_offers) VALUES ({}, {}, {}, 0, 0, 0, 0, 0, 0, 0, 1) \
         ON CONFLICT (day, shop_id, agent_id) DO UPDATE SET missed_offers = agent_days.missed_offers + 1",
        p(1),
        p(2),
        p(3)
    )
}

/// A queued (or bot) conversation given to an agent, as an offer until 4
/// (or NULL: theirs at once): 1 the conversation, 2 the agent, 3 now. Their
/// figures count from now (`assigned_at`), with no answer yet.
pub fn assign_sql(p: fn(u8) -> String) -> String {
    format!(
        "UPDATE conversations SET status = 'assigned', assigned_agent = {agent}, assigned_at = {now}, \
         answered_at = NULL, offered_until = {offer}, updated_at = {now} WHERE id = {id}",
        id = p(1),
        agent = p(2),
        now = p(3),
        offer = p(4),
    )
}

pub const DAY_COLUMNS: &str =
    "day, shop_id, agent_id, chats, answers, waited_ms, first_answers, first_within_30s, within_3m, within_5m";

/// `Store::response_counts` for both backends, as two statements: the
/// day's figures by agent (placeholders 1 the China day, 2 the agent or the
/// shop) and the late shoppers still waiting (1 the agent or the shop, 2
/// the window in ms, 3 now). `p(n)` spells a placeholder.
pub fn response_counts_sql(scope: Scope, p: fn(u8) -> String) -> [String; 2] {
    let (days, held) = match scope {
        Scope::Agent(_) => (format!("agent_id = {}", p(2)), format!("assigned_agent = {}", p(1))),
        Scope::Shop(_) => (format!("shop_id = {}", p(2)), format!("shop_id = {}", p(1))),
    };
    let sum = |c: &str| format!("CAST(SUM({c}) AS BIGINT)");
    [
        format!(
            "SELECT agent_id, {}, {}, {}, {}, {}, {}, {}, {} FROM agent_days WHERE day = {} AND {days} GROUP BY agent_id",
            sum("chats"),
            sum("answers"),
            sum("waited_ms"),
            sum("first_answers"),
            sum("first_within_30s"),
            sum("within_3m"),
            sum("within_5m"),
            sum("missed_offers"),
            p(1),
        ),
        format!(
            "SELECT assigned_agent, COUNT(*) FROM conversations WHERE {held} AND status = 'assigned' \
             AND waiting_since IS NOT NULL \
             AND CASE WHEN assigned_at > waiting_since THEN assigned_at ELSE waiting_since END \
               < CAST({now} AS BIGINT) - CAST({window} AS BIGINT) \
             GROUP BY assigned_agent",
            window = p(2),
            now = p(3),
        ),
    ]
}

/// The two reads of [`response_counts_sql`] together, by agent.
pub fn merge_response_counts(
    days: Vec<(AgentId, DayCounts)>,
    late: Vec<(AgentId, u32)>,
    window: ReplyWindow,
) -> Vec<(AgentId, ResponseCounts)> {
    let mut by_agent: std::collections::BTreeMap<AgentId, (DayCounts, u32)> =
        days.into_iter().map(|(agent, day)| (agent, (day, 0))).collect();
    for (agent, n) in late {
        by_agent.entry(agent).or_default().1 = n;
    }
    by_agent.into_iter().map(|(agent, (day, late))| (agent, day.judged(window, late))).collect()
}

pub fn role(text: &str) -> Result<Role, StoreError> {
    Role::parse(text).ok_or_else(|| corrupt("role", text))
}
pub fn agent_status(text: &str) -> Result<AgentStatus, StoreError> {
    AgentStatus::parse(text).ok_or_else(|| corrupt("agent status", text))
}
pub fn tier(text: &str) -> Result<Tier, StoreError> {
    Tier::parse(text).ok_or_else(|| corrupt("tier", text))
}
pub fn order_status(text: &str) -> Result<OrderStatus, StoreError> {
    OrderStatus::parse(text).ok_or_else(|| corrupt("order status", text))
}
pub fn conversation_status(text: &str) -> Result<ConversationStatus, StoreError> {
    ConversationStatus::parse(text).ok_or_else(|| corrupt("conversation status", text))
}
pub fn channel(text: &str) -> Result<Channel, StoreError> {
    Channel::parse(text).ok_or_else(|| corrupt("channel", text))
}
pub fn message_kind(text: &str) -> Result<MessageKind, StoreError> {
    MessageKind::parse(text).ok_or_else(|| corrupt("message kind", text))
}

pub fn sender_columns(sender: Sender) -> (&'static str, Option<Uuid>) {
    match sender {
        Sender::Customer(id) => ("customer", Some(id.as_uuid())),
        Sender::Agent(id) => ("agent", Some(id.as_uuid())),
        Sender::Bot => ("bot", None),
        Sender::System => ("system", None),
    }
}

pub fn sender(kind: &str, id: Option<Uuid>) -> Result<Sender, StoreError> {
    match (kind, id) {
        ("customer", Some(id)) => Ok(Sender::Customer(CustomerId::from_uuid(id))),
        ("agent", Some(id)) => Ok(Sender::Agent(AgentId::from_uuid(id))),
        ("bot", _) => Ok(Sender::Bot),
        ("system", _) => Ok(Sender::System),
        _ => Err(corrupt("sender", kind)),
    }
}

const TAG_SEPARATOR: char = '\u{1f}';

pub fn join_tags(tags: &[String]) -> String {
    tags.iter().map(|t| t.replace(TAG_SEPARATOR, " ")).collect::<Vec<_>>().join(&TAG_SEPARATOR.to_string())
}

pub fn split_tags(text: &str) -> Vec<String> {
    if text.is_empty() { Vec::new() } else { text.split(TAG_SEPARATOR).map(str::to_owned).collect() }
}

/// Knowledge-entry alternates, one per line (they cannot hold line breaks).
pub fn alternates_to_text(alternates: &[String]) -> String {
    alternates.join("\n")
}

pub fn alternates_from_text(text: &str) -> Vec<String> {
    text.lines().filter(|l| !l.is_empty()).map(str::to_owned).collect()
}

pub fn category(text: Option<String>) -> Result<Option<kefu_core::catalog::CategoryPath>, StoreError> {
    text.map(|t| kefu_core::catalog::CategoryPath::parse(&t).map_err(|_| corrupt("category", t))).transpose()
}
