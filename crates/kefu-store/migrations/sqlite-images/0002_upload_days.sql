-- What each shop's shoppers uploaded per day (China time), counted in the
-- write that stores the image: the shop's daily budget
-- (kefu_core::attachment::ShopBudget) is checked without summing images.
CREATE TABLE upload_days (
    shop_id BLOB NOT NULL,
    day     INTEGER NOT NULL,
    bytes   INTEGER NOT NULL,
    PRIMARY KEY (shop_id, day)
) WITHOUT ROWID;
