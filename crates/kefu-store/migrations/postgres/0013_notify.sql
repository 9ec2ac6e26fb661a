-- Outbound notifications: a shop's endpoint, and the outbox of deliveries
-- queued in the transaction of the change they announce.
CREATE TABLE notify_endpoints (
    shop_id    UUID PRIMARY KEY REFERENCES shops(id),
    url        TEXT NOT NULL,
    enabled    BOOLEAN NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE deliveries (
    id           UUID PRIMARY KEY,
    shop_id      UUID NOT NULL REFERENCES shops(id),
    event        TEXT NOT NULL,
    subject      UUID,
    created_at   BIGINT NOT NULL,
    state        TEXT NOT NULL,
    attempts     INTEGER NOT NULL,
    next_at      BIGINT NOT NULL,
    last_status  INTEGER,
    last_error   TEXT,
    delivered_at BIGINT
);
-- What the sender takes: only pending deliveries, by when they are due.
CREATE INDEX deliveries_due ON deliveries (next_at) WHERE state = 'pending';
-- What the admin page lists.
CREATE INDEX deliveries_by_shop ON deliveries (shop_id, created_at);
-- What the sweeper deletes: the oldest of those done with.
CREATE INDEX deliveries_done ON deliveries (created_at) WHERE state <> 'pending';
