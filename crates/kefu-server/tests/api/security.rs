//! Each refusal, tested: authentication, CSRF, roles, shop isolation, and
//! customers never seeing one another.

use serde_json::json;

use crate::helpers::TestApp;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agents_need_a_session_and_a_csrf_token() {
    let app = TestApp::spawn().await;
    let (status, body, _) = app.request("GET", "/api/me", None, &[]).await;
    assert_eq!(status, 401);
    assert_eq!(body["error"]["code"], "unauthenticated");
    let (status, body, _) =
        app.request("POST", "/api/auth/login", Some(json!({"username": "agent-a", "password": "wrong"})), &[]).await;
    assert_eq!(status, 401);
    assert_eq!(body["error"]["code"], "invalid_credentials");
    let (status, body, _) =
        app.request("POST", "/api/auth/login", Some(json!({"username": "nobody", "password": "wrong"})), &[]).await;
    assert_eq!((status.as_u16(), body["error"]["code"].as_str()), (401, Some("invalid_credentials")));

    let s = app.login("agent-a").await;
    let (status, _, _) = app.request("GET", "/api/me", None, &[("cookie", &s.cookie)]).await;
    assert_eq!(status, 200, "reads need no CSRF token");
    let (status, body, _) =
        app.request("PUT", "/api/me/status", Some(json!({"status": "away"})), &[("cookie", &s.cookie)]).await;
    assert_eq!(status, 403);
    assert_eq!(body["error"]["code"], "csrf_failed");
    let (status, body, _) = app
        .request(
            "PUT",
            "/api/me/status",
            Some(json!({"status": "away"})),
            &[("cookie", &s.cookie), ("x-csrf-token", "guess")],
        )
        .await;
    assert_eq!((status.as_u16(), body["error"]["code"].as_str()), (403, Some("csrf_failed")));
    assert_eq!(app.as_agent(&s, "PUT", "/api/me/status", Some(json!({"status": "away"}))).await.0, 200);

    // Logged out sessions are dead.
    assert_eq!(app.as_agent(&s, "POST", "/api/auth/logout", None).await.0, 200);
    assert_eq!(app.request("GET", "/api/me", None, &[("cookie", &s.cookie)]).await.0, 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn roles_are_enforced() {
    let app = TestApp::spawn().await;
    let agent = app.login("agent-a").await;
    for (method, path) in [("GET", "/api/admin/shops"), ("GET", "/api/admin/agents"), ("POST", "/api/admin/shops")] {
        let body = (method == "POST").then(|| json!({"slug": "x-shop", "name": "X"}));
        let (status, v) = app.as_agent(&agent, method, path, body).await;
        assert_eq!(status, 403, "{method} {path}");
        assert_eq!(v["error"]["code"], "forbidden");
    }
    let admin = app.login("admin").await;
    let (status, v) =
        app.as_agent(&admin, "POST", "/api/admin/shops", Some(json!({"slug": "new-shop", "name": "新店"}))).await;
    assert_eq!(status, 200, "{v}");
    // QA reads but does not take conversations.
    let qa = app.login("qa").await;
    let (token, _) = app.visitor(&app.shop_a).await;
    let mut ws = app.customer_ws(&token).await;
    ws.send(json!({"type": "send", "client_msg_id": "c", "text": "hi"})).await;
    let id = ws.recv_type("ack").await["conversation_id"].as_str().expect("id").to_owned();
    assert_eq!(app.as_agent(&qa, "GET", &format!("/api/conversations/{id}"), None).await.0, 200);
    let (status, v) = app.as_agent(&qa, "POST", &format!("/api/conversations/{id}/accept"), None).await;
    assert_eq!((status.as_u16(), v["error"]["code"].as_str()), (403, Some("forbidden")));
    // A plain agent cannot reply to a conversation they don't hold.
    let (status, _) =
        app.as_agent(&agent, "POST", &format!("/api/conversations/{id}/messages"), Some(json!({"text": "抢答"}))).await;
    assert_eq!(status, 403);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shops_are_isolated() {
    let app = TestApp::spawn().await;
    let (token, customer_id) = app.visitor(&app.shop_a).await;
    let mut ws = app.customer_ws(&token).await;
    ws.send(json!({"type": "send", "client_msg_id": "c", "text": "店铺A的会话"})).await;
    let id = ws.recv_type("ack").await["conversation_id"].as_str().expect("id").to_owned();

    let outsider = app.login("agent-b").await;
    for path in [
        format!("/api/conversations/{id}"),
        format!("/api/conversations/{id}/messages"),
        format!("/api/customers/{customer_id}"),
    ] {
        let (status, v) = app.as_agent(&outsider, "GET", &path, None).await;
        assert_eq!(status, 404, "{path}: {v}");
    }
    assert_eq!(app.as_agent(&outsider, "POST", &format!("/api/conversations/{id}/accept"), None).await.0, 404);
    let (_, list) = app.as_agent(&outsider, "GET", "/api/conversations", None).await;
    assert_eq!(list["conversations"], json!([]));
    let (_, shops) = app.as_agent(&outsider, "GET", &format!("/api/shops/{}/agents", app.shop_a.id), None).await;
    assert_eq!(shops["error"]["code"], "not_found");

    // Over the WebSocket too: no events, and no way in by id.
    let mut outsider_ws = app.agent_ws(&outsider).await;
    outsider_ws.send(json!({"type": "resume", "conversation_id": id, "after_seq": 0})).await;
    assert_eq!(outsider_ws.recv_type("error").await["code"], "not_found");
    outsider_ws.send(json!({"type": "send", "conversation_id": id, "client_msg_id": "x", "text": "偷看"})).await;
    assert_eq!(outsider_ws.recv_type("error").await["code"], "not_found");
    ws.send(json!({"type": "send", "client_msg_id": "c2", "text": "又一条"})).await;
    ws.recv_type("ack").await;
    assert!(outsider_ws.drain().await.iter().all(|f| f["type"] != "message"));

    // A chat token of shop A does not open a session in shop B.
    let (status, v, _) =
        app.request("POST", "/api/widget/session", Some(json!({"shop": "shop-b", "token": token})), &[]).await;
    assert_eq!(status, 200);
    assert_ne!(v["customer"]["id"], customer_id.as_str(), "a new visitor, not the shop-A customer");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_customer_never_sees_another_customers_conversation() {
    let app = TestApp::spawn().await;
    let (alice, _) = app.visitor(&app.shop_a).await;
    let (bob, _) = app.visitor(&app.shop_a).await;
    let mut alice_ws = app.customer_ws(&alice).await;
    alice_ws.send(json!({"type": "send", "client_msg_id": "a", "text": "我的地址是秘密"})).await;
    let id = alice_ws.recv_type("ack").await["conversation_id"].as_str().expect("id").to_owned();

    let mut bob_ws = app.customer_ws(&bob).await;
    bob_ws.send(json!({"type": "resume", "conversation_id": id, "after_seq": 0})).await;
    assert_eq!(bob_ws.recv_type("error").await["code"], "not_found");
    bob_ws.send(json!({"type": "send", "conversation_id": id, "client_msg_id": "b", "text": "插话"})).await;
    assert_eq!(bob_ws.recv_type("error").await["code"], "not_found");
    bob_ws.send(json!({"type": "typing", "conversation_id": id, "on": true})).await;
    assert_eq!(bob_ws.recv_type("error").await["code"], "not_found");
    let (status, v, _) = app
        .request(
            "GET",
            &format!("/api/widget/messages?conversation_id={id}"),
            None,
            &[("authorization", &format!("Bearer {bob}"))],
        )
        .await;
    assert_eq!(status, 404, "{v}");
    alice_ws.send(json!({"type": "send", "client_msg_id": "a2", "text": "还是秘密"})).await;
    alice_ws.recv_type("ack").await;
    assert!(!bob_ws.drain().await.iter().any(|f| f.to_string().contains("秘密")));
    let (status, _, _) = app
        .request(
            "POST",
            "/api/widget/rate",
            Some(json!({"conversation_id": id, "csat": 1})),
            &[("authorization", &format!("Bearer {bob}"))],
        )
        .await;
    assert_eq!(status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signed_identities_are_checked() {
    let app = TestApp::spawn().await;
    let customer = app.known_customer(&app.shop_a, "u100").await;
    let secret = app.shop_a.secret.expose();
    let future = (kefu_core::clock::Clock::now(&kefu_core::clock::SystemClock).millis() / 1000) + 3600;
    let sig = kefu_server::auth::identity_signature(secret, "u100", future);
    let session = |customer_id: &str, expires: i64, signature: &str| json!({"shop": "shop-a", "identity": {"customer_id": customer_id, "expires": expires, "signature": signature}});

    let (status, v, _) = app.request("POST", "/api/widget/session", Some(session("u100", future, &sig)), &[]).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["customer"]["id"], customer.id.to_string());
    assert_eq!(v["customer"]["identified"], true);
    let token = v["token"].as_str().expect("token").to_owned();
    let (_, orders, _) =
        app.request("GET", "/api/widget/orders", None, &[("authorization", &format!("Bearer {token}"))]).await;
    assert_eq!(orders["orders"][0]["order_no"], "u100-0001");

    // Forged: signed for someone else, or with another shop's secret.
    let (status, v, _) = app.request("POST", "/api/widget/session", Some(session("u101", future, &sig)), &[]).await;
    assert_eq!((status.as_u16(), v["error"]["code"].as_str()), (401, Some("identity_invalid")));
    let other = kefu_server::auth::identity_signature(app.shop_b.secret.expose(), "u100", future);
    let (status, v, _) = app.request("POST", "/api/widget/session", Some(session("u100", future, &other)), &[]).await;
    assert_eq!((status.as_u16(), v["error"]["code"].as_str()), (401, Some("identity_invalid")));
    // Expired.
    let past = future - 7200;
    let old = kefu_server::auth::identity_signature(secret, "u100", past);
    let (status, v, _) = app.request("POST", "/api/widget/session", Some(session("u100", past, &old)), &[]).await;
    assert_eq!((status.as_u16(), v["error"]["code"].as_str()), (401, Some("identity_expired")));
    // A tampered chat token.
    let mut forged = token.clone();
    forged.insert(3, 'x');
    let (status, v, _) =
        app.request("GET", "/api/widget/orders", None, &[("authorization", &format!("Bearer {forged}"))]).await;
    assert_eq!((status.as_u16(), v["error"]["code"].as_str()), (401, Some("identity_invalid")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_websocket_from_another_origin_does_not_ride_the_agent_cookie() {
    let app = TestApp::spawn().await;
    let s = app.login("agent-a").await;
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let mut req = format!("ws://{}/ws", app.addr).into_client_request().expect("req");
    req.headers_mut().insert("cookie", s.cookie.parse().expect("h"));
    req.headers_mut().insert("origin", "http://evil.example".parse().expect("h"));
    let (stream, _) = tokio_tungstenite::connect_async(req).await.expect("connect");
    let mut ws = crate::helpers::WsClient { stream };
    ws.send(json!({"type": "hello", "v": 1})).await;
    assert_eq!(ws.recv_type("error").await["code"], "unauthenticated");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn password_guessing_locks_the_username_not_everyone() {
    let app = TestApp::spawn().await;
    let guess = |user: &'static str| json!({"username": user, "password": "guess"});
    for _ in 0..kefu_server::throttle::MAX_FAILURES {
        let (status, body, _) = app.request("POST", "/api/auth/login", Some(guess("agent-a")), &[]).await;
        assert_eq!((status.as_u16(), body["error"]["code"].as_str()), (401, Some("invalid_credentials")));
    }
    // Now even the right password is refused for a while, and says how long.
    let right = json!({"username": "Agent-A", "password": crate::helpers::PASSWORD});
    let (status, body, _) = app.request("POST", "/api/auth/login", Some(right), &[]).await;
    assert_eq!((status.as_u16(), body["error"]["code"].as_str()), (429, Some("rate_limited")), "{body}");
    assert!(body["error"]["details"]["retry_after_seconds"].as_i64().is_some_and(|s| s > 0), "{body}");
    // Another agent logs in as usual.
    let s = app.login("agent-b").await;
    assert!(!s.cookie.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_chat_page_may_be_framed_by_another_site() {
    let app = TestApp::spawn().await;
    for (path, framed_anywhere) in [("/chat/shop-a", true), ("/agent", false), ("/admin", false), ("/api/me", false)] {
        let req = axum::http::Request::get(path).body(axum::body::Body::empty()).expect("request");
        let (_, _, headers) = app.raw(req).await;
        let csp = headers.get("content-security-policy").and_then(|v| v.to_str().ok()).unwrap_or_default();
        let xfo = headers.get("x-frame-options").and_then(|v| v.to_str().ok());
        if framed_anywhere {
            assert!(csp.ends_with("frame-ancestors *") && xfo.is_none(), "{path}: {csp} {xfo:?}");
        } else {
            assert!(csp.ends_with("frame-ancestors 'self'") && xfo == Some("SAMEORIGIN"), "{path}: {csp} {xfo:?}");
        }
    }
}
