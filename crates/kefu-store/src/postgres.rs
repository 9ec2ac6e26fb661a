//! The PostgreSQL store, for deployments that share one database between
//! several `kefu serve` nodes. Row locks (`FOR UPDATE`) take the place of
//! SQLite's single writer where a verb reads before it writes.

use std::collections::HashMap;

use async_trait::async_trait;
use deadpool_postgres::GenericClient;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use kefu_core::agent::{Agent, AgentSession, AgentStatus, Username};
use kefu_core::attachment::ShopBudget;
use kefu_core::botturn::{
    BotAudit, BotAuditRow, BotMemory, BotTurnWrite, BotTurnWritten, OrderChange, SaidAndAnswered,
};
use kefu_core::catalog::Product;
use kefu_core::clock::Timestamp;
use kefu_core::conversation::{Appended, ClientMsgId, Conversation, ConversationStatus, Message, NewMessage};
use kefu_core::customer::{Customer, MaskedPhone};
use kefu_core::id::*;
use kefu_core::kpi::{Answer, DayCounts, Period, ReplyWindow, ResponseCounts, Scope};
use kefu_core::money::Fen;
use kefu_core::order::{Order, OrderItem, OrderNo, OrderStatus, OrderWithShipments, Shipment};
use kefu_core::outbound::{AttemptDone, ClaimRoom, Delivery, DeliveryState, Endpoint, NotifyEvent};
use kefu_core::shop::{Shop, ShopSecret, ShopSlug, SkillGroup};
use kefu_core::store::*;

use crate::{CLOSED_ORDER, OPEN_ORDER};
use tokio_postgres::types::ToSql;
use tokio_postgres::{NoTls, Row};
use uuid::Uuid;

mod agents;
mod attachments;
mod bot;
mod commerce;
mod knowledge;
mod notify;
mod phrases;
mod pipeline;
mod requests;
mod rows;
mod rules;

use crate::POSTGRES_MIGRATIONS;
use crate::codec::{self, corrupt};
use pipeline::Pipelined;
use rows::*;
use std::sync::LazyLock;

pub struct PostgresStore {
    pool: Pool,
}

fn be(e: impl std::error::Error + Send + Sync + 'static) -> StoreError {
    StoreError::backend(e)
}

/// Statements on the hot paths (every message, every bot turn) are prepared
/// once per pooled connection: tokio-postgres prepares a `&str` query anew
/// each time, one more round trip and a parse and plan in the server.
async fn prepared(c: &impl GenericClient, sql: &str) -> StoreResult<tokio_postgres::Statement> {
    c.prepare_cached(sql).await.map_err(be)
}

async fn query_prepared(c: &impl GenericClient, sql: &str, params: &[&(dyn ToSql + Sync)]) -> StoreResult<Vec<Row>> {
    c.query(&prepared(c, sql).await?, params).await.map_err(be)
}

async fn query_opt_prepared(
    c: &impl GenericClient,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
) -> StoreResult<Option<Row>> {
    c.query_opt(&prepared(c, sql).await?, params).await.map_err(be)
}

async fn execute_prepared(c: &impl GenericClient, sql: &str, params: &[&(dyn ToSql + Sync)]) -> StoreResult<u64> {
    c.execute(&prepared(c, sql).await?, params).await.map_err(be)
}

fn unique_or(e: tokio_postgres::Error, conflict: &'static str) -> StoreError {
    if e.code() == Some(&tokio_postgres::error::SqlState::UNIQUE_VIOLATION) {
        StoreError::Conflict(conflict)
    } else {
        be(e)
    }
}

impl PostgresStore {
    /// Connects, creating `schema` (when given) and applying migrations.
    pub async fn connect(url: &str, schema: Option<&str>, pool_size: usize) -> StoreResult<Self> {
        let mut config: tokio_postgres::Config = url.parse().map_err(be)?;
        if let Some(schema) = schema {
            if !schema.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
                return Err(StoreError::Conflict("invalid_schema_name"));
            }
            let (client, conn) = config.connect(NoTls).await.map_err(be)?;
            let task = tokio::spawn(conn);
            client.batch_execute(&format!("CREATE SCHEMA IF NOT EXISTS {schema}")).await.map_err(be)?;
            drop(client);
            let _ = task.await;
            config.options(format!("-c search_path={schema}"));
        }
        let manager = Manager::from_config(config, NoTls, ManagerConfig { recycling_method: RecyclingMethod::Fast });
        let pool = Pool::builder(manager).max_size(pool_size.max(1)).build().map_err(be)?;
        let store = Self { pool };
        store.migrate().await?;
        Ok(store)
    }

    async fn migrate(&self) -> StoreResult<()> {
        let mut client = self.pool.get().await.map_err(be)?;
        let tx = client.transaction().await.map_err(be)?;
        // Several nodes may start at once: one migrates, the others wait.
        tx.batch_execute(
            "SELECT pg_advisory_xact_lock(7315001);
             CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)",
        )
        .await
        .map_err(be)?;
        for (version, name, sql) in POSTGRES_MIGRATIONS {
            let done = tx
                .query_opt("SELECT version FROM schema_migrations WHERE version = $1", &[version])
                .await
                .map_err(be)?;
            if done.is_none() {
                tx.batch_execute(sql).await.map_err(be)?;
                let now = kefu_core::clock::Clock::now(&kefu_core::clock::SystemClock).millis();
                tx.execute(
                    "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
                    &[version, name, &now],
                )
                .await
                .map_err(be)?;
                tracing::info!(migration = name, "postgres: applied migration");
            }
        }
        tx.commit().await.map_err(be)
    }

    async fn client(&self) -> StoreResult<deadpool_postgres::Object> {
        self.pool.get().await.map_err(be)
    }
}

