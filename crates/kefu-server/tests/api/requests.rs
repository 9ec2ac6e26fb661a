//! Order requests (服务单) from the workspace: the conversation's agent acts
//! on the shopper's orders under the shop's rules, each refusal answers with
//! its code and writes nothing, a senior grants what the rules refuse, and
//! people close requests once.

use kefu_core::agent::Role;
use kefu_core::catalog::{CategoryPath, Product};
use kefu_core::clock::{Clock, SystemClock, Timestamp};
use kefu_core::customer::Customer;
use kefu_core::id::OrderId;
use kefu_core::money::Fen;
use kefu_core::order::{Order, OrderItem, OrderNo, OrderStatus};
use serde_json::{Value, json};

use crate::helpers::{Session, TestApp};

const DAY: i64 = 86_400_000;

async fn order(app: &TestApp, c: &Customer, no: &str, status: OrderStatus, sku: &str, delivered_days_ago: i64) {
    let now = SystemClock.now();
    let delivered =
        matches!(status, OrderStatus::Delivered).then_some(Timestamp(now.millis() - delivered_days_ago * DAY));
    let o = Order {
        id: OrderId::from_uuid(uuid::Uuid::now_v7()),
        shop_id: c.shop_id,
        order_no: OrderNo::parse(no).expect("no"),
        customer_id: c.id,
        status,
        items: vec![OrderItem { sku: sku.into(), name: "商品".into(), quantity: 1, unit_price: Fen(19_900) }],
        total: Fen(19_900),
        province: "广东省".into(),
        city: "深圳市".into(),
        address: "南山区".into(),
        created_at: Timestamp(now.millis() - 40 * DAY),
        paid_at: Some(Timestamp(now.millis() - 2 * 3_600_000)),
        shipped_at: delivered,
        delivered_at: delivered,
        completed_at: None,
        cancelled_at: None,
        updated_at: now,
    };
    app.store.upsert_orders(&[o]).await.expect("order");
}

/// A shopper of shop a with orders in every state the actions care about,
/// talking to agent-a.
pub(crate) async fn setup(app: &TestApp) -> (Session, String) {
    let c = app.known_customer(&app.shop_a, "u500").await;
    app.known_customer(&app.shop_a, "u501").await;
    let cream = Product {
        id: kefu_core::id::ProductId::from_uuid(uuid::Uuid::now_v7()),
        shop_id: app.shop_a.id,
        sku: "CREAM".into(),
        name: "面霜".into(),
        model: None,
        category: CategoryPath::parse("美妆/护肤/面霜").expect("category"),
        price: Fen(19_900),
    };
    app.store.upsert_products(&[cream]).await.expect("product");
    order(app, &c, "u500-paid", OrderStatus::Paid, "SKU9", 0).await;
    order(app, &c, "u500-cream", OrderStatus::Delivered, "CREAM", 2).await;
    order(app, &c, "u500-old", OrderStatus::Delivered, "SKU8", 40).await;
    let token = app.identified("u500").await;
    let mut shopper = app.customer_ws(&token).await;
    shopper.send(json!({"type": "send", "client_msg_id": "s-1", "text": "我要改地址"})).await;
    let conversation = shopper.recv_type("ack").await["conversation_id"].as_str().expect("id").to_owned();
    let agent = app.login("agent-a").await;
    let (status, _) = app.as_agent(&agent, "POST", &format!("/api/conversations/{conversation}/accept"), None).await;
    assert_eq!(status, 200);
    (agent, conversation)
}

pub(crate) async fn file(app: &TestApp, s: &Session, conversation: &str, body: Value) -> (u16, Value) {
    let (status, v) =
        app.as_agent(s, "POST", &format!("/api/conversations/{conversation}/order-requests"), Some(body)).await;
    (status.as_u16(), v)
}

