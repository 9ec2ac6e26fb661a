//! Order requests (服务单) in the workspace: an agent acts on the shopper's
//! order under the shop's rules (the bot's own decisions,
//! `kefu_bot::agent_actions`), requests are listed per shop, and people
//! close them.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use kefu_bot::agent_actions::{self, Ask};
use kefu_core::aftersales::Reason;
use kefu_core::agent::Agent;
use kefu_core::desk;
use kefu_core::id::{AgentId, ConversationId, CustomerId};
use kefu_core::invoice::{CreditCode, Email, Title};
use kefu_core::order::OrderNo;
use kefu_core::request::{self, FiledRequest, RequestFilter, RequestRow, RequestStatus, Resolution};
use serde::Deserialize;
use serde_json::{Value, json};

use super::admin::shop_for;
use super::{AgentAuth, Body, Query, parse_id, require};
use crate::SharedState;
use crate::dto::OrderRequestDto;
use crate::error::{ApiError, ApiResult, Code};

type Json = axum::Json<Value>;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileBody {
    order_no: String,
    /// `urge`, `cancel`, `address_change`, `after_sale`, `price_protection`, `invoice`.
    kind: String,
    #[serde(default)]
    province: String,
    #[serde(default)]
    city: String,
    #[serde(default)]
    address: String,
    sku: Option<String>,
    #[serde(default)]
    exchange: bool,
    /// `no_reason`, `quality`, `wrong_item`, `damaged`.
    reason: Option<String>,
    #[serde(default)]
    opened: bool,
    /// The invoice's title: a person's or a company's name.
    title: Option<String>,
    /// With a company title: its unified social credit code.
    credit_code: Option<String>,
    email: Option<String>,
    /// The agent's word for whoever handles the request.
    #[serde(default)]
    note: String,
    /// File what the rules refuse, for a senior's review (特批; seniors only).
    #[serde(default)]
    exception: bool,
}

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::new(Code::InvalidInput, message)
}

/// A short field a person typed: trimmed, at most `max` characters, no control characters.
fn field(text: &str, name: &str, max: usize, required: bool) -> ApiResult<String> {
    let t = text.trim();
    if required && t.is_empty() {
        return Err(invalid(format!("{name} is required")));
    }
    if t.chars().count() > max || t.chars().any(char::is_control) {
        return Err(invalid(format!("{name}: at most {max} characters, no control characters")));
    }
    Ok(t.to_owned())
}

fn reason(text: Option<&str>) -> ApiResult<Reason> {
    match text.unwrap_or("") {
        "no_reason" => Ok(Reason::NoReason),
        "quality" => Ok(Reason::Quality),
        "wrong_item" => Ok(Reason::WrongItem),
        "damaged" => Ok(Reason::Damaged),
        _ => Err(invalid("reason must be no_reason, quality, wrong_item or damaged")),
    }
}

fn ask(b: &FileBody) -> ApiResult<Ask> {
    Ok(match b.kind.as_str() {
        "urge" => Ask::Urge,
        "cancel" => Ask::Cancel,
        "address_change" => Ask::Address {
            province: field(&b.province, "province", 20, false)?,
            city: field(&b.city, "city", 20, false)?,
            address: field(&b.address, "address", 200, true)?,
        },
        "after_sale" => Ask::AfterSale {
            sku: field(b.sku.as_deref().unwrap_or(""), "sku", 64, true)?,
            exchange: b.exchange,
            reason: reason(b.reason.as_deref())?,
            opened: b.opened,
        },
        "price_protection" => Ask::PriceProtection,
        "invoice" => {
            let name = field(b.title.as_deref().unwrap_or(""), "title", 100, true)?;
            let title = match b.credit_code.as_deref().map(str::trim).filter(|c| !c.is_empty()) {
                Some(code) => Title::Company {
                    name,
                    credit_code: CreditCode::parse(code).map_err(|e| invalid(format!("credit_code: {e}")))?,
                },
                None => Title::Personal { name },
            };
            let email = Email::parse(b.email.as_deref().unwrap_or("")).map_err(|e| invalid(format!("email: {e}")))?;
            Ask::Invoice { title, email }
        }
        _ => {
            return Err(invalid("kind must be urge, cancel, address_change, after_sale, price_protection or invoice"));
        }
    })
}

