//! `kefu bench …`: load generators that are benchmarks, never tests.
//!
//! `bench chat` starts a real `kefu serve` child on a fresh SQLite database,
//! drives it over loopback WebSockets, then drives a bare tokio-tungstenite
//! relay (another child: no JSON, no store) with the same clients in the
//! same run, so the figures can be read as ratios on a noisy machine.

mod disk;
mod history;
mod images;
mod kb;
mod load;
mod nlu;
mod outbox;
mod relay;
mod routing;
mod store;
mod target;
mod widget;

use std::time::Duration;

use anyhow::Context;
use serde_json::json;

use load::{Kind, LoadPlan, Outcome};

#[derive(clap::Subcommand)]
pub enum BenchCommand {
    /// WebSocket chat relay (BENCHMARKS.md S1/S7/S8): N shopper sockets,
    /// some active, messages persisted then relayed to their agents.
    Chat(ChatArgs),
    /// Text pipeline and classifier speed against raw jieba-rs (BENCHMARKS.md S3/S4).
    Nlu(nlu::NluArgs),
    /// Durable message ingest through the store against a raw rusqlite loop (BENCHMARKS.md S7).
    Store(store::StoreArgs),
    /// The desk's read paths over a year of history, 20M messages by default (BENCHMARKS.md S7).
    History(history::HistoryArgs),
    /// Knowledge-base index build and top-5 search at a size (BENCHMARKS.md S6).
    Kb(kb::KbArgs),
    /// What every widget asks when it opens and while it waits — is a person online, where do I
    /// stand in the queue — each against the direct read, on the same store in the same run.
    Widget(widget::WidgetArgs),
    /// Closings under auto-assign with every agent full and shoppers queued: each closing hands the
    /// queue out (`desk::fill_from_queue`), against the two bare writes it needs, same store, same run.
    Routing(routing::RoutingArgs),
    /// A notification sender's claim with one shop's dead endpoint piling up deliveries, against
    /// a raw oldest-first claim on the same SQLite file in the same run.
    Outbox(outbox::OutboxArgs),
    /// The bare relay `bench chat` compares against (started by it).
    #[command(hide = true)]
    RelayServer {
        #[arg(long)]
        listen: std::net::SocketAddr,
    },
}

#[derive(clap::Args, Clone, Debug)]
pub struct ChatArgs {
    /// Shopper sockets kept open (idle and active together).
    #[arg(long, default_value_t = 1000)]
    pub connections: usize,
    /// Messages per second, open loop, summed over the active shoppers.
    #[arg(long, default_value_t = 500.0)]
    pub rate: f64,
    /// Seconds of the open-loop phase.
    #[arg(long, default_value_t = 10.0)]
    pub duration: f64,
    /// Shoppers that write (default: min(connections, 1000)); the rest stay idle.
    #[arg(long)]
    pub active: Option<usize>,
    /// Conversations per agent socket.
    #[arg(long, default_value_t = 50)]
    pub per_agent: usize,
    /// Seconds of the saturation phase (each active shopper keeps `window` sends in flight); 0 skips it.
    #[arg(long, default_value_t = 5.0)]
    pub saturate: f64,
    #[arg(long, default_value_t = 4)]
    pub window: usize,
    /// Shoppers talk to the self-service bot instead of agents: "relay" figures become the
    /// time from a shopper's send to the bot's reply (BENCHMARKS.md S2).
    #[arg(long)]
    pub bot: bool,
    /// Seconds of a reconnect-storm phase at the same rate (BENCHMARKS.md S8): one second
    /// in, every idle shopper's socket is dropped and opened again; 0 skips it.
    #[arg(long, default_value_t = 0.0)]
    pub storm: f64,
    /// Also drive the npm `ws` relay in this directory (bench/peers/ws_relay, after
    /// `npm ci` there) with the same clients: the second peer of BENCHMARKS.md S1/S8.
    #[arg(long)]
    pub ws_peer: Option<std::path::PathBuf>,
    /// SQLite durability of the server under test: full or normal.
    #[arg(long, default_value = "full")]
    pub durability: String,
    /// PostgreSQL URL: the server under test keeps its data there (in a schema
    /// `bench_chat`, dropped and made again for each run) instead of SQLite.
    #[arg(long)]
    pub database_url: Option<String>,
    /// Images uploaded per second during the open loop (kefu only), each from
    /// another idle shopper: what big blobs through the store do to the chat.
    #[arg(long, default_value_t = 0.0)]
    pub images_per_sec: f64,
    /// Size of each uploaded image, KiB (the server takes up to 5 MiB).
    #[arg(long, default_value_t = 2048)]
    pub image_kib: usize,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    pub json: bool,
}

