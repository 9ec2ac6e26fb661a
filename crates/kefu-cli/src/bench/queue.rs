//! `kefu bench queue`: where waiting shoppers stand (前面还有 N 位). On
//! 双11 night thousands of shoppers wait at once and each widget asks every
//! 8 s. kefu answers from `queue::QueueBoard` (each shop's queue read at
//! most every 2 s, once for everyone asking); the peer is the direct way, a
//! read of the shop's queue per ask, on the same store in the same run.

use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use hdrhistogram::Histogram;
use kefu_core::id::{ConversationId, ShopId};
use kefu_core::store::Store;
use kefu_server::queue::QueueBoard;
use serde_json::json;

use super::store::seed;

#[derive(clap::Args, Clone, Debug)]
pub struct QueueArgs {
    /// Conversations waiting in the shop's queue.
    #[arg(long, default_value_t = 5000)]
    pub queued: usize,
    /// Asks timed per way.
    #[arg(long, default_value_t = 20_000)]
    pub asks: usize,
    /// Asks in flight at once (widgets asking together).
    #[arg(long, default_value_t = 64)]
    pub in_flight: usize,
    #[arg(long)]
    pub json: bool,
}

/// Asks `asks` times, `in_flight` at once: (asks/s, latency histogram in µs).
async fn drive<F, Fut>(
    args: &QueueArgs,
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

pub async fn run(args: QueueArgs) -> anyhow::Result<()> {
    anyhow::ensure!(args.queued > 0 && args.asks > 0 && args.in_flight > 0, "counts must be positive");
    let dir = std::env::temp_dir().join(format!("kefu-bench-queue-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    eprintln!("seeding {} queued conversations…", args.queued);
    let backend = kefu_store::Backend::Sqlite { path: dir.join("kefu.db"), durability: kefu_store::Durability::Normal };
    let seeded = seed(&backend, args.queued).await?;
    let store: Arc<dyn Store> = seeded.store.clone();
    let shop = store.conversation(seeded.conversations[0]).await?.context("seeded conversation")?.shop_id;
    let convs = Arc::new(seeded.conversations.clone());

    eprintln!("QueueBoard: {} asks, {} in flight…", args.asks, args.in_flight);
    let board = Arc::new(QueueBoard::default());
    let (b, s) = (board.clone(), store.clone());
    let (board_rate, board_h) = drive(&args, &convs, move |c| {
        let (b, s) = (b.clone(), s.clone());
        async move { Ok(b.ahead(s.as_ref(), shop, c).await?) }
    })
    .await?;
    eprintln!("a read of the queue per ask: {} asks, {} in flight…", args.asks, args.in_flight);
    let s = store.clone();
    let (read_rate, read_h) = drive(&args, &convs, move |c| {
        let s = s.clone();
        async move { ahead_by_reading(s.as_ref(), shop, c).await }
    })
    .await?;
    drop(seeded);
    drop(store);
    let _ = std::fs::remove_dir_all(&dir);

    let ms = |h: &Histogram<u64>, q: f64| h.value_at_quantile(q) as f64 / 1000.0;
    if args.json {
        println!(
            "{}",
            json!({
                "queued": args.queued, "asks": args.asks, "in_flight": args.in_flight,
                "board_asks_per_sec": board_rate, "board_p50_ms": ms(&board_h, 0.5), "board_p99_ms": ms(&board_h, 0.99),
                "read_asks_per_sec": read_rate, "read_p50_ms": ms(&read_h, 0.5), "read_p99_ms": ms(&read_h, 0.99),
                "ratio_vs_read": board_rate / read_rate,
            })
        );
    } else {
        println!("{} queued, {} asks, {} in flight (SQLite)", args.queued, args.asks, args.in_flight);
        println!("{:<28} {:>12} {:>10} {:>10}", "", "asks/s", "p50 ms", "p99 ms");
        println!(
            "{:<28} {:>12.0} {:>10.3} {:>10.3}",
            "QueueBoard (kefu)",
            board_rate,
            ms(&board_h, 0.5),
            ms(&board_h, 0.99)
        );
        println!(
            "{:<28} {:>12.0} {:>10.3} {:>10.3}",
            "a queue read per ask",
            read_rate,
            ms(&read_h, 0.5),
            ms(&read_h, 0.99)
        );
        println!("ratio: {:.1}×", board_rate / read_rate);
    }
    Ok(())
}

/// The direct way: read the shop's queue and find the conversation in it.
async fn ahead_by_reading(store: &dyn Store, shop: ShopId, conversation: ConversationId) -> anyhow::Result<u32> {
    let queue = store.queue_of_shop(shop, 5000).await?;
    let len = u32::try_from(queue.len()).unwrap_or(u32::MAX);
    Ok(queue.iter().position(|c| *c == conversation).map_or(len, |p| p as u32))
}
