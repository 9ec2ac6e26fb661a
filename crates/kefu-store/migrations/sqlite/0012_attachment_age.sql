-- Images past the retention (`attachment_days`) are deleted oldest first.
CREATE INDEX attachments_by_age ON attachments (created_at);
