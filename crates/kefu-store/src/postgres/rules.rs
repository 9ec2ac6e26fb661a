//! A shop's bot rules as edited on /admin, and the history of their changes.

use super::*;

pub(super) async fn put(tx: &impl GenericClient, shop: ShopId, change: &RulesChange) -> StoreResult<()> {
    let id = shop.as_uuid();
    let changed = match &change.text {
        Some(text) => {
            tx.execute(
                "INSERT INTO shop_rules (shop_id, text, updated_at, updated_by) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (shop_id) DO UPDATE SET text = EXCLUDED.text, updated_at = EXCLUDED.updated_at, \
                 updated_by = EXCLUDED.updated_by",
                &[&id, text, &change.at.millis(), &change.by],
            )
            .await
        }
        None => tx.execute("DELETE FROM shop_rules WHERE shop_id = $1", &[&id]).await,
    }
    .map_err(be)?;
    if changed > 0 {
        tx.execute(
            "INSERT INTO shop_rules_history (shop_id, text, changed_by, changed_at) VALUES ($1, $2, $3, $4)",
            &[&id, &change.text, &change.by, &change.at.millis()],
        )
        .await
        .map_err(be)?;
    }
    Ok(())
}

pub(super) async fn history(c: &impl GenericClient, shop: ShopId, limit: u32) -> StoreResult<Vec<RulesVersion>> {
    let rows = c
        .query(
            "SELECT version, text, changed_at, changed_by FROM shop_rules_history \
             WHERE shop_id = $1 ORDER BY version DESC LIMIT $2",
            &[&shop.as_uuid(), &i64::from(limit)],
        )
        .await
        .map_err(be)?;
    Ok(rows
        .iter()
        .map(|r| RulesVersion {
            version: r.get(0),
            change: RulesChange { text: r.get(1), at: Timestamp(r.get(2)), by: r.get(3) },
        })
        .collect())
}
