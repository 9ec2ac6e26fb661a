//! kefu-server: HTTP and WebSocket for the desk.
//!
//! The only crate that knows the wire: JSON shapes ([`dto`]), the stable
//! error-code table ([`error`]), authentication ([`auth`]), the WebSocket
//! protocol ([`ws`], documented in `docs/protocol.md`) and the embedded UI.
//! It receives an `Arc<dyn Store>` inside [`kefu_core::desk::Ctx`] and never
//! names SQL. Start at [`router`] and [`serve`].

pub mod api;
pub mod assets;
pub mod auth;
pub mod bot;
pub mod dto;
pub mod error;
pub mod http_out;
pub mod llm;
pub mod metrics;
pub mod openapi;
pub mod outbound;
pub mod queue;
pub mod records;
pub mod throttle;
pub mod typical;
pub mod ws;

use std::future::Future;
use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post, put};
use kefu_core::desk::Ctx;
use tokio::net::TcpListener;
use tokio::sync::watch;

/// Limits and switches of the HTTP/WebSocket layer.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// The largest WebSocket frame accepted; bigger ones get `frame_too_large`.
    pub max_frame_bytes: usize,
    /// Frames a connection may send in a burst, and refilled per second.
    pub rate_burst: u32,
    pub rate_per_second: u32,
    pub session_hours: i64,
    pub customer_token_days: i64,
    /// Set the `Secure` flag on cookies (behind HTTPS).
    pub secure_cookies: bool,
    pub max_body_bytes: usize,
    /// A bot conversation nobody writes in for this long is closed.
    pub bot_idle_minutes: i64,
    /// Images are deleted this many days after they were sent; 0 keeps them.
    pub attachment_days: u32,
    /// Each shop's bot rules by slug; shops without an entry use the defaults.
    pub bot_rules: std::collections::HashMap<String, kefu_bot::rules::ShopRules>,
    /// Reads every shop's rules afresh for `POST /api/admin/bot-rules/reload`;
    /// without one, rules change only with a restart.
    pub bot_rules_source: Option<RulesSource>,
    /// Each shop's own intent model by slug (checked with
    /// `kefu_bot::intents::check`); shops without one use the built-in model.
    pub bot_intents: std::collections::HashMap<String, Arc<kefu_nlu::Classifier>>,
    /// An OpenAI-compatible endpoint for rephrasing and summaries; off when `None`.
    pub llm: Option<llm::LlmConfig>,
    /// How outbound notifications are sent and retried.
    pub notify: outbound::NotifyConfig,
    /// What outgoing HTTPS (model endpoint, notifications) trusts.
    pub http: http_out::Client,
    /// The header a reverse proxy in front puts the client's address in
    /// (`x-forwarded-for`: its last entry, the one the proxy saw); without
    /// one, the peer of the TCP connection. Per-address limits read it.
    pub client_ip_header: Option<String>,
    /// New anonymous chat visitors one address may start a minute (and at once); 0: no limit.
    pub visitors_per_minute_per_ip: u32,
    /// Images shoppers behind one address may upload a minute (and at once); 0: no limit.
    pub uploads_per_minute_per_ip: u32,
    /// An agent not offline whose workspace has not been connected for this
    /// long (it says so at each session check) is set offline: someone who
    /// closed the browser without going 离线 gets no more shoppers.
    pub presence_timeout: std::time::Duration,
    /// How often an agent's open socket checks its session and account in
    /// the store: a change made elsewhere (`kefu user disable`, another
    /// node) reaches it within this, without waiting for a reconnect.
    pub session_recheck: std::time::Duration,
    /// How long a node keeps a shop's reply-time promise before reading its day again.
    pub typical_ttl: std::time::Duration,
    /// With auto-assign, how often each node takes back the offers nobody
    /// accepted in time and hands queued shoppers to agents with room that
    /// no event on this node announced (another node's closing, an admin
    /// raising a limit, a race lost).
    pub queue_sweep: std::time::Duration,
}

