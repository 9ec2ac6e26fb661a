//! The agent's own figures for today in the top bar: counted from the
//! answers they gave, with the shop's reply window, and only their own.

use serde_json::json;

use crate::helpers::{Session, TestApp};

/// A new shopper of shop A writes; `agent` takes them and answers at once.
async fn answer_a_shopper(app: &TestApp, agent: &Session, tag: &str) {
    let (token, _) = app.visitor(&app.shop_a).await;
    let mut shopper = app.customer_ws(&token).await;
    shopper.send(json!({"type": "send", "client_msg_id": format!("{tag}-1"), "text": "在吗"})).await;
    let conversation = shopper.recv_type("ack").await["conversation_id"].as_str().expect("id").to_owned();
    let (s, _) = app.as_agent(agent, "POST", &format!("/api/conversations/{conversation}/accept"), None).await;
    assert_eq!(s.as_u16(), 200);
    let say = json!({"text": "亲，在的", "client_msg_id": format!("{tag}-2")});
    let (s, v) = app.as_agent(agent, "POST", &format!("/api/conversations/{conversation}/messages"), Some(say)).await;
    assert_eq!(s.as_u16(), 200, "{v}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_sees_their_own_day_with_the_shops_reply_window() {
    let app = TestApp::spawn().await;
    let me = app.login("agent-a").await;
    let colleague = app.login("agent-a2").await;
    let (s, v) = app.as_agent(&me, "GET", "/api/me/stats", None).await;
    assert_eq!(s.as_u16(), 200, "{v}");
    assert_eq!((v["chats"].as_u64(), v["reply_minutes"].as_u64()), (Some(0), Some(3)));
    assert!(v["first_answer_rate"].is_null() && v["reply_rate"].is_null(), "nothing to count is not 0%: {v}");

    answer_a_shopper(&app, &me, "k").await;

    let (_, v) = app.as_agent(&me, "GET", &format!("/api/me/stats?shop={}", app.shop_a.id), None).await;
    assert_eq!((v["chats"].as_u64(), v["answers"].as_u64()), (Some(1), Some(1)), "{v}");
    assert_eq!((v["first_answer_rate"].as_f64(), v["reply_rate"].as_f64()), (Some(1.0), Some(1.0)), "{v}");
    assert!(v["average_response_seconds"].as_f64().is_some_and(|s| (0.0..30.0).contains(&s)), "{v}");
    let (_, v) = app.as_agent(&colleague, "GET", "/api/me/stats", None).await;
    assert_eq!(v["chats"].as_u64(), Some(0), "only one's own answers: {v}");

    // A supervisor sees each of the shop's agents; agents do not see each other's.
    let lead = app.agent("lead-a", kefu_core::agent::Role::Supervisor, &[app.shop_a.id], 5).await;
    let lead = app.login(lead.username.as_str()).await;
    let path = format!("/api/shops/{}/agent-stats", app.shop_a.id);
    let (s, v) = app.as_agent(&lead, "GET", &path, None).await;
    assert_eq!(s.as_u16(), 200, "{v}");
    let rows = v["agents"].as_array().expect("agents");
    assert_eq!(rows.len(), 1, "only who answered: {v}");
    assert_eq!((rows[0]["agent_id"].as_str(), rows[0]["chats"].as_u64()), (Some(&*me.agent_id), Some(1)));
    let (s, v) = app.as_agent(&colleague, "GET", &path, None).await;
    assert_eq!((s.as_u16(), v["error"]["message"].as_str()), (403, Some("supervisors_only")));
    let (s, _) = app.as_agent(&lead, "GET", &format!("/api/shops/{}/agent-stats", app.shop_b.id), None).await;
    assert_eq!(s.as_u16(), 404, "another shop's team is not there");

    // The shop's rule sets the window.
    let admin = app.login("admin").await;
    let rules = json!({"text": "[service]\nreply_minutes = 5\n"});
    let (s, v) = app.as_agent(&admin, "PUT", &format!("/api/shops/{}/bot-rules", app.shop_a.id), Some(rules)).await;
    assert_eq!(s.as_u16(), 200, "{v}");
    let (_, v) = app.as_agent(&me, "GET", "/api/me/stats", None).await;
    assert_eq!(v["reply_minutes"].as_u64(), Some(5), "{v}");

    // Another shop's rules are not this agent's to read; nor is a session-less caller's day.
    let (s, _) = app.as_agent(&me, "GET", &format!("/api/me/stats?shop={}", app.shop_b.id), None).await;
    assert_eq!(s.as_u16(), 404);
    let (s, _) = app.as_agent(&me, "GET", "/api/me/stats?shop=nope", None).await;
    assert_eq!(s.as_u16(), 404);
    let (s, v, _) = app.request("GET", "/api/me/stats", None, &[]).await;
    assert_eq!((s.as_u16(), v["error"]["code"].as_str()), (401, Some("unauthenticated")));
}

/// The chat's header promises a reply time only when today's answers of
/// the shop kept it, and never from another shop's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_chat_promises_only_what_the_shops_answers_kept_today() {
    // Read each time here; a node keeps a shop's promise for a minute.
    let config = kefu_server::ServerConfig { typical_ttl: std::time::Duration::ZERO, ..Default::default() };
    let app = TestApp::spawn_with(config).await;
    let session = |slug: String| {
        let app = &app;
        async move {
            let (status, body, _) = app.request("POST", "/api/widget/session", Some(json!({"shop": slug})), &[]).await;
            assert_eq!(status.as_u16(), 200, "{body}");
            body["service"].clone()
        }
    };
    let me = app.login("agent-a").await;
    let (token, _) = app.visitor(&app.shop_a).await;
    let mut shopper = app.customer_ws(&token).await;
    let mut conversation = String::new();
    for round in 0..kefu_core::kpi::TYPICAL_MIN_ANSWERS {
        shopper.send(json!({"type": "send", "client_msg_id": format!("q{round}"), "text": "还在吗"})).await;
        conversation = shopper.recv_type("ack").await["conversation_id"].as_str().expect("id").to_owned();
        if round == 0 {
            let (s, _) = app.as_agent(&me, "POST", &format!("/api/conversations/{conversation}/accept"), None).await;
            assert_eq!(s.as_u16(), 200);
        }
        let reply = json!({"text": "在的", "client_msg_id": format!("a{round}")});
        let path = format!("/api/conversations/{conversation}/messages");
        assert_eq!(app.as_agent(&me, "POST", &path, Some(reply)).await.0.as_u16(), 200);
    }
    // Ten waits answered within 3 minutes, but one first answer: no 30-second promise.
    let a = session(app.shop_a.slug.as_str().to_owned()).await;
    assert_eq!((a["people_now"].as_bool(), a["typical_reply"].as_str()), (Some(true), Some("3m")), "{a}");
    let b = session(app.shop_b.slug.as_str().to_owned()).await;
    assert_eq!((b["people_now"].as_bool(), b["typical_reply"].as_str()), (Some(true), None), "{b}");
    assert!(!conversation.is_empty());
}

