//! Agent login, logout, who am I, and 接待状态.

use axum::extract::State;
use axum::http::header::SET_COOKIE;
use axum::response::{IntoResponse, Response};
use kefu_core::agent::{AgentSession, AgentStatus};
use kefu_core::desk;
use serde::Deserialize;
use serde_json::json;

use super::{AgentAuth, Body};
use crate::SharedState;
use crate::auth::{self, SESSION_COOKIE};
use crate::dto::{AgentDto, ShopDto};
use crate::error::{ApiError, ApiResult, Code};

#[derive(Deserialize)]
pub struct Login {
    username: String,
    password: String,
}

fn session_cookie(state: &SharedState, value: &str, max_age_secs: i64) -> String {
    let secure = if state.config.secure_cookies { "; Secure" } else { "" };
    format!("{SESSION_COOKIE}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age_secs}{secure}")
}

pub async fn login(State(state): State<SharedState>, Body(body): Body<Login>) -> ApiResult<Response> {
    let now = state.ctx.clock.now();
    if let Err(wait) = state.logins.check(&body.username, now) {
        return Err(ApiError::new(Code::RateLimited, format!("too many failed logins; try again in {wait} s"))
            .with_details(json!({ "retry_after_seconds": wait })));
    }
    let agent = state.ctx.store.agent_by_username(&body.username).await?;
    // Verify against a dummy hash when the user is unknown, so response time
    // does not tell which usernames exist.
    let phc = agent.as_ref().map(|a| a.password_hash.clone()).unwrap_or_else(dummy_hash);
    let password = body.password;
    let ok = tokio::task::spawn_blocking(move || auth::verify_password(&password, &phc))
        .await
        .map_err(|e| ApiError::internal(&e))?;
    let agent = match agent {
        Some(a) if ok => a,
        _ => {
            state.logins.failed(&body.username, now);
            return Err(ApiError::new(Code::InvalidCredentials, "wrong username or password"));
        }
    };
    state.logins.succeeded(&body.username);
    // Told only to whoever knows the password: a wrong one is "wrong" either way.
    if agent.disabled {
        return Err(ApiError::new(Code::AccountDisabled, "this account is disabled; ask an admin"));
    }
    let token = auth::random_token();
    let session = AgentSession {
        token_hash: auth::token_hash(&token),
        agent_id: agent.id,
        csrf_token: auth::random_token(),
        created_at: now,
        expires_at: now.plus_millis(state.config.session_hours * 3_600_000),
    };
    state.ctx.store.create_session(&session).await?;
    let cookie = session_cookie(&state, &token, state.config.session_hours * 3600);
    let body = me_body(&state, &agent, &session).await?;
    Ok(([(SET_COOKIE, cookie)], axum::Json(body)).into_response())
}

/// An argon2id hash of a random string, checked when the username is unknown.
fn dummy_hash() -> String {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| auth::hash_password(&auth::random_token()).unwrap_or_default()).clone()
}

pub async fn logout(State(state): State<SharedState>, auth: AgentAuth) -> ApiResult<Response> {
    state.ctx.store.delete_session(&auth.session.token_hash).await?;
    // Logging out is leaving: no more shoppers routed to this person.
    if auth.agent.status != kefu_core::agent::AgentStatus::Offline {
        kefu_core::desk::set_status(&state.ctx, &auth.agent, kefu_core::agent::AgentStatus::Offline).await?;
    }
    Ok(([(SET_COOKIE, session_cookie(&state, "", 0))], axum::Json(json!({"ok": true}))).into_response())
}

async fn me_body(
    state: &SharedState,
    agent: &kefu_core::agent::Agent,
    session: &AgentSession,
) -> ApiResult<serde_json::Value> {
    let shops: Vec<ShopDto> =
        state.ctx.store.shops().await?.iter().filter(|s| agent.can_access_shop(s.id)).map(ShopDto::from).collect();
    Ok(json!({ "agent": AgentDto::from(agent), "csrf_token": session.csrf_token, "shops": shops }))
}

pub async fn me(State(state): State<SharedState>, auth: AgentAuth) -> ApiResult<axum::Json<serde_json::Value>> {
    Ok(axum::Json(me_body(&state, &auth.agent, &auth.session).await?))
}

/// `{"status": "online" | "away" | "offline"}`: one's own (`/me/status`) or a colleague's.
#[derive(Deserialize)]
pub struct StatusBody {
    status: String,
}

impl StatusBody {
    pub(crate) fn status(&self) -> ApiResult<AgentStatus> {
        AgentStatus::parse(&self.status)
            .ok_or_else(|| ApiError::new(Code::InvalidInput, "status must be online, away or offline"))
    }
}

pub async fn set_status(
    State(state): State<SharedState>,
    auth: AgentAuth,
    Body(body): Body<StatusBody>,
) -> ApiResult<axum::Json<serde_json::Value>> {
    let status = body.status()?;
    desk::set_status(&state.ctx, &auth.agent, status).await?;
    Ok(axum::Json(json!({ "status": status.as_str() })))
}

#[derive(Deserialize)]
pub struct StatsQuery {
    /// The shop in view, whose reply window (N分钟回复率) applies; default
    /// the agent's first shop.
    shop: Option<String>,
    /// `YYYY-MM-DD` (China time); default today.
    day: Option<String>,
}

/// The agent's own figures for today (or `day`, China time), for the top bar:
/// 今日接待, 30秒应答率, 平均响应 and the shop's N分钟回复率. A rate with
/// nothing to count is `null`, not 0 or 100%.
pub async fn stats(
    State(state): State<SharedState>,
    auth: AgentAuth,
    super::Query(q): super::Query<StatsQuery>,
) -> ApiResult<axum::Json<serde_json::Value>> {
    let agent = &auth.agent;
    let shop = match q.shop.as_deref().filter(|s| !s.is_empty()) {
        Some(id) => {
            let shop = super::parse_id(id, kefu_core::id::ShopId::parse)?;
            if !agent.can_access_shop(shop) {
                return Err(ApiError::new(Code::NotFound, "shop not found"));
            }
            Some(shop)
        }
        None => agent.shops.first().copied(),
    };
    let window = match shop {
        Some(shop) => state.bot.reply_window(&state.ctx, shop).await,
        None => kefu_core::kpi::ReplyWindow::default(),
    };
    let period = super::period(q.day.as_deref(), state.ctx.clock.now())?;
    let scope = kefu_core::kpi::Scope::Agent(agent.id);
    let counts = state.ctx.store.response_counts(scope, period, window).await?;
    let mine = counts.into_iter().map(|(_, c)| c).next().unwrap_or_default();
    let mut body = crate::dto::response_counts(&mine);
    body["since"] = json!(period.since().millis());
    body["reply_minutes"] = json!(window.minutes());
    Ok(axum::Json(body))
}
