//! The SQLite store: embedded, WAL, group commit (see `sqlite/pool.rs`).

mod pool;

use std::collections::HashMap;
use std::path::Path;

use async_trait::async_trait;
use kefu_core::agent::{Agent, AgentSession, AgentStatus, Username};
use kefu_core::botturn::{BotAudit, BotAuditRow, BotTurnWrite, BotTurnWritten, OrderChange};
use kefu_core::catalog::{CategoryPath, Product};
use kefu_core::clock::Timestamp;
use kefu_core::conversation::{
    Appended, ClientMsgId, Conversation, ConversationStatus, Message, NewMessage, waiting_since_after,
};
use kefu_core::customer::{Customer, MaskedPhone};
use kefu_core::id::*;
use kefu_core::money::Fen;
use kefu_core::order::{Order, OrderItem, OrderNo, OrderStatus, Shipment, ShipmentEvent};
use kefu_core::shop::{Shop, ShopSecret, ShopSlug, SkillGroup};
use kefu_core::store::*;
use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, Row, params, params_from_iter};
use uuid::Uuid;

use crate::codec::{self, corrupt};
use crate::{Durability, SQLITE_MIGRATIONS};

pub struct SqliteStore {
    pool: pool::Pool,
}

fn be(e: rusqlite::Error) -> StoreError {
    StoreError::backend(e)
}

fn is_unique_violation(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _) if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE || f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY)
}

fn migrate(conn: &mut Connection) -> StoreResult<()> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)",
    )
    .map_err(be)?;
    for (version, name, sql) in SQLITE_MIGRATIONS {
        let tx = conn.transaction().map_err(be)?;
        let done: Option<i64> = tx
            .query_row("SELECT version FROM schema_migrations WHERE version = ?1", [version], |r| r.get(0))
            .optional()
            .map_err(be)?;
        if done.is_none() {
            tx.execute_batch(sql).map_err(be)?;
            tx.execute(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?1, ?2, ?3)",
                params![version, name, kefu_core::clock::Clock::now(&kefu_core::clock::SystemClock).millis()],
            )
            .map_err(be)?;
            tracing::info!(migration = name, "sqlite: applied migration");
        }
        tx.commit().map_err(be)?;
    }
    Ok(())
}

impl SqliteStore {
    pub async fn open(path: &Path, durability: Durability) -> StoreResult<Self> {
        let path = path.to_owned();
        let pool = tokio::task::spawn_blocking(move || pool::Pool::open(&path, durability, migrate))
            .await
            .map_err(StoreError::backend)??;
        Ok(Self { pool })
    }

    /// A consistent copy of the live database, taken while it serves.
    pub async fn backup_to(&self, dest: &Path) -> StoreResult<()> {
        let dest = dest.to_owned();
        self.pool
            .read(move |conn| {
                let mut out = Connection::open(&dest).map_err(be)?;
                let backup = rusqlite::backup::Backup::new(conn, &mut out).map_err(be)?;
                backup.run_to_completion(256, std::time::Duration::from_millis(0), None).map_err(be)?;
                Ok(())
            })
            .await
    }

    pub fn path(&self) -> &Path {
        self.pool.path()
    }
}

// ---------------------------------------------------------------- row mapping

fn uuid_col(row: &Row, idx: usize) -> rusqlite::Result<Uuid> {
    row.get::<_, Uuid>(idx)
}

fn ts(v: i64) -> Timestamp {
    Timestamp(v)
}

fn opt_ts(v: Option<i64>) -> Option<Timestamp> {
    v.map(Timestamp)
}

