//! A supervisor and a colleague who walked away: set them 挂起 or 离线, take
//! back the shoppers they hold (routed to whoever is free, each told), and
//! every refusal on the way.

use kefu_core::agent::{AgentStatus, Role};
use kefu_core::id::{AgentId, ConversationId};
use serde_json::{Value, json};

use crate::helpers::TestApp;

fn code(v: &Value) -> (&str, &str) {
    (v["error"]["code"].as_str().unwrap_or("-"), v["error"]["message"].as_str().unwrap_or("-"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_supervisor_sets_a_colleague_away_and_takes_back_their_shoppers() {
    let app = TestApp::spawn_auto_assign().await;
    let lead = app.agent("lead-a", Role::Supervisor, &[app.shop_a.id], 5).await;
    app.agent("lead-a2", Role::Supervisor, &[app.shop_a.id], 5).await;
    app.agent("lead-b", Role::Supervisor, &[app.shop_b.id], 5).await;
    let id_of = |name: &str| {
        let store = app.store.clone();
        let name = name.to_owned();
        async move { store.agent_by_username(&name).await.expect("read").expect("agent").id }
    };
    let (a, a2, lead2) = (id_of("agent-a").await, id_of("agent-a2").await, id_of("lead-a2").await);
    // Only agent-a takes shoppers at first.
    for id in [a2, lead.id, lead2] {
        app.store.set_agent_status(id, AgentStatus::Offline).await.expect("offline");
    }
    let (token, _) = app.visitor(&app.shop_a).await;
    let mut shopper = app.customer_ws(&token).await;
    shopper.send(json!({"type": "send", "client_msg_id": "t-1", "text": "在吗，我的快递"})).await;
    let conversation = shopper.recv_type("ack").await["conversation_id"].as_str().expect("id").to_owned();
    let conv_id = ConversationId::parse(&conversation).expect("id");
    let holder = || async { app.store.conversation(conv_id).await.expect("read").expect("c").assigned_agent };
    assert_eq!(holder().await, Some(a), "routed to the one online");
    app.store.set_agent_status(a2, AgentStatus::Online).await.expect("a2 arrives");

    let sup = app.login("lead-a").await;
    let worker = app.login("agent-a2").await;
    let other_shop = app.login("lead-b").await;
    let mut walked_away = app.agent_ws(&app.login("agent-a").await).await;
    let status_of = |who: AgentId| format!("/api/agents/{who}/status");
    let away = Some(json!({"status": "away"}));

    // Refusals, each leaving agent-a as they were.
    let (s, v) = app.as_agent(&worker, "PUT", &status_of(a), away.clone()).await;
    assert_eq!((s.as_u16(), code(&v)), (403, ("forbidden", "supervisors_only")), "an agent does not set a colleague");
    let (s, v) = app.as_agent(&other_shop, "PUT", &status_of(a), away.clone()).await;
    assert_eq!((s.as_u16(), code(&v).0), (404, "not_found"), "another shop's people are not there");
    let (s, v) = app.as_agent(&sup, "PUT", &status_of(lead2), away.clone()).await;
    assert_eq!((s.as_u16(), code(&v)), (403, ("forbidden", "colleague_outranks")));
    let (s, v) = app.as_agent(&sup, "PUT", &status_of(a), Some(json!({"status": "online"}))).await;
    assert_eq!((s.as_u16(), code(&v)), (403, ("forbidden", "only_self_online")), "only they go 接待中");
    let (s, v) = app.as_agent(&sup, "PUT", &status_of(a), Some(json!({"status": "asleep"}))).await;
    assert_eq!((s.as_u16(), code(&v).0), (400, "invalid_input"));
    let (s, v) = app.as_agent(&sup, "PUT", "/api/agents/nope/status", away.clone()).await;
    assert_eq!((s.as_u16(), code(&v).0), (404, "not_found"), "as every malformed id");
    // A page of another site riding the supervisor's cookie gets nowhere.
    for (method, path) in [("PUT", status_of(a)), ("POST", format!("/api/agents/{a}/take-back"))] {
        let (s, v, _) = app.request(method, &path, away.clone(), &[("cookie", &sup.cookie)]).await;
        assert_eq!((s.as_u16(), code(&v).0), (403, "csrf_failed"), "{method} {path}");
    }
    let (s, v) = app.as_agent(&sup, "POST", &format!("/api/agents/{a}/take-back"), None).await;
    assert_eq!((s.as_u16(), code(&v)), (409, ("conflict", "agent_online")), "routing would hand them straight back");
    let (s, v) = app.as_agent(&worker, "POST", &format!("/api/agents/{a}/take-back"), None).await;
    assert_eq!((s.as_u16(), code(&v)), (403, ("forbidden", "supervisors_only")));
    let (s, _) = app.as_agent(&other_shop, "POST", &format!("/api/agents/{a}/take-back"), None).await;
    assert_eq!(s.as_u16(), 404);
    assert_eq!(app.store.agent(a).await.expect("read").expect("a").status, AgentStatus::Online);
    assert_eq!(holder().await, Some(a), "nothing moved");

    // 挂起: agent-a's own screen hears who set it.
    let (s, v) = app.as_agent(&sup, "PUT", &status_of(a), away).await;
    assert_eq!((s.as_u16(), v["agent"]["status"].as_str()), (200, Some("away")), "{v}");
    let presence = walked_away.recv_type("presence").await;
    assert_eq!((presence["agent_id"].as_str(), presence["status"].as_str()), (Some(&*a.to_string()), Some("away")));
    assert_eq!(presence["by"], lead.id.to_string());

    // Taken back: queued, routed to agent-a2, the shopper told.
    let (s, v) = app.as_agent(&sup, "POST", &format!("/api/agents/{a}/take-back"), None).await;
    assert_eq!(s.as_u16(), 200, "{v}");
    let moved = v["conversations"].as_array().expect("list");
    assert_eq!(moved.len(), 1);
    assert_eq!(moved[0]["assigned_agent"], a2.to_string(), "{v}");
    assert_eq!(holder().await, Some(a2));
    let mut line = shopper.recv_type("message").await;
    while line["message"]["text"] == "在吗，我的快递" {
        line = shopper.recv_type("message").await; // their own, echoed
    }
    assert_eq!(line["message"]["text"], "正在为您转接其他客服，请稍候");
    let (s, v) = app.as_agent(&worker, "GET", &format!("/api/conversations/{conversation}/messages"), None).await;
    assert_eq!(s.as_u16(), 200, "the new agent reads the whole thread: {v}");

    // Nothing left: taking back again moves nothing.
    let (s, v) = app.as_agent(&sup, "POST", &format!("/api/agents/{a}/take-back"), None).await;
    assert_eq!((s.as_u16(), v["conversations"].as_array().map(Vec::len)), (200, Some(0)));
}

/// An admin may act on a supervisor; nobody acts on a disabled account.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_acts_on_supervisors_and_disabled_accounts_are_left_alone() {
    let app = TestApp::spawn().await;
    let lead = app.agent("lead-a", Role::Supervisor, &[app.shop_a.id], 5).await;
    let admin = app.login("admin").await;
    let (s, v) = app
        .as_agent(&admin, "PUT", &format!("/api/agents/{}/status", lead.id), Some(json!({"status": "offline"})))
        .await;
    assert_eq!((s.as_u16(), v["agent"]["status"].as_str()), (200, Some("offline")), "{v}");
    let (s, v) = app.as_agent(&admin, "POST", &format!("/api/agents/{}/disable", lead.id), None).await;
    assert_eq!(s.as_u16(), 404, "{v}"); // (the admin verb lives under /api/admin)
    let (s, _) = app.as_agent(&admin, "POST", &format!("/api/admin/agents/{}/disable", lead.id), None).await;
    assert_eq!(s.as_u16(), 200);
    let (s, v) =
        app.as_agent(&admin, "PUT", &format!("/api/agents/{}/status", lead.id), Some(json!({"status": "away"}))).await;
    assert_eq!((s.as_u16(), code(&v)), (409, ("conflict", "agent_disabled")));
}
