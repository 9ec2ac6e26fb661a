//! Every kind of bad input gets a stable error code, stores nothing, keeps
//! the connection up and leaves other users unaffected.

use serde_json::json;

use crate::helpers::TestApp;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_frames_get_error_codes_and_the_connection_stays_up() {
    let app = TestApp::spawn().await;
    let (token, _) = app.visitor(&app.shop_a).await;
    let mut ws = app.customer_ws(&token).await;

    ws.send_text(format!("{{\"type\":\"send\",\"client_msg_id\":\"big\",\"text\":\"{}\"}}", "长".repeat(6000))).await;
    assert_eq!(ws.recv_type("error").await["code"], "frame_too_large");

    ws.send_text("{not json".into()).await;
    assert_eq!(ws.recv_type("error").await["code"], "malformed_frame");

    ws.send(json!({"type": "launch_missiles"})).await;
    assert_eq!(ws.recv_type("error").await["code"], "unknown_frame_type");

    ws.send(json!({"type": "send", "text": "no id"})).await;
    assert_eq!(ws.recv_type("error").await["code"], "malformed_frame");

    ws.send(json!({"type": "send", "client_msg_id": "has space", "text": "x"})).await;
    assert_eq!(ws.recv_type("error").await["code"], "invalid_input");

    ws.send(json!({"type": "send", "client_msg_id": "empty", "text": "  \u{0007} "})).await;
    let e = ws.recv_type("error").await;
    assert_eq!(e["code"], "invalid_input");
    assert_eq!(e["ref"], "empty");

    ws.send(json!({"type": "resume", "conversation_id": uuid::Uuid::now_v7().to_string(), "after_seq": 0})).await;
    assert_eq!(ws.recv_type("error").await["code"], "not_found");

    ws.send(json!({"type": "hello", "v": 99})).await;
    assert_eq!(ws.recv_type("error").await["code"], "unsupported_version");

    // Still up, and nothing was stored.
    assert!(ws.drain().await.is_empty());
    let (_, history, _) =
        app.request("GET", "/api/widget/messages", None, &[("authorization", &format!("Bearer {token}"))]).await;
    assert_eq!(history["messages"], json!([]));
    ws.send(json!({"type": "send", "client_msg_id": "ok", "text": "正常消息"})).await;
    assert_eq!(ws.recv_type("ack").await["seq"], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn frames_before_hello_are_refused() {
    let app = TestApp::spawn().await;
    let mut ws = app.ws(None).await;
    ws.send(json!({"type": "send", "client_msg_id": "x", "text": "hi"})).await;
    assert_eq!(ws.recv_type("error").await["code"], "unauthenticated");
    ws.send(json!({"type": "hello", "v": 1})).await;
    assert_eq!(ws.recv_type("error").await["code"], "unauthenticated");
    ws.send(json!({"type": "hello", "v": 1, "token": "forged.token"})).await;
    assert_eq!(ws.recv_type("error").await["code"], "identity_invalid");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_is_rate_limited_without_hurting_others() {
    let config = kefu_server::ServerConfig { rate_burst: 5, rate_per_second: 1, ..Default::default() };
    let app = TestApp::spawn_with(config).await;
    let (flooder_token, _) = app.visitor(&app.shop_a).await;
    let (calm_token, _) = app.visitor(&app.shop_a).await;
    let mut flooder = app.customer_ws(&flooder_token).await;
    let mut calm = app.customer_ws(&calm_token).await;
    for i in 0..40 {
        flooder.send(json!({"type": "send", "client_msg_id": format!("f{i}"), "text": "刷屏"})).await;
    }
    let mut acks = 0;
    let mut limited = false;
    while !limited {
        let v = flooder.recv().await;
        match v["type"].as_str() {
            Some("ack") => acks += 1,
            Some("error") => {
                assert_eq!(v["code"], "rate_limited");
                limited = true;
            }
            _ => {}
        }
    }
    assert!(acks <= 5, "at most the burst got through, got {acks}");
    calm.send(json!({"type": "send", "client_msg_id": "c1", "text": "我正常说话"})).await;
    assert_eq!(calm.recv_type("ack").await["seq"], 1);
    let (_, history, _) = app
        .request("GET", "/api/widget/messages", None, &[("authorization", &format!("Bearer {flooder_token}"))])
        .await;
    assert!(history["messages"].as_array().map(Vec::len).unwrap_or(0) <= 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_frame_limit_is_configurable() {
    let app = TestApp::spawn_with(kefu_server::ServerConfig { max_frame_bytes: 512, ..Default::default() }).await;
    let (token, _) = app.visitor(&app.shop_a).await;
    let mut ws = app.customer_ws(&token).await;
    ws.send(json!({"type": "send", "client_msg_id": "a", "text": "x".repeat(600)})).await;
    assert_eq!(ws.recv_type("error").await["code"], "frame_too_large");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_longest_message_is_read_whole_through_the_small_read_buffer() {
    let app = TestApp::spawn().await;
    let (token, _) = app.visitor(&app.shop_a).await;
    let mut ws = app.customer_ws(&token).await;
    // 5,000 characters of three bytes: a 15 KB frame, read 2 KiB at a time.
    let text = "长".repeat(4_999) + "!";
    ws.send(json!({"type": "send", "client_msg_id": "long", "text": text})).await;
    let ack = ws.recv_type("ack").await;
    let echo = ws.recv_type("message").await;
    assert_eq!((ack["seq"].as_i64(), echo["message"]["text"].as_str()), (Some(1), Some(text.as_str())));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_rest_bodies_get_codes() {
    let app = TestApp::spawn().await;
    let (status, body, _) = app
        .raw(
            axum::http::Request::post("/api/auth/login")
                .header("content-type", "application/json")
                .body(axum::body::Body::from("{oops"))
                .expect("req"),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["code"], "malformed_json");
    let (status, body, _) = app.request("POST", "/api/auth/login", Some(json!({"username": 1})), &[]).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["code"], "invalid_input");
    let agent = app.login("agent-a").await;
    let (status, body) = app.as_agent(&agent, "GET", "/api/conversations?status=bogus", None).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["code"], "invalid_input");
    let (status, body) = app.as_agent(&agent, "GET", "/api/conversations/not-a-uuid", None).await;
    assert_eq!(status, 404);
    assert_eq!(body["error"]["code"], "not_found");
}

/// A tiny seeded generator, so a failure names the frame that caused it and
/// reruns the same way.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn text(&mut self) -> String {
        const POOL: &[&str] = &[
            "a", "Z", "0", " ", "\"", "\\", "\u{0}", "\u{7}", "\u{1b}", "\u{200b}", "\u{202e}", "😀", "👍🏽", "长",
            "快递", "\u{fffd}", "𝕏", "\n", "\t", "{", "}", "%",
        ];
        let len = [0, 1, 3, 12, 80, 300][self.below(6)];
        (0..len).map(|_| POOL[self.below(POOL.len())]).collect()
    }
    fn value(&mut self) -> serde_json::Value {
        match self.below(12) {
            0 => json!(null),
            1 => json!(true),
            2 => json!(-1),
            3 => json!(i64::MAX),
            4 => json!(u64::MAX),
            5 => json!(1e300),
            6 => json!(0.5),
            7 => json!([self.text(), 1]),
            8 => json!({ "nested": self.text() }),
            9 => json!(uuid::Uuid::now_v7().to_string()),
            _ => json!(self.text()),
        }
    }
}

/// 600 generated frames: every frame type and field, mostly with the right
/// kind of value and wild content (control characters, bidi marks, emoji,
/// huge and negative numbers, this conversation or another), sometimes any
/// JSON value, one in ten broken JSON. In one run they reach decoding,
/// field checks, resume, read, typing and hello. Each error has a stable
/// code; the connection stays up; the next honest message is stored right
/// after whatever the generated ones validly stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generated_frames_get_stable_codes_and_never_drop_the_connection() {
    const CODES: &[&str] = &[
        "malformed_frame",
        "unknown_frame_type",
        "invalid_input",
        "not_found",
        "forbidden",
        "unsupported_version",
        "frame_too_large",
        "conversation_closed",
        "identity_invalid",
        "identity_expired",
        "unauthenticated",
    ];
    const TYPES: &[&str] = &["send", "resume", "typing", "read", "hello", "ping", "", "SEND", "send\u{0}"];
    const FIELDS: &[&str] =
        &["client_msg_id", "text", "conversation_id", "after_seq", "seq", "on", "v", "token", "t", "kind", "note"];
    const KINDS: &[&str] = &["text", "order", "product", "note", "image", "ORDER", ""];
    let config = kefu_server::ServerConfig { rate_burst: 100_000, rate_per_second: 100_000, ..Default::default() };
    let app = TestApp::spawn_with(config).await;
    let (token, _) = app.visitor(&app.shop_a).await;
    let mut ws = app.customer_ws(&token).await;
    // One honest message first, so frames can name a conversation that exists.
    ws.send(json!({"type": "send", "client_msg_id": "first", "text": "你好"})).await;
    let conversation = ws.recv_type("ack").await["conversation_id"].clone();
    let mut rng = Lcg(0x6b65_6675);
    const FRAMES: usize = 600;
    for _ in 0..FRAMES {
        let frame = if rng.below(10) == 0 {
            // Broken JSON: a valid frame cut short, or text that is not JSON at all.
            let whole = json!({"type": "send", "client_msg_id": "cut", "text": rng.text()}).to_string();
            let cut = rng.below(whole.len().max(1));
            whole.get(..cut).map(str::to_owned).unwrap_or_else(|| rng.text())
        } else {
            let mut map = serde_json::Map::new();
            if rng.below(8) != 0 {
                let kind = if rng.below(5) == 0 { TYPES[rng.below(TYPES.len())] } else { TYPES[rng.below(5)] };
                map.insert("type".into(), json!(kind));
            }
            for field in FIELDS {
                if rng.below(2) == 0 {
                    continue;
                }
                // Mostly the right kind of value with wild content, so the
                // frames get past decoding into each field's own checks.
                let value = match (*field, rng.below(4)) {
                    (_, 0) => rng.value(),
                    ("conversation_id", 1 | 2) => conversation.clone(),
                    ("after_seq" | "seq", _) => json!([-1i64, 0, 1, 3, i64::MAX][rng.below(5)]),
                    ("on", _) => json!(rng.below(2) == 0),
                    ("v", _) => json!([0, 1, 2][rng.below(3)]),
                    ("kind", _) => json!(KINDS[rng.below(KINDS.len())]),
                    ("note", _) => json!(rng.below(2) == 0),
                    _ => json!(rng.text()),
                };
                map.insert((*field).into(), value);
            }
            serde_json::Value::Object(map).to_string()
        };
        ws.send_text(frame).await;
    }
    for answer in ws.drain().await {
        if answer["type"] == "error" {
            let code = answer["code"].as_str().unwrap_or_default();
            assert!(CODES.contains(&code), "unexpected code {code:?} in {answer}");
        }
    }
    let (_, history, _) =
        app.request("GET", "/api/widget/messages", None, &[("authorization", &format!("Bearer {token}"))]).await;
    let stored = history["messages"].as_array().map_or(0, Vec::len);
    ws.send(json!({"type": "send", "client_msg_id": "after-the-noise", "text": "还在吗"})).await;
    let ack = ws.recv_type("ack").await;
    assert_eq!(ack["seq"], stored as i64 + 1, "the honest message follows what the {FRAMES} frames stored");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_query_string_that_does_not_parse_gets_invalid_input_as_json() {
    let app = TestApp::spawn().await;
    let agent = app.login("agent-a").await;
    let admin = app.login("admin").await;
    let shop = app.shop_a.id;
    for (who, path) in [
        (&agent, "/api/conversations?limit=many".to_owned()),
        (&agent, format!("/api/shops/{shop}/order-requests?limit=-1")),
        (&agent, format!("/api/shops/{shop}/bot-metrics?days=week")),
        (&admin, format!("/api/admin/shops/{shop}/notify?limit=x")),
    ] {
        let (status, v) = app.as_agent(who, "GET", &path, None).await;
        assert_eq!((status.as_u16(), v["error"]["code"].as_str()), (400, Some("invalid_input")), "{path}: {v}");
    }
    let (token, _) = app.visitor(&app.shop_a).await;
    let auth = format!("Bearer {token}");
    let (status, v, _) =
        app.request("GET", "/api/widget/messages?before=yesterday", None, &[("authorization", &auth)]).await;
    assert_eq!((status.as_u16(), v["error"]["code"].as_str()), (400, Some("invalid_input")), "{v}");
}
