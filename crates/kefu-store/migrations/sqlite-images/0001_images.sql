-- Images live in a database file of their own (kefu-images.db beside
-- kefu.db), with a writer of their own: a 5 MiB blob never sits in the
-- group commit that messages wait for. No foreign keys: the shops and
-- customers are in the other file.
CREATE TABLE attachments (
    id           BLOB PRIMARY KEY,
    shop_id      BLOB NOT NULL,
    customer_id  BLOB NOT NULL,
    sender_kind  TEXT NOT NULL,
    sender_id    BLOB,
    kind         TEXT NOT NULL,
    bytes        BLOB NOT NULL,
    created_at   INTEGER NOT NULL
);
CREATE INDEX attachments_by_customer ON attachments (customer_id, created_at);
CREATE INDEX attachments_by_age ON attachments (created_at);
