-- A shop's bot rules as edited on /admin (the TOML text, validated before it
-- is stored); a shop without a row uses its rules file or the defaults.
CREATE TABLE shop_rules (
    shop_id     UUID PRIMARY KEY REFERENCES shops(id),
    text        TEXT NOT NULL,
    updated_by  TEXT NOT NULL,
    updated_at  BIGINT NOT NULL
);
