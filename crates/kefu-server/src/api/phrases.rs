//! Quick phrases (快捷短语): every agent of a shop reads them, with their
//! pinyin initials for the composer's `/` search; supervisors and admins
//! write them.

use axum::extract::{Path, State};
use kefu_core::id::{PhraseId, ShopId};
use kefu_core::phrase::{MAX_PER_SHOP, QuickPhrase};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{AgentAuth, Body, parse_id, require};
use crate::SharedState;
use crate::api::admin::shop_for;
use crate::error::{ApiError, ApiResult, Code};

type Json = axum::Json<Value>;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PhraseBody {
    code: String,
    text: String,
}

fn dto(p: &QuickPhrase) -> Value {
    json!({
        "id": p.id.to_string(),
        "code": p.code,
        "text": p.text,
        // What `/` matches besides the code and the text: 发货时间 → fhsj.
        "initials": kefu_nlu::pinyin::initials(&p.text),
        "updated_at": p.updated_at.millis(),
    })
}

fn phrase(state: &SharedState, shop: ShopId, id: PhraseId, body: &PhraseBody) -> ApiResult<QuickPhrase> {
    QuickPhrase::parse(id, shop, &body.code, &body.text, state.ctx.clock.now()).map_err(|e| {
        ApiError::new(Code::InvalidInput, e.to_string()).with_details(json!({ "field": e.field, "reason": e.code }))
    })
}

pub async fn list(State(state): State<SharedState>, auth: AgentAuth, Path(shop): Path<String>) -> ApiResult<Json> {
    let shop = shop_for(&state, &auth.agent, &shop).await?;
    let phrases = state.ctx.store.quick_phrases(shop).await?;
    Ok(axum::Json(json!({ "phrases": phrases.iter().map(dto).collect::<Vec<_>>() })))
}

pub async fn create(
    State(state): State<SharedState>,
    auth: AgentAuth,
    Path(shop): Path<String>,
    Body(body): Body<PhraseBody>,
) -> ApiResult<Json> {
    require(auth.agent.role.supervises(), "supervisors only")?;
    let shop = shop_for(&state, &auth.agent, &shop).await?;
    let p = phrase(&state, shop, PhraseId::from_uuid(state.ctx.ids.new_uuid()), &body)?;
    if state.ctx.store.quick_phrases(shop).await?.len() >= MAX_PER_SHOP {
        return Err(ApiError::new(Code::Conflict, format!("a shop holds at most {MAX_PER_SHOP} quick phrases")));
    }
    state.ctx.store.put_quick_phrase(&p).await?;
    Ok(axum::Json(json!({ "phrase": dto(&p) })))
}

pub async fn update(
    State(state): State<SharedState>,
    auth: AgentAuth,
    Path((shop, id)): Path<(String, String)>,
    Body(body): Body<PhraseBody>,
) -> ApiResult<Json> {
    require(auth.agent.role.supervises(), "supervisors only")?;
    let shop = shop_for(&state, &auth.agent, &shop).await?;
    let id = parse_id(&id, PhraseId::parse)?;
    let p = phrase(&state, shop, id, &body)?;
    // Only an existing phrase of this shop: PUT never creates one under a chosen id.
    if !state.ctx.store.quick_phrases(shop).await?.iter().any(|q| q.id == id) {
        return Err(ApiError::new(Code::NotFound, "quick phrase not found"));
    }
    state.ctx.store.put_quick_phrase(&p).await?;
    Ok(axum::Json(json!({ "phrase": dto(&p) })))
}

pub async fn delete(
    State(state): State<SharedState>,
    auth: AgentAuth,
    Path((shop, id)): Path<(String, String)>,
) -> ApiResult<Json> {
    require(auth.agent.role.supervises(), "supervisors only")?;
    let shop = shop_for(&state, &auth.agent, &shop).await?;
    let id = parse_id(&id, PhraseId::parse)?;
    state.ctx.store.delete_quick_phrase(shop, id).await?;
    Ok(axum::Json(json!({ "deleted": id.to_string() })))
}
