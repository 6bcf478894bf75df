//! What OSS computes about an uploaded object while it streams, besides its
//! digests ([`crate::hashing`]): for images, the width, height and format
//! (`${imageInfo.*}`).

use postpolicy::callback::ImageInfo;

/// How much of the file start is kept to recognise an image.
const SNIFF_BYTES: usize = 64 * 1024;

/// The start of a file, kept for [`image_info`].
#[derive(Debug, Default)]
pub(crate) struct Sniffer {
    head: Vec<u8>,
}

impl Sniffer {
    pub(crate) fn update(&mut self, chunk: &[u8]) {
        let room = SNIFF_BYTES.saturating_sub(self.head.len());
        self.head
            .extend_from_slice(chunk.get(..room.min(chunk.len())).unwrap_or_default());
    }

    pub(crate) fn image_info(&self) -> Option<ImageInfo> {
        image_info(&self.head)
    }
}

fn be16(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from(u16::from_be_bytes([
        *b.get(at)?,
        *b.get(at + 1)?,
    ])))
}

fn le16(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from(u16::from_le_bytes([
        *b.get(at)?,
        *b.get(at + 1)?,
    ])))
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn le24(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes([
        *b.get(at)?,
        *b.get(at + 1)?,
        *b.get(at + 2)?,
        0,
    ]))
}

fn info(width: u32, height: u32, format: &str) -> Option<ImageInfo> {
    Some(ImageInfo {
        width,
        height,
        format: format.to_owned(),
    })
}

/// Width, height and format of a PNG, JPEG, GIF, BMP or WebP from its first
/// bytes; `None` for anything else.
pub(crate) fn image_info(b: &[u8]) -> Option<ImageInfo> {
    if b.starts_with(b"\x89PNG\r\n\x1a\n") && b.get(12..16) == Some(b"IHDR") {
        return info(be32(b, 16)?, be32(b, 20)?, "png");
    }
    if b.starts_with(b"GIF87a") || b.starts_with(b"GIF89a") {
        return info(le16(b, 6)?, le16(b, 8)?, "gif");
    }
    if b.starts_with(b"BM") && b.len() >= 26 {
        let width = u32::from_le_bytes(b.get(18..22)?.try_into().ok()?);
        let height = i32::from_le_bytes(b.get(22..26)?.try_into().ok()?).unsigned_abs();
        return info(width, height, "bmp");
    }
    if b.starts_with(b"RIFF") && b.get(8..12) == Some(b"WEBP") {
        return match b.get(12..16)? {
            b"VP8X" => info(le24(b, 24)? + 1, le24(b, 27)? + 1, "webp"),
            b"VP8 " => info(le16(b, 26)? & 0x3fff, le16(b, 28)? & 0x3fff, "webp"),
            b"VP8L" => {
                let bits = u32::from_le_bytes(b.get(21..25)?.try_into().ok()?);
                info((bits & 0x3fff) + 1, ((bits >> 14) & 0x3fff) + 1, "webp")
            }
            _ => None,
        };
    }
    if b.starts_with(&[0xff, 0xd8]) {
        // Walk the JPEG segments to the first start-of-frame marker.
        let mut at = 2;
        while at + 4 <= b.len() {
            if *b.get(at)? != 0xff {
                return None;
            }
            let marker = *b.get(at + 1)?;
            if marker == 0xff {
                at += 1;
                continue;
            }
            let length = be16(b, at + 2)? as usize;
            let is_sof = matches!(marker, 0xc0..=0xcf) && !matches!(marker, 0xc4 | 0xc8 | 0xcc);
            if is_sof {
                return info(be16(b, at + 7)?, be16(b, at + 5)?, "jpg");
            }
            at += 2 + length;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_images() {
        let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
        png.extend_from_slice(&640u32.to_be_bytes());
        png.extend_from_slice(&480u32.to_be_bytes());
        assert_eq!(image_info(&png), info(640, 480, "png"));

        let gif = b"GIF89a\x20\x03\x58\x02rest";
        assert_eq!(image_info(gif), info(800, 600, "gif"));

        // SOI, APP0 (16 bytes), SOF0 with height 300, width 400.
        let mut jpg = vec![0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10];
        jpg.extend_from_slice(&[0; 14]);
        jpg.extend_from_slice(&[0xff, 0xc0, 0x00, 0x11, 0x08, 0x01, 0x2c, 0x01, 0x90, 0x03]);
        assert_eq!(image_info(&jpg), info(400, 300, "jpg"));

        let mut webp = b"RIFF\0\0\0\0WEBPVP8X\x0a\0\0\0\0\0\0\0".to_vec();
        webp.extend_from_slice(&[0x3f, 0x01, 0x00, 0xef, 0x00, 0x00]);
        assert_eq!(image_info(&webp), info(320, 240, "webp"));

        assert_eq!(image_info(b"plain text"), None);
        assert_eq!(image_info(&[0xff, 0xd8, 0xff]), None);
    }
}
