//! Agents, their team reads and their sessions; disabling an account.

use super::*;

pub(super) async fn create(store: &PostgresStore, a: &Agent) -> StoreResult<()> {
    let mut c = store.client().await?;
    let tx = c.transaction().await.map_err(be)?;
    tx.execute(
        "INSERT INTO agents (id, username, display_name, password_hash, role, max_concurrent, status, created_at, disabled) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        &[&a.id.as_uuid(), &a.username.as_str(), &a.display_name, &a.password_hash, &a.role.as_str(), &(a.max_concurrent.min(i32::MAX as u32) as i32), &a.status.as_str(), &a.created_at.millis(), &a.disabled],
    )
    .await
    .map_err(|e| unique_or(e, "username_taken"))?;
    save_agent_links(&tx, a).await?;
    tx.commit().await.map_err(be)
}

pub(super) async fn update(store: &PostgresStore, a: &Agent) -> StoreResult<()> {
    let mut c = store.client().await?;
    let tx = c.transaction().await.map_err(be)?;
    let n = tx
        .execute(
            "UPDATE agents SET username = $2, display_name = $3, password_hash = $4, role = $5, max_concurrent = $6, status = $7 WHERE id = $1",
            &[&a.id.as_uuid(), &a.username.as_str(), &a.display_name, &a.password_hash, &a.role.as_str(), &(a.max_concurrent.min(i32::MAX as u32) as i32), &a.status.as_str()],
        )
        .await
        .map_err(|e| unique_or(e, "username_taken"))?;
    if n == 0 {
        return Err(StoreError::NotFound("agent"));
    }
    save_agent_links(&tx, a).await?;
    tx.commit().await.map_err(be)
}

pub(super) async fn by_id(store: &PostgresStore, id: AgentId) -> StoreResult<Option<Agent>> {
    static SQL: LazyLock<String> =
        LazyLock::new(|| format!("SELECT {AGENT_COLS}, {AGENT_LINKS} FROM agents a WHERE a.id = $1"));
    let c = store.client().await?;
    query_opt_prepared(&c, &SQL, &[&id.as_uuid()]).await?.as_ref().map(agent_linked).transpose()
}

pub(super) async fn by_username(store: &PostgresStore, username: &str) -> StoreResult<Option<Agent>> {
    static SQL: LazyLock<String> =
        LazyLock::new(|| format!("SELECT {AGENT_COLS}, {AGENT_LINKS} FROM agents a WHERE a.username = $1"));
    let c = store.client().await?;
    let username = username.trim().to_ascii_lowercase();
    query_opt_prepared(&c, &SQL, &[&username]).await?.as_ref().map(agent_linked).transpose()
}

pub(super) async fn of_shop(store: &PostgresStore, shop: ShopId) -> StoreResult<Vec<AgentLoad>> {
    // One statement for the team, its shops, skill groups and loads:
    // routing reads it for every new conversation, and agent by agent it
    // was 1 + 3N round trips.
    static SQL: LazyLock<String> = LazyLock::new(|| {
        format!(
            "SELECT {AGENT_COLS}, {AGENT_LINKS}, \
               (SELECT COUNT(*) FROM conversations v WHERE v.assigned_agent = a.id AND v.status = 'assigned'), \
               (SELECT COUNT(*) FROM conversations v WHERE v.assigned_agent = a.id AND v.offered_until IS NOT NULL) \
             FROM agents a JOIN agent_shops s ON s.agent_id = a.id WHERE s.shop_id = $1 ORDER BY a.username"
        )
    });
    let c = store.client().await?;
    let rows = query_prepared(&c, &SQL, &[&shop.as_uuid()]).await?;
    rows.iter()
        .map(|r| {
            let agent = agent_linked(r)?;
            let n = |v: i64| u32::try_from(v).unwrap_or(u32::MAX);
            Ok(AgentLoad { agent, open_conversations: n(r.get(11)), pending_offers: n(r.get(12)) })
        })
        .collect()
}

pub(super) async fn someone_online(store: &PostgresStore, shop: ShopId) -> StoreResult<bool> {
    static SQL: LazyLock<String> = LazyLock::new(|| codec::someone_online_sql("$1"));
    let c = store.client().await?;
    Ok(query_opt_prepared(&c, &SQL, &[&shop.as_uuid()]).await?.is_some())
}

pub(super) async fn set_status(store: &PostgresStore, id: AgentId, status: AgentStatus) -> StoreResult<()> {
    let c = store.client().await?;
    let n = c
        .execute("UPDATE agents SET status = $1 WHERE id = $2", &[&status.as_str(), &id.as_uuid()])
        .await
        .map_err(be)?;
    if n == 0 { Err(StoreError::NotFound("agent")) } else { Ok(()) }
}

pub(super) async fn seen(store: &PostgresStore, id: AgentId, at: i64) -> StoreResult<()> {
    execute_prepared(&store.client().await?, "UPDATE agents SET seen_at = $2 WHERE id = $1", &[&id.as_uuid(), &at])
        .await?;
    Ok(())
}

