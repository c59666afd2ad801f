//! PNG: IHDR's width and height, turned by an `eXIf` chunk's orientation when one precedes IDAT;
//! and the completeness check: the first IDAT chunk and an IEND chunk at the end fit in the object.

use crate::bin::{be32, sub};
use crate::error::{ProbeError, malformed, truncated};
use crate::image::{EndMarker, find_end_marker, nonzero, tiff};
use crate::probe::Probed;
use crate::reader::Reader;

/// Chunks looked at before the first IDAT (real files have a handful of ancillary chunks).
const MAX_CHUNKS: u32 = 4096;
const MAX_EXIF: u64 = 64 * 1024;
/// The IEND chunk: zero length, type, and its fixed CRC.
const IEND: [u8; 12] = [0, 0, 0, 0, b'I', b'E', b'N', b'D', 0xAE, 0x42, 0x60, 0x82];

pub fn probe(r: &mut Reader<'_>) -> Result<Probed, ProbeError> {
    let ihdr = r
        .bytes_at(8, 25)
        .map_err(|_| truncated("IHDR does not fit in the object"))?;
    if sub(&ihdr, 4, 4) != Some(b"IHDR") {
        return Err(malformed("no IHDR"));
    }
    let (Some(len), Some(width), Some(height)) = (be32(&ihdr, 0), be32(&ihdr, 8), be32(&ihdr, 12))
    else {
        return Err(truncated("IHDR does not fit in the object"));
    };
    if len != 13 {
        return Err(malformed("bad IHDR length"));
    }
    let (width, height) = nonzero(width, height)?;
    let (orientation, idat_end) = chunks_to_idat(r)?;
    // IEND is found by searching the tail, so the IDAT chunks in between are never read.
    if let EndMarker::Missing { start, .. } = find_end_marker(r, idat_end, &IEND)? {
        return Err(truncated(format!(
            "no IEND chunk in the object's last {} bytes",
            r.len() - start
        )));
    }
    Ok(Probed::still("png", width, height).rotated(tiff::quarter_turn(orientation)))
}

/// Walks chunk headers up to the first IDAT, which must fit in the object; returns the `eXIf`
/// orientation seen on the way (an unreadable EXIF payload is ignored) and where that IDAT ends.
fn chunks_to_idat(r: &mut Reader<'_>) -> Result<(Option<u16>, u64), ProbeError> {
    let mut pos: u64 = 33;
    let mut orientation = None;
    for _ in 0..MAX_CHUNKS {
        r.tick()?;
        if pos.saturating_add(8) > r.len() {
            return Err(truncated(format!(
                "no IDAT chunk in the object's {} bytes",
                r.len()
            )));
        }
        let head = r.bytes_at(pos, 8)?;
        let len = u64::from(be32(&head, 0).unwrap_or(0));
        // Length, type, data, CRC.
        let end = pos.saturating_add(12).saturating_add(len);
        match sub(&head, 4, 4) {
            Some(b"IDAT") => {
                r.ensure_within("IDAT chunk", end)?;
                return Ok((orientation, end));
            }
            Some(b"IEND") => return Err(malformed("no IDAT chunk before IEND")),
            Some(b"eXIf") if orientation.is_none() => {
                if let Ok(data) = r.bytes_at(pos + 8, len.min(MAX_EXIF)) {
                    let data = data.strip_prefix(b"Exif\0\0").unwrap_or(&data);
                    orientation = tiff::exif_orientation(data);
                }
            }
            _ => {}
        }
        pos = end;
    }
    Err(malformed("too many chunks before IDAT"))
}
