//! Outbound notifications on /admin: a shop's endpoint, a ping to try it,
//! the latest deliveries and what came of them, and sending one again.
//! Admins only: the endpoint decides where the shop's data goes.

use axum::extract::{Path, State};
use kefu_core::outbound::{Delivery, DeliveryState, Endpoint, EventSet, NotifyEvent};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::admin::shop_row_for;
use super::{AgentAuth, Body, Query, require};
use crate::SharedState;
use crate::error::{ApiError, ApiResult, Code};
use crate::http_out::HttpUrl;

type Json = axum::Json<Value>;

/// The most deliveries one list shows.
const LIST_LIMIT: u32 = 200;

#[derive(Debug, Serialize)]
pub struct DeliveryDto {
    pub id: String,
    pub event: &'static str,
    pub subject: Option<String>,
    pub created_at: i64,
    pub state: &'static str,
    pub attempts: u32,
    /// When it is next tried (pending only).
    pub next_at: Option<i64>,
    pub last_status: Option<u16>,
    pub last_error: Option<String>,
    pub delivered_at: Option<i64>,
}

impl From<&Delivery> for DeliveryDto {
    fn from(d: &Delivery) -> Self {
        DeliveryDto {
            id: d.id.to_string(),
            event: d.event.as_str(),
            subject: d.subject.map(|s| s.to_string()),
            created_at: d.created_at.millis(),
            state: d.state.as_str(),
            attempts: d.attempts,
            next_at: (d.state == DeliveryState::Pending).then_some(d.next_at.millis()),
            last_status: d.last_status,
            last_error: d.last_error.clone(),
            delivered_at: d.delivered_at.map(|t| t.millis()),
        }
    }
}

fn endpoint_json(e: &Option<Endpoint>) -> Value {
    match e {
        Some(e) => json!({
            "url": e.url,
            "enabled": e.enabled,
            "every_event": e.events.is_every(),
            "events": e.events.events().iter().map(|e| e.as_str()).collect::<Vec<_>>(),
            "updated_at": e.updated_at.millis(),
        }),
        None => Value::Null,
    }
}

#[derive(Deserialize)]
pub struct ListQuery {
    state: Option<String>,
    limit: Option<u32>,
}

/// `GET /api/admin/shops/{id}/notify`: the endpoint and the latest deliveries.
pub async fn show(
    State(state): State<SharedState>,
    auth: AgentAuth,
    Path(id): Path<String>,
    Query(q): Query<ListQuery>,
) -> ApiResult<Json> {
    require(auth.agent.role.administers(), "admins only")?;
    let shop = shop_row_for(&state, &auth.agent, &id).await?;
    let wanted = match q.state.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => Some(
            DeliveryState::parse(s)
                .ok_or_else(|| ApiError::new(Code::InvalidInput, "state must be pending, delivered or failed"))?,
        ),
    };
    let endpoint = state.ctx.store.notify_endpoint(shop.id).await?;
    let list = state.ctx.store.deliveries(shop.id, wanted, q.limit.unwrap_or(50).clamp(1, LIST_LIMIT)).await?;
    Ok(axum::Json(json!({
        "endpoint": endpoint_json(&endpoint),
        "events": NotifyEvent::choosable().map(|e| e.as_str()).collect::<Vec<_>>(),
        "deliveries": list.iter().map(DeliveryDto::from).collect::<Vec<_>>(),
    })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EndpointBody {
    url: String,
    #[serde(default = "yes")]
    enabled: bool,
    /// The events sent; absent, every event (also those added later).
    events: Option<Vec<String>>,
}

/// The events an admin chose, or why they cannot be.
fn chosen_events(names: Option<&[String]>) -> ApiResult<EventSet> {
    let Some(names) = names else { return Ok(EventSet::EVERY) };
    let refuse = |why: String| ApiError::new(Code::InvalidInput, why).with_details(json!({ "field": "events" }));
    if names.is_empty() {
        return Err(refuse("choose at least one event (or pause the endpoint)".into()));
    }
    names
        .iter()
        .map(|n| {
            NotifyEvent::choosable()
                .find(|e| e.as_str() == n.trim())
                .ok_or_else(|| refuse(format!("events: unknown event {:?}", n.chars().take(64).collect::<String>())))
        })
        .collect()
}

fn yes() -> bool {
    true
}

/// `PUT /api/admin/shops/{id}/notify`: sets the endpoint (`http://` only).
pub async fn save(
    State(state): State<SharedState>,
    auth: AgentAuth,
    Path(id): Path<String>,
    Body(body): Body<EndpointBody>,
) -> ApiResult<Json> {
    require(auth.agent.role.administers(), "admins only")?;
    let shop = shop_row_for(&state, &auth.agent, &id).await?;
    let url = HttpUrl::parse(&body.url)
        .map_err(|e| ApiError::new(Code::InvalidInput, format!("url: {e}")).with_details(json!({ "field": "url" })))?;
    let events = chosen_events(body.events.as_deref())?;
    let endpoint = Endpoint {
        shop: shop.id,
        url: url.to_string(),
        enabled: body.enabled,
        events,
        updated_at: state.ctx.clock.now(),
    };
    state.ctx.store.set_notify_endpoint(shop.id, Some(&endpoint)).await?;
    Ok(axum::Json(json!({ "endpoint": endpoint_json(&Some(endpoint)) })))
}

/// `DELETE /api/admin/shops/{id}/notify`: removes the endpoint. What is
/// queued stays and fails when its turn comes (an admin may send it again).
pub async fn remove(State(state): State<SharedState>, auth: AgentAuth, Path(id): Path<String>) -> ApiResult<Json> {
    require(auth.agent.role.administers(), "admins only")?;
    let shop = shop_row_for(&state, &auth.agent, &id).await?;
    state.ctx.store.set_notify_endpoint(shop.id, None).await?;
    Ok(axum::Json(json!({ "endpoint": null })))
}

/// `POST /api/admin/shops/{id}/notify/ping`: queues a `ping` to try the endpoint.
pub async fn ping(State(state): State<SharedState>, auth: AgentAuth, Path(id): Path<String>) -> ApiResult<Json> {
    require(auth.agent.role.administers(), "admins only")?;
    let shop = shop_row_for(&state, &auth.agent, &id).await?;
    if state.ctx.store.notify_endpoint(shop.id).await?.is_none_or(|e| !e.enabled) {
        return Err(ApiError::new(Code::Conflict, "the shop has no enabled endpoint to ping"));
    }
    let d = state.ctx.store.queue_delivery(shop.id, NotifyEvent::Ping, None, state.ctx.clock.now()).await?;
    Ok(axum::Json(json!({ "delivery": DeliveryDto::from(&d) })))
}

/// `POST /api/admin/shops/{id}/deliveries/{delivery}/retry`: sends one
/// again from its first attempt, whatever it came to.
pub async fn retry(
    State(state): State<SharedState>,
    auth: AgentAuth,
    Path((id, delivery)): Path<(String, String)>,
) -> ApiResult<Json> {
    require(auth.agent.role.administers(), "admins only")?;
    let shop = shop_row_for(&state, &auth.agent, &id).await?;
    let delivery =
        uuid::Uuid::parse_str(delivery.trim()).map_err(|_| ApiError::new(Code::NotFound, "delivery not found"))?;
    let d = state.ctx.store.retry_delivery(shop.id, delivery, state.ctx.clock.now()).await?;
    Ok(axum::Json(json!({ "delivery": DeliveryDto::from(&d) })))
}
