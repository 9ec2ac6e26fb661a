//! A shop's bot rules as edited on /admin, and the history of their changes.

use super::*;

/// The stored text and the shop's latest version, in one statement so the
/// two always belong together.
const STATE: &str = "SELECT r.text, r.updated_at, r.updated_by, \
     COALESCE((SELECT MAX(version) FROM shop_rules_history WHERE shop_id = ?1), 0) \
     FROM (SELECT 1) AS one LEFT JOIN shop_rules r ON r.shop_id = ?1";

pub(super) fn state(c: &Connection, shop: ShopId) -> StoreResult<ShopRulesState> {
    c.prepare_cached(STATE)
        .and_then(|mut s| {
            s.query_row([shop.as_uuid()], |r| {
                let stored = match r.get::<_, Option<String>>(0)? {
                    Some(text) => Some(StoredRules { text, updated_at: Timestamp(r.get(1)?), updated_by: r.get(2)? }),
                    None => None,
                };
                Ok(ShopRulesState { stored, version: r.get(3)? })
            })
        })
        .map_err(be)
}

pub(super) fn put(c: &Connection, shop: ShopId, change: RulesChange, base: Option<i64>) -> StoreResult<i64> {
    let id = shop.as_uuid();
    // The writer is the only one writing, so nothing changes between this
    // check and the write.
    let current = state(c, shop)?.version;
    if base.is_some_and(|b| b != current) {
        return Err(StoreError::Conflict("rules_changed"));
    }
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
    if changed == 0 {
        return Ok(current);
    }
    c.execute(
        "INSERT INTO shop_rules_history (shop_id, text, changed_by, changed_at) VALUES (?1, ?2, ?3, ?4)",
        params![id, change.text, change.by, change.at.millis()],
    )
    .map_err(be)?;
    Ok(c.last_insert_rowid())
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
