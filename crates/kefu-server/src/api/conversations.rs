//! The agent's conversation list and actions.

use axum::extract::{Path, State};
use kefu_core::conversation::{ClientMsgId, ConversationStatus, MessageText};
use kefu_core::desk::{self, Transfer};
use kefu_core::id::{AgentId, ConversationId, ShopId, SkillGroupId};
use kefu_core::store::ConversationFilter;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{AgentAuth, Body, Query, parse_id};
use crate::SharedState;
use crate::dto::{ConversationDto, ConversationOverviewDto, CustomerDto, MessageDto, SendKind};
use crate::error::{ApiError, ApiResult, Code};

type Json = axum::Json<Value>;

#[derive(Deserialize)]
pub struct ListQuery {
    /// Comma-separated statuses; default: every open status.
    status: Option<String>,
    /// Only my conversations.
    mine: Option<bool>,
    shop: Option<String>,
    q: Option<String>,
    limit: Option<u32>,
}

pub async fn list(State(state): State<SharedState>, auth: AgentAuth, Query(q): Query<ListQuery>) -> ApiResult<Json> {
    let agent = &auth.agent;
    let mut shops: Vec<ShopId> = if agent.role.administers() {
        state.ctx.store.shops().await?.into_iter().map(|s| s.id).collect()
    } else {
        agent.shops.clone()
    };
    if let Some(shop) = q.shop.as_deref().filter(|s| !s.is_empty()) {
        let shop = parse_id(shop, ShopId::parse)?;
        shops.retain(|s| *s == shop);
    }
    let statuses = match q.status.as_deref() {
        None | Some("") => vec![ConversationStatus::Bot, ConversationStatus::Queued, ConversationStatus::Assigned],
        Some(list) => list
            .split(',')
            .map(|s| {
                ConversationStatus::parse(s.trim())
                    .ok_or_else(|| ApiError::new(Code::InvalidInput, format!("unknown status {s:?}")))
            })
            .collect::<Result<_, _>>()?,
    };
    let filter = ConversationFilter {
        shops,
        statuses,
        assigned_agent: q.mine.unwrap_or(false).then_some(agent.id),
        customer: None,
        search: q.q.filter(|s| s.chars().count() <= 64),
        limit: q.limit.unwrap_or(100).min(500),
    };
    let rows = state.ctx.store.conversations(&filter).await?;
    let visible: Vec<ConversationOverviewDto> = rows
        .iter()
        .filter(|o| desk::agent_may_read(agent, &o.conversation))
        .map(ConversationOverviewDto::from)
        .collect();
    Ok(axum::Json(json!({ "conversations": visible })))
}

pub async fn show(State(state): State<SharedState>, auth: AgentAuth, Path(id): Path<String>) -> ApiResult<Json> {
    let id = parse_id(&id, ConversationId::parse)?;
    let conversation = desk::open_for_agent(&state.ctx, &auth.agent, id).await?;
    let customer = state
        .ctx
        .store
        .customer(conversation.customer_id)
        .await?
        .ok_or_else(|| ApiError::new(Code::NotFound, "customer not found"))?;
    Ok(axum::Json(json!({
        "conversation": ConversationDto::from(&conversation),
        "customer": CustomerDto::from(&customer),
    })))
}

#[derive(Deserialize)]
pub struct PageQuery {
    before: Option<i64>,
    after: Option<i64>,
    limit: Option<u32>,
}

pub async fn messages(
    State(state): State<SharedState>,
    auth: AgentAuth,
    Path(id): Path<String>,
    Query(q): Query<PageQuery>,
) -> ApiResult<Json> {
    let id = parse_id(&id, ConversationId::parse)?;
    let conversation = desk::open_for_agent(&state.ctx, &auth.agent, id).await?;
    let limit = q.limit.unwrap_or(50).clamp(1, 200);
    let list = match (q.after, q.before) {
        (Some(after), _) => state.ctx.store.messages_after(conversation.id, after, limit).await?,
        (None, before) => state.ctx.store.messages_before(conversation.id, before.unwrap_or(i64::MAX), limit).await?,
    };
    let dtos: Vec<MessageDto> = list.iter().map(|m| MessageDto::new(m, false)).collect();
    Ok(axum::Json(json!({ "messages": dtos, "last_seq": conversation.last_seq })))
}

#[derive(Deserialize)]
pub struct SendBody {
    text: String,
    #[serde(default)]
    note: bool,
    /// `order`: the text is the order number of one of the customer's orders, sent as a card;
    /// `product`: the SKU of a product of the shop; `image`: an uploaded attachment's id.
    #[serde(default)]
    kind: SendKind,
    client_msg_id: Option<String>,
}

pub async fn send(
    State(state): State<SharedState>,
    auth: AgentAuth,
    Path(id): Path<String>,
    Body(body): Body<SendBody>,
) -> ApiResult<Json> {
    let id = parse_id(&id, ConversationId::parse)?;
    let text = MessageText::parse(&body.text).map_err(|e| ApiError::new(Code::InvalidInput, e.to_string()))?;
    let client = body
        .client_msg_id
        .as_deref()
        .map(ClientMsgId::parse)
        .transpose()
        .map_err(|e| ApiError::new(Code::InvalidInput, e.to_string()))?;
    let kind = body.kind.message_kind(body.note).map_err(|e| ApiError::new(Code::InvalidInput, e))?;
    let appended = desk::agent_send(&state.ctx, &auth.agent, id, kind, text, client).await?;
    Ok(axum::Json(json!({ "message": MessageDto::new(&appended.message, false), "duplicate": appended.duplicate })))
}

pub async fn accept(State(state): State<SharedState>, auth: AgentAuth, Path(id): Path<String>) -> ApiResult<Json> {
    let id = parse_id(&id, ConversationId::parse)?;
    let conversation = desk::accept(&state.ctx, &auth.agent, id).await?;
    Ok(axum::Json(json!({ "conversation": ConversationDto::from(&conversation) })))
}

#[derive(Deserialize)]
pub struct TransferBody {
    agent_id: Option<String>,
    group_id: Option<String>,
    /// For whoever takes it (an internal note); blank is none.
    note: Option<String>,
}

pub async fn transfer(
    State(state): State<SharedState>,
    auth: AgentAuth,
    Path(id): Path<String>,
    Body(body): Body<TransferBody>,
) -> ApiResult<Json> {
    let id = parse_id(&id, ConversationId::parse)?;
    let to = match (body.agent_id.as_deref(), body.group_id.as_deref()) {
        (Some(a), None) => Transfer::ToAgent(parse_id(a, AgentId::parse)?),
        (None, Some(g)) => Transfer::ToGroup(parse_id(g, SkillGroupId::parse)?),
        _ => return Err(ApiError::new(Code::InvalidInput, "give exactly one of agent_id and group_id")),
    };
    let note = match body.note.as_deref().map(str::trim).filter(|n| !n.is_empty()) {
        Some(n) => Some(MessageText::parse(n).map_err(|e| ApiError::new(Code::InvalidInput, format!("note: {e}")))?),
        None => None,
    };
    let conversation = desk::transfer(&state.ctx, &auth.agent, id, to, note).await?;
    Ok(axum::Json(json!({ "conversation": ConversationDto::from(&conversation) })))
}

pub async fn close(State(state): State<SharedState>, auth: AgentAuth, Path(id): Path<String>) -> ApiResult<Json> {
    let id = parse_id(&id, ConversationId::parse)?;
    let conversation = desk::close(&state.ctx, &auth.agent, id).await?;
    Ok(axum::Json(json!({ "conversation": ConversationDto::from(&conversation) })))
}
