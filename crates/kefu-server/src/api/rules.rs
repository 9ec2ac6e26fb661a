//! A shop's bot rules edited on /admin: the TOML a rules file holds, checked
//! before it is stored, so the bot never reads a policy nobody could parse.
//! Stored rules win over the shop's rules file; removing them goes back to
//! the file, or to the defaults. Every node's bot picks a change up with its
//! next brain rebuild (60 s); this node's at once. Every save and removal is
//! kept in the shop's rules history: a policy shoppers were held to can be
//! looked up, compared and taken back.

use axum::extract::{Path, RawQuery, State};
use kefu_bot::rules::{DEFAULT_FILE, ShopRules};
use kefu_core::shop::Shop;
use kefu_core::store::{RulesChange, ShopRulesState, StoreError, StoredRules};
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
    /// The `version` the editor started from. When given, a save over a
    /// change made since is refused (`conflict`) instead of overwriting it.
    #[serde(default)]
    base_version: Option<i64>,
}

/// The shop, for a supervisor of it.
async fn editable(state: &SharedState, auth: &AgentAuth, id: &str) -> ApiResult<Shop> {
    require(auth.agent.role.supervises(), "supervisors only")?;
    shop_row_for(state, &auth.agent, id).await
}

/// What the page shows: where the shop's rules come from, the stored text,
/// and the version a save must name to be sure it overwrites nothing unseen.
fn describe(state: &SharedState, shop: &Shop, rules: &ShopRulesState) -> serde_json::Value {
    let stored = rules.stored.as_ref();
    let source = match (stored, state.bot.has_rules_file(shop.slug.as_str())) {
        (Some(_), _) => "admin",
        (None, true) => "file",
        (None, false) => "default",
    };
    json!({
        "source": source,
        "text": stored.map(|r| r.text.as_str()),
        "updated_at": stored.map(|r| r.updated_at.millis()),
        "updated_by": stored.map(|r| r.updated_by.as_str()),
        "version": rules.version,
        "default_text": DEFAULT_FILE,
    })
}

pub async fn show(State(state): State<SharedState>, auth: AgentAuth, Path(id): Path<String>) -> ApiResult<Json> {
    let shop = editable(&state, &auth, &id).await?;
    let rules = state.ctx.store.shop_rules(shop.id).await?;
    Ok(axum::Json(describe(&state, &shop, &rules)))
}

/// Writes the change, or says who changed the rules since `base`: the
/// answer's `details.current` is the page's state now, so the editor can
/// show the other change beside its own.
async fn change(state: &SharedState, shop: &Shop, change: RulesChange, base: Option<i64>) -> ApiResult<ShopRulesState> {
    match state.ctx.store.put_shop_rules(shop.id, &change, base).await {
        Ok(version) => {
            tracing::info!(shop = %shop.id, by = change.by, version, removed = change.text.is_none(), "bot rules changed");
            state.bot.forget(shop.id);
            let stored = change.text.map(|text| StoredRules { text, updated_at: change.at, updated_by: change.by });
            Ok(ShopRulesState { stored, version })
        }
        Err(StoreError::Conflict("rules_changed")) => {
            let now = state.ctx.store.shop_rules(shop.id).await?;
            Err(ApiError::new(Code::Conflict, "the rules were changed by someone else since they were loaded")
                .with_details(json!({ "current": describe(state, shop, &now) })))
        }
        Err(e) => Err(e.into()),
    }
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
    let saved =
        RulesChange { text: Some(body.text), at: state.ctx.clock.now(), by: auth.agent.username.as_str().to_owned() };
    let rules = change(&state, &shop, saved, body.base_version).await?;
    Ok(axum::Json(describe(&state, &shop, &rules)))
}

/// `DELETE …/bot-rules?base_version=N`: the query is optional, as `base_version` is for a save.
pub async fn remove(
    State(state): State<SharedState>,
    auth: AgentAuth,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> ApiResult<Json> {
    let shop = editable(&state, &auth, &id).await?;
    let base = base_version(query.as_deref())?;
    let removal = RulesChange { text: None, at: state.ctx.clock.now(), by: auth.agent.username.as_str().to_owned() };
    let rules = change(&state, &shop, removal, base).await?;
    Ok(axum::Json(describe(&state, &shop, &rules)))
}

/// `base_version=N` from a query string; other parameters are ignored.
fn base_version(query: Option<&str>) -> ApiResult<Option<i64>> {
    let Some(v) = query.into_iter().flat_map(|q| q.split('&')).find_map(|p| p.strip_prefix("base_version=")) else {
        return Ok(None);
    };
    v.parse::<i64>().map(Some).map_err(|_| ApiError::new(Code::InvalidInput, "base_version: a version number"))
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