/// The rows as the API shows them, with the names of the people who filed
/// and closed them: read for those few agents only (the customer panel
/// lists requests on every conversation opened; the shop's whole team,
/// with its loads, is not needed for two names).
pub async fn dtos(state: &SharedState, rows: &[RequestRow]) -> ApiResult<Vec<OrderRequestDto>> {
    let mut ids: Vec<AgentId> =
        rows.iter().flat_map(|r| r.filed_by.into_iter().chain(r.resolved.as_ref().and_then(|x| x.by))).collect();
    ids.sort_unstable_by_key(|id| id.as_uuid());
    ids.dedup();
    let mut names = std::collections::HashMap::new();
    for id in ids {
        if let Some(agent) = state.ctx.store.agent(id).await? {
            names.insert(id, agent.display_name);
        }
    }
    Ok(rows.iter().map(|r| OrderRequestDto::new(r, |id| names.get(&id).cloned())).collect())
}

pub(crate) async fn dto(state: &SharedState, row: RequestRow) -> ApiResult<OrderRequestDto> {
    let mut one = dtos(state, std::slice::from_ref(&row)).await?;
    one.pop().ok_or_else(|| ApiError::new(Code::Internal, "no request"))
}

/// `POST /api/conversations/{id}/order-requests`: the conversation's agent
/// (or a supervisor) acts on one of its shopper's orders.
pub async fn file(
    State(state): State<SharedState>,
    auth: AgentAuth,
    Path(id): Path<String>,
    Body(body): Body<FileBody>,
) -> ApiResult<(StatusCode, Json)> {
    let agent = &auth.agent;
    let id = parse_id(&id, ConversationId::parse)?;
    let conversation = desk::open_for_agent(&state.ctx, agent, id).await?;
    require(
        desk::agent_may_reply(agent, &conversation),
        "only the conversation's agent or a supervisor acts on its orders",
    )?;
    let ask = ask(&body)?;
    let note = request::clean_note(&body.note)
        .ok_or_else(|| invalid(format!("note: at most {} characters", request::MAX_NOTE_CHARS)))?;
    // Another shopper's order, or another shop's, is "not found" like one that does not exist.
    let order = match OrderNo::parse(&body.order_no) {
        Ok(no) => state.ctx.store.order_by_no(conversation.shop_id, &no).await?,
        Err(_) => None,
    }
    .filter(|o| o.customer_id == conversation.customer_id)
    .ok_or_else(|| ApiError::new(Code::NotFound, "order not found"))?;
    let customer = state
        .ctx
        .store
        .customer(conversation.customer_id)
        .await?
        .ok_or_else(|| ApiError::new(Code::NotFound, "customer not found"))?;
    let category = match &ask {
        Ask::AfterSale { sku, .. } => {
            state.ctx.store.product_by_sku(conversation.shop_id, sku).await?.map(|p| p.category)
        }
        _ => None,
    };
    let rules = state.bot.rules(&state.ctx, conversation.shop_id).await?;
    let facts = agent_actions::Facts {
        rules: &rules,
        order: &order,
        tier: customer.tier,
        category: category.as_ref(),
        now: state.ctx.clock.now(),
    };
    let (action, reply, exception) = match agent_actions::decide(&facts, ask) {
        Ok(allowed) => (allowed.action, allowed.reply, None),
        Err(refused) => match refused.exception {
            Some(action) if body.exception => {
                require(agent.role.approves_exceptions(), "only a senior agent or a supervisor grants an exception")?;
                let reply = format!(
                    "亲，已为您特别申请订单{}的售后，审核通过后会尽快处理，请留意通知。",
                    order.order_no.as_str()
                );
                (*action, reply, Some(refused.code))
            }
            grantable => {
                return Err(ApiError::new(Code::NotEligible, refused.message)
                    .with_details(json!({ "reason": refused.code, "exception_possible": grantable.is_some() })));
            }
        },
    };
    let (mut request, change) = crate::bot::request_of(&action, order.id, state.ctx.ids.new_uuid());
    if let Some(rule) = exception {
        request.detail = format!("【特批，规则 {rule}】{}", request.detail);
        request.needs_review = true;
    }
    if !note.is_empty() {
        request.detail = format!("{}；备注：{note}", request.detail);
    }
    let filed = FiledRequest {
        shop: conversation.shop_id,
        conversation: Some(conversation.id),
        by: agent.id,
        request,
        change,
        at: state.ctx.clock.now(),
    };
    let row = state.ctx.store.file_order_request(&filed).await?;
    state.ctx.bus.publish(kefu_core::event::Event::request_changed(&row));
    Ok((StatusCode::CREATED, axum::Json(json!({ "request": dto(&state, row).await?, "reply": reply }))))
}

