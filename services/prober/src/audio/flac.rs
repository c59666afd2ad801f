//! FLAC: total samples and sample rate from STREAMINFO, the first metadata block.
//!
//! Not dispatched any more: [`crate::probe`] sends FLAC to symphonia (see [`crate::audio`]). Kept
//! until it is removed together with `bin::be24`, its last user outside this module.

use crate::audio::mp3::skip_id3v2;
use crate::bin::{be24, be32, ratio};
use crate::error::{ProbeError, malformed};
use crate::probe::Probed;
use crate::reader::Reader;

pub fn probe(r: &mut Reader<'_>) -> Result<Probed, ProbeError> {
    let at = skip_id3v2(r, 0)?;
    let head = r
        .bytes_at(at, 4 + 4 + 18)
        .map_err(|_| malformed("truncated STREAMINFO"))?;
    if !head.starts_with(b"fLaC") || head.get(4).map(|b| b & 0x7F) != Some(0) {
        return Err(malformed("no STREAMINFO"));
    }
    let info = head.get(8..).unwrap_or_default();
    let rate = be24(info, 10).map_or(0, |v| v >> 4);
    let total = u64::from(info.get(13).map_or(0, |b| b & 0x0F)) << 32
        | u64::from(be32(info, 14).unwrap_or(0));
    if rate == 0 {
        return Err(malformed("zero sample rate"));
    }
    // Zero total samples means "unknown" (a stream written without seeking back).
    let duration = if total == 0 {
        None
    } else {
        ratio(total, u64::from(rate))
    };
    Ok(Probed::audio("flac", duration))
}
