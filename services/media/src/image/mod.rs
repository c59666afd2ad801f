//! Still and animated images: one header parser per format, each reading only the header (and the
//! EXIF orientation or animation frame headers where the displayed size or duration needs them).
//! No pixel is ever decoded, so a 100-megapixel JPEG costs two 64 KiB reads: its headers, and
//! its tail, where the completeness check finds the end marker ([`find_end_marker`]).

pub mod bmp;
pub mod gif;
pub mod heif;
pub mod jpeg;
pub mod png;
pub mod tiff;
pub mod webp;

use crate::error::{ProbeError, malformed};
use crate::reader::Reader;

/// Tail windows searched for an end marker (PNG's IEND, JPEG's EOI): a valid file has it in the
/// first; the second tolerates up to a MiB of bytes a tool left after it.
const END_MARKER_WINDOWS: [u64; 2] = [64 * 1024, 1024 * 1024];

/// Where the end marker search stopped: found, or not in the tail (`start`, `bytes`) searched.
pub(crate) enum EndMarker {
    Found,
    Missing { start: u64, bytes: Vec<u8> },
}

/// Searches the object's tail, from `from` (where the media data begins) on, for `marker`.
pub(crate) fn find_end_marker(
    r: &mut Reader<'_>,
    from: u64,
    marker: &[u8],
) -> Result<EndMarker, ProbeError> {
    let mut missing = EndMarker::Missing {
        start: r.len(),
        bytes: Vec::new(),
    };
    for window in END_MARKER_WINDOWS {
        let (start, bytes) = r.tail(from, window)?;
        if bytes.windows(marker.len()).any(|w| w == marker) {
            return Ok(EndMarker::Found);
        }
        let searched_all = start <= from;
        missing = EndMarker::Missing { start, bytes };
        if searched_all {
            break;
        }
    }
    Ok(missing)
}

/// Rejects a zero dimension, which no displayable image has.
pub(crate) fn nonzero(width: u32, height: u32) -> Result<(u32, u32), ProbeError> {
    if width == 0 || height == 0 {
        return Err(malformed("zero width or height"));
    }
    Ok((width, height))
}
