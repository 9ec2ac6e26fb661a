//! The merchant's systems: signed batch upserts and webhooks.

use axum::body::Body;
use axum::http::Request;
use serde_json::{Value, json};

use crate::helpers::TestApp;

fn now_unix() -> i64 {
    kefu_core::clock::Clock::now(&kefu_core::clock::SystemClock).millis() / 1000
}

async fn signed(app: &TestApp, path: &str, body: &Value, secret: &str, unix: i64) -> (u16, Value) {
    let raw = body.to_string();
    let sig = kefu_server::auth::webhook_signature(secret, unix, raw.as_bytes());
    let req = Request::post(path)
        .header("content-type", "application/json")
        .header("x-kefu-signature", sig)
        .body(Body::from(raw))
        .expect("req");
    let (status, v, _) = app.raw(req).await;
    (status.as_u16(), v)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batches_are_all_or_nothing_with_line_numbers() {
    let app = TestApp::spawn().await;
    let secret = app.shop_a.secret.expose().to_owned();
    let customers = json!([
        {"id": "u1", "nickname": "张三", "tier": "plus", "phone": "13812345678", "tags": ["老客"]},
        {"id": "u2", "nickname": "李四", "tier": "gold"},
        {"id": "u3", "nickname": "", "phone": "123"},
    ]);
    let (status, v) = signed(&app, "/api/merchant/shop-a/customers", &customers, &secret, now_unix()).await;
    assert_eq!(status, 400, "{v}");
    assert_eq!(v["error"]["code"], "import_row_invalid");
    let rows = v["error"]["details"]["rows"].as_array().expect("rows");
    assert_eq!(rows[0]["line"], 2);
    assert_eq!(rows[0]["field"], "tier");
    assert!(rows.iter().any(|r| r["line"] == 3 && r["field"] == "phone"));
    let ids = app.store.customer_ids_by_external(app.shop_a.id, &["u1".into()]).await.expect("ids");
    assert!(ids.is_empty(), "nothing half-imported");

    let good = json!([{"id": "u1", "nickname": "张三", "tier": "plus", "phone": "13812345678"}]);
    assert_eq!(signed(&app, "/api/merchant/shop-a/customers", &good, &secret, now_unix()).await.0, 200);
    let orders = json!([{
        "order_no": "88120001", "customer_id": "u1", "status": "paid",
        "items": [{"sku": "FR-1", "name": "冰箱", "quantity": 1, "unit_price_fen": 399900}],
        "created_at": "2026-11-11 00:01:00", "paid_at": "2026-11-11T00:02:00+08:00"
    }]);
    let (status, v) = signed(&app, "/api/merchant/shop-a/orders", &orders, &secret, now_unix()).await;
    assert_eq!(status, 200, "{v}");
    let order = app
        .store
        .order_by_no(app.shop_a.id, &kefu_core::order::OrderNo::parse("88120001").expect("no"))
        .await
        .expect("q")
        .expect("order");
    assert_eq!(order.total.0, 399_900);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_need_a_valid_fresh_signature() {
    let app = TestApp::spawn().await;
    app.known_customer(&app.shop_a, "u100").await;
    let secret = app.shop_a.secret.expose().to_owned();
    let shipment = json!({
        "order_no": "u100-0001", "carrier": "顺丰速运", "tracking_no": "SF100200300",
        "events": [{"at": "2026-11-20 08:00:00", "location": "深圳", "description": "已揽收"}]
    });
    let (status, v) = signed(&app, "/webhooks/shop-a/shipments", &shipment, "wrong-secret", now_unix()).await;
    assert_eq!((status, v["error"]["code"].as_str()), (401, Some("signature_invalid")));
    let (status, v) = signed(&app, "/webhooks/shop-a/shipments", &shipment, &secret, now_unix() - 3600).await;
    assert_eq!((status, v["error"]["code"].as_str()), (401, Some("signature_invalid")), "replayed webhook");
    let (status, v) = signed(&app, "/webhooks/shop-b/shipments", &shipment, &secret, now_unix()).await;
    assert_eq!(status, 401, "shop A's secret does not sign for shop B: {v}");
    let req = Request::post("/webhooks/shop-a/shipments").body(Body::from(shipment.to_string())).expect("req");
    assert_eq!(app.raw(req).await.0.as_u16(), 401);

    let (status, v) = signed(&app, "/webhooks/shop-a/shipments", &shipment, &secret, now_unix()).await;
    assert_eq!(status, 200, "{v}");
    let order = app
        .store
        .order_by_no(app.shop_a.id, &kefu_core::order::OrderNo::parse("u100-0001").expect("no"))
        .await
        .expect("q")
        .expect("o");
    let shipments = app.store.shipments_of_order(order.id).await.expect("shipments");
    assert_eq!(shipments[0].tracking_no, "SF100200300");

    let bad = json!({"order_no": "nope-404", "carrier": "顺丰", "tracking_no": "X1"});
    let (status, v) = signed(&app, "/webhooks/shop-a/shipments", &bad, &secret, now_unix()).await;
    assert_eq!((status, v["error"]["code"].as_str()), (400, Some("import_row_invalid")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_describes_the_api() {
    let app = TestApp::spawn().await;
    let (status, doc, _) = app.request("GET", "/api/openapi.json", None, &[]).await;
    assert_eq!(status, 200);
    assert_eq!(doc["openapi"], "3.1.0");
    for path in [
        "/api/conversations",
        "/api/widget/session",
        "/api/merchant/{shop}/{kind}",
        "/webhooks/{shop}/{kind}",
        "/ws",
        "/api/shops/{id}/knowledge",
        "/api/conversations/{id}/order-requests",
        "/api/shops/{id}/order-requests/{request}/resolve",
        "/api/admin/shops/{id}/notify",
        "/api/admin/shops/{id}/deliveries/{delivery}/retry",
    ] {
        assert!(doc["paths"].get(path).is_some(), "{path} documented");
    }
    for event in kefu_core::outbound::NotifyEvent::ALL {
        assert!(doc["webhooks"].get(event.as_str()).is_some(), "{} documented", event.as_str());
    }
    let codes = doc["components"]["schemas"]["Error"]["properties"]["error"]["properties"]["code"]["enum"]
        .as_array()
        .expect("codes");
    for code in kefu_server::error::Code::ALL {
        assert!(codes.iter().any(|c| c == code.as_str()), "{} documented", code.as_str());
    }
    assert_eq!(app.request("GET", "/healthz", None, &[]).await.0, 200);
    let res = app.raw(Request::get("/metrics").body(Body::empty()).expect("req")).await;
    assert_eq!(res.0, 200);
}
