-- What each shop's shoppers uploaded per day (China time), counted in the
-- statement that stores the image: the shop's daily budget
-- (kefu_core::attachment::ShopBudget) is checked without summing images.
CREATE TABLE upload_days (
    shop_id UUID NOT NULL REFERENCES shops(id),
    day     BIGINT NOT NULL,
    bytes   BIGINT NOT NULL,
    PRIMARY KEY (shop_id, day)
);
