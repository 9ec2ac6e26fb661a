//! The knowledge base over HTTP: supervisors write it, agents read and
//! search it, other shops cannot touch it, and the bot answers from it as
//! soon as an entry is saved.

use kefu_core::agent::Role;
use serde_json::json;

use crate::helpers::TestApp;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn supervisors_write_agents_search_and_the_bot_answers() {
    let app = TestApp::spawn_bot().await;
    app.agent("boss", Role::Supervisor, &[app.shop_a.id], 5).await;
    let boss = app.login("boss").await;
    let agent = app.login("agent-a").await;
    let base = format!("/api/shops/{}/knowledge", app.shop_a.id);

    // A shopper asks before the entry exists: the bot does not know (and hands off).
    let question = "你们家冰箱包安装吗";
    let first = app.first_bot_reply(question).await;
    assert!(!first.contains("免费安装"), "{first}");

    let entry = json!({
        "question": "冰箱可以上门安装吗",
        "alternates": ["冰箱包安装吗", "大家电送货上门装吗"],
        "answer": "冰箱送货上门并免费安装。",
        "category": "家用电器/冰箱"
    });
    let (status, body) = app.as_agent(&agent, "POST", &base, Some(entry.clone())).await;
    assert_eq!((status.as_u16(), body["error"]["code"].as_str()), (403, Some("forbidden")), "agents only read");
    let (status, created) = app.as_agent(&boss, "POST", &base, Some(entry)).await;
    assert_eq!(status, 200, "{created}");
    let id = created["entry"]["id"].as_str().expect("id").to_owned();

    // The next shopper's turn reads the new entry.
    let second = app.first_bot_reply(question).await;
    assert!(second.contains("免费安装"), "{second}");

    let (status, found) = app.as_agent(&agent, "GET", &format!("{base}?q=冰箱能上门装吗"), None).await;
    assert_eq!(status, 200, "{found}");
    assert_eq!(found["entries"][0]["id"], id.as_str());
    assert!(found["entries"][0]["score"].as_f64().is_some_and(|s| s > 0.3), "{found}");

    // Disabled: stored, listed, never answered from.
    let disabled = json!({"question": "冰箱可以上门安装吗", "answer": "冰箱送货上门并免费安装。", "enabled": false});
    let (status, _) = app.as_agent(&boss, "PUT", &format!("{base}/{id}"), Some(disabled)).await;
    assert_eq!(status, 200);
    assert!(!app.first_bot_reply(question).await.contains("免费安装"));
    let (_, all) = app.as_agent(&agent, "GET", &base, None).await;
    assert_eq!(all["entries"][0]["enabled"], false, "{all}");

    let (status, _) = app.as_agent(&boss, "DELETE", &format!("{base}/{id}"), None).await;
    assert_eq!(status, 200);
    let (status, body) = app.as_agent(&boss, "DELETE", &format!("{base}/{id}"), None).await;
    assert_eq!((status.as_u16(), body["error"]["code"].as_str()), (404, Some("not_found")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_entries_and_other_shops_are_refused() {
    let app = TestApp::spawn().await;
    app.agent("boss", Role::Supervisor, &[app.shop_a.id], 5).await;
    app.agent("boss-b", Role::Supervisor, &[app.shop_b.id], 5).await;
    let boss = app.login("boss").await;
    let other = app.login("boss-b").await;
    let base = format!("/api/shops/{}/knowledge", app.shop_a.id);

    for (body, field) in [
        (json!({"question": " ", "answer": "x"}), "question"),
        (json!({"question": "q", "answer": ""}), "answer"),
        (json!({"question": "q\nq", "answer": "x"}), "question"),
        (json!({"question": "q", "answer": "x", "category": "a//b"}), "category"),
        (json!({"question": "q", "answer": "x", "alternates": vec!["a"; 21]}), "alternates"),
    ] {
        let (status, v) = app.as_agent(&boss, "POST", &base, Some(body)).await;
        assert_eq!((status.as_u16(), v["error"]["code"].as_str()), (400, Some("invalid_input")), "{v}");
        assert_eq!(v["error"]["details"]["field"], field, "{v}");
    }
    let (status, v) =
        app.as_agent(&boss, "POST", &base, Some(json!({"question": "q", "answer": "x", "colour": 1}))).await;
    assert_eq!(status, 400, "unknown fields are refused: {v}");
    let (_, all) = app.as_agent(&boss, "GET", &base, None).await;
    assert_eq!(all["entries"].as_array().map(Vec::len), Some(0), "nothing half-written: {all}");

    let (_, created) = app.as_agent(&boss, "POST", &base, Some(json!({"question": "q", "answer": "x"}))).await;
    let id = created["entry"]["id"].as_str().expect("id").to_owned();
    // Shop b's supervisor: not through shop a's path, not through their own.
    let (status, _) = app.as_agent(&other, "GET", &base, None).await;
    assert_eq!(status, 404);
    let mine = format!("/api/shops/{}/knowledge/{id}", app.shop_b.id);
    let (status, _) = app.as_agent(&other, "PUT", &mine, Some(json!({"question": "q", "answer": "hijacked"}))).await;
    assert_eq!(status, 404);
    let (status, _) = app.as_agent(&other, "DELETE", &mine, None).await;
    assert_eq!(status, 404);
    let (_, all) = app.as_agent(&boss, "GET", &base, None).await;
    assert_eq!(all["entries"][0]["answer"], "x");
}
