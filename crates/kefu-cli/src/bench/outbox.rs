//! `kefu bench outbox`: what a notification sender's claim costs when one
//! shop's endpoint is dead and its deliveries pile up (双11 night, the
//! merchant's ERP down for an hour: tens of thousands due, all overdue).
//! On SQLite a claim is a write on the one writer the chat commits through,
//! so its cost must not grow with another shop's backlog.
//!
//! Measured on the same database in the same run: kefu's fair claim
//! (`Store::claim_deliveries`: each shop at most its share, the stuck shop
//! already at it) with a quiet outbox and with the backlog, and on SQLite a
//! raw rusqlite claim of the oldest due rows (no fairness: it would hand the
//! stuck shop every slot), the floor a claim cannot go below.

use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use hdrhistogram::Histogram;
use kefu_core::clock::Timestamp;
use kefu_core::id::ShopId;
use kefu_core::outbound::{ClaimRoom, NotifyEvent};
use kefu_core::shop::{Shop, ShopSecret, ShopSlug};
use kefu_core::store::Store;
use serde_json::json;

#[derive(clap::Args, Clone, Debug)]
pub struct OutboxArgs {
    /// Deliveries due for the shop whose endpoint is dead.
    #[arg(long, default_value_t = 50_000)]
    pub backlog: usize,
    /// Other shops, each with deliveries due.
    #[arg(long, default_value_t = 20)]
    pub shops: usize,
    /// Claims timed per phase.
    #[arg(long, default_value_t = 500)]
    pub claims: usize,
    /// Measure on this PostgreSQL server instead (a schema of its own, dropped after).
    #[arg(long)]
    pub database_url: Option<String>,
    #[arg(long)]
    pub json: bool,
}

const SLOTS: u32 = 16;
const PER_SHOP: u32 = 4;
const T0: Timestamp = Timestamp(1_795_320_000_000);

