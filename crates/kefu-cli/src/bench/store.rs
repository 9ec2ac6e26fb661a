//! `kefu bench store` (BENCHMARKS.md S7): durable message ingest through
//! `Store::append_message` (SQLite, group commit) against a raw rusqlite
//! insert loop on the same schema with the same settings, in the same run.
//!
//! Ours: `in_flight` tasks append to `conversations` conversations, each
//! append a full store verb (read the conversation, check the client id,
//! insert, move the counters), answered after its group commits. Raw: one
//! thread, prepared statements, the same INSERT and UPDATE per message, one
//! transaction per `batch` messages — what a hand-written ingest loop would do.
//!
//! With `--database-url postgres://…` it measures the PostgreSQL store instead,
//! against `pgbench` (single-row INSERT transactions into the same table in a
//! schema of its own, as many clients as appends in flight) in the same run.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use anyhow::Context;
use hdrhistogram::Histogram;
use kefu_core::clock::{Clock, SystemClock, Timestamp};
use kefu_core::conversation::{
    ClientMsgId, Conversation, ConversationStatus, MessageKind, MessageText, NewMessage, Sender,
};
use kefu_core::customer::{Customer, Tier};
use kefu_core::id::{AgentId, ConversationId, CustomerId, IdGen, MessageId, ShopId, UuidV7};
use kefu_core::money::Fen;
use kefu_core::shop::{Shop, ShopSecret, ShopSlug};
use kefu_core::store::Store;
use serde_json::json;

use super::target::psql;

const TEXT: &str = "亲，我的订单什么时候发货？急用";

#[derive(clap::Args, Clone, Debug)]
pub struct StoreArgs {
    #[arg(long, default_value_t = 1000)]
    pub conversations: usize,
    #[arg(long, default_value_t = 100_000)]
    pub messages: usize,
    /// Appends in flight at once (concurrent senders).
    #[arg(long, default_value_t = 256)]
    pub in_flight: usize,
    /// Messages per transaction in the raw loop.
    #[arg(long, default_value_t = 256)]
    pub batch: usize,
    /// full (fsync every commit) or normal.
    #[arg(long, default_value = "full")]
    pub durability: String,
    #[arg(long)]
    pub json: bool,
    /// Measure the PostgreSQL store on this server (with pgbench as the peer).
    #[arg(long)]
    pub database_url: Option<String>,
    /// Every other message of a conversation is an agent's answer to the
    /// shopper's (each counted for the agent's figures, `kefu_core::kpi`),
    /// instead of shoppers' messages only. The raw peer is unchanged.
    #[arg(long)]
    pub replies: bool,
    /// Agents answering (with `--replies`), conversation i by agent i mod N:
    /// an agent's answers are indexed by agent, so how many there are is
    /// how scattered that index's writes are.
    #[arg(long, default_value_t = 200)]
    pub agents: usize,
}

pub(super) struct Seeded {
    pub(super) store: Arc<dyn Store>,
    pub(super) customers: Vec<CustomerId>,
    pub(super) conversations: Vec<ConversationId>,
}

pub(super) async fn seed(backend: &kefu_store::Backend, conversations: usize) -> anyhow::Result<Seeded> {
    let store = kefu_store::open(backend).await?;
    // Fixed ids, so the raw loop's database holds the same rows.
    let id = |n: u128| uuid::Uuid::from_u128(0x6b65_6675_0000_0000_0000_0000_0000_0000 + n);
    let now = Timestamp(1_795_320_000_000);
    let shop = Shop {
        id: ShopId::from_uuid(id(1)),
        slug: ShopSlug::parse("bench")?,
        name: "压测店铺".into(),
        secret: ShopSecret::new("bench-secret".into()),
        created_at: now,
    };
    store.create_shop(&shop).await?;
    let customers: Vec<Customer> = (0..conversations)
        .map(|i| bench_customer(CustomerId::from_uuid(id(1_000_000 + i as u128)), shop.id, i, Tier::Normal, now))
        .collect();
    store.upsert_customers(&customers).await?;
    let mut ids = Vec::with_capacity(conversations);
    for (i, c) in customers.iter().enumerate() {
        let conv = store
            .open_conversation(&Conversation::opened(
                ConversationId::from_uuid(id(2_000_000 + i as u128)),
                shop.id,
                c.id,
                ConversationStatus::Queued,
                0,
                now,
            ))
            .await?;
        ids.push(conv.id);
    }
    Ok(Seeded { store, customers: customers.iter().map(|c| c.id).collect(), conversations: ids })
}

