//! Auto-assign on a busy night: when every agent is full, shoppers queue;
//! as room appears (a conversation closed or passed on, someone back 接待中,
//! a change on another node) the queue is handed out, longest wait first,
//! and one a skill group must take is passed over while its group is full.

use std::time::Duration;

use kefu_core::agent::AgentStatus;
use kefu_core::conversation::ConversationStatus;
use kefu_core::id::{AgentId, ConversationId, SkillGroupId};
use kefu_core::shop::SkillGroup;
use serde_json::json;

use crate::helpers::{TestApp, WsClient};

/// A shopper of shop A writes; answers their conversation.
async fn shopper_writes(app: &TestApp, n: u32) -> (WsClient, ConversationId) {
    shopper_of(app, &app.shop_a, n).await
}

async fn shopper_of(app: &TestApp, shop: &kefu_core::shop::Shop, n: u32) -> (WsClient, ConversationId) {
    let (token, _) = app.visitor(shop).await;
    let mut ws = app.customer_ws(&token).await;
    ws.send(json!({"type": "send", "client_msg_id": format!("m-{n}"), "text": format!("第{n}位，在吗")})).await;
    let ack = ws.recv_type("ack").await;
    (ws, ConversationId::parse(ack["conversation_id"].as_str().expect("id")).expect("id"))
}

async fn holder(app: &TestApp, id: ConversationId) -> (ConversationStatus, Option<AgentId>) {
    let c = app.store.conversation(id).await.expect("read").expect("conversation");
    (c.status, c.assigned_agent)
}

