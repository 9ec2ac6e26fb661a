-- kefu schema v1 (PostgreSQL). Ids are UUIDs, times are UTC
-- milliseconds, money is integer fen, tag lists are text arrays.
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE shops (
    id         UUID PRIMARY KEY,
    slug       TEXT NOT NULL UNIQUE,
    name       TEXT NOT NULL,
    secret     TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE skill_groups (
    id      UUID PRIMARY KEY,
    shop_id UUID NOT NULL REFERENCES shops(id),
    name    TEXT NOT NULL,
    UNIQUE (shop_id, name)
);

CREATE TABLE agents (
    id             UUID PRIMARY KEY,
    username       TEXT NOT NULL UNIQUE,
    display_name   TEXT NOT NULL,
    password_hash  TEXT NOT NULL,
    role           TEXT NOT NULL,
    max_concurrent INTEGER NOT NULL,
    status         TEXT NOT NULL,
    created_at     BIGINT NOT NULL
);

CREATE TABLE agent_shops (
    agent_id UUID NOT NULL REFERENCES agents(id),
    shop_id  UUID NOT NULL REFERENCES shops(id),
    PRIMARY KEY (agent_id, shop_id)
);
CREATE INDEX agent_shops_by_shop ON agent_shops (shop_id);

CREATE TABLE agent_skill_groups (
    agent_id UUID NOT NULL REFERENCES agents(id),
    group_id UUID NOT NULL REFERENCES skill_groups(id),
    PRIMARY KEY (agent_id, group_id)
);

CREATE TABLE sessions (
    token_hash BYTEA PRIMARY KEY,
    agent_id   UUID NOT NULL REFERENCES agents(id),
    csrf_token TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);

CREATE TABLE customers (
    id              UUID PRIMARY KEY,
    shop_id         UUID NOT NULL REFERENCES shops(id),
    external_id     TEXT,
    nickname        TEXT NOT NULL,
    tier            TEXT NOT NULL,
    tags            TEXT[] NOT NULL,
    phone           TEXT,
    lifetime_spend  BIGINT NOT NULL,
    complaint_count INTEGER NOT NULL,
    created_at      BIGINT NOT NULL
);
CREATE UNIQUE INDEX customers_by_external ON customers (shop_id, external_id);

CREATE TABLE products (
    id       UUID PRIMARY KEY,
    shop_id  UUID NOT NULL REFERENCES shops(id),
    sku      TEXT NOT NULL,
    name     TEXT NOT NULL,
    model    TEXT,
    category TEXT NOT NULL,
    price    BIGINT NOT NULL,
    UNIQUE (shop_id, sku)
);

CREATE TABLE orders (
    id           UUID PRIMARY KEY,
    shop_id      UUID NOT NULL REFERENCES shops(id),
    order_no     TEXT NOT NULL,
    customer_id  UUID NOT NULL REFERENCES customers(id),
    status       TEXT NOT NULL,
    total        BIGINT NOT NULL,
    province     TEXT NOT NULL,
    city         TEXT NOT NULL,
    address      TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    paid_at      BIGINT,
    shipped_at   BIGINT,
    delivered_at BIGINT,
    completed_at BIGINT,
    cancelled_at BIGINT,
    updated_at   BIGINT NOT NULL,
    UNIQUE (shop_id, order_no)
);
CREATE INDEX orders_by_customer ON orders (customer_id, created_at);

CREATE TABLE order_items (
    order_id   UUID NOT NULL REFERENCES orders(id),
    line       INTEGER NOT NULL,
    sku        TEXT NOT NULL,
    name       TEXT NOT NULL,
    quantity   INTEGER NOT NULL,
    unit_price BIGINT NOT NULL,
    PRIMARY KEY (order_id, line)
);

CREATE TABLE shipments (
    id          UUID PRIMARY KEY,
    shop_id     UUID NOT NULL REFERENCES shops(id),
    order_id    UUID NOT NULL REFERENCES orders(id),
    carrier     TEXT NOT NULL,
    tracking_no TEXT NOT NULL,
    updated_at  BIGINT NOT NULL,
    UNIQUE (shop_id, tracking_no)
);
CREATE INDEX shipments_by_order ON shipments (order_id);

CREATE TABLE shipment_events (
    shipment_id UUID NOT NULL REFERENCES shipments(id),
    line        INTEGER NOT NULL,
    at          BIGINT NOT NULL,
    location    TEXT NOT NULL,
    description TEXT NOT NULL,
    PRIMARY KEY (shipment_id, line)
);

CREATE TABLE conversations (
    id             UUID PRIMARY KEY,
    shop_id        UUID NOT NULL REFERENCES shops(id),
    customer_id    UUID NOT NULL REFERENCES customers(id),
    channel        TEXT NOT NULL,
    status         TEXT NOT NULL,
    assigned_agent UUID REFERENCES agents(id),
    skill_group    UUID REFERENCES skill_groups(id),
    priority       INTEGER NOT NULL,
    tags           TEXT[] NOT NULL,
    csat           SMALLINT,
    last_seq       BIGINT NOT NULL,
    waiting_since  BIGINT,
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL,
    closed_at      BIGINT
);
CREATE INDEX conversations_by_shop_status ON conversations (shop_id, status);
CREATE INDEX conversations_by_agent ON conversations (assigned_agent, status);
CREATE INDEX conversations_by_customer ON conversations (customer_id, created_at);
-- A customer has at most one open conversation.
CREATE UNIQUE INDEX conversations_one_open ON conversations (customer_id) WHERE status <> 'closed';

CREATE TABLE messages (
    conversation_id UUID NOT NULL REFERENCES conversations(id),
    seq             BIGINT NOT NULL,
    id              UUID NOT NULL UNIQUE,
    shop_id         UUID NOT NULL,
    sender_kind     TEXT NOT NULL,
    sender_id       UUID,
    kind            TEXT NOT NULL,
    text            TEXT NOT NULL,
    client_msg_id   TEXT,
    created_at      BIGINT NOT NULL,
    PRIMARY KEY (conversation_id, seq)
);
CREATE UNIQUE INDEX messages_by_client_id ON messages (conversation_id, client_msg_id) WHERE client_msg_id IS NOT NULL;
