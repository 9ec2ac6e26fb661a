//! Bot metrics for supervisors: resolution, hand-off reasons, containment
//! per intent, over the last days of a shop's bot audit trail.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{AgentAuth, require};
use crate::SharedState;
use crate::api::admin::shop_for;
use crate::error::{ApiError, ApiResult, Code};

/// Audit lines read per request; enough for weeks of a busy shop's bot.
const MAX_ROWS: u32 = 200_000;

#[derive(Deserialize)]
pub struct MetricsQuery {
    days: Option<i64>,
}

pub async fn metrics(
    State(state): State<SharedState>,
    auth: AgentAuth,
    Path(shop): Path<String>,
    Query(q): Query<MetricsQuery>,
) -> ApiResult<axum::Json<Value>> {
    require(auth.agent.role.supervises(), "supervisors only")?;
    let shop = shop_for(&state, &auth.agent, &shop).await?;
    let days = q.days.unwrap_or(7);
    if !(1..=90).contains(&days) {
        return Err(ApiError::new(Code::InvalidInput, "days must be between 1 and 90"));
    }
    let now = state.ctx.clock.now();
    let rows = state.ctx.store.bot_audit(shop, now.plus_days(-days), MAX_ROWS).await?;
    let mut customers = HashMap::new();
    for r in &rows {
        if customers.contains_key(&r.conversation) {
            continue;
        }
        if let Some(c) = state.ctx.store.conversation(r.conversation).await? {
            customers.insert(r.conversation, c.customer_id);
        }
    }
    let m = kefu_bot::metrics::compute(&rows, &customers, now);
    let per_intent: serde_json::Map<String, Value> = m
        .per_intent
        .iter()
        .map(|(k, s)| {
            (
                k.clone(),
                json!({"conversations": s.conversations, "handed_off": s.handed_off, "containment": s.containment}),
            )
        })
        .collect();
    Ok(axum::Json(json!({
        "days": days,
        "turns": rows.len(),
        "conversations": m.conversations,
        "in_progress": m.in_progress,
        "handed_off": m.handed_off,
        "resolved": m.resolved,
        "resolution_rate": m.resolution_rate,
        "handoff_reasons": m.handoff_reasons,
        "per_intent": per_intent,
        "knowledge_answers": m.knowledge_answers,
        "misunderstood_turns": m.misunderstood_turns,
    })))
}
