//! The knowledge base's rows.

use kefu_core::knowledge::KnowledgeEntry;

use super::*;

const COLS: &str = "id, shop_id, question, alternates, answer, category, enabled, updated_at";

type KnowledgeRow = (Uuid, Uuid, String, String, String, Option<String>, bool, i64);

fn row(r: &Row) -> rusqlite::Result<KnowledgeRow> {
    Ok((uuid_col(r, 0)?, uuid_col(r, 1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?, r.get(7)?))
}

fn entry(
    (id, shop, question, alternates, answer, category, enabled, updated_at): KnowledgeRow,
) -> StoreResult<KnowledgeEntry> {
    Ok(KnowledgeEntry {
        id: KnowledgeId::from_uuid(id),
        shop_id: ShopId::from_uuid(shop),
        question,
        alternates: codec::alternates_from_text(&alternates),
        answer,
        category: codec::category(category)?,
        enabled,
        updated_at: Timestamp(updated_at),
    })
}

pub(super) fn list(c: &Connection, shop: ShopId, limit: u32) -> StoreResult<Vec<KnowledgeEntry>> {
    many(
        c,
        &format!("SELECT {COLS} FROM knowledge WHERE shop_id = ?1 ORDER BY updated_at, id LIMIT {limit}"),
        params![shop.as_uuid()],
        row,
        entry,
    )
}

pub(super) fn put(c: &Connection, e: &KnowledgeEntry) -> StoreResult<()> {
    // The update only touches a row of the same shop; another shop's id changes nothing.
    let changed = c
        .execute(
            &format!(
                "INSERT INTO knowledge ({COLS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                 ON CONFLICT (id) DO UPDATE SET question = excluded.question, alternates = excluded.alternates,
                   answer = excluded.answer, category = excluded.category, enabled = excluded.enabled,
                   updated_at = excluded.updated_at
                 WHERE knowledge.shop_id = excluded.shop_id"
            ),
            params![
                e.id.as_uuid(),
                e.shop_id.as_uuid(),
                e.question,
                codec::alternates_to_text(&e.alternates),
                e.answer,
                e.category.as_ref().map(|c| c.joined()),
                e.enabled,
                e.updated_at.millis()
            ],
        )
        .map_err(be)?;
    if changed == 0 {
        return Err(StoreError::NotFound("knowledge entry"));
    }
    Ok(())
}

pub(super) fn delete(c: &Connection, shop: ShopId, id: KnowledgeId) -> StoreResult<()> {
    let n = c
        .execute("DELETE FROM knowledge WHERE id = ?1 AND shop_id = ?2", params![id.as_uuid(), shop.as_uuid()])
        .map_err(be)?;
    if n == 0 {
        return Err(StoreError::NotFound("knowledge entry"));
    }
    Ok(())
}