// ---------------------------------------------------------------- row mapping

/// `codec::assign_sql` in this backend's placeholders.
static ASSIGN_SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| codec::assign_sql(|n| format!("${n}")));

#[async_trait]
impl Store for PostgresStore {
    async fn server_key(&self, candidate: &str) -> StoreResult<String> {
        let c = self.client().await?;
        c.execute(
            "INSERT INTO meta (key, value) VALUES ('server_key', $1) ON CONFLICT (key) DO NOTHING",
            &[&candidate],
        )
        .await
        .map_err(be)?;
        Ok(c.query_one("SELECT value FROM meta WHERE key = 'server_key'", &[]).await.map_err(be)?.get(0))
    }

    async fn create_shop(&self, s: &Shop) -> StoreResult<()> {
        let c = self.client().await?;
        c.execute(
            "INSERT INTO shops (id, slug, name, secret, created_at) VALUES ($1, $2, $3, $4, $5)",
            &[&s.id.as_uuid(), &s.slug.as_str(), &s.name, &s.secret.expose(), &s.created_at.millis()],
        )
        .await
        .map_err(|e| unique_or(e, "shop_slug_taken"))?;
        Ok(())
    }

    async fn shops(&self) -> StoreResult<Vec<Shop>> {
        let c = self.client().await?;
        let rows =
            c.query(&format!("SELECT {SHOP_COLS} FROM shops ORDER BY created_at, slug"), &[]).await.map_err(be)?;
        rows.iter().map(shop_from).collect()
    }

    async fn shop(&self, id: ShopId) -> StoreResult<Option<Shop>> {
        let c = self.client().await?;
        let row =
            c.query_opt(&format!("SELECT {SHOP_COLS} FROM shops WHERE id = $1"), &[&id.as_uuid()]).await.map_err(be)?;
        row.as_ref().map(shop_from).transpose()
    }

    async fn shop_by_slug(&self, slug: &ShopSlug) -> StoreResult<Option<Shop>> {
        let c = self.client().await?;
        let row = c
            .query_opt(&format!("SELECT {SHOP_COLS} FROM shops WHERE slug = $1"), &[&slug.as_str()])
            .await
            .map_err(be)?;
        row.as_ref().map(shop_from).transpose()
    }

    async fn set_shop_secret(&self, id: ShopId, secret: &ShopSecret) -> StoreResult<()> {
        let c = self.client().await?;
        let n = c
            .execute("UPDATE shops SET secret = $1 WHERE id = $2", &[&secret.expose(), &id.as_uuid()])
            .await
            .map_err(be)?;
        if n == 0 { Err(StoreError::NotFound("shop")) } else { Ok(()) }
    }

    async fn create_skill_group(&self, g: &SkillGroup) -> StoreResult<()> {
        let c = self.client().await?;
        c.execute(
            "INSERT INTO skill_groups (id, shop_id, name) VALUES ($1, $2, $3)",
            &[&g.id.as_uuid(), &g.shop_id.as_uuid(), &g.name],
        )
        .await
        .map_err(|e| unique_or(e, "skill_group_exists"))?;
        Ok(())
    }

    async fn skill_groups(&self, shop: ShopId) -> StoreResult<Vec<SkillGroup>> {
        let c = self.client().await?;
        let rows = c
            .query("SELECT id, shop_id, name FROM skill_groups WHERE shop_id = $1 ORDER BY name", &[&shop.as_uuid()])
            .await
            .map_err(be)?;
        Ok(rows
            .iter()
            .map(|r| SkillGroup {
                id: SkillGroupId::from_uuid(r.get(0)),
                shop_id: ShopId::from_uuid(r.get(1)),
                name: r.get(2),
            })
            .collect())
    }

    async fn create_agent(&self, a: &Agent) -> StoreResult<()> {
        agents::create(self, a).await
    }

    async fn update_agent(&self, a: &Agent) -> StoreResult<()> {
        agents::update(self, a).await
    }

    async fn agent(&self, id: AgentId) -> StoreResult<Option<Agent>> {
        agents::by_id(self, id).await
    }

    async fn agent_by_username(&self, username: &str) -> StoreResult<Option<Agent>> {
        agents::by_username(self, username).await
    }

    async fn agents_of_shop(&self, shop: ShopId) -> StoreResult<Vec<AgentLoad>> {
        agents::of_shop(self, shop).await
    }

    async fn someone_online(&self, shop: ShopId) -> StoreResult<bool> {
        agents::someone_online(self, shop).await
    }

    async fn set_agent_status(&self, id: AgentId, status: AgentStatus) -> StoreResult<()> {
        agents::set_status(self, id, status).await
    }

