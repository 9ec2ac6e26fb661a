//! `kefu bench history` (BENCHMARKS.md S7, second half): the desk's read
//! paths on a SQLite (or, with `--database-url`, PostgreSQL) store holding a year of history — by default 1M
//! conversations and 20M messages — measured through the `Store` verbs the
//! API calls, so the figures are what an agent's screen waits for.
//!
//! Seeding goes around the store (one raw transaction per 200k rows with
//! synchronous=OFF) because appending 20M messages one by one would take
//! longer than everything measured; the store's own migrations create the
//! schema first, and the store reopens the file for the queries. Message ids
//! are time-ordered, as UUIDv7 are in production.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use hdrhistogram::Histogram;
use kefu_core::clock::Timestamp;
use kefu_core::conversation::ConversationStatus;
use kefu_core::customer::{Customer, Tier};

use super::store::bench_customer;
use super::target::psql;
use kefu_core::id::{ConversationId, CustomerId, ShopId};
use kefu_core::shop::{Shop, ShopSecret, ShopSlug};
use kefu_core::store::{ConversationFilter, Store};
use serde_json::json;

const LINES: [&str; 6] = [
    "亲，我的订单什么时候发货？急用",
    "您好，这边帮您查询一下，请稍等",
    "快递三天了还没到，能帮我催一下吗",
    "已经帮您联系仓库加急处理了",
    "好的谢谢",
    "不客气，祝您购物愉快",
];