async fn id_of(app: &TestApp, name: &str) -> AgentId {
    app.store.agent_by_username(name).await.expect("read").expect("agent").id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn room_that_appears_takes_the_longest_wait_first() {
    let app = TestApp::spawn_auto_assign().await;
    let (a, a2) = (id_of(&app, "agent-a").await, id_of(&app, "agent-a2").await);
    // Only agent-a2 (room for one) is here.
    app.store.set_agent_status(a, AgentStatus::Offline).await.expect("offline");
    let (_s1, c1) = shopper_writes(&app, 1).await;
    let (_s2, c2) = shopper_writes(&app, 2).await;
    let (_s3, c3) = shopper_writes(&app, 3).await;
    assert_eq!(holder(&app, c1).await, (ConversationStatus::Assigned, Some(a2)));
    assert_eq!(holder(&app, c2).await, (ConversationStatus::Queued, None), "a2 is full");
    assert_eq!(holder(&app, c3).await, (ConversationStatus::Queued, None));

    // a2 closes: the longest waiting shopper is theirs at once, the next still waits.
    let worker = app.login("agent-a2").await;
    let mut desk = app.agent_ws(&worker).await;
    let (s, v) = app.as_agent(&worker, "POST", &format!("/api/conversations/{c1}/close"), None).await;
    assert_eq!(s.as_u16(), 200, "{v}");
    assert_eq!(holder(&app, c2).await, (ConversationStatus::Assigned, Some(a2)), "longest wait first");
    assert_eq!(holder(&app, c3).await, (ConversationStatus::Queued, None));
    loop {
        let frame = desk.recv_type("conversation").await;
        if frame["conversation"]["id"] == c2.to_string() && frame["conversation"]["status"] == "assigned" {
            break; // a2's screen hears of their new shopper
        }
    }

    // agent-a comes back 接待中 and takes the one left.
    let (s, v) =
        app.as_agent(&app.login("agent-a").await, "PUT", "/api/me/status", Some(json!({"status": "online"}))).await;
    assert_eq!(s.as_u16(), 200, "{v}");
    assert_eq!(holder(&app, c3).await, (ConversationStatus::Assigned, Some(a)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_conversation_its_group_cannot_take_yet_does_not_hold_up_the_rest() {
    let app = TestApp::spawn_auto_assign().await;
    let (a, a2) = (id_of(&app, "agent-a").await, id_of(&app, "agent-a2").await);
    app.store.set_agent_status(a, AgentStatus::Offline).await.expect("offline");
    let group =
        SkillGroup {
            id: SkillGroupId::from_uuid(uuid::Uuid::now_v7()), shop_id: app.shop_a.id, name: "大家电".into()
        };
    app.store.create_skill_group(&group).await.expect("group");
    let (_s1, c1) = shopper_writes(&app, 1).await;
    let (_s2, c2) = shopper_writes(&app, 2).await;
    assert_eq!(holder(&app, c1).await.1, Some(a2));

    // a2 passes the first shopper to 大家电, whose people are all away: it
    // waits at the front for them, and a2's room goes to the next shopper.
    let worker = app.login("agent-a2").await;
    let (s, v) = app
        .as_agent(
            &worker,
            "POST",
            &format!("/api/conversations/{c1}/transfer"),
            Some(json!({"group_id": group.id.to_string()})),
        )
        .await;
    assert_eq!(s.as_u16(), 200, "{v}");
    assert_eq!(holder(&app, c1).await, (ConversationStatus::Queued, None));
    assert_eq!(holder(&app, c2).await, (ConversationStatus::Assigned, Some(a2)));
    let front = app.store.queue_of_shop(app.shop_a.id, 10).await.expect("queue");
    assert_eq!(front.first().map(|q| q.id), Some(c1), "still first in line for its group");
}

/// What no event on this node announced (here: a status written straight to
/// the store, as another node would) the sweep finds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sweep_hands_out_what_no_event_here_announced() {
    let config = kefu_server::ServerConfig { queue_sweep: Duration::from_millis(100), ..Default::default() };
    let app = TestApp::spawn_auto_assign_with(config).await;
    let (a, a2) = (id_of(&app, "agent-a").await, id_of(&app, "agent-a2").await);
    for id in [a, a2] {
        app.store.set_agent_status(id, AgentStatus::Away).await.expect("away");
    }
    let (_s1, c1) = shopper_writes(&app, 1).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(holder(&app, c1).await, (ConversationStatus::Queued, None), "nobody takes shoppers");

    app.store.set_agent_status(a2, AgentStatus::Online).await.expect("online elsewhere");
    let mut waited = Duration::ZERO;
    while holder(&app, c1).await.1.is_none() {
        assert!(waited < Duration::from_secs(10), "the sweep never handed the shopper out");
        tokio::time::sleep(Duration::from_millis(50)).await;
        waited += Duration::from_millis(50);
    }
    assert_eq!(holder(&app, c1).await, (ConversationStatus::Assigned, Some(a2)));
    assert!(app.state.metrics.render().contains("kefu_queue_sweep_assigned_total 1\n"), "counted for /metrics");
}

/// Without auto-assign agents pick from the queue themselves: room
/// appearing hands out nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_auto_assign_the_queue_waits_for_an_agent_to_accept() {
    let app = TestApp::spawn().await;
    let (_s1, c1) = shopper_writes(&app, 1).await;
    let worker = app.login("agent-a").await;
    let (s, _) = app.as_agent(&worker, "PUT", "/api/me/status", Some(json!({"status": "online"}))).await;
    assert_eq!(s.as_u16(), 200);
    assert_eq!(holder(&app, c1).await, (ConversationStatus::Queued, None));
}

async fn save_rules(app: &TestApp, shop: &kefu_core::shop::Shop, text: &str) -> (u16, serde_json::Value) {
    let admin = app.login("admin").await;
    let path = format!("/api/shops/{}/bot-rules", shop.id);
    let (s, v) = app.as_agent(&admin, "PUT", &path, Some(json!({ "text": text }))).await;
    (s.as_u16(), v)
}

/// One deployment, two ways of working: a shop whose rules push hands its
/// shoppers out at once while the other shop's wait for their agents to
/// take them, and the other way round.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_shop_routes_as_its_rules_say_over_the_deployment() {
    let app = TestApp::spawn().await; // kefu.toml: pull
    let (status, v) = save_rules(&app, &app.shop_a, "[routing]\nmode = \"push\"\noffer_seconds = 0\n").await;
    assert_eq!(status, 200, "{v}");
    let (_a, in_a) = shopper_of(&app, &app.shop_a, 1).await;
    let (_b, in_b) = shopper_of(&app, &app.shop_b, 2).await;
    let (status_a, agent_a) = holder(&app, in_a).await;
    assert_eq!(status_a, ConversationStatus::Assigned, "shop A pushes");
    assert!(agent_a.is_some());
    let pushed = app.store.conversation(in_a).await.expect("read").expect("c");
    assert_eq!(pushed.offered_until, None, "offer_seconds = 0: theirs at once");
    assert_eq!(holder(&app, in_b).await, (ConversationStatus::Queued, None), "shop B pulls, as kefu.toml");

    // A bad mode is refused with its key, and the shop keeps what it had.
    let (status, v) = save_rules(&app, &app.shop_a, "[routing]\nmode = \"round-robin\"\n").await;
    assert_eq!(status, 400, "{v}");
    assert!(v["error"]["message"].as_str().unwrap_or("").contains("routing.mode"), "{v}");
    let (_a2, again) = shopper_of(&app, &app.shop_a, 3).await;
    assert_eq!(holder(&app, again).await.0, ConversationStatus::Assigned, "still pushing");

    let app = TestApp::spawn_auto_assign().await; // kefu.toml: push
    let (status, v) = save_rules(&app, &app.shop_b, "[routing]\nmode = \"pull\"\n").await;
    assert_eq!(status, 200, "{v}");
    let (_b, in_b) = shopper_of(&app, &app.shop_b, 1).await;
    let (_a, in_a) = shopper_of(&app, &app.shop_a, 2).await;
    assert_eq!(holder(&app, in_b).await, (ConversationStatus::Queued, None), "shop B pulls");
    assert_eq!(holder(&app, in_a).await.0, ConversationStatus::Assigned, "shop A pushes, as kefu.toml");
    // Room appearing in shop B hands out nothing: its agents take shoppers themselves.
    let worker = app.login("agent-b").await;
    let (s, _) = app.as_agent(&worker, "PUT", "/api/me/status", Some(json!({"status": "online"}))).await;
    assert_eq!(s.as_u16(), 200);
    assert!(kefu_core::desk::fill_from_queue(&app.state.ctx, app.shop_b.id).await.expect("fill").is_empty());
    assert_eq!(holder(&app, in_b).await, (ConversationStatus::Queued, None));
}

/// An offer nobody takes: back in the queue and on to someone else, its
/// agent 挂起 with their screen told why. Accepting, or answering, keeps it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_offer_not_taken_in_time_moves_on_and_its_agent_goes_away() {
    let config = kefu_server::ServerConfig { queue_sweep: Duration::from_millis(100), ..Default::default() };
    let app = TestApp::spawn_offering(config, 1_500).await;
    let (a, a2) = (id_of(&app, "agent-a").await, id_of(&app, "agent-a2").await);
    app.store.set_agent_status(a, AgentStatus::Offline).await.expect("offline");
    let worker = app.login("agent-a2").await;
    let mut desk = app.agent_ws(&worker).await;
    let (_s1, c1) = shopper_writes(&app, 1).await;
    let offered = app.store.conversation(c1).await.expect("read").expect("c");
    assert_eq!(offered.assigned_agent, Some(a2));
    let until = offered.offered_until.expect("an offer").millis();
    loop {
        let frame = desk.recv_type("conversation").await;
        if frame["conversation"]["id"] == c1.to_string() && frame["conversation"]["status"] == "assigned" {
            assert_eq!(frame["conversation"]["offered_until"], until, "the workspace counts down to it");
            break;
        }
    }

    // a2 lets it lapse: 挂起, told why, and the shopper waits for the next one in.
    let presence = desk.recv_type("presence").await;
    assert_eq!((presence["status"].as_str(), presence["missed_offer"].as_bool()), (Some("away"), Some(true)));
    assert_eq!(holder(&app, c1).await, (ConversationStatus::Queued, None));
    assert_eq!(app.store.agent(a2).await.expect("read").expect("a2").status, AgentStatus::Away);
    let (s, v) = app.as_agent(&worker, "GET", "/api/me/stats", None).await;
    assert_eq!((s.as_u16(), &v["missed_offers"]), (200, &json!(1)), "on their day (漏接): {v}");
    assert!(app.state.metrics.render().contains("kefu_offers_lapsed_total 1\n"), "counted for /metrics");

    // agent-a comes in: offered at once; answering accepts, and it stays past the offer's time.
    let lead = app.login("agent-a").await;
    let (s, _) = app.as_agent(&lead, "PUT", "/api/me/status", Some(json!({"status": "online"}))).await;
    assert_eq!(s.as_u16(), 200);
    let offered = app.store.conversation(c1).await.expect("read").expect("c");
    assert_eq!((offered.assigned_agent, offered.offered_until.is_some()), (Some(a), true));
    let (s, v) = app
        .as_agent(
            &lead,
            "POST",
            &format!("/api/conversations/{c1}/messages"),
            Some(json!({"text": "您好，我来帮您看"})),
        )
        .await;
    assert_eq!(s.as_u16(), 200, "{v}");
    assert_eq!(app.store.conversation(c1).await.expect("read").expect("c").offered_until, None, "answered: accepted");

    // A second shopper, offered to agent-a, who goes 挂起 and still accepts what was offered before.
    let (token, _) = app.visitor(&app.shop_a).await;
    let mut s2 = app.customer_ws(&token).await;
    s2.send(json!({"type": "send", "client_msg_id": "m-2", "text": "第2位，在吗"})).await;
    let c2 = ConversationId::parse(s2.recv_type("ack").await["conversation_id"].as_str().expect("id")).expect("id");
    assert_eq!(holder(&app, c2).await.1, Some(a));
    let (s, v, _) =
        app.request("GET", "/api/widget/queue", None, &[("authorization", &format!("Bearer {token}"))]).await;
    assert_eq!((s.as_u16(), &v["status"], &v["offered"]), (200, &json!("assigned"), &json!(true)), "{v}");
    assert!(v["agent_name"].is_null(), "nobody's name is promised before they take it: {v}");
    let (s, _) = app.as_agent(&lead, "PUT", "/api/me/status", Some(json!({"status": "away"}))).await;
    assert_eq!(s.as_u16(), 200);
    let (s, v) = app.as_agent(&lead, "POST", &format!("/api/conversations/{c2}/accept"), None).await;
    assert_eq!((s.as_u16(), v["conversation"]["offered_until"].is_null()), (200, true), "{v}");
    let (_, v, _) =
        app.request("GET", "/api/widget/queue", None, &[("authorization", &format!("Bearer {token}"))]).await;
    assert_eq!(v["agent_name"], "AGENT-A", "{v}");
    tokio::time::sleep(Duration::from_millis(2_000)).await;
    for c in [c1, c2] {
        assert_eq!(holder(&app, c).await, (ConversationStatus::Assigned, Some(a)), "accepted offers stay");
    }
    // 挂起 (after the missed offer), a2 takes nothing that was not offered to them.
    let (s, v) = app.as_agent(&worker, "POST", &format!("/api/conversations/{c2}/accept"), None).await;
    assert_eq!((s.as_u16(), v["error"]["message"].as_str()), (403, Some("agent_not_online")), "{v}");
}

