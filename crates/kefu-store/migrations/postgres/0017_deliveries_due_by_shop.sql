-- A claim takes each shop's oldest due deliveries up to its share: one
-- index range per shop, so a shop with a backlog of thousands behind a dead
-- endpoint costs a claim no more than a shop with one.
CREATE INDEX deliveries_due_by_shop ON deliveries (shop_id, next_at) WHERE state = 'pending';
