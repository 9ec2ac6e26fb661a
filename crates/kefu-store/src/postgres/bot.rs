//! The bot's turn inside one transaction: order changes, requests,
//! replies, memory, audit line and hand-off, or nothing.
//!
//! A turn is checked before anything of it is written (conversation still
//! the bot's, orders still in a state the change allows), so a refused turn
//! needs no savepoint; what it writes then goes in as few statements as
//! PostgreSQL allows, each a round trip and an execution in the server.

use super::*;

/// A turn without a shopper's message: lock with BEGIN, check, then the
/// write with COMMIT. A refusal drops `tx`, which rolls it back.
pub(super) async fn apply_bot_turn(tx: &Pipelined, turn: BotTurnWrite) -> StoreResult<BotTurnWritten> {
    let locked = lock_for_append(tx, turn.conversation, None, true).await?;
    check_turn(tx.client(), &locked.conversation, locked.bot_version.unwrap_or_default(), &turn).await?;
    commit_turn(tx, locked.conversation, None, turn).await
}

/// The turn's refusals: `not_bot` when people hold the conversation,
/// `stale_turn` when another turn wrote the bot's memory since this one read
/// it (`bot_version`, read under the conversation's lock), `order_state` when
/// an order moved on, `request_open` when the order already has an open
/// request of a kind it holds one of, `NotFound("order")`. Reads only (the orders are
/// locked), so after a refusal the caller can still commit the shopper's
/// message alone.
pub(super) async fn check_turn(
    tx: &impl GenericClient,
    conv: &Conversation,
    bot_version: i64,
    turn: &BotTurnWrite,
) -> StoreResult<()> {
    if !turn.fits(conv) {
        return Err(StoreError::Conflict("not_bot"));
    }
    if bot_version != turn.base_version {
        return Err(StoreError::Conflict("stale_turn"));
    }
    // An order changed twice in one turn is judged the second time as the first left it.
    let mut after: HashMap<OrderId, OrderStatus> = HashMap::new();
    for change in &turn.order_changes {
        let order = change.order();
        let status = match after.get(&order) {
            Some(status) => *status,
            None => {
                let row = query_opt_prepared(
                    tx,
                    "SELECT status FROM orders WHERE id = $1 AND shop_id = $2 FOR UPDATE",
                    &[&order.as_uuid(), &turn.shop.as_uuid()],
                )
                .await?
                .ok_or(StoreError::NotFound("order"))?;
                codec::order_status(row.get(0))?
            }
        };
        if !change.allowed_from(status) {
            return Err(StoreError::Conflict("order_state"));
        }
        after.insert(order, change.status_after(status));
    }
    // One open after-sales request (invoice, price check) per order: the
    // order's lock orders this turn with an agent filing on it.
    for r in turn.requests.iter().filter(|r| r.kind.one_open_per_order()) {
        if !after.contains_key(&r.order) {
            query_opt_prepared(
                tx,
                "SELECT 1 FROM orders WHERE id = $1 AND shop_id = $2 FOR UPDATE",
                &[&r.order.as_uuid(), &turn.shop.as_uuid()],
            )
            .await?
            .ok_or(StoreError::NotFound("order"))?;
        }
        if super::requests::has_open(tx, r.order, r.kind).await? {
            return Err(StoreError::Conflict("request_open"));
        }
    }
    Ok(())
}

/// Writes an order change already checked against the order's status
/// (under its row lock): the bot's turns and agents' requests both come
/// through here.
pub(super) async fn write_order_change(c: &impl GenericClient, change: &OrderChange, at: i64) -> StoreResult<()> {
    match change {
        OrderChange::Cancel { order } => {
            execute_prepared(
                c,
                "UPDATE orders SET status = 'cancelled', cancelled_at = $2, updated_at = $2 WHERE id = $1",
                &[&order.as_uuid(), &at],
            )
            .await?;
        }
        OrderChange::Address { order, province, city, address } => {
            execute_prepared(
                c,
                "UPDATE orders SET province = $2, city = $3, address = $4, updated_at = $5 WHERE id = $1",
                &[&order.as_uuid(), province, city, address, &at],
            )
            .await?;
        }
    }
    Ok(())
}

