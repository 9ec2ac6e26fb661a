//! The clients: agent sockets and shopper sockets (active and idle), an
//! open-loop send schedule, and latency histograms.
//!
//! Latency is measured from the *scheduled* send time, so a server that
//! falls behind shows it in the tail instead of hiding it by slowing the
//! clients down (coordinated omission). Every frame carries its scheduled
//! time, so the receiving side needs no shared table.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use futures_util::{SinkExt, StreamExt};
use hdrhistogram::Histogram;
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio::sync::{Semaphore, watch};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Message, http::HeaderValue};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use super::target::Seeded;

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Shopper text of a typical length (JDDC turns average ~40 bytes).
const TEXT: &str = "亲，我的订单什么时候发货？急用";
/// Every other message asks what the shop's knowledge base answers, so a
/// bot run measures the knowledge-base search as well as the order flows.
const FAQ_TEXT: &str = "亲，你们默认发什么快递呀？";
const CONNECT_PARALLEL: usize = 256;
/// Messages a storm's reconnecting shopper asks to have resent.
const RESUME_MISSED: i64 = 2;
/// How long to wait for stragglers after the last scheduled send.
const DRAIN: Duration = Duration::from_secs(10);

#[derive(Clone, Copy)]
pub enum Kind<'a> {
    /// `kefu serve`: shoppers use chat tokens, agents session cookies.
    Kefu(&'a Seeded),
    /// The bare relay: a hello naming the role and the agent.
    Bare,
}

pub enum LoadPlan {
    /// `rate` messages per second spread evenly over the active shoppers.
    OpenLoop { rate: f64, duration: Duration },
    /// Each active shopper keeps `window` sends unacknowledged: the most the server takes.
    Window { window: usize, duration: Duration },
}

/// Milliseconds.
#[derive(Debug, Default, Clone, Copy)]
pub struct Percentiles {
    pub p50: f64,
    pub p99: f64,
    pub p999: f64,
    pub max: f64,
}

impl Percentiles {
    pub(super) fn of(h: &Histogram<u64>) -> Self {
        let ms = |us: u64| us as f64 / 1000.0;
        if h.is_empty() {
            return Self::default();
        }
        Percentiles {
            p50: ms(h.value_at_quantile(0.50)),
            p99: ms(h.value_at_quantile(0.99)),
            p999: ms(h.value_at_quantile(0.999)),
            max: ms(h.max()),
        }
    }
}

#[derive(Debug, Default)]
pub struct Outcome {
    pub sent: u64,
    pub acked: u64,
    pub relayed: u64,
    /// Sent but never seen by the agent.
    pub lost: u64,
    /// Acknowledged messages per second of the phase (until the last ack).
    pub msgs_per_sec: f64,
    pub elapsed: f64,
    pub ack: Percentiles,
    pub relay: Percentiles,
    /// Cores the server used on average (filled in by the caller).
    pub server_cpu: f64,
}

fn histogram() -> Histogram<u64> {
    // 1 µs .. 10 min, 3 significant digits; the bounds are constants.
    Histogram::new_with_bounds(1, 600_000_000, 3).unwrap_or_else(|_| unreachable!("valid histogram bounds"))
}

/// A reconnect storm: every idle shopper's socket dropped at once and opened again.
#[derive(Debug, Default, Clone, Copy)]
pub struct Storm {
    pub reconnected: usize,
    /// Messages the reconnected shoppers' `resume` delivered (kefu only).
    pub resumed_messages: u64,
    pub seconds: f64,
    pub handshakes_per_sec: f64,
}

pub struct Fleet {
    base: Instant,
    addr: SocketAddr,
    /// Each shopper's hello, to open their socket again.
    hellos: Vec<Value>,
    agents: Vec<Socket>,
    /// Shoppers; the first `active` write, the rest stay idle.
    customers: Vec<Socket>,
    active: usize,
    pub handshakes_per_sec: f64,
    /// The server's bot answers the shoppers: measure its replies instead of the relay to agents.
    pub bot: bool,
}