/// Every shop's rules by slug, read again (kefu serve: the rules files), or
/// what is wrong with one of them.
pub type RulesResult = Result<std::collections::HashMap<String, kefu_bot::rules::ShopRules>, String>;

#[derive(Clone)]
pub struct RulesSource(pub Arc<dyn Fn() -> RulesResult + Send + Sync>);

impl std::fmt::Debug for RulesSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RulesSource")
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            max_frame_bytes: 16 * 1024,
            rate_burst: 30,
            rate_per_second: 15,
            session_hours: 12,
            customer_token_days: 30,
            secure_cookies: false,
            max_body_bytes: 16 * 1024 * 1024,
            bot_idle_minutes: 30,
            attachment_days: 180,
            bot_rules: std::collections::HashMap::new(),
            bot_rules_source: None,
            bot_intents: std::collections::HashMap::new(),
            llm: None,
            notify: outbound::NotifyConfig::default(),
            http: http_out::Client::default(),
            client_ip_header: None,
            visitors_per_minute_per_ip: 30,
            uploads_per_minute_per_ip: 30,
            session_recheck: std::time::Duration::from_secs(30),
            typical_ttl: typical::TTL,
            presence_timeout: std::time::Duration::from_secs(180),
            queue_sweep: std::time::Duration::from_secs(2),
        }
    }
}

pub struct AppState {
    pub ctx: Ctx,
    pub config: ServerConfig,
    /// Signs customer tokens; shared by every node through the store.
    pub server_key: String,
    pub metrics: metrics::Metrics,
    pub bot: Arc<bot::Bot>,
    pub logins: throttle::LoginThrottle,
    pub queue: queue::QueueBoard,
    /// What each shop's chat header may promise about reply times.
    pub typical: typical::TypicalReplies,
    /// Per client address: new anonymous visitors, shoppers' uploads.
    pub visitors_per_ip: throttle::PerIp,
    pub uploads_per_ip: throttle::PerIp,
    shutdown: watch::Receiver<bool>,
}

pub type SharedState = Arc<AppState>;

impl AppState {
    /// Builds the state; `shutdown` turning true tells WebSockets to close.
    pub async fn new(
        ctx: Ctx,
        config: ServerConfig,
        shutdown: watch::Receiver<bool>,
    ) -> Result<SharedState, kefu_core::store::StoreError> {
        let server_key = ctx.store.server_key(&auth::random_token()).await?;
        let bot = Arc::new(bot::Bot::new(
            config.bot_rules.clone(),
            config.bot_intents.clone(),
            config.llm.clone().map(|l| llm::Llm::new(l, config.http.clone())),
        ));
        // Each shop routes as its rules say, else as the deployment does.
        let ctx = Ctx { routing: Arc::new(bot::ShopRouting { deployment: ctx.routing, bot: bot.clone() }), ..ctx };
        let visitors_per_ip = throttle::PerIp::new(config.visitors_per_minute_per_ip);
        let uploads_per_ip = throttle::PerIp::new(config.uploads_per_minute_per_ip);
        let typical = typical::TypicalReplies::new(config.typical_ttl);
        Ok(Arc::new(AppState {
            ctx,
            config,
            server_key,
            metrics: metrics::Metrics::default(),
            bot,
            logins: throttle::LoginThrottle::default(),
            queue: queue::QueueBoard::default(),
            typical,
            visitors_per_ip,
            uploads_per_ip,
            shutdown,
        }))
    }

    pub fn shutting_down(&self) -> watch::Receiver<bool> {
        self.shutdown.clone()
    }
}

