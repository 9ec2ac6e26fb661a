-- Each agent's figures per shop and China day, added to in the write that
-- stores each answer, replace the table of answers of 0019: keyed by
-- conversation, it cost the agents' reply path 43% of its appends per
-- second on SQLite (a random page per answer), and an index of answers by
-- agent still 18% with 200 agents; today's rows of every agent of a shop
-- share a few pages (docs/PERFORMANCE.md, "Counting every answer"). `day`
-- is the China day number (UTC+8), `within_3m` and `within_5m` the two
-- reply windows a shop may judge by.
DROP TABLE responses;
CREATE TABLE agent_days (
    day              BIGINT NOT NULL,
    shop_id          UUID NOT NULL,
    agent_id         UUID NOT NULL,
    chats            BIGINT NOT NULL,
    answers          BIGINT NOT NULL,
    waited_ms        BIGINT NOT NULL,
    first_answers    BIGINT NOT NULL,
    first_within_30s BIGINT NOT NULL,
    within_3m        BIGINT NOT NULL,
    within_5m        BIGINT NOT NULL,
    PRIMARY KEY (day, shop_id, agent_id)
);
-- An agent's own day over every shop (their top bar); written once a day per shop.
CREATE INDEX agent_days_by_agent ON agent_days (agent_id, day);
-- What each answer waited stays on the answering message, for analyses to come.
ALTER TABLE messages ADD COLUMN waited_ms BIGINT, ADD COLUMN first_answer BOOLEAN;
-- The conversation's agent's first answer since they got it, and its last answer.
ALTER TABLE conversations ADD COLUMN answered_at BIGINT, ADD COLUMN last_answer_at BIGINT;