pub async fn run(command: BenchCommand) -> anyhow::Result<()> {
    match command {
        BenchCommand::Chat(args) => chat(args).await,
        BenchCommand::Nlu(args) => nlu::run(args),
        BenchCommand::Store(args) => store::run(args).await,
        BenchCommand::Kb(args) => kb::run(args),
        BenchCommand::Widget(args) => widget::run(args).await,
        BenchCommand::Routing(args) => routing::run(args).await,
        BenchCommand::Outbox(args) => outbox::run(args).await,
        BenchCommand::History(args) => history::run(args).await,
        BenchCommand::RelayServer { listen } => relay::serve(listen).await,
    }
}

/// What one server did under the same load.
struct Run {
    open: Outcome,
    saturated: Option<Outcome>,
    rss_per_idle_socket_kib: f64,
    handshakes_per_sec: f64,
    storm: Option<(Outcome, load::Storm)>,
    /// The disk probe's syncs during the open loop.
    disk: disk::SyncTimes,
    /// Uploads beside the open loop (`--images-per-sec`, kefu only).
    images: Option<images::Uploads>,
}

async fn chat(args: ChatArgs) -> anyhow::Result<()> {
    anyhow::ensure!(args.connections > 0, "--connections must be at least 1");
    anyhow::ensure!(args.rate > 0.0 && args.duration > 0.0, "--rate and --duration must be positive");
    target::check_fd_limit(args.connections * 2 + 256);
    let active = args.active.unwrap_or(args.connections.min(1000)).clamp(1, args.connections);
    let agents = active.div_ceil(args.per_agent.max(1));
    let say = |s: &str| {
        if !args.json {
            eprintln!("{s}");
        }
    };

    say(&format!(
        "kefu bench chat: {} sockets ({active} active, {agents} agents), {} msg/s for {} s, durability {}",
        args.connections, args.rate, args.duration, args.durability
    ));
    let database = args.database_url.as_deref().map(target::BenchDatabase::new).transpose()?;
    let seeded = target::seed(args.connections, active, agents, args.per_agent + 1, database.as_ref())
        .await
        .context("seeding the bench store")?;
    let kefu = target::Server::kefu(&seeded.data_dir, &args.durability, args.bot, database.as_ref()).await?;
    say(&format!("kefu serving on {} (pid {})", kefu.addr, kefu.pid()));
    let kefu_run = drive(&kefu, Kind::Kefu(&seeded), &args, active, agents, &say).await?;
    drop(kefu);
    let _ = std::fs::remove_dir_all(&seeded.data_dir);

    let bare = target::Server::relay().await?;
    say(&format!("bare relay serving on {} (pid {})", bare.addr, bare.pid()));
    let bare_run = drive(&bare, Kind::Bare, &args, active, agents, &say).await?;
    drop(bare);

    let ws_run = match &args.ws_peer {
        Some(dir) => {
            let peer = target::Server::node_relay(dir).await?;
            say(&format!("npm ws relay serving on {} (pid {})", peer.addr, peer.pid()));
            let run = drive(&peer, Kind::Bare, &args, active, agents, &say).await?;
            drop(peer);
            Some(run)
        }
        None => None,
    };

    report(&args, active, agents, &kefu_run, &bare_run, ws_run.as_ref());
    Ok(())
}

