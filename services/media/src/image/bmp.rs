//! BMP: width and height from the DIB header (12-byte core header or the 40+ byte info headers);
//! complete when the pixel array (its offset from the file header, its size from the DIB header
//! or computed from the dimensions and bit depth) fits in the object.

use crate::bin::{le16, le32};
use crate::error::{ProbeError, malformed, truncated};
use crate::image::nonzero;
use crate::probe::Probed;
use crate::reader::Reader;

/// Compression values whose pixel array size follows from width, height and bit depth.
const BI_RGB: u32 = 0;
const BI_BITFIELDS: u32 = 3;
const BI_ALPHABITFIELDS: u32 = 6;

pub fn probe(r: &mut Reader<'_>) -> Result<Probed, ProbeError> {
    let head = r
        .bytes_at(0, 26)
        .map_err(|_| truncated("the header does not fit in the object"))?;
    let dib = le32(&head, 14).unwrap_or(0);
    let (width, height, bits, compression, image_size) = if dib == 12 {
        let core = r.bytes_at(14, 12)?;
        (
            u32::from(le16(&head, 18).unwrap_or(0)),
            u32::from(le16(&head, 20).unwrap_or(0)),
            le16(&core, 10).unwrap_or(0),
            BI_RGB,
            0,
        )
    } else if dib >= 40 {
        let info = r
            .bytes_at(14, 40)
            .map_err(|_| truncated("the DIB header does not fit in the object"))?;
        let width = le32(&head, 18).map(|w| w as i32).unwrap_or(0);
        // A negative height marks a top-down bitmap.
        let height = le32(&head, 22).map(|h| h as i32).unwrap_or(0);
        if width < 0 {
            return Err(malformed("negative width"));
        }
        (
            width.unsigned_abs(),
            height.unsigned_abs(),
            le16(&info, 14).unwrap_or(0),
            le32(&info, 16).unwrap_or(0),
            le32(&info, 20).unwrap_or(0),
        )
    } else {
        return Err(malformed("unknown DIB header"));
    };
    let (width, height) = nonzero(width, height)?;
    let offset = u64::from(le32(&head, 10).unwrap_or(0));
    let size = pixel_array_size(width, height, bits, compression, image_size);
    r.ensure_within("pixel array", offset.saturating_add(size))?;
    Ok(Probed::still("bmp", width, height))
}

/// The pixel array's size: rows padded to 4 bytes for uncompressed bitmaps (whose header may say
/// 0), the header's size for compressed ones (RLE, embedded JPEG/PNG), where 1 byte is all that
/// can be required when it says nothing.
fn pixel_array_size(width: u32, height: u32, bits: u16, compression: u32, image_size: u32) -> u64 {
    if matches!(compression, BI_RGB | BI_BITFIELDS | BI_ALPHABITFIELDS) && bits > 0 {
        let row_bits = u64::from(width).saturating_mul(u64::from(bits));
        let row = row_bits.saturating_add(31) / 32 * 4;
        return row.saturating_mul(u64::from(height));
    }
    u64::from(image_size).max(1)
}