/// The agents set offline with their shops, then the stranded conversations
/// queued, in one transaction: a conversation is queued in the same write as
/// its agent goes offline.
pub(super) async fn sweep_absent(store: &PostgresStore, before: i64, now: i64) -> StoreResult<Absence> {
    let mut c = store.client().await?;
    let tx = c.transaction().await.map_err(be)?;
    let offline = set_with_shops(
        &tx,
        "UPDATE agents SET status = 'offline' WHERE status <> 'offline' AND (seen_at IS NULL OR seen_at < $1) RETURNING id",
        &before,
    )
    .await?;
    let rows = query_prepared(
        &tx,
        &format!(
            "UPDATE conversations SET status = 'queued', assigned_agent = NULL, offered_until = NULL, updated_at = $2 \
             WHERE status = 'assigned' AND waiting_since < $1 \
               AND assigned_agent IN (SELECT id FROM agents WHERE status = 'offline') \
             RETURNING {CONVERSATION_COLS}"
        ),
        &[&before, &now],
    )
    .await?;
    let requeued = rows.iter().map(|r| conversation_from(r, 0)).collect::<StoreResult<Vec<_>>>()?;
    tx.commit().await.map_err(be)?;
    Ok(Absence { offline, requeued })
}

pub(super) async fn lapse_offers(store: &PostgresStore, now: i64) -> StoreResult<Lapsed> {
    const LAPSING: &str = "offered_until IS NOT NULL AND offered_until <= $1 AND status = 'assigned'";
    let mut c = store.client().await?;
    // Read first, as the SQLite store does: a sweep that finds nothing opens no transaction.
    let due = query_prepared(&c, &format!("SELECT 1 FROM conversations WHERE {LAPSING} LIMIT 1"), &[&now]).await?;
    if due.is_empty() {
        return Ok(Lapsed::default());
    }
    let tx = c.transaction().await.map_err(be)?;
    // Locked, and checked again once locked: an offer accepted meanwhile stays.
    let lapsing = query_prepared(
        &tx,
        &format!("SELECT id, assigned_agent, shop_id FROM conversations WHERE {LAPSING} FOR UPDATE"),
        &[&now],
    )
    .await?;
    let ids: Vec<Uuid> = lapsing.iter().map(|r| r.get(0)).collect();
    let day = Timestamp(now).china_day();
    let missed = codec::missed_offer_sql(|n| format!("${n}"));
    for r in &lapsing {
        if let Some(agent) = r.get::<_, Option<Uuid>>(1) {
            tx.execute(&missed, &[&day, &r.get::<_, Uuid>(2), &agent]).await.map_err(be)?;
        }
    }
    let mut holders: Vec<Uuid> = lapsing.iter().filter_map(|r| r.get::<_, Option<Uuid>>(1)).collect();
    holders.sort_unstable();
    holders.dedup();
    let rows = query_prepared(
        &tx,
        &format!(
            "UPDATE conversations SET status = 'queued', assigned_agent = NULL, offered_until = NULL, updated_at = $2 \
             WHERE id = ANY($1) RETURNING {CONVERSATION_COLS}"
        ),
        &[&ids, &now],
    )
    .await?;
    let requeued = rows.iter().map(|r| conversation_from(r, 0)).collect::<StoreResult<Vec<_>>>()?;
    let away = set_with_shops(
        &tx,
        "UPDATE agents SET status = 'away' WHERE id = ANY($1) AND status = 'online' RETURNING id",
        &holders,
    )
    .await?;
    tx.commit().await.map_err(be)?;
    Ok(Lapsed { away, requeued })
}

/// Runs `update` (an `UPDATE agents … RETURNING id` of one parameter) and
/// answers the agents it changed, each with their shops, in one statement.
async fn set_with_shops(
    tx: &impl GenericClient,
    update: &str,
    param: &(dyn ToSql + Sync),
) -> StoreResult<Vec<(AgentId, Vec<ShopId>)>> {
    let rows = query_prepared(
        tx,
        &format!(
            "WITH gone AS ({update}) \
             SELECT gone.id, COALESCE(array_agg(s.shop_id) FILTER (WHERE s.shop_id IS NOT NULL), '{{}}') \
             FROM gone LEFT JOIN agent_shops s ON s.agent_id = gone.id GROUP BY gone.id"
        ),
        &[param],
    )
    .await?;
    Ok(rows
        .iter()
        .map(|r| {
            let shops: Vec<Uuid> = r.get(1);
            (AgentId::from_uuid(r.get(0)), shops.into_iter().map(ShopId::from_uuid).collect())
        })
        .collect())
}

pub(super) async fn create_session(store: &PostgresStore, s: &AgentSession) -> StoreResult<()> {
    let c = store.client().await?;
    c.execute(
        "INSERT INTO sessions (token_hash, agent_id, csrf_token, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
        &[&&s.token_hash[..], &s.agent_id.as_uuid(), &s.csrf_token, &s.created_at.millis(), &s.expires_at.millis()],
    )
    .await
    .map_err(be)?;
    Ok(())
}