async fn drive(
    server: &target::Server,
    kind: Kind<'_>,
    args: &ChatArgs,
    active: usize,
    agents: usize,
    say: &impl Fn(&str),
) -> anyhow::Result<Run> {
    let baseline = server.rss_kib()?;
    let mut fleet = load::Fleet::connect(server.addr, kind, args.connections, active, agents).await?;
    fleet.bot = args.bot && matches!(kind, Kind::Kefu(_));
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss_per_idle_socket_kib = (server.rss_kib()?.saturating_sub(baseline)) as f64 / args.connections as f64;
    say(&format!(
        "  {} sockets open: {:.0} handshakes/s, {:.1} KiB RSS per socket",
        args.connections, fleet.handshakes_per_sec, rss_per_idle_socket_kib
    ));
    fleet.warm_up().await?;
    let cpu_before = server.cpu_ticks()?;
    let plan = LoadPlan::OpenLoop { rate: args.rate, duration: Duration::from_secs_f64(args.duration) };
    let probe = disk::Probe::start(&std::env::temp_dir()).context("starting the disk probe")?;
    let uploads = match kind {
        Kind::Kefu(seeded) if args.images_per_sec > 0.0 => {
            // Idle shoppers upload (the active ones are the first `active`).
            let idle = seeded.customer_tokens.get(active..).filter(|t| !t.is_empty());
            let tokens = idle.unwrap_or(&seeded.customer_tokens).to_vec();
            let duration = Duration::from_secs_f64(args.duration);
            Some(tokio::spawn(images::run(server.addr, tokens, args.images_per_sec, args.image_kib, duration)))
        }
        _ => None,
    };
    let mut open = fleet.run(plan).await?;
    let images = match uploads {
        Some(task) => Some(task.await.context("the image uploads")??),
        None => None,
    };
    let disk = probe.finish().context("the disk probe")?;
    open.server_cpu = server.cpu_ticks()?.saturating_sub(cpu_before) as f64 / target::CLOCK_TICKS / open.elapsed;
    say(&format!(
        "  open loop: {:.0} msg/s, ack p99 {:.2} ms, relay p99 {:.2} ms, lost {}, server CPU {:.0}%; disk sync p99 {:.2} ms, max {:.1} ms",
        open.msgs_per_sec,
        open.ack.p99,
        open.relay.p99,
        open.lost,
        open.server_cpu * 100.0,
        disk.p99,
        disk.max
    ));
    let saturated = if args.saturate > 0.0 {
        let plan = LoadPlan::Window { window: args.window.max(1), duration: Duration::from_secs_f64(args.saturate) };
        let cpu_before = server.cpu_ticks()?;
        let mut s = fleet.run(plan).await?;
        s.server_cpu = server.cpu_ticks()?.saturating_sub(cpu_before) as f64 / target::CLOCK_TICKS / s.elapsed;
        say(&format!(
            "  saturated: {:.0} msg/s, server CPU {:.0}% ({:.1} µs per message)",
            s.msgs_per_sec,
            s.server_cpu * 100.0,
            s.server_cpu * 1e6 / s.msgs_per_sec.max(1.0)
        ));
        Some(s)
    } else {
        None
    };
    if let Some(u) = &images {
        say(&format!(
            "  images: {} uploaded ({} failed) of {} KiB, upload p50 {:.1} ms, p99 {:.1} ms",
            u.uploaded, u.failed, args.image_kib, u.latency.p50, u.latency.p99
        ));
    }
    let storm = if args.storm > 0.0 {
        let (outcome, storm) = fleet.storm(args.rate, Duration::from_secs_f64(args.storm)).await?;
        say(&format!(
            "  reconnect storm: {} sockets back in {:.2} s ({:.0}/s), relay p99 {:.2} ms meanwhile, lost {}",
            storm.reconnected, storm.seconds, storm.handshakes_per_sec, outcome.relay.p99, outcome.lost
        ));
        Some((outcome, storm))
    } else {
        None
    };
    let handshakes_per_sec = fleet.handshakes_per_sec;
    fleet.close().await;
    Ok(Run { open, saturated, rss_per_idle_socket_kib, handshakes_per_sec, storm, disk, images })
}