/// 指派: a supervisor sends a waiting shopper to a colleague of their choice
/// (a VIP to a senior), theirs at once and no offer; an agent cannot.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_supervisor_sends_a_waiting_shopper_to_a_colleague() {
    let app = TestApp::spawn().await;
    app.agent("lead-a", kefu_core::agent::Role::Supervisor, &[app.shop_a.id], 5).await;
    let a2 = id_of(&app, "agent-a2").await;
    let (_s1, c1) = shopper_writes(&app, 1).await;
    assert_eq!(holder(&app, c1).await, (ConversationStatus::Queued, None));
    let body = Some(json!({"agent_id": a2.to_string(), "note": "VIP，先接"}));
    let (s, v) = app
        .as_agent(&app.login("agent-a").await, "POST", &format!("/api/conversations/{c1}/transfer"), body.clone())
        .await;
    assert_eq!((s.as_u16(), v["error"]["message"].as_str()), (403, Some("conversation_not_yours")), "{v}");
    assert_eq!(holder(&app, c1).await, (ConversationStatus::Queued, None), "nothing moved");
    let (s, v) =
        app.as_agent(&app.login("lead-a").await, "POST", &format!("/api/conversations/{c1}/transfer"), body).await;
    assert_eq!(s.as_u16(), 200, "{v}");
    let c = app.store.conversation(c1).await.expect("read").expect("c");
    assert_eq!((c.status, c.assigned_agent, c.offered_until), (ConversationStatus::Assigned, Some(a2), None));
}