pub fn router(state: SharedState) -> Router {
    let api = Router::new()
        .route("/auth/login", post(api::session::login))
        .route("/auth/logout", post(api::session::logout))
        .route("/me", get(api::session::me))
        .route("/me/status", put(api::session::set_status))
        .route("/me/stats", get(api::session::stats))
        .route("/conversations", get(api::conversations::list))
        .route("/conversations/{id}", get(api::conversations::show))
        .route("/conversations/{id}/messages", get(api::conversations::messages).post(api::conversations::send))
        .route("/conversations/{id}/attachments", post(api::attachments::agent_upload))
        .route("/attachments/{id}", get(api::attachments::agent_show))
        .route("/conversations/{id}/accept", post(api::conversations::accept))
        .route("/conversations/{id}/transfer", post(api::conversations::transfer))
        .route("/conversations/{id}/close", post(api::conversations::close))
        .route("/conversations/{id}/order-requests", post(api::requests::file))
        .route("/customers/{id}", get(api::customers::show))
        .route("/shops/{id}/agents", get(api::admin::shop_agents))
        .route("/shops/{id}/agent-stats", get(api::team::shop_stats))
        .route("/agents/{id}/status", put(api::team::set_status))
        .route("/agents/{id}/take-back", post(api::team::take_back))
        .route("/shops/{id}/bot-metrics", get(api::bot::metrics))
        .route("/shops/{id}/bot-rules", get(api::rules::show).put(api::rules::save).delete(api::rules::remove))
        .route("/shops/{id}/bot-rules/history", get(api::rules::history))
        .route("/shops/{id}/knowledge", get(api::knowledge::list).post(api::knowledge::create))
        .route("/shops/{id}/knowledge/{entry}", put(api::knowledge::update).delete(api::knowledge::delete))
        .route("/shops/{id}/products/{sku}", get(api::products::show))
        .route("/shops/{id}/order-requests", get(api::requests::list))
        .route("/shops/{id}/order-requests/{request}/resolve", post(api::requests::resolve))
        .route("/shops/{id}/quick-phrases", get(api::phrases::list).post(api::phrases::create))
        .route("/shops/{id}/quick-phrases/{phrase}", put(api::phrases::update).delete(api::phrases::delete))
        .route("/shops/{id}/skill-groups", get(api::admin::skill_groups).post(api::admin::create_skill_group))
        .route("/admin/shops", get(api::admin::shops).post(api::admin::create_shop))
        .route("/admin/shops/{id}/secret", post(api::admin::rotate_secret))
        .route("/admin/shops/{id}/notify", get(api::notify::show).put(api::notify::save).delete(api::notify::remove))
        .route("/admin/shops/{id}/notify/ping", post(api::notify::ping))
        .route("/admin/shops/{id}/deliveries/{delivery}/retry", post(api::notify::retry))
        .route("/admin/agents", get(api::admin::agents).post(api::admin::create_agent))
        .route("/admin/bot-rules/reload", post(api::bot::reload_rules))
        .route("/admin/agents/{id}", put(api::admin::update_agent))
        .route("/admin/agents/{id}/disable", post(api::admin::disable_agent))
        .route("/admin/agents/{id}/enable", post(api::admin::enable_agent))
        .route("/widget/session", post(api::widget::session))
        .route("/widget/messages", get(api::widget::messages))
        .route("/widget/orders", get(api::widget::orders))
        .route("/widget/products/{sku}", get(api::widget::product))
        .route("/widget/attachments", post(api::attachments::shopper_upload))
        .route("/widget/attachments/{id}", get(api::attachments::shopper_show))
        .route("/widget/rate", post(api::widget::rate))
        .route("/widget/queue", get(api::widget::queue))
        .route("/merchant/{shop}/order-requests/query", post(api::merchant::requests))
        .route("/merchant/{shop}/order-requests/resolve", post(api::merchant::resolve_request))
        .route("/merchant/{shop}/{kind}", post(api::merchant::upsert))
        .route("/openapi.json", get(openapi::document));

    Router::new()
        .nest("/api", api)
        .route("/webhooks/{shop}/{kind}", post(api::merchant::webhook))
        .route("/ws", get(ws::upgrade))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics_text))
        .route("/", get(|| async { Redirect::to("/agent") }))
        .route("/agent", get(|| async { assets::serve("agent.html") }))
        .route("/admin", get(|| async { assets::serve("admin.html") }))
        .route("/chat/{shop}", get(|| async { assets::serve("chat.html") }))
        .route("/widget.js", get(|| async { assets::serve("widget.js") }))
        .route(
            "/assets/{*path}",
            get(|axum::extract::Path(path): axum::extract::Path<String>| async move {
                assets::serve(&format!("assets/{path}"))
            }),
        )
        .layer(DefaultBodyLimit::max(state.config.max_body_bytes))
        .layer(axum::middleware::from_fn_with_state(state.clone(), count_requests))
        .with_state(state)
}

