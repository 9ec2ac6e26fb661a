-- Each bot turn is decided on one version of the bot's memory and written
-- only if no other turn (another node's) wrote since; 0 is "never written".
ALTER TABLE bot_states ADD COLUMN version BIGINT NOT NULL DEFAULT 0;
