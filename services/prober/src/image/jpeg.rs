//! JPEG: walks marker segments to the frame header (SOFn) for width and height, reading the EXIF
//! APP1 segment on the way for its orientation. Never touches the entropy-coded data.

use crate::bin::{be16, sub};
use crate::error::{ProbeError, malformed};
use crate::image::{nonzero, tiff};
use crate::probe::Probed;
use crate::reader::Reader;

/// Segments looked at before giving up (real files have a handful).
const MAX_SEGMENTS: u32 = 4096;

pub fn probe(r: &mut Reader<'_>) -> Result<Probed, ProbeError> {
    let mut pos: u64 = 2;
    let mut orientation = None;
    for _ in 0..MAX_SEGMENTS {
        r.seek_to(pos);
        if r.u8()? != 0xFF {
            return Err(malformed("bad marker"));
        }
        let mut marker = r.u8()?;
        let mut fill = 0u32;
        while marker == 0xFF {
            fill += 1;
            if fill > 64 * 1024 {
                return Err(malformed("endless marker fill"));
            }
            marker = r.u8()?;
        }
        match marker {
            0x01 | 0xD0..=0xD8 => {
                pos = r.pos();
                continue;
            }
            0xD9 | 0xDA => return Err(malformed("no frame header")),
            _ => {}
        }
        let len = u64::from(r.be_u16()?);
        if len < 2 {
            return Err(malformed("bad segment length"));
        }
        let body = r.pos();
        let is_sof = matches!(marker, 0xC0..=0xCF) && !matches!(marker, 0xC4 | 0xC8 | 0xCC);
        if is_sof {
            let frame = r.bytes_at(body, 5)?;
            let (Some(height), Some(width)) = (be16(&frame, 1), be16(&frame, 3)) else {
                return Err(malformed("truncated frame header"));
            };
            let (width, height) = nonzero(u32::from(width), u32::from(height))?;
            return Ok(
                Probed::still("jpeg", width, height).rotated(tiff::quarter_turn(orientation))
            );
        }
        if marker == 0xE1 && orientation.is_none() {
            let data = r.bytes_at(body, len - 2)?;
            if sub(&data, 0, 6) == Some(b"Exif\0\0") {
                orientation = data.get(6..).and_then(tiff::exif_orientation);
            }
        }
        pos = body.saturating_add(len - 2);
    }
    Err(malformed("too many segments"))
}