async fn requests(app: &TestApp, s: &Session, query: &str) -> Vec<Value> {
    let (status, v) =
        app.as_agent(s, "GET", &format!("/api/shops/{}/order-requests{query}", app.shop_a.id), None).await;
    assert_eq!(status, 200, "{v}");
    v["requests"].as_array().expect("requests").clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_acts_on_the_shoppers_orders_under_the_shops_rules() {
    let app = TestApp::spawn().await;
    let (agent, conversation) = setup(&app).await;

    // 改地址 before shipment: the order changes with its request.
    let (status, v) = file(
        &app,
        &agent,
        &conversation,
        json!({"order_no": "u500-paid", "kind": "address_change", "province": "上海市", "city": "上海市", "address": "浦东新区世纪大道1号"}),
    )
    .await;
    assert_eq!(status, 201, "{v}");
    assert_eq!(v["request"]["kind"], "address_change");
    assert_eq!(v["request"]["filed_by_name"], "AGENT-A");
    assert!(v["reply"].as_str().is_some_and(|r| r.contains("浦东新区世纪大道1号")), "{v}");
    let paid = app.store.order_by_no(app.shop_a.id, &OrderNo::parse("u500-paid").expect("no")).await.expect("read");
    assert_eq!(paid.expect("order").address, "浦东新区世纪大道1号");

    // 售后 within the window, for review or not by amount.
    let (status, v) = file(
        &app,
        &agent,
        &conversation,
        json!({"order_no": "u500-cream", "kind": "after_sale", "sku": "CREAM", "reason": "quality", "opened": true, "note": "买家发了照片"}),
    )
    .await;
    assert_eq!(status, 201, "{v}");
    assert!(v["request"]["detail"].as_str().is_some_and(|d| d.contains("质量问题") && d.contains("买家发了照片")));

    // Refusals: each with its code; nothing is written.
    let before = requests(&app, &agent, "").await.len();
    for (body, status, code) in [
        (json!({"order_no": "u500-0001", "kind": "cancel"}), 409, "not_eligible"),
        (json!({"order_no": "u500-0001", "kind": "address_change", "address": "x"}), 409, "not_eligible"),
        (
            json!({"order_no": "u500-old", "kind": "after_sale", "sku": "SKU8", "reason": "no_reason"}),
            409,
            "not_eligible",
        ),
        (json!({"order_no": "u500-cream", "kind": "after_sale", "sku": "CREAM", "reason": "quality"}), 409, "conflict"),
        (json!({"order_no": "u501-0001", "kind": "urge"}), 404, "not_found"),
        (json!({"order_no": "no such", "kind": "urge"}), 404, "not_found"),
        (json!({"order_no": "u500-paid", "kind": "teleport"}), 400, "invalid_input"),
        (json!({"order_no": "u500-paid", "kind": "address_change", "address": " "}), 400, "invalid_input"),
        (json!({"order_no": "u500-paid", "kind": "address_change", "address": "a\u{0}b"}), 400, "invalid_input"),
        (
            json!({"order_no": "u500-paid", "kind": "invoice", "title": "某公司", "credit_code": "91350100M000100Y4X", "email": "a@b.cn"}),
            400,
            "invalid_input",
        ),
        (
            json!({"order_no": "u500-paid", "kind": "invoice", "title": "张三", "email": "not-mail"}),
            400,
            "invalid_input",
        ),
        (
            json!({"order_no": "u500-paid", "kind": "after_sale", "sku": "SKU9", "reason": "bored"}),
            400,
            "invalid_input",
        ),
        (json!({"order_no": "u500-paid", "kind": "urge", "extra": 1}), 400, "invalid_input"),
        (json!({"order_no": "u500-paid", "kind": "urge", "note": "长".repeat(501)}), 400, "invalid_input"),
    ] {
        let (got, v) = file(&app, &agent, &conversation, body.clone()).await;
        assert_eq!((got, v["error"]["code"].as_str()), (status, Some(code)), "{body}: {v}");
    }
    let (_, v) = file(&app, &agent, &conversation, json!({"order_no": "u500-0001", "kind": "cancel"})).await;
    assert_eq!(v["error"]["details"]["reason"], "already_shipped", "{v}");
    assert!(v["error"]["message"].as_str().is_some_and(|m| m.contains("拦截")), "the agent is told the way out: {v}");
    assert_eq!(requests(&app, &agent, "").await.len(), before, "nothing written by the refusals");

    // An agent cannot grant what the rules refuse; a senior can, for review.
    let late =
        json!({"order_no": "u500-old", "kind": "after_sale", "sku": "SKU8", "reason": "no_reason", "exception": true});
    let (status, v) = file(&app, &agent, &conversation, late.clone()).await;
    assert_eq!((status, v["error"]["code"].as_str()), (403, Some("forbidden")), "{v}");
    app.agent("senior-a", Role::Senior, &[app.shop_a.id], 5).await;
    app.agent("lead-a", Role::Supervisor, &[app.shop_a.id], 5).await;
    let lead = app.login("lead-a").await;
    let (status, v) = file(&app, &lead, &conversation, late).await;
    assert_eq!(status, 201, "{v}");
    assert_eq!(v["request"]["needs_review"], true);
    assert!(v["request"]["detail"].as_str().is_some_and(|d| d.starts_with("【特批，规则 window_passed】")), "{v}");
    // Nothing to grant when the order is not delivered.
    let (_, v) = file(
        &app,
        &lead,
        &conversation,
        json!({"order_no": "u500-0001", "kind": "after_sale", "sku": "SKU1", "reason": "quality", "exception": true}),
    )
    .await;
    assert_eq!(
        (v["error"]["code"].as_str(), v["error"]["details"]["exception_possible"].as_bool()),
        (Some("not_eligible"), Some(false))
    );

    // The customer panel lists the shopper's requests.
    let customer = app.store.order_by_no(app.shop_a.id, &OrderNo::parse("u500-paid").expect("no")).await.expect("read");
    let customer_id = customer.expect("order").customer_id;
    let (status, v) = app.as_agent(&agent, "GET", &format!("/api/customers/{customer_id}"), None).await;
    assert_eq!(status, 200);
    assert_eq!(v["requests"].as_array().map(Vec::len), Some(3), "{v}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_are_closed_once_by_those_allowed() {
    let app = TestApp::spawn().await;
    let (agent, conversation) = setup(&app).await;
    let (status, v) = file(&app, &agent, &conversation, json!({"order_no": "u500-paid", "kind": "urge"})).await;
    assert_eq!(status, 201, "{v}");
    let urge = v["request"]["id"].as_str().expect("id").to_owned();
    let (status, v) =
        file(&app, &agent, &conversation, json!({"order_no": "u500-paid", "kind": "price_protection"})).await;
    assert_eq!(status, 201, "{v}");
    let price = v["request"]["id"].as_str().expect("id").to_owned();
    assert_eq!(v["request"]["needs_review"], true);

    let shop = app.shop_a.id;
    let close = |id: &str| format!("/api/shops/{shop}/order-requests/{id}/resolve");
    // Another shop's agent does not find it; QA reads but does not close.
    let other = app.login("agent-b").await;
    let (status, _) = app.as_agent(&other, "POST", &close(&urge), Some(json!({"status": "done"}))).await;
    assert_eq!(status, 404);
    let (status, _) = app.as_agent(&other, "GET", &format!("/api/shops/{shop}/order-requests"), None).await;
    assert_eq!(status, 404);
    let qa = app.login("qa").await;
    assert_eq!(requests(&app, &qa, "?status=open").await.len(), 2);
    let (status, _) = app.as_agent(&qa, "POST", &close(&urge), Some(json!({"status": "done"}))).await;
    assert_eq!(status, 403);
    // A request for review takes a senior.
    let (status, v) = app.as_agent(&agent, "POST", &close(&price), Some(json!({"status": "done"}))).await;
    assert_eq!((status.as_u16(), v["error"]["code"].as_str()), (403, Some("forbidden")));
    // A rejection says why; statuses are done or rejected.
    for body in [json!({"status": "rejected"}), json!({"status": "open"}), json!({"status": "done", "note": 3})] {
        let (status, v) = app.as_agent(&agent, "POST", &close(&urge), Some(body.clone())).await;
        assert_eq!((status.as_u16(), v["error"]["code"].as_str()), (400, Some("invalid_input")), "{body}");
    }
    let (status, v) =
        app.as_agent(&agent, "POST", &close(&urge), Some(json!({"status": "done", "note": "仓库已加急"}))).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(
        (v["request"]["status"].as_str(), v["request"]["resolved"]["by_name"].as_str()),
        (Some("done"), Some("AGENT-A"))
    );
    let (status, v) =
        app.as_agent(&agent, "POST", &close(&urge), Some(json!({"status": "rejected", "note": "x"}))).await;
    assert_eq!((status.as_u16(), v["error"]["code"].as_str()), (409, Some("conflict")), "the first word stands");
    app.agent("senior-a", Role::Senior, &[app.shop_a.id], 5).await;
    let senior = app.login("senior-a").await;
    let (status, _) =
        app.as_agent(&senior, "POST", &close(&price), Some(json!({"status": "rejected", "note": "未降价"}))).await;
    assert_eq!(status, 200);

    assert_eq!(requests(&app, &agent, "?status=open").await.len(), 0);
    assert_eq!(requests(&app, &agent, "?status=done,rejected").await.len(), 2);
    assert_eq!(requests(&app, &agent, "?review=true").await.len(), 1);
    let (status, _) = app.as_agent(&agent, "GET", &format!("/api/shops/{shop}/order-requests?status=lost"), None).await;
    assert_eq!(status, 400);
    // A conversation the agent does not hold is not theirs to act in.
    let a2 = app.login("agent-a2").await;
    let (status, v) = file(&app, &a2, &conversation, json!({"order_no": "u500-paid", "kind": "urge"})).await;
    assert_eq!(status, 403, "{v}");
}

async fn signed(app: &TestApp, path: &str, body: &Value, secret: &str) -> (u16, Value) {
    let raw = body.to_string();
    let unix = SystemClock.now().millis() / 1000;
    let sig = kefu_server::auth::webhook_signature(secret, unix, raw.as_bytes());
    let (status, v, _) = app.request("POST", path, Some(body.clone()), &[("x-kefu-signature", &sig)]).await;
    (status.as_u16(), v)
}

/// The merchant's warehouse or after-sales system reads the open requests
/// and closes them, signed with the shop's secret like every merchant call.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_merchants_system_reads_and_closes_requests() {
    let app = TestApp::spawn().await;
    let (agent, conversation) = setup(&app).await;
    let (status, v) = file(&app, &agent, &conversation, json!({"order_no": "u500-paid", "kind": "urge"})).await;
    assert_eq!(status, 201, "{v}");
    let urge = v["request"]["id"].as_str().expect("id").to_owned();
    let secret = app.shop_a.secret.expose().to_owned();

    let (status, v) = signed(&app, "/api/merchant/shop-a/order-requests/query", &json!({}), &secret).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["requests"].as_array().map(Vec::len), Some(1));
    assert_eq!(v["requests"][0]["order_no"], "u500-paid");
    // Another shop's secret, or none, reads nothing.
    let other = app.shop_b.secret.expose().to_owned();
    let (status, v) = signed(&app, "/api/merchant/shop-a/order-requests/query", &json!({}), &other).await;
    assert_eq!((status, v["error"]["code"].as_str()), (401, Some("signature_invalid")));
    let (status, _, _) = app.request("POST", "/api/merchant/shop-a/order-requests/query", Some(json!({})), &[]).await;
    assert_eq!(status, 401);
    for (body, code) in [
        (json!({"status": "lost"}), "invalid_input"),
        (json!({"id": urge, "status": "open"}), "invalid_input"),
        (json!({"id": urge, "status": "done", "by": "x"}), "invalid_input"),
        (json!({"id": "nope", "status": "done"}), "not_found"),
    ] {
        let path = if body.get("id").is_some() { "resolve" } else { "query" };
        let (_, v) = signed(&app, &format!("/api/merchant/shop-a/order-requests/{path}"), &body, &secret).await;
        assert_eq!(v["error"]["code"].as_str(), Some(code), "{body}: {v}");
    }

    let close = json!({"id": urge, "status": "done", "note": "已从仓库发出"});
    let (status, v) = signed(&app, "/api/merchant/shop-a/order-requests/resolve", &close, &secret).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!((v["request"]["status"].as_str(), v["request"]["resolved"]["by"].as_str()), (Some("done"), None));
    let (status, v) = signed(&app, "/api/merchant/shop-a/order-requests/resolve", &close, &secret).await;
    assert_eq!((status, v["error"]["code"].as_str()), (409, Some("conflict")), "closed once");
    let (_, v) = signed(&app, "/api/merchant/shop-a/order-requests/query", &json!({"status": "done"}), &secret).await;
    assert_eq!(v["requests"][0]["resolved"]["note"], "已从仓库发出");
    // Another shop cannot close shop a's request with its own secret.
    let (status, _) = signed(&app, "/api/merchant/shop-b/order-requests/resolve", &close, &other).await;
    assert_eq!(status, 404);
}

