//! Outbound notifications against a local HTTP server standing in for the
//! merchant's order system: a request filed by an agent and its closing
//! reach it signed with the shop's secret; a failed attempt is tried again
//! with the same delivery id; one that keeps failing is given up and an
//! admin sends it again; each refusal of the admin API has its code.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use kefu_core::clock::{Clock, SystemClock};
use kefu_core::outbound::Backoff;
use kefu_server::ServerConfig;
use kefu_server::outbound::NotifyConfig;
use serde_json::{Value, json};

use crate::helpers::TestApp;
use crate::requests::{file, setup};

#[derive(Clone, Default)]
struct Merchant {
    /// Statuses to answer, in order; 200 once they run out.
    script: Arc<Mutex<VecDeque<u16>>>,
    seen: Arc<Mutex<Vec<(HeaderMap, Bytes)>>>,
}

async fn hook(State(m): State<Merchant>, headers: HeaderMap, body: Bytes) -> StatusCode {
    m.seen.lock().expect("lock").push((headers, body));
    let status = m.script.lock().expect("lock").pop_front().unwrap_or(200);
    StatusCode::from_u16(status).expect("status")
}

async fn merchant(script: &[u16]) -> (Merchant, String) {
    let m = Merchant { script: Arc::new(Mutex::new(script.iter().copied().collect())), ..Merchant::default() };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let app = axum::Router::new().route("/erp/hook", post(hook)).with_state(m.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (m, format!("http://{addr}/erp/hook?src=kefu"))
}

fn quick(attempts: u32) -> ServerConfig {
    ServerConfig {
        notify: NotifyConfig {
            backoff: Backoff { first: Duration::from_millis(100), max: Duration::from_millis(300), attempts },
            timeout: Duration::from_secs(5),
            concurrent: 4,
            per_shop: 2,
            poll: Duration::from_millis(50),
        },
        ..ServerConfig::default()
    }
}

/// Waits until the merchant has seen `n` posts; answers them as (headers, JSON).
async fn seen(m: &Merchant, n: usize) -> Vec<(HeaderMap, Value)> {
    for _ in 0..200 {
        let seen = m.seen.lock().expect("lock").clone();
        if seen.len() >= n {
            return seen.into_iter().map(|(h, b)| (h, serde_json::from_slice(&b).expect("json body"))).collect();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the merchant saw {} posts, not {n}", m.seen.lock().expect("lock").len());
}

/// Waits until the shop's deliveries are as `done` says.
async fn deliveries_until(
    app: &TestApp,
    admin: &crate::helpers::Session,
    done: impl Fn(&[Value]) -> bool,
) -> Vec<Value> {
    let path = format!("/api/admin/shops/{}/notify", app.shop_a.id);
    for _ in 0..200 {
        let (status, v) = app.as_agent(admin, "GET", &path, None).await;
        assert_eq!(status, 200, "{v}");
        let list = v["deliveries"].as_array().expect("deliveries").clone();
        if done(&list) {
            return list;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("deliveries never came to the state wanted");
}

fn header<'a>(h: &'a HeaderMap, name: &str) -> &'a str {
    h.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_reach_the_merchant_signed_and_failed_attempts_are_tried_again() {
    let app = TestApp::spawn_with(quick(5)).await;
    let (m, url) = merchant(&[503]).await;
    let admin = app.login("admin").await;
    let path = format!("/api/admin/shops/{}/notify", app.shop_a.id);
    let (status, v) = app.as_agent(&admin, "PUT", &path, Some(json!({"url": url}))).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["endpoint"]["enabled"], true);

    let (agent, conversation) = setup(&app).await;
    let (status, v) = file(&app, &agent, &conversation, json!({"order_no": "u500-paid", "kind": "urge"})).await;
    assert_eq!(status, 201, "{v}");
    let request_id = v["request"]["id"].as_str().expect("id").to_owned();

    // The first attempt gets 503, the second is accepted: same delivery, same body.
    let posts = seen(&m, 2).await;
    let (first, second) = (&posts[0], &posts[1]);
    assert_eq!(first.1, second.1);
    assert_eq!(header(&first.0, "x-kefu-delivery"), header(&second.0, "x-kefu-delivery"));
    let body = &second.1;
    assert_eq!(body["event"], "order_request.filed");
    assert_eq!(header(&second.0, "x-kefu-event"), "order_request.filed");
    assert_eq!(body["id"].as_str(), Some(header(&second.0, "x-kefu-delivery")));
    assert_eq!(body["shop"]["slug"], "shop-a");
    let r = &body["order_request"];
    assert_eq!(
        (r["id"].as_str(), r["kind"].as_str(), r["order_no"].as_str()),
        (Some(request_id.as_str()), Some("urge"), Some("u500-paid"))
    );
    assert_eq!((r["status"].as_str(), r["filed_by_name"].as_str()), (Some("open"), Some("AGENT-A")));
    // Signed with the shop's secret over the exact bytes, as inbound webhooks are.
    let raw = m.seen.lock().expect("lock")[1].1.clone();
    let signature = header(&second.0, "x-kefu-signature");
    kefu_server::auth::verify_webhook(app.shop_a.secret.expose(), signature, &raw, SystemClock.now()).expect("signed");
    assert!(kefu_server::auth::verify_webhook(app.shop_b.secret.expose(), signature, &raw, SystemClock.now()).is_err());

    let list = deliveries_until(&app, &admin, |l| l.first().is_some_and(|d| d["state"] == "delivered")).await;
    assert_eq!((list[0]["attempts"].as_u64(), list[0]["last_status"].as_u64()), (Some(2), Some(200)));

    // Closing it is announced with the closing word.
    let (status, v) = app
        .as_agent(
            &agent,
            "POST",
            &format!("/api/shops/{}/order-requests/{request_id}/resolve", app.shop_a.id),
            Some(json!({"status": "done", "note": "已催仓库，今天发出"})),
        )
        .await;
    assert_eq!(status, 200, "{v}");
    let posts = seen(&m, 3).await;
    let closed = &posts[2].1;
    assert_eq!(closed["event"], "order_request.closed");
    assert_eq!(closed["order_request"]["status"], "done");
    assert_eq!(closed["order_request"]["resolved"]["note"], "已催仓库，今天发出");
    // The filed notification, sent again now, still shows the request as filed.
    let filed_id = header(&posts[0].0, "x-kefu-delivery").to_owned();
    let (status, v) = app
        .as_agent(&admin, "POST", &format!("/api/admin/shops/{}/deliveries/{filed_id}/retry", app.shop_a.id), None)
        .await;
    assert_eq!(status, 200, "{v}");
    let posts = seen(&m, 4).await;
    assert_eq!(posts[3].1["order_request"]["status"], "open");
    assert_eq!(posts[3].1["id"], posts[0].1["id"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delivery_that_keeps_failing_is_given_up_and_sent_again_by_an_admin() {
    let app = TestApp::spawn_with(quick(2)).await;
    let (m, url) = merchant(&[500, 502]).await;
    let admin = app.login("admin").await;
    let path = format!("/api/admin/shops/{}/notify", app.shop_a.id);
    let (status, _) = app.as_agent(&admin, "PUT", &path, Some(json!({"url": url}))).await;
    assert_eq!(status, 200);
    let (status, v) = app.as_agent(&admin, "POST", &format!("{path}/ping"), None).await;
    assert_eq!(status, 200, "{v}");
    let list = deliveries_until(&app, &admin, |l| l.first().is_some_and(|d| d["state"] == "failed")).await;
    assert_eq!((list[0]["attempts"].as_u64(), list[0]["last_status"].as_u64()), (Some(2), Some(502)));
    assert!(list[0]["last_error"].as_str().is_some_and(|e| e.starts_with("HTTP 502")), "{}", list[0]);
    let (status, v) = app.as_agent(&admin, "GET", &format!("{path}?state=failed"), None).await;
    assert_eq!((status.as_u16(), v["deliveries"].as_array().map(Vec::len)), (200, Some(1)));

    let id = list[0]["id"].as_str().expect("id");
    let (status, v) =
        app.as_agent(&admin, "POST", &format!("/api/admin/shops/{}/deliveries/{id}/retry", app.shop_a.id), None).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!((v["delivery"]["state"].as_str(), v["delivery"]["attempts"].as_u64()), (Some("pending"), Some(0)));
    deliveries_until(&app, &admin, |l| l.first().is_some_and(|d| d["state"] == "delivered")).await;
    assert_eq!(seen(&m, 3).await[2].1["event"], "ping");

    // Paused: nothing new is queued; what is queued is given up without a post.
    let (status, _) = app.as_agent(&admin, "POST", &format!("{path}/ping"), None).await;
    assert_eq!(status, 200);
    let (status, _) = app.as_agent(&admin, "PUT", &path, Some(json!({"url": url, "enabled": false}))).await;
    assert_eq!(status, 200);
    let list = deliveries_until(&app, &admin, |l| l.first().is_some_and(|d| d["state"] != "pending")).await;
    let raced = list[0]["state"] == "delivered";
    if !raced {
        assert_eq!(
            (list[0]["state"].as_str(), list[0]["last_error"].as_str()),
            (Some("failed"), Some("the endpoint is paused"))
        );
        assert_eq!(list[0]["attempts"].as_u64(), Some(0), "given up without an attempt");
    }
    assert_eq!(m.seen.lock().expect("lock").len(), 3 + usize::from(raced));
    let (status, v) = app.as_agent(&admin, "POST", &format!("{path}/ping"), None).await;
    assert_eq!(
        (status.as_u16(), v["error"]["code"].as_str()),
        (409, Some("conflict")),
        "a paused endpoint is not pinged"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_notification_settings_refuse_what_they_should() {
    let app = TestApp::spawn().await;
    let admin = app.login("admin").await;
    let agent = app.login("agent-a").await;
    let path = format!("/api/admin/shops/{}/notify", app.shop_a.id);
    for (who, method, path, body, status, code) in [
        (&agent, "GET", path.clone(), None, 403, "forbidden"),
        (&agent, "PUT", path.clone(), Some(json!({"url": "http://127.0.0.1:9/x"})), 403, "forbidden"),
        (&admin, "PUT", path.clone(), Some(json!({"url": "ftp://erp.example.com/hook"})), 400, "invalid_input"),
        (&admin, "PUT", path.clone(), Some(json!({"url": "javascript:alert(1)"})), 400, "invalid_input"),
        (&admin, "PUT", path.clone(), Some(json!({"url": "http://a b/"})), 400, "invalid_input"),
        (&admin, "PUT", path.clone(), Some(json!({"url": "http://h/", "secret": "x"})), 400, "invalid_input"),
        (&admin, "PUT", path.clone(), Some(json!({"url": "http://h/", "events": []})), 400, "invalid_input"),
        (
            &admin,
            "PUT",
            path.clone(),
            Some(json!({"url": "http://h/", "events": ["order.paid"]})),
            400,
            "invalid_input",
        ),
        (&admin, "PUT", path.clone(), Some(json!({"url": "http://h/", "events": ["ping"]})), 400, "invalid_input"),
        (&admin, "PUT", path.clone(), Some(json!({"url": "http://h/", "events": "all"})), 400, "invalid_input"),
        (&admin, "POST", format!("{path}/ping"), None, 409, "conflict"),
        (&admin, "GET", format!("{path}?state=lost"), None, 400, "invalid_input"),
        (&admin, "GET", format!("/api/admin/shops/{}/notify", uuid::Uuid::now_v7()), None, 404, "not_found"),
        (
            &admin,
            "POST",
            format!("/api/admin/shops/{}/deliveries/{}/retry", app.shop_a.id, uuid::Uuid::now_v7()),
            None,
            404,
            "not_found",
        ),
        (&admin, "POST", format!("/api/admin/shops/{}/deliveries/nope/retry", app.shop_a.id), None, 404, "not_found"),
    ] {
        let (got, v) = app.as_agent(who, method, &path, body.clone()).await;
        assert_eq!((got.as_u16(), v["error"]["code"].as_str()), (status, Some(code)), "{method} {path} {body:?}: {v}");
    }
    assert_eq!(app.store.notify_endpoint(app.shop_a.id).await.expect("read"), None, "nothing was saved");

    // Another shop's delivery is not found through this shop.
    let (status, _) = app
        .as_agent(
            &admin,
            "PUT",
            &format!("/api/admin/shops/{}/notify", app.shop_b.id),
            Some(json!({"url": "http://127.0.0.1:9/b"})),
        )
        .await;
    assert_eq!(status, 200);
    let (status, v) =
        app.as_agent(&admin, "POST", &format!("/api/admin/shops/{}/notify/ping", app.shop_b.id), None).await;
    assert_eq!(status, 200, "{v}");
    let theirs = v["delivery"]["id"].as_str().expect("id");
    let (status, v) = app
        .as_agent(&admin, "POST", &format!("/api/admin/shops/{}/deliveries/{theirs}/retry", app.shop_a.id), None)
        .await;
    assert_eq!((status.as_u16(), v["error"]["code"].as_str()), (404, Some("not_found")));
    let (status, _) = app.as_agent(&admin, "DELETE", &format!("/api/admin/shops/{}/notify", app.shop_b.id), None).await;
    assert_eq!(status, 200);
    assert_eq!(app.store.notify_endpoint(app.shop_b.id).await.expect("read"), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_conversation_ending_and_its_rating_reach_the_merchant_with_their_customer_and_agent() {
    let app = TestApp::spawn_with(quick(3)).await;
    let (m, url) = merchant(&[]).await;
    let admin = app.login("admin").await;
    let path = format!("/api/admin/shops/{}/notify", app.shop_a.id);
    assert_eq!(app.as_agent(&admin, "PUT", &path, Some(json!({"url": url}))).await.0, 200);

    app.known_customer(&app.shop_a, "u600").await;
    let token = app.identified("u600").await;
    let mut shopper = app.customer_ws(&token).await;
    shopper.send(json!({"type": "send", "client_msg_id": "c-1", "text": "发票开好了吗"})).await;
    let conversation = shopper.recv_type("ack").await["conversation_id"].as_str().expect("id").to_owned();
    let agent = app.login("agent-a").await;
    assert_eq!(app.as_agent(&agent, "POST", &format!("/api/conversations/{conversation}/accept"), None).await.0, 200);
    assert_eq!(app.as_agent(&agent, "POST", &format!("/api/conversations/{conversation}/close"), None).await.0, 200);
    let auth = format!("Bearer {token}");
    let (status, v, _) = app
        .request(
            "POST",
            "/api/widget/rate",
            Some(json!({"conversation_id": conversation, "csat": 5})),
            &[("authorization", &auth)],
        )
        .await;
    assert_eq!(status, 200, "{v}");

    let posts = seen(&m, 2).await;
    let by_event = |e: &str| posts.iter().find(|(_, b)| b["event"] == e).map(|(_, b)| b.clone()).expect(e);
    let closed = by_event("conversation.closed");
    let c = &closed["conversation"];
    assert_eq!((c["id"].as_str(), c["status"].as_str()), (Some(conversation.as_str()), Some("closed")));
    assert_eq!((c["customer"]["external_id"].as_str(), c["agent"]["name"].as_str()), (Some("u600"), Some("AGENT-A")));
    assert!(c["closed_at"].as_i64().is_some() && c["last_seq"].as_i64().is_some_and(|n| n >= 2), "{c}");
    let rated = by_event("conversation.rated");
    assert_eq!(rated["conversation"]["csat"], 5);
    assert_eq!(rated["conversation"]["customer"]["nickname"], "买家u600");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endpoint_chooses_its_events_and_reads_them_back() {
    let app = TestApp::spawn().await;
    let admin = app.login("admin").await;
    let path = format!("/api/admin/shops/{}/notify", app.shop_a.id);
    let (status, v) = app.as_agent(&admin, "PUT", &path, Some(json!({"url": "http://127.0.0.1:9/x"}))).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["endpoint"]["every_event"], true, "absent, every event: {v}");
    let body = json!({"url": "http://127.0.0.1:9/x", "events": ["conversation.rated", " order_request.closed"]});
    let (status, v) = app.as_agent(&admin, "PUT", &path, Some(body)).await;
    assert_eq!(status, 200, "{v}");
    let (status, v) = app.as_agent(&admin, "GET", &path, None).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["endpoint"]["every_event"], false);
    assert_eq!(v["endpoint"]["events"], json!(["order_request.closed", "conversation.rated"]));
    assert_eq!(
        v["events"],
        json!(["order_request.filed", "order_request.closed", "conversation.closed", "conversation.rated"]),
        "what may be chosen (a ping always goes)"
    );
}

/// The merchant's system of one shop that never answers until told to.
#[derive(Clone)]
struct Hanging {
    seen: Arc<Mutex<usize>>,
    go: Arc<tokio::sync::Semaphore>,
}

async fn hang(State(h): State<Hanging>) -> StatusCode {
    *h.seen.lock().expect("lock") += 1;
    drop(h.go.acquire().await.expect("gate"));
    StatusCode::OK
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shop_whose_endpoint_hangs_does_not_hold_up_another_shops_notifications() {
    // Four slots, two per shop: shop A's six pings can hold two of them.
    let app = TestApp::spawn_with(quick(3)).await;
    let admin = app.login("admin").await;
    let stuck = Hanging { seen: Arc::default(), go: Arc::new(tokio::sync::Semaphore::new(0)) };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let router = axum::Router::new().route("/hook", post(hang)).with_state(stuck.clone());
    tokio::spawn(async move { axum::serve(listener, router).await });
    let (b, b_url) = merchant(&[]).await;
    for (shop, url) in [(app.shop_a.id, format!("http://{addr}/hook")), (app.shop_b.id, b_url)] {
        let path = format!("/api/admin/shops/{shop}/notify");
        assert_eq!(app.as_agent(&admin, "PUT", &path, Some(json!({"url": url}))).await.0, 200);
    }
    for _ in 0..6 {
        let (status, v) =
            app.as_agent(&admin, "POST", &format!("/api/admin/shops/{}/notify/ping", app.shop_a.id), None).await;
        assert_eq!(status, 200, "{v}");
    }
    for _ in 0..200 {
        if *stuck.seen.lock().expect("lock") >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (status, v) =
        app.as_agent(&admin, "POST", &format!("/api/admin/shops/{}/notify/ping", app.shop_b.id), None).await;
    assert_eq!(status, 200, "{v}");
    // Shop B's ping arrives while shop A's endpoint still holds every attempt made to it.
    let posts = seen(&b, 1).await;
    assert_eq!(posts[0].1["event"], "ping");
    assert_eq!(*stuck.seen.lock().expect("lock"), 2, "shop A has its share in flight, no more");
    // Once A's endpoint answers, its backlog goes through.
    stuck.go.add_permits(100);
    for _ in 0..200 {
        if *stuck.seen.lock().expect("lock") >= 6 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("shop A's backlog was not sent: {} seen", *stuck.seen.lock().expect("lock"));
}

/// The merchant's system behind HTTPS, with a certificate from its own CA:
/// each POST's event header and body, answered 200.
async fn https_merchant() -> (Arc<Mutex<Vec<(String, Value)>>>, u16) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio_rustls::rustls;
    use tokio_rustls::rustls::pki_types::pem::PemObject;
    use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/tls");
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(format!("{dir}/server.pem"))
        .expect("server.pem")
        .collect::<Result<_, _>>()
        .expect("certs");
    let key = PrivateKeyDer::from_pem_file(format!("{dir}/server.key")).expect("server.key");
    let config = rustls::ServerConfig::builder().with_no_client_auth().with_single_cert(certs, key).expect("cert");
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else { return };
            let (acceptor, log) = (acceptor.clone(), log.clone());
            tokio::spawn(async move {
                // A client that refuses the certificate ends here.
                let Ok(mut tls) = acceptor.accept(tcp).await else { return };
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                let (head, body_len) = loop {
                    let Ok(n) = tls.read(&mut chunk).await else { return };
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
                        let len = head
                            .lines()
                            .find_map(|l| l.strip_prefix("content-length:").map(|v| v.trim().parse::<usize>()))
                            .and_then(Result::ok)
                            .unwrap_or(0);
                        buf.drain(..end + 4);
                        break (head, len);
                    }
                };
                while buf.len() < body_len {
                    let Ok(n) = tls.read(&mut chunk).await else { return };
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                }
                let event = head.lines().find_map(|l| l.strip_prefix("x-kefu-event:")).unwrap_or("").trim().to_owned();
                let body = serde_json::from_slice(&buf[..body_len]).unwrap_or(Value::Null);
                log.lock().expect("lock").push((event, body));
                let _ = tls.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n").await;
                let _ = tls.shutdown().await;
            });
        }
    });
    (seen, port)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_https_endpoint_is_reached_when_its_ca_is_trusted_and_refused_when_not() {
    let ca = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/tls/ca.pem")).expect("ca.pem");
    let (seen, port) = https_merchant().await;
    let url = format!("https://localhost:{port}/kefu/hook");
    for trusted in [true, false] {
        let mut config = quick(1);
        if trusted {
            config.http = kefu_server::http_out::Client::with_extra_roots(&ca).expect("the test CA");
        }
        let app = TestApp::spawn_with(config).await;
        let admin = app.login("admin").await;
        let path = format!("/api/admin/shops/{}/notify", app.shop_a.id);
        let (status, v) = app.as_agent(&admin, "PUT", &path, Some(json!({"url": url}))).await;
        assert_eq!((status.as_u16(), v["endpoint"]["url"].as_str()), (200, Some(url.as_str())), "{v}");
        assert_eq!(app.as_agent(&admin, "POST", &format!("{path}/ping"), None).await.0, 200);
        let list = deliveries_until(&app, &admin, |l| l.iter().all(|d| d["state"] != "pending")).await;
        if trusted {
            assert_eq!((list[0]["state"].as_str(), list[0]["last_status"].as_u64()), (Some("delivered"), Some(200)));
            let posts = seen.lock().expect("lock").clone();
            assert_eq!(posts.len(), 1);
            assert_eq!((posts[0].0.as_str(), posts[0].1["event"].as_str()), ("ping", Some("ping")));
        } else {
            // Mozilla's roots do not vouch for the merchant's own CA: refused at the handshake, nothing sent.
            assert_eq!(list[0]["state"], "failed", "{list:?}");
            let error = list[0]["last_error"].as_str().expect("error");
            assert!(error.starts_with("TLS:") && error.contains("certificate"), "{error}");
            assert_eq!(seen.lock().expect("lock").len(), 1, "the second server saw nothing");
        }
    }
    assert!(kefu_server::http_out::Client::with_extra_roots(b"not a certificate").is_err());
}
