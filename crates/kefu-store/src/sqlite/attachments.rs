//! Images' rows.

use kefu_core::attachment::{Attachment, ImageKind, ShopBudget};

use super::*;

/// Stores the image, counting it against the shop's day first when there
/// is a budget; the writer's savepoint undoes the count if the insert fails.
pub(super) fn put(c: &Connection, a: &Attachment, budget: Option<ShopBudget>) -> StoreResult<()> {
    if let Some(b) = budget {
        let size = i64::try_from(a.bytes.len()).unwrap_or(i64::MAX);
        let limit = i64::try_from(b.limit).unwrap_or(i64::MAX);
        // A first upload past the whole budget is refused too (size <= limit).
        let counted = c
            .prepare_cached(
                "INSERT INTO upload_days (shop_id, day, bytes) SELECT ?1, ?2, ?3 WHERE ?3 <= ?4 \
                 ON CONFLICT (shop_id, day) DO UPDATE SET bytes = bytes + excluded.bytes \
                 WHERE upload_days.bytes + excluded.bytes <= ?4",
            )
            .and_then(|mut s| s.execute(params![a.shop_id.as_uuid(), b.day, size, limit]))
            .map_err(be)?;
        if counted == 0 {
            return Err(StoreError::Conflict("upload_budget"));
        }
    }
    let (sender_kind, sender_id) = codec::sender_columns(a.uploaded_by);
    c.execute(
        "INSERT INTO attachments (id, shop_id, customer_id, sender_kind, sender_id, kind, bytes, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            a.id.as_uuid(),
            a.shop_id.as_uuid(),
            a.customer_id.as_uuid(),
            sender_kind,
            sender_id,
            a.kind.as_str(),
            a.bytes,
            a.created_at.millis()
        ],
    )
    .map_err(be)?;
    Ok(())
}

type AttachmentRow = (Uuid, Uuid, Uuid, String, Option<Uuid>, String, Vec<u8>, i64);

pub(super) fn get(c: &Connection, id: AttachmentId) -> StoreResult<Option<Attachment>> {
    one(
        c,
        "SELECT id, shop_id, customer_id, sender_kind, sender_id, kind, bytes, created_at FROM attachments WHERE id = ?1",
        params![id.as_uuid()],
        |r| -> rusqlite::Result<AttachmentRow> {
            Ok((
                uuid_col(r, 0)?,
                uuid_col(r, 1)?,
                uuid_col(r, 2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
                r.get(7)?,
            ))
        },
        |(id, shop, customer, sender_kind, sender_id, kind, bytes, created_at)| {
            Ok(Attachment {
                id: AttachmentId::from_uuid(id),
                shop_id: ShopId::from_uuid(shop),
                customer_id: CustomerId::from_uuid(customer),
                uploaded_by: codec::sender(&sender_kind, sender_id)?,
                kind: ImageKind::parse(&kind).ok_or_else(|| corrupt("attachment kind", kind.clone()))?,
                bytes,
                created_at: Timestamp(created_at),
            })
        },
    )
}

pub(super) fn owner(c: &Connection, id: AttachmentId) -> StoreResult<Option<(ShopId, CustomerId)>> {
    one(
        c,
        "SELECT shop_id, customer_id FROM attachments WHERE id = ?1",
        params![id.as_uuid()],
        |r| Ok((uuid_col(r, 0)?, uuid_col(r, 1)?)),
        |(shop, customer)| Ok((ShopId::from_uuid(shop), CustomerId::from_uuid(customer))),
    )
}

pub(super) fn uploads_by(c: &Connection, customer: CustomerId, since: Timestamp) -> StoreResult<Vec<(Timestamp, u64)>> {
    many(
        c,
        "SELECT created_at, length(bytes) FROM attachments \
         WHERE customer_id = ?1 AND created_at >= ?2 AND sender_kind = 'customer' ORDER BY created_at",
        params![customer.as_uuid(), since.millis()],
        |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)),
        |(at, n)| Ok((Timestamp(at), u64::try_from(n).unwrap_or(0))),
    )
}

pub(super) fn delete_before(c: &Connection, before: Timestamp, limit: u32) -> StoreResult<u32> {
    let n = c
        .execute(
            "DELETE FROM attachments WHERE id IN \
             (SELECT id FROM attachments WHERE created_at < ?1 ORDER BY created_at LIMIT ?2)",
            params![before.millis(), i64::from(limit)],
        )
        .map_err(be)?;
    Ok(u32::try_from(n).unwrap_or(u32::MAX))
}
