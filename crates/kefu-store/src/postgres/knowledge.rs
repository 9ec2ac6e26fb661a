//! The knowledge base's rows.

use kefu_core::knowledge::KnowledgeEntry;

use super::*;

const COLS: &str = "id, shop_id, question, alternates, answer, category, enabled, updated_at";

fn entry(r: &Row) -> StoreResult<KnowledgeEntry> {
    Ok(KnowledgeEntry {
        id: KnowledgeId::from_uuid(r.get(0)),
        shop_id: ShopId::from_uuid(r.get(1)),
        question: r.get(2),
        alternates: codec::alternates_from_text(r.get(3)),
        answer: r.get(4),
        category: codec::category(r.get(5))?,
        enabled: r.get(6),
        updated_at: Timestamp(r.get(7)),
    })
}

pub(super) async fn list(c: &impl GenericClient, shop: ShopId, limit: u32) -> StoreResult<Vec<KnowledgeEntry>> {
    let rows = c
        .query(
            &format!("SELECT {COLS} FROM knowledge WHERE shop_id = $1 ORDER BY updated_at, id LIMIT $2"),
            &[&shop.as_uuid(), &i64::from(limit)],
        )
        .await
        .map_err(be)?;
    rows.iter().map(entry).collect()
}

pub(super) async fn put(c: &impl GenericClient, e: &KnowledgeEntry) -> StoreResult<()> {
    // The update only touches a row of the same shop; another shop's id changes nothing.
    let changed = c
        .execute(
            &format!(
                "INSERT INTO knowledge ({COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                 ON CONFLICT (id) DO UPDATE SET question = excluded.question, alternates = excluded.alternates,
                   answer = excluded.answer, category = excluded.category, enabled = excluded.enabled,
                   updated_at = excluded.updated_at
                 WHERE knowledge.shop_id = excluded.shop_id"
            ),
            &[
                &e.id.as_uuid(),
                &e.shop_id.as_uuid(),
                &e.question,
                &codec::alternates_to_text(&e.alternates),
                &e.answer,
                &e.category.as_ref().map(|c| c.joined()),
                &e.enabled,
                &e.updated_at.millis(),
            ],
        )
        .await
        .map_err(be)?;
    if changed == 0 {
        return Err(StoreError::NotFound("knowledge entry"));
    }
    Ok(())
}

pub(super) async fn delete(c: &impl GenericClient, shop: ShopId, id: KnowledgeId) -> StoreResult<()> {
    let n = c
        .execute("DELETE FROM knowledge WHERE id = $1 AND shop_id = $2", &[&id.as_uuid(), &shop.as_uuid()])
        .await
        .map_err(be)?;
    if n == 0 {
        return Err(StoreError::NotFound("knowledge entry"));
    }
    Ok(())
}