impl Fleet {
    pub async fn connect(
        addr: SocketAddr,
        kind: Kind<'_>,
        customers: usize,
        active: usize,
        agents: usize,
    ) -> anyhow::Result<Fleet> {
        let mut agent_sockets = Vec::with_capacity(agents);
        for i in 0..agents {
            agent_sockets.push(connect_agent(addr, kind, i).await.with_context(|| format!("agent socket {i}"))?);
        }
        let started = Instant::now();
        let hellos: Vec<Value> = (0..customers)
            .map(|i| match kind {
                Kind::Kefu(seeded) => json!({"type": "hello", "v": 1, "token": seeded.customer_tokens[i]}),
                Kind::Bare => json!({"role": "customer", "agent": i % agents.max(1)}),
            })
            .collect();
        let customer_sockets = connect_all(addr, &hellos).await?;
        let handshakes_per_sec = customers as f64 / started.elapsed().as_secs_f64();
        Ok(Fleet {
            base: Instant::now(),
            addr,
            hellos,
            agents: agent_sockets,
            customers: customer_sockets,
            active,
            handshakes_per_sec,
            bot: false,
        })
    }

    /// Each active shopper says hello once, in small groups, so every
    /// conversation is open and routed before the clock starts.
    pub async fn warm_up(&mut self) -> anyhow::Result<()> {
        let active = self.active;
        for chunk in self.customers[..active].chunks_mut(32) {
            let sends = chunk.iter_mut().enumerate().map(|(i, ws)| async move {
                let frame = json!({"type": "send", "client_msg_id": format!("warm{i}"), "text": "你好"});
                ws.send(Message::text(frame.to_string())).await?;
                loop {
                    let v = next_json(ws).await?;
                    if matches!(v["type"].as_str(), Some("ack" | "send")) {
                        return anyhow::Ok(());
                    }
                    if v["type"] == "error" {
                        bail!("warm-up refused: {v}");
                    }
                }
            });
            for r in futures_util::future::join_all(sends).await {
                r?;
            }
        }
        // Let the agents' sockets take the hellos' fan-out before measuring.
        tokio::time::sleep(Duration::from_millis(500)).await;
        for agent in &mut self.agents {
            while let Ok(Some(_)) = tokio::time::timeout(Duration::from_millis(1), agent.next()).await {}
        }
        Ok(())
    }

    pub async fn run(&mut self, plan: LoadPlan) -> anyhow::Result<Outcome> {
        let base = self.base;
        let start = Instant::now() + Duration::from_millis(200);
        let (period, window, duration) = match plan {
            LoadPlan::OpenLoop { rate, duration } => {
                (Some(Duration::from_secs_f64(self.active as f64 / rate)), 0, duration)
            }
            LoadPlan::Window { window, duration } => (None, window, duration),
        };
        let end = start + duration;
        let relayed = Arc::new(AtomicU64::new(0));
        let (stop_tx, stop_rx) = watch::channel(false);

        let mut agent_tasks = Vec::new();
        for ws in self.agents.drain(..) {
            agent_tasks.push(tokio::spawn(agent_loop(ws, base, relayed.clone(), stop_rx.clone())));
        }
        let mut customer_tasks = Vec::new();
        let active: Vec<Socket> = self.customers.drain(..self.active).collect();
        for (k, ws) in active.into_iter().enumerate() {
            let schedule = match period {
                Some(p) => Schedule::Fixed { first: start + p.mul_f64(k as f64 / self.active as f64), period: p },
                None => Schedule::Window(window),
            };
            let bot = self.bot.then(|| relayed.clone());
            customer_tasks.push(tokio::spawn(customer_loop(ws, base, start, end, schedule, bot)));
        }

        let mut outcome = Outcome::default();
        let mut ack_hist = histogram();
        let mut relay_hist = histogram();
        let mut last_ack = start;
        let mut returned = Vec::with_capacity(customer_tasks.len());
        for task in customer_tasks {
            let c = task.await?;
            outcome.sent += c.sent;
            outcome.acked += c.acked;
            ack_hist.add(&c.hist).context("merging histograms")?;
            relay_hist.add(&c.replies).context("merging histograms")?;
            last_ack = last_ack.max(c.last_ack);
            returned.push(c.ws);
        }
        let deadline = Instant::now() + DRAIN;
        while relayed.load(Ordering::Relaxed) < outcome.sent && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let _ = stop_tx.send(true);
        for task in agent_tasks {
            let (ws, hist) = task.await?;
            relay_hist.add(&hist).context("merging histograms")?;
            self.agents.push(ws);
        }
        returned.append(&mut self.customers);
        self.customers = returned;

        outcome.relayed = relayed.load(Ordering::Relaxed);
        outcome.lost = outcome.sent.saturating_sub(outcome.relayed);
        outcome.elapsed = last_ack.saturating_duration_since(start).as_secs_f64().max(duration.as_secs_f64());
        outcome.msgs_per_sec = outcome.acked as f64 / outcome.elapsed;
        outcome.ack = Percentiles::of(&ack_hist);
        outcome.relay = Percentiles::of(&relay_hist);
        Ok(outcome)
    }

