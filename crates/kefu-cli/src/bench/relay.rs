//! The bare relay `bench chat` measures kefu against: tokio-tungstenite and
//! nothing else. A shopper's frame is echoed back (its "ack") and forwarded
//! unparsed to the agent socket it names at hello; no JSON, no store, no
//! auth. What kefu adds on top (validation, durable commit, sequencing,
//! the event bus) is the difference between the two runs.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use futures_util::{SinkExt, StreamExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

type Agents = Arc<Mutex<HashMap<u64, mpsc::Sender<Message>>>>;

pub async fn serve(listen: SocketAddr) -> anyhow::Result<()> {
    let listener = TcpListener::bind(listen).await?;
    let agents: Agents = Arc::default();
    loop {
        let (stream, _) = listener.accept().await?;
        tokio::spawn(connection(stream, agents.clone()));
    }
}

/// The hello names the role and the agent: `{"role":"agent"|"customer","agent":N}`.
fn hello(text: &str) -> Option<(bool, u64)> {
    let v: serde_json::Value = serde_json::from_str(text).ok()?;
    Some((v["role"].as_str()? == "agent", v["agent"].as_u64()?))
}

async fn connection(stream: TcpStream, agents: Agents) {
    let _ = stream.set_nodelay(true);
    // The same buffer settings as kefu's /ws, so the two are compared like for like.
    let config = WebSocketConfig::default().read_buffer_size(4 * 1024).write_buffer_size(0);
    let Ok(mut ws) = tokio_tungstenite::accept_async_with_config(stream, Some(config)).await else { return };
    let Some(Ok(Message::Text(first))) = ws.next().await else { return };
    let Some((is_agent, agent)) = hello(&first) else { return };
    if ws.send(Message::text(r#"{"type":"welcome"}"#)).await.is_err() {
        return;
    }
    let (tx, mut rx) = mpsc::channel::<Message>(1024);
    if is_agent {
        agents.lock().unwrap_or_else(|e| e.into_inner()).insert(agent, tx);
    }
    let mut target: Option<mpsc::Sender<Message>> = None;
    loop {
        tokio::select! {
            frame = ws.next() => {
                let Some(Ok(frame)) = frame else { break };
                if !frame.is_text() { continue }
                if target.is_none() {
                    target = agents.lock().unwrap_or_else(|e| e.into_inner()).get(&agent).cloned();
                }
                if let Some(t) = &target {
                    let _ = t.send(frame.clone()).await;
                }
                if ws.send(frame).await.is_err() { break }
            }
            out = rx.recv() => {
                let Some(out) = out else { break };
                if ws.send(out).await.is_err() { break }
            }
        }
    }
}
