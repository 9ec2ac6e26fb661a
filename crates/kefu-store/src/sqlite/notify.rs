//! Outbound notifications: the shop's endpoint and the outbox of deliveries.

use kefu_core::outbound::{AttemptDone, ClaimRoom, Delivery, DeliveryState, Endpoint, EventSet, NotifyEvent};

use super::*;

const COLS: &str =
    "id, shop_id, event, subject, created_at, state, attempts, next_at, last_status, last_error, delivered_at";

type Cols = (Uuid, Uuid, String, Option<Uuid>, i64, String, i64, i64, Option<i64>, Option<String>, Option<i64>);

fn row(r: &Row) -> rusqlite::Result<Cols> {
    Ok((
        uuid_col(r, 0)?,
        uuid_col(r, 1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
        r.get(6)?,
        r.get(7)?,
        r.get(8)?,
        r.get(9)?,
        r.get(10)?,
    ))
}

fn delivery(t: Cols) -> StoreResult<Delivery> {
    let (id, shop, event, subject, created, state, attempts, next, status, error, delivered) = t;
    Ok(Delivery {
        id,
        shop: ShopId::from_uuid(shop),
        event: NotifyEvent::parse(&event).ok_or_else(|| corrupt("deliveries.event", event))?,
        subject,
        created_at: ts(created),
        state: DeliveryState::parse(&state).ok_or_else(|| corrupt("deliveries.state", state))?,
        attempts: u32::try_from(attempts).map_err(|_| corrupt("deliveries.attempts", attempts.to_string()))?,
        next_at: ts(next),
        last_status: status.and_then(|s| u16::try_from(s).ok()),
        last_error: error,
        delivered_at: opt_ts(delivered),
    })
}

/// Queues `event` about `subject` if the shop has an enabled endpoint that
/// takes it: the writes that announce something call this in their own
/// transaction.
pub(super) fn announce(c: &Connection, shop: ShopId, event: NotifyEvent, subject: Uuid, at: i64) -> StoreResult<()> {
    c.prepare_cached(
        "INSERT INTO deliveries (id, shop_id, event, subject, created_at, state, attempts, next_at) \
         SELECT ?1, shop_id, ?2, ?3, ?4, 'pending', 0, ?4 FROM notify_endpoints \
         WHERE shop_id = ?5 AND enabled AND events & ?6 <> 0",
    )
    .and_then(|mut s| s.execute(params![Uuid::now_v7(), event.as_str(), subject, at, shop.as_uuid(), event.bit()]))
    .map_err(be)?;
    Ok(())
}

pub(super) fn endpoint(c: &Connection, shop: ShopId) -> StoreResult<Option<Endpoint>> {
    one(
        c,
        "SELECT url, enabled, updated_at, events FROM notify_endpoints WHERE shop_id = ?1",
        [shop.as_uuid()],
        |r| Ok((r.get::<_, String>(0)?, r.get::<_, bool>(1)?, r.get::<_, i64>(2)?, r.get::<_, i64>(3)?)),
        |(url, enabled, at, events)| {
            Ok(Endpoint { shop, url, enabled, events: EventSet::from_bits(events), updated_at: ts(at) })
        },
    )
}

pub(super) fn set_endpoint(c: &Connection, shop: ShopId, endpoint: Option<&Endpoint>) -> StoreResult<()> {
    match endpoint {
        Some(e) => c.execute(
            "INSERT INTO notify_endpoints (shop_id, url, enabled, updated_at, events) VALUES (?1, ?2, ?3, ?4, ?5) \
             ON CONFLICT (shop_id) DO UPDATE SET url = excluded.url, enabled = excluded.enabled, \
             updated_at = excluded.updated_at, events = excluded.events",
            params![shop.as_uuid(), e.url, e.enabled, e.updated_at.millis(), e.events.bits()],
        ),
        None => c.execute("DELETE FROM notify_endpoints WHERE shop_id = ?1", [shop.as_uuid()]),
    }
    .map_err(be)?;
    Ok(())
}

fn load(c: &Connection, shop: ShopId, id: Uuid) -> StoreResult<Option<Delivery>> {
    one(
        c,
        &format!("SELECT {COLS} FROM deliveries WHERE id = ?1 AND shop_id = ?2"),
        params![id, shop.as_uuid()],
        row,
        delivery,
    )
}

pub(super) fn queue(
    c: &Connection,
    shop: ShopId,
    event: NotifyEvent,
    subject: Option<Uuid>,
    at: i64,
) -> StoreResult<Delivery> {
    let id = Uuid::now_v7();
    c.execute(
        "INSERT INTO deliveries (id, shop_id, event, subject, created_at, state, attempts, next_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, 'pending', 0, ?5)",
        params![id, shop.as_uuid(), event.as_str(), subject, at],
    )
    .map_err(be)?;
    load(c, shop, id)?.ok_or(StoreError::NotFound("delivery"))
}

/// Whether anything is due: read first, so an idle outbox costs the writer nothing.
pub(super) fn any_due(c: &Connection, now: i64) -> StoreResult<bool> {
    Ok(one(
        c,
        "SELECT 1 FROM deliveries WHERE state = 'pending' AND next_at <= ?1 LIMIT 1",
        [now],
        |r| r.get::<_, i64>(0),
        Ok,
    )?
    .is_some())
}

/// Takes what `room` allows of the due deliveries, oldest first, each shop
/// at most its room. The shops with pending deliveries are found one index
/// step at a time (a skip scan of `deliveries_due_by_shop`) and each one's
/// oldest due are read by range, so the cost grows with the shops, not with
/// a backlog: a claim runs on the writer the chat commits through.
pub(super) fn claim(c: &Connection, now: i64, until: i64, room: &ClaimRoom) -> StoreResult<Vec<Delivery>> {
    let mut picked: Vec<(i64, Uuid)> = Vec::new();
    // Ids are 16-byte blobs; the empty blob sorts before every one of them.
    let mut after: Vec<u8> = Vec::new();
    loop {
        let next = one(
            c,
            "SELECT shop_id FROM deliveries WHERE state = 'pending' AND shop_id > ?1 ORDER BY shop_id LIMIT 1",
            [&after],
            |r| uuid_col(r, 0),
            Ok,
        )?;
        let Some(shop) = next else { break };
        after = shop.as_bytes().to_vec();
        let busy = room.busy.iter().find(|(s, _)| s.as_uuid() == shop).map_or(0, |(_, n)| *n);
        let take = room.per_shop.saturating_sub(busy).min(room.total);
        if take == 0 {
            continue;
        }
        picked.extend(many(
            c,
            &format!(
                "SELECT next_at, id FROM deliveries WHERE shop_id = ?1 AND state = 'pending' AND next_at <= ?2 \
                 ORDER BY next_at LIMIT {take}"
            ),
            params![shop, now],
            |r| Ok((r.get::<_, i64>(0)?, uuid_col(r, 1)?)),
            Ok,
        )?);
    }
    picked.sort_unstable();
    picked.truncate(room.total as usize);
    let mut due = Vec::with_capacity(picked.len());
    for (_, id) in picked {
        due.extend(one(
            c,
            &format!("UPDATE deliveries SET next_at = ?2 WHERE id = ?1 RETURNING {COLS}"),
            params![id, until],
            row,
            delivery,
        )?);
    }
    due.sort_by_key(|d| (d.created_at, d.id));
    Ok(due)
}

pub(super) fn finish(c: &Connection, d: &AttemptDone) -> StoreResult<()> {
    c.execute(
        "UPDATE deliveries SET attempts = ?2, state = ?3, next_at = ?4, last_status = ?5, last_error = ?6, \
         delivered_at = ?7 WHERE id = ?1 AND state = 'pending'",
        params![
            d.id,
            d.attempts,
            d.state.as_str(),
            d.next_at.millis(),
            d.status,
            d.error,
            d.delivered_at.map(Timestamp::millis)
        ],
    )
    .map_err(be)?;
    Ok(())
}

pub(super) fn list(
    c: &Connection,
    shop: ShopId,
    state: Option<DeliveryState>,
    limit: u32,
) -> StoreResult<Vec<Delivery>> {
    many(
        c,
        &format!(
            "SELECT {COLS} FROM deliveries WHERE shop_id = ?1 AND (?2 IS NULL OR state = ?2) \
             ORDER BY created_at DESC, id DESC LIMIT {limit}"
        ),
        params![shop.as_uuid(), state.map(DeliveryState::as_str)],
        row,
        delivery,
    )
}

pub(super) fn retry(c: &Connection, shop: ShopId, id: Uuid, at: i64) -> StoreResult<Delivery> {
    let n = c
        .execute(
            "UPDATE deliveries SET state = 'pending', attempts = 0, next_at = ?3, delivered_at = NULL \
             WHERE id = ?1 AND shop_id = ?2",
            params![id, shop.as_uuid(), at],
        )
        .map_err(be)?;
    if n == 0 {
        return Err(StoreError::NotFound("delivery"));
    }
    load(c, shop, id)?.ok_or(StoreError::NotFound("delivery"))
}

pub(super) fn prune(c: &Connection, before: i64, limit: u32) -> StoreResult<u32> {
    let n = c
        .execute(
            &format!(
                "DELETE FROM deliveries WHERE id IN \
                   (SELECT id FROM deliveries WHERE created_at < ?1 AND state <> 'pending' ORDER BY created_at LIMIT {limit})"
            ),
            params![before],
        )
        .map_err(be)?;
    Ok(u32::try_from(n).unwrap_or(u32::MAX))
}
