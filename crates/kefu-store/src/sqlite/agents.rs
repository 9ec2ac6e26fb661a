//! Agents, their team reads and their sessions; disabling an account.

use super::*;

fn taken(e: rusqlite::Error) -> StoreError {
    if is_unique_violation(&e) { StoreError::Conflict("username_taken") } else { be(e) }
}

pub(super) fn create(c: &Connection, a: &Agent) -> StoreResult<()> {
    c.execute(
        "INSERT INTO agents (id, username, display_name, password_hash, role, max_concurrent, status, created_at, disabled) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        params![
            a.id.as_uuid(),
            a.username.as_str(),
            a.display_name,
            a.password_hash,
            a.role.as_str(),
            a.max_concurrent,
            a.status.as_str(),
            a.created_at.millis(),
            a.disabled
        ],
    )
    .map_err(taken)?;
    save_agent_links(c, a)
}

pub(super) fn update(c: &Connection, a: &Agent) -> StoreResult<()> {
    let n = c
        .execute(
            "UPDATE agents SET username = ?2, display_name = ?3, password_hash = ?4, role = ?5, max_concurrent = ?6, \
             status = ?7 WHERE id = ?1",
            params![
                a.id.as_uuid(),
                a.username.as_str(),
                a.display_name,
                a.password_hash,
                a.role.as_str(),
                a.max_concurrent,
                a.status.as_str()
            ],
        )
        .map_err(taken)?;
    if n == 0 {
        return Err(StoreError::NotFound("agent"));
    }
    save_agent_links(c, a)
}

/// The agent whose `column` (`id` or `username`) is `value`.
pub(super) fn by(c: &Connection, column: &str, value: impl rusqlite::ToSql) -> StoreResult<Option<Agent>> {
    let row = one(c, &format!("SELECT {AGENT_COLS} FROM agents WHERE {column} = ?1"), [value], agent_row, Ok)?;
    row.map(|r| agent_from(c, r)).transpose()
}

/// One statement for the team, its shops, skill groups and loads: routing
/// reads it for every new conversation.
pub(super) fn of_shop(c: &Connection, shop: ShopId) -> StoreResult<Vec<AgentLoad>> {
    many(
        c,
        "SELECT a.id, a.username, a.display_name, a.password_hash, a.role, a.max_concurrent, a.status, \
           a.created_at, a.disabled, \
           (SELECT group_concat(hex(shop_id)) FROM agent_shops WHERE agent_id = a.id), \
           (SELECT group_concat(hex(group_id)) FROM agent_skill_groups WHERE agent_id = a.id), \
           (SELECT COUNT(*) FROM conversations v WHERE v.assigned_agent = a.id AND v.status = 'assigned'), \
           (SELECT COUNT(*) FROM conversations v WHERE v.assigned_agent = a.id AND v.offered_until IS NOT NULL) \
         FROM agents a JOIN agent_shops s ON s.agent_id = a.id WHERE s.shop_id = ?1 ORDER BY a.username",
        [shop.as_uuid()],
        |r| {
            let links = (r.get::<_, Option<String>>(9)?, r.get::<_, Option<String>>(10)?);
            Ok((agent_row(r)?, links, r.get::<_, i64>(11)?, r.get::<_, i64>(12)?))
        },
        |(row, (shops, groups), open, pending)| {
            let agent = agent_with(row, hex_ids(shops)?, hex_ids(groups)?)?;
            let n = |v: i64| u32::try_from(v).unwrap_or(u32::MAX);
            Ok(AgentLoad { agent, open_conversations: n(open), pending_offers: n(pending) })
        },
    )
}

pub(super) fn someone_online(c: &Connection, shop: ShopId) -> StoreResult<bool> {
    static SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| codec::someone_online_sql("?1"));
    Ok(one(c, &SQL, [shop.as_uuid()], |r| r.get::<_, i64>(0), Ok)?.is_some())
}

pub(super) fn set_status(c: &Connection, id: AgentId, status: AgentStatus) -> StoreResult<()> {
    let n =
        c.execute("UPDATE agents SET status = ?1 WHERE id = ?2", params![status.as_str(), id.as_uuid()]).map_err(be)?;
    if n == 0 { Err(StoreError::NotFound("agent")) } else { Ok(()) }
}

