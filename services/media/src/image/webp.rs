//! WebP: the size from the first chunk (VP8, VP8L or VP8X canvas); for an extended file, walks the
//! chunk headers to sum ANMF frame durations and read an EXIF chunk's orientation. Complete when
//! the RIFF size fits in the object (bytes after it are tolerated) and so does every chunk walked.

use crate::bin::{le16, le24, le32, sub};
use crate::error::{ProbeError, malformed, truncated};
use crate::image::{nonzero, tiff};
use crate::probe::Probed;
use crate::reader::Reader;

const MAX_EXIF: u64 = 64 * 1024;

pub fn probe(r: &mut Reader<'_>) -> Result<Probed, ProbeError> {
    let head = r
        .bytes_at(0, 30)
        .map_err(|_| truncated("the header does not fit in the object"))?;
    let riff_end = u64::from(le32(&head, 4).unwrap_or(0)).saturating_add(8);
    r.ensure_within("RIFF data", riff_end)?;
    let end = riff_end;
    // The first chunk (the bitstream of a still image, VP8X of an extended one) must fit too.
    let first_len = u64::from(le32(&head, 16).unwrap_or(0));
    let first_end = 20u64.saturating_add(first_len);
    if first_end > end {
        return Err(truncated(format!(
            "first chunk ends at byte {first_end} but the RIFF data ends at byte {end}"
        )));
    }
    let fourcc = sub(&head, 12, 4).unwrap_or_default();
    let data = head.get(20..).unwrap_or_default();
    let (width, height) = match fourcc {
        b"VP8 " => {
            if sub(data, 3, 3) != Some(&[0x9D, 0x01, 0x2A]) {
                return Err(malformed("bad VP8 frame header"));
            }
            let w = le16(data, 6).unwrap_or(0) & 0x3FFF;
            let h = le16(data, 8).unwrap_or(0) & 0x3FFF;
            (u32::from(w), u32::from(h))
        }
        b"VP8L" => {
            if data.first() != Some(&0x2F) {
                return Err(malformed("bad VP8L signature"));
            }
            let bits = le32(data, 1).unwrap_or(0);
            ((bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1)
        }
        b"VP8X" => {
            let flags = data.first().copied().unwrap_or(0);
            let w = le24(data, 4).unwrap_or(0).saturating_add(1);
            let h = le24(data, 7).unwrap_or(0).saturating_add(1);
            let (width, height) = nonzero(w, h)?;
            let after = 20u64
                .saturating_add(first_len)
                .saturating_add(first_len & 1);
            let ext = extended(r, after, end)?;
            if ext.images == 0 {
                return Err(truncated("no image chunk (VP8, VP8L or ANMF) after VP8X"));
            }
            let duration =
                (flags & 0x02 != 0 && ext.frames > 1).then(|| ext.millis as f64 / 1000.0);
            return Ok(Probed {
                duration,
                ..Probed::still("webp", width, height)
            }
            .rotated(tiff::quarter_turn(ext.orientation)));
        }
        _ => return Err(malformed("unknown first chunk")),
    };
    let (width, height) = nonzero(width, height)?;
    Ok(Probed::still("webp", width, height))
}

#[derive(Default)]
struct Extended {
    /// Chunks holding image data: VP8, VP8L (a still) or ANMF (a frame).
    images: u64,
    frames: u64,
    millis: u64,
    orientation: Option<u16>,
}

/// Walks chunk headers after VP8X, skipping their payloads; each must fit in the RIFF data.
fn extended(r: &mut Reader<'_>, mut pos: u64, end: u64) -> Result<Extended, ProbeError> {
    let mut ext = Extended::default();
    while pos.saturating_add(8) <= end {
        r.tick()?;
        let head = r.bytes_at(pos, 8)?;
        let len = u64::from(le32(&head, 4).unwrap_or(0));
        let chunk_end = pos.saturating_add(8).saturating_add(len);
        if chunk_end > end {
            return Err(truncated(format!(
                "chunk '{}' ends at byte {chunk_end} but the RIFF data ends at byte {end}",
                String::from_utf8_lossy(sub(&head, 0, 4).unwrap_or_default())
            )));
        }
        match sub(&head, 0, 4) {
            Some(b"VP8 " | b"VP8L") => ext.images = ext.images.saturating_add(1),
            Some(b"ANMF") => {
                ext.images = ext.images.saturating_add(1);
                let frame = r.bytes_at(pos + 8, 16)?;
                ext.frames = ext.frames.saturating_add(1);
                ext.millis = ext
                    .millis
                    .saturating_add(u64::from(le24(&frame, 12).unwrap_or(0)));
            }
            Some(b"EXIF") => {
                let data = r.bytes_at(pos + 8, len.min(MAX_EXIF))?;
                let data = data.strip_prefix(b"Exif\0\0").unwrap_or(&data);
                ext.orientation = tiff::exif_orientation(data);
            }
            _ => {}
        }
        pos = pos
            .saturating_add(8)
            .saturating_add(len)
            .saturating_add(len & 1);
    }
    Ok(ext)
}
