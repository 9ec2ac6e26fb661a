-- Images sent in conversations, kept with the shopper they concern (who,
-- besides the shop's agents, may see them).
CREATE TABLE attachments (
    id           UUID PRIMARY KEY,
    shop_id      UUID NOT NULL REFERENCES shops(id),
    customer_id  UUID NOT NULL REFERENCES customers(id),
    sender_kind  TEXT NOT NULL,
    sender_id    UUID,
    kind         TEXT NOT NULL,
    bytes        BYTEA NOT NULL,
    created_at   BIGINT NOT NULL
);
