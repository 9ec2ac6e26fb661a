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

#[derive(serde::Deserialize)]
pub struct StatsQuery {
    /// `YYYY-MM-DD` (China time); default today.
    day: Option<String>,
}

/// Each agent's day in the shop (China time; today unless `day` names a
/// past one), for the supervisor's 团队: the same figures as their own top
/// bar, counted in this shop only. A past day has nobody still waiting.
pub async fn shop_stats(
    State(state): State<SharedState>,
    auth: AgentAuth,
    Path(id): Path<String>,
    super::Query(q): super::Query<StatsQuery>,
) -> ApiResult<Json> {
    let shop = super::admin::shop_for(&state, &auth.agent, &id).await?;
    require(auth.agent.role.supervises(), "supervisors_only")?;
    let window = state.bot.reply_window(&state.ctx, shop).await;
    let period = super::period(q.day.as_deref(), state.ctx.clock.now())?;
    let scope = kefu_core::kpi::Scope::Shop(shop);
    let counts = state.ctx.store.response_counts(scope, period, window).await?;
    let agents: Vec<Value> = counts
        .iter()
        .map(|(agent, c)| {
            let mut v = crate::dto::response_counts(c);
            v["agent_id"] = json!(agent.to_string());
            v
        })
        .collect();
    let since = period.since().millis();
    let today = matches!(period, kefu_core::kpi::Period::Today(_));
    Ok(axum::Json(json!({ "since": since, "today": today, "reply_minutes": window.minutes(), "agents": agents })))
}