#[derive(clap::Args, Clone, Debug)]
pub struct HistoryArgs {
    #[arg(long, default_value_t = 1_000_000)]
    pub conversations: usize,
    #[arg(long, default_value_t = 20)]
    pub messages_per_conversation: usize,
    /// Conversations per customer (their history panel shows these).
    #[arg(long, default_value_t = 5)]
    pub per_customer: usize,
    /// Queries timed per kind.
    #[arg(long, default_value_t = 2000)]
    pub queries: usize,
    /// Keep the seeded database here (and reuse it when it is already there).
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Measure the PostgreSQL store on this server instead (schema `bench_history`,
    /// kept and reused like `--dir`).
    #[arg(long)]
    pub database_url: Option<String>,
    #[arg(long)]
    pub json: bool,
}

fn id(n: u128) -> uuid::Uuid {
    uuid::Uuid::from_u128(0x6b65_6675_0000_0000_0000_0000_0000_0000 + n)
}

const SHOP: u128 = 1;
const CUSTOMER_BASE: u128 = 1 << 40;
const CONVERSATION_BASE: u128 = 2 << 40;
const MESSAGE_BASE: u128 = 3 << 40;
/// Conversations left open (bot, queued) at the end of the year, at most
/// one per customer; the rest are closed.
const OPEN: usize = 300;
const YEAR_START_MS: i64 = 1_763_000_000_000;
const PG_SCHEMA: &str = "bench_history";
const DAY_MS: i64 = 86_400_000;

pub async fn run(args: HistoryArgs) -> anyhow::Result<()> {
    anyhow::ensure!(
        args.conversations > 0 && args.messages_per_conversation > 0 && args.per_customer > 0 && args.queries > 0,
        "counts must be positive"
    );
    let customers = args.conversations.div_ceil(args.per_customer);
    let (backend, dir, temporary) = match (&args.database_url, &args.dir) {
        (Some(url), _) => {
            let backend =
                kefu_store::Backend::Postgres { url: url.clone(), schema: Some(PG_SCHEMA.to_owned()), pool_size: 4 };
            (backend, None, false)
        }
        (None, dir) => {
            let (dir, temporary) = match dir {
                Some(d) => (d.clone(), false),
                None => (std::env::temp_dir().join(format!("kefu-bench-history-{}", std::process::id())), true),
            };
            std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
            let path = dir.join("history.db");
            (kefu_store::Backend::Sqlite { path, durability: kefu_store::Durability::Full }, Some(dir), temporary)
        }
    };
    let store = kefu_store::open(&backend).await?;
    let seed_seconds = if store.shop(ShopId::from_uuid(id(SHOP))).await?.is_none() {
        let started = Instant::now();
        seed_customers(store.as_ref(), customers).await?;
        drop(store);
        // Let the store's writer thread let go of the file.
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        let a = args.clone();
        let b = backend.clone();
        tokio::task::spawn_blocking(move || match b {
            kefu_store::Backend::Sqlite { path, .. } => seed_history(&path, &a, customers),
            kefu_store::Backend::Postgres { url, .. } => seed_history_postgres(&url, &a, customers),
        })
        .await??;
        Some(started.elapsed().as_secs_f64())
    } else {
        eprintln!("reusing the seeded history");
        drop(store);
        None
    };
    let store = kefu_store::open(&backend).await?;
    let db_bytes = match &backend {
        kefu_store::Backend::Sqlite { path, .. } => std::fs::metadata(path).map(|m| m.len()).unwrap_or(0),
        kefu_store::Backend::Postgres { .. } => 0,
    };
    let shop = ShopId::from_uuid(id(SHOP));
    let mut rng = 0x9e37_79b9_7f4a_7c15u64;
    let mut pick = |n: usize| {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        (rng % n as u64) as usize
    };

    eprintln!("timing {} queries of each kind…", args.queries);
    let open_statuses = vec![ConversationStatus::Bot, ConversationStatus::Queued, ConversationStatus::Assigned];
    let queue = time(args.queries, || {
        let filter =
            ConversationFilter { shops: vec![shop], statuses: open_statuses.clone(), limit: 100, ..Default::default() };
        let store = store.clone();
        async move { store.conversations(&filter).await.map(|r| r.len()) }
    })
    .await?;
    let closed = time(args.queries, || {
        let filter = ConversationFilter {
            shops: vec![shop],
            statuses: vec![ConversationStatus::Closed],
            limit: 50,
            ..Default::default()
        };
        let store = store.clone();
        async move { store.conversations(&filter).await.map(|r| r.len()) }
    })
    .await?;
    let mut customer_ids = Vec::with_capacity(args.queries);
    for _ in 0..args.queries {
        customer_ids.push(CustomerId::from_uuid(id(CUSTOMER_BASE + pick(customers) as u128)));
    }
    let mut next = customer_ids.iter().copied().cycle();
    let history = time(args.queries, || {
        let customer = next.next().expect("cycle");
        let store = store.clone();
        async move {
            let past = store
                .conversations(&ConversationFilter {
                    shops: vec![shop],
                    statuses: vec![ConversationStatus::Closed],
                    customer: Some(customer),
                    limit: 20,
                    ..Default::default()
                })
                .await?;
            let orders = store.orders_with_shipments(customer, 20).await?;
            Ok(past.len() + orders.len())
        }
    })
    .await?;
    let conversations: Vec<ConversationId> = (0..args.queries)
        .map(|_| ConversationId::from_uuid(id(CONVERSATION_BASE + pick(args.conversations) as u128)))
        .collect();
    let mut next = conversations.iter().copied().cycle();
    let transcript = time(args.queries, || {
        let conversation = next.next().expect("cycle");
        let store = store.clone();
        async move { store.messages_before(conversation, i64::MAX, 50).await.map(|m| m.len()) }
    })
    .await?;
    let searches: Vec<String> = (0..args.queries.min(200)).map(|_| format!("买家{}", pick(customers))).collect();
    let mut next = searches.iter().cloned().cycle();
    let search = time(args.queries.min(200), || {
        let q = next.next().expect("cycle");
        let filter = ConversationFilter {
            shops: vec![shop],
            statuses: open_statuses.clone(),
            search: Some(q),
            limit: 100,
            ..Default::default()
        };
        let store = store.clone();
        async move { store.conversations(&filter).await.map(|r| r.len()) }
    })
    .await?;
    drop(store);
    if let (Some(dir), true) = (dir, temporary) {
        let _ = std::fs::remove_dir_all(dir);
    }

    let ms = |h: &Histogram<u64>, q: f64| h.value_at_quantile(q) as f64 / 1000.0;
    let row =
        |h: &Histogram<u64>| json!({ "p50_ms": ms(h, 0.5), "p99_ms": ms(h, 0.99), "max_ms": h.max() as f64 / 1000.0 });
    let report = json!({
        "backend": if args.database_url.is_some() { "postgres" } else { "sqlite" },
        "conversations": args.conversations,
        "messages": args.conversations * args.messages_per_conversation,
        "customers": customers,
        "database_bytes": db_bytes,
        "seed_seconds": seed_seconds,
        "queue_list": row(&queue),
        "history_tab": row(&closed),
        "customer_history": row(&history),
        "transcript_page": row(&transcript),
        "queue_search": row(&search),
    });
    if args.json {
        println!("{report}");
    } else {
        println!(
            "{} conversations, {} messages, {} customers{}{}",
            args.conversations,
            args.conversations * args.messages_per_conversation,
            customers,
            if db_bytes > 0 { format!(", {:.1} GB", db_bytes as f64 / 1e9) } else { String::new() },
            seed_seconds.map(|s| format!(", seeded in {s:.0} s")).unwrap_or_default()
        );
        for (name, h) in [
            ("queue list (open, 100)", &queue),
            ("history tab (newest closed, 50)", &closed),
            ("customer history (closed 20 + orders)", &history),
            ("transcript page (50 messages)", &transcript),
            ("queue search by nickname", &search),
        ] {
            println!(
                "{name:<40} p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
                ms(h, 0.5),
                ms(h, 0.99),
                h.max() as f64 / 1000.0
            );
        }
    }
    Ok(())
}

/// Runs `n` queries one after another; latency histogram in µs.
async fn time<F, Fut>(n: usize, mut query: F) -> anyhow::Result<Histogram<u64>>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<usize, kefu_core::store::StoreError>>,
{
    let mut hist = Histogram::<u64>::new_with_bounds(1, 600_000_000, 3)?;
    for _ in 0..n {
        let started = Instant::now();
        query().await?;
        hist.record((started.elapsed().as_micros() as u64).max(1))?;
    }
    Ok(hist)
}

async fn seed_customers(store: &dyn Store, customers: usize) -> anyhow::Result<()> {
    let now = Timestamp(YEAR_START_MS);
    store
        .create_shop(&Shop {
            id: ShopId::from_uuid(id(SHOP)),
            slug: ShopSlug::parse("history")?,
            name: "历史压测店铺".into(),
            secret: ShopSecret::new("bench-secret".into()),
            created_at: now,
        })
        .await?;
    eprintln!("seeding {customers} customers…");
    for chunk in (0..customers).collect::<Vec<_>>().chunks(10_000) {
        let batch: Vec<Customer> = chunk
            .iter()
            .map(|&i| {
                let tier = if i % 20 == 0 { Tier::Vip } else { Tier::Normal };
                bench_customer(
                    CustomerId::from_uuid(id(CUSTOMER_BASE + i as u128)),
                    ShopId::from_uuid(id(SHOP)),
                    i,
                    tier,
                    now,
                )
            })
            .collect();
        store.upsert_customers(&batch).await?;
    }
    Ok(())
}

/// Conversations spread over a year, each with its messages, customer and
/// agent turns alternating; the last `OPEN` stay open.
fn seed_history(path: &std::path::Path, args: &HistoryArgs, customers: usize) -> anyhow::Result<()> {
    let c = rusqlite::Connection::open(path)?;
    c.pragma_update(None, "synchronous", "OFF")?;
    c.pragma_update(None, "cache_size", -262_144)?;
    let shop = id(SHOP);
    let total = args.conversations;
    let per = args.messages_per_conversation;
    let bar = indicatif::ProgressBar::new((total * per) as u64);
    bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
    let mut message = 0u128;
    let rows_per_transaction = 200_000 / per.max(1) + 1;
    for start in (0..total).step_by(rows_per_transaction) {
        c.execute_batch("BEGIN")?;
        {
            let mut conv = c.prepare_cached(
                "INSERT INTO conversations (id, shop_id, customer_id, channel, status, assigned_agent, skill_group, priority, tags, csat, last_seq, waiting_since, created_at, updated_at, closed_at) \
                 VALUES (?1, ?2, ?3, 'web', ?4, NULL, NULL, 0, '', ?5, ?6, ?7, ?8, ?9, ?10)",
            )?;
            let mut msg = c.prepare_cached(
                "INSERT INTO messages (conversation_id, seq, id, shop_id, sender_kind, sender_id, kind, text, client_msg_id, created_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'text', ?7, ?8, ?9)",
            )?;
            for i in start..(start + rows_per_transaction).min(total) {
                let conversation = id(CONVERSATION_BASE + i as u128);
                // Customers come back: conversation i belongs to customer i mod customers.
                let customer = id(CUSTOMER_BASE + (i % customers) as u128);
                let created = YEAR_START_MS + (i as i64 * 365 * DAY_MS) / total as i64;
                let open = i >= total - OPEN.min(customers);
                let last = created + per as i64 * 20_000;
                let (status, waiting, closed, csat) = if open {
                    (if i % 2 == 0 { "queued" } else { "bot" }, Some(last), None, None)
                } else {
                    ("closed", None, Some(last), (i % 3 == 0).then_some(4 + (i % 2) as i64))
                };
                conv.execute(rusqlite::params![
                    conversation,
                    shop,
                    customer,
                    status,
                    csat,
                    per as i64,
                    waiting,
                    created,
                    last,
                    closed
                ])?;
                for seq in 1..=per {
                    message += 1;
                    let from_customer = seq % 2 == 1;
                    msg.execute(rusqlite::params![
                        conversation,
                        seq as i64,
                        id(MESSAGE_BASE + message),
                        shop,
                        if from_customer { "customer" } else { "bot" },
                        from_customer.then_some(customer),
                        LINES[seq % LINES.len()],
                        from_customer.then(|| format!("m{message}")),
                        created + seq as i64 * 20_000
                    ])?;
                }
            }
        }
        c.execute_batch("COMMIT")?;
        bar.set_position(((start + rows_per_transaction).min(total) * per) as u64);
    }
    bar.finish_and_clear();
    eprintln!("analysing…");
    c.execute_batch("ANALYZE; PRAGMA wal_checkpoint(TRUNCATE);")?;
    Ok(())
}

/// The same history on PostgreSQL, generated by the server itself
/// (`generate_series`, 50k conversations per statement) through psql.
fn seed_history_postgres(url: &str, args: &HistoryArgs, customers: usize) -> anyhow::Result<()> {
    let (total, per) = (args.conversations, args.messages_per_conversation);
    let open = OPEN.min(customers);
    let lines: Vec<String> = LINES.iter().map(|l| format!("'{l}'")).collect();
    let bar = indicatif::ProgressBar::new((total * per) as u64);
    bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
    const CHUNK: usize = 50_000;
    for start in (0..total).step_by(CHUNK) {
        let end = (start + CHUNK).min(total);
        let sql = format!(
            "SET synchronous_commit = off;
             CREATE OR REPLACE FUNCTION pg_temp.kid(n bigint) RETURNS uuid LANGUAGE sql IMMUTABLE AS
               $$ SELECT ('6b656675' || '00000000' || lpad(to_hex(n), 16, '0'))::uuid $$;
             BEGIN;
             CREATE TEMP TABLE g ON COMMIT DROP AS
               SELECT i, {YEAR_START_MS}::bigint + (i * 365 * {DAY_MS}::bigint) / {total} AS created
               FROM generate_series({start}::bigint, {last}::bigint) i;
             INSERT INTO conversations (id, shop_id, customer_id, channel, status, assigned_agent, skill_group,
                 priority, tags, csat, last_seq, waiting_since, created_at, updated_at, closed_at)
               SELECT pg_temp.kid({cb} + i), pg_temp.kid({shop}), pg_temp.kid({cub} + i % {customers}), 'web',
                 CASE WHEN i >= {first_open} THEN CASE WHEN i % 2 = 0 THEN 'queued' ELSE 'bot' END ELSE 'closed' END,
                 NULL, NULL, 0, '{{}}',
                 CASE WHEN i < {first_open} AND i % 3 = 0 THEN 4 + i % 2 END,
                 {per}, CASE WHEN i >= {first_open} THEN created + {per} * 20000 END,
                 created, created + {per} * 20000, CASE WHEN i < {first_open} THEN created + {per} * 20000 END
               FROM g;
             INSERT INTO messages (conversation_id, seq, id, shop_id, sender_kind, sender_id, kind, text, client_msg_id, created_at)
               SELECT pg_temp.kid({cb} + i), s, pg_temp.kid({mb} + i * {per} + s), pg_temp.kid({shop}),
                 CASE WHEN s % 2 = 1 THEN 'customer' ELSE 'bot' END,
                 CASE WHEN s % 2 = 1 THEN pg_temp.kid({cub} + i % {customers}) END,
                 'text', (ARRAY[{lines}])[s % {n_lines} + 1],
                 CASE WHEN s % 2 = 1 THEN 'm' || (i * {per} + s) END, created + s * 20000
               FROM g, generate_series(1, {per}) s;
             COMMIT;",
            last = end - 1,
            cb = CONVERSATION_BASE,
            cub = CUSTOMER_BASE,
            mb = MESSAGE_BASE,
            shop = SHOP,
            first_open = total - open,
            lines = lines.join(", "),
            n_lines = LINES.len(),
        );
        psql(url, Some(PG_SCHEMA), &[&sql])?;
        bar.set_position((end * per) as u64);
    }
    bar.finish_and_clear();
    psql(url, Some(PG_SCHEMA), &["VACUUM ANALYZE conversations", "VACUUM ANALYZE messages"])
}
