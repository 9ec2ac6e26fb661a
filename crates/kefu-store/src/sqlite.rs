//! The SQLite store: embedded, WAL, group commit (see `sqlite/pool.rs`).

mod agents;
mod attachments;
mod bot;
mod commerce;
mod knowledge;
mod notify;
mod phrases;
mod pool;
mod requests;
mod rows;
mod rules;

use std::collections::HashMap;
use std::path::Path;

use async_trait::async_trait;
use kefu_core::agent::{Agent, AgentSession, AgentStatus, Username};
use kefu_core::attachment::ShopBudget;
use kefu_core::botturn::{
    BotAudit, BotAuditRow, BotMemory, BotTurnWrite, BotTurnWritten, OrderChange, SaidAndAnswered,
};
use kefu_core::catalog::Product;
use kefu_core::clock::Timestamp;
use kefu_core::conversation::{Appended, ClientMsgId, Conversation, ConversationStatus, Message, NewMessage, Sender};
use kefu_core::customer::{Customer, MaskedPhone};
use kefu_core::id::*;
use kefu_core::kpi::{DayCounts, Period, ReplyWindow, ResponseCounts, Scope};
use kefu_core::money::Fen;
use kefu_core::order::{Order, OrderItem, OrderNo, OrderWithShipments, Shipment};
use kefu_core::outbound::{AttemptDone, ClaimRoom, Delivery, DeliveryState, Endpoint, NotifyEvent};
use kefu_core::shop::{Shop, ShopSecret, ShopSlug, SkillGroup};
use kefu_core::store::*;

use crate::{CLOSED_ORDER, OPEN_ORDER};
use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, Row, params, params_from_iter};
use uuid::Uuid;

use crate::codec::{self, corrupt};
use crate::{Durability, SQLITE_MIGRATIONS};
use rows::*;

pub struct SqliteStore {
    pool: pool::Pool,
    /// `kefu-images.db`: images, with a writer of their own, so a big blob's
    /// commit never holds up the messages' (see `kefu bench chat --images-per-sec`).
    images: pool::Pool,
}

fn be(e: rusqlite::Error) -> StoreError {
    StoreError::backend(e)
}

fn is_unique_violation(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _) if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE || f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY)
}

fn migrate(conn: &mut Connection) -> StoreResult<()> {
    migrate_with(conn, SQLITE_MIGRATIONS)
}

fn migrate_images(conn: &mut Connection) -> StoreResult<()> {
    migrate_with(conn, crate::SQLITE_IMAGE_MIGRATIONS)
}

fn migrate_with(conn: &mut Connection, migrations: &[crate::Migration]) -> StoreResult<()> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)",
    )
    .map_err(be)?;
    for (version, name, sql) in migrations {
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
        let images_path = crate::sqlite_images_path(&path);
        let pool = tokio::task::spawn_blocking(move || pool::Pool::open(&path, durability, migrate))
            .await
            .map_err(StoreError::backend)??;
        let images = tokio::task::spawn_blocking(move || pool::Pool::open(&images_path, durability, migrate_images))
            .await
            .map_err(StoreError::backend)??;
        Ok(Self { pool, images })
    }

    /// A consistent copy of the live database, taken while it serves, and
    /// of its images beside it (`dest` → `dest`'s `-images.db`). Each file
    /// is one snapshot; an image sent between the two may be in the images
    /// copy without its message, never the other way round (images first).
    pub async fn backup_to(&self, dest: &Path) -> StoreResult<()> {
        fn copy(conn: &Connection, dest: &Path) -> StoreResult<()> {
            let mut out = Connection::open(dest).map_err(be)?;
            let backup = rusqlite::backup::Backup::new(conn, &mut out).map_err(be)?;
            backup.run_to_completion(256, std::time::Duration::from_millis(0), None).map_err(be)
        }
        let images = crate::sqlite_images_path(dest);
        self.images.read(move |conn| copy(conn, &images)).await?;
        let dest = dest.to_owned();
        self.pool.read(move |conn| copy(conn, &dest)).await
    }

    pub fn path(&self) -> &Path {
        self.pool.path()
    }
}

