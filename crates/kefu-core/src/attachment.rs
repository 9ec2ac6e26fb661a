//! Images in a conversation (a photo of a broken parcel, a screenshot of a
//! payment error): stored once, sent as a message that names them, shown
//! only to the shop's agents and the shopper the conversation is with.

use crate::clock::Timestamp;
use crate::conversation::Sender;
use crate::id::{AttachmentId, CustomerId, ShopId};

/// The largest image accepted: a phone photo, not a video.
pub const MAX_BYTES: usize = 5 * 1024 * 1024;

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
