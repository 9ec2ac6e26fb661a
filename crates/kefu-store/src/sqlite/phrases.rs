//! Quick phrases' rows.

use kefu_core::phrase::QuickPhrase;

use super::*;

const COLS: &str = "id, shop_id, code, text, updated_at";

type PhraseRow = (Uuid, Uuid, String, String, i64);

fn row(r: &Row) -> rusqlite::Result<PhraseRow> {
    Ok((uuid_col(r, 0)?, uuid_col(r, 1)?, r.get(2)?, r.get(3)?, r.get(4)?))
}

fn phrase((id, shop, code, text, updated_at): PhraseRow) -> StoreResult<QuickPhrase> {
    Ok(QuickPhrase {
        id: PhraseId::from_uuid(id),
        shop_id: ShopId::from_uuid(shop),
        code,
        text,
        updated_at: Timestamp(updated_at),
    })
}

pub(super) fn list(c: &Connection, shop: ShopId) -> StoreResult<Vec<QuickPhrase>> {
    many(
        c,
        &format!("SELECT {COLS} FROM quick_phrases WHERE shop_id = ?1 ORDER BY code"),
        params![shop.as_uuid()],
        row,
        phrase,
    )
}

pub(super) fn put(c: &Connection, p: &QuickPhrase) -> StoreResult<()> {
    // The update only touches a row of the same shop; another shop's id changes nothing.
    let changed = c
        .execute(
            &format!(
                "INSERT INTO quick_phrases ({COLS}) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (id) DO UPDATE SET code = excluded.code, text = excluded.text,
                   updated_at = excluded.updated_at
                 WHERE quick_phrases.shop_id = excluded.shop_id"
            ),
            params![p.id.as_uuid(), p.shop_id.as_uuid(), p.code, p.text, p.updated_at.millis()],
        )
        .map_err(|e| if is_unique_violation(&e) { StoreError::Conflict("phrase_code_taken") } else { be(e) })?;
    if changed == 0 {
        return Err(StoreError::NotFound("quick phrase"));
    }
    Ok(())
}

pub(super) fn delete(c: &Connection, shop: ShopId, id: PhraseId) -> StoreResult<()> {
    let n = c
        .execute("DELETE FROM quick_phrases WHERE id = ?1 AND shop_id = ?2", params![id.as_uuid(), shop.as_uuid()])
        .map_err(be)?;
    if n == 0 {
        return Err(StoreError::NotFound("quick phrase"));
    }
    Ok(())
}