/// Writes a turn that passed [`check_turn`] on `conv`, and the shopper's
/// message `said` (already counted in `conv`) when it shares the commit: the
/// order changes and requests (rare, one statement each), then every
/// message, the memory, the audit line and the conversation's counters and
/// hand-off in one statement, sent with the COMMIT.
pub(super) async fn commit_turn(
    tx: &Pipelined,
    conv: Conversation,
    said: Option<&Message>,
    turn: BotTurnWrite,
) -> StoreResult<BotTurnWritten> {
    let at = turn.at.millis();
    for change in &turn.order_changes {
        write_order_change(tx.client(), change, at).await?;
    }
    static FILE: LazyLock<String> = LazyLock::new(|| {
        format!(
            "WITH r AS (INSERT INTO order_requests \
               (id, shop_id, order_id, conversation_id, kind, detail, needs_review, created_at) \
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id, shop_id, created_at AS at) {}",
            super::notify::announce_from_r(kefu_core::outbound::NotifyEvent::RequestFiled, "$9")
        )
    });
    for r in &turn.requests {
        execute_prepared(
            tx.client(),
            &FILE,
            &[
                &r.id,
                &turn.shop.as_uuid(),
                &r.order.as_uuid(),
                &turn.conversation.as_uuid(),
                &r.kind.as_str(),
                &r.detail,
                &r.needs_review,
                &at,
                &Uuid::now_v7(),
            ],
        )
        .await?;
    }

    let mut last = conv;
    let mut appended = Vec::with_capacity(turn.messages.len());
    for m in turn.messages {
        let (a, _) = next_message(last, m); // the bot's: it answers no wait of a person's
        last = a.conversation.clone();
        appended.push(a);
    }
    let messages: Vec<&Message> = said.into_iter().chain(appended.iter().map(|a| &a.message)).collect();
    let column = |f: fn(&Message) -> i64| messages.iter().map(|m| f(m)).collect::<Vec<_>>();
    let ids: Vec<Uuid> = messages.iter().map(|m| m.id.as_uuid()).collect();
    let seqs = column(|m| m.seq);
    let created = column(|m| m.created_at.millis());
    let (sender_kinds, sender_ids): (Vec<&str>, Vec<Option<Uuid>>) =
        messages.iter().map(|m| codec::sender_columns(m.sender)).unzip();
    let kinds: Vec<&str> = messages.iter().map(|m| m.kind.as_str()).collect();
    let texts: Vec<&str> = messages.iter().map(|m| m.text.as_str()).collect();
    let client_ids: Vec<Option<&str>> = messages.iter().map(|m| m.client_msg_id.as_ref().map(|c| c.as_str())).collect();
    let (status, raise, updated_at) = match turn.handoff_priority {
        Some(raise) => (Some(ConversationStatus::Queued.as_str()), raise, at),
        None => (None, 0, last.updated_at.millis()),
    };
    let a = &turn.audit;
    // Built once: the statement cache is keyed by the text.
    static SQL: LazyLock<String> = LazyLock::new(|| {
        format!(
            "WITH m AS (INSERT INTO messages ({MESSAGE_COLS}) \
               SELECT id, $2, $3, seq, sender_kind, sender_id, kind, text, client_msg_id, created_at \
               FROM unnest($4::uuid[], $5::bigint[], $6::text[], $7::uuid[], $8::text[], $9::text[], $10::text[], $11::bigint[]) \
               AS t (id, seq, sender_kind, sender_id, kind, text, client_msg_id, created_at)), \
             s AS (INSERT INTO bot_states (conversation_id, state, updated_at, version) VALUES ($2, $12, $1, $23) \
               ON CONFLICT (conversation_id) DO UPDATE SET state = EXCLUDED.state, updated_at = EXCLUDED.updated_at, \
               version = EXCLUDED.version), \
             a AS (INSERT INTO bot_audit (shop_id, conversation_id, at, intent, confidence, emotion, order_no, outcome) \
               VALUES ($3, $2, $1, $13, $14, $15, $16, $17)) \
             UPDATE conversations SET last_seq = $18, waiting_since = $19, updated_at = $20, \
               status = COALESCE($21, status), priority = priority + $22 \
             WHERE id = $2 RETURNING {CONVERSATION_COLS}"
        )
    });
    let row = tx
        .commit_with(
            &SQL,
            &[
                &at,
                &turn.conversation.as_uuid(),
                &turn.shop.as_uuid(),
                &ids,
                &seqs,
                &sender_kinds,
                &sender_ids,
                &kinds,
                &texts,
                &client_ids,
                &created,
                &turn.state,
                &a.intent,
                &a.confidence,
                &a.emotion,
                &a.order_no,
                &a.outcome,
                &last.last_seq,
                &last.waiting_since.map(Timestamp::millis),
                &updated_at,
                &status,
                &raise,
                &(turn.base_version + 1),
            ],
        )
        .await?
        .ok_or(StoreError::NotFound("conversation"))?;
    let conversation = conversation_from(&row, 0)?;
    Ok(BotTurnWritten { appended, filed: turn.requests, conversation })
}
