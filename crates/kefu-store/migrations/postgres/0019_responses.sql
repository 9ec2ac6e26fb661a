-- Every wait an agent answered: the numbers agents are judged by (30秒应答率,
-- 平均响应, 3分钟回复率), written with the answering message so they are
-- exact, and read per agent and day. A wait counts from the later of the
-- shopper's oldest unanswered message and the agent getting the conversation
-- (time in the bot or the queue is not the agent's). `first`: the agent's first
-- answer since they got the conversation (首次响应).
ALTER TABLE conversations ADD COLUMN assigned_at BIGINT;
CREATE TABLE responses (
    conversation_id UUID NOT NULL,
    seq             BIGINT NOT NULL,
    shop_id         UUID NOT NULL,
    agent_id        UUID NOT NULL,
    waited_ms       BIGINT NOT NULL,
    first           BOOLEAN NOT NULL,
    answered_at     BIGINT NOT NULL,
    PRIMARY KEY (conversation_id, seq)
);
CREATE INDEX responses_by_agent ON responses (agent_id, answered_at);
