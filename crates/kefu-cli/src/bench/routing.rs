//! `kefu bench routing`: closings on a busy night under auto-assign, every
//! agent full and shoppers queued. Each closing frees a place and the agent
//! takes the next shopper waiting for them (`desk::take_waiting`: their
//! record read again, then `Store::take_next_queued`, one write); the direct
//! way does only the two writes the desk needs — close, then assign the next
//! queued shopper to the agent who closed — knowing both without reading
//! anything. Same store, same run, one after the other; and, for scale, the
//! sweep's shop-wide fill (`desk::fill_from_queue`: the queue's front, the
//! team with its loads, the assignment) after each closing.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use anyhow::Context;
use hdrhistogram::Histogram;
use kefu_core::clock::{Clock, SystemClock};
use kefu_core::desk;
use kefu_core::id::{AgentId, ConversationId, ShopId};
use kefu_core::store::Store;
use serde_json::json;

use super::store::seed;
use super::widget::seed_agents;

#[derive(clap::Args, Clone, Debug)]
pub struct RoutingArgs {
    /// Shoppers queued at the start, besides the ones the agents hold.
    #[arg(long, default_value_t = 5000)]
    pub queued: usize,
    /// Agents of the shop (a third online, each holding 10).
    #[arg(long, default_value_t = 200)]
    pub agents: usize,
    /// Closings timed per way.
    #[arg(long, default_value_t = 1500)]
    pub closings: usize,
    /// Closings in flight at once (agents finishing together).
    #[arg(long, default_value_t = 8)]
    pub in_flight: usize,
    /// Measure on this PostgreSQL server instead (a schema of its own, dropped after).
    #[arg(long)]
    pub database_url: Option<String>,
    #[arg(long)]
    pub json: bool,
}

/// Who holds what, and who waits, as the run moves on.
struct Desk {
    held: Mutex<VecDeque<(ConversationId, AgentId)>>,
    waiting: Mutex<VecDeque<ConversationId>>,
}

/// One closing each way: (the conversation closed, its agent) → what it took.
async fn drive<F, Fut>(args: &RoutingArgs, desk: &Arc<Desk>, close: F) -> anyhow::Result<(f64, Histogram<u64>)>
where
    F: Fn((ConversationId, AgentId)) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = anyhow::Result<()>> + Send,
{
    let started = Instant::now();
    let mut tasks = Vec::new();
    for t in 0..args.in_flight {
        let (close, desk) = (close.clone(), desk.clone());
        let n = args.closings / args.in_flight + usize::from(t < args.closings % args.in_flight);
        tasks.push(tokio::spawn(async move {
            let mut h = Histogram::<u64>::new(3)?;
            for _ in 0..n {
                let next = desk.held.lock().unwrap_or_else(|e| e.into_inner()).pop_front();
                let next = next.context("nobody holds a conversation")?;
                let at = Instant::now();
                close(next).await?;
                h.record(at.elapsed().as_micros() as u64)?;
            }
            anyhow::Ok(h)
        }));
    }
    let mut all = Histogram::<u64>::new(3)?;
    for t in tasks {
        all.add(t.await??)?;
    }
    Ok((args.closings as f64 / started.elapsed().as_secs_f64(), all))
}