pub(super) async fn session(
    store: &PostgresStore,
    token_hash: &[u8; 32],
    now: Timestamp,
) -> StoreResult<Option<AgentSession>> {
    let c = store.client().await?;
    let row = c
        .query_opt(
            "SELECT agent_id, csrf_token, created_at, expires_at FROM sessions WHERE token_hash = $1 AND expires_at > $2",
            &[&&token_hash[..], &now.millis()],
        )
        .await
        .map_err(be)?;
    Ok(row.map(|r| AgentSession {
        token_hash: *token_hash,
        agent_id: AgentId::from_uuid(r.get(0)),
        csrf_token: r.get(1),
        created_at: Timestamp(r.get(2)),
        expires_at: Timestamp(r.get(3)),
    }))
}

pub(super) async fn revoke_sessions(store: &PostgresStore, agent: AgentId, keep: Option<[u8; 32]>) -> StoreResult<u32> {
    revoke_sessions_in(&store.client().await?, agent, keep).await
}

pub(super) async fn disable(store: &PostgresStore, id: AgentId, now: Timestamp) -> StoreResult<Vec<Conversation>> {
    let mut c = store.client().await?;
    let tx = c.transaction().await.map_err(be)?;
    let n = tx
        .execute("UPDATE agents SET disabled = true, status = 'offline' WHERE id = $1", &[&id.as_uuid()])
        .await
        .map_err(be)?;
    if n == 0 {
        return Err(StoreError::NotFound("agent"));
    }
    revoke_sessions_in(&tx, id, None).await?;
    let rows = tx
        .query(
            &format!(
                "UPDATE conversations SET status = 'queued', assigned_agent = NULL, offered_until = NULL, updated_at = $2 \
                 WHERE assigned_agent = $1 AND status = 'assigned' RETURNING {CONVERSATION_COLS}"
            ),
            &[&id.as_uuid(), &now.millis()],
        )
        .await
        .map_err(be)?;
    let released = rows.iter().map(|r| conversation_from(r, 0)).collect::<StoreResult<Vec<_>>>()?;
    tx.commit().await.map_err(be)?;
    Ok(released)
}

/// See `Store::release_conversations`: the agent's row is locked while
/// their conversations move, so they cannot go 接待中 in between.
pub(super) async fn release(
    store: &PostgresStore,
    agent: AgentId,
    shops: Option<&[ShopId]>,
    now: i64,
) -> StoreResult<Vec<Conversation>> {
    let mut c = store.client().await?;
    let tx = c.transaction().await.map_err(be)?;
    let row = tx
        .query_opt("SELECT status FROM agents WHERE id = $1 FOR UPDATE", &[&agent.as_uuid()])
        .await
        .map_err(be)?
        .ok_or(StoreError::NotFound("agent"))?;
    if row.get::<_, &str>(0) == AgentStatus::Online.as_str() {
        return Err(StoreError::Conflict("agent_online"));
    }
    let shops: Option<Vec<uuid::Uuid>> = shops.map(|list| list.iter().map(|s| s.as_uuid()).collect());
    let rows = tx
        .query(
            &format!(
                "UPDATE conversations SET status = 'queued', assigned_agent = NULL, offered_until = NULL, updated_at = $2 \
                 WHERE assigned_agent = $1 AND status = 'assigned' AND ($3::uuid[] IS NULL OR shop_id = ANY($3)) \
                 RETURNING {CONVERSATION_COLS}"
            ),
            &[&agent.as_uuid(), &now, &shops],
        )
        .await
        .map_err(be)?;
    let released = rows.iter().map(|r| conversation_from(r, 0)).collect::<StoreResult<Vec<_>>>()?;
    tx.commit().await.map_err(be)?;
    Ok(released)
}

pub(super) async fn enable(store: &PostgresStore, id: AgentId) -> StoreResult<()> {
    let c = store.client().await?;
    let n = c.execute("UPDATE agents SET disabled = false WHERE id = $1", &[&id.as_uuid()]).await.map_err(be)?;
    if n == 0 { Err(StoreError::NotFound("agent")) } else { Ok(()) }
}

pub(super) async fn delete_session(store: &PostgresStore, token_hash: &[u8; 32]) -> StoreResult<()> {
    let c = store.client().await?;
    c.execute("DELETE FROM sessions WHERE token_hash = $1", &[&&token_hash[..]]).await.map_err(be)?;
    Ok(())
}

pub(super) async fn revoke_sessions_in(
    c: &impl GenericClient,
    agent: AgentId,
    keep: Option<[u8; 32]>,
) -> StoreResult<u32> {
    let keep: Option<&[u8]> = keep.as_ref().map(|k| &k[..]);
    let n = c
        .execute(
            "DELETE FROM sessions WHERE agent_id = $1 AND ($2::bytea IS NULL OR token_hash <> $2)",
            &[&agent.as_uuid(), &keep],
        )
        .await
        .map_err(be)?;
    Ok(u32::try_from(n).unwrap_or(u32::MAX))
}
