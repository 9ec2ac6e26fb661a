//! Images: the bytes must be an image, an image can be sent only into the
//! conversation of the shopper it was uploaded for, and only that shopper
//! and the shop's agents can fetch it.

use axum::body::Body;
use axum::http::Request;
use serde_json::{Value, json};

use crate::helpers::{Session, TestApp};

const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR-not-really-decoded";

async fn upload_as_shopper(app: &TestApp, token: &str, bytes: Vec<u8>) -> (u16, Value) {
    let req = Request::post("/api/widget/attachments")
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "image/png")
        .body(Body::from(bytes))
        .expect("request");
    let (status, v, _) = app.raw(req).await;
    (status.as_u16(), v)
}

async fn upload_as_agent(app: &TestApp, s: &Session, conversation: &str, bytes: Vec<u8>) -> (u16, Value) {
    let req = Request::post(format!("/api/conversations/{conversation}/attachments"))
        .header("cookie", &s.cookie)
        .header("x-csrf-token", &s.csrf)
        .body(Body::from(bytes))
        .expect("request");
    let (status, v, _) = app.raw(req).await;
    (status.as_u16(), v)
}

async fn fetch(app: &TestApp, path: &str, auth: (&str, &str)) -> (u16, axum::http::HeaderMap) {
    let req = Request::get(path).header(auth.0, auth.1).body(Body::empty()).expect("request");
    let (status, _, headers) = app.raw(req).await;
    (status.as_u16(), headers)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn images_go_only_to_their_conversation_and_are_seen_only_by_its_people() {
    let app = TestApp::spawn().await;
    let (alice, _) = app.visitor(&app.shop_a).await;
    let (bob, _) = app.visitor(&app.shop_a).await;

    // Only images, by their bytes, up to the limit.
    for (bytes, what) in [
        (b"<svg onload=alert(1)></svg>".to_vec(), "svg"),
        (b"<html><script>x</script>".to_vec(), "html"),
        (Vec::new(), "empty"),
        ([PNG, &vec![0u8; kefu_core::attachment::MAX_BYTES]].concat(), "too large"),
    ] {
        let (status, v) = upload_as_shopper(&app, &alice, bytes).await;
        assert_eq!((status, v["error"]["code"].as_str()), (400, Some("invalid_input")), "{what}: {v}");
    }
    let (status, v) = upload_as_shopper(&app, &alice, PNG.to_vec()).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["attachment"]["content_type"], "image/png");
    let id = v["attachment"]["id"].as_str().expect("id").to_owned();

    let mut alice_ws = app.customer_ws(&alice).await;
    alice_ws.send(json!({"type": "send", "client_msg_id": "img-1", "kind": "image", "text": id})).await;
    let conversation = alice_ws.recv_type("ack").await["conversation_id"].as_str().expect("id").to_owned();

    // Bob can neither send Alice's image nor fetch it.
    let mut bob_ws = app.customer_ws(&bob).await;
    bob_ws.send(json!({"type": "send", "client_msg_id": "steal", "kind": "image", "text": id})).await;
    assert_eq!(bob_ws.recv_type("error").await["code"], "not_found");
    let path = format!("/api/widget/attachments/{id}");
    assert_eq!(fetch(&app, &path, ("authorization", &format!("Bearer {bob}"))).await.0, 404);
    let (status, headers) = fetch(&app, &path, ("authorization", &format!("Bearer {alice}"))).await;
    assert_eq!(status, 200);
    assert_eq!(headers.get("content-type").and_then(|v| v.to_str().ok()), Some("image/png"));
    assert!(
        headers.get("content-security-policy").and_then(|v| v.to_str().ok()).is_some_and(|c| c.contains("sandbox"))
    );

    // The shop's agents see it; another shop's do not.
    let agent = app.login("agent-a").await;
    let other = app.login("agent-b").await;
    let agent_path = format!("/api/attachments/{id}");
    assert_eq!(fetch(&app, &agent_path, ("cookie", &agent.cookie)).await.0, 200);
    assert_eq!(fetch(&app, &agent_path, ("cookie", &other.cookie)).await.0, 404);

    // An agent's image is for this conversation's shopper: Alice may see it, Bob may not.
    let (status, _) = upload_as_agent(&app, &agent, &conversation, PNG.to_vec()).await;
    assert_eq!(status, 403, "not before the agent takes the conversation");
    let (status, _) = app.as_agent(&agent, "POST", &format!("/api/conversations/{conversation}/accept"), None).await;
    assert_eq!(status, 200);
    let (status, v) = upload_as_agent(&app, &agent, &conversation, PNG.to_vec()).await;
    assert_eq!(status, 200, "{v}");
    let reply = v["attachment"]["id"].as_str().expect("id").to_owned();
    let (status, v) = app
        .as_agent(
            &agent,
            "POST",
            &format!("/api/conversations/{conversation}/messages"),
            Some(json!({"kind": "image", "text": reply})),
        )
        .await;
    assert_eq!((status.as_u16(), v["message"]["kind"].as_str()), (200, Some("image")), "{v}");
    let reply_path = format!("/api/widget/attachments/{reply}");
    assert_eq!(fetch(&app, &reply_path, ("authorization", &format!("Bearer {alice}"))).await.0, 200);
    assert_eq!(fetch(&app, &reply_path, ("authorization", &format!("Bearer {bob}"))).await.0, 404);
    // Alice's own image cannot be sent by the agent into another shopper's conversation.
    bob_ws.send(json!({"type": "send", "client_msg_id": "b-1", "text": "你好"})).await;
    let bobs = bob_ws.recv_type("ack").await["conversation_id"].as_str().expect("id").to_owned();
    app.as_agent(&agent, "POST", &format!("/api/conversations/{bobs}/accept"), None).await;
    let (status, v) = app
        .as_agent(
            &agent,
            "POST",
            &format!("/api/conversations/{bobs}/messages"),
            Some(json!({"kind": "image", "text": id})),
        )
        .await;
    assert_eq!((status.as_u16(), v["error"]["code"].as_str()), (404, Some("not_found")), "{v}");
}