pub async fn run(args: RoutingArgs) -> anyhow::Result<()> {
    anyhow::ensure!(args.agents >= 3 && args.closings > 0 && args.in_flight > 0, "counts must be positive");
    let online = args.agents.div_ceil(3);
    // Each way's closings take a queued shopper each; keep some waiting at the end.
    let wanted = online * 10 + 3 * args.closings + 100;
    anyhow::ensure!(args.queued >= wanted - online * 10, "--queued must be at least {}", wanted - online * 10);
    let dir = std::env::temp_dir().join(format!("kefu-bench-routing-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let schema = format!("bench_routing_{}", std::process::id());
    let backend = match &args.database_url {
        Some(url) => kefu_store::Backend::Postgres {
            url: url.clone(),
            schema: Some(schema.clone()),
            pool_size: (args.in_flight * 2).clamp(2, 64),
        },
        None => kefu_store::Backend::Sqlite { path: dir.join("kefu.db"), durability: kefu_store::Durability::Normal },
    };
    eprintln!("seeding {} conversations and {} agents…", args.queued + online * 10, args.agents);
    let seeded = seed(&backend, args.queued + online * 10).await?;
    let store: Arc<dyn Store> = seeded.store.clone();
    let shop: ShopId = store.conversation(seeded.conversations[0]).await?.context("seeded conversation")?.shop_id;
    seed_agents(&store, shop, args.agents).await?;
    let ctx =
        crate::app::context(store.clone(), kefu_core::routing::Routing { auto_assign: true, offer_ms: None }, false);
    // Every agent online full, the rest queued.
    let first = desk::fill_from_queue(&ctx, shop).await?;
    let desk = Arc::new(Desk {
        held: Mutex::new(first.iter().filter_map(|c| Some((c.id, c.assigned_agent?))).collect()),
        waiting: Mutex::new(
            store
                .queue_of_shop(shop, u32::try_from(args.queued).unwrap_or(u32::MAX))
                .await?
                .iter()
                .map(|q| q.id)
                .collect(),
        ),
    });
    anyhow::ensure!(desk.held.lock().map(|h| h.len()).unwrap_or(0) >= args.in_flight, "too few agents online");

    eprintln!("{} closings, {} in flight, the queue handed out by kefu…", args.closings, args.in_flight);
    let (c, d) = (ctx.clone(), desk.clone());
    let ours = drive(&args, &desk, move |(conv, agent)| {
        let (c, d) = (c.clone(), d.clone());
        async move {
            c.store.close_conversation(conv, c.clock.now()).await?;
            let handed = desk::take_waiting(&c, agent, &[shop], 1).await;
            let mut held = d.held.lock().unwrap_or_else(|e| e.into_inner());
            held.extend(handed.iter().filter_map(|h| Some((h.id, h.assigned_agent?))));
            Ok(())
        }
    })
    .await?;
    eprintln!("{} closings, {} in flight, the sweep's fill after each…", args.closings, args.in_flight);
    let (c, d) = (ctx.clone(), desk.clone());
    let sweep = drive(&args, &desk, move |(conv, _)| {
        let (c, d) = (c.clone(), d.clone());
        async move {
            c.store.close_conversation(conv, c.clock.now()).await?;
            let handed = desk::fill_from_queue(&c, shop).await?;
            let mut held = d.held.lock().unwrap_or_else(|e| e.into_inner());
            // Two fills at once may both hand the same shopper to the same agent (the store
            // answers the second with the first's assignment): held once.
            for h in &handed {
                if let Some(agent) = h.assigned_agent.filter(|_| !held.iter().any(|(c, _)| *c == h.id)) {
                    held.push_back((h.id, agent));
                }
            }
            Ok(())
        }
    })
    .await?;
    // The direct way hands out what is still queued, front first.
    let left: VecDeque<ConversationId> =
        store.queue_of_shop(shop, u32::try_from(args.queued).unwrap_or(u32::MAX)).await?.iter().map(|q| q.id).collect();
    *desk.waiting.lock().unwrap_or_else(|e| e.into_inner()) = left;
    eprintln!("{} closings, {} in flight, the direct way (two writes, no reads)…", args.closings, args.in_flight);
    let (s, d) = (store.clone(), desk.clone());
    let direct = drive(&args, &desk, move |(conv, agent)| {
        let (s, d) = (s.clone(), d.clone());
        async move {
            let now = SystemClock.now();
            s.close_conversation(conv, now).await?;
            let next = d.waiting.lock().unwrap_or_else(|e| e.into_inner()).pop_front().context("queue empty")?;
            let taken = s.assign_conversation(next, agent, 10, now, None).await?;
            d.held.lock().unwrap_or_else(|e| e.into_inner()).push_back((taken.id, agent));
            Ok(())
        }
    })
    .await?;
    drop(ctx);
    drop(seeded);
    drop(store);
    let _ = std::fs::remove_dir_all(&dir);
    let backend_name = super::target::drop_scratch(args.database_url.as_deref(), &schema)?;

    let ms = |h: &Histogram<u64>, q: f64| h.value_at_quantile(q) as f64 / 1000.0;
    let ((ours, oh), (direct, dh), (swept, sh)) = (ours, direct, sweep);
    if args.json {
        println!(
            "{}",
            json!({
                "backend": backend_name, "queued": args.queued, "agents": args.agents, "online": online,
                "closings": args.closings, "in_flight": args.in_flight,
                "closings_per_sec": ours, "p50_ms": ms(&oh, 0.5), "p99_ms": ms(&oh, 0.99),
                "direct_closings_per_sec": direct, "direct_p50_ms": ms(&dh, 0.5), "direct_p99_ms": ms(&dh, 0.99),
                "ratio_vs_direct": ours / direct,
                "sweep_fill_closings_per_sec": swept, "sweep_fill_p99_ms": ms(&sh, 0.99),
            })
        );
    } else {
        println!(
            "{} queued, {} agents ({online} online, 10 each), {} closings, {} in flight ({backend_name})",
            args.queued, args.agents, args.closings, args.in_flight
        );
        println!("{:<44} {:>12} {:>10} {:>10}", "", "closings/s", "p50 ms", "p99 ms");
        for (name, rate, h) in [
            ("kefu: close + take_waiting", ours, &oh),
            ("direct: close + assign the next", direct, &dh),
            ("the sweep's fill_from_queue instead", swept, &sh),
        ] {
            println!("{:<44} {:>12.0} {:>10.3} {:>10.3}", name, rate, ms(h, 0.5), ms(h, 0.99));
        }
        println!("{:<44} {:>11.2}×", "ratio", ours / direct);
    }
    Ok(())
}
