-- The shops' daily upload counts live beside the images, in kefu-images.db
-- (sqlite-images/0002_upload_days.sql), so the count and the image are one
-- write. Nothing here; the number keeps both backends' lists alike.
SELECT 1;