/// The n-th shopper of a bench shop: 买家n, external id cn.
pub(super) fn bench_customer(id: CustomerId, shop: ShopId, n: usize, tier: Tier, now: Timestamp) -> Customer {
    Customer {
        id,
        shop_id: shop,
        external_id: Some(format!("c{n}")),
        nickname: format!("买家{n}"),
        tier,
        tags: vec![],
        phone: None,
        lifetime_spend: Fen(0),
        complaint_count: 0,
        created_at: now,
    }
}

/// Appends through the store; (msgs/s, latency histogram in µs).
async fn ours(seeded: &Seeded, args: &StoreArgs) -> anyhow::Result<(f64, Histogram<u64>)> {
    let next = Arc::new(AtomicUsize::new(0));
    let text = MessageText::parse(TEXT)?;
    let agents: Arc<Vec<AgentId>> =
        Arc::new((0..args.agents.max(1)).map(|_| AgentId::from_uuid(UuidV7.new_uuid())).collect());
    let replies = args.replies;
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..args.in_flight {
        let (store, next, text) = (seeded.store.clone(), next.clone(), text.clone());
        let (convs, customers, agents) = (seeded.conversations.clone(), seeded.customers.clone(), agents.clone());
        let total = args.messages;
        tasks.push(tokio::spawn(async move {
            let mut hist = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?;
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= total {
                    return anyhow::Ok(hist);
                }
                let i = n % convs.len();
                // Round by round, each conversation hears the shopper, then (with replies) the agent.
                let answer = replies && (n / convs.len()) % 2 == 1;
                let one = Instant::now();
                store
                    .append_message(NewMessage {
                        id: MessageId::from_uuid(UuidV7.new_uuid()),
                        conversation_id: convs[i],
                        sender: if answer {
                            Sender::Agent(agents[i % agents.len()])
                        } else {
                            Sender::Customer(customers[i])
                        },
                        kind: MessageKind::Text,
                        text: text.clone(),
                        client_msg_id: Some(ClientMsgId::parse(&format!("b{n}"))?),
                        at: SystemClock.now(),
                    })
                    .await?;
                hist.record((one.elapsed().as_micros() as u64).max(1))?;
            }
        }));
    }
    let mut hist = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?;
    for t in tasks {
        hist.add(t.await??)?;
    }
    Ok((args.messages as f64 / started.elapsed().as_secs_f64(), hist))
}

/// The raw loop on its own copy of the seeded database; msgs/s.
fn raw(
    path: &Path,
    seeded_convs: &[ConversationId],
    customers: &[CustomerId],
    args: &StoreArgs,
) -> anyhow::Result<f64> {
    let c = rusqlite::Connection::open(path)?;
    c.pragma_update(None, "journal_mode", "WAL")?;
    c.pragma_update(None, "synchronous", if args.durability == "normal" { "NORMAL" } else { "FULL" })?;
    c.pragma_update(None, "foreign_keys", "ON")?;
    c.pragma_update(None, "cache_size", -65_536)?;
    let mut seqs = vec![0i64; seeded_convs.len()];
    let started = Instant::now();
    let mut n = 0;
    while n < args.messages {
        c.execute_batch("BEGIN IMMEDIATE")?;
        {
            let mut insert = c.prepare_cached(
                "INSERT INTO messages (id, conversation_id, shop_id, seq, sender_kind, sender_id, kind, text, client_msg_id, created_at) \
                 VALUES (?1, ?2, ?3, ?4, 'customer', ?5, 'text', ?6, ?7, ?8)",
            )?;
            let mut update = c.prepare_cached(
                "UPDATE conversations SET last_seq = ?2, waiting_since = ?3, updated_at = ?3 WHERE id = ?1",
            )?;
            let shop = uuid::Uuid::from_u128(0x6b65_6675_0000_0000_0000_0000_0000_0000 + 1);
            for _ in 0..args.batch.min(args.messages - n) {
                let i = n % seeded_convs.len();
                seqs[i] += 1;
                let at = SystemClock.now().millis();
                insert.execute(rusqlite::params![
                    UuidV7.new_uuid(),
                    seeded_convs[i].as_uuid(),
                    shop,
                    seqs[i],
                    customers[i].as_uuid(),
                    TEXT,
                    format!("b{n}"),
                    at
                ])?;
                update.execute(rusqlite::params![seeded_convs[i].as_uuid(), seqs[i], at])?;
                n += 1;
            }
        }
        c.execute_batch("COMMIT")?;
    }
    Ok(args.messages as f64 / started.elapsed().as_secs_f64())
}

