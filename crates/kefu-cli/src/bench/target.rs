//! The servers under test: a seeded `kefu serve` child and the bare relay
//! child, each its own process so its RSS and CPU can be read from /proc.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use kefu_core::agent::{AgentSession, AgentStatus};
use kefu_core::clock::{Clock, SystemClock, Timestamp};
use kefu_core::conversation::{Conversation, ConversationStatus, MessageKind, MessageText, NewMessage, Sender};
use kefu_core::customer::{Customer, Tier};
use kefu_core::id::{ConversationId, CustomerId, IdGen, KnowledgeId, MessageId, ShopId, UuidV7};
use kefu_core::knowledge::{KnowledgeEntry, KnowledgeText};
use kefu_core::money::Fen;
use kefu_core::shop::{Shop, ShopSecret, ShopSlug};
use kefu_core::store::Store;
use kefu_server::auth;

/// /proc reports CPU time in USER_HZ ticks, 100 per second on Linux.
pub const CLOCK_TICKS: f64 = 100.0;

/// A bench database: one shop, its shoppers' chat tokens and its agents'
/// session cookies, written before the server starts.
pub struct Seeded {
    pub data_dir: PathBuf,
    pub customer_tokens: Vec<String>,
    pub agent_cookies: Vec<String>,
}

/// Ends a bench's scratch database: drops its schema on PostgreSQL (the
/// SQLite file goes with the bench's directory). Answers the backend's name
/// for the report.
pub fn drop_scratch(database_url: Option<&str>, schema: &str) -> anyhow::Result<&'static str> {
    match database_url {
        Some(url) => {
            psql(url, None, &[&format!("DROP SCHEMA {schema} CASCADE")])?;
            Ok("PostgreSQL")
        }
        None => Ok("SQLite"),
    }
}

/// Runs SQL commands through `psql` (one `-c` each, stopping at the first
/// error), with `search_path` set when given: the benchmarks' bulk setup and
/// cleanup, which the store's API has no verb for.
pub fn psql(url: &str, search_path: Option<&str>, commands: &[&str]) -> anyhow::Result<()> {
    let mut command = Command::new("psql");
    command.args([url, "-q", "-v", "ON_ERROR_STOP=1"]);
    for sql in commands {
        command.args(["-c", sql]);
    }
    if let Some(schema) = search_path {
        command.env("PGOPTIONS", format!("-c search_path={schema}"));
    }
    let out = command.output().context("running psql (Debian package postgresql-client)")?;
    anyhow::ensure!(out.status.success(), "psql: {}", String::from_utf8_lossy(&out.stderr));
    Ok(())
}

/// The PostgreSQL database a chat benchmark keeps its store in: schema
/// [`PG_SCHEMA`], emptied before each run.
pub struct BenchDatabase {
    url: String,
}

pub const PG_SCHEMA: &str = "bench_chat";

impl BenchDatabase {
    pub fn new(url: &str) -> anyhow::Result<Self> {
        anyhow::ensure!(
            url.starts_with("postgres://") || url.starts_with("postgresql://"),
            "--database-url: a postgres:// URL"
        );
        Ok(Self { url: url.to_owned() })
    }

    /// Drops what an earlier run left and answers the seeding store's backend.
    fn fresh_backend(&self) -> anyhow::Result<kefu_store::Backend> {
        psql(&self.url, None, &[&format!("DROP SCHEMA IF EXISTS {PG_SCHEMA} CASCADE")])?;
        Ok(kefu_store::Backend::Postgres { url: self.url.clone(), schema: Some(PG_SCHEMA.to_owned()), pool_size: 8 })
    }

    /// The URL the server under test gets: the same database, its tables
    /// found through the connection's search path.
    fn server_url(&self) -> String {
        let joint = if self.url.contains('?') { '&' } else { '?' };
        format!("{}{joint}options=-c%20search_path%3D{PG_SCHEMA}", self.url)
    }
}

