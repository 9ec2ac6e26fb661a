-- The knowledge base: a shop's answered questions. Alternate phrasings are
-- one per line (questions cannot hold line breaks).
CREATE TABLE knowledge (
    id          UUID PRIMARY KEY,
    shop_id     UUID NOT NULL REFERENCES shops(id),
    question    TEXT NOT NULL,
    alternates  TEXT NOT NULL,
    answer      TEXT NOT NULL,
    category    TEXT,
    enabled     BOOLEAN NOT NULL,
    updated_at  BIGINT NOT NULL
);
CREATE INDEX knowledge_by_shop ON knowledge (shop_id, updated_at);
