-- When an agent's workspace was last connected (its socket says so every
-- half minute): an agent marked 接待中 who closed the browser without going
-- 离线 is set offline after a few minutes unseen, so routing stops sending
-- them shoppers and the chat stops promising a person.
ALTER TABLE agents ADD COLUMN seen_at INTEGER;
