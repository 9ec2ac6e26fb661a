//! Images' rows.

use kefu_core::attachment::{Attachment, ImageKind, ShopBudget};

use super::*;

/// Stores the image; with a budget, in the same statement as the shop's
/// day's count, and only if the count stays within it.
pub(super) async fn put(c: &impl GenericClient, a: &Attachment, budget: Option<ShopBudget>) -> StoreResult<()> {
    let (sender_kind, sender_id) = codec::sender_columns(a.uploaded_by);
    let (id, shop, customer, kind, at) =
        (a.id.as_uuid(), a.shop_id.as_uuid(), a.customer_id.as_uuid(), a.kind.as_str(), a.created_at.millis());
    let row: [&(dyn ToSql + Sync); 8] = [&id, &shop, &customer, &sender_kind, &sender_id, &kind, &a.bytes, &at];
    let Some(b) = budget else {
        execute_prepared(
            c,
            "INSERT INTO attachments (id, shop_id, customer_id, sender_kind, sender_id, kind, bytes, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            &row,
        )
        .await?;
        return Ok(());
    };
    let size = i64::try_from(a.bytes.len()).unwrap_or(i64::MAX);
    let limit = i64::try_from(b.limit).unwrap_or(i64::MAX);
    let counted: [&(dyn ToSql + Sync); 3] = [&b.day, &size, &limit];
    let params: Vec<&(dyn ToSql + Sync)> = row.into_iter().chain(counted).collect();
    let stored = execute_prepared(
        c,
        "WITH counted AS ( \
           INSERT INTO upload_days (shop_id, day, bytes) SELECT $2::uuid, $9::bigint, $10::bigint \
           WHERE $10::bigint <= $11::bigint \
           ON CONFLICT (shop_id, day) DO UPDATE SET bytes = upload_days.bytes + EXCLUDED.bytes \
           WHERE upload_days.bytes + EXCLUDED.bytes <= $11::bigint RETURNING 1) \
         INSERT INTO attachments (id, shop_id, customer_id, sender_kind, sender_id, kind, bytes, created_at) \
         SELECT $1, $2, $3, $4, $5, $6, $7, $8 FROM counted",
        &params,
    )
    .await?;
    if stored == 0 {
        return Err(StoreError::Conflict("upload_budget"));
    }
    Ok(())
}

pub(super) async fn get(c: &impl GenericClient, id: AttachmentId) -> StoreResult<Option<Attachment>> {
    let row = c
        .query_opt(
            "SELECT id, shop_id, customer_id, sender_kind, sender_id, kind, bytes, created_at FROM attachments WHERE id = $1",
            &[&id.as_uuid()],
        )
        .await
        .map_err(be)?;
    let Some(r) = row else { return Ok(None) };
    let sender_kind: String = r.get(3);
    let kind: String = r.get(5);
    Ok(Some(Attachment {
        id: AttachmentId::from_uuid(r.get(0)),
        shop_id: ShopId::from_uuid(r.get(1)),
        customer_id: CustomerId::from_uuid(r.get(2)),
        uploaded_by: codec::sender(&sender_kind, r.get(4))?,
        kind: ImageKind::parse(&kind).ok_or_else(|| codec::corrupt("attachment kind", kind.clone()))?,
        bytes: r.get(6),
        created_at: Timestamp(r.get(7)),
    }))
}

pub(super) async fn owner(c: &impl GenericClient, id: AttachmentId) -> StoreResult<Option<(ShopId, CustomerId)>> {
    let row = c
        .query_opt("SELECT shop_id, customer_id FROM attachments WHERE id = $1", &[&id.as_uuid()])
        .await
        .map_err(be)?;
    Ok(row.map(|r| (ShopId::from_uuid(r.get(0)), CustomerId::from_uuid(r.get(1)))))
}

pub(super) async fn uploads_by(
    c: &impl GenericClient,
    customer: CustomerId,
    since: Timestamp,
) -> StoreResult<Vec<(Timestamp, u64)>> {
    let rows = c
        .query(
            "SELECT created_at, octet_length(bytes)::bigint FROM attachments \
             WHERE customer_id = $1 AND created_at >= $2 AND sender_kind = 'customer' ORDER BY created_at",
            &[&customer.as_uuid(), &since.millis()],
        )
        .await
        .map_err(be)?;
    Ok(rows.iter().map(|r| (Timestamp(r.get(0)), u64::try_from(r.get::<_, i64>(1)).unwrap_or(0))).collect())
}

pub(super) async fn delete_before(c: &impl GenericClient, before: Timestamp, limit: u32) -> StoreResult<u32> {
    let n = c
        .execute(
            "DELETE FROM attachments WHERE id IN \
             (SELECT id FROM attachments WHERE created_at < $1 ORDER BY created_at LIMIT $2)",
            &[&before.millis(), &i64::from(limit)],
        )
        .await
        .map_err(be)?;
    Ok(u32::try_from(n).unwrap_or(u32::MAX))
}
