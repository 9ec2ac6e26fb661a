-- Auto-assign offers a conversation to an agent, who accepts it (or answers)
-- by `offered_until`; past it the offer lapses: the conversation goes back
-- to the queue and the agent 挂起. NULL: not an offer (accepted, taken from
-- the queue by the agent, transferred, or not assigned). The lapse sweep
-- reads the few open offers through their own index, and routing counts
-- each agent's (two at a time) in it without reading their conversations.
ALTER TABLE conversations ADD COLUMN offered_until BIGINT;
CREATE INDEX conversations_offered ON conversations (assigned_agent, offered_until) WHERE offered_until IS NOT NULL;
-- Offers an agent let lapse, per shop and China day (漏接): counted by the
-- write that takes the offer back, read with the day's other figures.
ALTER TABLE agent_days ADD COLUMN missed_offers BIGINT NOT NULL DEFAULT 0;
-- The queue in its order (`OPEN_ORDER`: longest wait first, those with
-- nothing waiting last), per shop: a freed place takes the front shopper,
-- and the fill reads the front, without sorting the whole queue each time
-- (5,000 waiting on 双11 night).
CREATE INDEX conversations_queue ON conversations (shop_id, (waiting_since IS NULL), waiting_since, priority DESC, updated_at DESC)
    WHERE status = 'queued';
