//! Images in a conversation (a photo of a broken parcel, a screenshot of a
//! payment error): stored once, sent as a message that names them, shown
//! only to the shop's agents and the shopper the conversation is with.

use crate::clock::Timestamp;
use crate::conversation::Sender;
use crate::id::{AttachmentId, CustomerId, ShopId};

/// The largest image accepted: a phone photo, not a video.
pub const MAX_BYTES: usize = 5 * 1024 * 1024;

/// How much one shopper may upload: a burst per minute (a flood from one
/// page), and a day's count and bytes (a disk filled by one shopper); and
/// how much all of a shop's shoppers may upload in a day (China time), which
/// bounds the disk however many visitors a flood makes up. Agents' uploads
/// do not count: they are the shop's own people.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    pub per_minute: usize,
    pub per_day: usize,
    pub bytes_per_day: u64,
    /// All the shop's shoppers together, per day; 0: no limit.
    pub shop_bytes_per_day: u64,
}

impl Default for Quota {
    fn default() -> Self {
        Quota {
            per_minute: 10,
            per_day: 100,
            bytes_per_day: 100 * 1024 * 1024,
            // 2,000 five-MiB photos, or ten times as many screenshots.
            shop_bytes_per_day: 10 * 1024 * 1024 * 1024,
        }
    }
}

const MINUTE_MS: i64 = 60_000;
pub const DAY_MS: i64 = 86_400_000;

/// Refused by the quota: when the shopper may upload again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("too many images; try again in {retry_after_ms} ms")]
pub struct OverQuota {
    pub retry_after_ms: i64,
}

impl Quota {
    /// May the shopper upload `size` more bytes at `now`, given their
    /// uploads of the last day (`recent`: when, how many bytes)?
    pub fn check(&self, recent: &[(Timestamp, u64)], now: Timestamp, size: u64) -> Result<(), OverQuota> {
        let day: Vec<&(Timestamp, u64)> = recent.iter().filter(|(at, _)| now.0 - at.0 < DAY_MS).collect();
        let minute: Vec<&&(Timestamp, u64)> = day.iter().filter(|(at, _)| now.0 - at.0 < MINUTE_MS).collect();
        // Free again when the oldest upload in the window leaves it.
        let wait = |window: i64, oldest: Option<Timestamp>| OverQuota {
            retry_after_ms: oldest.map_or(window, |at| (at.0 + window - now.0).max(1)),
        };
        if minute.len() >= self.per_minute {
            return Err(wait(MINUTE_MS, minute.iter().map(|(at, _)| *at).min()));
        }
        let bytes: u64 = day.iter().map(|(_, n)| n).sum();
        if day.len() >= self.per_day || bytes + size > self.bytes_per_day {
            return Err(wait(DAY_MS, day.iter().map(|(at, _)| *at).min()));
        }
        Ok(())
    }

    /// What the store checks and counts, in the upload's own write, for
    /// the shop's day at `now`; `None` when there is no shop limit.
    pub fn shop_budget(&self, now: Timestamp) -> Option<ShopBudget> {
        (self.shop_bytes_per_day > 0).then(|| ShopBudget { day: now.china_day(), limit: self.shop_bytes_per_day })
    }
}

/// A shop's shoppers' uploads for one day (China time) may add up to
/// `limit` bytes. The store refuses an upload past it with
/// `Conflict("upload_budget")` and writes nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShopBudget {
    pub day: i64,
    pub limit: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    pub id: AttachmentId,
    pub shop_id: ShopId,
    /// The shopper of the conversation it belongs to: who, besides the
    /// shop's agents, may see it.
    pub customer_id: CustomerId,
    pub uploaded_by: Sender,
    pub kind: ImageKind,
    pub bytes: Vec<u8>,
    pub created_at: Timestamp,
}

/// What the bytes are, read from the bytes themselves: the name or type a
/// browser claims is never trusted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageKind {
    Png,
    Jpeg,
    Gif,
    Webp,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidImage {
    #[error("the image is empty")]
    Empty,
    #[error("the image is larger than {max} bytes")]
    TooLarge { max: usize },
    #[error("only PNG, JPEG, GIF and WebP images are accepted")]
    NotAnImage,
}

impl ImageKind {
    pub fn sniff(bytes: &[u8]) -> Option<ImageKind> {
        match bytes {
            [0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a, ..] => Some(ImageKind::Png),
            [0xff, 0xd8, 0xff, ..] => Some(ImageKind::Jpeg),
            [b'G', b'I', b'F', b'8', b'7' | b'9', b'a', ..] => Some(ImageKind::Gif),
            [b'R', b'I', b'F', b'F', _, _, _, _, b'W', b'E', b'B', b'P', ..] => Some(ImageKind::Webp),
            _ => None,
        }
    }

