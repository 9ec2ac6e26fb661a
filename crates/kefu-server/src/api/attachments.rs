//! Images: uploaded as the request body (the bytes say what they are, not
//! the request), sent as an `image` message naming the returned id, and
//! served only to the shop's agents and the shopper they concern.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use kefu_core::attachment::Attachment;
use kefu_core::conversation::Sender;
use kefu_core::desk;
use kefu_core::id::{AttachmentId, ConversationId};
use serde_json::{Value, json};

use super::{AgentAuth, ClientIp, CustomerAuth, parse_id, per_ip};
use crate::SharedState;
use crate::error::ApiResult;

fn dto(a: &Attachment) -> axum::Json<Value> {
    axum::Json(
        json!({ "attachment": { "id": a.id.to_string(), "content_type": a.kind.mime(), "size": a.bytes.len() } }),
    )
}

/// The image itself: its own type, kept privately by the browser, never
/// run or sniffed as anything else.
fn image(a: Attachment) -> Response {
    (
        [
            (header::CONTENT_TYPE, a.kind.mime()),
            (header::CACHE_CONTROL, "private, max-age=31536000, immutable"),
            (header::CONTENT_DISPOSITION, "inline"),
            (header::CONTENT_SECURITY_POLICY, "default-src 'none'; sandbox"),
        ],
        a.bytes,
    )
        .into_response()
}

pub async fn shopper_upload(
    State(state): State<SharedState>,
    auth: CustomerAuth,
    ip: ClientIp,
    body: Bytes,
) -> ApiResult<axum::Json<Value>> {
    per_ip(&state, &state.uploads_per_ip, &ip, "images")?;
    let c = &auth.customer;
    let a = desk::upload_image(&state.ctx, c.shop_id, c.id, Sender::Customer(c.id), body.to_vec()).await?;
    Ok(dto(&a))
}

pub async fn agent_upload(
    State(state): State<SharedState>,
    auth: AgentAuth,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<axum::Json<Value>> {
    let id = parse_id(&id, ConversationId::parse)?;
    let a = desk::agent_upload_image(&state.ctx, &auth.agent, id, body.to_vec()).await?;
    Ok(dto(&a))
}

pub async fn shopper_show(
    State(state): State<SharedState>,
    auth: CustomerAuth,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let id = parse_id(&id, AttachmentId::parse)?;
    Ok(image(desk::image_for_customer(&state.ctx, &auth.customer, id).await?))
}

pub async fn agent_show(
    State(state): State<SharedState>,
    auth: AgentAuth,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let id = parse_id(&id, AttachmentId::parse)?;
    Ok(image(desk::image_for_agent(&state.ctx, &auth.agent, id).await?))
}