pub(super) fn seen(c: &Connection, id: AgentId, at: i64) -> StoreResult<()> {
    c.prepare_cached("UPDATE agents SET seen_at = ?2 WHERE id = ?1")
        .and_then(|mut s| s.execute(params![id.as_uuid(), at]))
        .map_err(be)?;
    Ok(())
}

const UNSEEN: &str = "status <> 'offline' AND (seen_at IS NULL OR seen_at < ?1)";
/// Conversations held by an offline agent whose shopper waits since before ?1.
const STRANDED: &str = "status = 'assigned' AND waiting_since < ?1 \
     AND assigned_agent IN (SELECT id FROM agents WHERE status = 'offline')";

/// Whether a sweep has anything to do: read first, so a sweep that finds
/// nothing costs the writer nothing.
pub(super) fn anything_absent(c: &Connection, before: i64) -> StoreResult<bool> {
    let sql = format!(
        "SELECT EXISTS (SELECT 1 FROM agents WHERE {UNSEEN}) OR EXISTS (SELECT 1 FROM conversations WHERE {STRANDED})"
    );
    Ok(one(c, &sql, [before], |r| r.get::<_, bool>(0), Ok)?.unwrap_or(false))
}

pub(super) fn sweep_absent(c: &Connection, before: i64, now: i64) -> StoreResult<Absence> {
    let gone = many(
        c,
        &format!("UPDATE agents SET status = 'offline' WHERE {UNSEEN} RETURNING id"),
        [before],
        |r| uuid_col(r, 0),
        |id| Ok(AgentId::from_uuid(id)),
    )?;
    let offline = gone.into_iter().map(|id| Ok((id, shops_of(c, id)?))).collect::<StoreResult<Vec<_>>>()?;
    let requeued = many(
        c,
        &format!(
            "UPDATE conversations SET status = 'queued', assigned_agent = NULL, offered_until = NULL, updated_at = ?2 \
             WHERE {STRANDED} RETURNING {CONVERSATION_COLS}"
        ),
        params![before, now],
        conversation_row,
        conversation_from,
    )?;
    Ok(Absence { offline, requeued })
}

/// Offers not accepted by ?1.
const LAPSING: &str = "offered_until IS NOT NULL AND offered_until <= ?1 AND status = 'assigned'";

/// Whether any offer has lapsed: read first, as [`anything_absent`].
pub(super) fn offers_lapsed(c: &Connection, now: i64) -> StoreResult<bool> {
    let sql = format!("SELECT EXISTS (SELECT 1 FROM conversations WHERE {LAPSING})");
    Ok(one(c, &sql, [now], |r| r.get::<_, bool>(0), Ok)?.unwrap_or(false))
}

pub(super) fn lapse_offers(c: &Connection, now: i64) -> StoreResult<Lapsed> {
    let missed = many(
        c,
        &format!("SELECT assigned_agent, shop_id FROM conversations WHERE {LAPSING} AND assigned_agent IS NOT NULL"),
        [now],
        |r| Ok((uuid_col(r, 0)?, uuid_col(r, 1)?)),
        |(agent, shop)| Ok((AgentId::from_uuid(agent), ShopId::from_uuid(shop))),
    )?;
    let day = Timestamp(now).china_day();
    let add_miss = codec::missed_offer_sql(|n| format!("?{n}"));
    for (agent, shop) in &missed {
        c.execute(&add_miss, params![day, shop.as_uuid(), agent.as_uuid()]).map_err(be)?;
    }
    let mut holders: Vec<AgentId> = missed.iter().map(|(agent, _)| *agent).collect();
    holders.sort_unstable();
    holders.dedup();
    let requeued = many(
        c,
        &format!(
            "UPDATE conversations SET status = 'queued', assigned_agent = NULL, offered_until = NULL, updated_at = ?1 \
             WHERE {LAPSING} RETURNING {CONVERSATION_COLS}"
        ),
        [now],
        conversation_row,
        conversation_from,
    )?;
    let mut away = Vec::new();
    for agent in holders {
        let n = c
            .execute("UPDATE agents SET status = 'away' WHERE id = ?1 AND status = 'online'", [agent.as_uuid()])
            .map_err(be)?;
        if n == 1 {
            away.push((agent, shops_of(c, agent)?));
        }
    }
    Ok(Lapsed { away, requeued })
}

