//! Still and animated images: one header parser per format, each reading only the header (and the
//! EXIF orientation or animation frame headers where the displayed size or duration needs them).
//! No pixel is ever decoded, so a 100-megapixel JPEG costs one 64 KiB read.

pub mod bmp;
pub mod gif;
pub mod heif;
pub mod jpeg;
pub mod png;
pub mod tiff;
pub mod webp;

use crate::error::{ProbeError, malformed};

/// Rejects a zero dimension, which no displayable image has.
pub(crate) fn nonzero(width: u32, height: u32) -> Result<(u32, u32), ProbeError> {
    if width == 0 || height == 0 {
        return Err(malformed("zero width or height"));
    }
    Ok((width, height))
}
