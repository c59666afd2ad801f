//! WebP: the size from the first chunk (VP8, VP8L or VP8X canvas); for an extended file, walks the
//! chunk headers to sum ANMF frame durations and read an EXIF chunk's orientation.

use crate::bin::{le16, le24, le32, sub};
use crate::error::{ProbeError, malformed};
use crate::image::{nonzero, tiff};
use crate::probe::Probed;
use crate::reader::Reader;

const MAX_EXIF: u64 = 64 * 1024;

pub fn probe(r: &mut Reader<'_>) -> Result<Probed, ProbeError> {
    let head = r
        .bytes_at(0, 30)
        .map_err(|_| malformed("truncated header"))?;
    let riff_end = u64::from(le32(&head, 4).unwrap_or(0)).saturating_add(8);
    let end = riff_end.min(r.len());
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
            let first_len = u64::from(le32(&head, 16).unwrap_or(0));
            let after = 20u64
                .saturating_add(first_len)
                .saturating_add(first_len & 1);
            let ext = if flags & 0x0A != 0 {
                extended(r, after, end)?
            } else {
                Extended::default()
            };
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
    frames: u64,
    millis: u64,
    orientation: Option<u16>,
}

/// Walks chunk headers after VP8X, skipping their payloads.
fn extended(r: &mut Reader<'_>, mut pos: u64, end: u64) -> Result<Extended, ProbeError> {
    let mut ext = Extended::default();
    while pos.saturating_add(8) <= end {
        r.tick()?;
        let head = r.bytes_at(pos, 8)?;
        let len = u64::from(le32(&head, 4).unwrap_or(0));
        match sub(&head, 0, 4) {
            Some(b"ANMF") => {
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
