//! Outbound notifications: the shop's endpoint and the outbox of deliveries.
//! Writes that announce something queue their delivery in the statement
//! that makes the change (a CTE joined to the shop's enabled endpoint), so
//! it costs no round trip and nothing when the shop has no endpoint.

use kefu_core::outbound::{AttemptDone, ClaimRoom, Delivery, DeliveryState, Endpoint, EventSet, NotifyEvent};

use super::*;

const COLS: &str =
    "id, shop_id, event, subject, created_at, state, attempts, next_at, last_status, last_error, delivered_at";

/// The tail of a statement whose CTE `r` returned `(id, shop_id, at)` of
/// what it announces as `event`; `$id` is the delivery's id parameter. The
/// event's bit is a literal: it is fixed per event, like its name.
pub(super) fn announce_from_r(event: NotifyEvent, id: &str) -> String {
    format!(
        "INSERT INTO deliveries (id, shop_id, event, subject, created_at, state, attempts, next_at) \
         SELECT {id}, r.shop_id, '{}', r.id, r.at, 'pending', 0, r.at \
         FROM r JOIN notify_endpoints e ON e.shop_id = r.shop_id AND e.enabled AND e.events & {} <> 0",
        event.as_str(),
        event.bit()
    )
}

/// Queues `event` about `subject` if the shop has an enabled endpoint that
/// takes it, in the caller's transaction.
pub(super) async fn announce(
    c: &impl GenericClient,
    shop: ShopId,
    event: NotifyEvent,
    subject: Uuid,
    at: i64,
) -> StoreResult<()> {
    execute_prepared(
        c,
        "INSERT INTO deliveries (id, shop_id, event, subject, created_at, state, attempts, next_at) \
         SELECT $1, shop_id, $2, $3, $4, 'pending', 0, $4 FROM notify_endpoints \
         WHERE shop_id = $5 AND enabled AND events & $6 <> 0",
        &[&Uuid::now_v7(), &event.as_str(), &subject, &at, &shop.as_uuid(), &event.bit()],
    )
    .await?;
    Ok(())
}

fn delivery(r: &Row) -> StoreResult<Delivery> {
    let event: String = r.get(2);
    let state: String = r.get(5);
    let attempts: i32 = r.get(6);
    Ok(Delivery {
        id: r.get(0),
        shop: ShopId::from_uuid(r.get(1)),
        event: NotifyEvent::parse(&event).ok_or_else(|| corrupt("deliveries.event", event))?,
        subject: r.get(3),
        created_at: Timestamp(r.get(4)),
        state: DeliveryState::parse(&state).ok_or_else(|| corrupt("deliveries.state", state))?,
        attempts: u32::try_from(attempts).map_err(|_| corrupt("deliveries.attempts", attempts.to_string()))?,
        next_at: Timestamp(r.get(7)),
        last_status: r.get::<_, Option<i32>>(8).and_then(|s| u16::try_from(s).ok()),
        last_error: r.get(9),
        delivered_at: r.get::<_, Option<i64>>(10).map(Timestamp),
    })
}

pub(super) async fn endpoint(c: &impl GenericClient, shop: ShopId) -> StoreResult<Option<Endpoint>> {
    let row = c
        .query_opt(
            "SELECT url, enabled, updated_at, events FROM notify_endpoints WHERE shop_id = $1",
            &[&shop.as_uuid()],
        )
        .await
        .map_err(be)?;
    Ok(row.map(|r| Endpoint {
        shop,
        url: r.get(0),
        enabled: r.get(1),
        updated_at: Timestamp(r.get(2)),
        events: EventSet::from_bits(r.get(3)),
    }))
}

pub(super) async fn set_endpoint(c: &impl GenericClient, shop: ShopId, endpoint: Option<&Endpoint>) -> StoreResult<()> {
    match endpoint {
        Some(e) => {
            c.execute(
                "INSERT INTO notify_endpoints (shop_id, url, enabled, updated_at, events) VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (shop_id) DO UPDATE SET url = EXCLUDED.url, enabled = EXCLUDED.enabled, \
                 updated_at = EXCLUDED.updated_at, events = EXCLUDED.events",
                &[&shop.as_uuid(), &e.url, &e.enabled, &e.updated_at.millis(), &e.events.bits()],
            )
            .await
        }
        None => c.execute("DELETE FROM notify_endpoints WHERE shop_id = $1", &[&shop.as_uuid()]).await,
    }
    .map_err(be)?;
    Ok(())
}

pub(super) async fn queue(
    c: &impl GenericClient,
    shop: ShopId,
    event: NotifyEvent,
    subject: Option<Uuid>,
    at: i64,
) -> StoreResult<Delivery> {
    let row = c
        .query_one(
            &format!(
                "INSERT INTO deliveries (id, shop_id, event, subject, created_at, state, attempts, next_at) \
                 VALUES ($1, $2, $3, $4, $5, 'pending', 0, $5) RETURNING {COLS}"
            ),
            &[&Uuid::now_v7(), &shop.as_uuid(), &event.as_str(), &subject, &at],
        )
        .await
        .map_err(be)?;
    delivery(&row)
}