/// `day=YYYY-MM-DD` (China time): today is today's figures, a past day its
/// own (nothing counted yesterday here), a day to come or no date is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn figures_of_a_past_day_are_that_days_and_days_to_come_are_refused() {
    use kefu_core::clock::Clock;
    let app = TestApp::spawn().await;
    let me = app.login("agent-a").await;
    answer_a_shopper(&app, &me, "d").await;

    let now = kefu_core::clock::SystemClock.now();
    let date = |day: i64| {
        let d = time::Date::from_julian_day(i32::try_from(day + 2_440_588).expect("day")).expect("date");
        format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
    };
    let (today, yesterday, tomorrow) = (date(now.china_day()), date(now.china_day() - 1), date(now.china_day() + 1));
    app.agent("lead-a", kefu_core::agent::Role::Supervisor, &[app.shop_a.id], 5).await;
    let lead = app.login("lead-a").await;
    let team = format!("/api/shops/{}/agent-stats", app.shop_a.id);

    let (s, v) = app.as_agent(&me, "GET", &format!("/api/me/stats?day={today}"), None).await;
    assert_eq!((s.as_u16(), v["chats"].as_u64()), (200, Some(1)), "{v}");
    let (_, v) = app.as_agent(&lead, "GET", &format!("{team}?day={today}"), None).await;
    assert_eq!((v["today"].as_bool(), v["agents"].as_array().map(Vec::len)), (Some(true), Some(1)), "{v}");

    let (s, v) = app.as_agent(&me, "GET", &format!("/api/me/stats?day={yesterday}"), None).await;
    assert_eq!((s.as_u16(), v["chats"].as_u64()), (200, Some(0)), "{v}");
    assert_eq!(v["since"].as_i64(), Some(now.china_midnight().plus_days(-1).millis()), "{v}");
    let (s, v) = app.as_agent(&lead, "GET", &format!("{team}?day={yesterday}"), None).await;
    assert_eq!(s.as_u16(), 200, "{v}");
    assert_eq!((v["today"].as_bool(), v["agents"].as_array().map(Vec::len)), (Some(false), Some(0)), "{v}");

    for bad in [tomorrow.as_str(), "2026-13-01", "昨天", "2026-1-5"] {
        let (s, v) = app.as_agent(&lead, "GET", &format!("{team}?day={bad}"), None).await;
        assert_eq!((s.as_u16(), v["error"]["code"].as_str()), (400, Some("invalid_input")), "{bad}: {v}");
        let (s, _) = app.as_agent(&me, "GET", &format!("/api/me/stats?day={bad}"), None).await;
        assert_eq!(s.as_u16(), 400, "{bad}");
    }
}
