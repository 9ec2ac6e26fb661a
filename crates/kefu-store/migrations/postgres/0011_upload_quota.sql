-- A shopper's uploads of the last day are read before each new one (the
-- upload quota): by shopper and time, without reading the images.
CREATE INDEX attachments_by_customer ON attachments (customer_id, created_at);