    /// An open-loop phase during which, one second in, every idle shopper's
    /// socket is dropped and opened again (BENCHMARKS.md S8).
    pub async fn storm(&mut self, rate: f64, duration: Duration) -> anyhow::Result<(Outcome, Storm)> {
        let idle: Vec<Socket> = self.customers.drain(self.active.min(self.customers.len())..).collect();
        let hellos = self.hellos[self.active.min(self.hellos.len())..].to_vec();
        let addr = self.addr;
        let reconnect = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(1)).await;
            // All at once, as when a load balancer or a mobile network drops them.
            drop(idle);
            let started = Instant::now();
            let reopened = reconnect_all(addr, &hellos).await?;
            anyhow::Ok((reopened, started.elapsed().as_secs_f64()))
        });
        let outcome = self.run(LoadPlan::OpenLoop { rate, duration }).await?;
        let (reopened, seconds) = reconnect.await??;
        let reconnected = reopened.len();
        let mut resumed_messages = 0;
        for (ws, delivered) in reopened {
            resumed_messages += delivered;
            self.customers.push(ws);
        }
        let storm = Storm {
            reconnected,
            resumed_messages,
            seconds,
            handshakes_per_sec: reconnected as f64 / seconds.max(1e-9),
        };
        Ok((outcome, storm))
    }

    pub async fn close(mut self) {
        for ws in self.agents.iter_mut().chain(self.customers.iter_mut()) {
            let _ = ws.close(None).await;
        }
    }
}

/// Opens one socket per hello, `CONNECT_PARALLEL` handshakes at a time.
async fn connect_all(addr: SocketAddr, hellos: &[Value]) -> anyhow::Result<Vec<Socket>> {
    Ok(open_all(addr, hellos, false).await?.into_iter().map(|(ws, _)| ws).collect())
}

/// `connect_all`, then each socket resumes its open conversation if it has one.
async fn reconnect_all(addr: SocketAddr, hellos: &[Value]) -> anyhow::Result<Vec<(Socket, u64)>> {
    open_all(addr, hellos, true).await
}

async fn open_all(addr: SocketAddr, hellos: &[Value], resume: bool) -> anyhow::Result<Vec<(Socket, u64)>> {
    let gate = Arc::new(Semaphore::new(CONNECT_PARALLEL));
    let mut tasks = Vec::with_capacity(hellos.len());
    for hello in hellos {
        let (gate, hello) = (gate.clone(), hello.clone());
        tasks.push(tokio::spawn(async move {
            let _permit = gate.acquire_owned().await;
            reconnect(addr, hello, resume).await
        }));
    }
    let mut sockets = Vec::with_capacity(hellos.len());
    for (i, task) in tasks.into_iter().enumerate() {
        sockets.push(task.await?.with_context(|| format!("shopper socket {i}"))?);
    }
    Ok(sockets)
}

async fn connect_agent(addr: SocketAddr, kind: Kind<'_>, i: usize) -> anyhow::Result<Socket> {
    match kind {
        Kind::Kefu(seeded) => {
            let cookie = seeded.agent_cookies.get(i).context("no cookie for this agent")?;
            connect_with_hello(addr, Some(cookie), json!({"type": "hello", "v": 1})).await
        }
        Kind::Bare => connect_with_hello(addr, None, json!({"role": "agent", "agent": i})).await,
    }
}

/// Opens a socket, says hello and, when the welcome names an open
/// conversation (kefu's idle shoppers), resumes it as a reconnecting client
/// that missed its last `RESUME_MISSED` messages would; returns the messages
/// the resume delivered.
async fn reconnect(addr: SocketAddr, hello: Value, resume: bool) -> anyhow::Result<(Socket, u64)> {
    let (mut ws, welcome) = open_with_hello(addr, None, hello).await?;
    if !resume {
        return Ok((ws, 0));
    }
    let conversation = &welcome["conversation"];
    let (Some(id), Some(last)) = (conversation["id"].as_str(), conversation["last_seq"].as_i64()) else {
        return Ok((ws, 0));
    };
    let after = (last - RESUME_MISSED).max(0);
    ws.send(Message::text(json!({"type": "resume", "conversation_id": id, "after_seq": after}).to_string())).await?;
    let mut delivered = 0;
    loop {
        let v = next_json(&mut ws).await?;
        match v["type"].as_str() {
            Some("message") => delivered += 1,
            Some("resumed") => return Ok((ws, delivered)),
            Some("error") => bail!("resume refused: {v}"),
            _ => {}
        }
    }
}