/// A shopper's burst of uploads is cut at the quota with `rate_limited` and
/// the seconds to wait; nothing of the refused upload is stored, other
/// shoppers and the shop's agents upload as before.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shoppers_flood_of_uploads_is_cut_at_the_quota() {
    let app = TestApp::spawn().await;
    let (alice, alice_id) = app.visitor(&app.shop_a).await;
    let (bob, _) = app.visitor(&app.shop_a).await;
    let quota = kefu_core::attachment::Quota::default();
    for i in 0..quota.per_minute {
        let (status, v) = upload_as_shopper(&app, &alice, PNG.to_vec()).await;
        assert_eq!(status, 200, "upload {i}: {v}");
    }
    let (status, v) = upload_as_shopper(&app, &alice, PNG.to_vec()).await;
    assert_eq!((status, v["error"]["code"].as_str()), (429, Some("rate_limited")), "{v}");
    let wait = v["error"]["details"]["retry_after_seconds"].as_i64().expect("seconds");
    assert!((1..=60).contains(&wait), "{wait}");
    let id = kefu_core::id::CustomerId::parse(&alice_id).expect("id");
    let since = kefu_core::clock::Timestamp(0);
    assert_eq!(app.store.uploads_by_customer(id, since).await.expect("uploads").len(), quota.per_minute);

    let (status, _) = upload_as_shopper(&app, &bob, PNG.to_vec()).await;
    assert_eq!(status, 200, "another shopper is not affected");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shops_shoppers_together_stop_at_its_daily_budget_and_another_shop_goes_on() {
    // Room for two of these images a day for all of shop A's shoppers.
    let budget = 2 * PNG.len() as u64;
    let app = TestApp::spawn_with_uploads(kefu_core::attachment::Quota {
        shop_bytes_per_day: budget,
        ..kefu_core::attachment::Quota::default()
    })
    .await;
    let mut shoppers = Vec::new();
    for _ in 0..3 {
        shoppers.push(app.visitor(&app.shop_a).await);
    }
    for (token, _) in &shoppers[..2] {
        let (status, v) = upload_as_shopper(&app, token, PNG.to_vec()).await;
        assert_eq!(status, 200, "{v}");
    }
    // A third shopper, under their own quota, finds the shop's day used up, until midnight in China.
    let (status, v) = upload_as_shopper(&app, &shoppers[2].0, PNG.to_vec()).await;
    assert_eq!((status, v["error"]["code"].as_str()), (429, Some("rate_limited")), "{v}");
    let wait = v["error"]["details"]["retry_after_seconds"].as_i64().expect("seconds");
    assert!((1..=86_400).contains(&wait), "{wait}");
    let third = kefu_core::id::CustomerId::parse(&shoppers[2].1).expect("id");
    let since = kefu_core::clock::Timestamp(0);
    assert!(app.store.uploads_by_customer(third, since).await.expect("uploads").is_empty(), "nothing stored");

    let (elsewhere, _) = app.visitor(&app.shop_b).await;
    let (status, _) = upload_as_shopper(&app, &elsewhere, PNG.to_vec()).await;
    assert_eq!(status, 200, "shop B has its own budget");
}