/// Shoppers `active..` get an open conversation with a short history, so a
/// reconnect storm exercises `resume` as well as `hello`.
pub async fn seed(
    customers: usize,
    active: usize,
    agents: usize,
    max_concurrent: usize,
    database: Option<&BenchDatabase>,
) -> anyhow::Result<Seeded> {
    let data_dir = std::env::temp_dir().join(format!("kefu-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data_dir);
    std::fs::create_dir_all(&data_dir).with_context(|| format!("creating {}", data_dir.display()))?;
    let backend = match database {
        Some(db) => db.fresh_backend()?,
        None => kefu_store::Backend::Sqlite {
            path: kefu_store::sqlite_path(&data_dir),
            durability: kefu_store::Durability::Normal,
        },
    };
    let store = kefu_store::open(&backend).await?;
    let now = SystemClock.now();
    let shop = Shop {
        id: ShopId::from_uuid(UuidV7.new_uuid()),
        slug: ShopSlug::parse("bench")?,
        name: "压测店铺".into(),
        secret: ShopSecret::new(auth::random_token()),
        created_at: now,
    };
    store.create_shop(&shop).await?;
    let server_key = store.server_key(&auth::random_token()).await?;

    let mut customer_tokens = Vec::with_capacity(customers);
    let mut customer_ids = Vec::with_capacity(customers);
    let mut batch = Vec::new();
    for i in 0..customers {
        let id = CustomerId::from_uuid(UuidV7.new_uuid());
        batch.push(Customer {
            id,
            shop_id: shop.id,
            external_id: Some(format!("bench-{i}")),
            nickname: format!("压测买家{i}"),
            tier: Tier::Normal,
            tags: Vec::new(),
            phone: None,
            lifetime_spend: Fen(0),
            complaint_count: 0,
            created_at: now,
        });
        customer_ids.push(id);
        let claims = auth::CustomerClaims { shop: shop.id, customer: id, expires_at: now.plus_days(1) };
        customer_tokens.push(auth::sign_customer_token(&server_key, &claims));
        if batch.len() == 1000 {
            store.upsert_customers(&batch).await?;
            batch.clear();
        }
    }
    store.upsert_customers(&batch).await?;
    seed_orders(&store, &shop, &customer_ids[..active.min(customers)], now).await?;
    seed_idle_histories(&store, &shop, &customer_ids[active.min(customers)..], now).await?;

    let mut agent_cookies = Vec::with_capacity(agents);
    let shops = vec![shop.slug.as_str().to_owned()];
    for i in 0..agents {
        let agent = crate::app::add_user(
            &store,
            &format!("bench-agent-{i}"),
            &auth::random_token(),
            "agent",
            &shops,
            max_concurrent as u32,
            None,
        )
        .await?;
        store.set_agent_status(agent.id, AgentStatus::Online).await?;
        let token = auth::random_token();
        store
            .create_session(&AgentSession {
                token_hash: auth::token_hash(&token),
                agent_id: agent.id,
                csrf_token: auth::random_token(),
                created_at: now,
                expires_at: now.plus_days(1),
            })
            .await?;
        agent_cookies.push(format!("kefu_session={token}"));
    }
    crate::demo::seed_knowledge(&store, shop.id, now).await?;
    seed_bulk_knowledge(&store, shop.id, now).await?;
    close(store).await;
    Ok(Seeded { data_dir, customer_tokens, agent_cookies })
}

/// Each active shopper's orders, so the bot's turns read and act on real
/// ones as a shop's would: one paid and waiting to ship (the bench's
/// "when will it ship?" records an urge against it), one on its way with a
/// four-stop timeline, one delivered last month.
async fn seed_orders(
    store: &Arc<dyn Store>,
    shop: &Shop,
    customers: &[CustomerId],
    now: Timestamp,
) -> anyhow::Result<()> {
    use kefu_core::id::{OrderId, ShipmentId};
    use kefu_core::order::{Order, OrderItem, OrderNo, OrderStatus, Shipment, ShipmentEvent};
    let stops = ["上海市 青浦转运中心", "江苏省 苏州分拨中心", "浙江省 杭州转运中心", "浙江省 杭州西湖营业部"];
    for (chunk_no, chunk) in customers.chunks(500).enumerate() {
        let mut orders = Vec::with_capacity(chunk.len() * 3);
        let mut shipments = Vec::with_capacity(chunk.len() * 2);
        for (i, &customer) in chunk.iter().enumerate() {
            let n = (chunk_no * 500 + i) as u64;
            for (k, (status, days_ago)) in
                [(OrderStatus::Paid, 1), (OrderStatus::Shipped, 3), (OrderStatus::Completed, 30)]
                    .into_iter()
                    .enumerate()
            {
                let created = now.plus_days(-days_ago);
                let shipped = (status != OrderStatus::Paid).then(|| created.plus_days(1));
                let order = Order {
                    id: OrderId::from_uuid(UuidV7.new_uuid()),
                    shop_id: shop.id,
                    order_no: OrderNo::parse(&format!("{}", 880_000_000_000 + n * 3 + k as u64))?,
                    customer_id: customer,
                    status,
                    items: vec![OrderItem {
                        sku: format!("BENCH-{k}"),
                        name: ["无线蓝牙耳机", "电热水壶 1.7L", "纯棉T恤"][k].into(),
                        quantity: 1,
                        unit_price: Fen(19_900),
                    }],
                    total: Fen(19_900),
                    province: "浙江省".into(),
                    city: "杭州市".into(),
                    address: "西湖区文三路 1 号".into(),
                    created_at: created,
                    paid_at: Some(created),
                    shipped_at: shipped,
                    delivered_at: (status == OrderStatus::Completed).then(|| created.plus_days(3)),
                    completed_at: (status == OrderStatus::Completed).then(|| created.plus_days(10)),
                    cancelled_at: None,
                    updated_at: created,
                };
                if let Some(at) = shipped {
                    shipments.push(Shipment {
                        id: ShipmentId::from_uuid(UuidV7.new_uuid()),
                        shop_id: shop.id,
                        order_id: order.id,
                        carrier: "中通快递".into(),
                        tracking_no: format!("ZT{}", 750_000_000_000 + n * 3 + k as u64),
                        events: stops
                            .iter()
                            .enumerate()
                            .map(|(h, stop)| ShipmentEvent {
                                at: at.plus_millis(h as i64 * 6 * 3_600_000),
                                location: (*stop).into(),
                                description: format!("快件到达【{stop}】"),
                            })
                            .collect(),
                        updated_at: at,
                    });
                }
                orders.push(order);
            }
        }
        store.upsert_orders(&orders).await?;
        store.upsert_shipments(&shipments).await?;
    }
    Ok(())
}

/// Lines of each idle shopper's conversation: what the bot said before they went quiet.
const IDLE_HISTORY: [(bool, &str); 3] =
    [(true, "在吗，我的快递到哪了"), (false, "亲，您的包裹已到达【上海转运中心】"), (false, "还有其他可以帮您的吗？")];

/// One open conversation per shopper, with the bot (so no agent's capacity
/// is taken), written 256 appends at a time.
async fn seed_idle_histories(
    store: &Arc<dyn Store>,
    shop: &Shop,
    customers: &[CustomerId],
    now: Timestamp,
) -> anyhow::Result<()> {
    for chunk in customers.chunks(256) {
        let writes = chunk.iter().map(|&customer| async move {
            let conversation = store
                .open_conversation(&Conversation::opened(
                    ConversationId::from_uuid(UuidV7.new_uuid()),
                    shop.id,
                    customer,
                    ConversationStatus::Bot,
                    0,
                    now,
                ))
                .await?;
            for (by_customer, text) in IDLE_HISTORY {
                store
                    .append_message(NewMessage {
                        id: MessageId::from_uuid(UuidV7.new_uuid()),
                        conversation_id: conversation.id,
                        sender: if by_customer { Sender::Customer(customer) } else { Sender::Bot },
                        kind: MessageKind::Text,
                        text: MessageText::parse(text)?,
                        client_msg_id: None,
                        at: now,
                    })
                    .await?;
            }
            anyhow::Ok(())
        });
        for r in futures_util::future::join_all(writes).await {
            r?;
        }
    }
    Ok(())
}

/// 500 more entries (product × topic, two phrasings each): a shop's knowledge
/// base of realistic size for the bot's search to go through.
async fn seed_bulk_knowledge(store: &Arc<dyn Store>, shop: ShopId, now: Timestamp) -> anyhow::Result<()> {
    for (question, alternates, answer) in bulk_knowledge() {
        let text = KnowledgeText::parse(&question, &alternates, &answer, None)?;
        store
            .put_knowledge(&KnowledgeEntry::new(KnowledgeId::from_uuid(UuidV7.new_uuid()), shop, text, true, now))
            .await?;
    }
    Ok(())
}

/// (question, alternates, answer) × 500: 20 products × 25 topics of `bench kb`'s lists.
pub fn bulk_knowledge() -> Vec<(String, Vec<String>, String)> {
    super::kb::PRODUCTS[..20]
        .iter()
        .flat_map(|p| {
            super::kb::TOPICS.iter().map(move |(topic, other)| {
                (
                    format!("{p}{topic}"),
                    vec![format!("{p}{other}"), format!("请问{p}{topic}")],
                    format!("关于{p}{topic}：请以商品详情页说明为准，如有疑问可转人工。"),
                )
            })
        })
        .collect()
}

/// Lets the store's writer finish before the server opens the file.
async fn close(store: Arc<dyn Store>) {
    drop(store);
    tokio::time::sleep(Duration::from_millis(100)).await;
}

/// A child process serving on loopback; killed when dropped.
pub struct Server {
    child: Child,
    pub addr: SocketAddr,
}

impl Server {
    pub async fn kefu(
        data_dir: &Path,
        durability: &str,
        bot: bool,
        database: Option<&BenchDatabase>,
    ) -> anyhow::Result<Server> {
        let addr = free_addr()?;
        let mut command = Command::new(std::env::current_exe()?);
        if let Some(db) = database {
            command.arg("--database-url").arg(db.server_url());
        }
        let child = command
            .arg("serve")
            .arg("--data-dir")
            .arg(data_dir)
            .arg("--listen")
            .arg(addr.to_string())
            .env("KEFU_DURABILITY", durability)
            // Without --bot the relay is under test: shoppers talk to their agents.
            .env("KEFU_BOT", if bot { "true" } else { "false" })
            .env("KEFU_AUTO_ASSIGN", "true")
            // The load's agents only read: an offer would lapse and set them 挂起 mid-run.
            .env("KEFU_OFFER_SECONDS", "0")
            // The limiter still runs on every frame; it just must not cap the saturation phase.
            .env("KEFU_RATE_BURST", "100000")
            .env("KEFU_RATE_PER_SECOND", "100000")
            .env("KEFU_LOG", "warn")
            .stdout(Stdio::null())
            .spawn()
            .context("starting kefu serve")?;
        Server::ready(child, addr).await
    }

    pub async fn relay() -> anyhow::Result<Server> {
        let addr = free_addr()?;
        let child = Command::new(std::env::current_exe()?)
            .args(["bench", "relay-server", "--listen", &addr.to_string()])
            .stdout(Stdio::null())
            .spawn()
            .context("starting the bare relay")?;
        Server::ready(child, addr).await
    }

    /// The npm `ws` peer: `node relay.js ADDR` in `dir`, which must hold its node_modules.
    pub async fn node_relay(dir: &Path) -> anyhow::Result<Server> {
        let script = dir.join("relay.js");
        if !dir.join("node_modules").join("ws").is_dir() {
            bail!("{} has no node_modules/ws: run `npm ci` there first", dir.display());
        }
        let addr = free_addr()?;
        let child = Command::new("node")
            .arg(&script)
            .arg(addr.to_string())
            .stdout(Stdio::null())
            .spawn()
            .context("starting the npm ws relay (is node installed?)")?;
        Server::ready(child, addr).await
    }

    async fn ready(mut child: Child, addr: SocketAddr) -> anyhow::Result<Server> {
        for _ in 0..600 {
            if tokio::net::TcpStream::connect(addr).await.is_ok() {
                return Ok(Server { child, addr });
            }
            if let Some(status) = child.try_wait()? {
                bail!("the server under test exited early: {status}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let _ = child.kill();
        bail!("the server under test did not listen on {addr} within 30 s")
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Resident set size.
    pub fn rss_kib(&self) -> anyhow::Result<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).context("reading /proc")?;
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .context("no VmRSS in /proc/PID/status")
    }

    /// User plus system CPU time so far, in ticks.
    pub fn cpu_ticks(&self) -> anyhow::Result<u64> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid())).context("reading /proc")?;
        // The command name may hold spaces; fields are counted after its ')'.
        let rest = stat.rsplit_once(')').map(|(_, r)| r).context("malformed /proc/PID/stat")?;
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let field = |i: usize| fields.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
        // utime and stime are fields 14 and 15 of stat; 12 and 13 after the name.
        Ok(field(11) + field(12))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_addr() -> anyhow::Result<SocketAddr> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?)
}

/// Each socket is a file descriptor on both sides; say so up front rather
/// than failing halfway through connecting.
pub fn check_fd_limit(needed: usize) {
    let soft = std::fs::read_to_string("/proc/self/limits").ok().and_then(|limits| {
        limits
            .lines()
            .find(|l| l.starts_with("Max open files"))
            .and_then(|l| l.split_whitespace().nth(3).and_then(|v| v.parse::<usize>().ok()))
    });
    if let Some(soft) = soft.filter(|s| *s < needed) {
        eprintln!(
            "warning: the open-file limit is {soft}, this run needs about {needed}; raise it with `ulimit -n {needed}`"
        );
    }
}