async fn connect_with_hello(addr: SocketAddr, cookie: Option<&str>, hello: Value) -> anyhow::Result<Socket> {
    Ok(open_with_hello(addr, cookie, hello).await?.0)
}

/// The socket and its welcome frame.
async fn open_with_hello(addr: SocketAddr, cookie: Option<&str>, hello: Value) -> anyhow::Result<(Socket, Value)> {
    let mut request = format!("ws://{addr}/ws").into_client_request()?;
    if let Some(cookie) = cookie {
        request.headers_mut().insert("cookie", HeaderValue::from_str(cookie)?);
    }
    let config = WebSocketConfig::default().read_buffer_size(4 * 1024).write_buffer_size(0);
    let (mut ws, _) = tokio_tungstenite::connect_async_with_config(request, Some(config), true).await?;
    ws.send(Message::text(hello.to_string())).await?;
    loop {
        let v = next_json(&mut ws).await?;
        match v["type"].as_str() {
            Some("welcome") => return Ok((ws, v)),
            Some("error") => bail!("hello refused: {v}"),
            _ => {}
        }
    }
}

async fn next_json(ws: &mut Socket) -> anyhow::Result<Value> {
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(30), ws.next())
            .await
            .context("no frame within 30 s")?
            .context("the server closed the socket")??;
        if let Message::Text(text) = frame {
            return Ok(serde_json::from_str(&text)?);
        }
    }
}

enum Schedule {
    Fixed { first: Instant, period: Duration },
    Window(usize),
}

struct CustomerResult {
    ws: Socket,
    sent: u64,
    acked: u64,
    hist: Histogram<u64>,
    /// Bot mode: from the scheduled send to the bot's first reply.
    replies: Histogram<u64>,
    last_ack: Instant,
}

fn nanos_since(base: Instant, t: Instant) -> u64 {
    t.saturating_duration_since(base).as_nanos() as u64
}

fn send_frame(base: Instant, scheduled: Instant) -> Message {
    let t = nanos_since(base, scheduled);
    Message::text(
        json!({"type": "send", "client_msg_id": format!("m{t}"), "text": format!("bench {t} {}", if (t >> 10) & 1 == 0 { TEXT } else { FAQ_TEXT })})
            .to_string(),
    )
}

