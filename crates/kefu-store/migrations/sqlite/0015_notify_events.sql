-- Which events an endpoint is sent, as bits (kefu_core::outbound::EventSet);
-- -1, every bit, is "every event", including ones a later version adds.
ALTER TABLE notify_endpoints ADD COLUMN events INTEGER NOT NULL DEFAULT -1;
