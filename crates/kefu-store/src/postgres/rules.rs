//! A shop's bot rules as edited on /admin, and the history of their changes.

use super::*;

/// The stored text and the shop's latest version, in one statement so the
/// two come from one snapshot.
const STATE: &str = "SELECT r.text, r.updated_at, r.updated_by, \
     COALESCE((SELECT MAX(version) FROM shop_rules_history WHERE shop_id = $1), 0) \
     FROM (SELECT 1) AS one LEFT JOIN shop_rules r ON r.shop_id = $1";

pub(super) async fn state(c: &impl GenericClient, shop: ShopId) -> StoreResult<ShopRulesState> {
    let r = c.query_one(STATE, &[&shop.as_uuid()]).await.map_err(be)?;
    let stored = r.get::<_, Option<String>>(0).map(|text| StoredRules {
        text,
        updated_at: Timestamp(r.get(1)),
        updated_by: r.get(2),
    });
    Ok(ShopRulesState { stored, version: r.get(3) })
}

pub(super) async fn put(
    tx: &impl GenericClient,
    shop: ShopId,
    change: &RulesChange,
    base: Option<i64>,
) -> StoreResult<i64> {
    let id = shop.as_uuid();
    // Two editors' saves take turns on the shop's row, so the second sees
    // the first's version (at read committed each statement sees the
    // latest commit).
    tx.execute("SELECT 1 FROM shops WHERE id = $1 FOR UPDATE", &[&id]).await.map_err(be)?;
    let current: i64 = tx
        .query_one("SELECT COALESCE(MAX(version), 0) FROM shop_rules_history WHERE shop_id = $1", &[&id])
        .await
        .map_err(be)?
        .get(0);
    if base.is_some_and(|b| b != current) {
        return Err(StoreError::Conflict("rules_changed"));
    }
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
    if changed == 0 {
        return Ok(current);
    }
    let version = tx
        .query_one(
            "INSERT INTO shop_rules_history (shop_id, text, changed_by, changed_at) VALUES ($1, $2, $3, $4) \
             RETURNING version",
            &[&id, &change.text, &change.by, &change.at.millis()],
        )
        .await
        .map_err(be)?
        .get(0);
    Ok(version)
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
