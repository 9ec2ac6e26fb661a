//! `TestApp`: a real server on port 0 over a fresh database (SQLite, or
//! PostgreSQL when KEFU_TEST_DATABASE_URL is set), with seeded shops,
//! agents and customers, REST through the router and WebSockets over TCP.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use futures_util::{SinkExt, StreamExt};
use kefu_core::agent::{Agent, AgentStatus, Role, Username};
use kefu_core::clock::{Clock, SystemClock};
use kefu_core::customer::{Customer, Tier};
use kefu_core::desk::Ctx;
use kefu_core::event::InProcessBus;
use kefu_core::id::*;
use kefu_core::money::Fen;
use kefu_core::order::{Order, OrderItem, OrderNo, OrderStatus};
use kefu_core::shop::{Shop, ShopSecret, ShopSlug};
use kefu_core::store::Store;
use kefu_server::{AppState, ServerConfig, SharedState};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message as Ws;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use tower::ServiceExt;

pub const PASSWORD: &str = "correct-horse";

fn password_hash() -> String {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| kefu_server::auth::hash_password(PASSWORD).expect("hash")).clone()
}

pub struct TestApp {
    pub addr: std::net::SocketAddr,
    pub state: SharedState,
    pub store: Arc<dyn Store>,
    pub shop_a: Shop,
    pub shop_b: Shop,
    _shutdown: tokio::sync::watch::Sender<bool>,
    _dir: Option<TempDir>,
}

pub struct TempDir(std::path::PathBuf);
impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub struct Session {
    pub cookie: String,
    pub csrf: String,
    pub agent_id: String,
}

impl TestApp {
    pub async fn spawn() -> TestApp {
        Self::spawn_with(ServerConfig::default()).await
    }

    /// New conversations go straight to the least-loaded online agent.
    pub async fn spawn_auto_assign() -> TestApp {
        Self::spawn_inner(ServerConfig::default(), true, false).await
    }

    pub async fn spawn_auto_assign_with(config: ServerConfig) -> TestApp {
        Self::spawn_inner(config, true, false).await
    }

    pub async fn spawn_with(config: ServerConfig) -> TestApp {
        Self::spawn_inner(config, false, false).await
    }

    /// New conversations start with the self-service bot.
    pub async fn spawn_bot() -> TestApp {
        Self::spawn_inner(ServerConfig::default(), false, true).await
    }

    pub async fn spawn_bot_with(config: ServerConfig) -> TestApp {
        Self::spawn_inner(config, false, true).await
    }

    /// Shoppers' uploads limited as `uploads` says.
    pub async fn spawn_with_uploads(uploads: kefu_core::attachment::Quota) -> TestApp {
        Self::spawn_full(ServerConfig::default(), false, false, uploads, None).await
    }

    async fn spawn_inner(config: ServerConfig, auto_assign: bool, bot: bool) -> TestApp {
        Self::spawn_full(config, auto_assign, bot, kefu_core::attachment::Quota::default(), None).await
    }

    /// Auto-assign whose routed conversations are offers lapsing after `offer_ms`.
    pub async fn spawn_offering(config: ServerConfig, offer_ms: i64) -> TestApp {
        Self::spawn_full(config, true, false, kefu_core::attachment::Quota::default(), Some(offer_ms)).await
    }

    async fn spawn_full(
        config: ServerConfig,
        auto_assign: bool,
        bot: bool,
        uploads: kefu_core::attachment::Quota,
        offer_ms: Option<i64>,
    ) -> TestApp {
        let (store, dir): (Arc<dyn Store>, _) =
            match std::env::var("KEFU_TEST_DATABASE_URL").ok().filter(|u| !u.is_empty()) {
                Some(url) => {
                    let schema = format!("api_{}", uuid::Uuid::now_v7().simple());
                    let backend = kefu_store::Backend::Postgres { url, schema: Some(schema), pool_size: 8 };
                    (kefu_store::open(&backend).await.expect("postgres"), None)
                }
                None => {
                    let dir = std::env::temp_dir().join(format!("kefu-api-{}", uuid::Uuid::now_v7().simple()));
                    let backend = kefu_store::Backend::Sqlite {
                        path: dir.join("kefu.db"),
                        durability: kefu_store::Durability::Normal,
                    };
                    (kefu_store::open(&backend).await.expect("sqlite"), Some(TempDir(dir)))
                }
            };
        let ctx = Ctx {
            store: store.clone(),
            bus: Arc::new(InProcessBus::new()),
            clock: Arc::new(SystemClock),
            ids: Arc::new(UuidV7),
            routing: Arc::new(kefu_core::routing::Routing { auto_assign, offer_ms }),
            bot,
            uploads,
        };
        let (tx, rx) = tokio::sync::watch::channel(false);
        let state = AppState::new(ctx, config, rx).await.expect("state");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let mut stop = tx.subscribe();
        tokio::spawn(kefu_server::serve(listener, state.clone(), async move {
            let _ = stop.changed().await;
        }));
        let shop_a = shop(&store, "shop-a").await;
        let shop_b = shop(&store, "shop-b").await;
        let app = TestApp { addr, state, store, shop_a, shop_b, _shutdown: tx, _dir: dir };
        app.agent("agent-a", Role::Agent, &[app.shop_a.id], 5).await;
        app.agent("agent-a2", Role::Agent, &[app.shop_a.id], 1).await;
        app.agent("agent-b", Role::Agent, &[app.shop_b.id], 5).await;
        app.agent("admin", Role::Admin, &[], 5).await;
        app.agent("qa", Role::Qa, &[app.shop_a.id], 5).await;
        app
    }

