-- Images sent in conversations, kept with the shopper they concern (who,
-- besides the shop's agents, may see them).
CREATE TABLE attachments (
    id           BLOB PRIMARY KEY,
    shop_id      BLOB NOT NULL REFERENCES shops(id),
    customer_id  BLOB NOT NULL REFERENCES customers(id),
    sender_kind  TEXT NOT NULL,
    sender_id    BLOB,
    kind         TEXT NOT NULL,
    bytes        BLOB NOT NULL,
    created_at   INTEGER NOT NULL
);