#[derive(Deserialize)]
pub struct ListQuery {
    /// Comma-separated statuses; default: every status.
    status: Option<String>,
    /// Only requests that wait for a senior's review.
    review: Option<bool>,
    customer: Option<String>,
    limit: Option<u32>,
}

/// The request rows of `filter`, as the API shows them.
pub async fn listed(state: &SharedState, filter: &RequestFilter) -> ApiResult<Vec<OrderRequestDto>> {
    let rows = state.ctx.store.order_requests(filter).await?;
    dtos(state, &rows).await
}

/// A comma-separated list of statuses; `default` when empty.
pub(crate) fn statuses(text: Option<&str>, default: &[RequestStatus]) -> ApiResult<Vec<RequestStatus>> {
    match text.map(str::trim).filter(|t| !t.is_empty()) {
        None => Ok(default.to_vec()),
        Some(list) => list
            .split(',')
            .map(|s| RequestStatus::parse(s.trim()).ok_or_else(|| invalid(format!("unknown status {s:?}"))))
            .collect(),
    }
}

/// How a request is closed: done, or rejected with a word saying why.
pub(crate) fn closing(status: &str, note: &str) -> ApiResult<(RequestStatus, String)> {
    let status = match RequestStatus::parse(status) {
        Some(s @ (RequestStatus::Done | RequestStatus::Rejected)) => s,
        _ => return Err(invalid("status must be done or rejected")),
    };
    let note = request::clean_note(note)
        .ok_or_else(|| invalid(format!("note: at most {} characters", request::MAX_NOTE_CHARS)))?;
    if status == RequestStatus::Rejected && note.is_empty() {
        return Err(invalid("a rejection says why (note)"));
    }
    Ok((status, note))
}

fn may_read(agent: &Agent) -> bool {
    agent.role.handles_conversations() || agent.role.reads_all_conversations()
}

/// `GET /api/shops/{id}/order-requests`.
pub async fn list(
    State(state): State<SharedState>,
    auth: AgentAuth,
    Path(shop): Path<String>,
    Query(q): Query<ListQuery>,
) -> ApiResult<Json> {
    require(may_read(&auth.agent), "not allowed")?;
    let shop = shop_for(&state, &auth.agent, &shop).await?;
    let statuses = statuses(q.status.as_deref(), &[])?;
    let customer = q.customer.as_deref().map(|c| parse_id(c, CustomerId::parse)).transpose()?;
    let filter =
        RequestFilter { shop, statuses, customer, needs_review: q.review, limit: q.limit.unwrap_or(100).clamp(1, 500) };
    Ok(axum::Json(json!({ "requests": listed(&state, &filter).await? })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResolveBody {
    /// `done` or `rejected`.
    status: String,
    #[serde(default)]
    note: String,
}

/// `POST /api/shops/{id}/order-requests/{request}/resolve`.
pub async fn resolve(
    State(state): State<SharedState>,
    auth: AgentAuth,
    Path((shop, id)): Path<(String, String)>,
    Body(body): Body<ResolveBody>,
) -> ApiResult<Json> {
    let shop = shop_for(&state, &auth.agent, &shop).await?;
    let id = uuid::Uuid::parse_str(&id).map_err(|_| ApiError::new(Code::NotFound, "order request not found"))?;
    let (status, note) = closing(&body.status, &body.note)?;
    let row = state
        .ctx
        .store
        .order_request(shop, id)
        .await?
        .ok_or_else(|| ApiError::new(Code::NotFound, "order request not found"))?;
    require(request::may_resolve(&auth.agent, &row), "a request that waits for review is closed by a senior agent")?;
    let row = state
        .ctx
        .store
        .resolve_order_request(&Resolution {
            shop,
            id,
            status,
            by: Some(auth.agent.id),
            note,
            at: state.ctx.clock.now(),
        })
        .await?;
    state.ctx.bus.publish(kefu_core::event::Event::request_changed(&row));
    Ok(axum::Json(json!({ "request": dto(&state, row).await? })))
}