/// A long queue and a lot of room (a shift starting on 双11 night): every
/// shopper the room can take is handed out in one go, past the first read.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_queue_fills_all_the_room_there_is() {
    use kefu_core::conversation::MessageText;
    use kefu_core::desk::{self, CustomerContent};
    // The sweep's step is called here as the sweep calls it, so the app's own sweep waits.
    let config = kefu_server::ServerConfig { queue_sweep: Duration::from_secs(3600), ..Default::default() };
    let app = TestApp::spawn_auto_assign_with(config).await;
    let big = app.agent("shift-lead", kefu_core::agent::Role::Senior, &[app.shop_a.id], 100).await;
    for name in ["agent-a", "agent-a2"] {
        app.store.set_agent_status(id_of(&app, name).await, AgentStatus::Offline).await.expect("offline");
    }
    app.store.set_agent_status(big.id, AgentStatus::Away).await.expect("not yet");
    let mut waiting = Vec::new();
    for i in 0..90 {
        let c = app.known_customer(&app.shop_a, &format!("long-{i}")).await;
        let text = MessageText::parse("在吗").expect("text");
        let sent =
            desk::customer_send(&app.state.ctx, &c, None, CustomerContent::text(text), None).await.expect("send");
        waiting.push(sent.message.conversation_id);
    }
    // Straight through the store: no event on this node hands anyone out.
    app.store.set_agent_status(big.id, AgentStatus::Online).await.expect("shift starts");
    let handed = desk::fill_from_queue(&app.state.ctx, app.shop_a.id).await.expect("fill");
    assert_eq!(handed.len(), 90, "all ninety, not just the first read's");
    for id in &waiting {
        assert_eq!(holder(&app, *id).await, (ConversationStatus::Assigned, Some(big.id)));
    }
    assert!(desk::fill_from_queue(&app.state.ctx, app.shop_a.id).await.expect("again").is_empty());
}

