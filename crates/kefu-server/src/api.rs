//! REST handlers, one module per area, and the extractors they share.

pub mod admin;
pub mod attachments;
pub mod bot;
pub mod conversations;
pub mod customers;
pub mod knowledge;
pub mod merchant;
pub mod notify;
pub mod phrases;
pub mod products;
pub mod requests;
pub mod rules;
pub mod session;
pub mod team;
pub mod widget;

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::Method;
use axum::http::request::Parts;
use kefu_core::agent::{Agent, AgentSession};
use kefu_core::customer::Customer;
use serde::de::DeserializeOwned;

use crate::SharedState;
use crate::auth::{self, CSRF_HEADER, CustomerClaims, SESSION_COOKIE};
use crate::error::{ApiError, Code};

/// A JSON body whose rejections use the stable error codes.
pub struct Body<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Body<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(Body(v)),
            Err(axum::extract::rejection::JsonRejection::JsonDataError(e)) => {
                Err(ApiError::new(Code::InvalidInput, e.body_text()))
            }
            Err(axum::extract::rejection::JsonRejection::BytesRejection(_)) => {
                Err(ApiError::new(Code::PayloadTooLarge, "the request body is too large"))
            }
            Err(e) => Err(ApiError::new(Code::MalformedJson, e.body_text())),
        }
    }
}

/// A query string, refused with `invalid_input` (JSON, like every other
/// error) when it does not parse: axum's own answer is a plain-text 400.
pub struct Query<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(v)) => Ok(Query(v)),
            Err(e) => Err(ApiError::new(Code::InvalidInput, e.body_text())),
        }
    }
}

pub fn cookie<'a>(parts: &'a Parts, name: &str) -> Option<&'a str> {
    parts
        .headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// Looks up the agent behind the session cookie (no CSRF check).
pub async fn agent_from_cookie(state: &SharedState, parts: &Parts) -> Result<(Agent, AgentSession), ApiError> {
    let token = cookie(parts, SESSION_COOKIE).ok_or_else(|| ApiError::new(Code::Unauthenticated, "log in first"))?;
    let now = state.ctx.clock.now();
    let session = state
        .ctx
        .store
        .session(&auth::token_hash(token), now)
        .await?
        .ok_or_else(|| ApiError::new(Code::Unauthenticated, "the session has expired; log in again"))?;
    let agent = state
        .ctx
        .store
        .agent(session.agent_id)
        .await?
        .ok_or_else(|| ApiError::new(Code::Unauthenticated, "the account no longer exists"))?;
    // Disabling ends the sessions in the same transaction; this is for a
    // session read just before.
    if agent.disabled {
        return Err(ApiError::new(Code::Unauthenticated, "the account is disabled"));
    }
    Ok((agent, session))
}

/// A logged-in agent. Requests that change state must carry the session's
/// CSRF token in `X-CSRF-Token` (double submit; the cookie is also SameSite).
pub struct AgentAuth {
    pub agent: Agent,
    pub session: AgentSession,
}

impl FromRequestParts<SharedState> for AgentAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &SharedState) -> Result<Self, ApiError> {
        let (agent, session) = agent_from_cookie(state, parts).await?;
        if !matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS) {
            let sent = parts.headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok()).unwrap_or("");
            if !auth::same_secret(sent, &session.csrf_token) {
                return Err(ApiError::new(Code::CsrfFailed, "missing or wrong X-CSRF-Token header"));
            }
        }
        Ok(AgentAuth { agent, session })
    }
}

/// A shopper, by the bearer token `POST /api/widget/session` issued.
pub struct CustomerAuth {
    pub customer: Customer,
    pub claims: CustomerClaims,
}

pub async fn customer_from_token(state: &SharedState, token: &str) -> Result<CustomerAuth, ApiError> {
    let claims = auth::verify_customer_token(&state.server_key, token, state.ctx.clock.now()).map_err(|e| match e {
        auth::TokenError::Expired => ApiError::new(Code::IdentityExpired, "the chat token has expired"),
        auth::TokenError::Invalid => ApiError::new(Code::IdentityInvalid, "the chat token is not valid"),
    })?;
    let customer = state
        .ctx
        .store
        .customer(claims.customer)
        .await?
        .filter(|c| c.shop_id == claims.shop)
        .ok_or_else(|| ApiError::new(Code::IdentityInvalid, "unknown customer"))?;
    Ok(CustomerAuth { customer, claims })
}

