//! WAV: the `data` chunk's size over the `fmt ` chunk's byte rate, walking RIFF chunk headers;
//! and the completeness check every WAV gets: the `data` chunk fits in the object.

use crate::bin::{le32, ratio, sub};
use crate::error::{ProbeError, malformed, truncated};
use crate::probe::Probed;
use crate::reader::Reader;

const MAX_CHUNKS: u32 = 1024;

pub fn probe(r: &mut Reader<'_>) -> Result<Probed, ProbeError> {
    let mut at = 12u64;
    let mut byte_rate = None;
    for _ in 0..MAX_CHUNKS {
        r.tick()?;
        let Ok(head) = r.bytes_at(at, 8) else {
            break;
        };
        let size = u64::from(le32(&head, 4).unwrap_or(0));
        let body = at + 8;
        match sub(&head, 0, 4) {
            Some(b"fmt ") => {
                let fmt = r
                    .bytes_at(body, 16)
                    .map_err(|_| malformed("truncated fmt"))?;
                byte_rate = le32(&fmt, 8).map(u64::from);
            }
            Some(b"data") => {
                let Some(rate) = byte_rate.filter(|r| *r > 0) else {
                    return Err(malformed("no fmt chunk before data"));
                };
                let avail = r.len().saturating_sub(body);
                // Streaming writers leave 0 or 0xFFFFFFFF: the data runs to the end.
                let size = if size == 0 || size == u64::from(u32::MAX) {
                    avail
                } else {
                    size.min(avail)
                };
                return Ok(Probed::audio("wav", ratio(size, rate)));
            }
            _ => {}
        }
        at = body.saturating_add(size).saturating_add(size & 1);
    }
    Err(malformed("no data chunk"))
}

/// The `data` chunk's samples are all there: its size (unless a streaming writer left it unknown,
/// 0 or 0xFFFFFFFF) fits in the object. Its pad byte and any chunk after it are not required.
pub fn check_complete(r: &mut Reader<'_>) -> Result<(), ProbeError> {
    let mut at = 12u64;
    for _ in 0..MAX_CHUNKS {
        r.tick()?;
        if at.saturating_add(8) > r.len() {
            return Err(truncated(format!(
                "no data chunk in the object's {} bytes",
                r.len()
            )));
        }
        let head = r.bytes_at(at, 8)?;
        let size = u64::from(le32(&head, 4).unwrap_or(0));
        let body = at + 8;
        if sub(&head, 0, 4) == Some(b"data") {
            if size == 0 || size == u64::from(u32::MAX) {
                return Ok(());
            }
            return r.ensure_within("data chunk", body.saturating_add(size));
        }
        at = body.saturating_add(size).saturating_add(size & 1);
    }
    Err(malformed("no data chunk"))
}
