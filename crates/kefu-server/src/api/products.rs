//! The shop's catalogue as agents see it: a product card's product.

use axum::extract::{Path, State};
use serde_json::{Value, json};

use super::AgentAuth;
use crate::SharedState;
use crate::api::admin::shop_for;
use crate::dto::ProductDto;
use crate::error::{ApiError, ApiResult, Code};

pub async fn show(
    State(state): State<SharedState>,
    auth: AgentAuth,
    Path((shop, sku)): Path<(String, String)>,
) -> ApiResult<axum::Json<Value>> {
    let shop = shop_for(&state, &auth.agent, &shop).await?;
    let product = state
        .ctx
        .store
        .product_by_sku(shop, &sku)
        .await?
        .ok_or_else(|| ApiError::new(Code::NotFound, "product not found"))?;
    Ok(axum::Json(json!({ "product": ProductDto::from(&product) })))
}
