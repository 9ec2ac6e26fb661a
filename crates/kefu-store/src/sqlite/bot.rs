//! The bot's verbs: a turn written in the writer's transaction (order
//! changes, requests, replies, memory, audit line and hand-off, or nothing),
//! closing quiet bot conversations, and reading the audit trail.

use super::*;

pub(super) fn state(c: &Connection, conversation: ConversationId) -> StoreResult<Option<String>> {
    Ok(memory(c, conversation)?.state)
}

pub(super) fn memory(c: &Connection, conversation: ConversationId) -> StoreResult<BotMemory> {
    Ok(one(
        c,
        "SELECT state, version FROM bot_states WHERE conversation_id = ?1",
        [conversation.as_uuid()],
        |r| Ok(BotMemory { state: Some(r.get(0)?), version: r.get(1)? }),
        Ok,
    )?
    .unwrap_or_default())
}

pub(super) fn apply_bot_turn(c: &Connection, turn: BotTurnWrite) -> StoreResult<BotTurnWritten> {
    let conv = load_conversation(c, turn.conversation)?.ok_or(StoreError::NotFound("conversation"))?;
    if !turn.fits(&conv) {
        return Err(StoreError::Conflict("not_bot"));
    }
    // The writer thread is the only writer: nothing moves between this check and the write.
    if memory(c, turn.conversation)?.version != turn.base_version {
        return Err(StoreError::Conflict("stale_turn"));
    }
    let at = turn.at.millis();
    for change in &turn.order_changes {
        change_order(c, turn.shop, change, at)?;
    }
    for r in &turn.requests {
        if r.kind.one_open_per_order() && super::requests::has_open(c, r.order, r.kind)? {
            return Err(StoreError::Conflict("request_open"));
        }
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
        super::notify::announce(c, turn.shop, kefu_core::outbound::NotifyEvent::RequestFiled, r.id, at)?;
    }
    let mut appended = Vec::with_capacity(turn.messages.len());
    for m in turn.messages {
        appended.push(append_in(c, m)?);
    }
    c.prepare_cached(
        "INSERT INTO bot_states (conversation_id, state, updated_at, version) VALUES (?1, ?2, ?3, ?4) \
         ON CONFLICT (conversation_id) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at, \
         version = excluded.version",
    )
    .and_then(|mut s| s.execute(params![turn.conversation.as_uuid(), turn.state, at, turn.base_version + 1]))
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
    let conversation = load_conversation(c, turn.conversation)?.ok_or(StoreError::NotFound("conversation"))?;
    Ok(BotTurnWritten { appended, filed: turn.requests, conversation })
}

/// Makes an order change if the order's status allows it (`order_state`
/// otherwise): the bot's turns and agents' requests both come through here.
pub(super) fn change_order(c: &Connection, shop: ShopId, change: &OrderChange, at: i64) -> StoreResult<()> {
    let order = change.order();
    let status = one(
        c,
        "SELECT status FROM orders WHERE id = ?1 AND shop_id = ?2",
        params![order.as_uuid(), shop.as_uuid()],
        |r| r.get::<_, String>(0),
        |s| codec::order_status(&s),
    )?
    .ok_or(StoreError::NotFound("order"))?;
    if !change.allowed_from(status) {
        return Err(StoreError::Conflict("order_state"));
    }
    match change {
        OrderChange::Cancel { .. } => {
            c.execute(
                "UPDATE orders SET status = 'cancelled', cancelled_at = ?2, updated_at = ?2 WHERE id = ?1",
                params![order.as_uuid(), at],
            )
            .map_err(be)?;
        }
        OrderChange::Address { province, city, address, .. } => {
            c.execute(
                "UPDATE orders SET province = ?2, city = ?3, address = ?4, updated_at = ?5 WHERE id = ?1",
                params![order.as_uuid(), province, city, address, at],
            )
            .map_err(be)?;
        }
    }
    Ok(())
}

/// The shopper's message, then the turn inside a savepoint of its own: a
/// refused turn is rolled back alone and the message stays.
pub(super) fn append_with_bot_turn(c: &Connection, m: NewMessage, turn: BotTurnWrite) -> StoreResult<SaidAndAnswered> {
    let said = append_in(c, m)?;
    if said.duplicate {
        return Ok(SaidAndAnswered { said, turn: Err(StoreError::Conflict("duplicate")) });
    }
    let savepoint = |sql: &str| c.prepare_cached(sql).and_then(|mut s| s.execute([])).map_err(be);
    savepoint("SAVEPOINT turn")?;
    let turn = apply_bot_turn(c, turn);
    if turn.is_err() {
        savepoint("ROLLBACK TO turn")?;
    }
    savepoint("RELEASE turn")?;
    Ok(SaidAndAnswered { said, turn })
}

pub(super) fn close_idle(
    c: &Connection,
    quiet_since: Timestamp,
    now: Timestamp,
    limit: u32,
) -> StoreResult<Vec<Conversation>> {
    let mut stmt = c
        .prepare_cached(&format!(
            "UPDATE conversations SET status = 'closed', waiting_since = NULL, closed_at = ?2, updated_at = ?2 \
             WHERE id IN (SELECT id FROM conversations WHERE status = 'bot' AND updated_at < ?1 LIMIT {limit}) \
             RETURNING {CONVERSATION_COLS}"
        ))
        .map_err(be)?;
    let rows = stmt
        .query_map(params![quiet_since.millis(), now.millis()], conversation_row)
        .map_err(be)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(be)?;
    let closed = rows.into_iter().map(conversation_from).collect::<StoreResult<Vec<_>>>()?;
    for conv in &closed {
        super::notify::announce(
            c,
            conv.shop_id,
            kefu_core::outbound::NotifyEvent::ConversationClosed,
            conv.id.as_uuid(),
            now.millis(),
        )?;
    }
    Ok(closed)
}

pub(super) fn audit(c: &Connection, shop: ShopId, since: Timestamp, limit: u32) -> StoreResult<Vec<BotAuditRow>> {
    let mut stmt = c
        .prepare_cached(&format!(
            "SELECT a.conversation_id, a.at, a.intent, a.confidence, a.emotion, a.order_no, a.outcome, c.customer_id \
             FROM bot_audit a JOIN conversations c ON c.id = a.conversation_id \
             WHERE a.shop_id = ?1 AND a.at >= ?2 ORDER BY a.seq LIMIT {limit}",
        ))
        .map_err(be)?;
    let rows = stmt
        .query_map(params![shop.as_uuid(), since.millis()], |r| {
            Ok(BotAuditRow {
                conversation: ConversationId::from_uuid(r.get(0)?),
                customer: CustomerId::from_uuid(r.get(7)?),
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
}
