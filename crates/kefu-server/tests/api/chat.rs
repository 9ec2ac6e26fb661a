use serde_json::{Value, json};

use crate::helpers::{TestApp, WsClient};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn customer_and_agent_talk_in_real_time() {
    let app = TestApp::spawn().await;
    let agent = app.login("agent-a").await;
    let mut agent_ws = app.agent_ws(&agent).await;
    let (token, _) = app.visitor(&app.shop_a).await;
    let mut customer = app.customer_ws(&token).await;

    customer.send(json!({"type": "send", "client_msg_id": "c-1", "text": "在吗？我的快递到哪了"})).await;
    let ack = customer.recv_type("ack").await;
    assert_eq!(ack["seq"], 1);
    assert_eq!(ack["duplicate"], false);
    let conversation_id = ack["conversation_id"].as_str().expect("id").to_owned();
    let own = customer.recv_type("message").await;
    assert_eq!(own["message"]["text"], "在吗？我的快递到哪了");

    // The agent sees the new conversation in the queue, and the message.
    let queued = agent_ws.recv_type("conversation").await;
    assert_eq!(queued["conversation"]["status"], "queued");
    let seen = agent_ws.recv_type("message").await;
    assert_eq!(seen["message"]["seq"], 1);
    assert!(seen["conversation"]["waiting_since"].is_number());
    let (status, list) = app.as_agent(&agent, "GET", "/api/conversations?status=queued", None).await;
    assert_eq!(status, 200);
    assert_eq!(list["conversations"][0]["conversation"]["id"], conversation_id.as_str());

    let (status, body) =
        app.as_agent(&agent, "POST", &format!("/api/conversations/{conversation_id}/accept"), None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["conversation"]["status"], "assigned");

    agent_ws.send(json!({"type": "send", "conversation_id": conversation_id, "client_msg_id": "a-1", "text": "亲，在的，马上帮您查"})).await;
    assert_eq!(agent_ws.recv_type("ack").await["seq"], 2);
    let reply = customer.recv_type("message").await;
    assert_eq!(reply["message"]["text"], "亲，在的，马上帮您查");
    assert_eq!(reply["message"]["sender"]["kind"], "agent");
    assert!(reply["message"]["sender"].get("id").is_none(), "customers don't see agent ids");

    // Read receipt and typing reach the other side.
    customer.send(json!({"type": "read", "conversation_id": conversation_id, "seq": 2})).await;
    let read = agent_ws.recv_type("read").await;
    assert_eq!(read["by"], "customer");
    assert_eq!(read["seq"], 2);
    agent_ws.send(json!({"type": "typing", "conversation_id": conversation_id, "on": true})).await;
    assert_eq!(customer.recv_type("typing").await["from"], "agent");

    // Closing asks for a rating, which the customer gives once.
    let (status, _) = app.as_agent(&agent, "POST", &format!("/api/conversations/{conversation_id}/close"), None).await;
    assert_eq!(status, 200);
    let closed = customer.recv_type("conversation").await;
    assert_eq!(closed["conversation"]["status"], "closed");
    let auth = format!("Bearer {token}");
    let rate = |csat| json!({"conversation_id": conversation_id, "csat": csat});
    let (status, _, _) = app.request("POST", "/api/widget/rate", Some(rate(5)), &[("authorization", &auth)]).await;
    assert_eq!(status, 200);
    let (status, body, _) = app.request("POST", "/api/widget/rate", Some(rate(1)), &[("authorization", &auth)]).await;
    assert_eq!(status, 409);
    assert_eq!(body["error"]["code"], "conflict");

    // Writing again starts a new conversation.
    customer.send(json!({"type": "send", "client_msg_id": "c-2", "text": "还有个问题"})).await;
    let ack = customer.recv_type("ack").await;
    assert_ne!(ack["conversation_id"], conversation_id.as_str());
    assert_eq!(ack["seq"], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retried_send_is_stored_once() {
    let app = TestApp::spawn().await;
    let (token, _) = app.visitor(&app.shop_a).await;
    let mut ws = app.customer_ws(&token).await;
    let frame = json!({"type": "send", "client_msg_id": "same-id", "text": "你好"});
    ws.send(frame.clone()).await;
    let first = ws.recv_type("ack").await;
    // The connection drops before the client saw the ack; it retries on a new one.
    drop(ws);
    let mut ws = app.customer_ws(&token).await;
    ws.send(frame).await;
    let second = ws.recv_type("ack").await;
    assert_eq!(second["duplicate"], true);
    assert_eq!(second["message_id"], first["message_id"]);
    assert_eq!(second["seq"], 1);
    let (_, history, _) =
        app.request("GET", "/api/widget/messages", None, &[("authorization", &format!("Bearer {token}"))]).await;
    assert_eq!(history["messages"].as_array().map(Vec::len), Some(1));
}

/// A shopper who wrote once (seq 1), was accepted, and went offline while
/// the agent wrote `replies` more (seq 2…).
struct Offline {
    agent_ws: WsClient,
    token: String,
    conversation_id: String,
}

async fn shopper_offline_while_agent_writes(app: &TestApp, replies: usize) -> Offline {
    let agent = app.login("agent-a").await;
    let mut agent_ws = app.agent_ws(&agent).await;
    let (token, _) = app.visitor(&app.shop_a).await;
    let mut customer = app.customer_ws(&token).await;
    customer.send(json!({"type": "send", "client_msg_id": "c-1", "text": "在吗"})).await;
    let conversation_id = customer.recv_type("ack").await["conversation_id"].as_str().expect("id").to_owned();
    customer.recv_type("message").await;
    app.as_agent(&agent, "POST", &format!("/api/conversations/{conversation_id}/accept"), None).await;
    drop(customer);
    for i in 0..replies {
        agent_ws.send(json!({"type": "send", "conversation_id": conversation_id, "client_msg_id": format!("a-{i}"), "text": format!("回复 {i}")})).await;
        agent_ws.recv_type("ack").await;
    }
    Offline { agent_ws, token, conversation_id }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resume_delivers_every_missed_message_exactly_once_in_order() {
    let app = TestApp::spawn().await;
    let Offline { mut agent_ws, token, conversation_id } = shopper_offline_while_agent_writes(&app, 5).await;
    let mut customer = app.customer_ws(&token).await;
    customer.send(json!({"type": "resume", "conversation_id": conversation_id, "after_seq": 1})).await;
    // One more arrives while resuming.
    agent_ws
        .send(json!({"type": "send", "conversation_id": conversation_id, "client_msg_id": "a-late", "text": "还在吗"}))
        .await;
    agent_ws.recv_type("ack").await;

    let mut seqs = Vec::new();
    while seqs.len() < 6 {
        let v = customer.recv().await;
        if v["type"] == "message" {
            seqs.push(v["message"]["seq"].as_i64().expect("seq"));
        }
    }
    assert_eq!(seqs, vec![2, 3, 4, 5, 6, 7]);
    let rest = customer.drain().await;
    assert!(rest.iter().all(|v| v["type"] != "message"), "no message twice: {rest:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_late_resume_never_repeats_what_arrived_live() {
    let app = TestApp::spawn().await;
    let Offline { mut agent_ws, token, conversation_id } = shopper_offline_while_agent_writes(&app, 3).await;
    // Back online, but busy: a ping first, then a live message, then the resume.
    let mut customer = app.customer_ws(&token).await;
    customer.send(json!({"type": "ping"})).await;
    customer.recv_type("pong").await;
    agent_ws
        .send(json!({"type": "send", "conversation_id": conversation_id, "client_msg_id": "a-live", "text": "还在吗"}))
        .await;
    agent_ws.recv_type("ack").await;
    assert_eq!(customer.recv_type("message").await["message"]["seq"], 5);
    customer.send(json!({"type": "resume", "conversation_id": conversation_id, "after_seq": 1})).await;
    let mut seqs = Vec::new();
    loop {
        let v = customer.recv().await;
        match v["type"].as_str() {
            Some("message") => seqs.push(v["message"]["seq"].as_i64().expect("seq")),
            Some("resumed") => break,
            _ => {}
        }
    }
    assert_eq!(seqs, vec![2, 3, 4], "the backlog, without the live message again");
    let rest = customer.drain().await;
    assert!(rest.iter().all(|v| v["type"] != "message"), "no message twice: {rest:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notes_never_reach_the_customer() {
    let app = TestApp::spawn().await;
    let agent = app.login("agent-a").await;
    let (token, _) = app.visitor(&app.shop_a).await;
    let mut customer = app.customer_ws(&token).await;
    customer.send(json!({"type": "send", "client_msg_id": "c-1", "text": "你好"})).await;
    let conversation_id = customer.recv_type("ack").await["conversation_id"].as_str().expect("id").to_owned();
    app.as_agent(&agent, "POST", &format!("/api/conversations/{conversation_id}/accept"), None).await;
    let (status, _) = app
        .as_agent(
            &agent,
            "POST",
            &format!("/api/conversations/{conversation_id}/messages"),
            Some(json!({"text": "内部：此人是职业差评师", "note": true})),
        )
        .await;
    assert_eq!(status, 200);
    app.as_agent(
        &agent,
        "POST",
        &format!("/api/conversations/{conversation_id}/messages"),
        Some(json!({"text": "您好"})),
    )
    .await;
    let frames = customer.drain().await;
    let texts: Vec<&str> = frames.iter().filter_map(|f| f["message"]["text"].as_str()).collect();
    assert!(texts.contains(&"您好"));
    assert!(!frames.iter().any(|f| f.to_string().contains("差评师")), "{frames:?}");
    let (_, history, _) =
        app.request("GET", "/api/widget/messages", None, &[("authorization", &format!("Bearer {token}"))]).await;
    assert!(!history.to_string().contains("差评师"));
    customer.send(json!({"type": "resume", "conversation_id": conversation_id, "after_seq": 0})).await;
    let frames = customer.drain().await;
    assert!(!frames.iter().any(|f| f.to_string().contains("差评师")));
    // Agents see it.
    let (_, msgs) = app.as_agent(&agent, "GET", &format!("/api/conversations/{conversation_id}/messages"), None).await;
    assert!(msgs.to_string().contains("差评师"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accepting_respects_the_concurrency_limit() {
    let app = TestApp::spawn().await;
    let agent = app.login("agent-a2").await; // max 1
    let mut ids = Vec::new();
    for _ in 0..2 {
        let (token, _) = app.visitor(&app.shop_a).await;
        let mut ws = app.customer_ws(&token).await;
        ws.send(json!({"type": "send", "client_msg_id": "c", "text": "hi"})).await;
        ids.push(ws.recv_type("ack").await["conversation_id"].as_str().expect("id").to_owned());
    }
    let (status, _) = app.as_agent(&agent, "POST", &format!("/api/conversations/{}/accept", ids[0]), None).await;
    assert_eq!(status, 200);
    let (status, body) = app.as_agent(&agent, "POST", &format!("/api/conversations/{}/accept", ids[1]), None).await;
    assert_eq!(status, 409);
    assert_eq!(body["error"]["code"], "capacity_reached");
    // Another agent takes it; then the first cannot steal it.
    let other = app.login("agent-a").await;
    assert_eq!(app.as_agent(&other, "POST", &format!("/api/conversations/{}/accept", ids[1]), None).await.0, 200);
    // Transfer to the full agent is refused too.
    let (status, body) = app
        .as_agent(
            &other,
            "POST",
            &format!("/api/conversations/{}/transfer", ids[1]),
            Some(json!({"agent_id": agent.agent_id})),
        )
        .await;
    assert_eq!(status, 409, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_burst_of_new_conversations_is_spread_over_agents_with_room() {
    // agent-a holds 5, agent-a2 holds 1: six shoppers writing at once all get
    // an agent, though they all read the same loads and race for agent-a2.
    let app = TestApp::spawn_auto_assign().await;
    let mut tokens = Vec::new();
    for _ in 0..6 {
        tokens.push(app.visitor(&app.shop_a).await.0);
    }
    let mut clients = Vec::new();
    for token in &tokens {
        clients.push(app.customer_ws(token).await);
    }
    let sends = clients.iter_mut().map(|ws| async move {
        ws.send(json!({"type": "send", "client_msg_id": "first", "text": "在吗"})).await;
        ws.recv_type("ack").await
    });
    futures_util::future::join_all(sends).await;
    let admin = app.login("admin").await;
    let (status, list) = app.as_agent(&admin, "GET", "/api/conversations?status=queued", None).await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(list["conversations"].as_array().map(Vec::len), Some(0), "none left in the queue: {list}");
    let (_, list) = app.as_agent(&admin, "GET", "/api/conversations?status=assigned", None).await;
    assert_eq!(list["conversations"].as_array().map(Vec::len), Some(6), "{list}");
    // A seventh finds everyone full and waits in the queue.
    let (token, _) = app.visitor(&app.shop_a).await;
    let mut ws = app.customer_ws(&token).await;
    ws.send(json!({"type": "send", "client_msg_id": "first", "text": "在吗"})).await;
    ws.recv_type("ack").await;
    let (_, list) = app.as_agent(&admin, "GET", "/api/conversations?status=queued", None).await;
    assert_eq!(list["conversations"].as_array().map(Vec::len), Some(1), "{list}");
}

/// A transfer's note reaches the colleague taking over, never the shopper;
/// a note too long refuses the transfer and moves nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transfer_carries_a_note_for_the_colleague_and_never_the_shopper() {
    let app = TestApp::spawn().await;
    let from = app.login("agent-a").await;
    let to = app.login("agent-a2").await;
    let (token, _) = app.visitor(&app.shop_a).await;
    let mut shopper = app.customer_ws(&token).await;
    shopper.send(json!({"type": "send", "client_msg_id": "n-1", "text": "我要开专票"})).await;
    let id = shopper.recv_type("ack").await["conversation_id"].as_str().expect("id").to_owned();
    assert_eq!(app.as_agent(&from, "POST", &format!("/api/conversations/{id}/accept"), None).await.0, 200);
    let path = format!("/api/conversations/{id}/transfer");

    let long = json!({"agent_id": to.agent_id, "note": "好".repeat(5001)});
    let (status, body) = app.as_agent(&from, "POST", &path, Some(long)).await;
    assert_eq!((status.as_u16(), body["error"]["code"].as_str()), (400, Some("invalid_input")), "{body}");
    let (_, body) = app.as_agent(&from, "GET", &format!("/api/conversations/{id}"), None).await;
    assert_eq!(body["conversation"]["assigned_agent"], from.agent_id.as_str(), "nothing moved");

    let with_note = json!({"agent_id": to.agent_id, "note": "  买家要开增值税专票，抬头已确认  "});
    let (status, body) = app.as_agent(&from, "POST", &path, Some(with_note)).await;
    assert_eq!(status, 200, "{body}");
    let (_, list) = app.as_agent(&to, "GET", &format!("/api/conversations/{id}/messages"), None).await;
    let notes: Vec<&Value> =
        list["messages"].as_array().expect("messages").iter().filter(|m| m["kind"] == "note").collect();
    assert_eq!(notes.len(), 1, "{list}");
    assert_eq!(notes[0]["text"], "【转接】买家要开增值税专票，抬头已确认");
    assert_eq!(notes[0]["sender"]["id"], from.agent_id.as_str(), "written by who handed it over");
    let seen = shopper.drain().await;
    assert!(!seen.iter().any(|f| f.to_string().contains("转接")), "notes never reach the shopper: {seen:?}");
    let bearer = format!("Bearer {token}");
    let (_, widget, _) = app.request("GET", "/api/widget/messages", None, &[("authorization", &bearer)]).await;
    assert!(widget["messages"].is_array() && !widget.to_string().contains("转接"), "{widget}");
}
