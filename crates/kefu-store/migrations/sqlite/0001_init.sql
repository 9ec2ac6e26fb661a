-- kefu schema v1 (SQLite). Ids are 16-byte UUID blobs, times are UTC
-- milliseconds, money is integer fen, tag lists are joined with U+001F.
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE shops (
    id         BLOB PRIMARY KEY,
    slug       TEXT NOT NULL UNIQUE,
    name       TEXT NOT NULL,
    secret     TEXT NOT NULL,
    created_at INTEGER NOT NULL
);

CREATE TABLE skill_groups (
    id      BLOB PRIMARY KEY,
    shop_id BLOB NOT NULL REFERENCES shops(id),
    name    TEXT NOT NULL,
    UNIQUE (shop_id, name)
);

CREATE TABLE agents (
    id             BLOB PRIMARY KEY,
    username       TEXT NOT NULL UNIQUE,
    display_name   TEXT NOT NULL,
    password_hash  TEXT NOT NULL,
    role           TEXT NOT NULL,
    max_concurrent INTEGER NOT NULL,
    status         TEXT NOT NULL,
    created_at     INTEGER NOT NULL
);

CREATE TABLE agent_shops (
    agent_id BLOB NOT NULL REFERENCES agents(id),
    shop_id  BLOB NOT NULL REFERENCES shops(id),
    PRIMARY KEY (agent_id, shop_id)
);
CREATE INDEX agent_shops_by_shop ON agent_shops (shop_id);

CREATE TABLE agent_skill_groups (
    agent_id BLOB NOT NULL REFERENCES agents(id),
    group_id BLOB NOT NULL REFERENCES skill_groups(id),
    PRIMARY KEY (agent_id, group_id)
);

CREATE TABLE sessions (
    token_hash BLOB PRIMARY KEY,
    agent_id   BLOB NOT NULL REFERENCES agents(id),
    csrf_token TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);

CREATE TABLE customers (
    id              BLOB PRIMARY KEY,
    shop_id         BLOB NOT NULL REFERENCES shops(id),
    external_id     TEXT,
    nickname        TEXT NOT NULL,
    tier            TEXT NOT NULL,
    tags            TEXT NOT NULL,
    phone           TEXT,
    lifetime_spend  INTEGER NOT NULL,
    complaint_count INTEGER NOT NULL,
    created_at      INTEGER NOT NULL
);
CREATE UNIQUE INDEX customers_by_external ON customers (shop_id, external_id);

CREATE TABLE products (
    id       BLOB PRIMARY KEY,
    shop_id  BLOB NOT NULL REFERENCES shops(id),
    sku      TEXT NOT NULL,
    name     TEXT NOT NULL,
    model    TEXT,
    category TEXT NOT NULL,
    price    INTEGER NOT NULL,
    UNIQUE (shop_id, sku)
);

CREATE TABLE orders (
    id           BLOB PRIMARY KEY,
    shop_id      BLOB NOT NULL REFERENCES shops(id),
    order_no     TEXT NOT NULL,
    customer_id  BLOB NOT NULL REFERENCES customers(id),
    status       TEXT NOT NULL,
    total        INTEGER NOT NULL,
    province     TEXT NOT NULL,
    city         TEXT NOT NULL,
    address      TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    paid_at      INTEGER,
    shipped_at   INTEGER,
    delivered_at INTEGER,
    completed_at INTEGER,
    cancelled_at INTEGER,
    updated_at   INTEGER NOT NULL,
    UNIQUE (shop_id, order_no)
);
CREATE INDEX orders_by_customer ON orders (customer_id, created_at);

CREATE TABLE order_items (
    order_id   BLOB NOT NULL REFERENCES orders(id),
    line       INTEGER NOT NULL,
    sku        TEXT NOT NULL,
    name       TEXT NOT NULL,
    quantity   INTEGER NOT NULL,
    unit_price INTEGER NOT NULL,
    PRIMARY KEY (order_id, line)
);

CREATE TABLE shipments (
    id          BLOB PRIMARY KEY,
    shop_id     BLOB NOT NULL REFERENCES shops(id),
    order_id    BLOB NOT NULL REFERENCES orders(id),
    carrier     TEXT NOT NULL,
    tracking_no TEXT NOT NULL,
    updated_at  INTEGER NOT NULL,
    UNIQUE (shop_id, tracking_no)
);
CREATE INDEX shipments_by_order ON shipments (order_id);

CREATE TABLE shipment_events (
    shipment_id BLOB NOT NULL REFERENCES shipments(id),
    line        INTEGER NOT NULL,
    at          INTEGER NOT NULL,
    location    TEXT NOT NULL,
    description TEXT NOT NULL,
    PRIMARY KEY (shipment_id, line)
);

CREATE TABLE conversations (
    id             BLOB PRIMARY KEY,
    shop_id        BLOB NOT NULL REFERENCES shops(id),
    customer_id    BLOB NOT NULL REFERENCES customers(id),
    channel        TEXT NOT NULL,
    status         TEXT NOT NULL,
    assigned_agent BLOB REFERENCES agents(id),
    skill_group    BLOB REFERENCES skill_groups(id),
    priority       INTEGER NOT NULL,
    tags           TEXT NOT NULL,
    csat           INTEGER,
    last_seq       INTEGER NOT NULL,
    waiting_since  INTEGER,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    closed_at      INTEGER
);
CREATE INDEX conversations_by_shop_status ON conversations (shop_id, status);
CREATE INDEX conversations_by_agent ON conversations (assigned_agent, status);
CREATE INDEX conversations_by_customer ON conversations (customer_id, created_at);
-- A customer has at most one open conversation.
CREATE UNIQUE INDEX conversations_one_open ON conversations (customer_id) WHERE status <> 'closed';

CREATE TABLE messages (
    conversation_id BLOB NOT NULL REFERENCES conversations(id),
    seq             INTEGER NOT NULL,
    id              BLOB NOT NULL UNIQUE,
    shop_id         BLOB NOT NULL,
    sender_kind     TEXT NOT NULL,
    sender_id       BLOB,
    kind            TEXT NOT NULL,
    text            TEXT NOT NULL,
    client_msg_id   TEXT,
    created_at      INTEGER NOT NULL,
    PRIMARY KEY (conversation_id, seq)
) WITHOUT ROWID;
CREATE UNIQUE INDEX messages_by_client_id ON messages (conversation_id, client_msg_id) WHERE client_msg_id IS NOT NULL;
