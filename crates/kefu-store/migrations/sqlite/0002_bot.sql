-- The self-service bot: its memory per conversation, its audit trail, and
-- the requests it files against orders.
CREATE TABLE bot_states (
    conversation_id BLOB PRIMARY KEY REFERENCES conversations(id),
    state           TEXT NOT NULL,
    updated_at      INTEGER NOT NULL
);

CREATE TABLE bot_audit (
    seq             INTEGER PRIMARY KEY AUTOINCREMENT,
    shop_id         BLOB NOT NULL REFERENCES shops(id),
    conversation_id BLOB NOT NULL REFERENCES conversations(id),
    at              INTEGER NOT NULL,
    intent          TEXT NOT NULL,
    confidence      REAL NOT NULL,
    emotion         TEXT NOT NULL,
    order_no        TEXT,
    outcome         TEXT NOT NULL
);
CREATE INDEX bot_audit_by_shop ON bot_audit (shop_id, at);

CREATE TABLE order_requests (
    id              BLOB PRIMARY KEY,
    shop_id         BLOB NOT NULL REFERENCES shops(id),
    order_id        BLOB NOT NULL REFERENCES orders(id),
    conversation_id BLOB REFERENCES conversations(id),
    kind            TEXT NOT NULL,
    detail          TEXT NOT NULL,
    needs_review    INTEGER NOT NULL,
    status          TEXT NOT NULL DEFAULT 'open',
    created_at      INTEGER NOT NULL
);
CREATE INDEX order_requests_by_order ON order_requests (order_id, created_at);
CREATE INDEX order_requests_open ON order_requests (shop_id, status, created_at);