/// The shop's people hear of a request filed or closed (their 服务单 lists
/// refresh); the shopper's connection does not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_shops_agents_hear_of_requests_and_shoppers_do_not() {
    let app = TestApp::spawn().await;
    let (agent, conversation) = setup(&app).await;
    let colleague = app.login("agent-a2").await;
    let mut colleague_ws = app.agent_ws(&colleague).await;
    let outsider = app.login("agent-b").await;
    let mut outsider_ws = app.agent_ws(&outsider).await;
    let token = app.identified("u500").await;
    let mut shopper = app.customer_ws(&token).await;

    let (status, v) = file(&app, &agent, &conversation, json!({"order_no": "u500-paid", "kind": "urge"})).await;
    assert_eq!(status, 201, "{v}");
    let frame = colleague_ws.recv_type("request").await;
    assert_eq!(frame["id"], v["request"]["id"]);
    assert_eq!(frame["order_id"], v["request"]["order_id"]);
    assert_eq!(
        (frame["status"].as_str(), frame["conversation_id"].as_str()),
        (Some("open"), Some(conversation.as_str()))
    );

    let id = v["request"]["id"].as_str().expect("id");
    let path = format!("/api/shops/{}/order-requests/{id}/resolve", app.shop_a.id);
    let (status, _) = app.as_agent(&agent, "POST", &path, Some(json!({"status": "done"}))).await;
    assert_eq!(status, 200);
    assert_eq!(colleague_ws.recv_type("request").await["status"], "done");
    for ws in [&mut outsider_ws, &mut shopper] {
        assert!(ws.drain().await.iter().all(|f| f["type"] != "request"), "not theirs to hear");
    }
}
