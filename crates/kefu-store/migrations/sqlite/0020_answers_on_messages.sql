-- Each agent's figures per shop and China day, added to in the write that
-- stores each answer, replace the table of answers of 0019: keyed by
-- conversation, it cost the agents' reply path 43% of its appends per
-- second (a random page per answer), and an index of answers by agent
-- still 18% with 200 agents (a page per agent per commit); today's rows of
-- every agent of a shop share a few pages (docs/PERFORMANCE.md, "Counting
-- every answer"). `day` is the China day number (UTC+8), `within_3m` and
-- `within_5m` the two reply windows a shop may judge by.
DROP TABLE responses;
CREATE TABLE agent_days (
    day              INTEGER NOT NULL,
    shop_id          BLOB NOT NULL,
    agent_id         BLOB NOT NULL,
    chats            INTEGER NOT NULL,
    answers          INTEGER NOT NULL,
    waited_ms        INTEGER NOT NULL,
    first_answers    INTEGER NOT NULL,
    first_within_30s INTEGER NOT NULL,
    within_3m        INTEGER NOT NULL,
    within_5m        INTEGER NOT NULL,
    PRIMARY KEY (day, shop_id, agent_id)
) WITHOUT ROWID;
-- An agent's own day over every shop (their top bar); written once a day per shop.
CREATE INDEX agent_days_by_agent ON agent_days (agent_id, day);
-- What each answer waited stays on the answering message, for analyses to come.
ALTER TABLE messages ADD COLUMN waited_ms INTEGER;
ALTER TABLE messages ADD COLUMN first_answer INTEGER;
-- The conversation's agent's first answer since they got it, and its last answer.
ALTER TABLE conversations ADD COLUMN answered_at INTEGER;
ALTER TABLE conversations ADD COLUMN last_answer_at INTEGER;
