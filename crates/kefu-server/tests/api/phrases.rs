//! Quick phrases over REST: agents read them with pinyin initials,
//! supervisors write them, codes are unique per shop, and other shops'
//! agents see nothing.

use kefu_core::agent::Role;
use serde_json::json;

use crate::helpers::TestApp;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn supervisors_write_quick_phrases_and_agents_search_them_by_initials() {
    let app = TestApp::spawn().await;
    app.agent("boss", Role::Supervisor, &[app.shop_a.id], 5).await;
    let boss = app.login("boss").await;
    let agent = app.login("agent-a").await;
    let other = app.login("agent-b").await;
    let path = format!("/api/shops/{}/quick-phrases", app.shop_a.id);

    let (status, v) = app.as_agent(&agent, "POST", &path, Some(json!({"code": "fh", "text": "x"}))).await;
    assert_eq!((status.as_u16(), v["error"]["code"].as_str()), (403, Some("forbidden")), "agents only read");

    let (status, v) =
        app.as_agent(&boss, "POST", &path, Some(json!({"code": "FH", "text": "亲，今天16点前下单当天发货"}))).await;
    assert_eq!(status, 200, "{v}");
    let id = v["phrase"]["id"].as_str().expect("id").to_owned();
    assert_eq!(v["phrase"]["code"], "fh");

    for (body, status, field) in [
        (json!({"code": "fh", "text": "同一个编码"}), 409, None),
        (json!({"code": "发货", "text": "x"}), 400, Some("code")),
        (json!({"code": "ok", "text": "  "}), 400, Some("text")),
        (json!({"code": "ok", "text": "x", "extra": 1}), 400, None),
    ] {
        let (st, v) = app.as_agent(&boss, "POST", &path, Some(body.clone())).await;
        assert_eq!(st.as_u16(), status, "{body} → {v}");
        if let Some(field) = field {
            assert_eq!(v["error"]["details"]["field"], field, "{v}");
        }
    }

    let (status, v) = app.as_agent(&agent, "GET", &path, None).await;
    assert_eq!(status, 200);
    let phrases = v["phrases"].as_array().expect("phrases");
    assert_eq!(phrases.len(), 1, "refused phrases stored nothing: {v}");
    assert_eq!(phrases[0]["initials"], "qjt16dqxddtfh", "{v}");

    let (status, _) = app.as_agent(&other, "GET", &path, None).await;
    assert_eq!(status, 404, "another shop's phrases do not exist for this agent");

    let one = format!("{path}/{id}");
    let (status, v) =
        app.as_agent(&boss, "PUT", &one, Some(json!({"code": "fh", "text": "预售商品按页面时间发货"}))).await;
    assert_eq!(status, 200, "{v}");
    let missing = format!("{path}/{}", uuid::Uuid::now_v7());
    let (status, _) = app.as_agent(&boss, "PUT", &missing, Some(json!({"code": "zz", "text": "x"}))).await;
    assert_eq!(status, 404, "PUT never creates under a chosen id");
    let (status, _) = app.as_agent(&boss, "DELETE", &one, None).await;
    assert_eq!(status, 200);
    let (_, v) = app.as_agent(&agent, "GET", &path, None).await;
    assert_eq!(v["phrases"], json!([]));
}
