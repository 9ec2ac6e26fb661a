-- A shop's year holds a few hundred open conversations among a million
-- closed ones. The queue reads the open ones and the history tab the newest
-- closed ones; each gets a partial index (the queries name the same literal
-- status terms), so neither scans the table however the planner's averaged
-- statistics look (measured by `kefu bench history`).
CREATE INDEX conversations_open_by_shop ON conversations (shop_id, status) WHERE status <> 'closed';
CREATE INDEX conversations_closed_by_shop ON conversations (shop_id, closed_at) WHERE status = 'closed';