fn shops_of(c: &Connection, agent: AgentId) -> StoreResult<Vec<ShopId>> {
    many(
        c,
        "SELECT shop_id FROM agent_shops WHERE agent_id = ?1",
        [agent.as_uuid()],
        |r| uuid_col(r, 0),
        |s| Ok(ShopId::from_uuid(s)),
    )
}

pub(super) fn create_session(c: &Connection, s: &AgentSession) -> StoreResult<()> {
    c.execute(
        "INSERT INTO sessions (token_hash, agent_id, csrf_token, created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![&s.token_hash[..], s.agent_id.as_uuid(), s.csrf_token, s.created_at.millis(), s.expires_at.millis()],
    )
    .map_err(be)?;
    Ok(())
}

pub(super) fn session(c: &Connection, hash: [u8; 32], now: Timestamp) -> StoreResult<Option<AgentSession>> {
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
}

pub(super) fn delete_session(c: &Connection, hash: [u8; 32]) -> StoreResult<()> {
    c.execute("DELETE FROM sessions WHERE token_hash = ?1", [&hash[..]]).map_err(be)?;
    Ok(())
}

pub(super) fn revoke_sessions(c: &Connection, agent: AgentId, keep: Option<[u8; 32]>) -> StoreResult<u32> {
    let n = c
        .execute(
            "DELETE FROM sessions WHERE agent_id = ?1 AND (?2 IS NULL OR token_hash <> ?2)",
            params![agent.as_uuid(), keep.as_ref().map(|k| &k[..])],
        )
        .map_err(be)?;
    Ok(u32::try_from(n).unwrap_or(u32::MAX))
}

pub(super) fn disable(c: &Connection, id: AgentId, now: Timestamp) -> StoreResult<Vec<Conversation>> {
    let n =
        c.execute("UPDATE agents SET disabled = 1, status = 'offline' WHERE id = ?1", [id.as_uuid()]).map_err(be)?;
    if n == 0 {
        return Err(StoreError::NotFound("agent"));
    }
    revoke_sessions(c, id, None)?;
    many(
        c,
        &format!(
            "UPDATE conversations SET status = 'queued', assigned_agent = NULL, offered_until = NULL, updated_at = ?2 \
             WHERE assigned_agent = ?1 AND status = 'assigned' RETURNING {CONVERSATION_COLS}"
        ),
        params![id.as_uuid(), now.millis()],
        conversation_row,
        conversation_from,
    )
}

/// See `Store::release_conversations`; one statement per shop named.
pub(super) fn release(
    c: &Connection,
    agent: AgentId,
    shops: Option<&[ShopId]>,
    now: i64,
) -> StoreResult<Vec<Conversation>> {
    let status = one(c, "SELECT status FROM agents WHERE id = ?1", [agent.as_uuid()], |r| r.get::<_, String>(0), Ok)?
        .ok_or(StoreError::NotFound("agent"))?;
    if status == AgentStatus::Online.as_str() {
        return Err(StoreError::Conflict("agent_online"));
    }
    let sql = format!(
        "UPDATE conversations SET status = 'queued', assigned_agent = NULL, offered_until = NULL, updated_at = ?2 \
         WHERE assigned_agent = ?1 AND status = 'assigned' AND (?3 IS NULL OR shop_id = ?3) \
         RETURNING {CONVERSATION_COLS}"
    );
    let release = |shop: Option<ShopId>| {
        many(c, &sql, params![agent.as_uuid(), now, shop.map(|s| s.as_uuid())], conversation_row, conversation_from)
    };
    match shops {
        None => release(None),
        Some(shops) => Ok(shops.iter().map(|s| release(Some(*s))).collect::<StoreResult<Vec<_>>>()?.concat()),
    }
}

pub(super) fn enable(c: &Connection, id: AgentId) -> StoreResult<()> {
    let n = c.execute("UPDATE agents SET disabled = 0 WHERE id = ?1", [id.as_uuid()]).map_err(be)?;
    if n == 0 { Err(StoreError::NotFound("agent")) } else { Ok(()) }
}