/// Back 接待中 in front of a long queue with offers on: two offers at a
/// time, each accepted bringing the next — not the agent's whole limit at
/// once, each with its own countdown.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offers_come_two_at_a_time() {
    let app = TestApp::spawn_offering(kefu_server::ServerConfig::default(), 60_000).await;
    let (a, a2) = (id_of(&app, "agent-a").await, id_of(&app, "agent-a2").await);
    for id in [a, a2] {
        app.store.set_agent_status(id, AgentStatus::Away).await.expect("away");
    }
    let mut waiting = Vec::new();
    for n in 1..=4 {
        waiting.push(shopper_writes(&app, n).await);
    }
    let lead = app.login("agent-a").await;
    let (s, _) = app.as_agent(&lead, "PUT", "/api/me/status", Some(json!({"status": "online"}))).await;
    assert_eq!(s.as_u16(), 200);
    let offered = |app: &TestApp| {
        let ids: Vec<ConversationId> = waiting.iter().map(|(_, c)| *c).collect();
        let store = app.store.clone();
        async move {
            let mut mine = Vec::new();
            for id in ids {
                if store.conversation(id).await.expect("read").expect("c").assigned_agent == Some(a) {
                    mine.push(id);
                }
            }
            mine
        }
    };
    let first = offered(&app).await;
    assert_eq!(first, [waiting[0].1, waiting[1].1], "the two longest waits, not four");
    let (s, v) = app.as_agent(&lead, "POST", &format!("/api/conversations/{}/accept", first[0]), None).await;
    assert_eq!(s.as_u16(), 200, "{v}");
    assert_eq!(offered(&app).await.len(), 3, "one accepted, the next offered");
}