    async fn agent_seen(&self, id: AgentId, at: Timestamp) -> StoreResult<()> {
        agents::seen(self, id, at.millis()).await
    }

    async fn sweep_absent(&self, before: Timestamp, now: Timestamp) -> StoreResult<Absence> {
        agents::sweep_absent(self, before.millis(), now.millis()).await
    }

    async fn lapse_offers(&self, now: Timestamp) -> StoreResult<Lapsed> {
        agents::lapse_offers(self, now.millis()).await
    }

    async fn create_session(&self, s: &AgentSession) -> StoreResult<()> {
        agents::create_session(self, s).await
    }

    async fn session(&self, token_hash: &[u8; 32], now: Timestamp) -> StoreResult<Option<AgentSession>> {
        agents::session(self, token_hash, now).await
    }

    async fn revoke_sessions(&self, agent: AgentId, keep: Option<[u8; 32]>) -> StoreResult<u32> {
        agents::revoke_sessions(self, agent, keep).await
    }

    async fn disable_agent(&self, id: AgentId, now: Timestamp) -> StoreResult<Vec<Conversation>> {
        agents::disable(self, id, now).await
    }

    async fn enable_agent(&self, id: AgentId) -> StoreResult<()> {
        agents::enable(self, id).await
    }

    async fn release_conversations(
        &self,
        agent: AgentId,
        shops: Option<Vec<ShopId>>,
        now: Timestamp,
    ) -> StoreResult<Vec<Conversation>> {
        agents::release(self, agent, shops.as_deref(), now.millis()).await
    }

    async fn delete_session(&self, token_hash: &[u8; 32]) -> StoreResult<()> {
        agents::delete_session(self, token_hash).await
    }

    async fn upsert_customers(&self, customers: &[Customer]) -> StoreResult<()> {
        commerce::upsert_customers(&mut self.client().await?, customers).await
    }

    async fn customer(&self, id: CustomerId) -> StoreResult<Option<Customer>> {
        commerce::customer(&self.client().await?, id).await
    }

    async fn customer_ids_by_external(
        &self,
        shop: ShopId,
        external_ids: &[String],
    ) -> StoreResult<HashMap<String, CustomerId>> {
        commerce::customer_ids_by_external(&self.client().await?, shop, external_ids).await
    }

    async fn upsert_products(&self, products: &[Product]) -> StoreResult<()> {
        commerce::upsert_products(&mut self.client().await?, products).await
    }

    async fn products(&self, shop: ShopId, limit: u32) -> StoreResult<Vec<Product>> {
        commerce::products(&self.client().await?, shop, limit).await
    }

    async fn product_by_sku(&self, shop: ShopId, sku: &str) -> StoreResult<Option<Product>> {
        commerce::product_by_sku(&self.client().await?, shop, sku).await
    }

    async fn upsert_orders(&self, orders: &[Order]) -> StoreResult<()> {
        commerce::upsert_orders(&mut self.client().await?, orders).await
    }

    async fn order(&self, id: OrderId) -> StoreResult<Option<Order>> {
        commerce::order(&self.client().await?, id).await
    }

    async fn order_by_no(&self, shop: ShopId, order_no: &OrderNo) -> StoreResult<Option<Order>> {
        commerce::order_by_no(&self.client().await?, shop, order_no).await
    }

    async fn order_ids_by_no(&self, shop: ShopId, order_nos: &[OrderNo]) -> StoreResult<HashMap<OrderNo, OrderId>> {
        commerce::order_ids_by_no(&self.client().await?, shop, order_nos).await
    }

    async fn orders_of_customer(&self, customer: CustomerId, limit: u32) -> StoreResult<Vec<Order>> {
        commerce::orders_of_customer(&self.client().await?, customer, limit).await
    }

    async fn upsert_shipments(&self, shipments: &[Shipment]) -> StoreResult<()> {
        commerce::upsert_shipments(&mut self.client().await?, shipments).await
    }

    async fn shipments_of_order(&self, order: OrderId) -> StoreResult<Vec<Shipment>> {
        commerce::shipments_of_order(&self.client().await?, order).await
    }

    async fn orders_with_shipments(&self, customer: CustomerId, limit: u32) -> StoreResult<Vec<OrderWithShipments>> {
        commerce::orders_with_shipments(&self.client().await?, customer, limit).await
    }

    async fn open_conversation(&self, x: &Conversation) -> StoreResult<Conversation> {
        let c = self.client().await?;
        let params: [&(dyn ToSql + Sync); 19] = [
            &x.id.as_uuid(),
            &x.shop_id.as_uuid(),
            &x.customer_id.as_uuid(),
            &x.channel.as_str(),
            &x.status.as_str(),
            &x.assigned_agent.map(|a| a.as_uuid()),
            &x.skill_group.map(|g| g.as_uuid()),
            &x.priority,
            &x.tags,
            &x.csat.map(i16::from),
            &x.last_seq,
            &x.waiting_since.map(Timestamp::millis),
            &x.created_at.millis(),
            &x.updated_at.millis(),
            &x.closed_at.map(Timestamp::millis),
            &x.assigned_at.map(Timestamp::millis),
            &x.answered_at.map(Timestamp::millis),
            &x.last_answer_at.map(Timestamp::millis),
            &x.offered_until.map(Timestamp::millis),
        ];
        c.execute(
            &format!(
                "INSERT INTO conversations ({CONVERSATION_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)
                 ON CONFLICT (customer_id) WHERE status <> 'closed' DO NOTHING"
            ),
            &params,
        )
        .await
        .map_err(be)?;
        let row = c
            .query_one(
                &format!("SELECT {CONVERSATION_COLS} FROM conversations WHERE customer_id = $1 AND status <> 'closed'"),
                &[&x.customer_id.as_uuid()],
            )
            .await
            .map_err(be)?;
        conversation_from(&row, 0)
    }

