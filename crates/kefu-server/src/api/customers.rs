//! The customer panel: profile, orders with shipments, the requests filed
//! on them, past conversations.

use axum::extract::{Path, State};
use kefu_core::conversation::ConversationStatus;
use kefu_core::id::CustomerId;
use kefu_core::request::RequestFilter;
use kefu_core::store::ConversationFilter;
use serde_json::{Value, json};

use super::{AgentAuth, parse_id};
use crate::SharedState;
use crate::dto::{ConversationOverviewDto, CustomerDto, OrderDto};
use crate::error::{ApiError, ApiResult, Code};

pub async fn show(
    State(state): State<SharedState>,
    auth: AgentAuth,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<Value>> {
    let id = parse_id(&id, CustomerId::parse)?;
    let customer = state
        .ctx
        .store
        .customer(id)
        .await?
        .filter(|c| auth.agent.can_access_shop(c.shop_id))
        .ok_or_else(|| ApiError::new(Code::NotFound, "customer not found"))?;
    let orders = state.ctx.store.orders_with_shipments(customer.id, 20).await?;
    let order_dtos: Vec<OrderDto> =
        orders.iter().map(|o| OrderDto::new(&o.order, &o.shipments, &o.open_requests)).collect();
    let history = state
        .ctx
        .store
        .conversations(&ConversationFilter {
            shops: vec![customer.shop_id],
            statuses: vec![ConversationStatus::Closed],
            customer: Some(customer.id),
            limit: 20,
            ..Default::default()
        })
        .await?;
    let history: Vec<ConversationOverviewDto> = history.iter().map(ConversationOverviewDto::from).collect();
    let filter = RequestFilter { customer: Some(customer.id), limit: 50, ..RequestFilter::shop(customer.shop_id) };
    let requests = super::requests::listed(&state, &filter).await?;
    Ok(axum::Json(json!({
        "customer": CustomerDto::from(&customer),
        "orders": order_dtos,
        "conversations": history,
        "requests": requests,
    })))
}
