//! Order cards both ways: a shopper sends one of their own orders (the bot
//! reads it as "this order"), an agent sends the shopper's order back; each
//! refusal (another's order, not an order number, a card as a note, an
//! unknown kind) is answered with its code and stores nothing.

use serde_json::{Value, json};

use crate::helpers::{TestApp, WsClient};

/// Every message of a conversation, as an agent of its shop sees them.
async fn stored(app: &TestApp, conversation: &str) -> Vec<Value> {
    let id = kefu_core::id::ConversationId::parse(conversation).expect("id");
    app.store
        .messages_after(id, 0, 100)
        .await
        .expect("messages")
        .iter()
        .map(|m| json!({"kind": m.kind.as_str(), "text": m.text, "sender": m.sender.kind()}))
        .collect()
}

async fn next_from(ws: &mut WsClient, sender: &str) -> Value {
    loop {
        let v = ws.recv_type("message").await;
        if v["message"]["sender"]["kind"] == sender {
            return v["message"].clone();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shoppers_order_card_is_theirs_and_the_bot_reads_it() {
    let app = TestApp::spawn_bot().await;
    app.known_customer(&app.shop_a, "u300").await;
    app.known_customer(&app.shop_a, "u301").await;
    let token = app.identified("u300").await;
    let mut shopper = app.customer_ws(&token).await;

    shopper.send(json!({"type": "send", "client_msg_id": "c-1", "kind": "order", "text": " u300-0001 "})).await;
    let ack = shopper.recv_type("ack").await;
    let conversation = ack["conversation_id"].as_str().expect("id").to_owned();
    let card = next_from(&mut shopper, "customer").await;
    assert_eq!((card["kind"].as_str(), card["text"].as_str()), (Some("order"), Some("u300-0001")), "{card}");
    let reply = next_from(&mut shopper, "bot").await;
    let text = reply["text"].as_str().expect("text");
    assert!(text.contains("u300-0001") && text.contains("已发货"), "the bot answers about the card's order: {text}");

    // Refusals: each with its code, nothing stored, the connection stays up.
    let before = stored(&app, &conversation).await;
    for (frame, code) in [
        (json!({"kind": "order", "text": "u301-0001"}), "not_found"),
        (json!({"kind": "order", "text": "no-such-order"}), "not_found"),
        (json!({"kind": "order", "text": "订单号是什么"}), "invalid_input"),
        (json!({"kind": "order", "text": "u300-0001", "note": true}), "invalid_input"),
        (json!({"kind": "video", "text": "u300-0001"}), "malformed_frame"),
    ] {
        let mut frame = frame;
        frame["type"] = json!("send");
        frame["client_msg_id"] = json!("refused");
        shopper.send(frame.clone()).await;
        let error = shopper.recv_type("error").await;
        assert_eq!(error["code"], code, "{frame} → {error}");
    }
    assert_eq!(stored(&app, &conversation).await, before, "a refused card stores nothing");
    shopper.send(json!({"type": "ping", "t": 7})).await;
    assert_eq!(shopper.recv_type("pong").await["t"], 7);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_sends_the_shoppers_own_order_back_as_a_card() {
    let app = TestApp::spawn().await;
    app.known_customer(&app.shop_a, "u310").await;
    app.known_customer(&app.shop_a, "u311").await;
    let token = app.identified("u310").await;
    let mut shopper = app.customer_ws(&token).await;
    shopper.send(json!({"type": "send", "client_msg_id": "s-1", "text": "这单什么时候到"})).await;
    let conversation = shopper.recv_type("ack").await["conversation_id"].as_str().expect("id").to_owned();

    let agent = app.login("agent-a").await;
    let (status, _) = app.as_agent(&agent, "POST", &format!("/api/conversations/{conversation}/accept"), None).await;
    assert_eq!(status, 200);
    let path = format!("/api/conversations/{conversation}/messages");

    // Another shopper's order, a note card or an unknown kind: refused, nothing stored.
    let before = stored(&app, &conversation).await;
    for (body, status, code) in [
        (json!({"kind": "order", "text": "u311-0001"}), 404, "not_found"),
        (json!({"kind": "order", "text": "u310-0001", "note": true}), 400, "invalid_input"),
        (json!({"kind": "coupon", "text": "u310-0001"}), 400, "invalid_input"),
        (json!({"kind": "order", "text": "<b>1</b>"}), 400, "invalid_input"),
    ] {
        let (st, v) = app.as_agent(&agent, "POST", &path, Some(body.clone())).await;
        assert_eq!((st.as_u16(), v["error"]["code"].as_str()), (status, Some(code)), "{body} → {v}");
    }
    assert_eq!(stored(&app, &conversation).await, before);

    // The shopper's own order: stored as a card, delivered, and it answers the shopper.
    let (status, v) = app.as_agent(&agent, "POST", &path, Some(json!({"kind": "order", "text": "u310-0001"}))).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["message"]["kind"], "order");
    let card = next_from(&mut shopper, "agent").await;
    assert_eq!((card["kind"].as_str(), card["text"].as_str()), (Some("order"), Some("u310-0001")), "{card}");
    let (_, shown) = app.as_agent(&agent, "GET", &format!("/api/conversations/{conversation}"), None).await;
    assert_eq!(shown["conversation"]["waiting_since"], Value::Null, "a card answers the shopper: {shown}");

    // Over the agent's WebSocket too.
    let mut desk = app.agent_ws(&agent).await;
    desk.send(json!({"type": "send", "conversation_id": conversation, "client_msg_id": "a-2", "kind": "order", "text": "u311-0001"}))
        .await;
    assert_eq!(desk.recv_type("error").await["code"], "not_found");
    desk.send(json!({"type": "send", "conversation_id": conversation, "client_msg_id": "a-3", "kind": "order", "text": "u310-0001"}))
        .await;
    assert_eq!(desk.recv_type("ack").await["duplicate"], false);
    let card = next_from(&mut shopper, "agent").await;
    assert_eq!(card["kind"], "order");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_card_of_an_order_older_than_the_bot_reads_is_answered_about_that_order() {
    use kefu_core::clock::Timestamp;
    use kefu_core::order::{OrderNo, OrderStatus};

    let app = TestApp::spawn_bot().await;
    let customer = app.known_customer(&app.shop_a, "u320").await;
    let old = app.store.orders_of_customer(customer.id, 1).await.expect("orders").remove(0);
    // Thirty newer orders, all paid: the bot reads only the newest ones.
    let newer: Vec<_> = (1..=30)
        .map(|i| {
            let mut o = old.clone();
            o.id = kefu_core::id::OrderId::from_uuid(uuid::Uuid::now_v7());
            o.order_no = OrderNo::parse(&format!("u320-1{i:03}")).expect("no");
            o.status = OrderStatus::Paid;
            o.shipped_at = None;
            o.created_at = Timestamp(old.created_at.0 + i64::from(i) * 60_000);
            o
        })
        .collect();
    app.store.upsert_orders(&newer).await.expect("orders");

    let token = app.identified("u320").await;
    let mut shopper = app.customer_ws(&token).await;
    shopper.send(json!({"type": "send", "client_msg_id": "c-old", "kind": "order", "text": "u320-0001"})).await;
    let reply = next_from(&mut shopper, "bot").await;
    let text = reply["text"].as_str().expect("text");
    assert!(text.contains("u320-0001") && text.contains("已发货"), "{text}");
}

async fn fridge(app: &TestApp, shop: &kefu_core::shop::Shop, sku: &str) {
    let product = kefu_core::catalog::Product {
        id: kefu_core::id::ProductId::from_uuid(uuid::Uuid::now_v7()),
        shop_id: shop.id,
        sku: sku.into(),
        name: "对开门冰箱 500L".into(),
        model: Some("BCD-500W".into()),
        category: kefu_core::catalog::CategoryPath::parse("家用电器/冰箱/对开门").expect("path"),
        price: kefu_core::money::Fen(399_900),
    };
    app.store.upsert_products(&[product]).await.expect("product");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_product_card_names_a_product_of_the_shop_and_the_bot_asks_what_to_know() {
    let app = TestApp::spawn_bot().await;
    fridge(&app, &app.shop_a, "FR-500").await;
    fridge(&app, &app.shop_b, "FR-B").await;
    let (token, _) = app.visitor(&app.shop_a).await;
    let mut shopper = app.customer_ws(&token).await;

    // The widget draws the card from the shop's catalogue; another shop's SKU does not exist here.
    let auth = format!("Bearer {token}");
    let (status, v, _) = app.request("GET", "/api/widget/products/FR-500", None, &[("authorization", &auth)]).await;
    assert_eq!((status.as_u16(), v["product"]["name"].as_str()), (200, Some("对开门冰箱 500L")), "{v}");
    let (status, _, _) = app.request("GET", "/api/widget/products/FR-B", None, &[("authorization", &auth)]).await;
    assert_eq!(status, 404);

    for (sku, code) in [("FR-B", "not_found"), ("FR 500", "invalid_input")] {
        shopper.send(json!({"type": "send", "client_msg_id": "p-x", "kind": "product", "text": sku})).await;
        assert_eq!(shopper.recv_type("error").await["code"], code, "{sku}");
    }
    shopper.send(json!({"type": "send", "client_msg_id": "p-1", "kind": "product", "text": "FR-500"})).await;
    let conversation = shopper.recv_type("ack").await["conversation_id"].as_str().expect("id").to_owned();
    let card = next_from(&mut shopper, "customer").await;
    assert_eq!((card["kind"].as_str(), card["text"].as_str()), (Some("product"), Some("FR-500")));
    let reply = next_from(&mut shopper, "bot").await;
    assert!(reply["text"].as_str().is_some_and(|t| t.contains("对开门") && t.contains("FR-500")), "{reply}");
    assert_eq!(stored(&app, &conversation).await.len(), 2, "the refused cards stored nothing");

    // Agents of the shop see the product; another shop's agent does not.
    let agent = app.login("agent-a").await;
    let (status, v) = app.as_agent(&agent, "GET", &format!("/api/shops/{}/products/FR-500", app.shop_a.id), None).await;
    assert_eq!((status.as_u16(), v["product"]["category"].as_str()), (200, Some("家用电器/冰箱/对开门")), "{v}");
    let other = app.login("agent-b").await;
    let (status, _) = app.as_agent(&other, "GET", &format!("/api/shops/{}/products/FR-500", app.shop_a.id), None).await;
    assert_eq!(status, 404);

    // An agent sends a product card too, of their shop's catalogue only.
    shopper.send(json!({"type": "send", "client_msg_id": "p-2", "text": "转人工"})).await;
    shopper.recv_type("ack").await;
    let (status, _) = app.as_agent(&agent, "POST", &format!("/api/conversations/{conversation}/accept"), None).await;
    assert_eq!(status, 200);
    let path = format!("/api/conversations/{conversation}/messages");
    let (status, v) = app.as_agent(&agent, "POST", &path, Some(json!({"kind": "product", "text": "FR-B"}))).await;
    assert_eq!((status.as_u16(), v["error"]["code"].as_str()), (404, Some("not_found")));
    let (status, v) = app.as_agent(&agent, "POST", &path, Some(json!({"kind": "product", "text": "FR-500"}))).await;
    assert_eq!((status.as_u16(), v["message"]["kind"].as_str()), (200, Some("product")), "{v}");
}