    async fn conversation(&self, id: ConversationId) -> StoreResult<Option<Conversation>> {
        let c = self.client().await?;
        match load_conversation(&c, id, false).await {
            Ok(conv) => Ok(Some(conv)),
            Err(StoreError::NotFound(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn open_conversation_of_customer(&self, customer: CustomerId) -> StoreResult<Option<Conversation>> {
        let c = self.client().await?;
        let row = c
            .query_opt(
                &format!("SELECT {CONVERSATION_COLS} FROM conversations WHERE customer_id = $1 AND status <> 'closed'"),
                &[&customer.as_uuid()],
            )
            .await
            .map_err(be)?;
        row.map(|r| conversation_from(&r, 0)).transpose()
    }

    async fn conversations(&self, f: &ConversationFilter) -> StoreResult<Vec<ConversationOverview>> {
        if f.shops.is_empty() {
            return Ok(Vec::new());
        }
        let c = self.client().await?;
        let shops: Vec<Uuid> = f.shops.iter().map(|s| s.as_uuid()).collect();
        let statuses: Vec<&str> = f.statuses.iter().map(|s| s.as_str()).collect();
        let agent = f.assigned_agent.map(|a| a.as_uuid());
        let customer = f.customer.map(|a| a.as_uuid());
        let search = f.search.as_deref().map(str::trim).filter(|q| !q.is_empty()).map(str::to_owned);
        let like = search.as_ref().map(|q| format!("%{}%", q.replace(['%', '_', '\\'], "")));
        let limit = i64::from(f.limit.clamp(1, 500));
        // Literal terms, so the partial indexes of migration 0004 match.
        let (slice, order) = match f.slice() {
            ListSlice::Open => ("AND c.status <> 'closed'", OPEN_ORDER),
            ListSlice::Closed => ("AND c.status = 'closed'", CLOSED_ORDER),
            ListSlice::Mixed => ("", OPEN_ORDER),
        };
        // With `= ANY` PostgreSQL cannot read an index in order, so the history
        // tab of one shop would sort all its closed conversations.
        let shop_term = if shops.len() == 1 { "c.shop_id = ($1::uuid[])[1]" } else { "c.shop_id = ANY($1)" };
        let sql = format!(
            "SELECT {}, {}, {} FROM conversations c JOIN customers cu ON cu.id = c.customer_id
             LEFT JOIN messages m ON m.conversation_id = c.id AND m.seq = c.last_seq
             WHERE {shop_term}
               AND (cardinality($2::text[]) = 0 OR c.status = ANY($2))
               AND ($3::uuid IS NULL OR c.assigned_agent = $3)
               AND ($4::uuid IS NULL OR c.customer_id = $4)
               AND ($5::text IS NULL OR cu.nickname LIKE $6 OR cu.phone LIKE $6
                    OR EXISTS (SELECT 1 FROM orders o WHERE o.customer_id = c.customer_id AND o.order_no = $5))
               {slice}
             ORDER BY {order}
             LIMIT $7",
            prefixed("c", CONVERSATION_COLS),
            prefixed("cu", CUSTOMER_COLS),
            prefixed("m", MESSAGE_COLS),
        );
        let rows = c.query(&sql, &[&shops, &statuses, &agent, &customer, &search, &like, &limit]).await.map_err(be)?;
        rows.iter()
            .map(|r| {
                let mo = CONVERSATION_COUNT + CUSTOMER_COUNT;
                let has_message = r.get::<_, Option<Uuid>>(mo).is_some();
                Ok(ConversationOverview {
                    conversation: conversation_from(r, 0)?,
                    customer: customer_from(r, CONVERSATION_COUNT)?,
                    last_message: if has_message { Some(message_from(r, mo)?) } else { None },
                })
            })
            .collect()
    }

    async fn assign_conversation(
        &self,
        id: ConversationId,
        agent: AgentId,
        max_concurrent: u32,
        now: Timestamp,
        offer_until: Option<Timestamp>,
    ) -> StoreResult<Conversation> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(be)?;
        // Lock the agent first so two assignments to one agent count in turn.
        lock_agent(&tx, agent).await?;
        let conv = load_conversation(&tx, id, true).await?;
        match conv.status {
            ConversationStatus::Closed => return Err(StoreError::ConversationClosed),
            ConversationStatus::Assigned if conv.assigned_agent == Some(agent) => {
                if conv.offered_until.is_none() || offer_until.is_some() {
                    return Ok(conv);
                }
                // Accepting their offer.
                tx.execute(
                    "UPDATE conversations SET offered_until = NULL, updated_at = $2 WHERE id = $1",
                    &[&id.as_uuid(), &now.millis()],
                )
                .await
                .map_err(be)?;
                let conv = load_conversation(&tx, id, false).await?;
                tx.commit().await.map_err(be)?;
                return Ok(conv);
            }
            ConversationStatus::Assigned => return Err(StoreError::Conflict("already_assigned")),
            ConversationStatus::Bot | ConversationStatus::Queued => {}
        }
        if open_load(&tx, agent).await? >= max_concurrent {
            return Err(StoreError::CapacityReached);
        }
        tx.execute(
            &*ASSIGN_SQL,
            &[&id.as_uuid(), &agent.as_uuid(), &now.millis(), &offer_until.map(Timestamp::millis)],
        )
        .await
        .map_err(be)?;
        let conv = load_conversation(&tx, id, false).await?;
        tx.commit().await.map_err(be)?;
        Ok(conv)
    }

    async fn take_next_queued(
        &self,
        shop: ShopId,
        agent: AgentId,
        now: Timestamp,
        offer_until: Option<Timestamp>,
    ) -> StoreResult<Option<Conversation>> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(be)?;
        // The agent first, locked as an assignment locks it (two takings for one agent count in
        // turn), and read as they are now.
        let who = query_opt_prepared(
            &tx,
            "SELECT a.status, a.disabled, a.role, a.max_concurrent, \
             ARRAY(SELECT g.group_id FROM agent_skill_groups g WHERE g.agent_id = a.id) \
             FROM agents a WHERE a.id = $1 FOR UPDATE",
            &[&agent.as_uuid()],
        )
        .await?;
        let Some(who) = who else { return Ok(None) };
        let (status, disabled, role, max): (String, bool, String, i32) =
            (who.get(0), who.get(1), who.get(2), who.get(3));
        if codec::agent_status(&status)? != AgentStatus::Online
            || disabled
            || !codec::role(&role)?.handles_conversations()
        {
            return Ok(None);
        }
        // After the lock, in a statement of its own: its snapshot sees what a taking that held
        // the lock before this one committed.
        let held = query_opt_prepared(
            &tx,
            "SELECT COUNT(*), COUNT(offered_until) FROM conversations WHERE assigned_agent = $1 AND status = 'assigned'",
            &[&agent.as_uuid()],
        )
        .await?;
        let (load, pending): (i64, i64) = held.map_or((0, 0), |r| (r.get(0), r.get(1)));
        if load >= i64::from(max) {
            return Err(StoreError::CapacityReached);
        }
        if offer_until.is_some() && pending >= i64::from(kefu_core::routing::MAX_PENDING_OFFERS) {
            return Ok(None); // the next comes when they accept one
        }
        let groups: Vec<Uuid> = who.get(4);
        // SKIP LOCKED: another agent (or node) taking the front one takes it; this takes the next.
        let next = query_opt_prepared(
            &tx,
            &format!(
                "SELECT c.id FROM conversations c WHERE c.shop_id = $1 AND c.status <> 'closed' AND c.status = 'queued' \
                 AND (c.skill_group IS NULL OR c.skill_group = ANY($2)) ORDER BY {OPEN_ORDER} LIMIT 1 \
                 FOR UPDATE SKIP LOCKED"
            ),
            &[&shop.as_uuid(), &groups],
        )
        .await?;
        let Some(row) = next else { return Ok(None) };
        let id: Uuid = row.get(0);
        tx.execute(&*ASSIGN_SQL, &[&id, &agent.as_uuid(), &now.millis(), &offer_until.map(Timestamp::millis)])
            .await
            .map_err(be)?;
        let conv = load_conversation(&tx, ConversationId::from_uuid(id), false).await?;
        tx.commit().await.map_err(be)?;
        Ok(Some(conv))
    }

    async fn transfer_conversation(
        &self,
        id: ConversationId,
        to: TransferTarget,
        now: Timestamp,
    ) -> StoreResult<Conversation> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(be)?;
        if let TransferTarget::Agent { agent, .. } = to {
            lock_agent(&tx, agent).await?;
        }
        let conv = load_conversation(&tx, id, true).await?;
        if conv.status == ConversationStatus::Closed {
            return Err(StoreError::ConversationClosed);
        }
        match to {
            TransferTarget::Agent { agent, max_concurrent } => {
                if conv.assigned_agent != Some(agent) && open_load(&tx, agent).await? >= max_concurrent {
                    return Err(StoreError::CapacityReached);
                }
                tx.execute(
                    "UPDATE conversations SET status = 'assigned', \
                     assigned_at = CASE WHEN assigned_agent IS NOT DISTINCT FROM $2 THEN assigned_at ELSE $3 END, \
                     answered_at = CASE WHEN assigned_agent IS NOT DISTINCT FROM $2 THEN answered_at END, \
                     assigned_agent = $2, offered_until = NULL, updated_at = $3 WHERE id = $1",
                    &[&id.as_uuid(), &agent.as_uuid(), &now.millis()],
                )
                .await
            }
            TransferTarget::Group(group) => {
                tx.execute(
                    "UPDATE conversations SET status = 'queued', assigned_agent = NULL, offered_until = NULL, skill_group = $2, \
                     updated_at = $3 WHERE id = $1",
                    &[&id.as_uuid(), &group.as_uuid(), &now.millis()],
                )
                .await
            }
        }
        .map_err(be)?;
        let conv = load_conversation(&tx, id, false).await?;
        tx.commit().await.map_err(be)?;
        Ok(conv)
    }

    async fn queue_of_shop(&self, shop: ShopId, limit: u32) -> StoreResult<Vec<Queued>> {
        let c = self.client().await?;
        let rows = query_prepared(
            &c,
            &format!(
                "SELECT c.id, c.skill_group FROM conversations c WHERE c.shop_id = $1 AND c.status <> 'closed' \
                 AND c.status = 'queued' ORDER BY {OPEN_ORDER} LIMIT $2"
            ),
            &[&shop.as_uuid(), &i64::from(limit)],
        )
        .await?;
        Ok(rows
            .iter()
            .map(|r| Queued {
                id: ConversationId::from_uuid(r.get(0)),
                group: r.get::<_, Option<Uuid>>(1).map(SkillGroupId::from_uuid),
            })
            .collect())
    }

    async fn close_conversation(&self, id: ConversationId, now: Timestamp) -> StoreResult<Conversation> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(be)?;
        let conv = load_conversation(&tx, id, true).await?;
        if conv.status == ConversationStatus::Closed {
            return Ok(conv);
        }
        tx.execute(
            "UPDATE conversations SET status = 'closed', waiting_since = NULL, offered_until = NULL, closed_at = $2, \
             updated_at = $2 WHERE id = $1",
            &[&id.as_uuid(), &now.millis()],
        )
        .await
        .map_err(be)?;
        notify::announce(&tx, conv.shop_id, NotifyEvent::ConversationClosed, id.as_uuid(), now.millis()).await?;
        let conv = load_conversation(&tx, id, false).await?;
        tx.commit().await.map_err(be)?;
        Ok(conv)
    }

