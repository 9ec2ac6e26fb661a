//! A shop's bot rules as edited on /admin, and the history of their changes.

use super::*;

pub(super) fn put(c: &Connection, shop: ShopId, change: RulesChange) -> StoreResult<()> {
    let id = shop.as_uuid();
    let changed = match &change.text {
        Some(text) => c.execute(
            "INSERT INTO shop_rules (shop_id, text, updated_at, updated_by) VALUES (?1, ?2, ?3, ?4) \
             ON CONFLICT (shop_id) DO UPDATE SET text = excluded.text, updated_at = excluded.updated_at, \
             updated_by = excluded.updated_by",
            params![id, text, change.at.millis(), change.by],
        ),
        None => c.execute("DELETE FROM shop_rules WHERE shop_id = ?1", [id]),
    }
    .map_err(be)?;
    if changed > 0 {
        c.execute(
            "INSERT INTO shop_rules_history (shop_id, text, changed_by, changed_at) VALUES (?1, ?2, ?3, ?4)",
            params![id, change.text, change.by, change.at.millis()],
        )
        .map_err(be)?;
    }
    Ok(())
}

pub(super) fn history(c: &Connection, shop: ShopId, limit: u32) -> StoreResult<Vec<RulesVersion>> {
    let mut stmt = c
        .prepare_cached(
            "SELECT version, text, changed_at, changed_by FROM shop_rules_history \
             WHERE shop_id = ?1 ORDER BY version DESC LIMIT ?2",
        )
        .map_err(be)?;
    let rows = stmt
        .query_map(params![shop.as_uuid(), limit], |r| {
            Ok(RulesVersion {
                version: r.get(0)?,
                change: RulesChange { text: r.get(1)?, at: Timestamp(r.get(2)?), by: r.get(3)? },
            })
        })
        .map_err(be)?;
    rows.collect::<Result<Vec<_>, _>>().map_err(be)
}
