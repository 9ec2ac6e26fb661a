//! The merchant's order system pushing data in: batch upserts and webhooks,
//! both signed with the shop's secret (`X-Kefu-Signature`).

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use kefu_core::request::{RequestFilter, RequestStatus, Resolution};
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

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RequestQuery {
    /// Comma-separated: open, done, rejected; default open.
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    limit: Option<u32>,
}

fn typed<T: serde::de::DeserializeOwned>(body: &[u8]) -> ApiResult<T> {
    serde_json::from_slice(body).map_err(|e| {
        let code = if e.is_data() { Code::InvalidInput } else { Code::MalformedJson };
        ApiError::new(code, e.to_string())
    })
}

/// `POST /api/merchant/{shop}/order-requests/query`: the shop's requests for
/// its warehouse and after-sales systems to work on, newest first. A POST
/// with a signed body (not a GET) so the filter is signed too.
pub async fn requests(
    State(state): State<SharedState>,
    Path(shop): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<axum::Json<Value>> {
    let shop = verified_shop(&state, &shop, &headers, &body).await?;
    let q: RequestQuery = typed(&body)?;
    let statuses = super::requests::statuses(q.status.as_deref(), &[RequestStatus::Open])?;
    let filter =
        RequestFilter { statuses, limit: q.limit.unwrap_or(100).clamp(1, 500), ..RequestFilter::shop(shop.id) };
    Ok(axum::Json(json!({ "requests": super::requests::listed(&state, &filter).await? })))
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ResolveBody {
    /// The request's id: in the signed body, so a signature closes one request only.
    id: String,
    /// `done` or `rejected`.
    status: String,
    #[serde(default)]
    note: String,
}

/// `POST /api/merchant/{shop}/order-requests/resolve`: the merchant's system
/// closes a request (the urge is shipped, the refund paid).
pub async fn resolve_request(
    State(state): State<SharedState>,
    Path(shop): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<axum::Json<Value>> {
    let shop = verified_shop(&state, &shop, &headers, &body).await?;
    let b: ResolveBody = typed(&body)?;
    let id = uuid::Uuid::parse_str(&b.id).map_err(|_| ApiError::new(Code::NotFound, "order request not found"))?;
    let (status, note) = super::requests::closing(&b.status, &b.note)?;
    let resolution = Resolution { shop: shop.id, id, status, by: None, note, at: state.ctx.clock.now() };
    let row = state.ctx.store.resolve_order_request(&resolution).await?;
    state.ctx.bus.publish(kefu_core::event::Event::request_changed(&row));
    Ok(axum::Json(json!({ "request": super::requests::dto(&state, row).await? })))
}
