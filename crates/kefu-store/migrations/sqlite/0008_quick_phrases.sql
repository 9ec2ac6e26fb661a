-- Quick phrases (快捷短语): a shop's canned replies, unique by code.
CREATE TABLE quick_phrases (
    id          BLOB PRIMARY KEY,
    shop_id     BLOB NOT NULL REFERENCES shops(id),
    code        TEXT NOT NULL,
    text        TEXT NOT NULL,
    updated_at  INTEGER NOT NULL
);
CREATE UNIQUE INDEX quick_phrases_by_code ON quick_phrases (shop_id, code);