// ---------------------------------------------------------------- row mapping

/// `codec::assign_sql` in this backend's placeholders.
static ASSIGN_SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| codec::assign_sql(|n| format!("?{n}")));

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
        self.pool.write(move |c| agents::create(c, &a)).await
    }

    async fn update_agent(&self, agent: &Agent) -> StoreResult<()> {
        let a = agent.clone();
        self.pool.write(move |c| agents::update(c, &a)).await
    }

    async fn agent(&self, id: AgentId) -> StoreResult<Option<Agent>> {
        self.pool.read(move |c| agents::by(c, "id", id.as_uuid())).await
    }

    async fn agent_by_username(&self, username: &str) -> StoreResult<Option<Agent>> {
        let username = username.trim().to_ascii_lowercase();
        self.pool.read(move |c| agents::by(c, "username", username)).await
    }

    async fn agents_of_shop(&self, shop: ShopId) -> StoreResult<Vec<AgentLoad>> {
        self.pool.read(move |c| agents::of_shop(c, shop)).await
    }

    async fn someone_online(&self, shop: ShopId) -> StoreResult<bool> {
        self.pool.read(move |c| agents::someone_online(c, shop)).await
    }

    async fn set_agent_status(&self, id: AgentId, status: AgentStatus) -> StoreResult<()> {
        self.pool.write(move |c| agents::set_status(c, id, status)).await
    }

    async fn agent_seen(&self, id: AgentId, at: Timestamp) -> StoreResult<()> {
        self.pool.write(move |c| agents::seen(c, id, at.millis())).await
    }

    async fn sweep_absent(&self, before: Timestamp, now: Timestamp) -> StoreResult<Absence> {
        if !self.pool.read(move |c| agents::anything_absent(c, before.millis())).await? {
            return Ok(Absence::default());
        }
        self.pool.write(move |c| agents::sweep_absent(c, before.millis(), now.millis())).await
    }

    async fn lapse_offers(&self, now: Timestamp) -> StoreResult<Lapsed> {
        if !self.pool.read(move |c| agents::offers_lapsed(c, now.millis())).await? {
            return Ok(Lapsed::default());
        }
        self.pool.write(move |c| agents::lapse_offers(c, now.millis())).await
    }

    async fn create_session(&self, session: &AgentSession) -> StoreResult<()> {
        let s = session.clone();
        self.pool.write(move |c| agents::create_session(c, &s)).await
    }

    async fn session(&self, token_hash: &[u8; 32], now: Timestamp) -> StoreResult<Option<AgentSession>> {
        let hash = *token_hash;
        self.pool.read(move |c| agents::session(c, hash, now)).await
    }

    async fn revoke_sessions(&self, agent: AgentId, keep: Option<[u8; 32]>) -> StoreResult<u32> {
        self.pool.write(move |c| agents::revoke_sessions(c, agent, keep)).await
    }

    async fn disable_agent(&self, id: AgentId, now: Timestamp) -> StoreResult<Vec<Conversation>> {
        self.pool.write(move |c| agents::disable(c, id, now)).await
    }

    async fn enable_agent(&self, id: AgentId) -> StoreResult<()> {
        self.pool.write(move |c| agents::enable(c, id)).await
    }

    async fn release_conversations(
        &self,
        agent: AgentId,
        shops: Option<Vec<ShopId>>,
        now: Timestamp,
    ) -> StoreResult<Vec<Conversation>> {
        self.pool.write(move |c| agents::release(c, agent, shops.as_deref(), now.millis())).await
    }

    async fn delete_session(&self, token_hash: &[u8; 32]) -> StoreResult<()> {
        let hash = *token_hash;
        self.pool.write(move |c| agents::delete_session(c, hash)).await
    }

    async fn upsert_customers(&self, customers: &[Customer]) -> StoreResult<()> {
        let list = customers.to_vec();
        self.pool.write(move |c| commerce::upsert_customers(c, &list)).await
    }

    async fn customer(&self, id: CustomerId) -> StoreResult<Option<Customer>> {
        self.pool.read(move |c| commerce::customer(c, id)).await
    }

    async fn customer_ids_by_external(
        &self,
        shop: ShopId,
        external_ids: &[String],
    ) -> StoreResult<HashMap<String, CustomerId>> {
        let ids = external_ids.to_vec();
        self.pool.read(move |c| commerce::customer_ids_by_external(c, shop, ids)).await
    }

    async fn upsert_products(&self, products: &[Product]) -> StoreResult<()> {
        let list = products.to_vec();
        self.pool.write(move |c| commerce::upsert_products(c, &list)).await
    }

    async fn products(&self, shop: ShopId, limit: u32) -> StoreResult<Vec<Product>> {
        self.pool.read(move |c| commerce::products(c, shop, limit)).await
    }

    async fn product_by_sku(&self, shop: ShopId, sku: &str) -> StoreResult<Option<Product>> {
        let sku = sku.to_owned();
        self.pool.read(move |c| commerce::product_by_sku(c, shop, &sku)).await
    }

    async fn upsert_orders(&self, orders: &[Order]) -> StoreResult<()> {
        let list = orders.to_vec();
        self.pool.write(move |c| commerce::upsert_orders(c, &list)).await
    }

    async fn order(&self, id: OrderId) -> StoreResult<Option<Order>> {
        self.pool.read(move |c| commerce::order(c, id)).await
    }

    async fn order_by_no(&self, shop: ShopId, order_no: &OrderNo) -> StoreResult<Option<Order>> {
        let no = order_no.as_str().to_owned();
        self.pool.read(move |c| commerce::order_by_no(c, shop, no)).await
    }

    async fn order_ids_by_no(&self, shop: ShopId, order_nos: &[OrderNo]) -> StoreResult<HashMap<OrderNo, OrderId>> {
        let nos = order_nos.to_vec();
        self.pool.read(move |c| commerce::order_ids_by_no(c, shop, nos)).await
    }

    async fn orders_of_customer(&self, customer: CustomerId, limit: u32) -> StoreResult<Vec<Order>> {
        self.pool.read(move |c| commerce::orders_of_customer(c, customer, limit)).await
    }

    async fn upsert_shipments(&self, shipments: &[Shipment]) -> StoreResult<()> {
        let list = shipments.to_vec();
        self.pool.write(move |c| commerce::upsert_shipments(c, &list)).await
    }

    async fn shipments_of_order(&self, order: OrderId) -> StoreResult<Vec<Shipment>> {
        self.pool.read(move |c| commerce::shipments_of_order(c, order)).await
    }

    async fn orders_with_shipments(&self, customer: CustomerId, limit: u32) -> StoreResult<Vec<OrderWithShipments>> {
        self.pool.read(move |c| commerce::orders_with_shipments(c, customer, limit)).await
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
                        x.closed_at.map(Timestamp::millis),
                        x.assigned_at.map(Timestamp::millis),
                        x.answered_at.map(Timestamp::millis),
                        x.last_answer_at.map(Timestamp::millis),
                        x.offered_until.map(Timestamp::millis)
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
                // Literal terms, so the partial indexes of migration 0004 match.
                let order = match f.slice() {
                    ListSlice::Open => {
                        sql += " AND c.status <> 'closed'";
                        OPEN_ORDER
                    }
                    ListSlice::Closed => {
                        sql += " AND c.status = 'closed'";
                        CLOSED_ORDER
                    }
                    ListSlice::Mixed => OPEN_ORDER,
                };
                // A literal, not a parameter: SQLite recompiles a statement whose LIMIT
                // is bound, on every run (see `rows::no_bound_limits`).
                sql += &format!(" ORDER BY {order} LIMIT {}", f.limit.clamp(1, 500));
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
        offer_until: Option<Timestamp>,
    ) -> StoreResult<Conversation> {
        self.pool
            .write(move |c| {
                let conv = load_conversation(c, id)?.ok_or(StoreError::NotFound("conversation"))?;
                match conv.status {
                    ConversationStatus::Closed => return Err(StoreError::ConversationClosed),
                    ConversationStatus::Assigned if conv.assigned_agent == Some(agent) => {
                        if conv.offered_until.is_none() || offer_until.is_some() {
                            return Ok(conv);
                        }
                        // Accepting their offer.
                        c.execute(
                            "UPDATE conversations SET offered_until = NULL, updated_at = ?2 WHERE id = ?1",
                            params![id.as_uuid(), now.millis()],
                        )
                        .map_err(be)?;
                        return load_conversation(c, id)?.ok_or(StoreError::NotFound("conversation"));
                    }
                    ConversationStatus::Assigned => return Err(StoreError::Conflict("already_assigned")),
                    ConversationStatus::Bot | ConversationStatus::Queued => {}
                }
                if open_load(c, agent)? >= max_concurrent {
                    return Err(StoreError::CapacityReached);
                }
                c.execute(
                    &ASSIGN_SQL,
                    params![id.as_uuid(), agent.as_uuid(), now.millis(), offer_until.map(Timestamp::millis)],
                )
                .map_err(be)?;
                load_conversation(c, id)?.ok_or(StoreError::NotFound("conversation"))
            })
            .await
    }

    async fn take_next_queued(
        &self,
        shop: ShopId,
        agent: AgentId,
        now: Timestamp,
        offer_until: Option<Timestamp>,
    ) -> StoreResult<Option<Conversation>> {
        self.pool
            .write(move |c| {
                // The agent as they are now, with their load, in one statement.
                let who = c
                    .prepare_cached(
                        "SELECT a.status, a.disabled, a.role, a.max_concurrent, (SELECT COUNT(*) FROM conversations v \
                         WHERE v.assigned_agent = a.id AND v.status = 'assigned'), (SELECT COUNT(*) FROM conversations v \
                         WHERE v.assigned_agent = a.id AND v.offered_until IS NOT NULL) \
                         FROM agents a WHERE a.id = ?1",
                    )
                    .and_then(|mut s| {
                        s.query_row([agent.as_uuid()], |r| {
                            let loads = (r.get::<_, i64>(4)?, r.get::<_, i64>(5)?);
                            Ok((r.get::<_, String>(0)?, r.get::<_, bool>(1)?, r.get::<_, String>(2)?, r.get::<_, i64>(3)?, loads))
                        })
                        .optional()
                    })
                    .map_err(be)?;
                let Some((status, disabled, role, max, (load, pending))) = who else { return Ok(None) };
                if codec::agent_status(&status)? != AgentStatus::Online || disabled || !codec::role(&role)?.handles_conversations() {
                    return Ok(None);
                }
                if load >= max {
                    return Err(StoreError::CapacityReached);
                }
                if offer_until.is_some() && pending >= i64::from(kefu_core::routing::MAX_PENDING_OFFERS) {
                    return Ok(None); // the next comes when they accept one
                }
                let next = c
                    .prepare_cached(&format!(
                        "SELECT c.id FROM conversations c WHERE c.shop_id = ?1 AND c.status <> 'closed' AND c.status = 'queued' \
                         AND (c.skill_group IS NULL OR c.skill_group IN (SELECT group_id FROM agent_skill_groups WHERE agent_id = ?2)) \
                         ORDER BY {OPEN_ORDER} LIMIT 1"
                    ))
                    .and_then(|mut s| s.query_row(params![shop.as_uuid(), agent.as_uuid()], |r| uuid_col(r, 0)).optional())
                    .map_err(be)?;
                let Some(id) = next else { return Ok(None) };
                c.execute(
                    &ASSIGN_SQL,
                    params![id, agent.as_uuid(), now.millis(), offer_until.map(Timestamp::millis)],
                )
                .map_err(be)?;
                load_conversation(c, ConversationId::from_uuid(id))
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
                            "UPDATE conversations SET status = 'assigned', \
                             assigned_at = CASE WHEN assigned_agent IS ?2 THEN assigned_at ELSE ?3 END, \
                             answered_at = CASE WHEN assigned_agent IS ?2 THEN answered_at END, \
                             assigned_agent = ?2, offered_until = NULL, updated_at = ?3 WHERE id = ?1",
                            params![id.as_uuid(), agent.as_uuid(), now.millis()],
                        )
                    }
                    TransferTarget::Group(group) => c.execute(
                        "UPDATE conversations SET status = 'queued', assigned_agent = NULL, offered_until = NULL, skill_group = ?2, \
                         updated_at = ?3 WHERE id = ?1",
                        params![id.as_uuid(), group.as_uuid(), now.millis()],
                    ),
                }
                .map_err(be)?;
                load_conversation(c, id)?.ok_or(StoreError::NotFound("conversation"))
            })
            .await
    }

    async fn queue_of_shop(&self, shop: ShopId, limit: u32) -> StoreResult<Vec<Queued>> {
        self.pool
            .read(move |c| {
                many(
                    c,
                    &format!(
                        "SELECT c.id, c.skill_group FROM conversations c WHERE c.shop_id = ?1 AND c.status <> 'closed' \
                         AND c.status = 'queued' ORDER BY {OPEN_ORDER} LIMIT {limit}"
                    ),
                    params![shop.as_uuid()],
                    |r| Ok((uuid_col(r, 0)?, r.get::<_, Option<Uuid>>(1)?)),
                    |(id, group)| {
                        Ok(Queued { id: ConversationId::from_uuid(id), group: group.map(SkillGroupId::from_uuid) })
                    },
                )
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
                    "UPDATE conversations SET status = 'closed', waiting_since = NULL, offered_until = NULL, \
                     closed_at = ?2, updated_at = ?2 WHERE id = ?1",
                    params![id.as_uuid(), now.millis()],
                )
                .map_err(be)?;
                notify::announce(c, conv.shop_id, NotifyEvent::ConversationClosed, id.as_uuid(), now.millis())?;
                load_conversation(c, id)?.ok_or(StoreError::NotFound("conversation"))
            })
            .await
    }

    async fn rate_conversation(&self, id: ConversationId, csat: u8, now: Timestamp) -> StoreResult<Conversation> {
        self.pool
            .write(move |c| {
                let conv = load_conversation(c, id)?.ok_or(StoreError::NotFound("conversation"))?;
                if conv.csat.is_some() {
                    return Err(StoreError::Conflict("already_rated"));
                }
                c.execute("UPDATE conversations SET csat = ?2 WHERE id = ?1", params![id.as_uuid(), csat])
                    .map_err(be)?;
                notify::announce(c, conv.shop_id, NotifyEvent::ConversationRated, id.as_uuid(), now.millis())?;
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
                    &format!("SELECT {MESSAGE_COLS} FROM messages WHERE conversation_id = ?1 AND seq > ?2 ORDER BY seq LIMIT {limit}"),
                    params![conversation.as_uuid(), after_seq],
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
                    &format!("SELECT {MESSAGE_COLS} FROM messages WHERE conversation_id = ?1 AND seq < ?2 ORDER BY seq DESC LIMIT {limit}"),
                    params![conversation.as_uuid(), before_seq],
                    message_row,
                    message_from,
                )?;
                list.reverse();
                Ok(list)
            })
            .await
    }

    async fn response_counts(
        &self,
        scope: Scope,
        period: Period,
        window: ReplyWindow,
    ) -> StoreResult<Vec<(AgentId, ResponseCounts)>> {
        self.pool.read(move |c| rows::response_counts(c, scope, period, window)).await
    }

    async fn bot_state(&self, conversation: ConversationId) -> StoreResult<Option<String>> {
        self.pool.read(move |c| bot::state(c, conversation)).await
    }

    async fn bot_context(
        &self,
        conversation: ConversationId,
        customer: CustomerId,
        orders: u32,
    ) -> StoreResult<(BotMemory, Vec<OrderWithShipments>)> {
        // One reader hop and one snapshot for both.
        self.pool
            .read(move |c| Ok((bot::memory(c, conversation)?, commerce::orders_with_shipments(c, customer, orders)?)))
            .await
    }

    async fn apply_bot_turn(&self, turn: BotTurnWrite) -> StoreResult<BotTurnWritten> {
        self.pool.write(move |c| bot::apply_bot_turn(c, turn)).await
    }

    async fn append_with_bot_turn(&self, message: NewMessage, turn: BotTurnWrite) -> StoreResult<SaidAndAnswered> {
        self.pool.write(move |c| bot::append_with_bot_turn(c, message, turn)).await
    }

    async fn close_idle_bot_conversations(
        &self,
        quiet_since: Timestamp,
        now: Timestamp,
        limit: u32,
    ) -> StoreResult<Vec<Conversation>> {
        self.pool.write(move |c| bot::close_idle(c, quiet_since, now, limit)).await
    }

    async fn bot_audit(&self, shop: ShopId, since: Timestamp, limit: u32) -> StoreResult<Vec<BotAuditRow>> {
        self.pool.read(move |c| bot::audit(c, shop, since, limit)).await
    }

    async fn knowledge(&self, shop: ShopId, limit: u32) -> StoreResult<Vec<kefu_core::knowledge::KnowledgeEntry>> {
        self.pool.read(move |c| knowledge::list(c, shop, limit)).await
    }

    async fn put_knowledge(&self, entry: &kefu_core::knowledge::KnowledgeEntry) -> StoreResult<()> {
        let entry = entry.clone();
        self.pool.write(move |c| knowledge::put(c, &entry)).await
    }

    async fn put_knowledge_many(&self, entries: &[kefu_core::knowledge::KnowledgeEntry]) -> StoreResult<()> {
        let entries = entries.to_vec();
        // One job: its savepoint rolls every row back when one fails.
        self.pool.write(move |c| entries.iter().try_for_each(|e| knowledge::put(c, e))).await
    }

    async fn delete_knowledge(&self, shop: ShopId, id: KnowledgeId) -> StoreResult<()> {
        self.pool.write(move |c| knowledge::delete(c, shop, id)).await
    }

    // Images are written to `kefu-images.db`; those sent before it existed
    // (migration 0009 kept them in kefu.db) are still read and expired there.
    async fn put_attachment(
        &self,
        attachment: &kefu_core::attachment::Attachment,
        budget: Option<ShopBudget>,
    ) -> StoreResult<()> {
        let attachment = attachment.clone();
        self.images.write(move |c| attachments::put(c, &attachment, budget)).await
    }

    async fn attachment(&self, id: AttachmentId) -> StoreResult<Option<kefu_core::attachment::Attachment>> {
        match self.images.read(move |c| attachments::get(c, id)).await? {
            Some(found) => Ok(Some(found)),
            None => self.pool.read(move |c| attachments::get(c, id)).await,
        }
    }

    async fn attachment_owner(&self, id: AttachmentId) -> StoreResult<Option<(ShopId, CustomerId)>> {
        match self.images.read(move |c| attachments::owner(c, id)).await? {
            Some(found) => Ok(Some(found)),
            None => self.pool.read(move |c| attachments::owner(c, id)).await,
        }
    }

    async fn delete_attachments_before(&self, before: Timestamp, limit: u32) -> StoreResult<u32> {
        let n = self.images.write(move |c| attachments::delete_before(c, before, limit)).await?;
        if n >= limit {
            return Ok(n);
        }
        let older = self.pool.write(move |c| attachments::delete_before(c, before, limit - n)).await?;
        Ok(n + older)
    }

    /// From the image database only: for the quota, the last day counts.
    async fn uploads_by_customer(&self, customer: CustomerId, since: Timestamp) -> StoreResult<Vec<(Timestamp, u64)>> {
        self.images.read(move |c| attachments::uploads_by(c, customer, since)).await
    }

    async fn quick_phrases(&self, shop: ShopId) -> StoreResult<Vec<kefu_core::phrase::QuickPhrase>> {
        self.pool.read(move |c| phrases::list(c, shop)).await
    }

    async fn put_quick_phrase(&self, phrase: &kefu_core::phrase::QuickPhrase) -> StoreResult<()> {
        let phrase = phrase.clone();
        self.pool.write(move |c| phrases::put(c, &phrase)).await
    }

    async fn delete_quick_phrase(&self, shop: ShopId, id: PhraseId) -> StoreResult<()> {
        self.pool.write(move |c| phrases::delete(c, shop, id)).await
    }

    async fn file_order_request(
        &self,
        filed: &kefu_core::request::FiledRequest,
    ) -> StoreResult<kefu_core::request::RequestRow> {
        let filed = filed.clone();
        self.pool.write(move |c| requests::file(c, &filed)).await
    }

    async fn order_request(&self, shop: ShopId, id: Uuid) -> StoreResult<Option<kefu_core::request::RequestRow>> {
        self.pool.read(move |c| requests::load(c, shop, id)).await
    }

    async fn order_requests(
        &self,
        filter: &kefu_core::request::RequestFilter,
    ) -> StoreResult<Vec<kefu_core::request::RequestRow>> {
        let filter = filter.clone();
        self.pool.read(move |c| requests::list(c, &filter)).await
    }

    async fn resolve_order_request(
        &self,
        resolution: &kefu_core::request::Resolution,
    ) -> StoreResult<kefu_core::request::RequestRow> {
        let resolution = resolution.clone();
        self.pool.write(move |c| requests::resolve(c, &resolution)).await
    }

    async fn shop_rules(&self, shop: ShopId) -> StoreResult<ShopRulesState> {
        self.pool.read(move |c| rules::state(c, shop)).await
    }

    async fn put_shop_rules(&self, shop: ShopId, change: &RulesChange, base: Option<i64>) -> StoreResult<i64> {
        let change = change.clone();
        self.pool.write(move |c| rules::put(c, shop, change, base)).await
    }

    async fn shop_rules_history(&self, shop: ShopId, limit: u32) -> StoreResult<Vec<RulesVersion>> {
        self.pool.read(move |c| rules::history(c, shop, limit)).await
    }

    async fn notify_endpoint(&self, shop: ShopId) -> StoreResult<Option<Endpoint>> {
        self.pool.read(move |c| notify::endpoint(c, shop)).await
    }

    async fn set_notify_endpoint(&self, shop: ShopId, endpoint: Option<&Endpoint>) -> StoreResult<()> {
        let endpoint = endpoint.cloned();
        self.pool.write(move |c| notify::set_endpoint(c, shop, endpoint.as_ref())).await
    }

    async fn queue_delivery(
        &self,
        shop: ShopId,
        event: NotifyEvent,
        subject: Option<Uuid>,
        at: Timestamp,
    ) -> StoreResult<Delivery> {
        self.pool.write(move |c| notify::queue(c, shop, event, subject, at.millis())).await
    }

    async fn claim_deliveries(&self, now: Timestamp, until: Timestamp, room: ClaimRoom) -> StoreResult<Vec<Delivery>> {
        if !self.pool.read(move |c| notify::any_due(c, now.millis())).await? {
            return Ok(Vec::new());
        }
        self.pool.write(move |c| notify::claim(c, now.millis(), until.millis(), &room)).await
    }

    async fn finish_delivery(&self, done: &AttemptDone) -> StoreResult<()> {
        let done = done.clone();
        self.pool.write(move |c| notify::finish(c, &done)).await
    }

    async fn deliveries(&self, shop: ShopId, state: Option<DeliveryState>, limit: u32) -> StoreResult<Vec<Delivery>> {
        self.pool.read(move |c| notify::list(c, shop, state, limit)).await
    }

    async fn retry_delivery(&self, shop: ShopId, id: Uuid, at: Timestamp) -> StoreResult<Delivery> {
        self.pool.write(move |c| notify::retry(c, shop, id, at.millis())).await
    }

    async fn prune_deliveries(&self, before: Timestamp, limit: u32) -> StoreResult<u32> {
        self.pool.write(move |c| notify::prune(c, before.millis(), limit)).await
    }
}

fn prefixed(alias: &str, cols: &str) -> String {
    cols.split(", ").map(|c| format!("{alias}.{c}")).collect::<Vec<_>>().join(", ")
}
