//! What a supervisor does about a colleague on a busy night: set them
//! 挂起 or 离线, take back the conversations they hold, and see how each
//! of the team is answering today.

use axum::extract::{Path, State};
use kefu_core::desk;
use kefu_core::id::AgentId;
use serde_json::{Value, json};

use super::session::StatusBody;
use super::{AgentAuth, Body, parse_id, require};
use crate::SharedState;
use crate::dto::{AgentDto, ConversationDto};
use crate::error::ApiResult;

type Json = axum::Json<Value>;

pub async fn set_status(
    State(state): State<SharedState>,
    auth: AgentAuth,
    Path(id): Path<String>,
    Body(body): Body<StatusBody>,
) -> ApiResult<Json> {
    let id = parse_id(&id, AgentId::parse)?;
    let status = body.status()?;
    let agent = desk::set_colleague_status(&state.ctx, &auth.agent, id, status).await?;
    Ok(axum::Json(json!({ "agent": AgentDto::from(&agent) })))
}

pub async fn take_back(State(state): State<SharedState>, auth: AgentAuth, Path(id): Path<String>) -> ApiResult<Json> {
    let id = parse_id(&id, AgentId::parse)?;
    let moved = desk::take_back(&state.ctx, &auth.agent, id).await?;
    let list: Vec<ConversationDto> = moved.iter().map(ConversationDto::from).collect();
    Ok(axum::Json(json!({ "conversations": list })))
}

/// Each agent's day in the shop (China time), for the supervisor's 团队:
/// the same figures as their own top bar, counted in this shop only.
pub async fn shop_stats(State(state): State<SharedState>, auth: AgentAuth, Path(id): Path<String>) -> ApiResult<Json> {
    let shop = super::admin::shop_for(&state, &auth.agent, &id).await?;
    require(auth.agent.role.supervises(), "supervisors_only")?;
    let window = state.bot.reply_window(&state.ctx, shop).await;
    let now = state.ctx.clock.now();
    let scope = kefu_core::kpi::Scope::Shop(shop);
    let counts = state.ctx.store.response_counts(scope, now, window).await?;
    let agents: Vec<Value> = counts
        .iter()
        .map(|(agent, c)| {
            let mut v = crate::dto::response_counts(c);
            v["agent_id"] = json!(agent.to_string());
            v
        })
        .collect();
    let since = now.china_midnight().millis();
    Ok(axum::Json(json!({ "since": since, "reply_minutes": window.minutes(), "agents": agents })))
}
