//! Where a waiting shopper stands: 前面还有 N 位 while queued (their own
//! shop's queue only, longest wait first), then which agent took them.

use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::TestApp;

async fn standing(app: &TestApp, token: &str) -> Value {
    let auth = format!("Bearer {token}");
    let (status, v, _) = app.request("GET", "/api/widget/queue", None, &[("authorization", &auth)]).await;
    assert_eq!(status, 200, "{v}");
    v
}

/// A new visitor of `shop` who has written once: their token and conversation.
async fn waiting(app: &TestApp, shop: &kefu_core::shop::Shop, text: &str) -> (String, String) {
    let (token, _) = app.visitor(shop).await;
    let mut ws = app.customer_ws(&token).await;
    ws.send(json!({"type": "send", "client_msg_id": "q-1", "text": text})).await;
    let conversation = ws.recv_type("ack").await["conversation_id"].as_str().expect("id").to_owned();
    (token, conversation)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_waiting_shopper_sees_how_many_are_ahead_and_then_who_took_them() {
    let app = TestApp::spawn().await;
    let (nobody, _) = app.visitor(&app.shop_a).await;
    assert_eq!(standing(&app, &nobody).await["status"], Value::Null);

    let mut shoppers = Vec::new();
    for n in 0..3 {
        shoppers.push(waiting(&app, &app.shop_a, &format!("在吗 {n}")).await);
        // Another shop's queue is not this one's.
        waiting(&app, &app.shop_b, "hello").await;
    }
    for (n, (token, conversation)) in shoppers.iter().enumerate() {
        let v = standing(&app, token).await;
        assert_eq!((v["status"].as_str(), v["ahead"].as_u64()), (Some("queued"), Some(n as u64)), "{v}");
        assert_eq!(v["conversation_id"].as_str(), Some(conversation.as_str()));
        // No wait is promised before the queue has been watched moving.
        assert_eq!(v["wait_seconds"], Value::Null, "{v}");
    }

    let agent = app.login("agent-a").await;
    let (status, _) = app.as_agent(&agent, "POST", &format!("/api/conversations/{}/accept", shoppers[0].1), None).await;
    assert_eq!(status, 200);
    let v = standing(&app, &shoppers[0].0).await;
    assert_eq!((v["status"].as_str(), v["agent_name"].as_str()), (Some("assigned"), Some("AGENT-A")), "{v}");
    // The others move up once the shop's queue is read again (at most a couple of seconds).
    let mut ahead = None;
    for _ in 0..60 {
        ahead = standing(&app, &shoppers[2].0).await["ahead"].as_u64();
        if ahead == Some(1) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(ahead, Some(1));
    assert_eq!(standing(&app, &shoppers[1].0).await["ahead"].as_u64(), Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shopper_with_the_bot_is_told_so_and_strangers_are_refused() {
    let app = TestApp::spawn_bot().await;
    let (token, _) = waiting(&app, &app.shop_a, "你好").await;
    assert_eq!(standing(&app, &token).await["status"], "bot");
    let (status, v, _) = app.request("GET", "/api/widget/queue", None, &[("authorization", "Bearer forged")]).await;
    assert_eq!((status.as_u16(), v["error"]["code"].as_str()), (401, Some("identity_invalid")), "{v}");
    let (status, _, _) = app.request("GET", "/api/widget/queue", None, &[]).await;
    assert_eq!(status.as_u16(), 401);
}