async fn count_requests(
    State(state): State<SharedState>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    state.metrics.http_requests_total.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    // Only the shopper's chat page is made to sit in a merchant's page (the
    // widget's iframe); the workspace and /admin never load in another
    // site's frame, where a click could be stolen.
    let embeddable = request.uri().path().starts_with("/chat/");
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert("x-content-type-options", axum::http::HeaderValue::from_static("nosniff"));
    if !embeddable {
        headers.insert("x-frame-options", axum::http::HeaderValue::from_static("SAMEORIGIN"));
    }
    headers.insert("referrer-policy", axum::http::HeaderValue::from_static("same-origin"));
    // Everything is served from here: no CDN, no third-party script. A
    // response with a policy of its own (an image: nothing runs) keeps it.
    headers.entry("content-security-policy").or_insert(
        axum::http::HeaderValue::from_static(if embeddable {
            "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; connect-src 'self'; frame-ancestors *"
        } else {
            "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; connect-src 'self'; frame-ancestors 'self'"
        }));
    response
}

async fn healthz(State(state): State<SharedState>) -> impl IntoResponse {
    match state.ctx.store.shops().await {
        Ok(_) => (axum::http::StatusCode::OK, axum::Json(serde_json::json!({"status": "ok"}))),
        Err(_) => (
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(serde_json::json!({"status": "store_unavailable"})),
        ),
    }
}

async fn metrics_text(State(state): State<SharedState>) -> impl IntoResponse {
    let mut text = state.metrics.render();
    if let Some(llm) = &state.bot.llm {
        use std::sync::atomic::Ordering::Relaxed;
        text.push_str(&format!(
            "# HELP kefu_llm_uses_total Model answers used, and fallbacks to the bot's own text.\n\
             # TYPE kefu_llm_uses_total counter\n\
             kefu_llm_uses_total{{outcome=\"used\"}} {}\nkefu_llm_uses_total{{outcome=\"fell_back\"}} {}\n",
            llm.stats.used.load(Relaxed),
            llm.stats.fell_back.load(Relaxed)
        ));
    }
    ([(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4")], text)
}

/// Once a minute, closes bot conversations the shopper has left.
async fn sweep_idle_bot_conversations(state: SharedState) {
    let mut shutdown = state.shutting_down();
    let mut every = tokio::time::interval(std::time::Duration::from_secs(60));
    loop {
        tokio::select! {
            _ = every.tick() => {}
            _ = shutdown.changed() => return,
        }
        let quiet = state.config.bot_idle_minutes.max(1) * 60_000;
        match kefu_core::desk::close_idle_bot_conversations(&state.ctx, quiet).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(closed = n, "closed idle bot conversations"),
            Err(e) => tracing::warn!(error = %e, "closing idle bot conversations failed"),
        }
    }
}

/// Sets offline the agents unseen for `presence_timeout`, and queues again
/// the conversations of offline agents whose shopper has waited that long,
/// checking a few times per timeout. The first check waits a whole timeout: after a
/// restart, workspaces have that long to reconnect.
async fn sweep_absent_agents(state: SharedState) {
    let timeout = state.config.presence_timeout;
    let mut shutdown = state.shutting_down();
    let period = (timeout / 3).max(std::time::Duration::from_millis(50));
    let mut every = tokio::time::interval_at(tokio::time::Instant::now() + timeout, period);
    loop {
        tokio::select! {
            _ = every.tick() => {}
            _ = shutdown.changed() => return,
        }
        let unseen = i64::try_from(timeout.as_millis()).unwrap_or(i64::MAX);
        match kefu_core::desk::sweep_absent_agents(&state.ctx, unseen).await {
            Ok((0, 0)) => {}
            Ok((agents, conversations)) => {
                tracing::info!(agents, conversations, "absent agents set offline, their waiting shoppers queued")
            }
            Err(e) => tracing::warn!(error = %e, "sweeping absent agents failed"),
        }
    }
}

/// Every `queue_sweep`: offers past their time go back to the queue (their
/// agents 挂起), then the queued shoppers of shops that push go to agents
/// with room. The events of this node (a closing, 接待中) fill the queue at once;
/// this catches what they did not see.
async fn sweep_queues(state: SharedState) {
    let mut shutdown = state.shutting_down();
    let mut every = tokio::time::interval(state.config.queue_sweep.max(std::time::Duration::from_millis(50)));
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = every.tick() => {}
            _ = shutdown.changed() => return,
        }
        match kefu_core::desk::lapse_offers(&state.ctx).await {
            Ok((0, 0)) => {}
            Ok((agents, conversations)) => {
                state.metrics.offers_lapsed_total.fetch_add(conversations as u64, std::sync::atomic::Ordering::Relaxed);
                tracing::info!(agents, conversations, "offers lapsed, their agents 挂起")
            }
            Err(e) => tracing::warn!(error = %e, "lapsing offers failed"),
        }
        match kefu_core::desk::fill_queues(&state.ctx).await {
            Ok(0) => {}
            Ok(assigned) => {
                state.metrics.sweep_assigned_total.fetch_add(assigned as u64, std::sync::atomic::Ordering::Relaxed);
                tracing::info!(assigned, "queued shoppers handed to agents with room")
            }
            Err(e) => tracing::warn!(error = %e, "filling queues failed"),
        }
    }
}