pub async fn run(args: StoreArgs) -> anyhow::Result<()> {
    if let Some(url) = args.database_url.clone() {
        return run_postgres(&url, &args).await;
    }
    anyhow::ensure!(
        args.conversations > 0 && args.messages > 0 && args.in_flight > 0 && args.batch > 0,
        "counts must be positive"
    );
    let durability = match args.durability.as_str() {
        "full" => kefu_store::Durability::Full,
        "normal" => kefu_store::Durability::Normal,
        other => anyhow::bail!("--durability {other:?}: full or normal"),
    };
    let dir = std::env::temp_dir().join(format!("kefu-bench-store-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let (ours_path, raw_path) = (dir.join("ours.db"), dir.join("raw.db"));

    eprintln!("seeding {} conversations twice…", args.conversations);
    let sqlite = |path: &Path| kefu_store::Backend::Sqlite { path: path.to_owned(), durability };
    let raw_seed = seed(&sqlite(&raw_path), args.conversations).await?;
    let (raw_convs, raw_customers) = (raw_seed.conversations.clone(), raw_seed.customers.clone());
    drop(raw_seed);
    // Let the store's writer thread finish with the file.
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let seeded = seed(&sqlite(&ours_path), args.conversations).await?;

    eprintln!("raw rusqlite loop: {} messages, {} per transaction…", args.messages, args.batch);
    let raw_args = args.clone();
    let raw_rate = tokio::task::spawn_blocking(move || raw(&raw_path, &raw_convs, &raw_customers, &raw_args)).await??;
    eprintln!("Store::append_message: {} messages, {} in flight…", args.messages, args.in_flight);
    let (ours_rate, hist) = ours(&seeded, &args).await?;
    drop(seeded);
    let _ = std::fs::remove_dir_all(&dir);

    let ms = |q: f64| hist.value_at_quantile(q) as f64 / 1000.0;
    let report = json!({
        "messages": args.messages,
        "conversations": args.conversations,
        "in_flight": args.in_flight,
        "durability": args.durability,
        "replies": args.replies,
        "agents": args.agents,
        "ours_msgs_per_sec": ours_rate,
        "raw_msgs_per_sec": raw_rate,
        "raw_batch": args.batch,
        "ratio_vs_raw": ours_rate / raw_rate,
        "append_p50_ms": ms(0.5),
        "append_p99_ms": ms(0.99),
        "append_p999_ms": ms(0.999),
    });
    if args.json {
        println!("{report}");
    } else {
        println!(
            "raw rusqlite loop        {raw_rate:.0} msgs/s ({} per transaction, synchronous={})",
            args.batch, args.durability
        );
        println!(
            "Store::append_message    {ours_rate:.0} msgs/s ({:.2}× raw), {} in flight",
            ours_rate / raw_rate,
            args.in_flight
        );
        println!("append latency           p50 {:.2} ms, p99 {:.2} ms, p999 {:.2} ms", ms(0.5), ms(0.99), ms(0.999));
    }
    Ok(())
}

/// The PostgreSQL store against pgbench on the same server.
async fn run_postgres(url: &str, args: &StoreArgs) -> anyhow::Result<()> {
    let tag = format!("{}_{}", std::process::id(), SystemClock.now().millis());
    let (ours_schema, raw_schema) = (format!("bench_ours_{tag}"), format!("bench_raw_{tag}"));
    let backend = |schema: &str| kefu_store::Backend::Postgres {
        url: url.to_owned(),
        schema: Some(schema.to_owned()),
        pool_size: args.in_flight.clamp(1, 64),
    };
    eprintln!("seeding {} conversations in two schemas…", args.conversations);
    let raw_seed = seed(&backend(&raw_schema), args.conversations).await?;
    let (conv, customer) = (raw_seed.conversations[0], raw_seed.customers[0]);
    drop(raw_seed);
    let seeded = seed(&backend(&ours_schema), args.conversations).await?;

    // pgbench: one INSERT per transaction into the same table, sequence-numbered.
    let script = std::env::temp_dir().join(format!("kefu-pgbench-{tag}.sql"));
    std::fs::write(
        &script,
        format!(
            "INSERT INTO messages (id, conversation_id, shop_id, seq, sender_kind, sender_id, kind, text, client_msg_id, created_at) \
             SELECT gen_random_uuid(), '{conv}', shop_id, nextval('bench_seq'), 'customer', '{customer}', 'text', '{TEXT}', NULL, 0 \
             FROM conversations WHERE id = '{conv}';\n"
        ),
    )?;
    psql(url, Some(&raw_schema), &["CREATE SEQUENCE bench_seq"])?;
    let seconds = 10;
    eprintln!("pgbench: {} clients, {seconds} s…", args.in_flight);
    let out = std::process::Command::new("pgbench")
        .args(["-n", "-c", &args.in_flight.to_string(), "-j", "2", "-T", &seconds.to_string()])
        .arg("-f")
        .arg(&script)
        .arg(url)
        .env("PGOPTIONS", format!("-c search_path={raw_schema}"))
        .output()
        .context("running pgbench (Debian package postgresql-client)")?;
    let _ = std::fs::remove_file(&script);
    let text = String::from_utf8_lossy(&out.stdout);
    anyhow::ensure!(out.status.success(), "pgbench failed: {}{}", text, String::from_utf8_lossy(&out.stderr));
    let raw_rate: f64 = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("tps = "))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .context("no tps line in pgbench's output")?;

    eprintln!("Store::append_message: {} messages, {} in flight…", args.messages, args.in_flight);
    let (ours_rate, hist) = ours(&seeded, args).await?;
    drop(seeded);
    if let Err(e) = psql(url, None, &[&format!("DROP SCHEMA {ours_schema} CASCADE; DROP SCHEMA {raw_schema} CASCADE")])
    {
        eprintln!("could not drop the bench schemas: {e:#}");
    }
    let ms = |q: f64| hist.value_at_quantile(q) as f64 / 1000.0;
    let report = json!({
        "backend": "postgres",
        "messages": args.messages,
        "in_flight": args.in_flight,
        "replies": args.replies,
        "ours_msgs_per_sec": ours_rate,
        "pgbench_tps": raw_rate,
        "ratio_vs_raw": ours_rate / raw_rate,
        "append_p50_ms": ms(0.5),
        "append_p99_ms": ms(0.99),
        "append_p999_ms": ms(0.999),
    });
    if args.json {
        println!("{report}");
    } else {
        println!("pgbench single-row INSERT {raw_rate:.0} tps ({} clients)", args.in_flight);
        println!(
            "Store::append_message     {ours_rate:.0} msgs/s ({:.2}× pgbench), {} in flight",
            ours_rate / raw_rate,
            args.in_flight
        );
        println!("append latency            p50 {:.2} ms, p99 {:.2} ms, p999 {:.2} ms", ms(0.5), ms(0.99), ms(0.999));
    }
    Ok(())
}
