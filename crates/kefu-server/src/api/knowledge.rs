//! The knowledge base: every agent of a shop reads and searches it;
//! supervisors and admins write it. The bot answers from it (a shop's
//! brain is dropped on every edit, so the next turn reads the new entries).

use axum::extract::{Path, State};
use kefu_bot::knowledge::Knowledge;
use kefu_core::id::{KnowledgeId, ShopId};
use kefu_core::knowledge::{KnowledgeEntry, KnowledgeText};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{AgentAuth, Body, Query, parse_id, require};
use crate::SharedState;
use crate::api::admin::shop_for;
use crate::error::{ApiError, ApiResult, Code};

type Json = axum::Json<Value>;

/// Entries one shop may hold.
const MAX_ENTRIES: u32 = 5_000;

#[derive(Deserialize)]
pub struct SearchQuery {
    /// Search text: the closest entries, best first, with their similarity.
    q: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EntryBody {
    question: String,
    #[serde(default)]
    alternates: Vec<String>,
    answer: String,
    #[serde(default)]
    category: Option<String>,
    #[serde(default = "yes")]
    enabled: bool,
}

fn yes() -> bool {
    true
}

fn dto(e: &KnowledgeEntry) -> Value {
    json!({
        "id": e.id.to_string(),
        "question": e.question,
        "alternates": e.alternates,
        "answer": e.answer,
        "category": e.category.as_ref().map(|c| c.joined()),
        "enabled": e.enabled,
        "updated_at": e.updated_at.millis(),
    })
}

pub async fn list(
    State(state): State<SharedState>,
    auth: AgentAuth,
    Path(shop): Path<String>,
    Query(query): Query<SearchQuery>,
) -> ApiResult<Json> {
    let shop = shop_for(&state, &auth.agent, &shop).await?;
    let entries = state.ctx.store.knowledge(shop, MAX_ENTRIES).await?;
    match query.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
        None => Ok(axum::Json(json!({ "entries": entries.iter().map(dto).collect::<Vec<_>>() }))),
        Some(q) => {
            if q.chars().count() > 500 {
                return Err(ApiError::new(Code::InvalidInput, "q: at most 500 characters"));
            }
            let kb = Knowledge::new(entries);
            let found: Vec<Value> = kb
                .search(q, 5)
                .into_iter()
                .filter(|f| f.score > 0.0)
                .map(|f| {
                    let mut v = dto(f.entry);
                    v["score"] = json!(f.score);
                    v
                })
                .collect();
            Ok(axum::Json(json!({ "entries": found })))
        }
    }
}

fn entry(state: &SharedState, shop: ShopId, id: KnowledgeId, body: EntryBody) -> ApiResult<KnowledgeEntry> {
    let text = KnowledgeText::parse(&body.question, &body.alternates, &body.answer, body.category.as_deref()).map_err(
        |e| {
            ApiError::new(Code::InvalidInput, e.to_string()).with_details(json!({ "field": e.field, "reason": e.code }))
        },
    )?;
    Ok(KnowledgeEntry::new(id, shop, text, body.enabled, state.ctx.clock.now()))
}

pub async fn create(
    State(state): State<SharedState>,
    auth: AgentAuth,
    Path(shop): Path<String>,
    Body(body): Body<EntryBody>,
) -> ApiResult<Json> {
    require(auth.agent.role.supervises(), "supervisors only")?;
    let shop = shop_for(&state, &auth.agent, &shop).await?;
    if state.ctx.store.knowledge(shop, MAX_ENTRIES).await?.len() >= MAX_ENTRIES as usize {
        return Err(ApiError::new(Code::Conflict, format!("a shop holds at most {MAX_ENTRIES} entries")));
    }
    let e = entry(&state, shop, KnowledgeId::from_uuid(state.ctx.ids.new_uuid()), body)?;
    state.ctx.store.put_knowledge(&e).await?;
    state.bot.forget(shop);
    Ok(axum::Json(json!({ "entry": dto(&e) })))
}

pub async fn update(
    State(state): State<SharedState>,
    auth: AgentAuth,
    Path((shop, id)): Path<(String, String)>,
    Body(body): Body<EntryBody>,
) -> ApiResult<Json> {
    require(auth.agent.role.supervises(), "supervisors only")?;
    let shop = shop_for(&state, &auth.agent, &shop).await?;
    let id = parse_id(&id, KnowledgeId::parse)?;
    let e = entry(&state, shop, id, body)?;
    // Only an existing entry of this shop: PUT never creates one under a chosen id.
    if !state.ctx.store.knowledge(shop, MAX_ENTRIES).await?.iter().any(|k| k.id == id) {
        return Err(ApiError::new(Code::NotFound, "knowledge entry not found"));
    }
    state.ctx.store.put_knowledge(&e).await?;
    state.bot.forget(shop);
    Ok(axum::Json(json!({ "entry": dto(&e) })))
}

pub async fn delete(
    State(state): State<SharedState>,
    auth: AgentAuth,
    Path((shop, id)): Path<(String, String)>,
) -> ApiResult<Json> {
    require(auth.agent.role.supervises(), "supervisors only")?;
    let shop = shop_for(&state, &auth.agent, &shop).await?;
    let id = parse_id(&id, KnowledgeId::parse)?;
    state.ctx.store.delete_knowledge(shop, id).await?;
    state.bot.forget(shop);
    Ok(axum::Json(json!({ "deleted": id.to_string() })))
}