async fn customer_loop(
    mut ws: Socket,
    base: Instant,
    start: Instant,
    end: Instant,
    schedule: Schedule,
    bot: Option<Arc<AtomicU64>>,
) -> CustomerResult {
    let mut hist = histogram();
    let mut replies = histogram();
    // Bot mode: (scheduled time, seq) of messages the bot has not answered yet.
    let mut unanswered: std::collections::VecDeque<(u64, i64)> = std::collections::VecDeque::new();
    let (mut sent, mut acked, mut answered) = (0u64, 0u64, 0u64);
    let mut last_ack = start;
    let mut next = match schedule {
        Schedule::Fixed { first, .. } => first,
        Schedule::Window(_) => start,
    };
    let give_up = end + DRAIN;
    tokio::time::sleep_until(start.into()).await;
    if let Schedule::Window(w) = schedule {
        for _ in 0..w {
            if ws.send(send_frame(base, Instant::now())).await.is_err() {
                break;
            }
            sent += 1;
        }
    }
    loop {
        let sending = matches!(schedule, Schedule::Fixed { .. }) && next < end;
        let waiting_for_bot = bot.is_some() && answered < sent;
        if !sending && acked >= sent && !waiting_for_bot {
            break;
        }
        tokio::select! {
            _ = tokio::time::sleep_until(next.into()), if sending => {
                if ws.send(send_frame(base, next)).await.is_err() { break }
                sent += 1;
                if let Schedule::Fixed { period, .. } = schedule { next += period }
            }
            frame = ws.next() => {
                let Some(Ok(Message::Text(text))) = frame else {
                    if frame.is_none() { break } else { continue }
                };
                let now = Instant::now();
                match classify(&text) {
                    Seen::Ack { scheduled, seq } => {
                        let _ = hist.record((nanos_since(base, now).saturating_sub(scheduled) / 1000).max(1));
                        acked += 1;
                        last_ack = now;
                        if bot.is_some() {
                            unanswered.push_back((scheduled, seq));
                        }
                        if let Schedule::Window(_) = schedule && now < end {
                            if ws.send(send_frame(base, now)).await.is_err() { break }
                            sent += 1;
                        }
                    }
                    // The bot's first reply after a message answers it.
                    Seen::Bot { seq } => {
                        if let (Some(counter), Some(&(scheduled, asked))) = (&bot, unanswered.front())
                            && asked < seq
                        {
                            unanswered.pop_front();
                            let _ = replies.record((nanos_since(base, now).saturating_sub(scheduled) / 1000).max(1));
                            answered += 1;
                            counter.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    Seen::Other => {}
                }
            }
            _ = tokio::time::sleep_until(give_up.into()) => break,
        }
    }
    CustomerResult { ws, sent, acked, hist, replies, last_ack }
}

enum Seen {
    /// kefu's `ack`, or the bare relay's echo (seq 0).
    Ack {
        scheduled: u64,
        seq: i64,
    },
    /// A message from the bot.
    Bot {
        seq: i64,
    },
    Other,
}

fn classify(text: &str) -> Seen {
    let Ok(v) = serde_json::from_str::<Value>(text) else { return Seen::Other };
    match v["type"].as_str() {
        Some("ack" | "send") => {
            match v["client_msg_id"].as_str().and_then(|id| id.strip_prefix('m')).and_then(|t| t.parse().ok()) {
                Some(scheduled) => Seen::Ack { scheduled, seq: v["seq"].as_i64().unwrap_or(0) },
                None => Seen::Other,
            }
        }
        Some("message") if v["message"]["sender"]["kind"] == "bot" => {
            Seen::Bot { seq: v["message"]["seq"].as_i64().unwrap_or(0) }
        }
        _ => Seen::Other,
    }
}

/// The scheduled time of the message an `ack` (kefu) or an echo (bare relay) answers.
#[cfg(test)]
fn acked_at(text: &str) -> Option<u64> {
    match classify(text) {
        Seen::Ack { scheduled, .. } => Some(scheduled),
        _ => None,
    }
}

/// The scheduled time of a bench message an agent received.
fn relayed_at(text: &str) -> Option<u64> {
    let v: Value = serde_json::from_str(text).ok()?;
    let body = match v["type"].as_str()? {
        "message" => v["message"]["text"].as_str()?,
        "send" => v["text"].as_str()?,
        _ => return None,
    };
    body.strip_prefix("bench ")?.split(' ').next()?.parse().ok()
}

async fn agent_loop(
    mut ws: Socket,
    base: Instant,
    relayed: Arc<AtomicU64>,
    mut stop: watch::Receiver<bool>,
) -> (Socket, Histogram<u64>) {
    let mut hist = histogram();
    loop {
        tokio::select! {
            frame = ws.next() => {
                let Some(Ok(frame)) = frame else { break };
                let Message::Text(text) = frame else { continue };
                if let Some(t) = relayed_at(&text) {
                    let _ = hist.record((nanos_since(base, Instant::now()).saturating_sub(t) / 1000).max(1));
                    relayed.fetch_add(1, Ordering::Relaxed);
                }
            }
            _ = stop.changed() => break,
        }
    }
    (ws, hist)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_round_trip_through_both_servers_frames() {
        let base = Instant::now();
        let sent = send_frame(base, base + Duration::from_millis(7));
        let Message::Text(text) = sent else { unreachable!() };
        assert_eq!(acked_at(&text), Some(7_000_000), "bare relay echo");
        assert_eq!(relayed_at(&text), Some(7_000_000), "bare relay forward");
        let ack = json!({"type": "ack", "client_msg_id": "m42", "seq": 3}).to_string();
        assert_eq!(acked_at(&ack), Some(42));
        let msg = json!({"type": "message", "message": {"text": format!("bench 9 {TEXT}")}}).to_string();
        assert_eq!(relayed_at(&msg), Some(9));
        assert_eq!(relayed_at(r#"{"type":"message","message":{"text":"你好"}}"#), None);
        assert_eq!(acked_at("not json"), None);
    }
}
