//! PNG: IHDR's width and height, turned by an `eXIf` chunk's orientation when one precedes IDAT.

use crate::bin::{be32, sub};
use crate::error::{ProbeError, malformed};
use crate::image::{nonzero, tiff};
use crate::probe::Probed;
use crate::reader::Reader;

/// Chunks looked at before giving up on finding `eXIf`.
const MAX_CHUNKS: u32 = 256;
const MAX_EXIF: u64 = 64 * 1024;

pub fn probe(r: &mut Reader<'_>) -> Result<Probed, ProbeError> {
    let ihdr = r.bytes_at(8, 25).map_err(|_| malformed("truncated IHDR"))?;
    if sub(&ihdr, 4, 4) != Some(b"IHDR") {
        return Err(malformed("no IHDR"));
    }
    let (Some(len), Some(width), Some(height)) = (be32(&ihdr, 0), be32(&ihdr, 8), be32(&ihdr, 12))
    else {
        return Err(malformed("truncated IHDR"));
    };
    if len != 13 {
        return Err(malformed("bad IHDR length"));
    }
    let (width, height) = nonzero(width, height)?;
    let orientation = exif_orientation(r).unwrap_or(None);
    Ok(Probed::still("png", width, height).rotated(tiff::quarter_turn(orientation)))
}

/// Walks chunk headers up to IDAT looking for `eXIf`; errors past IHDR are not fatal.
fn exif_orientation(r: &mut Reader<'_>) -> Result<Option<u16>, ProbeError> {
    let mut pos: u64 = 33;
    for _ in 0..MAX_CHUNKS {
        let head = r.bytes_at(pos, 8)?;
        let len = u64::from(be32(&head, 0).unwrap_or(0));
        match sub(&head, 4, 4) {
            Some(b"IDAT" | b"IEND") | None => return Ok(None),
            Some(b"eXIf") => {
                let data = r.bytes_at(pos + 8, len.min(MAX_EXIF))?;
                let data = data.strip_prefix(b"Exif\0\0").unwrap_or(&data);
                return Ok(tiff::exif_orientation(data));
            }
            Some(_) => {}
        }
        pos = pos.saturating_add(12).saturating_add(len);
    }
    Ok(None)
}
