//! BMP: width and height from the DIB header (12-byte core header or the 40+ byte info headers).

use crate::bin::{le16, le32};
use crate::error::{ProbeError, malformed};
use crate::image::nonzero;
use crate::probe::Probed;
use crate::reader::Reader;

pub fn probe(r: &mut Reader<'_>) -> Result<Probed, ProbeError> {
    let head = r
        .bytes_at(0, 26)
        .map_err(|_| malformed("truncated header"))?;
    let dib = le32(&head, 14).unwrap_or(0);
    let (width, height) = if dib == 12 {
        (
            u32::from(le16(&head, 18).unwrap_or(0)),
            u32::from(le16(&head, 20).unwrap_or(0)),
        )
    } else if dib >= 40 {
        let width = le32(&head, 18).map(|w| w as i32).unwrap_or(0);
        // A negative height marks a top-down bitmap.
        let height = le32(&head, 22).map(|h| h as i32).unwrap_or(0);
        if width < 0 {
            return Err(malformed("negative width"));
        }
        (width.unsigned_abs(), height.unsigned_abs())
    } else {
        return Err(malformed("unknown DIB header"));
    };
    let (width, height) = nonzero(width, height)?;
    Ok(Probed::still("bmp", width, height))
}
