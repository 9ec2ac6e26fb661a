//! The self-service bot on a real server: it answers from the shopper's
//! orders over the WebSocket, hands off with a summary the agents see, and
//! leaves an audit trail.

use kefu_core::clock::{Clock, SystemClock};
use serde_json::{Value, json};

use crate::helpers::{TestApp, WsClient};

/// The next message the bot sends, skipping the shopper's own echo and other frames.
async fn bot_says(ws: &mut WsClient) -> Value {
    loop {
        let v = ws.recv_type("message").await;
        if v["message"]["sender"]["kind"] == "bot" {
            return v;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bot_answers_from_the_orders_and_hands_off_with_a_summary() {
    let app = TestApp::spawn_bot().await;
    app.known_customer(&app.shop_a, "u200").await;
    let token = app.identified("u200").await;
    let mut shopper = app.customer_ws(&token).await;

    shopper.send(json!({"type": "send", "client_msg_id": "b-1", "text": "我的快递到哪了"})).await;
    let ack = shopper.recv_type("ack").await;
    let conversation_id = ack["conversation_id"].as_str().expect("id").to_owned();
    let reply = bot_says(&mut shopper).await;
    let text = reply["message"]["text"].as_str().expect("text");
    assert!(text.contains("u200-0001") && text.contains("已发货"), "{text}");

    // Not yet with people: no agent queue entry.
    let agent = app.login("agent-a").await;
    let (_, queued) = app.as_agent(&agent, "GET", "/api/conversations?status=queued", None).await;
    assert_eq!(queued["conversations"].as_array().map(Vec::len), Some(0), "{queued}");

    shopper.send(json!({"type": "send", "client_msg_id": "b-2", "text": "转人工"})).await;
    let reply = bot_says(&mut shopper).await;
    assert!(reply["message"]["text"].as_str().is_some_and(|t| t.contains("转接")), "{reply}");
    let changed = shopper.recv_type("conversation").await;
    assert_eq!(changed["conversation"]["status"], "queued");

    let (_, queued) = app.as_agent(&agent, "GET", "/api/conversations?status=queued", None).await;
    assert_eq!(queued["conversations"][0]["conversation"]["id"], conversation_id.as_str(), "{queued}");
    assert_eq!(queued["conversations"][0]["conversation"]["priority"], 1, "a VIP starts at 1; a request adds nothing");
    let (_, history) =
        app.as_agent(&agent, "GET", &format!("/api/conversations/{conversation_id}/messages"), None).await;
    let notes: Vec<&str> = history["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .filter(|m| m["kind"] == "note")
        .filter_map(|m| m["text"].as_str())
        .collect();
    assert!(notes.iter().any(|n| n.contains("转人工原因") && n.contains("识别意图：转人工")), "{notes:?}");
    // The shopper never sees the note.
    let frames = shopper.drain().await;
    assert!(!frames.iter().any(|f| f.to_string().contains("转人工原因")), "{frames:?}");

    let audit = app.store.bot_audit(app.shop_a.id, kefu_core::clock::Timestamp(0), 10).await.expect("audit");
    let outcomes: Vec<&str> = audit.iter().map(|a| a.audit.outcome.as_str()).collect();
    assert_eq!(outcomes, ["answered:no_tracking_yet", "handoff:requested"]);

    // Supervisors see the bot's figures; agents may not.
    let path = format!("/api/shops/{}/bot-metrics?days=7", app.shop_a.id);
    let (status, body) = app.as_agent(&agent, "GET", &path, None).await;
    assert_eq!((status.as_u16(), body["error"]["code"].as_str()), (403, Some("forbidden")), "{body}");
    app.agent("boss", kefu_core::agent::Role::Supervisor, &[app.shop_a.id], 5).await;
    let boss = app.login("boss").await;
    let (status, m) = app.as_agent(&boss, "GET", &path, None).await;
    assert_eq!(status, 200, "{m}");
    assert_eq!(m["conversations"], 1);
    assert_eq!((m["knowledge_answers"].as_u64(), m["misunderstood_turns"].as_u64()), (Some(0), Some(0)));
    assert_eq!(m["handed_off"], 1);
    assert_eq!(m["handoff_reasons"]["requested"], 1);
    assert_eq!(m["per_intent"]["logistics"]["containment"], 0.0);
    let (status, body) =
        app.as_agent(&boss, "GET", &format!("/api/shops/{}/bot-metrics?days=0", app.shop_a.id), None).await;
    assert_eq!((status.as_u16(), body["error"]["code"].as_str()), (400, Some("invalid_input")));
    let (status, _) = app.as_agent(&boss, "GET", &format!("/api/shops/{}/bot-metrics", app.shop_b.id), None).await;
    assert_eq!(status, 404, "another shop's figures do not exist for this supervisor");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_visitor_without_orders_is_told_so() {
    let app = TestApp::spawn_bot().await;
    let (token, _) = app.visitor(&app.shop_a).await;
    let mut shopper = app.customer_ws(&token).await;
    shopper.send(json!({"type": "send", "client_msg_id": "v-1", "text": "帮我查一下订单"})).await;
    let reply = bot_says(&mut shopper).await;
    assert!(reply["message"]["text"].as_str().is_some_and(|t| t.contains("没有查到")), "{reply}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bot_conversation_the_shopper_left_is_closed() {
    let app = TestApp::spawn_bot().await;
    let (token, _) = app.visitor(&app.shop_a).await;
    let mut shopper = app.customer_ws(&token).await;
    shopper.send(json!({"type": "send", "client_msg_id": "q-1", "text": "你好"})).await;
    bot_says(&mut shopper).await;
    // Not quiet long enough: nothing closes.
    assert_eq!(kefu_core::desk::close_idle_bot_conversations(&app.state.ctx, 3_600_000).await.expect("sweep"), 0);
    // Quiet for "no time at all" closes it, and the shopper is told (the widget then asks for a rating).
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    assert_eq!(kefu_core::desk::close_idle_bot_conversations(&app.state.ctx, 1).await.expect("sweep"), 1);
    let closed = shopper.recv_type("conversation").await;
    assert_eq!(closed["conversation"]["status"], "closed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_and_its_answer_are_written_together_and_a_retry_is_answered_once() {
    let app = TestApp::spawn_bot().await;
    let (token, _) = app.visitor(&app.shop_a).await;
    let mut shopper = app.customer_ws(&token).await;
    // The first message opens the conversation; from the second on, the
    // bot's answer is written in the message's commit.
    shopper.send(json!({"type": "send", "client_msg_id": "w-1", "text": "你好"})).await;
    bot_says(&mut shopper).await;
    shopper.send(json!({"type": "send", "client_msg_id": "w-2", "text": "帮我查一下订单"})).await;
    let ack = shopper.recv_type("ack").await;
    let id = ack["conversation_id"].as_str().expect("id").to_owned();
    let conversation = kefu_core::id::ConversationId::parse(&id).expect("id");
    let reply = bot_says(&mut shopper).await;
    assert_eq!(reply["message"]["seq"].as_i64(), ack["seq"].as_i64().map(|s| s + 1), "the answer follows the message");
    // The ack came after the commit that holds both.
    let stored = app.store.messages_after(conversation, 0, 10).await.expect("messages");
    assert_eq!(stored.len(), 4, "{stored:?}");

    // A retry of the same message: the same ack, no second answer.
    shopper.send(json!({"type": "send", "client_msg_id": "w-2", "text": "帮我查一下订单"})).await;
    let again = shopper.recv_type("ack").await;
    assert_eq!((again["duplicate"].as_bool(), again["seq"].as_i64()), (Some(true), ack["seq"].as_i64()));
    let audit = app.store.bot_audit(app.shop_a.id, kefu_core::clock::Timestamp(0), 10).await.expect("audit");
    assert_eq!(audit.len(), 2, "one turn per message: {audit:?}");

    // Handed to people elsewhere (another node, an agent) while this
    // connection still thinks the bot holds it: the message is stored and
    // acknowledged, and the bot stays quiet.
    let handoff = kefu_core::botturn::BotTurnWrite {
        conversation,
        shop: app.shop_a.id,
        state: "{}".into(),
        base_version: app
            .store
            .bot_context(conversation, kefu_core::id::CustomerId::from_uuid(Default::default()), 0)
            .await
            .expect("memory")
            .0
            .version,
        messages: vec![],
        audit: kefu_core::botturn::BotAudit {
            intent: "transfer".into(),
            confidence: 1.0,
            emotion: "calm".into(),
            order_no: None,
            outcome: "handoff:test".into(),
        },
        requests: vec![],
        order_changes: vec![],
        handoff_priority: Some(1),
        at: SystemClock.now(),
        while_queued: false,
    };
    app.store.apply_bot_turn(handoff).await.expect("handoff");
    shopper.send(json!({"type": "send", "client_msg_id": "w-3", "text": "我的快递到哪了"})).await;
    let late = shopper.recv_type("ack").await;
    assert_eq!(late["duplicate"], false);
    let frames = shopper.drain().await;
    assert!(!frames.iter().any(|f| f["message"]["sender"]["kind"] == "bot"), "{frames:?}");
    let audit = app.store.bot_audit(app.shop_a.id, kefu_core::clock::Timestamp(0), 10).await.expect("audit");
    assert_eq!(audit.len(), 3, "the hand-off's line only: {audit:?}");
    let stored = app.store.messages_after(conversation, 0, 10).await.expect("messages");
    assert_eq!(stored.last().map(|m| m.text.as_str()), Some("我的快递到哪了"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_tabs_of_one_shopper_get_one_turn_each() {
    let app = TestApp::spawn_bot().await;
    let (token, _) = app.visitor(&app.shop_a).await;
    let mut first = app.customer_ws(&token).await;
    first.send(json!({"type": "send", "client_msg_id": "t-0", "text": "你好"})).await;
    bot_says(&mut first).await;
    let mut second = app.customer_ws(&token).await;
    tokio::join!(
        first.send(json!({"type": "send", "client_msg_id": "t-1", "text": "我的快递到哪了"})),
        second.send(json!({"type": "send", "client_msg_id": "t-2", "text": "帮我查一下订单"})),
    );
    // Both tabs show every bot reply: wait on one tab for the replies to both turns.
    bot_says(&mut first).await;
    bot_says(&mut first).await;
    let audit = app.store.bot_audit(app.shop_a.id, kefu_core::clock::Timestamp(0), 10).await.expect("audit");
    assert_eq!(audit.len(), 3, "one turn per message, none lost: {audit:?}");
    drop(second);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shop_with_its_own_intent_model_is_read_with_it() {
    // Shop A's shoppers say 小蜜蜂 when they want a person (a shop's in-joke); its model knows.
    let text = "小蜜蜂快来";
    let examples: Vec<kefu_nlu::Example> = [
        ("小蜜蜂快来", "human_agent"),
        ("小蜜蜂在吗", "human_agent"),
        ("叫小蜜蜂来", "human_agent"),
        ("快递到哪了", "logistics"),
        ("我的快递呢", "logistics"),
        ("物流到哪了", "logistics"),
    ]
    .iter()
    .map(|(t, l)| kefu_nlu::Example { text: (*t).into(), label: (*l).into(), group: None })
    .collect();
    let config = kefu_nlu::TrainConfig { min_df: 1, ..kefu_nlu::TrainConfig::default() };
    let model = kefu_nlu::Classifier::train(&examples, &config, &|_, _, _| {}).expect("train");
    assert_ne!(
        kefu_nlu::builtin::intent_model().predict(text).label,
        "human_agent",
        "the built-in model reads it otherwise"
    );
    let mut server = kefu_server::ServerConfig::default();
    server.bot_intents.insert("shop-a".into(), std::sync::Arc::new(model));
    let app = TestApp::spawn_bot_with(server).await;

    for shop in [&app.shop_a, &app.shop_b] {
        let (token, _) = app.visitor(shop).await;
        let mut shopper = app.customer_ws(&token).await;
        shopper.send(json!({"type": "send", "client_msg_id": "own-1", "text": text})).await;
        bot_says(&mut shopper).await;
    }
    let mut intents = Vec::new();
    for shop in [app.shop_a.id, app.shop_b.id] {
        let audit = app.store.bot_audit(shop, kefu_core::clock::Timestamp(0), 10).await.expect("audit");
        intents.push(audit.last().map(|a| a.audit.intent.clone()).expect("a turn"));
    }
    assert_eq!(intents[0], "human_agent");
    assert_ne!(intents[1], "human_agent", "shop B keeps the built-in model");
}

/// Shop A's first misunderstood message, from a new visitor: the bot's reply.
async fn first_misunderstanding(app: &TestApp) -> String {
    first_misunderstanding_in(app, &app.shop_a).await
}

async fn first_misunderstanding_in(app: &TestApp, shop: &kefu_core::shop::Shop) -> String {
    let (token, _) = app.visitor(shop).await;
    let mut shopper = app.customer_ws(&token).await;
    shopper.send(json!({"type": "send", "client_msg_id": "m-1", "text": "今天天气怎么样"})).await;
    bot_says(&mut shopper).await["message"]["text"].as_str().expect("text").to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_reloads_the_rules_and_a_bad_file_changes_nothing() {
    use std::sync::{Arc, Mutex};
    // Shop A's rules file, as the source reads it ("" = no file).
    let file = Arc::new(Mutex::new(String::new()));
    let reads = file.clone();
    let source = kefu_server::RulesSource(Arc::new(move || {
        let text = reads.lock().expect("file").clone();
        let mut rules = std::collections::HashMap::new();
        if !text.is_empty() {
            let parsed = kefu_bot::rules::ShopRules::parse(&text).map_err(|e| format!("shop-a.toml: {e}"))?;
            rules.insert("shop-a".to_owned(), parsed);
        }
        Ok(rules)
    }));
    let server = kefu_server::ServerConfig { bot_rules_source: Some(source), ..Default::default() };
    let app = TestApp::spawn_bot_with(server).await;
    assert!(first_misunderstanding(&app).await.contains("没太明白"), "the default: two misunderstandings");

    let admin = app.login("admin").await;
    let agent = app.login("agent-a").await;
    *file.lock().expect("file") = "[handoff]\nmisunderstandings = 1\n".into();
    let (status, v) = app.as_agent(&agent, "POST", "/api/admin/bot-rules/reload", None).await;
    assert_eq!((status.as_u16(), v["error"]["code"].as_str()), (403, Some("forbidden")), "{v}");
    let (status, _, _) = app.request("POST", "/api/admin/bot-rules/reload", None, &[("cookie", &admin.cookie)]).await;
    assert_eq!(status.as_u16(), 403, "no CSRF token, no reload");
    assert!(first_misunderstanding(&app).await.contains("没太明白"), "refused reloads changed nothing");

    let (status, v) = app.as_agent(&admin, "POST", "/api/admin/bot-rules/reload", None).await;
    assert_eq!((status.as_u16(), &v["shops"]), (200, &json!(["shop-a"])), "{v}");
    assert!(first_misunderstanding(&app).await.contains("转接"), "one misunderstanding now hands off");

    // A mistake (line 2) is reported with the file and changes nothing.
    *file.lock().expect("file") = "[handoff]\nmisunderstandings = \"one\"\n".into();
    let (status, v) = app.as_agent(&admin, "POST", "/api/admin/bot-rules/reload", None).await;
    assert_eq!((status.as_u16(), v["error"]["code"].as_str()), (400, Some("invalid_input")), "{v}");
    let message = v["error"]["message"].as_str().expect("message");
    assert!(message.contains("shop-a.toml") && message.contains("line 2"), "{message}");
    assert!(first_misunderstanding(&app).await.contains("转接"), "the last good rules stay");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rules_edited_on_admin_are_checked_stored_and_read_by_the_next_turn() {
    let app = TestApp::spawn_bot().await;
    let admin = app.login("admin").await;
    let agent = app.login("agent-a").await;
    let path = format!("/api/shops/{}/bot-rules", app.shop_a.id);
    let (status, v) = app.as_agent(&admin, "GET", &path, None).await;
    assert_eq!((status.as_u16(), &v["source"], &v["text"]), (200, &json!("default"), &Value::Null), "{v}");
    assert!(v["default_text"].as_str().is_some_and(|t| t.contains("[returns]")), "{v}");

    // Refusals: an agent, another shop's supervisor, no CSRF token, a policy
    // that does not parse, a text too long. None changes anything.
    let one = json!({"text": "[handoff]\nmisunderstandings = 1\n"});
    let (status, _) = app.as_agent(&agent, "PUT", &path, Some(one.clone())).await;
    assert_eq!(status.as_u16(), 403);
    app.agent("sup-b", kefu_core::agent::Role::Supervisor, &[app.shop_b.id], 5).await;
    let other = app.login("sup-b").await;
    let (status, v) = app.as_agent(&other, "PUT", &path, Some(one.clone())).await;
    assert_eq!((status.as_u16(), v["error"]["code"].as_str()), (404, Some("not_found")), "{v}");
    let (status, _, _) = app.request("PUT", &path, Some(one.clone()), &[("cookie", &admin.cookie)]).await;
    assert_eq!(status.as_u16(), 403, "no CSRF token");
    let bad = json!({"text": "[handoff]\nmisunderstandings = \"one\"\n"});
    let (status, v) = app.as_agent(&admin, "PUT", &path, Some(bad)).await;
    assert_eq!((status.as_u16(), v["error"]["code"].as_str()), (400, Some("invalid_input")), "{v}");
    assert_eq!(v["error"]["details"]["location"], "line 2", "{v}");
    let (status, v) = app.as_agent(&admin, "PUT", &path, Some(json!({"text": "x".repeat(40_000)}))).await;
    assert_eq!((status.as_u16(), v["error"]["code"].as_str()), (400, Some("invalid_input")), "{v}");
    assert_eq!(app.as_agent(&admin, "GET", &path, None).await.1["source"], "default");
    assert!(first_misunderstanding(&app).await.contains("没太明白"));

    // Saved: the next turn of shop A reads it; shop B keeps its own.
    let (status, v) = app.as_agent(&admin, "PUT", &path, Some(one)).await;
    assert_eq!((status.as_u16(), &v["source"]), (200, &json!("admin")), "{v}");
    assert!(v["text"].as_str().is_some_and(|t| t.contains("misunderstandings = 1")), "{v}");
    assert_eq!(v["updated_by"], "admin", "{v}");
    assert!(first_misunderstanding(&app).await.contains("转接"), "one misunderstanding now hands off");
    assert!(first_misunderstanding_in(&app, &app.shop_b).await.contains("没太明白"), "shop B is untouched");

    // Removed: back to the defaults.
    let (status, v) = app.as_agent(&admin, "DELETE", &path, None).await;
    assert_eq!((status.as_u16(), &v["source"]), (200, &json!("default")), "{v}");
    assert!(first_misunderstanding(&app).await.contains("没太明白"));

    // The history holds the save and the removal, newest first; refused
    // attempts left nothing. Only the shop's supervisors read it.
    let history = format!("{path}/history");
    let (status, h) = app.as_agent(&admin, "GET", &history, None).await;
    assert_eq!(status, 200, "{h}");
    let versions = h["versions"].as_array().expect("versions");
    let kinds: Vec<(bool, &str)> = versions
        .iter()
        .map(|v| (v["removed"].as_bool().unwrap_or(false), v["changed_by"].as_str().unwrap_or("")))
        .collect();
    assert_eq!(kinds, [(true, "admin"), (false, "admin")], "{h}");
    assert!(versions[1]["text"].as_str().is_some_and(|t| t.contains("misunderstandings = 1")), "{h}");
    assert_eq!(versions[0]["text"], Value::Null);
    let (status, _) = app.as_agent(&agent, "GET", &history, None).await;
    assert_eq!(status.as_u16(), 403);
    let (status, _) = app.as_agent(&other, "GET", &history, None).await;
    assert_eq!(status.as_u16(), 404, "another shop's supervisor");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rules_save_from_an_older_version_is_refused_and_shows_the_change_since() {
    let app = TestApp::spawn_bot().await;
    let admin = app.login("admin").await;
    app.agent("sup-a", kefu_core::agent::Role::Supervisor, &[app.shop_a.id], 5).await;
    let sup = app.login("sup-a").await;
    let path = format!("/api/shops/{}/bot-rules", app.shop_a.id);
    // Both open the editor on the same version.
    let (_, loaded) = app.as_agent(&admin, "GET", &path, None).await;
    let base = loaded["version"].as_i64().expect("version");
    assert_eq!(app.as_agent(&sup, "GET", &path, None).await.1["version"], base);

    let (status, v) = app
        .as_agent(&sup, "PUT", &path, Some(json!({"text": "[handoff]\nmisunderstandings = 1\n", "base_version": base})))
        .await;
    assert_eq!(status, 200, "{v}");
    let saved = v["version"].as_i64().expect("version");
    assert!(saved > base, "{v}");

    // The admin's save from the old version would silently undo it: refused,
    // with the state now, and nothing changes.
    let (status, v) =
        app.as_agent(&admin, "PUT", &path, Some(json!({"text": "# 全部默认\n", "base_version": base}))).await;
    assert_eq!((status.as_u16(), v["error"]["code"].as_str()), (409, Some("conflict")), "{v}");
    let current = &v["error"]["details"]["current"];
    assert_eq!((&current["updated_by"], &current["version"]), (&json!("sup-a"), &json!(saved)), "{v}");
    assert!(current["text"].as_str().is_some_and(|t| t.contains("misunderstandings = 1")), "{v}");
    let (status, v) = app.as_agent(&admin, "DELETE", &format!("{path}?base_version={base}"), None).await;
    assert_eq!((status.as_u16(), v["error"]["code"].as_str()), (409, Some("conflict")), "{v}");
    let (status, v) = app.as_agent(&admin, "DELETE", &format!("{path}?base_version=later"), None).await;
    assert_eq!((status.as_u16(), v["error"]["code"].as_str()), (400, Some("invalid_input")), "{v}");
    let (_, now) = app.as_agent(&admin, "GET", &path, None).await;
    assert_eq!((&now["updated_by"], &now["version"]), (&json!("sup-a"), &json!(saved)), "{now}");
    assert!(first_misunderstanding(&app).await.contains("转接"), "the bot keeps the saved rules");
    let (_, h) = app.as_agent(&admin, "GET", &format!("{path}/history"), None).await;
    assert_eq!(h["versions"].as_array().map(Vec::len), Some(1), "refusals leave no history: {h}");

    // Having seen it, the admin saves from the new version.
    let (status, v) =
        app.as_agent(&admin, "PUT", &path, Some(json!({"text": "# 全部默认\n", "base_version": saved}))).await;
    assert_eq!((status.as_u16(), &v["updated_by"]), (200, &json!("admin")), "{v}");
    assert!(first_misunderstanding(&app).await.contains("没太明白"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_chat_header_says_when_people_are_back_from_the_shops_service_hours() {
    let app = TestApp::spawn_bot().await;
    app.agent("boss", kefu_core::agent::Role::Supervisor, &[app.shop_a.id], 5).await;
    let boss = app.login("boss").await;
    async fn session(app: &TestApp) -> Value {
        app.request("POST", "/api/widget/session", Some(json!({"shop": "shop-a"})), &[]).await.1["service"].clone()
    }
    let rules = |hours: String| json!({ "text": format!("[service]\nhours = \"{hours}\"\n") });
    let path = format!("/api/shops/{}/bot-rules", app.shop_a.id);

    // Around the clock, with agents online: people answer now.
    let (status, v) = app.as_agent(&boss, "PUT", &path, Some(rules("00:00-24:00".into()))).await;
    assert_eq!(status, 200, "{v}");
    let s = session(&app).await;
    assert_eq!((s["in_hours"].as_bool(), s["people_now"].as_bool()), (Some(true), Some(true)), "{s}");

    // A one-minute window two hours from now (China time): out of hours, but
    // agents still online answer (a sale night's overtime).
    let now = SystemClock.now().millis();
    let minute = (now + 8 * 3_600_000).rem_euclid(86_400_000) / 60_000;
    let hhmm = |m: i64| format!("{:02}:{:02}", (m / 60) % 24, m % 60);
    let window = format!("{}-{}", hhmm((minute + 120) % 1440), hhmm((minute + 121) % 1440));
    let (status, v) = app.as_agent(&boss, "PUT", &path, Some(rules(window.clone()))).await;
    assert_eq!(status, 200, "{window}: {v}");
    let s = session(&app).await;
    assert_eq!((s["in_hours"].as_bool(), s["people_now"].as_bool()), (Some(false), Some(true)), "working late: {s}");
    // Everyone gone: closed, back in about two hours.
    for load in app.store.agents_of_shop(app.shop_a.id).await.expect("team") {
        app.store.set_agent_status(load.agent.id, kefu_core::agent::AgentStatus::Offline).await.expect("offline");
    }
    let s = session(&app).await;
    assert_eq!((s["in_hours"].as_bool(), s["people_now"].as_bool()), (Some(false), Some(false)), "{window}: {s}");
    let back = s["next_open"].as_i64().expect("next_open") - now;
    assert!((118 * 60_000..=121 * 60_000).contains(&back), "{window}: back in {back} ms");

    // Bad hours are refused with the key, and nothing changes.
    let (status, v) = app.as_agent(&boss, "PUT", &path, Some(rules("9-18".into()))).await;
    assert_eq!(status, 400, "{v}");
    assert!(v.to_string().contains("service.hours"), "{v}");
}

/// What the bot files shows up for the shop's people at once (a `request`
/// frame, the buyer panel), and the bot does not file it twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_the_bot_files_reaches_the_agents_and_is_not_filed_twice() {
    let app = TestApp::spawn_bot().await;
    let customer = app.known_customer(&app.shop_a, "u210").await;
    let agent = app.login("agent-a").await;
    let mut agent_ws = app.agent_ws(&agent).await;
    let token = app.identified("u210").await;
    let mut shopper = app.customer_ws(&token).await;

    shopper
        .send(json!({"type": "send", "client_msg_id": "p-1", "text": "订单u210-0001买贵了，降价了，申请价保"}))
        .await;
    let reply = bot_says(&mut shopper).await;
    assert!(reply["message"]["text"].as_str().is_some_and(|t| t.contains("价保")), "{reply}");
    let frame = agent_ws.recv_type("request").await;
    assert_eq!((frame["status"].as_str(), frame["needs_review"].as_bool()), (Some("open"), Some(true)), "{frame}");
    let (_, panel) = app.as_agent(&agent, "GET", &format!("/api/customers/{}", customer.id), None).await;
    assert_eq!(panel["requests"][0]["kind"], "price_protection", "{panel}");
    assert_eq!(panel["orders"][0]["open_requests"], json!(["price_protection"]), "{panel}");
    assert!(panel["requests"][0]["filed_by"].is_null(), "the bot filed it");

    shopper.send(json!({"type": "send", "client_msg_id": "p-2", "text": "订单u210-0001申请价保"})).await;
    let reply = bot_says(&mut shopper).await;
    assert!(reply["message"]["text"].as_str().is_some_and(|t| t.contains("已提交过价保申请")), "{reply}");
    let (_, panel) = app.as_agent(&agent, "GET", &format!("/api/customers/{}", customer.id), None).await;
    assert_eq!(panel["requests"].as_array().map(Vec::len), Some(1), "filed once");
}

/// The bot's hand-off and the widget's queue line say how things stand at
/// the desk: nobody online (in the shop's hours), or closed until when —
/// never "请稍候" to an empty room. With someone online, the usual words.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hand_off_to_an_empty_desk_says_so_and_when_people_are_back() {
    let app = TestApp::spawn_bot().await;
    let admin = app.login("admin").await;
    // The test's agents start online: the desk empties.
    for name in ["admin", "agent-a", "agent-a2"] {
        let who = app.login(name).await;
        let (status, _) = app.as_agent(&who, "PUT", "/api/me/status", Some(json!({"status": "offline"}))).await;
        assert_eq!(status, 200);
    }
    let rules = format!("/api/shops/{}/bot-rules", app.shop_a.id);
    let hours = |h: &str| json!({"text": format!("[service]\nhours = \"{h}\"\n")});
    // Around the clock, nobody online.
    assert_eq!(app.as_agent(&admin, "PUT", &rules, Some(hours("00:00-24:00"))).await.0, 200);
    let (said, queue) = hand_off_to_people(&app).await;
    assert!(said.contains("暂时都不在线") && said.contains("已为您排队") && !said.contains("请稍候"), "{said}");
    assert_eq!(
        (queue["status"].as_str(), queue["people"].as_str()),
        (Some("queued"), Some("nobody_online")),
        "{queue}"
    );
    assert!(queue["wait_seconds"].is_null(), "no wait is promised by an empty desk: {queue}");

    // Hours that start two hours from now (China time): closed, back today or tomorrow.
    let hour = (SystemClock.now().millis() / 3_600_000 + 8 + 2) % 24;
    let later = format!("{hour:02}:00-{:02}:00", hour + 1);
    assert_eq!(app.as_agent(&admin, "PUT", &rules, Some(hours(&later))).await.0, 200);
    let (said, queue) = hand_off_to_people(&app).await;
    assert!(
        said.contains("非服务时间") && said.contains(&later) && said.contains(&format!("{hour:02}:00 上班")),
        "{said}"
    );
    assert_eq!(queue["people"], "closed", "{queue}");
    let back = queue["next_open"].as_i64().expect("next_open");
    assert!(back > SystemClock.now().millis() && (back / 60_000) % 60 == 0, "{queue}");

    // Someone online: the usual promise (the turn reads the desk afresh).
    let agent = app.login("agent-a").await;
    let (status, _) = app.as_agent(&agent, "PUT", "/api/me/status", Some(json!({"status": "online"}))).await;
    assert_eq!(status, 200);
    let (said, _) = hand_off_to_people(&app).await;
    assert!(said.contains("正在为您转接人工客服"), "{said}");
}

/// A new visitor of shop A asks for people: what the bot said, and the widget's queue answer.
async fn hand_off_to_people(app: &TestApp) -> (String, Value) {
    let (token, _) = app.visitor(&app.shop_a).await;
    let mut shopper = app.customer_ws(&token).await;
    shopper.send(json!({"type": "send", "client_msg_id": "h-1", "text": "转人工"})).await;
    let said = bot_says(&mut shopper).await["message"]["text"].as_str().expect("text").to_owned();
    shopper.recv_type("conversation").await; // queued
    let auth = format!("Bearer {token}");
    let (_, queue, _) = app.request("GET", "/api/widget/queue", None, &[("authorization", &auth)]).await;
    (said, queue)
}

/// On a long queue the bot still answers what it can from the shopper's
/// orders (到哪了), and only that: the shopper keeps their place and their
/// wait; small talk waits for the person; once someone takes them, or where
/// the shop's rules say no, the bot is quiet.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shopper_waiting_for_people_still_gets_answers_from_their_orders() {
    let app = TestApp::spawn_bot().await;
    app.known_customer(&app.shop_a, "u300").await;
    let token = app.identified("u300").await;
    let mut shopper = app.customer_ws(&token).await;
    shopper.send(json!({"type": "send", "client_msg_id": "q-1", "text": "转人工"})).await;
    let conversation_id = shopper.recv_type("ack").await["conversation_id"].as_str().expect("id").to_owned();
    bot_says(&mut shopper).await;
    assert_eq!(shopper.recv_type("conversation").await["conversation"]["status"], "queued");
    let auth = format!("Bearer {token}");
    let (_, before, _) = app.request("GET", "/api/widget/queue", None, &[("authorization", &auth)]).await;

    shopper.send(json!({"type": "send", "client_msg_id": "q-2", "text": "我的快递到哪了"})).await;
    let answer = bot_says(&mut shopper).await["message"]["text"].as_str().expect("text").to_owned();
    assert!(answer.contains("u300-0001"), "{answer}");
    let (_, after, _) = app.request("GET", "/api/widget/queue", None, &[("authorization", &auth)]).await;
    assert_eq!((after["status"].as_str(), &after["ahead"]), (Some("queued"), &before["ahead"]), "{after}");
    let agent = app.login("agent-a").await;
    let (_, queued) = app.as_agent(&agent, "GET", "/api/conversations?status=queued", None).await;
    let row = &queued["conversations"][0]["conversation"];
    assert_eq!(row["id"], conversation_id.as_str());
    assert!(row["waiting_since"].is_number(), "still waiting for a person: {row}");

    // Small talk is left to the person.
    shopper.send(json!({"type": "send", "client_msg_id": "q-3", "text": "你好"})).await;
    shopper.recv_type("ack").await;
    let quiet = shopper.drain().await;
    assert!(!quiet.iter().any(|f| f["message"]["sender"]["kind"] == "bot"), "{quiet:?}");

    // Taken: the bot steps back.
    let accept = format!("/api/conversations/{conversation_id}/accept");
    assert_eq!(app.as_agent(&agent, "POST", &accept, None).await.0, 200);
    shopper.send(json!({"type": "send", "client_msg_id": "q-4", "text": "我的快递到哪了"})).await;
    shopper.recv_type("ack").await;
    let quiet = shopper.drain().await;
    assert!(!quiet.iter().any(|f| f["message"]["sender"]["kind"] == "bot"), "{quiet:?}");

    // A shop whose rules say no: a new waiting shopper gets no answer from the bot.
    let admin = app.login("admin").await;
    let rules = format!("/api/shops/{}/bot-rules", app.shop_a.id);
    let off = json!({"text": "[handoff]\nanswer_while_queued = false\n"});
    assert_eq!(app.as_agent(&admin, "PUT", &rules, Some(off)).await.0, 200);
    app.known_customer(&app.shop_a, "u301").await;
    let mut other = app.customer_ws(&app.identified("u301").await).await;
    other.send(json!({"type": "send", "client_msg_id": "r-1", "text": "转人工"})).await;
    bot_says(&mut other).await;
    other.recv_type("conversation").await;
    other.send(json!({"type": "send", "client_msg_id": "r-2", "text": "我的快递到哪了"})).await;
    other.recv_type("ack").await;
    let quiet = other.drain().await;
    assert!(!quiet.iter().any(|f| f["message"]["sender"]["kind"] == "bot"), "{quiet:?}");
}