    /// Checks an upload: not empty, not too large, an image by its bytes.
    pub fn check(bytes: &[u8]) -> Result<ImageKind, InvalidImage> {
        if bytes.is_empty() {
            return Err(InvalidImage::Empty);
        }
        if bytes.len() > MAX_BYTES {
            return Err(InvalidImage::TooLarge { max: MAX_BYTES });
        }
        Self::sniff(bytes).ok_or(InvalidImage::NotAnImage)
    }

    pub fn mime(self) -> &'static str {
        match self {
            ImageKind::Png => "image/png",
            ImageKind::Jpeg => "image/jpeg",
            ImageKind::Gif => "image/gif",
            ImageKind::Webp => "image/webp",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ImageKind::Png => "png",
            ImageKind::Jpeg => "jpeg",
            ImageKind::Gif => "gif",
            ImageKind::Webp => "webp",
        }
    }

    pub fn parse(text: &str) -> Option<ImageKind> {
        match text {
            "png" => Some(ImageKind::Png),
            "jpeg" => Some(ImageKind::Jpeg),
            "gif" => Some(ImageKind::Gif),
            "webp" => Some(ImageKind::Webp),
            _ => None,
        }
    }
}

#[cfg(test)]
mod quota_tests {
    use super::*;

    const T: Timestamp = Timestamp(1_000_000_000);

    #[test]
    fn a_burst_waits_for_its_minute_and_a_day_for_its_bytes() {
        let q = Quota { per_minute: 3, per_day: 5, bytes_per_day: 1_000, shop_bytes_per_day: 0 };
        let at = |ms: i64, n: u64| (Timestamp(T.0 - ms), n);
        assert_eq!(q.check(&[at(10_000, 10), at(5_000, 10)], T, 10), Ok(()));
        let burst = [at(50_000, 10), at(20_000, 10), at(1_000, 10)];
        assert_eq!(
            q.check(&burst, T, 10),
            Err(OverQuota { retry_after_ms: 10_000 }),
            "the oldest of the minute leaves in 10 s"
        );
        let day = [at(DAY_MS - 5_000, 10), at(3_600_000, 10), at(7_200_000, 10), at(100_000, 10), at(200_000, 10)];
        assert_eq!(q.check(&day, T, 10), Err(OverQuota { retry_after_ms: 5_000 }), "five a day");
        assert_eq!(
            q.check(&[at(3_600_000, 900)], T, 200),
            Err(OverQuota { retry_after_ms: DAY_MS - 3_600_000 }),
            "bytes"
        );
        assert_eq!(q.check(&[at(DAY_MS + 1, 999)], T, 999), Ok(()), "yesterday's uploads are forgotten");
    }

    #[test]
    fn a_shops_day_is_a_day_in_china() {
        // 2026-11-11 00:00 in China is 2026-11-10 16:00 UTC.
        let midnight = Timestamp(1_794_355_200_000 - 8 * 3_600_000);
        let q = Quota::default();
        let before = q.shop_budget(midnight.plus_millis(-1)).expect("budget");
        let after = q.shop_budget(midnight).expect("budget");
        assert_eq!(after.day, before.day + 1);
        assert_eq!(midnight.plus_millis(-1).next_china_midnight(), midnight);
        assert_eq!(midnight.next_china_midnight(), midnight.plus_days(1));
        assert_eq!(Quota { shop_bytes_per_day: 0, ..q }.shop_budget(midnight), None, "0: no limit");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_are_known_by_their_bytes() {
        assert_eq!(ImageKind::check(b"\x89PNG\r\n\x1a\n...."), Ok(ImageKind::Png));
        assert_eq!(ImageKind::check(b"\xff\xd8\xff\xe0...."), Ok(ImageKind::Jpeg));
        assert_eq!(ImageKind::check(b"GIF89a...."), Ok(ImageKind::Gif));
        assert_eq!(ImageKind::check(b"RIFF\0\0\0\0WEBPVP8 "), Ok(ImageKind::Webp));
        assert_eq!(ImageKind::check(b"<svg onload=alert(1)>"), Err(InvalidImage::NotAnImage), "no SVG: it runs script");
        assert_eq!(ImageKind::check(b"<html>"), Err(InvalidImage::NotAnImage));
        assert_eq!(ImageKind::check(b""), Err(InvalidImage::Empty));
        let big = [b"\x89PNG\r\n\x1a\n".as_slice(), &vec![0; MAX_BYTES]].concat();
        assert_eq!(ImageKind::check(&big), Err(InvalidImage::TooLarge { max: MAX_BYTES }));
        for k in [ImageKind::Png, ImageKind::Jpeg, ImageKind::Gif, ImageKind::Webp] {
            assert_eq!(ImageKind::parse(k.as_str()), Some(k));
        }
    }
}