fn report(args: &ChatArgs, active: usize, agents: usize, kefu: &Run, bare: &Run, ws: Option<&Run>) {
    let sat = |r: &Run| r.saturated.as_ref().map(|s| s.msgs_per_sec);
    let ratio_to = |peer: &Run| match (sat(kefu), sat(peer)) {
        (Some(k), Some(b)) if b > 0.0 => Some(k / b),
        _ => None,
    };
    let ratio = ratio_to(bare);
    let mut value = json!({
        "backend": if args.database_url.is_some() { "postgres" } else { "sqlite" },
        "connections": args.connections,
        "active": active,
        "agents": agents,
        "rate": args.rate,
        "duration_s": args.duration,
        "durability": args.durability,
        "bot": args.bot,
        "msgs_per_sec": kefu.open.msgs_per_sec,
        "sent": kefu.open.sent,
        "lost": kefu.open.lost,
        "ack_p50_ms": kefu.open.ack.p50,
        "ack_p99_ms": kefu.open.ack.p99,
        "ack_p999_ms": kefu.open.ack.p999,
        "relay_p50_ms": kefu.open.relay.p50,
        "relay_p99_ms": kefu.open.relay.p99,
        "relay_p999_ms": kefu.open.relay.p999,
        "relay_max_ms": kefu.open.relay.max,
        "server_cpu_cores": kefu.open.server_cpu,
        "rss_per_idle_socket_kib": kefu.rss_per_idle_socket_kib,
        "handshakes_per_sec": kefu.handshakes_per_sec,
        "max_msgs_per_sec": sat(kefu),
        "bare_relay_msgs_per_sec": bare.open.msgs_per_sec,
        "bare_relay_p99_ms": bare.open.relay.p99,
        "bare_relay_p999_ms": bare.open.relay.p999,
        "bare_relay_cpu_cores": bare.open.server_cpu,
        "bare_relay_max_msgs_per_sec": sat(bare),
        "bare_rss_per_idle_socket_kib": bare.rss_per_idle_socket_kib,
        "max_throughput_ratio_vs_bare": ratio,
        "storm_reconnected": kefu.storm.as_ref().map(|(_, s)| s.reconnected),
        "storm_seconds": kefu.storm.as_ref().map(|(_, s)| s.seconds),
        "storm_handshakes_per_sec": kefu.storm.as_ref().map(|(_, s)| s.handshakes_per_sec),
        "storm_relay_p99_ms": kefu.storm.as_ref().map(|(o, _)| o.relay.p99),
        "storm_lost": kefu.storm.as_ref().map(|(o, _)| o.lost),
        "bare_storm_seconds": bare.storm.as_ref().map(|(_, s)| s.seconds),
        "storm_resumed_messages": kefu.storm.as_ref().map(|(_, s)| s.resumed_messages),
        "bare_storm_relay_p99_ms": bare.storm.as_ref().map(|(o, _)| o.relay.p99),
    });
    // The disk probe beside each open loop (bench/disk.rs): a relay tail no
    // shorter than the slowest sync of its window is the device's, not the code's.
    let probe = json!({
        "disk_syncs": kefu.disk.syncs,
        "disk_sync_p50_ms": kefu.disk.p50,
        "disk_sync_p99_ms": kefu.disk.p99,
        "disk_sync_max_ms": kefu.disk.max,
        "bare_disk_sync_p99_ms": bare.disk.p99,
        "bare_disk_sync_max_ms": bare.disk.max,
    });
    // The npm ws peer's figures (null without --ws-peer), in a second macro call: one would be too deep.
    let peer = json!({
        "ws_relay_msgs_per_sec": ws.map(|w| w.open.msgs_per_sec),
        "ws_relay_p99_ms": ws.map(|w| w.open.relay.p99),
        "ws_relay_p999_ms": ws.map(|w| w.open.relay.p999),
        "ws_relay_cpu_cores": ws.map(|w| w.open.server_cpu),
        "ws_relay_max_msgs_per_sec": ws.and_then(sat),
        "ws_rss_per_idle_socket_kib": ws.map(|w| w.rss_per_idle_socket_kib),
        "ws_storm_seconds": ws.and_then(|w| w.storm.as_ref().map(|(_, s)| s.seconds)),
        "ws_storm_relay_p99_ms": ws.and_then(|w| w.storm.as_ref().map(|(o, _)| o.relay.p99)),
        "max_throughput_ratio_vs_ws": ws.and_then(ratio_to),
    });
    // Each server's cores while saturated: what a message costs it.
    let sat_cpu = |r: &Run| r.saturated.as_ref().map(|s| s.server_cpu);
    let saturated = json!({
        "max_server_cpu_cores": sat_cpu(kefu),
        "bare_relay_max_server_cpu_cores": sat_cpu(bare),
        "ws_relay_max_server_cpu_cores": ws.and_then(sat_cpu),
    });
    let uploads = json!({
        "images_per_sec": args.images_per_sec,
        "image_kib": args.image_kib,
        "images_uploaded": kefu.images.as_ref().map(|u| u.uploaded),
        "images_failed": kefu.images.as_ref().map(|u| u.failed),
        "image_upload_p50_ms": kefu.images.as_ref().map(|u| u.latency.p50),
        "image_upload_p99_ms": kefu.images.as_ref().map(|u| u.latency.p99),
    });
    for part in [peer, probe, uploads, saturated] {
        if let (Some(all), serde_json::Value::Object(part)) = (value.as_object_mut(), part) {
            all.extend(part);
        }
    }
    if args.json {
        println!("{value}");
        return;
    }
    println!();
    let third = |f: &dyn Fn(&Run) -> f64| ws.map_or(String::new(), |w| format!(" {:>14.2}", f(w)));
    println!("{:<38} {:>14} {:>14}{}", "", "kefu", "bare relay", if ws.is_some() { "         npm ws" } else { "" });
    let row =
        |name: &str, f: &dyn Fn(&Run) -> f64| println!("{name:<38} {:>14.2} {:>14.2}{}", f(kefu), f(bare), third(f));
    row("open-loop msgs/s", &|r| r.open.msgs_per_sec);
    row("ack p50 ms", &|r| r.open.ack.p50);
    row("ack p99 ms", &|r| r.open.ack.p99);
    row("ack p999 ms", &|r| r.open.ack.p999);
    row("relay p50 ms", &|r| r.open.relay.p50);
    row("relay p99 ms", &|r| r.open.relay.p99);
    row("relay p999 ms", &|r| r.open.relay.p999);
    row("lost", &|r| r.open.lost as f64);
    row("server CPU (cores)", &|r| r.open.server_cpu);
    row("disk sync p99 ms (probe beside)", &|r| r.disk.p99);
    row("disk sync max ms (probe beside)", &|r| r.disk.max);
    row("RSS per idle socket KiB", &|r| r.rss_per_idle_socket_kib);
    row("handshakes/s", &|r| r.handshakes_per_sec);
    if sat(kefu).is_some() {
        row("saturated msgs/s", &|r| sat(r).unwrap_or(0.0));
        row("saturated server CPU (cores)", &|r| sat_cpu(r).unwrap_or(0.0));
    }
    let storm = |r: &Run, f: &dyn Fn(&Outcome, &load::Storm) -> f64| r.storm.as_ref().map_or(0.0, |(o, s)| f(o, s));
    if kefu.storm.is_some() {
        row("storm: seconds to reconnect all idle", &|r| storm(r, &|_, s| s.seconds));
        row("storm: handshakes/s", &|r| storm(r, &|_, s| s.handshakes_per_sec));
        row("storm: messages resumed", &|r| storm(r, &|_, s| s.resumed_messages as f64));
        row("storm: relay p99 ms meanwhile", &|r| storm(r, &|o, _| o.relay.p99));
    }
    if let Some(r) = ratio {
        println!("\nkefu saturated throughput = {:.0}% of the bare relay", r * 100.0);
    }
    if let Some(r) = ws.and_then(ratio_to) {
        println!("kefu saturated throughput = {:.0}% of the npm ws relay", r * 100.0);
    }
}