/// Takes what `room` allows of the due deliveries, oldest first, each shop
/// at most its room: the shops with pending deliveries found by a skip scan
/// of `deliveries_due_by_shop` (a recursive CTE, one index step per shop),
/// and each one's oldest due read by range (LATERAL), so the cost grows with
/// the shops, not with one shop's backlog.
pub(super) async fn claim(
    c: &impl GenericClient,
    now: i64,
    until: i64,
    room: &ClaimRoom,
) -> StoreResult<Vec<Delivery>> {
    // Each shop's rows are locked as they are read (SKIP LOCKED): claims
    // racing on several nodes take different rows, and a row another claim
    // moved on since the statement began is read again and left. The rows
    // locked beyond the total are let go at the end of the statement. The
    // write then finds its rows by key, not by a scan of what is due.
    let shops: Vec<Uuid> = room.busy.iter().map(|(s, _)| s.as_uuid()).collect();
    let counts: Vec<i64> = room.busy.iter().map(|(_, n)| i64::from(*n)).collect();
    let rows = query_prepared(
        c,
        &format!(
            "WITH RECURSIVE shops AS ( \
               (SELECT shop_id FROM deliveries WHERE state = 'pending' ORDER BY shop_id LIMIT 1) \
               UNION ALL \
               SELECT (SELECT d.shop_id FROM deliveries d WHERE d.state = 'pending' AND d.shop_id > shops.shop_id \
                       ORDER BY d.shop_id LIMIT 1) \
               FROM shops WHERE shops.shop_id IS NOT NULL), \
             busy AS (SELECT * FROM unnest($3::uuid[], $4::bigint[]) AS b(shop_id, n)), \
             pick AS ( \
               SELECT due.id, due.next_at FROM shops LEFT JOIN busy ON busy.shop_id = shops.shop_id \
               CROSS JOIN LATERAL (SELECT d.id, d.next_at FROM deliveries d \
                  WHERE d.shop_id = shops.shop_id AND d.state = 'pending' AND d.next_at <= $1 \
                  ORDER BY d.next_at LIMIT GREATEST($5 - COALESCE(busy.n, 0), 0) FOR UPDATE SKIP LOCKED) due \
               WHERE shops.shop_id IS NOT NULL \
               ORDER BY due.next_at, due.id LIMIT $6) \
             UPDATE deliveries SET next_at = $2 WHERE id = ANY(ARRAY(SELECT id FROM pick)) \
             RETURNING {COLS}"
        ),
        &[&now, &until, &shops, &counts, &i64::from(room.per_shop), &i64::from(room.total)],
    )
    .await?;
    let mut due = rows.iter().map(delivery).collect::<StoreResult<Vec<_>>>()?;
    due.sort_by_key(|d| (d.created_at, d.id));
    Ok(due)
}

pub(super) async fn finish(c: &impl GenericClient, d: &AttemptDone) -> StoreResult<()> {
    let attempts = i32::try_from(d.attempts).unwrap_or(i32::MAX);
    execute_prepared(
        c,
        "UPDATE deliveries SET attempts = $2, state = $3, next_at = $4, last_status = $5, last_error = $6, \
         delivered_at = $7 WHERE id = $1 AND state = 'pending'",
        &[
            &d.id,
            &attempts,
            &d.state.as_str(),
            &d.next_at.millis(),
            &d.status.map(i32::from),
            &d.error,
            &d.delivered_at.map(Timestamp::millis),
        ],
    )
    .await?;
    Ok(())
}

pub(super) async fn list(
    c: &impl GenericClient,
    shop: ShopId,
    state: Option<DeliveryState>,
    limit: u32,
) -> StoreResult<Vec<Delivery>> {
    let rows = c
        .query(
            &format!(
                "SELECT {COLS} FROM deliveries WHERE shop_id = $1 AND ($2::text IS NULL OR state = $2) \
                 ORDER BY created_at DESC, id DESC LIMIT $3"
            ),
            &[&shop.as_uuid(), &state.map(DeliveryState::as_str), &i64::from(limit)],
        )
        .await
        .map_err(be)?;
    rows.iter().map(delivery).collect()
}

pub(super) async fn retry(c: &impl GenericClient, shop: ShopId, id: Uuid, at: i64) -> StoreResult<Delivery> {
    let row = c
        .query_opt(
            &format!(
                "UPDATE deliveries SET state = 'pending', attempts = 0, next_at = $3, delivered_at = NULL \
                 WHERE id = $1 AND shop_id = $2 RETURNING {COLS}"
            ),
            &[&id, &shop.as_uuid(), &at],
        )
        .await
        .map_err(be)?
        .ok_or(StoreError::NotFound("delivery"))?;
    delivery(&row)
}

pub(super) async fn prune(c: &impl GenericClient, before: i64, limit: u32) -> StoreResult<u32> {
    let n = c
        .execute(
            "DELETE FROM deliveries WHERE id IN \
               (SELECT id FROM deliveries WHERE created_at < $1 AND state <> 'pending' ORDER BY created_at LIMIT $2)",
            &[&before, &i64::from(limit)],
        )
        .await
        .map_err(be)?;
    Ok(u32::try_from(n).unwrap_or(u32::MAX))
}
