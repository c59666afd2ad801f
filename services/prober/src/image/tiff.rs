//! TIFF: the first IFD's width, height and orientation; and the EXIF orientation reader (an EXIF
//! block is a TIFF structure) shared by JPEG, PNG and WebP.

use crate::bin::{be16, be32, le16, le32, sub};
use crate::error::{ProbeError, malformed, unsupported};
use crate::image::nonzero;
use crate::probe::Probed;
use crate::reader::Reader;

const TAG_WIDTH: u16 = 0x0100;
const TAG_HEIGHT: u16 = 0x0101;
const TAG_ORIENTATION: u16 = 0x0112;
/// More entries than any real IFD0 has; bounds the read.
const MAX_ENTRIES: u64 = 1024;

#[derive(Debug, Default)]
struct Tags {
    width: Option<u32>,
    height: Option<u32>,
    orientation: Option<u16>,
}

/// `true` for EXIF orientations 5-8, whose display turns the image a quarter.
pub(crate) fn quarter_turn(orientation: Option<u16>) -> bool {
    matches!(orientation, Some(5..=8))
}

pub fn probe(r: &mut Reader<'_>) -> Result<Probed, ProbeError> {
    let head = r.bytes_at(0, 8)?;
    let le = head.starts_with(b"II");
    let magic = if le { le16(&head, 2) } else { be16(&head, 2) };
    if magic == Some(43) {
        return Err(unsupported("BigTIFF"));
    }
    let ifd = u64::from(u32_in(&head, 4, le).ok_or_else(|| malformed("truncated header"))?);
    let count = u64::from(r.bytes_at(ifd, 2).map(|b| u16_in(&b, 0, le).unwrap_or(0))?);
    if count == 0 {
        return Err(malformed("empty IFD"));
    }
    let entries = r.bytes_at(ifd.saturating_add(2), count.min(MAX_ENTRIES) * 12)?;
    let tags = parse_entries(&entries, le);
    let (Some(width), Some(height)) = (tags.width, tags.height) else {
        return Err(malformed("no ImageWidth/ImageLength"));
    };
    let (width, height) = nonzero(width, height)?;
    Ok(Probed::still("tiff", width, height).rotated(quarter_turn(tags.orientation)))
}

/// The orientation tag (0x0112) of IFD0 in an in-memory TIFF block (an EXIF payload).
pub(crate) fn exif_orientation(tiff: &[u8]) -> Option<u16> {
    let le = match sub(tiff, 0, 2)? {
        b"II" => true,
        b"MM" => false,
        _ => return None,
    };
    let ifd = usize::try_from(u32_in(tiff, 4, le)?).ok()?;
    let count = usize::from(u16_in(tiff, ifd, le)?).min(MAX_ENTRIES as usize);
    let start = ifd.checked_add(2)?;
    let avail = tiff.len().saturating_sub(start) / 12;
    let entries = sub(tiff, start, count.min(avail) * 12)?;
    parse_entries(entries, le).orientation
}

fn parse_entries(entries: &[u8], le: bool) -> Tags {
    let mut tags = Tags::default();
    for entry in entries.chunks_exact(12) {
        let (Some(tag), Some(kind)) = (u16_in(entry, 0, le), u16_in(entry, 2, le)) else {
            continue;
        };
        // SHORT (3) and LONG (4) values of count 1 sit inline in the entry's last 4 bytes.
        let value = match kind {
            3 => u16_in(entry, 8, le).map(u32::from),
            4 => u32_in(entry, 8, le),
            _ => None,
        };
        match tag {
            TAG_WIDTH => tags.width = value,
            TAG_HEIGHT => tags.height = value,
            TAG_ORIENTATION => tags.orientation = value.and_then(|v| u16::try_from(v).ok()),
            _ => {}
        }
    }
    tags
}

fn u16_in(data: &[u8], at: usize, le: bool) -> Option<u16> {
    if le { le16(data, at) } else { be16(data, at) }
}

fn u32_in(data: &[u8], at: usize, le: bool) -> Option<u32> {
    if le { le32(data, at) } else { be32(data, at) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orientation_from_exif_block() {
        // II, 42, IFD at 8, one entry: 0x0112 SHORT 1 = 6
        let mut t = b"II*\0\x08\0\0\0\x01\0".to_vec();
        t.extend_from_slice(&[0x12, 0x01, 3, 0, 1, 0, 0, 0, 6, 0, 0, 0]);
        assert_eq!(exif_orientation(&t), Some(6));
        assert_eq!(exif_orientation(&t[..12]), None);
        assert_eq!(exif_orientation(b"MM\0*\xff\xff\xff\xff"), None);
    }
}
