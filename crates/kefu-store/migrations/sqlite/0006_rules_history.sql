-- Every save and removal of a shop's bot rules on /admin: who changed the
-- policy the bot applies, when, and to what (text NULL: removed).
CREATE TABLE shop_rules_history (
    version     INTEGER PRIMARY KEY AUTOINCREMENT,
    shop_id     BLOB NOT NULL REFERENCES shops(id),
    text        TEXT,
    changed_by  TEXT NOT NULL,
    changed_at  INTEGER NOT NULL
);
CREATE INDEX shop_rules_history_shop ON shop_rules_history (shop_id, version);
-- Rules saved before the history began are its first entries.
INSERT INTO shop_rules_history (shop_id, text, changed_by, changed_at)
SELECT shop_id, text, updated_by, updated_at FROM shop_rules;