pub async fn run(args: OutboxArgs) -> anyhow::Result<()> {
    anyhow::ensure!(args.claims > 0 && args.shops > 0, "counts must be positive");
    let dir = std::env::temp_dir().join(format!("kefu-bench-outbox-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let db = dir.join("kefu.db");
    let schema = format!("bench_outbox_{}", std::process::id());
    let backend = match &args.database_url {
        Some(url) => kefu_store::Backend::Postgres { url: url.clone(), schema: Some(schema.clone()), pool_size: 16 },
        None => kefu_store::Backend::Sqlite { path: db.clone(), durability: kefu_store::Durability::Normal },
    };
    let store: Arc<dyn Store> = kefu_store::open(&backend).await?;
    let stuck = shop(&store, "stuck").await?;
    let mut others = Vec::new();
    for i in 0..args.shops {
        let s = shop(&store, &format!("shop-{i}")).await?;
        for k in 0..2 {
            store.queue_delivery(s, NotifyEvent::Ping, None, T0.plus_millis(-k)).await?;
        }
        others.push(s);
    }
    let raw = args.database_url.is_none();

    eprintln!("quiet outbox: {} claims each way…", args.claims);
    let quiet = claims(&store, &args, stuck).await?;
    let raw_quiet = if raw { Some(raw_claims(&db, &args)?) } else { None };

    eprintln!("queueing a backlog of {} for one shop…", args.backlog);
    let mut queued = 0;
    while queued < args.backlog {
        let n = (args.backlog - queued).min(256);
        // Older than everyone else's: an oldest-first claim would serve only them.
        let writes = (queued..queued + n).map(|i| {
            let at = T0.plus_millis(-3_600_000 + i64::try_from(i).unwrap_or(0));
            store.queue_delivery(stuck, NotifyEvent::RequestFiled, None, at)
        });
        for r in futures_util::future::join_all(writes).await {
            r?;
        }
        queued += n;
    }
    eprintln!("with the backlog: {} claims each way…", args.claims);
    let backlog = claims(&store, &args, stuck).await?;
    let raw_backlog = if raw { Some(raw_claims(&db, &args)?) } else { None };
    drop(store);
    let _ = std::fs::remove_dir_all(&dir);
    let backend_name = super::target::drop_scratch(args.database_url.as_deref(), &schema)?;

    let ms = |h: &Histogram<u64>, q: f64| h.value_at_quantile(q) as f64 / 1000.0;
    let rows = [
        ("quiet", "kefu claim, quiet outbox", Some(&quiet)),
        ("backlog", "kefu claim, with the backlog", Some(&backlog)),
        ("raw_quiet", "raw oldest-first claim, quiet", raw_quiet.as_ref()),
        ("raw_backlog", "raw oldest-first claim, backlog", raw_backlog.as_ref()),
    ];
    if args.json {
        let mut v =
            json!({ "backend": backend_name, "backlog": args.backlog, "shops": args.shops, "claims": args.claims });
        for (key, _, m) in &rows {
            if let Some((rate, h, taken)) = m {
                v[format!("{key}_claims_per_sec")] = json!(rate);
                v[format!("{key}_p99_ms")] = json!(ms(h, 0.99));
                v[format!("{key}_taken_per_claim")] = json!(taken);
            }
        }
        v["backlog_vs_quiet"] = json!(backlog.0 / quiet.0);
        if let (Some(rq), Some(rb)) = (&raw_quiet, &raw_backlog) {
            v["quiet_ratio_vs_raw"] = json!(quiet.0 / rq.0);
            v["backlog_ratio_vs_raw"] = json!(backlog.0 / rb.0);
        }
        println!("{v}");
    } else {
        println!(
            "{} due for a dead endpoint, {} other shops, {} claims per way ({backend_name})",
            args.backlog, args.shops, args.claims
        );
        println!("{:<36} {:>10} {:>9} {:>9} {:>8}", "", "claims/s", "p50 ms", "p99 ms", "taken");
        for (_, name, m) in &rows {
            if let Some((rate, h, taken)) = m {
                println!("{:<36} {:>10.0} {:>9.3} {:>9.3} {:>8.1}", name, rate, ms(h, 0.5), ms(h, 0.99), taken);
            }
        }
        println!("{:<36} {:>9.2}×", "kefu with the backlog / quiet", backlog.0 / quiet.0);
    }
    Ok(())
}

async fn shop(store: &Arc<dyn Store>, slug: &str) -> anyhow::Result<ShopId> {
    let shop = Shop {
        id: ShopId::from_uuid(uuid::Uuid::now_v7()),
        slug: ShopSlug::parse(slug)?,
        name: slug.into(),
        secret: ShopSecret::new("bench-secret".into()),
        created_at: T0,
    };
    store.create_shop(&shop).await?;
    Ok(shop.id)
}

/// Claims with the lease ending at once (`until == now`), so every claim
/// finds the same rows due: (claims/s, latency in µs, deliveries taken per claim).
async fn claims(
    store: &Arc<dyn Store>,
    args: &OutboxArgs,
    stuck: ShopId,
) -> anyhow::Result<(f64, Histogram<u64>, f64)> {
    let mut h = Histogram::<u64>::new(3)?;
    let mut taken = 0usize;
    let started = Instant::now();
    for _ in 0..args.claims {
        // The dead endpoint's shop already holds its share of the slots.
        let room = ClaimRoom { total: SLOTS - PER_SHOP, per_shop: PER_SHOP, busy: vec![(stuck, PER_SHOP)] };
        let at = Instant::now();
        taken += store.claim_deliveries(T0, T0, room).await?.len();
        h.record(at.elapsed().as_micros() as u64)?;
    }
    Ok((args.claims as f64 / started.elapsed().as_secs_f64(), h, taken as f64 / args.claims as f64))
}

/// The floor: rusqlite claiming the oldest due rows, no shop considered.
fn raw_claims(db: &std::path::Path, args: &OutboxArgs) -> anyhow::Result<(f64, Histogram<u64>, f64)> {
    let conn = rusqlite::Connection::open(db)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    let mut statement = conn.prepare(&format!(
        "UPDATE deliveries SET next_at = ?2 WHERE id IN \
           (SELECT id FROM deliveries WHERE state = 'pending' AND next_at <= ?1 ORDER BY next_at LIMIT {}) \
         RETURNING id",
        SLOTS - PER_SHOP
    ))?;
    let mut h = Histogram::<u64>::new(3)?;
    let mut taken = 0usize;
    let started = Instant::now();
    for _ in 0..args.claims {
        let at = Instant::now();
        taken += statement.query_map(rusqlite::params![T0.millis(), T0.millis()], |r| r.get::<_, Vec<u8>>(0))?.count();
        h.record(at.elapsed().as_micros() as u64)?;
    }
    Ok((args.claims as f64 / started.elapsed().as_secs_f64(), h, taken as f64 / args.claims as f64))
}