impl FromRequestParts<SharedState> for CustomerAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &SharedState) -> Result<Self, ApiError> {
        let token = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or_else(|| ApiError::new(Code::Unauthenticated, "missing Authorization: Bearer <chat token>"))?;
        customer_from_token(state, token.trim()).await
    }
}

pub fn parse_id<T>(text: &str, parse: fn(&str) -> Result<T, kefu_core::id::InvalidId>) -> Result<T, ApiError> {
    parse(text).map_err(|e| ApiError::new(Code::NotFound, e.to_string()))
}

/// The figures' day from `?day=YYYY-MM-DD` (China time): today (or no day)
/// counts up to now with the shoppers still waiting; a past day as it
/// closed. A day to come, or no date, is `invalid_input`.
pub fn period(day: Option<&str>, now: kefu_core::clock::Timestamp) -> Result<kefu_core::kpi::Period, ApiError> {
    use kefu_core::kpi::Period;
    let Some(text) = day.map(str::trim).filter(|d| !d.is_empty()) else { return Ok(Period::Today(now)) };
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let date = time::Date::parse(text, &format)
        .map_err(|_| ApiError::new(Code::InvalidInput, format!("day {text:?} is not a date (YYYY-MM-DD)")))?;
    let day = i64::from(date.to_julian_day()) - EPOCH_JULIAN_DAY;
    match day.cmp(&now.china_day()) {
        std::cmp::Ordering::Greater => Err(ApiError::new(Code::InvalidInput, format!("day {text} has not come yet"))),
        std::cmp::Ordering::Equal => Ok(Period::Today(now)),
        std::cmp::Ordering::Less => Ok(Period::Day(day)),
    }
}

/// 1970-01-01, where `Timestamp::china_day` counts from.
const EPOCH_JULIAN_DAY: i64 = 2_440_588;

pub fn require(ok: bool, why: &'static str) -> Result<(), ApiError> {
    if ok { Ok(()) } else { Err(ApiError::new(Code::Forbidden, why)) }
}

/// The client's address for per-address limits: from the configured proxy
/// header when there is one (its last entry: what the proxy in front saw,
/// not what the client claims), else the TCP peer — unless that peer is on
/// this host or a private network. Such a peer is most likely a proxy whose
/// header nobody configured, and limiting it would limit every shopper at
/// once. `None`: not limited.
pub struct ClientIp(pub Option<std::net::IpAddr>);

fn is_local(ip: std::net::IpAddr) -> bool {
    match ip {
        std::net::IpAddr::V4(v4) => v4.is_loopback() || v4.is_private() || v4.is_link_local(),
        std::net::IpAddr::V6(v6) => {
            v6.is_loopback() || (v6.segments()[0] & 0xfe00) == 0xfc00 || (v6.segments()[0] & 0xffc0) == 0xfe80
        }
    }
}

impl FromRequestParts<SharedState> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &SharedState) -> Result<Self, Self::Rejection> {
        if let Some(name) = state.config.client_ip_header.as_deref() {
            let from_proxy = parts
                .headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.rsplit(',').next())
                .and_then(|v| v.trim().parse().ok());
            return Ok(ClientIp(from_proxy));
        }
        let peer = parts.extensions.get::<axum::extract::ConnectInfo<std::net::SocketAddr>>().map(|c| c.0.ip());
        Ok(ClientIp(peer.filter(|ip| !is_local(*ip))))
    }
}

/// Takes one of `limit`'s tokens for the client, or answers `rate_limited`.
pub fn per_ip(state: &SharedState, limit: &crate::throttle::PerIp, ip: &ClientIp, what: &str) -> Result<(), ApiError> {
    let Some(ip) = ip.0 else { return Ok(()) };
    limit.take(ip, state.ctx.clock.now()).map_err(|wait_ms| {
        let wait = (wait_ms + 999) / 1000;
        ApiError::new(Code::RateLimited, format!("too many {what} from this address; try again in {wait} s"))
            .with_details(serde_json::json!({ "retry_after_seconds": wait }))
    })
}
