//! The merchant's order system pushing data in: batch upserts and webhooks,
//! both signed with the shop's secret (`X-Kefu-Signature`).

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use kefu_core::shop::{Shop, ShopSlug};
use serde_json::{Value, json};

use crate::SharedState;
use crate::auth::{self, TokenError};
use crate::error::{ApiError, ApiResult, Code};
use crate::records::{self, ImportError, Kind};

pub const SIGNATURE_HEADER: &str = "x-kefu-signature";

async fn verified_shop(state: &SharedState, slug: &str, headers: &HeaderMap, body: &[u8]) -> ApiResult<Shop> {
    let slug = ShopSlug::parse(slug).map_err(|_| ApiError::new(Code::NotFound, "shop not found"))?;
    let shop =
        state.ctx.store.shop_by_slug(&slug).await?.ok_or_else(|| ApiError::new(Code::NotFound, "shop not found"))?;
    let header = headers.get(SIGNATURE_HEADER).and_then(|v| v.to_str().ok()).unwrap_or("");
    auth::verify_webhook(shop.secret.expose(), header, body, state.ctx.clock.now()).map_err(|e| match e {
        TokenError::Expired => {
            ApiError::new(Code::SignatureInvalid, "the signature timestamp is too old (more than 5 minutes)")
        }
        TokenError::Invalid => ApiError::new(Code::SignatureInvalid, "missing or wrong X-Kefu-Signature"),
    })?;
    Ok(shop)
}

fn kind(text: &str) -> ApiResult<Kind> {
    Kind::parse(text).ok_or_else(|| {
        ApiError::new(Code::NotFound, "kind must be customers, products, orders, shipments or knowledge")
    })
}

fn import_error(e: ImportError) -> ApiError {
    match e {
        ImportError::Rows(rows) => {
            let details: Vec<Value> = rows
                .iter()
                .take(100)
                .map(|r| json!({ "line": r.line, "field": r.field, "message": r.message }))
                .collect();
            ApiError::new(Code::ImportRowInvalid, format!("{} invalid row(s); nothing was written", rows.len()))
                .with_details(json!({ "rows": details }))
        }
        ImportError::Store(e) => ApiError::from(e),
    }
}

fn json_body(body: &[u8]) -> ApiResult<Value> {
    serde_json::from_slice(body).map_err(|e| ApiError::new(Code::MalformedJson, e.to_string()))
}

/// `POST /api/merchant/{shop}/{kind}` with a JSON array of records: all or nothing.
pub async fn upsert(
    State(state): State<SharedState>,
    Path((shop, kind_text)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<axum::Json<Value>> {
    let kind = kind(&kind_text)?;
    let shop = verified_shop(&state, &shop, &headers, &body).await?;
    let Value::Array(rows) = json_body(&body)? else {
        return Err(ApiError::new(Code::InvalidInput, "the body must be a JSON array of records"));
    };
    if rows.len() > 10_000 {
        return Err(ApiError::new(Code::PayloadTooLarge, "at most 10,000 records per request"));
    }
    let rows = rows.into_iter().enumerate().map(|(i, v)| (i + 1, v)).collect();
    let n = records::apply(&state.ctx, shop.id, kind, rows).await.map_err(import_error)?;
    // The bot reads the new catalogue and knowledge on its next turn.
    state.bot.forget(shop.id);
    Ok(axum::Json(json!({ "upserted": n })))
}

/// `POST /webhooks/{shop}/{orders|shipments|…}` with one record, e.g. when an
/// order ships.
pub async fn webhook(
    State(state): State<SharedState>,
    Path((shop, kind_text)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<axum::Json<Value>> {
    let kind = kind(&kind_text)?;
    let shop = verified_shop(&state, &shop, &headers, &body).await?;
    let record = json_body(&body)?;
    if !record.is_object() {
        return Err(ApiError::new(Code::InvalidInput, "the body must be one JSON record"));
    }
    records::apply(&state.ctx, shop.id, kind, vec![(1, record)]).await.map_err(import_error)?;
    state.bot.forget(shop.id);
    Ok(axum::Json(json!({ "ok": true })))
}
