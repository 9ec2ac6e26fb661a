//! Limits per client address, behind a proxy that names the client in
//! `x-forwarded-for`: one host cannot mint anonymous visitors (each a fresh
//! upload quota) or upload images without end; other hosts, identified
//! shoppers and returning visitors are not touched.

use axum::body::Body;
use axum::http::Request;
use kefu_server::ServerConfig;
use serde_json::{Value, json};

use crate::helpers::TestApp;

const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR-not-really-decoded";

fn proxied(limit: u32) -> ServerConfig {
    ServerConfig {
        client_ip_header: Some("x-forwarded-for".into()),
        visitors_per_minute_per_ip: limit,
        uploads_per_minute_per_ip: limit,
        ..ServerConfig::default()
    }
}

async fn new_visitor(app: &TestApp, forwarded: &str, token: Option<&str>) -> (u16, Value) {
    let mut body = json!({"shop": "shop-a"});
    if let Some(t) = token {
        body["token"] = json!(t);
    }
    let (status, v, _) =
        app.request("POST", "/api/widget/session", Some(body), &[("x-forwarded-for", forwarded)]).await;
    (status.as_u16(), v)
}

async fn upload(app: &TestApp, forwarded: &str, token: &str) -> (u16, Value) {
    let req = Request::post("/api/widget/attachments")
        .header("authorization", format!("Bearer {token}"))
        .header("x-forwarded-for", forwarded)
        .body(Body::from(PNG.to_vec()))
        .expect("request");
    let (status, v, _) = app.raw(req).await;
    (status.as_u16(), v)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_address_cannot_mint_visitors_or_upload_without_end() {
    let app = TestApp::spawn_with(proxied(3)).await;
    // The proxy appended the address it saw; what the client put before it is not believed.
    let script = "1.2.3.4, 203.0.113.7";
    let mut tokens = Vec::new();
    for _ in 0..3 {
        let (status, v) = new_visitor(&app, script, None).await;
        assert_eq!(status, 200, "{v}");
        tokens.push(v["token"].as_str().expect("token").to_owned());
    }
    let (status, v) = new_visitor(&app, "9.9.9.9, 203.0.113.7", None).await;
    assert_eq!((status, v["error"]["code"].as_str()), (429, Some("rate_limited")), "{v}");
    assert!(v["error"]["details"]["retry_after_seconds"].as_i64().is_some_and(|s| (1..=20).contains(&s)), "{v}");
    // A returning visitor keeps their token; an identified shopper is the merchant's word.
    let (status, v) = new_visitor(&app, script, Some(&tokens[0])).await;
    assert_eq!(status, 200, "{v}");
    assert!(!app.identified("u900").await.is_empty());
    // Another address is its own.
    assert_eq!(new_visitor(&app, "198.51.100.1", None).await.0, 200);

    for _ in 0..3 {
        assert_eq!(upload(&app, script, &tokens[0]).await.0, 200);
    }
    let (status, v) = upload(&app, script, &tokens[1]).await;
    assert_eq!((status, v["error"]["code"].as_str()), (429, Some("rate_limited")), "another visitor, same host: {v}");
    assert_eq!(upload(&app, "198.51.100.1", &tokens[1]).await.0, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_proxy_header_a_peer_on_this_host_is_not_limited() {
    // The API tests' requests reach the router in-process: no peer address, no limit.
    let app = TestApp::spawn_with(ServerConfig { visitors_per_minute_per_ip: 1, ..ServerConfig::default() }).await;
    for _ in 0..3 {
        let (status, v, _) = app
            .request(
                "POST",
                "/api/widget/session",
                Some(json!({"shop": "shop-a"})),
                &[("x-forwarded-for", "203.0.113.7")],
            )
            .await;
        assert_eq!(status, 200, "an unconfigured header is not believed: {v}");
    }
}
