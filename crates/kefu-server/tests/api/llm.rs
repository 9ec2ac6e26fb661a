//! The optional model endpoint, against a local server that speaks the
//! OpenAI chat-completions protocol (the one permitted fake: no model runs
//! here). A good rephrasing is used; a slow, failing, malformed or
//! number-inventing one falls back to the knowledge base's own answer; the
//! hand-off summary gains the model's lines only when it answers.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::post;
use kefu_core::agent::Role;
use kefu_server::ServerConfig;
use kefu_server::llm::LlmConfig;
use serde_json::{Value, json};

use crate::helpers::TestApp;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Mode {
    Good,
    Invents,
    Slow,
    Fails,
    Garbage,
}

#[derive(Clone)]
struct Fake {
    mode: Arc<Mutex<Mode>>,
    seen: Arc<Mutex<Vec<(Value, Option<String>)>>>,
}

async fn completions(
    State(fake): State<Fake>,
    headers: HeaderMap,
    body: axum::Json<Value>,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let auth = headers.get("authorization").and_then(|v| v.to_str().ok()).map(str::to_owned);
    fake.seen.lock().expect("lock").push((body.0.clone(), auth));
    let mode = *fake.mode.lock().expect("lock");
    let system = body.0["messages"][0]["content"].as_str().unwrap_or_default().to_owned();
    let content = if system.contains("交接摘要") {
        "客户询问保修后要求人工，机器人已按知识库答复，需人工确认具体报修流程。"
    } else if mode == Mode::Invents {
        "亲，整机保修三年哦，还送500元券！"
    } else {
        "亲，整机保修一年、压缩机十年，报修时提供订单号就可以啦～"
    };
    match mode {
        Mode::Slow => {
            tokio::time::sleep(Duration::from_secs(3)).await;
            axum::Json(json!({})).into_response()
        }
        Mode::Fails => (axum::http::StatusCode::INTERNAL_SERVER_ERROR, "overloaded").into_response(),
        Mode::Garbage => axum::Json(json!({"choices": []})).into_response(),
        _ => axum::Json(json!({
            "id": "chatcmpl-1", "object": "chat.completion", "model": body.0["model"],
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}]
        }))
        .into_response(),
    }
}

async fn fake_model() -> (Fake, std::net::SocketAddr) {
    let fake = Fake { mode: Arc::new(Mutex::new(Mode::Good)), seen: Arc::default() };
    let app = axum::Router::new().route("/v1/chat/completions", post(completions)).with_state(fake.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await });
    (fake, addr)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_are_rephrased_when_the_model_behaves_and_kept_when_it_does_not() {
    let (fake, addr) = fake_model().await;
    let llm = LlmConfig::parse(&format!("http://{addr}/v1"), "qwen-test", "sk-local", 500).expect("config");
    let app = TestApp::spawn_bot_with(ServerConfig { llm: Some(llm), ..ServerConfig::default() }).await;
    app.agent("boss", Role::Supervisor, &[app.shop_a.id], 5).await;
    let boss = app.login("boss").await;
    let entry = json!({"question": "保修多久", "alternates": ["质保期多长时间"], "answer": "整机保修一年，压缩机保修十年，凭订单号即可报修。"});
    let (status, _) =
        app.as_agent(&boss, "POST", &format!("/api/shops/{}/knowledge", app.shop_a.id), Some(entry)).await;
    assert_eq!(status, 200);

    let written = "整机保修一年，压缩机保修十年，凭订单号即可报修。";
    assert!(app.first_bot_reply("质保期多长时间").await.contains("报修时提供订单号就可以啦"), "rephrased");
    {
        let seen = fake.seen.lock().expect("lock");
        let (body, auth) = seen.last().expect("a request");
        assert_eq!(body["model"], "qwen-test");
        assert_eq!(auth.as_deref(), Some("Bearer sk-local"));
        let user = body["messages"][1]["content"].as_str().unwrap_or_default();
        assert!(user.contains("质保期多长时间") && user.contains(written), "grounded in the entry: {user}");
    }
    for mode in [Mode::Invents, Mode::Slow, Mode::Fails, Mode::Garbage] {
        *fake.mode.lock().expect("lock") = mode;
        assert_eq!(app.first_bot_reply("质保期多长时间").await, written, "{mode:?} falls back to the written answer");
    }
    let stats = &app.state.bot.llm.as_ref().expect("llm").stats;
    let count = |c: &std::sync::atomic::AtomicU64| c.load(std::sync::atomic::Ordering::Relaxed);
    assert_eq!((count(&stats.used), count(&stats.fell_back)), (1, 4), "counted for /metrics");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_hand_off_summary_gains_the_models_lines_and_keeps_the_bots() {
    let (fake, addr) = fake_model().await;
    let llm = LlmConfig::parse(&format!("http://{addr}/v1"), "qwen-test", "", 500).expect("config");
    let app = TestApp::spawn_bot_with(ServerConfig { llm: Some(llm), ..ServerConfig::default() }).await;
    let (token, _) = app.visitor(&app.shop_a).await;
    let mut ws = app.customer_ws(&token).await;
    ws.send(json!({"type": "send", "client_msg_id": "h-1", "text": "转人工"})).await;
    let ack = ws.recv_type("ack").await;
    let conversation = ack["conversation_id"].as_str().expect("id").to_owned();
    ws.recv_type("conversation").await;
    let agent = app.login("agent-a").await;
    let (_, history) = app.as_agent(&agent, "GET", &format!("/api/conversations/{conversation}/messages"), None).await;
    let note = history["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .find(|m| m["kind"] == "note")
        .and_then(|m| m["text"].as_str())
        .expect("a hand-off note")
        .to_owned();
    assert!(note.contains("转人工原因") && note.contains("【AI 摘要】") && note.contains("需人工确认"), "{note}");
    let seen = fake.seen.lock().expect("lock");
    let (body, auth) = seen.last().expect("a request");
    assert!(auth.is_none(), "no key configured, no Authorization header");
    assert!(body["messages"][1]["content"].as_str().is_some_and(|u| u.contains("客户：转人工")), "{body}");
}
