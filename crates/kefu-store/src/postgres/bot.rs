//! The bot's turn inside one transaction: order changes, requests,
//! replies, memory, audit line and hand-off, or nothing.

use super::*;

pub(super) async fn apply_bot_turn(tx: &impl GenericClient, turn: BotTurnWrite) -> StoreResult<BotTurnWritten> {
    let conv = load_conversation(tx, turn.conversation, true).await?;
    if conv.status != ConversationStatus::Bot {
        return Err(StoreError::Conflict("not_bot"));
    }
    let at = turn.at.millis();
    for change in &turn.order_changes {
        let order = match change {
            OrderChange::Cancel { order } | OrderChange::Address { order, .. } => *order,
        };
        let row = tx
            .query_opt(
                "SELECT status FROM orders WHERE id = $1 AND shop_id = $2 FOR UPDATE",
                &[&order.as_uuid(), &turn.shop.as_uuid()],
            )
            .await
            .map_err(be)?
            .ok_or(StoreError::NotFound("order"))?;
        let status: String = row.get(0);
        let status = codec::order_status(&status)?;
        match change {
            OrderChange::Cancel { .. } => {
                if status.has_shipped() || !status.can_become(OrderStatus::Cancelled) {
                    return Err(StoreError::Conflict("order_state"));
                }
                tx.execute(
                    "UPDATE orders SET status = 'cancelled', cancelled_at = $2, updated_at = $2 WHERE id = $1",
                    &[&order.as_uuid(), &at],
                )
                .await
                .map_err(be)?;
            }
            OrderChange::Address { province, city, address, .. } => {
                if status.has_shipped() || matches!(status, OrderStatus::Cancelled | OrderStatus::Refunded) {
                    return Err(StoreError::Conflict("order_state"));
                }
                tx.execute(
                    "UPDATE orders SET province = $2, city = $3, address = $4, updated_at = $5 WHERE id = $1",
                    &[&order.as_uuid(), province, city, address, &at],
                )
                .await
                .map_err(be)?;
            }
        }
    }
    for r in &turn.requests {
        tx.execute(
            "INSERT INTO order_requests (id, shop_id, order_id, conversation_id, kind, detail, needs_review, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            &[
                &r.id,
                &turn.shop.as_uuid(),
                &r.order.as_uuid(),
                &turn.conversation.as_uuid(),
                &r.kind.as_str(),
                &r.detail,
                &r.needs_review,
                &at,
            ],
        )
        .await
        .map_err(be)?;
    }
    let mut appended = Vec::with_capacity(turn.messages.len());
    for m in turn.messages {
        appended.push(append_in(tx, m).await?);
    }
    execute_prepared(
        tx,
        "INSERT INTO bot_states (conversation_id, state, updated_at) VALUES ($1, $2, $3) \
         ON CONFLICT (conversation_id) DO UPDATE SET state = EXCLUDED.state, updated_at = EXCLUDED.updated_at",
        &[&turn.conversation.as_uuid(), &turn.state, &at],
    )
    .await?;
    let a = &turn.audit;
    execute_prepared(
        tx,
        "INSERT INTO bot_audit (shop_id, conversation_id, at, intent, confidence, emotion, order_no, outcome) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        &[
            &turn.shop.as_uuid(),
            &turn.conversation.as_uuid(),
            &at,
            &a.intent,
            &a.confidence,
            &a.emotion,
            &a.order_no,
            &a.outcome,
        ],
    )
    .await?;
    if let Some(raise) = turn.handoff_priority {
        execute_prepared(
            tx,
            "UPDATE conversations SET status = 'queued', priority = priority + $2, updated_at = $3 WHERE id = $1",
            &[&turn.conversation.as_uuid(), &raise, &at],
        )
        .await?;
    }
    let conversation = load_conversation(tx, turn.conversation, false).await?;
    Ok(BotTurnWritten { appended, conversation })
}
