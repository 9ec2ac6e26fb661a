//! Kill -9 the real binary while shoppers send: after a restart every
//! acknowledged message is stored exactly once, retries of unacknowledged
//! sends are never doubled, and resuming clients get all they missed.

use std::collections::{HashMap, HashSet};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::Message as Ws;

const KEFU: &str = env!("CARGO_BIN_EXE_kefu");
/// Guards against hangs only; never a performance assertion.
const GUARD: Duration = Duration::from_secs(30);

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("free port")
}

fn serve(dir: &std::path::Path, port: u16) -> Child {
    Command::new(KEFU)
        .args(["serve", "--data-dir"])
        .arg(dir)
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .env("KEFU_DURABILITY", "full")
        .env("KEFU_BOT", "false")
        // The chatters send as fast as acks come back; the flood limit is not under test here.
        .env("KEFU_RATE_BURST", "100000")
        .env("KEFU_RATE_PER_SECOND", "100000")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start kefu")
}

async fn http(port: u16, method: &str, path: &str, body: &str, auth: Option<&str>) -> (u16, Value) {
    try_http(port, method, path, body, auth).await.expect("http")
}

async fn try_http(
    port: u16,
    method: &str,
    path: &str,
    body: &str,
    auth: Option<&str>,
) -> std::io::Result<(u16, Value)> {
    let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
    let auth = auth.map(|t| format!("Authorization: Bearer {t}\r\n")).unwrap_or_default();
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n{auth}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).await?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).await?;
    let text = String::from_utf8_lossy(&raw);
    let status = text.split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    let body = text.split("\r\n\r\n").nth(1).unwrap_or("");
    Ok((status, serde_json::from_str(body).unwrap_or(Value::Null)))
}

