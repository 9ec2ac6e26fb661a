//! The shopper's side: a chat token (anonymous visitor or signed identity),
//! history, their orders, and the rating.

use axum::extract::{Path, State};
use kefu_core::conversation::ConversationStatus;
use kefu_core::customer::{Customer, Tier};
use kefu_core::desk;
use kefu_core::id::{ConversationId, CustomerId};
use kefu_core::money::Fen;
use kefu_core::service::PeopleNow;
use kefu_core::shop::ShopSlug;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{Body, ClientIp, CustomerAuth, Query, customer_from_token, parse_id, per_ip};
use crate::SharedState;
use crate::auth::{self, CustomerClaims, TokenError};
use crate::dto::{CustomerConversationDto, MessageDto, OrderDto, ProductDto};
use crate::error::{ApiError, ApiResult, Code};

type Json = axum::Json<Value>;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Identity {
    /// The merchant's own customer id.
    customer_id: String,
    /// Unix seconds after which the signature is refused.
    expires: i64,
    /// hex(HMAC-SHA256(shop secret, "{customer_id}:{expires}")).
    signature: String,
    nickname: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionBody {
    shop: String,
    /// A token from an earlier session (anonymous visitors keep theirs).
    token: Option<String>,
    identity: Option<Identity>,
}

pub async fn session(State(state): State<SharedState>, ip: ClientIp, Body(body): Body<SessionBody>) -> ApiResult<Json> {
    let slug = ShopSlug::parse(&body.shop).map_err(|_| ApiError::new(Code::NotFound, "shop not found"))?;
    let shop =
        state.ctx.store.shop_by_slug(&slug).await?.ok_or_else(|| ApiError::new(Code::NotFound, "shop not found"))?;
    let now = state.ctx.clock.now();
    let customer = if let Some(id) = body.identity {
        auth::verify_identity(shop.secret.expose(), &id.customer_id, id.expires, &id.signature, now).map_err(|e| {
            match e {
                TokenError::Expired => ApiError::new(Code::IdentityExpired, "the identity signature has expired"),
                TokenError::Invalid => {
                    ApiError::new(Code::IdentityInvalid, "the identity signature is not valid for this shop")
                }
            }
        })?;
        let external = id.customer_id.trim().to_owned();
        if external.is_empty() || external.chars().count() > 64 {
            return Err(ApiError::new(Code::InvalidInput, "customer_id must be 1-64 characters"));
        }
        match state.ctx.store.customer_ids_by_external(shop.id, std::slice::from_ref(&external)).await?.get(&external) {
            Some(cid) => state
                .ctx
                .store
                .customer(*cid)
                .await?
                .ok_or_else(|| ApiError::new(Code::NotFound, "customer not found"))?,
            None => {
                // A shopper the merchant has not imported yet: remember them.
                let nickname =
                    id.nickname.map(|n| n.trim().chars().take(32).collect::<String>()).filter(|n| !n.is_empty());
                let c = new_customer(
                    &state,
                    shop.id,
                    Some(external.clone()),
                    nickname.unwrap_or_else(|| format!("买家{external}")),
                );
                state.ctx.store.upsert_customers(std::slice::from_ref(&c)).await?;
                let cid = state.ctx.store.customer_ids_by_external(shop.id, std::slice::from_ref(&external)).await?;
                let cid = cid.get(&external).ok_or_else(|| ApiError::new(Code::Internal, "customer vanished"))?;
                state
                    .ctx
                    .store
                    .customer(*cid)
                    .await?
                    .ok_or_else(|| ApiError::new(Code::NotFound, "customer not found"))?
            }
        }
    } else if let Some(existing) = body.token.as_deref().filter(|t| !t.is_empty()) {
        match customer_from_token(&state, existing).await {
            Ok(auth) if auth.customer.shop_id == shop.id && auth.customer.external_id.is_none() => auth.customer,
            // Expired or foreign token: start a new visitor rather than fail.
            _ => new_visitor(&state, &ip, shop.id).await?,
        }
    } else {
        new_visitor(&state, &ip, shop.id).await?
    };
    let claims = CustomerClaims {
        shop: shop.id,
        customer: customer.id,
        expires_at: now.plus_days(state.config.customer_token_days),
    };
    let token = auth::sign_customer_token(&state.server_key, &claims);
    let open = state.ctx.store.open_conversation_of_customer(customer.id).await?;
    let service = service(&state, shop.id).await?;
    Ok(axum::Json(json!({
        "service": service,
        "token": token,
        "expires_at": claims.expires_at.millis(),
        "shop": { "slug": shop.slug.as_str(), "name": shop.name },
        "customer": { "id": customer.id.to_string(), "nickname": customer.nickname, "identified": customer.external_id.is_some() },
        "conversation": open.as_ref().map(CustomerConversationDto::from),
    })))
}

/// What the chat's header may honestly say: whether people answer now
/// (someone online — an agent's status is 接待中 only while their workspace
/// is connected, see `presence_timeout` — in service hours or working late
/// on a sale night), how fast they have been answering today (`typical`),
/// whether it is service hours, and when they next open.
async fn service(state: &SharedState, shop: kefu_core::id::ShopId) -> ApiResult<Value> {
    let now = state.ctx.clock.now();
    let hours = state.bot.service_hours(&state.ctx, shop).await;
    let in_hours = hours.is_open(now);
    let someone_online = state.ctx.store.someone_online(shop).await?;
    // A promise only while people answer: what today's answers kept, if most kept one.
    let typical =
        if someone_online { state.typical.of(&state.ctx, shop).await?.map(crate::typical::name) } else { None };
    Ok(json!({
        "people_now": someone_online,
        "typical_reply": typical,
        "in_hours": in_hours,
        "next_open": hours.next_open(now).millis(),
    }))
}

fn new_customer(
    state: &SharedState,
    shop: kefu_core::id::ShopId,
    external_id: Option<String>,
    nickname: String,
) -> Customer {
    Customer {
        id: CustomerId::from_uuid(state.ctx.ids.new_uuid()),
        shop_id: shop,
        external_id,
        nickname,
        tier: Tier::Normal,
        tags: Vec::new(),
        phone: None,
        lifetime_spend: Fen(0),
        complaint_count: 0,
        created_at: state.ctx.clock.now(),
    }
}

/// A new anonymous visitor, within the address's limit (each one starts a
/// fresh upload quota, so a script must not mint them freely).
async fn new_visitor(state: &SharedState, ip: &ClientIp, shop: kefu_core::id::ShopId) -> ApiResult<Customer> {
    per_ip(state, &state.visitors_per_ip, ip, "new chat visitors")?;
    let id = CustomerId::from_uuid(state.ctx.ids.new_uuid());
    let simple = id.as_uuid().simple().to_string();
    let tail = simple.get(simple.len() - 4..).unwrap_or("0000");
    let mut visitor = new_customer(state, shop, None, format!("访客{tail}"));
    visitor.id = id;
    state.ctx.store.upsert_customers(std::slice::from_ref(&visitor)).await?;
    Ok(visitor)
}

#[derive(Deserialize)]
pub struct PageQuery {
    conversation_id: Option<String>,
    before: Option<i64>,
    limit: Option<u32>,
}

/// History of the shopper's conversation (their open one by default).
pub async fn messages(
    State(state): State<SharedState>,
    auth: CustomerAuth,
    Query(q): Query<PageQuery>,
) -> ApiResult<Json> {
    let conversation = match q.conversation_id.as_deref() {
        Some(id) => {
            Some(desk::open_for_customer(&state.ctx, &auth.customer, parse_id(id, ConversationId::parse)?).await?)
        }
        None => state.ctx.store.open_conversation_of_customer(auth.customer.id).await?,
    };
    let Some(conversation) = conversation else {
        return Ok(axum::Json(json!({ "conversation": null, "messages": [] })));
    };
    let limit = q.limit.unwrap_or(50).clamp(1, 200);
    let list = state.ctx.store.messages_before(conversation.id, q.before.unwrap_or(i64::MAX), limit).await?;
    let dtos: Vec<MessageDto> =
        list.iter().filter(|m| m.visible_to_customer()).map(|m| MessageDto::new(m, true)).collect();
    Ok(axum::Json(json!({ "conversation": CustomerConversationDto::from(&conversation), "messages": dtos })))
}

/// The identified shopper's recent orders, for 选择订单, with what is open
/// on them (a card says 售后处理中 while an after-sales request waits).
pub async fn orders(State(state): State<SharedState>, auth: CustomerAuth) -> ApiResult<Json> {
    let orders = state.ctx.store.orders_with_shipments(auth.customer.id, 10).await?;
    let list: Vec<OrderDto> = orders.iter().map(|o| OrderDto::new(&o.order, &[], &o.open_requests)).collect();
    Ok(axum::Json(json!({ "orders": list })))
}

/// A product of the shopper's shop, for a product card (咨询此商品).
pub async fn product(State(state): State<SharedState>, auth: CustomerAuth, Path(sku): Path<String>) -> ApiResult<Json> {
    let product = state
        .ctx
        .store
        .product_by_sku(auth.customer.shop_id, &sku)
        .await?
        .ok_or_else(|| ApiError::new(Code::NotFound, "product not found"))?;
    Ok(axum::Json(json!({ "product": ProductDto::from(&product) })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateBody {
    conversation_id: String,
    csat: u8,
}

pub async fn rate(State(state): State<SharedState>, auth: CustomerAuth, Body(body): Body<RateBody>) -> ApiResult<Json> {
    let id = parse_id(&body.conversation_id, ConversationId::parse)?;
    let conversation = desk::rate(&state.ctx, &auth.customer, id, body.csat).await?;
    Ok(axum::Json(json!({ "conversation": CustomerConversationDto::from(&conversation) })))
}

/// `GET /api/widget/queue`: where the shopper's open conversation stands —
/// with the bot, waiting (how many are ahead, about how long once the
/// queue's pace is known, and whether anyone is there to take it: `people`
/// answering, nobody_online, or closed until `next_open`), offered to an
/// agent (`offered`: next), or with which agent.
pub async fn queue(State(state): State<SharedState>, auth: CustomerAuth) -> ApiResult<Json> {
    let store = &state.ctx.store;
    let Some(c) = store.open_conversation_of_customer(auth.customer.id).await? else {
        return Ok(axum::Json(json!({ "status": null })));
    };
    let mut v = json!({ "conversation_id": c.id.to_string(), "status": c.status.as_str() });
    match c.status {
        ConversationStatus::Queued => {
            let standing = state.queue.standing(store.as_ref(), c.shop_id, c.id).await?;
            v["ahead"] = json!(standing.ahead);
            v["wait_seconds"] = json!(standing.wait.map(|w| w.as_secs()));
            // Nobody online: no wait to promise; say whether it is the
            // shop's hours (people may come) or when they are back.
            let now = state.ctx.clock.now();
            let hours = state.bot.service_hours(&state.ctx, c.shop_id).await;
            match PeopleNow::of(standing.someone_online, &hours, now) {
                PeopleNow::Answering => v["people"] = json!("answering"),
                PeopleNow::NobodyOnline => v["people"] = json!("nobody_online"),
                PeopleNow::Closed { next_open } => {
                    v["people"] = json!("closed");
                    v["next_open"] = json!(next_open.millis());
                }
            }
        }
        // Offered to an agent who has not taken it yet: no name to promise.
        ConversationStatus::Assigned if c.offered_until.is_some() => v["offered"] = json!(true),
        ConversationStatus::Assigned => {
            let agent = match c.assigned_agent {
                Some(id) => store.agent(id).await?,
                None => None,
            };
            v["agent_name"] = json!(agent.map(|a| a.display_name));
        }
        ConversationStatus::Bot | ConversationStatus::Closed => {}
    }
    Ok(axum::Json(v))
}