const SHOP_COLS: &str = "id, slug, name, secret, created_at";
fn shop_row(r: &Row) -> rusqlite::Result<(Uuid, String, String, String, i64)> {
    Ok((uuid_col(r, 0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
}
fn shop_from(t: (Uuid, String, String, String, i64)) -> StoreResult<Shop> {
    Ok(Shop {
        id: ShopId::from_uuid(t.0),
        slug: ShopSlug::parse(&t.1).map_err(|_| corrupt("shop slug", t.1.clone()))?,
        name: t.2,
        secret: ShopSecret::new(t.3),
        created_at: ts(t.4),
    })
}

const AGENT_COLS: &str = "id, username, display_name, password_hash, role, max_concurrent, status, created_at";
type AgentRow = (Uuid, String, String, String, String, i64, String, i64);
fn agent_row(r: &Row) -> rusqlite::Result<AgentRow> {
    Ok((uuid_col(r, 0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?, r.get(7)?))
}
fn agent_from(conn: &Connection, t: AgentRow) -> StoreResult<Agent> {
    let shops = conn
        .prepare_cached("SELECT shop_id FROM agent_shops WHERE agent_id = ?1 ORDER BY shop_id")
        .and_then(|mut s| s.query_map([t.0], |r| uuid_col(r, 0))?.collect::<Result<Vec<_>, _>>())
        .map_err(be)?;
    let groups = conn
        .prepare_cached("SELECT group_id FROM agent_skill_groups WHERE agent_id = ?1 ORDER BY group_id")
        .and_then(|mut s| s.query_map([t.0], |r| uuid_col(r, 0))?.collect::<Result<Vec<_>, _>>())
        .map_err(be)?;
    Ok(Agent {
        id: AgentId::from_uuid(t.0),
        username: Username::parse(&t.1).map_err(|_| corrupt("username", t.1.clone()))?,
        display_name: t.2,
        password_hash: t.3,
        role: codec::role(&t.4)?,
        shops: shops.into_iter().map(ShopId::from_uuid).collect(),
        skill_groups: groups.into_iter().map(SkillGroupId::from_uuid).collect(),
        max_concurrent: u32::try_from(t.5).map_err(|_| corrupt("max_concurrent", t.5.to_string()))?,
        status: codec::agent_status(&t.6)?,
        created_at: ts(t.7),
    })
}

const CUSTOMER_COLS: &str =
    "id, shop_id, external_id, nickname, tier, tags, phone, lifetime_spend, complaint_count, created_at";
type CustomerRow = (Uuid, Uuid, Option<String>, String, String, String, Option<String>, i64, i64, i64);
fn customer_row_at(r: &Row, o: usize) -> rusqlite::Result<CustomerRow> {
    Ok((
        uuid_col(r, o)?,
        uuid_col(r, o + 1)?,
        r.get(o + 2)?,
        r.get(o + 3)?,
        r.get(o + 4)?,
        r.get(o + 5)?,
        r.get(o + 6)?,
        r.get(o + 7)?,
        r.get(o + 8)?,
        r.get(o + 9)?,
    ))
}
fn customer_from(t: CustomerRow) -> StoreResult<Customer> {
    Ok(Customer {
        id: CustomerId::from_uuid(t.0),
        shop_id: ShopId::from_uuid(t.1),
        external_id: t.2,
        nickname: t.3,
        tier: codec::tier(&t.4)?,
        tags: codec::split_tags(&t.5),
        phone: t.6.map(|p| MaskedPhone::parse(&p).map_err(|_| corrupt("phone", p))).transpose()?,
        lifetime_spend: Fen(t.7),
        complaint_count: u32::try_from(t.8).unwrap_or(0),
        created_at: ts(t.9),
    })
}

const PRODUCT_COLS: &str = "id, shop_id, sku, name, model, category, price";
type ProductRow = (Uuid, Uuid, String, String, Option<String>, String, i64);
fn product_from(r: &Row) -> rusqlite::Result<ProductRow> {
    Ok((uuid_col(r, 0)?, uuid_col(r, 1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?))
}

const ORDER_COLS: &str = "id, shop_id, order_no, customer_id, status, total, province, city, address, created_at, paid_at, shipped_at, delivered_at, completed_at, cancelled_at, updated_at";
struct OrderRow {
    id: Uuid,
    shop_id: Uuid,
    order_no: String,
    customer_id: Uuid,
    status: String,
    total: i64,
    province: String,
    city: String,
    address: String,
    times: [Option<i64>; 7],
}
fn order_row(r: &Row) -> rusqlite::Result<OrderRow> {
    Ok(OrderRow {
        id: uuid_col(r, 0)?,
        shop_id: uuid_col(r, 1)?,
        order_no: r.get(2)?,
        customer_id: uuid_col(r, 3)?,
        status: r.get(4)?,
        total: r.get(5)?,
        province: r.get(6)?,
        city: r.get(7)?,
        address: r.get(8)?,
        times: [r.get(9)?, r.get(10)?, r.get(11)?, r.get(12)?, r.get(13)?, r.get(14)?, r.get(15)?],
    })
}
fn order_from(conn: &Connection, o: OrderRow) -> StoreResult<Order> {
    let items = conn
        .prepare_cached("SELECT sku, name, quantity, unit_price FROM order_items WHERE order_id = ?1 ORDER BY line")
        .and_then(|mut s| {
            s.query_map([o.id], |r| {
                Ok(OrderItem {
                    sku: r.get(0)?,
                    name: r.get(1)?,
                    quantity: r.get::<_, i64>(2)?.clamp(0, u32::MAX as i64) as u32,
                    unit_price: Fen(r.get(3)?),
                })
            })?
            .collect::<Result<Vec<_>, _>>()
        })
        .map_err(be)?;
    Ok(Order {
        id: OrderId::from_uuid(o.id),
        shop_id: ShopId::from_uuid(o.shop_id),
        order_no: OrderNo::parse(&o.order_no).map_err(|_| corrupt("order_no", o.order_no.clone()))?,
        customer_id: CustomerId::from_uuid(o.customer_id),
        status: codec::order_status(&o.status)?,
        items,
        total: Fen(o.total),
        province: o.province,
        city: o.city,
        address: o.address,
        created_at: ts(o.times[0].unwrap_or(0)),
        paid_at: opt_ts(o.times[1]),
        shipped_at: opt_ts(o.times[2]),
        delivered_at: opt_ts(o.times[3]),
        completed_at: opt_ts(o.times[4]),
        cancelled_at: opt_ts(o.times[5]),
        updated_at: ts(o.times[6].unwrap_or(0)),
    })
}

const CONVERSATION_COLS: &str = "id, shop_id, customer_id, channel, status, assigned_agent, skill_group, priority, tags, csat, last_seq, waiting_since, created_at, updated_at, closed_at";
const CONVERSATION_COUNT: usize = 15;
type ConversationRow = (
    (Uuid, Uuid, Uuid, String, String, Option<Uuid>, Option<Uuid>, i64),
    (String, Option<i64>, i64, Option<i64>, i64, i64, Option<i64>),
);
fn conversation_row_at(r: &Row, o: usize) -> rusqlite::Result<ConversationRow> {
    Ok((
        (
            uuid_col(r, o)?,
            uuid_col(r, o + 1)?,
            uuid_col(r, o + 2)?,
            r.get(o + 3)?,
            r.get(o + 4)?,
            r.get(o + 5)?,
            r.get(o + 6)?,
            r.get(o + 7)?,
        ),
        (r.get(o + 8)?, r.get(o + 9)?, r.get(o + 10)?, r.get(o + 11)?, r.get(o + 12)?, r.get(o + 13)?, r.get(o + 14)?),
    ))
}
fn conversation_row(r: &Row) -> rusqlite::Result<ConversationRow> {
    conversation_row_at(r, 0)
}
fn conversation_from(
    (
        (id, shop, customer, channel, status, agent, group, priority),
        (tags, csat, last_seq, waiting, created, updated, closed),
    ): ConversationRow,
) -> StoreResult<Conversation> {
    Ok(Conversation {
        id: ConversationId::from_uuid(id),
        shop_id: ShopId::from_uuid(shop),
        customer_id: CustomerId::from_uuid(customer),
        channel: codec::channel(&channel)?,
        status: codec::conversation_status(&status)?,
        assigned_agent: agent.map(AgentId::from_uuid),
        skill_group: group.map(SkillGroupId::from_uuid),
        priority: priority as i32,
        tags: codec::split_tags(&tags),
        csat: csat.map(|c| c.clamp(0, 5) as u8),
        last_seq,
        waiting_since: opt_ts(waiting),
        created_at: ts(created),
        updated_at: ts(updated),
        closed_at: opt_ts(closed),
    })
}

const MESSAGE_COLS: &str =
    "id, conversation_id, shop_id, seq, sender_kind, sender_id, kind, text, client_msg_id, created_at";
type MessageRow = (Uuid, Uuid, Uuid, i64, String, Option<Uuid>, String, String, Option<String>, i64);
fn message_row_at(r: &Row, o: usize) -> rusqlite::Result<MessageRow> {
    Ok((
        uuid_col(r, o)?,
        uuid_col(r, o + 1)?,
        uuid_col(r, o + 2)?,
        r.get(o + 3)?,
        r.get(o + 4)?,
        r.get(o + 5)?,
        r.get(o + 6)?,
        r.get(o + 7)?,
        r.get(o + 8)?,
        r.get(o + 9)?,
    ))
}
fn message_row(r: &Row) -> rusqlite::Result<MessageRow> {
    message_row_at(r, 0)
}
fn message_from(t: MessageRow) -> StoreResult<Message> {
    Ok(Message {
        id: MessageId::from_uuid(t.0),
        conversation_id: ConversationId::from_uuid(t.1),
        shop_id: ShopId::from_uuid(t.2),
        seq: t.3,
        sender: codec::sender(&t.4, t.5)?,
        kind: codec::message_kind(&t.6)?,
        text: t.7,
        client_msg_id: t.8.map(|c| ClientMsgId::parse(&c).map_err(|_| corrupt("client_msg_id", c))).transpose()?,
        created_at: ts(t.9),
    })
}

fn one<T, R>(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
    row: impl FnOnce(&Row) -> rusqlite::Result<R>,
    map: impl FnOnce(R) -> StoreResult<T>,
) -> StoreResult<Option<T>> {
    let r = conn.prepare_cached(sql).and_then(|mut s| s.query_row(params, row).optional()).map_err(be)?;
    r.map(map).transpose()
}

fn many<T, R>(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
    row: impl FnMut(&Row) -> rusqlite::Result<R>,
    mut map: impl FnMut(R) -> StoreResult<T>,
) -> StoreResult<Vec<T>> {
    let rows = conn
        .prepare_cached(sql)
        .and_then(|mut s| s.query_map(params, row)?.collect::<Result<Vec<_>, _>>())
        .map_err(be)?;
    rows.into_iter().map(&mut map).collect()
}

/// Appends inside the writer's transaction.
fn append_in(c: &Connection, m: NewMessage) -> StoreResult<Appended> {
    let conv = load_conversation(c, m.conversation_id)?.ok_or(StoreError::NotFound("conversation"))?;
    if let Some(client_id) = &m.client_msg_id {
        let existing = one(
            c,
            &format!("SELECT {MESSAGE_COLS} FROM messages WHERE conversation_id = ?1 AND client_msg_id = ?2"),
            params![m.conversation_id.as_uuid(), client_id.as_str()],
            message_row,
            message_from,
        )?;
        if let Some(message) = existing {
            return Ok(Appended { message, conversation: conv, duplicate: true });
        }
    }
    if conv.status == ConversationStatus::Closed {
        return Err(StoreError::ConversationClosed);
    }
    let message = Message {
        id: m.id,
        conversation_id: m.conversation_id,
        shop_id: conv.shop_id,
        seq: conv.last_seq + 1,
        sender: m.sender,
        kind: m.kind,
        text: m.text.into_string(),
        client_msg_id: m.client_msg_id,
        created_at: m.at,
    };
    let (sender_kind, sender_id) = codec::sender_columns(message.sender);
    c.prepare_cached(&format!(
        "INSERT INTO messages ({MESSAGE_COLS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"
    ))
    .and_then(|mut s| {
        s.execute(params![
            message.id.as_uuid(),
            message.conversation_id.as_uuid(),
            message.shop_id.as_uuid(),
            message.seq,
            sender_kind,
            sender_id,
            message.kind.as_str(),
            message.text,
            message.client_msg_id.as_ref().map(|c| c.as_str()),
            message.created_at.millis()
        ])
    })
    .map_err(be)?;
    let waiting = waiting_since_after(conv.waiting_since, &message);
    c.prepare_cached("UPDATE conversations SET last_seq = ?2, waiting_since = ?3, updated_at = ?4 WHERE id = ?1")
        .and_then(|mut s| {
            s.execute(params![
                conv.id.as_uuid(),
                message.seq,
                waiting.map(Timestamp::millis),
                message.created_at.millis()
            ])
        })
        .map_err(be)?;
    let conversation =
        Conversation { last_seq: message.seq, waiting_since: waiting, updated_at: message.created_at, ..conv };
    Ok(Appended { message, conversation, duplicate: false })
}

fn load_conversation(conn: &Connection, id: ConversationId) -> StoreResult<Option<Conversation>> {
    one(
        conn,
        &format!("SELECT {CONVERSATION_COLS} FROM conversations WHERE id = ?1"),
        [id.as_uuid()],
        conversation_row,
        conversation_from,
    )
}

fn open_load(conn: &Connection, agent: AgentId) -> StoreResult<u32> {
    conn.prepare_cached("SELECT COUNT(*) FROM conversations WHERE assigned_agent = ?1 AND status = 'assigned'")
        .and_then(|mut s| s.query_row([agent.as_uuid()], |r| r.get::<_, i64>(0)))
        .map(|n| n as u32)
        .map_err(be)
}

fn save_agent_links(conn: &Connection, agent: &Agent) -> StoreResult<()> {
    let id = agent.id.as_uuid();
    conn.execute("DELETE FROM agent_shops WHERE agent_id = ?1", [id]).map_err(be)?;
    conn.execute("DELETE FROM agent_skill_groups WHERE agent_id = ?1", [id]).map_err(be)?;
    for shop in &agent.shops {
        conn.execute("INSERT INTO agent_shops (agent_id, shop_id) VALUES (?1, ?2)", params![id, shop.as_uuid()])
            .map_err(be)?;
    }
    for group in &agent.skill_groups {
        conn.execute(
            "INSERT INTO agent_skill_groups (agent_id, group_id) VALUES (?1, ?2)",
            params![id, group.as_uuid()],
        )
        .map_err(be)?;
    }
    Ok(())
}

fn in_list(n: usize, start: usize) -> String {
    (0..n).map(|i| format!("?{}", start + i)).collect::<Vec<_>>().join(", ")
}

#[async_trait]
impl Store for SqliteStore {
    async fn server_key(&self, candidate: &str) -> StoreResult<String> {
        let candidate = candidate.to_owned();
        self.pool
            .write(move |c| {
                c.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('server_key', ?1)", [&candidate])
                    .map_err(be)?;
                c.query_row("SELECT value FROM meta WHERE key = 'server_key'", [], |r| r.get(0)).map_err(be)
            })
            .await
    }

    async fn create_shop(&self, shop: &Shop) -> StoreResult<()> {
        let s = shop.clone();
        self.pool
            .write(move |c| {
                c.execute(
                    "INSERT INTO shops (id, slug, name, secret, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![s.id.as_uuid(), s.slug.as_str(), s.name, s.secret.expose(), s.created_at.millis()],
                )
                .map_err(|e| if is_unique_violation(&e) { StoreError::Conflict("shop_slug_taken") } else { be(e) })?;
                Ok(())
            })
            .await
    }

    async fn shops(&self) -> StoreResult<Vec<Shop>> {
        self.pool
            .read(|c| {
                many(c, &format!("SELECT {SHOP_COLS} FROM shops ORDER BY created_at, slug"), [], shop_row, shop_from)
            })
            .await
    }

    async fn shop(&self, id: ShopId) -> StoreResult<Option<Shop>> {
        self.pool
            .read(move |c| {
                one(c, &format!("SELECT {SHOP_COLS} FROM shops WHERE id = ?1"), [id.as_uuid()], shop_row, shop_from)
            })
            .await
    }

    async fn shop_by_slug(&self, slug: &ShopSlug) -> StoreResult<Option<Shop>> {
        let slug = slug.as_str().to_owned();
        self.pool
            .read(move |c| {
                one(c, &format!("SELECT {SHOP_COLS} FROM shops WHERE slug = ?1"), [slug], shop_row, shop_from)
            })
            .await
    }

    async fn set_shop_secret(&self, id: ShopId, secret: &ShopSecret) -> StoreResult<()> {
        let secret = secret.expose().to_owned();
        self.pool
            .write(move |c| {
                let n = c
                    .execute("UPDATE shops SET secret = ?1 WHERE id = ?2", params![secret, id.as_uuid()])
                    .map_err(be)?;
                if n == 0 { Err(StoreError::NotFound("shop")) } else { Ok(()) }
            })
            .await
    }

    async fn create_skill_group(&self, group: &SkillGroup) -> StoreResult<()> {
        let g = group.clone();
        self.pool
            .write(move |c| {
                c.execute(
                    "INSERT INTO skill_groups (id, shop_id, name) VALUES (?1, ?2, ?3)",
                    params![g.id.as_uuid(), g.shop_id.as_uuid(), g.name],
                )
                .map_err(|e| {
                    if is_unique_violation(&e) { StoreError::Conflict("skill_group_exists") } else { be(e) }
                })?;
                Ok(())
            })
            .await
    }

    async fn skill_groups(&self, shop: ShopId) -> StoreResult<Vec<SkillGroup>> {
        self.pool
            .read(move |c| {
                many(
                    c,
                    "SELECT id, shop_id, name FROM skill_groups WHERE shop_id = ?1 ORDER BY name",
                    [shop.as_uuid()],
                    |r| Ok((uuid_col(r, 0)?, uuid_col(r, 1)?, r.get::<_, String>(2)?)),
                    |(id, shop, name)| {
                        Ok(SkillGroup { id: SkillGroupId::from_uuid(id), shop_id: ShopId::from_uuid(shop), name })
                    },
                )
            })
            .await
    }

    async fn create_agent(&self, agent: &Agent) -> StoreResult<()> {
        let a = agent.clone();
        self.pool
            .write(move |c| {
                c.execute(
                    "INSERT INTO agents (id, username, display_name, password_hash, role, max_concurrent, status, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                    params![a.id.as_uuid(), a.username.as_str(), a.display_name, a.password_hash, a.role.as_str(), a.max_concurrent, a.status.as_str(), a.created_at.millis()],
                )
                .map_err(|e| if is_unique_violation(&e) { StoreError::Conflict("username_taken") } else { be(e) })?;
                save_agent_links(c, &a)
            })
            .await
    }

    async fn update_agent(&self, agent: &Agent) -> StoreResult<()> {
        let a = agent.clone();
        self.pool
            .write(move |c| {
                let n = c
                    .execute(
                        "UPDATE agents SET username = ?2, display_name = ?3, password_hash = ?4, role = ?5, max_concurrent = ?6, status = ?7 WHERE id = ?1",
                        params![a.id.as_uuid(), a.username.as_str(), a.display_name, a.password_hash, a.role.as_str(), a.max_concurrent, a.status.as_str()],
                    )
                    .map_err(|e| if is_unique_violation(&e) { StoreError::Conflict("username_taken") } else { be(e) })?;
                if n == 0 {
                    return Err(StoreError::NotFound("agent"));
                }
                save_agent_links(c, &a)
            })
            .await
    }

    async fn agent(&self, id: AgentId) -> StoreResult<Option<Agent>> {
        self.pool
            .read(move |c| {
                let row =
                    one(c, &format!("SELECT {AGENT_COLS} FROM agents WHERE id = ?1"), [id.as_uuid()], agent_row, Ok)?;
                row.map(|r| agent_from(c, r)).transpose()
            })
            .await
    }

    async fn agent_by_username(&self, username: &str) -> StoreResult<Option<Agent>> {
        let username = username.trim().to_ascii_lowercase();
        self.pool
            .read(move |c| {
                let row =
                    one(c, &format!("SELECT {AGENT_COLS} FROM agents WHERE username = ?1"), [username], agent_row, Ok)?;
                row.map(|r| agent_from(c, r)).transpose()
            })
            .await
    }

    async fn agents_of_shop(&self, shop: ShopId) -> StoreResult<Vec<AgentLoad>> {
        self.pool
            .read(move |c| {
                let rows = many(
                    c,
                    "SELECT a.id, a.username, a.display_name, a.password_hash, a.role, a.max_concurrent, a.status, a.created_at FROM agents a JOIN agent_shops s ON s.agent_id = a.id WHERE s.shop_id = ?1 ORDER BY a.username",
                    [shop.as_uuid()],
                    agent_row,
                    Ok,
                )?;
                rows.into_iter()
                    .map(|r| {
                        let agent = agent_from(c, r)?;
                        let open_conversations = open_load(c, agent.id)?;
                        Ok(AgentLoad { agent, open_conversations })
                    })
                    .collect()
            })
            .await
    }

    async fn set_agent_status(&self, id: AgentId, status: AgentStatus) -> StoreResult<()> {
        self.pool
            .write(move |c| {
                let n = c
                    .execute("UPDATE agents SET status = ?1 WHERE id = ?2", params![status.as_str(), id.as_uuid()])
                    .map_err(be)?;
                if n == 0 { Err(StoreError::NotFound("agent")) } else { Ok(()) }
            })
            .await
    }

    async fn create_session(&self, session: &AgentSession) -> StoreResult<()> {
        let s = session.clone();
        self.pool
            .write(move |c| {
                c.execute(
                    "INSERT INTO sessions (token_hash, agent_id, csrf_token, created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![&s.token_hash[..], s.agent_id.as_uuid(), s.csrf_token, s.created_at.millis(), s.expires_at.millis()],
                )
                .map_err(be)?;
                Ok(())
            })
            .await
    }

    async fn session(&self, token_hash: &[u8; 32], now: Timestamp) -> StoreResult<Option<AgentSession>> {
        let hash = *token_hash;
        self.pool
            .read(move |c| {
                one(
                    c,
                    "SELECT agent_id, csrf_token, created_at, expires_at FROM sessions WHERE token_hash = ?1 AND expires_at > ?2",
                    params![&hash[..], now.millis()],
                    |r| Ok((uuid_col(r, 0)?, r.get::<_, String>(1)?, r.get::<_, i64>(2)?, r.get::<_, i64>(3)?)),
                    |(agent, csrf, created, expires)| {
                        Ok(AgentSession {
                            token_hash: hash,
                            agent_id: AgentId::from_uuid(agent),
                            csrf_token: csrf,
                            created_at: ts(created),
                            expires_at: ts(expires),
                        })
                    },
                )
            })
            .await
    }

    async fn delete_session(&self, token_hash: &[u8; 32]) -> StoreResult<()> {
        let hash = *token_hash;
        self.pool
            .write(move |c| {
                c.execute("DELETE FROM sessions WHERE token_hash = ?1", [&hash[..]]).map_err(be)?;
                Ok(())
            })
            .await
    }

    async fn upsert_customers(&self, customers: &[Customer]) -> StoreResult<()> {
        let list = customers.to_vec();
        self.pool
            .write(move |c| {
                let mut stmt = c
                    .prepare_cached(
                        "INSERT INTO customers (id, shop_id, external_id, nickname, tier, tags, phone, lifetime_spend, complaint_count, created_at)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
                         ON CONFLICT (shop_id, external_id) DO UPDATE SET nickname = excluded.nickname, tier = excluded.tier,
                           tags = excluded.tags, phone = excluded.phone, lifetime_spend = excluded.lifetime_spend,
                           complaint_count = excluded.complaint_count",
                    )
                    .map_err(be)?;
                for x in &list {
                    stmt.execute(params![
                        x.id.as_uuid(),
                        x.shop_id.as_uuid(),
                        x.external_id,
                        x.nickname,
                        x.tier.as_str(),
                        codec::join_tags(&x.tags),
                        x.phone.as_ref().map(|p| p.as_str()),
                        x.lifetime_spend.0,
                        x.complaint_count,
                        x.created_at.millis()
                    ])
                    .map_err(be)?;
                }
                Ok(())
            })
            .await
    }

    async fn customer(&self, id: CustomerId) -> StoreResult<Option<Customer>> {
        self.pool
            .read(move |c| {
                one(
                    c,
                    &format!("SELECT {CUSTOMER_COLS} FROM customers WHERE id = ?1"),
                    [id.as_uuid()],
                    |r| customer_row_at(r, 0),
                    customer_from,
                )
            })
            .await
    }

    async fn customer_ids_by_external(
        &self,
        shop: ShopId,
        external_ids: &[String],
    ) -> StoreResult<HashMap<String, CustomerId>> {
        let ids = external_ids.to_vec();
        self.pool
            .read(move |c| {
                let mut stmt =
                    c.prepare_cached("SELECT id FROM customers WHERE shop_id = ?1 AND external_id = ?2").map_err(be)?;
                let mut out = HashMap::new();
                for ext in ids {
                    if let Some(id) =
                        stmt.query_row(params![shop.as_uuid(), ext], |r| uuid_col(r, 0)).optional().map_err(be)?
                    {
                        out.insert(ext, CustomerId::from_uuid(id));
                    }
                }
                Ok(out)
            })
            .await
    }

    async fn upsert_products(&self, products: &[Product]) -> StoreResult<()> {
        let list = products.to_vec();
        self.pool
            .write(move |c| {
                let mut stmt = c
                    .prepare_cached(
                        "INSERT INTO products (id, shop_id, sku, name, model, category, price) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                         ON CONFLICT (shop_id, sku) DO UPDATE SET name = excluded.name, model = excluded.model,
                           category = excluded.category, price = excluded.price",
                    )
                    .map_err(be)?;
                for p in &list {
                    stmt.execute(params![p.id.as_uuid(), p.shop_id.as_uuid(), p.sku, p.name, p.model, p.category.joined(), p.price.0])
                        .map_err(be)?;
                }
                Ok(())
            })
            .await
    }

    async fn products(&self, shop: ShopId, limit: u32) -> StoreResult<Vec<Product>> {
        self.pool
            .read(move |c| {
                many(
                    c,
                    &format!("SELECT {PRODUCT_COLS} FROM products WHERE shop_id = ?1 ORDER BY sku LIMIT ?2"),
                    params![shop.as_uuid(), limit],
                    product_from,
                    |(id, shop, sku, name, model, category, price)| {
                        Ok(Product {
                            id: ProductId::from_uuid(id),
                            shop_id: ShopId::from_uuid(shop),
                            sku,
                            name,
                            model,
                            category: CategoryPath::parse(&category)
                                .map_err(|_| corrupt("category", category.clone()))?,
                            price: Fen(price),
                        })
                    },
                )
            })
            .await
    }

    async fn upsert_orders(&self, orders: &[Order]) -> StoreResult<()> {
        let list = orders.to_vec();
        self.pool
            .write(move |c| {
                for o in &list {
                    // Stale updates (older updated_at) leave the row alone.
                    let stored: Option<(Uuid, i64)> = c
                        .prepare_cached("SELECT id, updated_at FROM orders WHERE shop_id = ?1 AND order_no = ?2")
                        .and_then(|mut s| s.query_row(params![o.shop_id.as_uuid(), o.order_no.as_str()], |r| Ok((uuid_col(r, 0)?, r.get(1)?))).optional())
                        .map_err(be)?;
                    let id = match stored {
                        Some((_, updated)) if updated > o.updated_at.millis() => continue,
                        Some((id, _)) => id,
                        None => o.id.as_uuid(),
                    };
                    c.prepare_cached(
                        "INSERT INTO orders (id, shop_id, order_no, customer_id, status, total, province, city, address, created_at, paid_at, shipped_at, delivered_at, completed_at, cancelled_at, updated_at)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)
                         ON CONFLICT (id) DO UPDATE SET customer_id = excluded.customer_id, status = excluded.status, total = excluded.total,
                           province = excluded.province, city = excluded.city, address = excluded.address, created_at = excluded.created_at,
                           paid_at = excluded.paid_at, shipped_at = excluded.shipped_at, delivered_at = excluded.delivered_at,
                           completed_at = excluded.completed_at, cancelled_at = excluded.cancelled_at, updated_at = excluded.updated_at",
                    )
                    .and_then(|mut s| {
                        s.execute(params![
                            id,
                            o.shop_id.as_uuid(),
                            o.order_no.as_str(),
                            o.customer_id.as_uuid(),
                            o.status.as_str(),
                            o.total.0,
                            o.province,
                            o.city,
                            o.address,
                            o.created_at.millis(),
                            o.paid_at.map(Timestamp::millis),
                            o.shipped_at.map(Timestamp::millis),
                            o.delivered_at.map(Timestamp::millis),
                            o.completed_at.map(Timestamp::millis),
                            o.cancelled_at.map(Timestamp::millis),
                            o.updated_at.millis()
                        ])
                    })
                    .map_err(be)?;
                    c.execute("DELETE FROM order_items WHERE order_id = ?1", [id]).map_err(be)?;
                    let mut ins = c
                        .prepare_cached("INSERT INTO order_items (order_id, line, sku, name, quantity, unit_price) VALUES (?1, ?2, ?3, ?4, ?5, ?6)")
                        .map_err(be)?;
                    for (line, item) in o.items.iter().enumerate() {
                        ins.execute(params![id, line as i64, item.sku, item.name, item.quantity, item.unit_price.0]).map_err(be)?;
                    }
                }
                Ok(())
            })
            .await
    }

    async fn order(&self, id: OrderId) -> StoreResult<Option<Order>> {
        self.pool
            .read(move |c| {
                let row =
                    one(c, &format!("SELECT {ORDER_COLS} FROM orders WHERE id = ?1"), [id.as_uuid()], order_row, Ok)?;
                row.map(|r| order_from(c, r)).transpose()
            })
            .await
    }

    async fn order_by_no(&self, shop: ShopId, order_no: &OrderNo) -> StoreResult<Option<Order>> {
        let no = order_no.as_str().to_owned();
        self.pool
            .read(move |c| {
                let row = one(
                    c,
                    &format!("SELECT {ORDER_COLS} FROM orders WHERE shop_id = ?1 AND order_no = ?2"),
                    params![shop.as_uuid(), no],
                    order_row,
                    Ok,
                )?;
                row.map(|r| order_from(c, r)).transpose()
            })
            .await
    }

    async fn order_ids_by_no(&self, shop: ShopId, order_nos: &[OrderNo]) -> StoreResult<HashMap<OrderNo, OrderId>> {
        let nos = order_nos.to_vec();
        self.pool
            .read(move |c| {
                let mut stmt =
                    c.prepare_cached("SELECT id FROM orders WHERE shop_id = ?1 AND order_no = ?2").map_err(be)?;
                let mut out = HashMap::new();
                for no in nos {
                    if let Some(id) = stmt
                        .query_row(params![shop.as_uuid(), no.as_str()], |r| uuid_col(r, 0))
                        .optional()
                        .map_err(be)?
                    {
                        out.insert(no, OrderId::from_uuid(id));
                    }
                }
                Ok(out)
            })
            .await
    }

    async fn orders_of_customer(&self, customer: CustomerId, limit: u32) -> StoreResult<Vec<Order>> {
        self.pool
            .read(move |c| {
                let rows = many(
                    c,
                    &format!(
                        "SELECT {ORDER_COLS} FROM orders WHERE customer_id = ?1 ORDER BY created_at DESC LIMIT ?2"
                    ),
                    params![customer.as_uuid(), limit],
                    order_row,
                    Ok,
                )?;
                rows.into_iter().map(|r| order_from(c, r)).collect()
            })
            .await
    }

    async fn upsert_shipments(&self, shipments: &[Shipment]) -> StoreResult<()> {
        let list = shipments.to_vec();
        self.pool
            .write(move |c| {
                for s in &list {
                    let stored: Option<Uuid> = c
                        .prepare_cached("SELECT id FROM shipments WHERE shop_id = ?1 AND tracking_no = ?2")
                        .and_then(|mut st| st.query_row(params![s.shop_id.as_uuid(), s.tracking_no], |r| uuid_col(r, 0)).optional())
                        .map_err(be)?;
                    let id = stored.unwrap_or(s.id.as_uuid());
                    c.prepare_cached(
                        "INSERT INTO shipments (id, shop_id, order_id, carrier, tracking_no, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                         ON CONFLICT (id) DO UPDATE SET order_id = excluded.order_id, carrier = excluded.carrier, updated_at = excluded.updated_at",
                    )
                    .and_then(|mut st| st.execute(params![id, s.shop_id.as_uuid(), s.order_id.as_uuid(), s.carrier, s.tracking_no, s.updated_at.millis()]))
                    .map_err(be)?;
                    c.execute("DELETE FROM shipment_events WHERE shipment_id = ?1", [id]).map_err(be)?;
                    let mut ins = c
                        .prepare_cached("INSERT INTO shipment_events (shipment_id, line, at, location, description) VALUES (?1, ?2, ?3, ?4, ?5)")
                        .map_err(be)?;
                    for (line, e) in s.events.iter().enumerate() {
                        ins.execute(params![id, line as i64, e.at.millis(), e.location, e.description]).map_err(be)?;
                    }
                }
                Ok(())
            })
            .await
    }

    async fn shipments_of_order(&self, order: OrderId) -> StoreResult<Vec<Shipment>> {
        self.pool
            .read(move |c| {
                let rows = many(
                    c,
                    "SELECT id, shop_id, order_id, carrier, tracking_no, updated_at FROM shipments WHERE order_id = ?1 ORDER BY updated_at",
                    [order.as_uuid()],
                    |r| Ok((uuid_col(r, 0)?, uuid_col(r, 1)?, uuid_col(r, 2)?, r.get::<_, String>(3)?, r.get::<_, String>(4)?, r.get::<_, i64>(5)?)),
                    Ok,
                )?;
                rows.into_iter()
                    .map(|(id, shop, order, carrier, tracking_no, updated)| {
                        let events = many(
                            c,
                            "SELECT at, location, description FROM shipment_events WHERE shipment_id = ?1 ORDER BY line",
                            [id],
                            |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?)),
                            |(at, location, description)| Ok(ShipmentEvent { at: ts(at), location, description }),
                        )?;
                        Ok(Shipment {
                            id: ShipmentId::from_uuid(id),
                            shop_id: ShopId::from_uuid(shop),
                            order_id: OrderId::from_uuid(order),
                            carrier,
                            tracking_no,
                            events,
                            updated_at: ts(updated),
                        })
                    })
                    .collect()
            })
            .await
    }

    async fn open_conversation(&self, conversation: &Conversation) -> StoreResult<Conversation> {
        let x = conversation.clone();
        self.pool
            .write(move |c| {
                let existing = one(
                    c,
                    &format!(
                        "SELECT {CONVERSATION_COLS} FROM conversations WHERE customer_id = ?1 AND status <> 'closed'"
                    ),
                    [x.customer_id.as_uuid()],
                    conversation_row,
                    conversation_from,
                )?;
                if let Some(existing) = existing {
                    return Ok(existing);
                }
                c.execute(
                    &format!(
                        "INSERT INTO conversations ({CONVERSATION_COLS}) VALUES ({})",
                        in_list(CONVERSATION_COUNT, 1)
                    ),
                    params![
                        x.id.as_uuid(),
                        x.shop_id.as_uuid(),
                        x.customer_id.as_uuid(),
                        x.channel.as_str(),
                        x.status.as_str(),
                        x.assigned_agent.map(|a| a.as_uuid()),
                        x.skill_group.map(|g| g.as_uuid()),
                        x.priority,
                        codec::join_tags(&x.tags),
                        x.csat,
                        x.last_seq,
                        x.waiting_since.map(Timestamp::millis),
                        x.created_at.millis(),
                        x.updated_at.millis(),
                        x.closed_at.map(Timestamp::millis)
                    ],
                )
                .map_err(be)?;
                Ok(x)
            })
            .await
    }

    async fn conversation(&self, id: ConversationId) -> StoreResult<Option<Conversation>> {
        self.pool.read(move |c| load_conversation(c, id)).await
    }

    async fn open_conversation_of_customer(&self, customer: CustomerId) -> StoreResult<Option<Conversation>> {
        self.pool
            .read(move |c| {
                one(
                    c,
                    &format!(
                        "SELECT {CONVERSATION_COLS} FROM conversations WHERE customer_id = ?1 AND status <> 'closed'"
                    ),
                    [customer.as_uuid()],
                    conversation_row,
                    conversation_from,
                )
            })
            .await
    }

    async fn conversations(&self, filter: &ConversationFilter) -> StoreResult<Vec<ConversationOverview>> {
        let f = filter.clone();
        self.pool
            .read(move |c| {
                if f.shops.is_empty() {
                    return Ok(Vec::new());
                }
                let mut args: Vec<Value> = Vec::new();
                let mut push = |v: Value| {
                    args.push(v);
                    format!("?{}", args.len())
                };
                let shops: Vec<String> = f.shops.iter().map(|s| push(Value::Blob(s.as_uuid().as_bytes().to_vec()))).collect();
                let mut sql = format!(
                    "SELECT {}, {}, {} FROM conversations c JOIN customers cu ON cu.id = c.customer_id
                     LEFT JOIN messages m ON m.conversation_id = c.id AND m.seq = c.last_seq
                     WHERE c.shop_id IN ({})",
                    prefixed("c", CONVERSATION_COLS),
                    prefixed("cu", CUSTOMER_COLS),
                    prefixed("m", MESSAGE_COLS),
                    shops.join(", ")
                );
                if !f.statuses.is_empty() {
                    let st: Vec<String> = f.statuses.iter().map(|s| push(Value::Text(s.as_str().into()))).collect();
                    sql += &format!(" AND c.status IN ({})", st.join(", "));
                }
                if let Some(agent) = f.assigned_agent {
                    sql += &format!(" AND c.assigned_agent = {}", push(Value::Blob(agent.as_uuid().as_bytes().to_vec())));
                }
                if let Some(customer) = f.customer {
                    sql += &format!(" AND c.customer_id = {}", push(Value::Blob(customer.as_uuid().as_bytes().to_vec())));
                }
                if let Some(q) = f.search.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
                    let like = format!("%{}%", q.replace(['%', '_', '\\'], ""));
                    let l = push(Value::Text(like));
                    let exact = push(Value::Text(q.to_owned()));
                    sql += &format!(
                        " AND (cu.nickname LIKE {l} OR cu.phone LIKE {l} OR EXISTS (SELECT 1 FROM orders o WHERE o.customer_id = c.customer_id AND o.order_no = {exact}))"
                    );
                }
                sql += &format!(
                    " ORDER BY c.waiting_since IS NULL, c.waiting_since, c.priority DESC, c.updated_at DESC LIMIT {}",
                    push(Value::Integer(i64::from(f.limit.clamp(1, 500))))
                );
                let rows = c
                    .prepare(&sql)
                    .and_then(|mut s| {
                        s.query_map(params_from_iter(args.iter()), |r| {
                            let conv = conversation_row_at(r, 0)?;
                            let cust = customer_row_at(r, CONVERSATION_COUNT)?;
                            let has_message = r.get::<_, Option<Uuid>>(CONVERSATION_COUNT + 10)?.is_some();
                            let msg = if has_message { Some(message_row_at(r, CONVERSATION_COUNT + 10)?) } else { None };
                            Ok((conv, cust, msg))
                        })?
                        .collect::<Result<Vec<_>, _>>()
                    })
                    .map_err(be)?;
                rows.into_iter()
                    .map(|(conv, cust, msg)| {
                        Ok(ConversationOverview {
                            conversation: conversation_from(conv)?,
                            customer: customer_from(cust)?,
                            last_message: msg.map(message_from).transpose()?,
                        })
                    })
                    .collect()
            })
            .await
    }

    async fn assign_conversation(
        &self,
        id: ConversationId,
        agent: AgentId,
        max_concurrent: u32,
        now: Timestamp,
    ) -> StoreResult<Conversation> {
        self.pool
            .write(move |c| {
                let conv = load_conversation(c, id)?.ok_or(StoreError::NotFound("conversation"))?;
                match conv.status {
                    ConversationStatus::Closed => return Err(StoreError::ConversationClosed),
                    ConversationStatus::Assigned if conv.assigned_agent == Some(agent) => return Ok(conv),
                    ConversationStatus::Assigned => return Err(StoreError::Conflict("already_assigned")),
                    ConversationStatus::Bot | ConversationStatus::Queued => {}
                }
                if open_load(c, agent)? >= max_concurrent {
                    return Err(StoreError::CapacityReached);
                }
                c.execute(
                    "UPDATE conversations SET status = 'assigned', assigned_agent = ?2, updated_at = ?3 WHERE id = ?1",
                    params![id.as_uuid(), agent.as_uuid(), now.millis()],
                )
                .map_err(be)?;
                load_conversation(c, id)?.ok_or(StoreError::NotFound("conversation"))
            })
            .await
    }

    async fn transfer_conversation(
        &self,
        id: ConversationId,
        to: TransferTarget,
        now: Timestamp,
    ) -> StoreResult<Conversation> {
        self.pool
            .write(move |c| {
                let conv = load_conversation(c, id)?.ok_or(StoreError::NotFound("conversation"))?;
                if conv.status == ConversationStatus::Closed {
                    return Err(StoreError::ConversationClosed);
                }
                match to {
                    TransferTarget::Agent { agent, max_concurrent } => {
                        if conv.assigned_agent != Some(agent) && open_load(c, agent)? >= max_concurrent {
                            return Err(StoreError::CapacityReached);
                        }
                        c.execute(
                            "UPDATE conversations SET status = 'assigned', assigned_agent = ?2, updated_at = ?3 WHERE id = ?1",
                            params![id.as_uuid(), agent.as_uuid(), now.millis()],
                        )
                    }
                    TransferTarget::Group(group) => c.execute(
                        "UPDATE conversations SET status = 'queued', assigned_agent = NULL, skill_group = ?2, updated_at = ?3 WHERE id = ?1",
                        params![id.as_uuid(), group.as_uuid(), now.millis()],
                    ),
                }
                .map_err(be)?;
                load_conversation(c, id)?.ok_or(StoreError::NotFound("conversation"))
            })
            .await
    }

    async fn close_conversation(&self, id: ConversationId, now: Timestamp) -> StoreResult<Conversation> {
        self.pool
            .write(move |c| {
                let conv = load_conversation(c, id)?.ok_or(StoreError::NotFound("conversation"))?;
                if conv.status == ConversationStatus::Closed {
                    return Ok(conv);
                }
                c.execute(
                    "UPDATE conversations SET status = 'closed', waiting_since = NULL, closed_at = ?2, updated_at = ?2 WHERE id = ?1",
                    params![id.as_uuid(), now.millis()],
                )
                .map_err(be)?;
                load_conversation(c, id)?.ok_or(StoreError::NotFound("conversation"))
            })
            .await
    }

    async fn rate_conversation(&self, id: ConversationId, csat: u8) -> StoreResult<Conversation> {
        self.pool
            .write(move |c| {
                let conv = load_conversation(c, id)?.ok_or(StoreError::NotFound("conversation"))?;
                if conv.csat.is_some() {
                    return Err(StoreError::Conflict("already_rated"));
                }
                c.execute("UPDATE conversations SET csat = ?2 WHERE id = ?1", params![id.as_uuid(), csat])
                    .map_err(be)?;
                load_conversation(c, id)?.ok_or(StoreError::NotFound("conversation"))
            })
            .await
    }

    async fn append_message(&self, m: NewMessage) -> StoreResult<Appended> {
        self.pool.write(move |c| append_in(c, m)).await
    }

    async fn messages_after(
        &self,
        conversation: ConversationId,
        after_seq: i64,
        limit: u32,
    ) -> StoreResult<Vec<Message>> {
        self.pool
            .read(move |c| {
                many(
                    c,
                    &format!("SELECT {MESSAGE_COLS} FROM messages WHERE conversation_id = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3"),
                    params![conversation.as_uuid(), after_seq, limit],
                    message_row,
                    message_from,
                )
            })
            .await
    }

    async fn messages_before(
        &self,
        conversation: ConversationId,
        before_seq: i64,
        limit: u32,
    ) -> StoreResult<Vec<Message>> {
        self.pool
            .read(move |c| {
                let mut list = many(
                    c,
                    &format!("SELECT {MESSAGE_COLS} FROM messages WHERE conversation_id = ?1 AND seq < ?2 ORDER BY seq DESC LIMIT ?3"),
                    params![conversation.as_uuid(), before_seq, limit],
                    message_row,
                    message_from,
                )?;
                list.reverse();
                Ok(list)
            })
            .await
    }

    async fn bot_state(&self, conversation: ConversationId) -> StoreResult<Option<String>> {
        self.pool
            .read(move |c| {
                one(
                    c,
                    "SELECT state FROM bot_states WHERE conversation_id = ?1",
                    [conversation.as_uuid()],
                    |r| r.get::<_, String>(0),
                    Ok,
                )
            })
            .await
    }

    async fn apply_bot_turn(&self, turn: BotTurnWrite) -> StoreResult<BotTurnWritten> {
        self.pool
            .write(move |c| {
                let conv =
                    load_conversation(c, turn.conversation)?.ok_or(StoreError::NotFound("conversation"))?;
                if conv.status != ConversationStatus::Bot {
                    return Err(StoreError::Conflict("not_bot"));
                }
                let at = turn.at.millis();
                for change in &turn.order_changes {
                    let order = match change {
                        OrderChange::Cancel { order } | OrderChange::Address { order, .. } => *order,
                    };
                    let status = one(
                        c,
                        "SELECT status FROM orders WHERE id = ?1 AND shop_id = ?2",
                        params![order.as_uuid(), turn.shop.as_uuid()],
                        |r| r.get::<_, String>(0),
                        |s| codec::order_status(&s),
                    )?
                    .ok_or(StoreError::NotFound("order"))?;
                    match change {
                        OrderChange::Cancel { .. } => {
                            if status.has_shipped() || !status.can_become(OrderStatus::Cancelled) {
                                return Err(StoreError::Conflict("order_state"));
                            }
                            c.execute(
                                "UPDATE orders SET status = 'cancelled', cancelled_at = ?2, updated_at = ?2 WHERE id = ?1",
                                params![order.as_uuid(), at],
                            )
                            .map_err(be)?;
                        }
                        OrderChange::Address { province, city, address, .. } => {
                            if status.has_shipped() || matches!(status, OrderStatus::Cancelled | OrderStatus::Refunded) {
                                return Err(StoreError::Conflict("order_state"));
                            }
                            c.execute(
                                "UPDATE orders SET province = ?2, city = ?3, address = ?4, updated_at = ?5 WHERE id = ?1",
                                params![order.as_uuid(), province, city, address, at],
                            )
                            .map_err(be)?;
                        }
                    }
                }
                for r in &turn.requests {
                    c.prepare_cached(
                        "INSERT INTO order_requests (id, shop_id, order_id, conversation_id, kind, detail, needs_review, created_at) \
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                    )
                    .and_then(|mut s| {
                        s.execute(params![
                            r.id,
                            turn.shop.as_uuid(),
                            r.order.as_uuid(),
                            turn.conversation.as_uuid(),
                            r.kind.as_str(),
                            r.detail,
                            r.needs_review,
                            at
                        ])
                    })
                    .map_err(be)?;
                }
                let mut appended = Vec::with_capacity(turn.messages.len());
                for m in turn.messages {
                    appended.push(append_in(c, m)?);
                }
                c.prepare_cached(
                    "INSERT INTO bot_states (conversation_id, state, updated_at) VALUES (?1, ?2, ?3) \
                     ON CONFLICT (conversation_id) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at",
                )
                .and_then(|mut s| s.execute(params![turn.conversation.as_uuid(), turn.state, at]))
                .map_err(be)?;
                let a = &turn.audit;
                c.prepare_cached(
                    "INSERT INTO bot_audit (shop_id, conversation_id, at, intent, confidence, emotion, order_no, outcome) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                )
                .and_then(|mut s| {
                    s.execute(params![
                        turn.shop.as_uuid(),
                        turn.conversation.as_uuid(),
                        at,
                        a.intent,
                        f64::from(a.confidence),
                        a.emotion,
                        a.order_no,
                        a.outcome
                    ])
                })
                .map_err(be)?;
                if let Some(raise) = turn.handoff_priority {
                    c.execute(
                        "UPDATE conversations SET status = 'queued', priority = priority + ?2, updated_at = ?3 WHERE id = ?1",
                        params![turn.conversation.as_uuid(), raise, at],
                    )
                    .map_err(be)?;
                }
                let conversation =
                    load_conversation(c, turn.conversation)?.ok_or(StoreError::NotFound("conversation"))?;
                Ok(BotTurnWritten { appended, conversation })
            })
            .await
    }

    async fn close_idle_bot_conversations(
        &self,
        quiet_since: Timestamp,
        now: Timestamp,
        limit: u32,
    ) -> StoreResult<Vec<Conversation>> {
        self.pool
            .write(move |c| {
                let mut stmt = c
                    .prepare_cached(&format!(
                        "UPDATE conversations SET status = 'closed', waiting_since = NULL, closed_at = ?2, updated_at = ?2 \
                         WHERE id IN (SELECT id FROM conversations WHERE status = 'bot' AND updated_at < ?1 LIMIT ?3) \
                         RETURNING {CONVERSATION_COLS}"
                    ))
                    .map_err(be)?;
                let rows = stmt
                    .query_map(params![quiet_since.millis(), now.millis(), limit], conversation_row)
                    .map_err(be)?
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(be)?;
                rows.into_iter().map(conversation_from).collect()
            })
            .await
    }

    async fn bot_audit(&self, shop: ShopId, since: Timestamp, limit: u32) -> StoreResult<Vec<BotAuditRow>> {
        self.pool
            .read(move |c| {
                let mut stmt = c
                    .prepare_cached(
                        "SELECT conversation_id, at, intent, confidence, emotion, order_no, outcome FROM bot_audit \
                         WHERE shop_id = ?1 AND at >= ?2 ORDER BY seq LIMIT ?3",
                    )
                    .map_err(be)?;
                let rows = stmt
                    .query_map(params![shop.as_uuid(), since.millis(), limit], |r| {
                        Ok(BotAuditRow {
                            conversation: ConversationId::from_uuid(r.get(0)?),
                            at: Timestamp(r.get(1)?),
                            audit: BotAudit {
                                intent: r.get(2)?,
                                confidence: r.get::<_, f64>(3)? as f32,
                                emotion: r.get(4)?,
                                order_no: r.get(5)?,
                                outcome: r.get(6)?,
                            },
                        })
                    })
                    .map_err(be)?;
                rows.collect::<Result<Vec<_>, _>>().map_err(be)
            })
            .await
    }
}

fn prefixed(alias: &str, cols: &str) -> String {
    cols.split(", ").map(|c| format!("{alias}.{c}")).collect::<Vec<_>>().join(", ")
}
