-- The self-service bot: its memory per conversation, its audit trail, and
-- the requests it files against orders.
CREATE TABLE bot_states (
    conversation_id UUID PRIMARY KEY REFERENCES conversations(id),
    state           TEXT NOT NULL,
    updated_at      BIGINT NOT NULL
);

CREATE TABLE bot_audit (
    seq             BIGSERIAL PRIMARY KEY,
    shop_id         UUID NOT NULL REFERENCES shops(id),
    conversation_id UUID NOT NULL REFERENCES conversations(id),
    at              BIGINT NOT NULL,
    intent          TEXT NOT NULL,
    confidence      REAL NOT NULL,
    emotion         TEXT NOT NULL,
    order_no        TEXT,
    outcome         TEXT NOT NULL
);
CREATE INDEX bot_audit_by_shop ON bot_audit (shop_id, at);

CREATE TABLE order_requests (
    id              UUID PRIMARY KEY,
    shop_id         UUID NOT NULL REFERENCES shops(id),
    order_id        UUID NOT NULL REFERENCES orders(id),
    conversation_id UUID REFERENCES conversations(id),
    kind            TEXT NOT NULL,
    detail          TEXT NOT NULL,
    needs_review    BOOLEAN NOT NULL,
    status          TEXT NOT NULL DEFAULT 'open',
    created_at      BIGINT NOT NULL
);
CREATE INDEX order_requests_by_order ON order_requests (order_id, created_at);
CREATE INDEX order_requests_open ON order_requests (shop_id, status, created_at);