    pub async fn agent(&self, name: &str, role: Role, shops: &[ShopId], max: u32) -> Agent {
        let agent = Agent {
            id: AgentId::from_uuid(uuid::Uuid::now_v7()),
            username: Username::parse(name).expect("name"),
            display_name: name.to_uppercase(),
            password_hash: password_hash(),
            role,
            shops: shops.to_vec(),
            skill_groups: vec![],
            max_concurrent: max,
            status: AgentStatus::Online,
            created_at: SystemClock.now(),
            disabled: false,
        };
        self.store.create_agent(&agent).await.expect("agent");
        agent
    }

    /// A customer the merchant knows (external id), with one shipped order.
    pub async fn known_customer(&self, shop: &Shop, external: &str) -> Customer {
        let c = Customer {
            id: CustomerId::from_uuid(uuid::Uuid::now_v7()),
            shop_id: shop.id,
            external_id: Some(external.into()),
            nickname: format!("买家{external}"),
            tier: Tier::Vip,
            tags: vec![],
            phone: None,
            lifetime_spend: Fen(100),
            complaint_count: 0,
            created_at: SystemClock.now(),
        };
        self.store.upsert_customers(std::slice::from_ref(&c)).await.expect("customer");
        let now = SystemClock.now();
        let order = Order {
            id: OrderId::from_uuid(uuid::Uuid::now_v7()),
            shop_id: shop.id,
            order_no: OrderNo::parse(&format!("{external}-0001")).expect("order no"),
            customer_id: c.id,
            status: OrderStatus::Shipped,
            items: vec![OrderItem { sku: "SKU1".into(), name: "冰箱".into(), quantity: 1, unit_price: Fen(399_900) }],
            total: Fen(399_900),
            province: "广东省".into(),
            city: "深圳市".into(),
            address: "南山区".into(),
            created_at: now,
            paid_at: Some(now),
            shipped_at: Some(now),
            delivered_at: None,
            completed_at: None,
            cancelled_at: None,
            updated_at: now,
        };
        self.store.upsert_orders(&[order]).await.expect("order");
        c
    }

