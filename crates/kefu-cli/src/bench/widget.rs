//! `kefu bench widget`: what every shopper's widget asks on 双11 night, each
//! against the direct way on the same store in the same run:
//!
//! - when it opens (`POST /api/widget/session`): is a person online? kefu
//!   reads one row (`Store::someone_online`); the direct way reads the team
//!   with its loads (`Store::agents_of_shop`), as the widget did before;
//! - while it waits (`GET /api/widget/queue`, every 8 s): where do I stand
//!   (前面还有 N 位)? kefu answers from `queue::QueueBoard` (each shop's
//!   queue read at most every 2 s, once for everyone asking); the direct way
//!   reads the shop's queue per ask.

use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use hdrhistogram::Histogram;
use kefu_core::agent::{Agent, AgentStatus, Role, Username};
use kefu_core::clock::Timestamp;
use kefu_core::id::{AgentId, ConversationId, ShopId};
use kefu_core::store::Store;
use kefu_server::queue::QueueBoard;
use serde_json::json;

use super::store::seed;

#[derive(clap::Args, Clone, Debug)]
pub struct WidgetArgs {
    /// Conversations waiting in the shop's queue.
    #[arg(long, default_value_t = 5000)]
    pub queued: usize,
    /// Agents of the shop (a third of them online, the rest away or offline).
    #[arg(long, default_value_t = 200)]
    pub agents: usize,
    /// Asks timed per way.
    #[arg(long, default_value_t = 20_000)]
    pub asks: usize,
    /// Asks in flight at once (widgets asking together).
    #[arg(long, default_value_t = 64)]
    pub in_flight: usize,
    /// Measure on this PostgreSQL server instead (a schema of its own, dropped after).
    #[arg(long)]
    pub database_url: Option<String>,
    #[arg(long)]
    pub json: bool,
}

/// Asks `asks` times, `in_flight` at once: (asks/s, latency histogram in µs).
async fn drive<F, Fut>(
    args: &WidgetArgs,
    convs: &Arc<Vec<ConversationId>>,
    ask: F,
) -> anyhow::Result<(f64, Histogram<u64>)>
where
    F: Fn(ConversationId) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = anyhow::Result<u32>> + Send,
{
    let started = Instant::now();
    let mut tasks = Vec::new();
    for t in 0..args.in_flight {
        let (ask, convs) = (ask.clone(), convs.clone());
        let n = args.asks / args.in_flight + usize::from(t < args.asks % args.in_flight);
        tasks.push(tokio::spawn(async move {
            let mut h = Histogram::<u64>::new(3)?;
            for i in 0..n {
                let conv = convs[(t * 7919 + i * 104_729) % convs.len()];
                let at = Instant::now();
                ask(conv).await?;
                h.record(at.elapsed().as_micros() as u64)?;
            }
            anyhow::Ok(h)
        }));
    }
    let mut all = Histogram::<u64>::new(3)?;
    for t in tasks {
        all.add(t.await??)?;
    }
    Ok((args.asks as f64 / started.elapsed().as_secs_f64(), all))
}

