//! Bot metrics for supervisors: resolution, hand-off reasons, containment
//! per intent, over the last days of a shop's bot audit trail; and, for
//! admins, reloading the shops' rules without a restart.

use axum::extract::{Path, State};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{AgentAuth, Query, require};
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
    // One read: each row comes with its conversation's shopper.
    let rows = state.ctx.store.bot_audit(shop, now.plus_days(-days), MAX_ROWS).await?;
    let m = kefu_bot::metrics::compute(&rows, now);
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

/// Reads every shop's rules again. A mistake in any file changes nothing and
/// answers `invalid_input` with the file and the line: a policy is never half
/// loaded.
pub async fn reload_rules(State(state): State<SharedState>, auth: AgentAuth) -> ApiResult<axum::Json<Value>> {
    require(auth.agent.role == kefu_core::agent::Role::Admin, "admins only")?;
    let Some(source) = state.config.bot_rules_source.clone() else {
        return Err(ApiError::new(Code::NotFound, "this server reads its rules only at start"));
    };
    // Files: off the async threads.
    let loaded = tokio::task::spawn_blocking(move || (source.0)())
        .await
        .map_err(|e| ApiError::new(Code::Internal, format!("reading the rules: {e}")))?;
    let rules = loaded.map_err(|e| ApiError::new(Code::InvalidInput, e))?;
    let mut shops: Vec<String> = rules.keys().cloned().collect();
    shops.sort();
    tracing::info!(shops = ?shops, by = auth.agent.username.as_str(), "bot rules reloaded");
    state.bot.replace_rules(rules);
    Ok(axum::Json(json!({ "shops": shops })))
}