    async fn rate_conversation(&self, id: ConversationId, csat: u8, now: Timestamp) -> StoreResult<Conversation> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(be)?;
        let conv = load_conversation(&tx, id, true).await?;
        if conv.csat.is_some() {
            return Err(StoreError::Conflict("already_rated"));
        }
        tx.execute("UPDATE conversations SET csat = $2 WHERE id = $1", &[&id.as_uuid(), &i16::from(csat)])
            .await
            .map_err(be)?;
        notify::announce(&tx, conv.shop_id, NotifyEvent::ConversationRated, id.as_uuid(), now.millis()).await?;
        let conv = load_conversation(&tx, id, false).await?;
        tx.commit().await.map_err(be)?;
        Ok(conv)
    }

    async fn append_message(&self, m: NewMessage) -> StoreResult<Appended> {
        append_alone(self.client().await?, m).await
    }

    async fn messages_after(
        &self,
        conversation: ConversationId,
        after_seq: i64,
        limit: u32,
    ) -> StoreResult<Vec<Message>> {
        let c = self.client().await?;
        let rows = c
            .query(
                &format!(
                    "SELECT {MESSAGE_COLS} FROM messages WHERE conversation_id = $1 AND seq > $2 ORDER BY seq LIMIT $3"
                ),
                &[&conversation.as_uuid(), &after_seq, &i64::from(limit)],
            )
            .await
            .map_err(be)?;
        rows.iter().map(|r| message_from(r, 0)).collect()
    }

    async fn messages_before(
        &self,
        conversation: ConversationId,
        before_seq: i64,
        limit: u32,
    ) -> StoreResult<Vec<Message>> {
        let c = self.client().await?;
        let rows = c
            .query(
                &format!("SELECT {MESSAGE_COLS} FROM messages WHERE conversation_id = $1 AND seq < $2 ORDER BY seq DESC LIMIT $3"),
                &[&conversation.as_uuid(), &before_seq, &i64::from(limit)],
            )
            .await
            .map_err(be)?;
        let mut list: Vec<Message> = rows.iter().map(|r| message_from(r, 0)).collect::<StoreResult<_>>()?;
        list.reverse();
        Ok(list)
    }

    async fn response_counts(
        &self,
        scope: Scope,
        period: Period,
        window: ReplyWindow,
    ) -> StoreResult<Vec<(AgentId, ResponseCounts)>> {
        rows::response_counts(self, scope, period, window).await
    }

    async fn bot_state(&self, conversation: ConversationId) -> StoreResult<Option<String>> {
        let c = self.client().await?;
        let row = c
            .query_opt("SELECT state FROM bot_states WHERE conversation_id = $1", &[&conversation.as_uuid()])
            .await
            .map_err(be)?;
        Ok(row.map(|r| r.get(0)))
    }

    async fn bot_context(
        &self,
        conversation: ConversationId,
        customer: CustomerId,
        orders: u32,
    ) -> StoreResult<(BotMemory, Vec<OrderWithShipments>)> {
        let c = self.client().await?;
        // One statement, so one snapshot for both, as on SQLite; the base
        // row keeps the memory when the shopper has no orders.
        static SQL: LazyLock<String> = LazyLock::new(|| {
            format!(
                "SELECT w.*, b.state, COALESCE(b.version, 0) \
                 FROM (SELECT 1) AS one LEFT JOIN bot_states b ON b.conversation_id = $3 \
                 LEFT JOIN LATERAL ({}) AS w ON true ORDER BY w.created_at DESC",
                commerce::orders_with_shipments_sql()
            )
        });
        let rows =
            query_prepared(&c, &SQL, &[&customer.as_uuid(), &i64::from(orders), &conversation.as_uuid()]).await?;
        let n = commerce::ORDER_WITH_SHIPMENTS_COUNT;
        let memory = rows.first().map(|r| BotMemory { state: r.get(n), version: r.get(n + 1) }).unwrap_or_default();
        let orders = rows
            .iter()
            .filter(|r| r.get::<_, Option<Uuid>>(0).is_some())
            .map(commerce::order_with_shipments_from)
            .collect::<StoreResult<_>>()?;
        Ok((memory, orders))
    }

    async fn apply_bot_turn(&self, turn: BotTurnWrite) -> StoreResult<BotTurnWritten> {
        bot::apply_bot_turn(&Pipelined::on(self.client().await?), turn).await
    }

    async fn append_with_bot_turn(&self, message: NewMessage, turn: BotTurnWrite) -> StoreResult<SaidAndAnswered> {
        let tx = Pipelined::on(self.client().await?);
        let (said, bot_version) = match begin_append(&tx, message, true).await? {
            Begun::Duplicate(said) => {
                return Ok(SaidAndAnswered { said, turn: Err(StoreError::Conflict("duplicate")) });
            }
            Begun::New { said, bot_version, .. } => (said, bot_version.unwrap_or_default()),
        };
        // A refused turn leaves the message written. The checks only read,
        // so the transaction is still good for the message alone.
        let committed = match bot::check_turn(tx.client(), &said.conversation, bot_version, &turn).await {
            Ok(()) => bot::commit_turn(&tx, said.conversation.clone(), Some(&said.message), turn).await.map(Ok),
            Err(refused @ (StoreError::Conflict(_) | StoreError::NotFound(_))) => {
                commit_message(&tx, &said, None).await.map(|()| Err(refused))
            }
            Err(e) => return Err(e),
        };
        match committed {
            Ok(turn) => Ok(SaidAndAnswered { said, turn }),
            Err(e) if lost_client_id_race(&e) => {
                let said = stored_duplicate(&tx, &said.message).await?;
                Ok(SaidAndAnswered { said, turn: Err(StoreError::Conflict("duplicate")) })
            }
            Err(e) => Err(e),
        }
    }

    async fn close_idle_bot_conversations(
        &self,
        quiet_since: Timestamp,
        now: Timestamp,
        limit: u32,
    ) -> StoreResult<Vec<Conversation>> {
        let c = self.client().await?;
        let rows = c
            .query(
                &format!(
                    "WITH closed AS (UPDATE conversations SET status = 'closed', waiting_since = NULL, closed_at = $2, \
                       updated_at = $2 \
                       WHERE id IN (SELECT id FROM conversations WHERE status = 'bot' AND updated_at < $1 LIMIT $3 \
                       FOR UPDATE SKIP LOCKED) RETURNING {CONVERSATION_COLS}), \
                     r AS (SELECT id, shop_id, $2::bigint AS at FROM closed), \
                     d AS ({}) \
                     SELECT {CONVERSATION_COLS} FROM closed",
                    notify::announce_from_r(NotifyEvent::ConversationClosed, "gen_random_uuid()")
                ),
                &[&quiet_since.millis(), &now.millis(), &i64::from(limit)],
            )
            .await
            .map_err(be)?;
        rows.iter().map(|r| conversation_from(r, 0)).collect()
    }

    async fn bot_audit(&self, shop: ShopId, since: Timestamp, limit: u32) -> StoreResult<Vec<BotAuditRow>> {
        let c = self.client().await?;
        let rows = c
            .query(
                "SELECT a.conversation_id, a.at, a.intent, a.confidence, a.emotion, a.order_no, a.outcome, c.customer_id \
                 FROM bot_audit a JOIN conversations c ON c.id = a.conversation_id \
                 WHERE a.shop_id = $1 AND a.at >= $2 ORDER BY a.seq LIMIT $3",
                &[&shop.as_uuid(), &since.millis(), &i64::from(limit)],
            )
            .await
            .map_err(be)?;
        Ok(rows
            .iter()
            .map(|r| BotAuditRow {
                conversation: ConversationId::from_uuid(r.get(0)),
                customer: CustomerId::from_uuid(r.get(7)),
                at: Timestamp(r.get(1)),
                audit: BotAudit {
                    intent: r.get(2),
                    confidence: r.get(3),
                    emotion: r.get(4),
                    order_no: r.get(5),
                    outcome: r.get(6),
                },
            })
            .collect())
    }

    async fn knowledge(&self, shop: ShopId, limit: u32) -> StoreResult<Vec<kefu_core::knowledge::KnowledgeEntry>> {
        knowledge::list(&self.client().await?, shop, limit).await
    }

    async fn put_knowledge(&self, entry: &kefu_core::knowledge::KnowledgeEntry) -> StoreResult<()> {
        knowledge::put(&self.client().await?, entry).await
    }

    async fn put_knowledge_many(&self, entries: &[kefu_core::knowledge::KnowledgeEntry]) -> StoreResult<()> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(be)?;
        for e in entries {
            knowledge::put(&tx, e).await?;
        }
        tx.commit().await.map_err(be)
    }

    async fn delete_knowledge(&self, shop: ShopId, id: KnowledgeId) -> StoreResult<()> {
        knowledge::delete(&self.client().await?, shop, id).await
    }

    async fn put_attachment(
        &self,
        attachment: &kefu_core::attachment::Attachment,
        budget: Option<ShopBudget>,
    ) -> StoreResult<()> {
        attachments::put(&self.client().await?, attachment, budget).await
    }

    async fn attachment(&self, id: AttachmentId) -> StoreResult<Option<kefu_core::attachment::Attachment>> {
        attachments::get(&self.client().await?, id).await
    }

    async fn attachment_owner(&self, id: AttachmentId) -> StoreResult<Option<(ShopId, CustomerId)>> {
        attachments::owner(&self.client().await?, id).await
    }

    async fn file_order_request(
        &self,
        filed: &kefu_core::request::FiledRequest,
    ) -> StoreResult<kefu_core::request::RequestRow> {
        requests::file(&mut self.client().await?, filed).await
    }

    async fn order_request(&self, shop: ShopId, id: Uuid) -> StoreResult<Option<kefu_core::request::RequestRow>> {
        requests::load(&self.client().await?, shop, id).await
    }

    async fn order_requests(
        &self,
        filter: &kefu_core::request::RequestFilter,
    ) -> StoreResult<Vec<kefu_core::request::RequestRow>> {
        requests::list(&self.client().await?, filter).await
    }

    async fn resolve_order_request(
        &self,
        resolution: &kefu_core::request::Resolution,
    ) -> StoreResult<kefu_core::request::RequestRow> {
        requests::resolve(&self.client().await?, resolution).await
    }

    async fn delete_attachments_before(&self, before: Timestamp, limit: u32) -> StoreResult<u32> {
        attachments::delete_before(&self.client().await?, before, limit).await
    }

    async fn uploads_by_customer(&self, customer: CustomerId, since: Timestamp) -> StoreResult<Vec<(Timestamp, u64)>> {
        attachments::uploads_by(&self.client().await?, customer, since).await
    }

    async fn quick_phrases(&self, shop: ShopId) -> StoreResult<Vec<kefu_core::phrase::QuickPhrase>> {
        phrases::list(&self.client().await?, shop).await
    }

    async fn put_quick_phrase(&self, phrase: &kefu_core::phrase::QuickPhrase) -> StoreResult<()> {
        phrases::put(&self.client().await?, phrase).await
    }

    async fn delete_quick_phrase(&self, shop: ShopId, id: PhraseId) -> StoreResult<()> {
        phrases::delete(&self.client().await?, shop, id).await
    }

    async fn shop_rules(&self, shop: ShopId) -> StoreResult<ShopRulesState> {
        rules::state(&self.client().await?, shop).await
    }

    async fn put_shop_rules(&self, shop: ShopId, change: &RulesChange, base: Option<i64>) -> StoreResult<i64> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(be)?;
        let version = rules::put(&tx, shop, change, base).await?;
        tx.commit().await.map_err(be)?;
        Ok(version)
    }

    async fn shop_rules_history(&self, shop: ShopId, limit: u32) -> StoreResult<Vec<RulesVersion>> {
        rules::history(&self.client().await?, shop, limit).await
    }

    async fn notify_endpoint(&self, shop: ShopId) -> StoreResult<Option<Endpoint>> {
        notify::endpoint(&self.client().await?, shop).await
    }

    async fn set_notify_endpoint(&self, shop: ShopId, endpoint: Option<&Endpoint>) -> StoreResult<()> {
        notify::set_endpoint(&self.client().await?, shop, endpoint).await
    }

    async fn queue_delivery(
        &self,
        shop: ShopId,
        event: NotifyEvent,
        subject: Option<Uuid>,
        at: Timestamp,
    ) -> StoreResult<Delivery> {
        notify::queue(&self.client().await?, shop, event, subject, at.millis()).await
    }

    async fn claim_deliveries(&self, now: Timestamp, until: Timestamp, room: ClaimRoom) -> StoreResult<Vec<Delivery>> {
        notify::claim(&self.client().await?, now.millis(), until.millis(), &room).await
    }

    async fn finish_delivery(&self, done: &AttemptDone) -> StoreResult<()> {
        notify::finish(&self.client().await?, done).await
    }

    async fn deliveries(&self, shop: ShopId, state: Option<DeliveryState>, limit: u32) -> StoreResult<Vec<Delivery>> {
        notify::list(&self.client().await?, shop, state, limit).await
    }

    async fn retry_delivery(&self, shop: ShopId, id: Uuid, at: Timestamp) -> StoreResult<Delivery> {
        notify::retry(&self.client().await?, shop, id, at.millis()).await
    }

    async fn prune_deliveries(&self, before: Timestamp, limit: u32) -> StoreResult<u32> {
        notify::prune(&self.client().await?, before.millis(), limit).await
    }
}