async fn wait_healthy(port: u16) {
    for _ in 0..300 {
        if let Ok(Ok((200, _))) =
            tokio::time::timeout(Duration::from_secs(1), try_http(port, "GET", "/healthz", "", None)).await
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("kefu did not become healthy");
}

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn connect(port: u16, token: &str) -> Socket {
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://127.0.0.1:{port}/ws")).await.expect("ws");
    ws.send(Ws::Text(json!({"type": "hello", "v": 1, "token": token}).to_string().into())).await.expect("hello");
    loop {
        let v = next(&mut ws).await.expect("welcome");
        if v["type"] == "welcome" {
            return ws;
        }
    }
}

async fn next(ws: &mut Socket) -> Option<Value> {
    loop {
        match tokio::time::timeout(GUARD, ws.next()).await {
            Ok(Some(Ok(Ws::Text(t)))) => return serde_json::from_str(&t).ok(),
            Ok(Some(Ok(_))) => continue,
            _ => return None,
        }
    }
}

#[derive(Default)]
struct ClientLog {
    acked: HashSet<String>,
    unacked: Vec<String>,
    seen: HashMap<i64, String>,
    last_seen: i64,
    conversation: Option<String>,
}

fn record(log: &mut ClientLog, v: &Value) {
    if v["type"] == "message" {
        let seq = v["message"]["seq"].as_i64().unwrap_or(0);
        let id = v["message"]["client_msg_id"].as_str().unwrap_or("").to_owned();
        assert!(log.seen.insert(seq, id).is_none(), "seq {seq} delivered twice");
        log.last_seen = log.last_seen.max(seq);
    }
}

/// Sends until the connection dies; records what was acknowledged.
async fn chatter(port: u16, token: String, who: usize, acks: Arc<AtomicUsize>) -> ClientLog {
    let mut ws = connect(port, &token).await;
    let mut log = ClientLog::default();
    for n in 0.. {
        let id = format!("c{who}-{n}");
        let frame = json!({"type": "send", "client_msg_id": id, "text": format!("第{n}条")});
        if ws.send(Ws::Text(frame.to_string().into())).await.is_err() {
            log.unacked.push(id);
            break;
        }
        loop {
            match next(&mut ws).await {
                Some(v) if v["type"] == "ack" && v["client_msg_id"] == id.as_str() => {
                    log.conversation = v["conversation_id"].as_str().map(str::to_owned);
                    log.acked.insert(id.clone());
                    acks.fetch_add(1, Ordering::SeqCst);
                    break;
                }
                Some(v) => record(&mut log, &v),
                None => {
                    log.unacked.push(id.clone());
                    return log;
                }
            }
        }
    }
    log
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn acknowledged_messages_survive_sigkill_exactly_once() {
    let dir = std::env::temp_dir().join(format!("kefu-durability-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let seeded = Command::new(KEFU).args(["demo", "--seed-only", "--data-dir"]).arg(&dir).output().expect("seed");
    assert!(seeded.status.success(), "{}", String::from_utf8_lossy(&seeded.stderr));

    let port = free_port();
    let mut server = serve(&dir, port);
    wait_healthy(port).await;
    let mut tokens = Vec::new();
    for _ in 0..4 {
        let (status, v) = http(port, "POST", "/api/widget/session", r#"{"shop":"youpin-home"}"#, None).await;
        assert_eq!(status, 200, "{v}");
        tokens.push(v["token"].as_str().expect("token").to_owned());
    }

    let acks = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<_> =
        tokens.iter().enumerate().map(|(i, t)| tokio::spawn(chatter(port, t.clone(), i, acks.clone()))).collect();
    let waiting = async {
        while acks.load(Ordering::SeqCst) < 200 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    };
    tokio::time::timeout(GUARD, waiting).await.expect("200 acknowledged messages before the kill");
    server.kill().expect("SIGKILL"); // Child::kill sends SIGKILL on Unix.
    server.wait().expect("reaped");
    let mut logs = Vec::new();
    for t in tasks {
        logs.push(tokio::time::timeout(GUARD, t).await.expect("client ends").expect("client task"));
    }

    let port = free_port();
    let mut server = serve(&dir, port);
    wait_healthy(port).await;
    for (token, log) in tokens.iter().zip(logs.iter_mut()) {
        let mut ws = connect(port, token).await;
        let conversation = log.conversation.clone().expect("a conversation");
        // Resume from the last message seen before the crash.
        let resume = json!({"type": "resume", "conversation_id": conversation, "after_seq": log.last_seen});
        ws.send(Ws::Text(resume.to_string().into())).await.expect("resume");
        loop {
            let v = next(&mut ws).await.expect("resume frames");
            if v["type"] == "resumed" {
                break;
            }
            record(log, &v);
        }
        // Every acknowledged message was delivered exactly once, across the crash.
        let delivered: HashSet<&String> = log.seen.values().collect();
        for id in &log.acked {
            assert!(delivered.contains(id), "acknowledged {id} missing after restart");
        }
        // Retrying what was in flight never stores it twice.
        for id in log.unacked.clone() {
            let frame = json!({"type": "send", "client_msg_id": id, "text": "重试"});
            ws.send(Ws::Text(frame.to_string().into())).await.expect("retry");
            loop {
                let v = next(&mut ws).await.expect("ack");
                if v["type"] == "ack" {
                    break;
                }
                record(log, &v);
            }
        }
        let (status, history) = http(port, "GET", "/api/widget/messages?limit=200", "", Some(token)).await;
        assert_eq!(status, 200);
        let stored: Vec<&str> = history["messages"]
            .as_array()
            .expect("messages")
            .iter()
            .filter_map(|m| m["client_msg_id"].as_str())
            .collect();
        let unique: HashSet<&str> = stored.iter().copied().collect();
        assert_eq!(unique.len(), stored.len(), "no message stored twice");
        for id in &log.acked {
            assert!(unique.contains(id.as_str()), "{id} lost");
        }
        let seqs: Vec<i64> =
            history["messages"].as_array().expect("m").iter().filter_map(|m| m["seq"].as_i64()).collect();
        assert_eq!(seqs, (1..=seqs.len() as i64).collect::<Vec<_>>(), "seqs without gaps");
    }
    server.kill().expect("stop");
    let _ = server.wait();
    let _ = std::fs::remove_dir_all(&dir);
}