    pub async fn request(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> (StatusCode, Value, axum::http::HeaderMap) {
        let mut req = Request::builder().method(method).uri(path);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let req = match body {
            Some(b) => req.header("content-type", "application/json").body(Body::from(b.to_string())),
            None => req.body(Body::empty()),
        }
        .expect("request");
        self.raw(req).await
    }

    pub async fn raw(&self, req: Request<Body>) -> (StatusCode, Value, axum::http::HeaderMap) {
        let res = kefu_server::router(self.state.clone()).oneshot(req).await.expect("response");
        let status = res.status();
        let headers = res.headers().clone();
        let bytes = axum::body::to_bytes(res.into_body(), 64 << 20).await.expect("body");
        let value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        (status, value, headers)
    }

    pub async fn login(&self, username: &str) -> Session {
        let (status, body, headers) = self
            .request("POST", "/api/auth/login", Some(json!({"username": username, "password": PASSWORD})), &[])
            .await;
        assert_eq!(status, StatusCode::OK, "login {username}: {body}");
        let set_cookie = headers.get("set-cookie").and_then(|v| v.to_str().ok()).expect("cookie").to_owned();
        assert!(set_cookie.contains("HttpOnly") && set_cookie.contains("SameSite=Lax"));
        let cookie = set_cookie.split(';').next().expect("cookie pair").to_owned();
        Session {
            cookie,
            csrf: body["csrf_token"].as_str().expect("csrf").to_owned(),
            agent_id: body["agent"]["id"].as_str().expect("id").to_owned(),
        }
    }

    pub async fn as_agent(&self, s: &Session, method: &str, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let (st, v, _) = self.request(method, path, body, &[("cookie", &s.cookie), ("x-csrf-token", &s.csrf)]).await;
        (st, v)
    }

    /// A chat token for a new anonymous visitor of `shop`.
    pub async fn visitor(&self, shop: &Shop) -> (String, String) {
        let (status, body, _) =
            self.request("POST", "/api/widget/session", Some(json!({"shop": shop.slug.as_str()})), &[]).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        (body["token"].as_str().expect("token").to_owned(), body["customer"]["id"].as_str().expect("id").to_owned())
    }

    /// A chat token for the merchant's customer `external` of shop a, by a signed identity.
    pub async fn identified(&self, external: &str) -> String {
        let future = SystemClock.now().millis() / 1000 + 3600;
        let sig = kefu_server::auth::identity_signature(self.shop_a.secret.expose(), external, future);
        let body =
            json!({"shop": "shop-a", "identity": {"customer_id": external, "expires": future, "signature": sig}});
        let (status, v, _) = self.request("POST", "/api/widget/session", Some(body), &[]).await;
        assert_eq!(status, StatusCode::OK, "{v}");
        v["token"].as_str().expect("token").to_owned()
    }

    pub async fn ws(&self, cookie: Option<&str>) -> WsClient {
        use tokio_tungstenite::tungstenite::client::IntoClientRequest;
        let mut req = format!("ws://{}/ws", self.addr).into_client_request().expect("ws request");
        if let Some(c) = cookie {
            req.headers_mut().insert("cookie", c.parse().expect("header"));
        }
        let (stream, _) = tokio_tungstenite::connect_async(req).await.expect("ws connect");
        WsClient { stream }
    }

    /// A new visitor of shop a sends `text`; the bot's first reply.
    pub async fn first_bot_reply(&self, text: &str) -> String {
        let (token, _) = self.visitor(&self.shop_a).await;
        let mut ws = self.customer_ws(&token).await;
        ws.send(serde_json::json!({"type": "send", "client_msg_id": "first", "text": text})).await;
        loop {
            let v = ws.recv_type("message").await;
            if v["message"]["sender"]["kind"] == "bot" {
                return v["message"]["text"].as_str().unwrap_or_default().to_owned();
            }
        }
    }

    pub async fn customer_ws(&self, token: &str) -> WsClient {
        let mut ws = self.ws(None).await;
        ws.send(json!({"type": "hello", "v": 1, "token": token})).await;
        let welcome = ws.recv_type("welcome").await;
        assert_eq!(welcome["role"], "customer");
        ws
    }

    pub async fn agent_ws(&self, s: &Session) -> WsClient {
        let mut ws = self.ws(Some(&s.cookie)).await;
        ws.send(json!({"type": "hello", "v": 1})).await;
        let welcome = ws.recv_type("welcome").await;
        assert_eq!(welcome["role"], "agent");
        ws
    }
}

async fn shop(store: &Arc<dyn Store>, slug: &str) -> Shop {
    let shop = Shop {
        id: ShopId::from_uuid(uuid::Uuid::now_v7()),
        slug: ShopSlug::parse(slug).expect("slug"),
        name: slug.to_uppercase(),
        secret: ShopSecret::new(format!("secret-of-{slug}")),
        created_at: SystemClock.now(),
    };
    store.create_shop(&shop).await.expect("shop");
    shop
}

pub struct WsClient {
    pub stream: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

/// Long enough never to fire on a healthy run; it only turns a hang into a failure.
const GUARD: Duration = Duration::from_secs(20);

impl WsClient {
    pub async fn send(&mut self, v: Value) {
        self.stream.send(Ws::Text(v.to_string().into())).await.expect("ws send");
    }

    pub async fn send_text(&mut self, text: String) {
        self.stream.send(Ws::Text(text.into())).await.expect("ws send");
    }

    pub async fn recv(&mut self) -> Value {
        loop {
            let frame = tokio::time::timeout(GUARD, self.stream.next())
                .await
                .expect("a frame in time")
                .expect("open")
                .expect("ok");
            if let Ws::Text(t) = frame {
                return serde_json::from_str(&t).expect("json frame");
            }
        }
    }

    /// The next frame of `kind`, skipping others (typing, presence, …).
    pub async fn recv_type(&mut self, kind: &str) -> Value {
        loop {
            let v = self.recv().await;
            if v["type"] == kind {
                return v;
            }
            assert_ne!(v["type"], "error", "unexpected error while waiting for {kind}: {v}");
        }
    }

    /// Sends a ping and returns every frame received before the pong: a
    /// barrier that proves the connection is alive and drains it.
    pub async fn drain(&mut self) -> Vec<Value> {
        let mark = uuid::Uuid::now_v7().to_string();
        self.send(json!({"type": "ping", "t": mark})).await;
        let mut seen = Vec::new();
        loop {
            let v = self.recv().await;
            if v["type"] == "pong" && v["t"] == mark.as_str() {
                return seen;
            }
            seen.push(v);
        }
    }
}
