//! What a supervisor does about a colleague on a busy night: set them
//! 挂起 or 离线, and take back the conversations they hold.

use axum::extract::{Path, State};
use kefu_core::agent::AgentStatus;
use kefu_core::desk;
use kefu_core::id::AgentId;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{AgentAuth, Body, parse_id};
use crate::SharedState;
use crate::dto::{AgentDto, ConversationDto};
use crate::error::{ApiError, ApiResult, Code};

type Json = axum::Json<Value>;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusBody {
    status: String,
}

pub async fn set_status(
    State(state): State<SharedState>,
    auth: AgentAuth,
    Path(id): Path<String>,
    Body(body): Body<StatusBody>,
) -> ApiResult<Json> {
    let id = parse_id(&id, AgentId::parse)?;
    let status = AgentStatus::parse(&body.status)
        .ok_or_else(|| ApiError::new(Code::InvalidInput, "status must be online, away or offline"))?;
    let agent = desk::set_colleague_status(&state.ctx, &auth.agent, id, status).await?;
    Ok(axum::Json(json!({ "agent": AgentDto::from(&agent) })))
}

pub async fn take_back(State(state): State<SharedState>, auth: AgentAuth, Path(id): Path<String>) -> ApiResult<Json> {
    let id = parse_id(&id, AgentId::parse)?;
    let moved = desk::take_back(&state.ctx, &auth.agent, id).await?;
    let list: Vec<ConversationDto> = moved.iter().map(ConversationDto::from).collect();
    Ok(axum::Json(json!({ "conversations": list })))
}
