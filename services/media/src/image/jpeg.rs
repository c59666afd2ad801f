//! JPEG: walks marker segments to the frame header (SOFn) for width and height, reading the EXIF
//! APP1 segment on the way for its orientation, and on to the first scan (SOS); the completeness
//! check then looks for the EOI marker in the tail. Never reads the entropy-coded data between.

use crate::bin::{be16, sub};
use crate::error::{ProbeError, malformed, truncated};
use crate::image::{EndMarker, find_end_marker, nonzero, tiff};
use crate::probe::Probed;
use crate::reader::Reader;

/// Segments looked at before giving up (real files have a handful).
const MAX_SEGMENTS: u32 = 4096;
const EOI: [u8; 2] = [0xFF, 0xD9];

pub fn probe(r: &mut Reader<'_>) -> Result<Probed, ProbeError> {
    let mut pos: u64 = 2;
    let mut orientation = None;
    let mut size = None;
    for _ in 0..MAX_SEGMENTS {
        r.tick()?;
        if pos >= r.len() {
            return Err(truncated(match size {
                None => "no frame header before the end of the object",
                Some(_) => "no scan (SOS) before the end of the object",
            }));
        }
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
            0xD9 => return Err(malformed("no scan before EOI")),
            0xDA if size.is_none() => return Err(malformed("no frame header")),
            _ => {}
        }
        let len = u64::from(r.be_u16()?);
        if len < 2 {
            return Err(malformed("bad segment length"));
        }
        let body = r.pos();
        let end = body.saturating_add(len - 2);
        r.ensure_within("marker segment", end)?;
        if marker == 0xDA {
            let (width, height) = size.unwrap_or_default();
            ensure_eoi(r, end)?;
            return Ok(
                Probed::still("jpeg", width, height).rotated(tiff::quarter_turn(orientation))
            );
        }
        let is_sof = matches!(marker, 0xC0..=0xCF) && !matches!(marker, 0xC4 | 0xC8 | 0xCC);
        if is_sof && size.is_none() {
            let frame = r.bytes_at(body, 5)?;
            let (Some(height), Some(width)) = (be16(&frame, 1), be16(&frame, 3)) else {
                return Err(malformed("truncated frame header"));
            };
            size = Some(nonzero(u32::from(width), u32::from(height))?);
        }
        if marker == 0xE1 && orientation.is_none() && size.is_none() {
            let data = r.bytes_at(body, len - 2)?;
            if sub(&data, 0, 6) == Some(b"Exif\0\0") {
                orientation = data.get(6..).and_then(tiff::exif_orientation);
            }
        }
        pos = end;
    }
    Err(malformed("too many segments"))
}

/// The scan data starting at `scan` must be followed by an EOI marker. Entropy-coded data never
/// holds `FF D9` (a data `FF` is always stuffed with `00`), so any `FF D9` after the scan start is
/// an end of image; searching only after it keeps an EXIF thumbnail's EOI from counting.
///
/// Without an EOI in the tail, the tail is either the rest of a cut image or something appended
/// after the image (a motion photo's video, a multi-megabyte trailer): only JPEG data never has an
/// `FF` followed by a byte no marker or stuffing uses, so the first is truncation and the second
/// is let through.
fn ensure_eoi(r: &mut Reader<'_>, scan: u64) -> Result<(), ProbeError> {
    let EndMarker::Missing { start, bytes } = find_end_marker(r, scan, &EOI)? else {
        return Ok(());
    };
    let foreign = bytes
        .windows(2)
        .any(|w| w[0] == 0xFF && !could_follow_ff(w[1]));
    if foreign {
        return Ok(());
    }
    Err(truncated(format!(
        "no end of image (EOI) in the scan data from byte {} to the object's end at byte {}",
        start.max(scan),
        r.len()
    )))
}

/// A byte that may follow `FF` in a JPEG stream: stuffing (`00`), fill (`FF`), a restart marker,
/// or the markers between the scans of a progressive image (tables, SOF, SOS, APPn, COM).
fn could_follow_ff(byte: u8) -> bool {
    matches!(byte, 0x00 | 0xFF | 0xC0..=0xCF | 0xD0..=0xD7 | 0xDA..=0xDF | 0xE0..=0xEF | 0xFE)
}
