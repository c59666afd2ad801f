//! TIFF: the first IFD's width, height and orientation, and its completeness (every strip or tile
//! its offsets and byte counts promise fits in the object); and the EXIF orientation reader (an
//! EXIF block is a TIFF structure) shared by JPEG, PNG and WebP.

use crate::bin::{be16, be32, le16, le32, sub};
use crate::error::{ProbeError, malformed, truncated, unsupported};
use crate::image::nonzero;
use crate::probe::Probed;
use crate::reader::Reader;

const TAG_WIDTH: u16 = 0x0100;
const TAG_HEIGHT: u16 = 0x0101;
const TAG_ORIENTATION: u16 = 0x0112;
const TAG_STRIP_OFFSETS: u16 = 0x0111;
const TAG_STRIP_BYTE_COUNTS: u16 = 0x0117;
const TAG_TILE_OFFSETS: u16 = 0x0144;
const TAG_TILE_BYTE_COUNTS: u16 = 0x0145;
/// More entries than any real IFD0 has; bounds the read.
const MAX_ENTRIES: u64 = 1024;

#[derive(Debug, Default)]
struct Tags {
    width: Option<u32>,
    height: Option<u32>,
    orientation: Option<u16>,
    strip_offsets: Option<Array>,
    strip_byte_counts: Option<Array>,
    tile_offsets: Option<Array>,
    tile_byte_counts: Option<Array>,
}

/// An entry's array of SHORT or LONG values: inline in the entry, or at an offset in the file.
#[derive(Debug, Clone, Copy)]
struct Array {
    kind: u16,
    count: u64,
    /// The entry's value field: the values themselves when they fit in 4 bytes, else an offset.
    field: [u8; 4],
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
    let ifd = u64::from(
        u32_in(&head, 4, le).ok_or_else(|| truncated("the header does not fit in the object"))?,
    );
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
    let (offsets, counts, what) = match (tags.strip_offsets, tags.tile_offsets) {
        (Some(offsets), _) => (offsets, tags.strip_byte_counts, "strip"),
        (None, Some(offsets)) => (offsets, tags.tile_byte_counts, "tile"),
        (None, None) => return Err(malformed("no StripOffsets or TileOffsets")),
    };
    let counts = counts.ok_or_else(|| malformed(format!("no {what} byte counts")))?;
    let end = image_data_end(r, offsets, counts, le)?;
    r.ensure_within(&format!("{what} data"), end)?;
    // The IFD's own end (entries, then the next IFD's offset) and the values it keeps out of line
    // (resolutions, bits per sample, colour maps), which writers often put last.
    r.ensure_within("IFD", ifd.saturating_add(2 + count * 12 + 4))?;
    r.ensure_within("IFD values", values_end(&entries, le))?;
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

/// The end of the image data: the largest offset plus byte count over every strip (or tile).
fn image_data_end(
    r: &mut Reader<'_>,
    offsets: Array,
    counts: Array,
    le: bool,
) -> Result<u64, ProbeError> {
    if offsets.count != counts.count || offsets.count == 0 {
        return Err(malformed("offsets and byte counts do not match"));
    }
    let offsets = values(r, offsets, le)?;
    let counts = values(r, counts, le)?;
    Ok(offsets
        .iter()
        .zip(&counts)
        .map(|(offset, count)| offset.saturating_add(*count))
        .max()
        .unwrap_or(0))
}

/// The end of the IFD entries' out-of-line values: the largest offset plus size over the entries
/// whose values do not fit in their 4-byte field (types of unknown size are skipped).
fn values_end(entries: &[u8], le: bool) -> u64 {
    entries
        .chunks_exact(12)
        .filter_map(|entry| {
            let size: u64 = match u16_in(entry, 2, le)? {
                1 | 2 | 6 | 7 => 1,
                3 | 8 => 2,
                4 | 9 | 11 | 13 => 4,
                5 | 10 | 12 => 8,
                _ => return None,
            };
            let bytes = u64::from(u32_in(entry, 4, le)?).saturating_mul(size);
            let offset = u64::from(u32_in(entry, 8, le)?);
            (bytes > 4).then(|| offset.saturating_add(bytes))
        })
        .max()
        .unwrap_or(0)
}

/// The values of a SHORT or LONG array, read from the file when they do not fit in the entry.
fn values(r: &mut Reader<'_>, array: Array, le: bool) -> Result<Vec<u64>, ProbeError> {
    let width: u64 = match array.kind {
        3 => 2,
        4 => 4,
        _ => return Err(malformed("strip or tile array of an unexpected type")),
    };
    let bytes = array.count.saturating_mul(width);
    let data = if bytes <= 4 {
        array.field.to_vec()
    } else {
        let at = u64::from(u32_in(&array.field, 0, le).unwrap_or(0));
        r.bytes_at(at, bytes)?
    };
    Ok(data
        .chunks_exact(usize::try_from(width).unwrap_or(4))
        .take(usize::try_from(array.count).unwrap_or(usize::MAX))
        .map(|v| {
            if width == 2 {
                u64::from(u16_in(v, 0, le).unwrap_or(0))
            } else {
                u64::from(u32_in(v, 0, le).unwrap_or(0))
            }
        })
        .collect())
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
        let array = || {
            Some(Array {
                kind,
                count: u64::from(u32_in(entry, 4, le)?),
                field: entry.get(8..12)?.try_into().ok()?,
            })
        };
        match tag {
            TAG_STRIP_OFFSETS => tags.strip_offsets = array(),
            TAG_STRIP_BYTE_COUNTS => tags.strip_byte_counts = array(),
            TAG_TILE_OFFSETS => tags.tile_offsets = array(),
            TAG_TILE_BYTE_COUNTS => tags.tile_byte_counts = array(),
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
