//! Ogg Opus (and the codec check for every Ogg file): the rate and Opus pre-skip from the first
//! page's packet, and the duration from the granule position of the stream's last page, found in
//! the tail. Ogg Vorbis goes through symphonia (see [`crate::audio`]); [`probe()`] still handles it.

use crate::bin::{le16, le32, le64, ratio, sub};
use crate::error::{ProbeError, malformed, unsupported};
use crate::probe::Probed;
use crate::reader::Reader;

/// Tail windows searched for the last page (an Ogg page is at most ~64 KiB).
const TAIL_WINDOWS: [u64; 2] = [128 * 1024, 1024 * 1024];

/// The codecs probed in Ogg.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    Vorbis,
    Opus,
}

/// The codec of the first logical stream, from its identification packet on the first page.
pub fn codec(r: &mut Reader<'_>) -> Result<Codec, ProbeError> {
    let (_, head, at) = first_page(r)?;
    let packet = head.get(at..).unwrap_or_default();
    if packet.starts_with(b"OpusHead") {
        Ok(Codec::Opus)
    } else if packet.starts_with(b"\x01vorbis") {
        Ok(Codec::Vorbis)
    } else {
        Err(unsupported("codec other than Vorbis or Opus"))
    }
}

/// The first page's stream serial, its bytes and where its first packet starts in them.
fn first_page(r: &mut Reader<'_>) -> Result<(u32, Vec<u8>, usize), ProbeError> {
    let head = r.prefix_at(0, 27 + 255 + 64)?;
    let serial = le32(&head, 14).ok_or_else(|| malformed("truncated page"))?;
    let segments = usize::from(*head.get(26).ok_or_else(|| malformed("truncated page"))?);
    Ok((serial, head, 27 + segments))
}

pub fn probe(r: &mut Reader<'_>) -> Result<Probed, ProbeError> {
    let (serial, head, at) = first_page(r)?;
    let packet = head.get(at..).unwrap_or_default();
    let (format, rate, pre_skip) = if packet.starts_with(b"OpusHead") {
        ("opus", 48_000u64, u64::from(le16(packet, 10).unwrap_or(0)))
    } else if packet.starts_with(b"\x01vorbis") {
        let rate = u64::from(le32(packet, 12).unwrap_or(0));
        ("ogg", rate, 0)
    } else {
        return Err(unsupported("codec other than Vorbis or Opus"));
    };
    if rate == 0 {
        return Err(malformed("zero sample rate"));
    }
    let granule = last_granule(r, serial)?.ok_or_else(|| malformed("no final page"))?;
    Ok(Probed::audio(
        format,
        ratio(granule.saturating_sub(pre_skip), rate),
    ))
}

/// The granule position of the last page of stream `serial` that has one.
fn last_granule(r: &mut Reader<'_>, serial: u32) -> Result<Option<u64>, ProbeError> {
    let len = r.len();
    for window in TAIL_WINDOWS {
        let start = len.saturating_sub(window);
        let tail = r.prefix_at(start, len - start)?;
        let mut end = tail.len();
        while let Some(i) = tail
            .get(..end)
            .and_then(|t| t.windows(4).rposition(|w| w == b"OggS"))
        {
            let page = tail.get(i..).unwrap_or_default();
            let granule = le64(page, 6).unwrap_or(u64::MAX);
            if sub(page, 4, 1) == Some(&[0])
                && le32(page, 14) == Some(serial)
                && granule != u64::MAX
            {
                return Ok(Some(granule));
            }
            end = i;
        }
        if start == 0 {
            break;
        }
    }
    Ok(None)
}
