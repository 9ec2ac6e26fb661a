//! Account lifecycle on /admin: a person who left is disabled — signed out
//! everywhere at once (sessions and open sockets), refused at login, their
//! conversations back in the queue — and a new password or new rights take
//! effect on connections already open.

use std::time::Duration;

use futures_util::StreamExt;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message as Ws;

use crate::helpers::{PASSWORD, Session, TestApp, WsClient};

/// Frames until the server closes the socket: the text frames, and the close code.
async fn until_closed(ws: &mut WsClient) -> (Vec<Value>, Option<u16>) {
    let mut frames = Vec::new();
    loop {
        match tokio::time::timeout(Duration::from_secs(10), ws.stream.next()).await.expect("closed in time") {
            Some(Ok(Ws::Text(t))) => frames.push(serde_json::from_str(&t).expect("json")),
            Some(Ok(Ws::Close(frame))) => return (frames, frame.map(|f| u16::from(f.code))),
            Some(Ok(_)) => {}
            None | Some(Err(_)) => return (frames, None),
        }
    }
}

async fn me(app: &TestApp, s: &Session) -> u16 {
    app.as_agent(s, "GET", "/api/me", None).await.0.as_u16()
}

async fn login_as(app: &TestApp, username: &str, password: &str) -> (u16, Value) {
    let (status, v, _) =
        app.request("POST", "/api/auth/login", Some(json!({"username": username, "password": password})), &[]).await;
    (status.as_u16(), v)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disabled_agent_is_signed_out_everywhere_and_their_conversations_go_back_to_the_queue() {
    let app = TestApp::spawn().await;
    let admin = app.login("admin").await;
    let leaver = app.login("agent-a").await;
    let other_tab = app.login("agent-a").await;
    let colleague = app.login("agent-a2").await;
    let (token, _) = app.visitor(&app.shop_a).await;
    let mut shopper = app.customer_ws(&token).await;
    shopper.send(json!({"type": "send", "client_msg_id": "d-1", "text": "在吗"})).await;
    let conversation = shopper.recv_type("ack").await["conversation_id"].as_str().expect("id").to_owned();
    let (status, _) = app.as_agent(&leaver, "POST", &format!("/api/conversations/{conversation}/accept"), None).await;
    assert_eq!(status, 200);
    let mut socket = app.agent_ws(&leaver).await;
    let mut colleague_socket = app.agent_ws(&colleague).await;

    let (status, v) =
        app.as_agent(&admin, "POST", &format!("/api/admin/agents/{}/disable", leaver.agent_id), None).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!((v["agent"]["disabled"].as_bool(), v["agent"]["status"].as_str()), (Some(true), Some("offline")));

    // The open socket is told and closed; every session is over.
    let (frames, code) = until_closed(&mut socket).await;
    assert!(frames.iter().any(|f| f["type"] == "error" && f["code"] == "session_revoked"), "{frames:?}");
    assert_eq!(code, Some(4000));
    assert_eq!((me(&app, &leaver).await, me(&app, &other_tab).await), (401, 401));
    let (status, v) = app
        .as_agent(
            &leaver,
            "POST",
            &format!("/api/conversations/{conversation}/messages"),
            Some(json!({"text": "还在"})),
        )
        .await;
    assert_eq!(status, 401, "{v}");
    let mut again = app.ws(Some(&leaver.cookie)).await;
    again.send(json!({"type": "hello", "v": 1})).await;
    assert_eq!(again.recv().await["code"], "unauthenticated");

    // Refused at login, but only to whoever knows the password.
    let (status, v) = login_as(&app, "agent-a", PASSWORD).await;
    assert_eq!((status, v["error"]["code"].as_str()), (403, Some("account_disabled")), "{v}");
    let (status, v) = login_as(&app, "agent-a", "not-the-password").await;
    assert_eq!((status, v["error"]["code"].as_str()), (401, Some("invalid_credentials")));

    // Their conversation waits in the queue for someone else; the team sees it move.
    let (status, v) = app.as_agent(&admin, "GET", &format!("/api/conversations/{conversation}"), None).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(
        (v["conversation"]["status"].as_str(), v["conversation"]["assigned_agent"].as_str()),
        (Some("queued"), None)
    );
    let seen = colleague_socket.drain().await;
    assert!(seen.iter().any(|f| f["type"] == "conversation" && f["conversation"]["status"] == "queued"), "{seen:?}");
    assert!(seen.iter().any(|f| f["type"] == "presence" && f["status"] == "offline"), "{seen:?}");
    let (status, v) =
        app.as_agent(&colleague, "POST", &format!("/api/conversations/{conversation}/accept"), None).await;
    assert_eq!(status, 200, "{v}");
    // Nobody transfers to them.
    let (status, v) = app
        .as_agent(
            &colleague,
            "POST",
            &format!("/api/conversations/{conversation}/transfer"),
            Some(json!({"agent_id": leaver.agent_id})),
        )
        .await;
    assert_eq!((status.as_u16(), v["error"]["code"].as_str()), (404, Some("not_found")), "{v}");

    // Enabled again, they log in.
    let (status, v) =
        app.as_agent(&admin, "POST", &format!("/api/admin/agents/{}/enable", leaver.agent_id), None).await;
    assert_eq!((status.as_u16(), v["agent"]["disabled"].as_bool()), (200, Some(false)));
    assert_eq!(login_as(&app, "agent-a", PASSWORD).await.0, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disabling_refuses_what_it_should() {
    let app = TestApp::spawn().await;
    let admin = app.login("admin").await;
    let agent = app.login("agent-a").await;
    let target = app.login("agent-b").await;
    for (who, path, status, code) in [
        (&agent, format!("/api/admin/agents/{}/disable", target.agent_id), 403, "forbidden"),
        (&agent, format!("/api/admin/agents/{}/enable", target.agent_id), 403, "forbidden"),
        (&admin, format!("/api/admin/agents/{}/disable", admin.agent_id), 409, "conflict"),
        (&admin, format!("/api/admin/agents/{}/disable", uuid::Uuid::now_v7()), 404, "not_found"),
        (&admin, "/api/admin/agents/nope/disable".to_owned(), 404, "not_found"),
    ] {
        let (got, v) = app.as_agent(who, "POST", &path, None).await;
        assert_eq!((got.as_u16(), v["error"]["code"].as_str()), (status, Some(code)), "{path}: {v}");
    }
    assert_eq!(me(&app, &target).await, 200, "nothing was disabled");
    assert_eq!(me(&app, &admin).await, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_password_signs_the_account_out_elsewhere_and_new_rights_reach_open_sockets() {
    let app = TestApp::spawn().await;
    let admin = app.login("admin").await;
    let admin_elsewhere = app.login("admin").await;
    let agent = app.login("agent-a").await;
    let mut socket = app.agent_ws(&agent).await;

    let (status, v) = app
        .as_agent(
            &admin,
            "PUT",
            &format!("/api/admin/agents/{}", agent.agent_id),
            Some(json!({"password": "a-new-secret-1"})),
        )
        .await;
    assert_eq!(status, 200, "{v}");
    let (frames, _) = until_closed(&mut socket).await;
    assert!(frames.iter().any(|f| f["code"] == "session_revoked"), "{frames:?}");
    assert_eq!(me(&app, &agent).await, 401);
    assert_eq!(login_as(&app, "agent-a", PASSWORD).await.0, 401);
    assert_eq!(login_as(&app, "agent-a", "a-new-secret-1").await.0, 200);

    // An admin changing their own password stays signed in here, not elsewhere.
    let (status, _) = app
        .as_agent(
            &admin,
            "PUT",
            &format!("/api/admin/agents/{}", admin.agent_id),
            Some(json!({"password": "admin-new-secret"})),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!((me(&app, &admin).await, me(&app, &admin_elsewhere).await), (200, 401));

    // New rights: the open socket is closed without signing out, and comes back with them.
    let agent = app.login("agent-a2").await;
    let mut socket = app.agent_ws(&agent).await;
    let (status, _) = app
        .as_agent(&admin, "PUT", &format!("/api/admin/agents/{}", agent.agent_id), Some(json!({"role": "senior"})))
        .await;
    assert_eq!(status, 200);
    let (frames, code) = until_closed(&mut socket).await;
    assert!(frames.iter().all(|f| f["type"] != "error"), "{frames:?}");
    assert_eq!(code, Some(4000));
    let mut socket = app.agent_ws(&agent).await;
    assert!(socket.drain().await.iter().all(|f| f["type"] != "error"));
    let (status, v) = app.as_agent(&agent, "GET", "/api/me", None).await;
    assert_eq!((status.as_u16(), v["agent"]["role"].as_str()), (200, Some("senior")));
    // A change of display name alone leaves connections be.
    let (status, _) = app
        .as_agent(
            &admin,
            "PUT",
            &format!("/api/admin/agents/{}", agent.agent_id),
            Some(json!({"display_name": "小王"})),
        )
        .await;
    assert_eq!(status, 200);
    assert!(socket.drain().await.iter().all(|f| f["type"] != "error"));
}

/// What `kefu user disable` or another node does: the store changes, and no
/// event reaches this node's bus. Open sockets find out at their next check.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_made_without_this_nodes_bus_reach_open_sockets_at_their_next_check() {
    use kefu_core::clock::{Clock, SystemClock};
    use kefu_core::id::AgentId;
    let config = kefu_server::ServerConfig { session_recheck: Duration::from_millis(100), ..Default::default() };
    let app = TestApp::spawn_with(config).await;
    let leaver = app.login("agent-a").await;
    let moved = app.login("agent-a2").await;
    let stays = app.login("agent-b").await;
    let mut leaver_socket = app.agent_ws(&leaver).await;
    let mut moved_socket = app.agent_ws(&moved).await;
    let mut stays_socket = app.agent_ws(&stays).await;

    let id = |s: &Session| AgentId::parse(&s.agent_id).expect("agent id");
    app.store.disable_agent(id(&leaver), SystemClock.now()).await.expect("disable");
    let mut account = app.store.agent(id(&moved)).await.expect("read").expect("agent");
    account.shops = vec![app.shop_b.id];
    app.store.update_agent(&account).await.expect("move to shop B");

    let (frames, code) = until_closed(&mut leaver_socket).await;
    assert!(frames.iter().any(|f| f["code"] == "session_revoked"), "signed out, and told: {frames:?}");
    assert_eq!(code, Some(4000));
    let (frames, code) = until_closed(&mut moved_socket).await;
    assert!(frames.iter().all(|f| f["code"] != "session_revoked"), "not signed out: {frames:?}");
    assert_eq!(code, Some(4000), "closed, to come back with the new rights");
    // Checked several times meanwhile, and still up.
    tokio::time::sleep(Duration::from_millis(400)).await;
    stays_socket.send(json!({"type": "ping", "t": 1})).await;
    assert_eq!(stays_socket.recv_type("pong").await["t"], 1);
    assert_eq!(me(&app, &moved).await, 200, "the session itself goes on");
}

/// An agent marked 接待中 whose workspace is gone (the browser closed
/// without going 离线) is set offline after `presence_timeout`, and the
/// shopper left waiting goes back to the queue; one whose workspace stays
/// connected is not; logging out goes offline at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agents_whose_workspace_is_gone_go_offline_and_logging_out_is_leaving() {
    use kefu_core::agent::AgentStatus;
    use kefu_core::id::AgentId;
    let config = kefu_server::ServerConfig {
        session_recheck: Duration::from_millis(100),
        presence_timeout: Duration::from_millis(600),
        ..Default::default()
    };
    let app = TestApp::spawn_with(config).await;
    let here = app.login("agent-a").await;
    let gone = app.login("agent-a2").await;
    let leaving = app.login("agent-b").await;
    let status = |s: &Session| {
        let id = AgentId::parse(&s.agent_id).expect("id");
        let store = app.store.clone();
        async move { store.agent(id).await.expect("read").expect("agent").status }
    };
    for s in [&here, &gone] {
        let (code, v) = app.as_agent(s, "PUT", "/api/me/status", Some(json!({"status": "online"}))).await;
        assert_eq!(code, 200, "{v}");
    }
    // agent-a2 takes a shopper, then never opens a workspace.
    let (token, _) = app.visitor(&app.shop_a).await;
    let mut shopper = app.customer_ws(&token).await;
    shopper.send(json!({"type": "send", "client_msg_id": "w-1", "text": "还在吗"})).await;
    let conversation = shopper.recv_type("ack").await["conversation_id"].as_str().expect("id").to_owned();
    let (code, v) = app.as_agent(&gone, "POST", &format!("/api/conversations/{conversation}/accept"), None).await;
    assert_eq!(code, 200, "{v}");
    let mut socket = app.agent_ws(&here).await;
    let mut frames = Vec::new();
    for _ in 0..60 {
        if status(&gone).await == AgentStatus::Offline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(status(&gone).await, AgentStatus::Offline, "unseen for longer than the timeout");
    // The shopper agent-a2 left waiting goes back to the queue once they have waited as long.
    let id = kefu_core::id::ConversationId::parse(&conversation).expect("id");
    let queued = || async { app.store.conversation(id).await.expect("read").expect("conversation") };
    for _ in 0..60 {
        if queued().await.assigned_agent.is_none() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(status(&here).await, AgentStatus::Online, "a connected workspace is a heartbeat");
    while let Ok(Some(Ok(Ws::Text(t)))) = tokio::time::timeout(Duration::from_millis(300), socket.stream.next()).await {
        frames.push(serde_json::from_str::<Value>(&t).expect("json"));
    }
    assert!(
        frames.iter().any(|f| f["type"] == "presence" && f["agent_id"] == gone.agent_id && f["status"] == "offline"),
        "colleagues see it: {frames:?}"
    );
    // The shopper agent-a2 left waiting is back in the queue, for everyone to see.
    let c = queued().await;
    assert_eq!((c.status.as_str(), c.assigned_agent), ("queued", None));
    assert!(
        frames.iter().any(|f| f["type"] == "conversation"
            && f["conversation"]["id"] == conversation.as_str()
            && f["conversation"]["status"] == "queued"),
        "{frames:?}"
    );

    let (code, _) = app.as_agent(&leaving, "PUT", "/api/me/status", Some(json!({"status": "online"}))).await;
    assert_eq!(code, 200);
    assert_eq!(app.as_agent(&leaving, "POST", "/api/auth/logout", None).await.0, 200);
    assert_eq!(status(&leaving).await, AgentStatus::Offline);
}