pub async fn run(args: WidgetArgs) -> anyhow::Result<()> {
    anyhow::ensure!(args.queued > 0 && args.asks > 0 && args.in_flight > 0, "counts must be positive");
    let dir = std::env::temp_dir().join(format!("kefu-bench-widget-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    eprintln!("seeding {} queued conversations and {} agents…", args.queued, args.agents);
    let schema = format!("bench_widget_{}", std::process::id());
    let backend = match &args.database_url {
        Some(url) => kefu_store::Backend::Postgres {
            url: url.clone(),
            schema: Some(schema.clone()),
            pool_size: args.in_flight.clamp(1, 64),
        },
        None => kefu_store::Backend::Sqlite { path: dir.join("kefu.db"), durability: kefu_store::Durability::Normal },
    };
    let seeded = seed(&backend, args.queued).await?;
    let store: Arc<dyn Store> = seeded.store.clone();
    let shop = store.conversation(seeded.conversations[0]).await?.context("seeded conversation")?.shop_id;
    seed_agents(&store, shop, args.agents).await?;
    let convs = Arc::new(seeded.conversations.clone());

    let mut rows = Vec::new();
    eprintln!("someone online? {} asks, {} in flight, each way…", args.asks, args.in_flight);
    let s = store.clone();
    let ours = drive(&args, &convs, move |_| {
        let s = s.clone();
        async move { Ok(u32::from(s.someone_online(shop).await?)) }
    })
    .await?;
    let s = store.clone();
    let direct = drive(&args, &convs, move |_| {
        let s = s.clone();
        async move {
            let team = s.agents_of_shop(shop).await?;
            Ok(u32::from(
                team.iter().any(|l| l.agent.status == AgentStatus::Online && l.agent.role.handles_conversations()),
            ))
        }
    })
    .await?;
    rows.push(("online", "Store::someone_online (kefu)", "the team with its loads", ours, direct));

    eprintln!("where do I stand? {} asks, {} in flight, each way…", args.asks, args.in_flight);
    let board = Arc::new(QueueBoard::default());
    let (b, s) = (board.clone(), store.clone());
    let ours = drive(&args, &convs, move |c| {
        let (b, s) = (b.clone(), s.clone());
        async move { Ok(b.standing(s.as_ref(), shop, c).await?.ahead) }
    })
    .await?;
    let s = store.clone();
    let direct = drive(&args, &convs, move |c| {
        let s = s.clone();
        async move { ahead_by_reading(s.as_ref(), shop, c).await }
    })
    .await?;
    rows.push(("queue", "QueueBoard (kefu)", "a queue read per ask", ours, direct));
    drop(seeded);
    drop(store);
    let _ = std::fs::remove_dir_all(&dir);
    let backend_name = super::target::drop_scratch(args.database_url.as_deref(), &schema)?;

    let ms = |h: &Histogram<u64>, q: f64| h.value_at_quantile(q) as f64 / 1000.0;
    if args.json {
        let mut v = json!({ "backend": backend_name, "queued": args.queued, "agents": args.agents, "asks": args.asks, "in_flight": args.in_flight });
        for (key, _, _, (ours, oh), (direct, dh)) in &rows {
            v[format!("{key}_asks_per_sec")] = json!(ours);
            v[format!("{key}_p99_ms")] = json!(ms(oh, 0.99));
            v[format!("{key}_direct_asks_per_sec")] = json!(direct);
            v[format!("{key}_direct_p99_ms")] = json!(ms(dh, 0.99));
            v[format!("{key}_ratio_vs_direct")] = json!(ours / direct);
        }
        println!("{v}");
    } else {
        println!(
            "{} queued, {} agents, {} asks, {} in flight ({backend_name})",
            args.queued, args.agents, args.asks, args.in_flight
        );
        println!("{:<34} {:>12} {:>10} {:>10}", "", "asks/s", "p50 ms", "p99 ms");
        for (_, ours_name, direct_name, (ours, oh), (direct, dh)) in &rows {
            for (name, rate, h) in [(ours_name, ours, oh), (direct_name, direct, dh)] {
                println!("{:<34} {:>12.0} {:>10.3} {:>10.3}", name, rate, ms(h, 0.5), ms(h, 0.99));
            }
            println!("{:<34} {:>11.1}×", "ratio", ours / direct);
        }
    }
    Ok(())
}

/// `n` agents of the shop: a third online, the others away or offline.
pub(super) async fn seed_agents(store: &Arc<dyn Store>, shop: ShopId, n: usize) -> anyhow::Result<()> {
    let statuses = [AgentStatus::Offline, AgentStatus::Away, AgentStatus::Online];
    for i in 0..n {
        store
            .create_agent(&Agent {
                id: AgentId::from_uuid(uuid::Uuid::now_v7()),
                username: Username::parse(&format!("bench-agent-{i}"))?,
                display_name: format!("客服{i}"),
                password_hash: String::new(),
                role: Role::Agent,
                shops: vec![shop],
                skill_groups: vec![],
                max_concurrent: 10,
                status: statuses[i % 3],
                created_at: Timestamp(0),
                disabled: false,
            })
            .await?;
    }
    Ok(())
}

/// The direct way: read the shop's queue and find the conversation in it.
async fn ahead_by_reading(store: &dyn Store, shop: ShopId, conversation: ConversationId) -> anyhow::Result<u32> {
    let queue = store.queue_of_shop(shop, 5000).await?;
    let len = u32::try_from(queue.len()).unwrap_or(u32::MAX);
    Ok(queue.iter().position(|q| q.id == conversation).map_or(len, |p| p as u32))
}