/// Every ten minutes, deletes images past `attachment_days` (oldest first,
/// in batches, at most `PURGE_BATCHES` of them per round so a first run on
/// a year of images does not hold the writer for long).
async fn sweep_old_attachments(state: SharedState) {
    const PURGE_BATCH: u32 = 500;
    const PURGE_BATCHES: usize = 20;
    let mut shutdown = state.shutting_down();
    let mut every = tokio::time::interval(std::time::Duration::from_secs(600));
    loop {
        tokio::select! {
            _ = every.tick() => {}
            _ = shutdown.changed() => return,
        }
        let keep = i64::from(state.config.attachment_days) * 86_400_000;
        let before = state.ctx.clock.now().plus_millis(-keep);
        let mut deleted = 0;
        for _ in 0..PURGE_BATCHES {
            match state.ctx.store.delete_attachments_before(before, PURGE_BATCH).await {
                Ok(n) => {
                    deleted += n;
                    if n < PURGE_BATCH {
                        break;
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "deleting expired images failed");
                    break;
                }
            }
        }
        if deleted > 0 {
            tracing::info!(deleted, days = state.config.attachment_days, "deleted expired images");
        }
    }
}

/// Serves until `shutdown` resolves, then stops accepting, lets WebSockets
/// finish the frame in hand and close, and returns once in-flight requests
/// are done.
pub async fn serve(
    listener: TcpListener,
    state: SharedState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use axum::serve::ListenerExt;
    if state.ctx.bot {
        tokio::spawn(sweep_idle_bot_conversations(state.clone()));
    }
    if state.config.attachment_days > 0 {
        tokio::spawn(sweep_old_attachments(state.clone()));
    }
    tokio::spawn(outbound::run(state.clone()));
    tokio::spawn(outbound::prune(state.clone()));
    tokio::spawn(sweep_absent_agents(state.clone()));
    // Any shop may push (its rules can say so without kefu.toml): the sweep
    // passes over the shops that pull.
    tokio::spawn(sweep_queues(state.clone()));
    let app = router(state);
    // Chat frames are small and latency-bound: without TCP_NODELAY a reply
    // can wait out a delayed ACK (40 ms) behind the previous frame.
    let listener = listener.tap_io(|tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "could not set TCP_NODELAY");
        }
    });
    axum::serve(listener, app.into_make_service_with_connect_info::<std::net::SocketAddr>())
        .with_graceful_shutdown(shutdown)
        .await
}
