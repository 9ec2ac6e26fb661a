-- Order requests are filed by agents as well as the bot, and people close
-- them: who filed it (NULL: the bot), who closed it, when, and with what word.
ALTER TABLE order_requests ADD COLUMN filed_by UUID REFERENCES agents(id);
ALTER TABLE order_requests ADD COLUMN resolved_by UUID REFERENCES agents(id);
ALTER TABLE order_requests ADD COLUMN resolved_at BIGINT;
ALTER TABLE order_requests ADD COLUMN resolution TEXT;
