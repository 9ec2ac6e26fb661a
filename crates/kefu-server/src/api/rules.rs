//! A shop's bot rules edited on /admin: the TOML a rules file holds, checked
//! before it is stored, so the bot never reads a policy nobody could parse.
//! Stored rules win over the shop's rules file; removing them goes back to
//! the file, or to the defaults. Every node's bot picks a change up with its
//! next brain rebuild (60 s); this node's at once. Every save and removal is
//! kept in the shop's rules history: a policy shoppers were held to can be
//! looked up, compared and taken back.

use axum::extract::{Path, State};
use kefu_bot::rules::{DEFAULT_FILE, ShopRules};
use kefu_core::shop::Shop;
use kefu_core::store::{RulesChange, StoredRules};
use serde::Deserialize;
use serde_json::json;

use super::{AgentAuth, Body, require};
use crate::SharedState;
use crate::api::admin::shop_row_for;
use crate::error::{ApiError, ApiResult, Code};

type Json = axum::Json<serde_json::Value>;

/// Far more than a policy needs; a paste of something else is refused.
const MAX_BYTES: usize = 32 * 1024;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RulesBody {
    text: String,
}

/// The shop, for a supervisor of it.
async fn editable(state: &SharedState, auth: &AgentAuth, id: &str) -> ApiResult<Shop> {
    require(auth.agent.role.supervises(), "supervisors only")?;
    shop_row_for(state, &auth.agent, id).await
}

/// What the page shows: where the shop's rules come from, and the stored text.
fn describe(state: &SharedState, shop: &Shop, stored: Option<&StoredRules>) -> Json {
    let source = match (stored, state.bot.has_rules_file(shop.slug.as_str())) {
        (Some(_), _) => "admin",
        (None, true) => "file",
        (None, false) => "default",
    };
    axum::Json(json!({
        "source": source,
        "text": stored.map(|r| r.text.as_str()),
        "updated_at": stored.map(|r| r.updated_at.millis()),
        "updated_by": stored.map(|r| r.updated_by.as_str()),
        "default_text": DEFAULT_FILE,
    }))
}

pub async fn show(State(state): State<SharedState>, auth: AgentAuth, Path(id): Path<String>) -> ApiResult<Json> {
    let shop = editable(&state, &auth, &id).await?;
    let stored = state.ctx.store.shop_rules(shop.id).await?;
    Ok(describe(&state, &shop, stored.as_ref()))
}

pub async fn save(
    State(state): State<SharedState>,
    auth: AgentAuth,
    Path(id): Path<String>,
    Body(body): Body<RulesBody>,
) -> ApiResult<Json> {
    let shop = editable(&state, &auth, &id).await?;
    if body.text.len() > MAX_BYTES {
        return Err(ApiError::new(Code::InvalidInput, format!("text: at most {MAX_BYTES} bytes")));
    }
    ShopRules::parse(&body.text).map_err(|e| {
        ApiError::new(Code::InvalidInput, e.to_string()).with_details(json!({ "location": e.location }))
    })?;
    let rules = StoredRules {
        text: body.text,
        updated_at: state.ctx.clock.now(),
        updated_by: auth.agent.username.as_str().to_owned(),
    };
    let change = RulesChange { text: Some(rules.text.clone()), at: rules.updated_at, by: rules.updated_by.clone() };
    state.ctx.store.put_shop_rules(shop.id, &change).await?;
    tracing::info!(shop = %shop.id, by = auth.agent.username.as_str(), "bot rules saved");
    state.bot.forget(shop.id);
    Ok(describe(&state, &shop, Some(&rules)))
}

pub async fn remove(State(state): State<SharedState>, auth: AgentAuth, Path(id): Path<String>) -> ApiResult<Json> {
    let shop = editable(&state, &auth, &id).await?;
    let change = RulesChange { text: None, at: state.ctx.clock.now(), by: auth.agent.username.as_str().to_owned() };
    state.ctx.store.put_shop_rules(shop.id, &change).await?;
    tracing::info!(shop = %shop.id, by = auth.agent.username.as_str(), "bot rules removed");
    state.bot.forget(shop.id);
    Ok(describe(&state, &shop, None))
}

/// Versions shown on the page: a year of weekly edits.
const HISTORY: u32 = 50;

/// Who changed the shop's rules, when, and to what, newest first (a removal
/// has no text): for comparing a version with the editor and taking it back.
pub async fn history(State(state): State<SharedState>, auth: AgentAuth, Path(id): Path<String>) -> ApiResult<Json> {
    let shop = editable(&state, &auth, &id).await?;
    let versions = state.ctx.store.shop_rules_history(shop.id, HISTORY).await?;
    let versions: Vec<_> = versions
        .iter()
        .map(|v| {
            json!({
                "version": v.version,
                "text": v.change.text,
                "removed": v.change.text.is_none(),
                "changed_at": v.change.at.millis(),
                "changed_by": v.change.by,
            })
        })
        .collect();
    Ok(axum::Json(json!({ "versions": versions })))
}
