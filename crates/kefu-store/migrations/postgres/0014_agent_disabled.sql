-- An account can be disabled (a person who left) without deleting it: their
-- name stays on the messages and requests they wrote.
ALTER TABLE agents ADD COLUMN disabled BOOLEAN NOT NULL DEFAULT false;
