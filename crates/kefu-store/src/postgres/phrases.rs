//! Quick phrases' rows.

use kefu_core::phrase::QuickPhrase;

use super::*;

const COLS: &str = "id, shop_id, code, text, updated_at";

fn phrase(r: &Row) -> QuickPhrase {
    QuickPhrase {
        id: PhraseId::from_uuid(r.get(0)),
        shop_id: ShopId::from_uuid(r.get(1)),
        code: r.get(2),
        text: r.get(3),
        updated_at: Timestamp(r.get(4)),
    }
}

pub(super) async fn list(c: &impl GenericClient, shop: ShopId) -> StoreResult<Vec<QuickPhrase>> {
    let rows = c
        .query(&format!("SELECT {COLS} FROM quick_phrases WHERE shop_id = $1 ORDER BY code"), &[&shop.as_uuid()])
        .await
        .map_err(be)?;
    Ok(rows.iter().map(phrase).collect())
}

pub(super) async fn put(c: &impl GenericClient, p: &QuickPhrase) -> StoreResult<()> {
    // The update only touches a row of the same shop; another shop's id changes nothing.
    let changed = c
        .execute(
            &format!(
                "INSERT INTO quick_phrases ({COLS}) VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (id) DO UPDATE SET code = excluded.code, text = excluded.text,
                   updated_at = excluded.updated_at
                 WHERE quick_phrases.shop_id = excluded.shop_id"
            ),
            &[&p.id.as_uuid(), &p.shop_id.as_uuid(), &p.code, &p.text, &p.updated_at.millis()],
        )
        .await
        .map_err(|e| unique_or(e, "phrase_code_taken"))?;
    if changed == 0 {
        return Err(StoreError::NotFound("quick phrase"));
    }
    Ok(())
}

pub(super) async fn delete(c: &impl GenericClient, shop: ShopId, id: PhraseId) -> StoreResult<()> {
    let n = c
        .execute("DELETE FROM quick_phrases WHERE id = $1 AND shop_id = $2", &[&id.as_uuid(), &shop.as_uuid()])
        .await
        .map_err(be)?;
    if n == 0 {
        return Err(StoreError::NotFound("quick phrase"));
    }
    Ok(())
}
