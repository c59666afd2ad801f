//! Ogg Opus (and the codec check for every Ogg file): the rate and Opus pre-skip from the first
//! page's packet, and the duration from the granule position of the stream's last page, found in
//! the tail. Ogg Vorbis goes through symphonia (see [`crate::audio`]); [`probe()`] still handles it.
//! Pages found in the tail count only when whole and with a valid CRC; [`check_complete`] fails a
//! file whose last page is cut.

use crate::bin::{le16, le32, le64, ratio, sub};
use crate::crc::CRC32;
use crate::error::{ProbeError, malformed, truncated, unsupported};
use crate::probe::Probed;
use crate::reader::Reader;

/// Tail windows searched for the last page (an Ogg page is at most ~64 KiB, most are a few KiB).
const TAIL_WINDOWS: [u64; 2] = [64 * 1024, 1024 * 1024];
/// The fixed part of a page header: capture pattern to segment count.
const PAGE_HEADER: usize = 27;

/// A whole page found in the tail.
struct Page {
    /// Offset in the tail.
    at: usize,
    len: usize,
    granule: u64,
    serial: u32,
}

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

/// The granule position of the last whole page of stream `serial` that has one.
fn last_granule(r: &mut Reader<'_>, serial: u32) -> Result<Option<u64>, ProbeError> {
    for window in TAIL_WINDOWS {
        let (start, tail) = r.tail(0, window)?;
        let found = pages_backwards(&tail).find(|p| p.serial == serial && p.granule != u64::MAX);
        if let Some(page) = found {
            return Ok(Some(page.granule));
        }
        if start == 0 {
            break;
        }
    }
    Ok(None)
}

/// The file ends with a whole page: after the last page that is whole and has a valid CRC there is
/// nothing, or something that is not a page (padding, trailing garbage). A page that starts right
/// after it but is cut by the end of the object is truncation.
pub fn check_complete(r: &mut Reader<'_>) -> Result<(), ProbeError> {
    for window in TAIL_WINDOWS {
        let (start, tail) = r.tail(0, window)?;
        if let Some(last) = pages_backwards(&tail).next() {
            let after = last.at + last.len;
            let rest = tail.get(after..).unwrap_or_default();
            // A cut page starts with the capture pattern, or with as much of it as is left.
            if !rest.is_empty() && (rest.starts_with(b"OggS") || b"OggS".starts_with(rest)) {
                let at = start + after as u64;
                return Err(truncated(format!(
                    "the page at byte {at} is cut by the end of the object ({} bytes)",
                    r.len()
                )));
            }
            // Header pages have granule position 0: a file ending on one has no audio.
            if last.granule == 0 {
                return Err(truncated("no audio page after the header pages"));
            }
            return Ok(());
        }
        if start == 0 {
            break;
        }
    }
    Err(truncated(format!(
        "no whole Ogg page in the last {} bytes of the object",
        r.len().min(TAIL_WINDOWS[1])
    )))
}

/// The whole, CRC-valid pages in `tail`, last first. A capture pattern inside packet data, or a
/// page cut by the end, fails the length or CRC check and is skipped.
fn pages_backwards(tail: &[u8]) -> impl Iterator<Item = Page> + '_ {
    let mut end = tail.len();
    std::iter::from_fn(move || {
        loop {
            let i = tail.get(..end)?.windows(4).rposition(|w| w == b"OggS")?;
            end = i;
            if let Some(page) = page_at(tail, i) {
                return Some(page);
            }
        }
    })
}

/// The page at `at` in `data` when it is whole and its CRC matches.
fn page_at(data: &[u8], at: usize) -> Option<Page> {
    let page = data.get(at..)?;
    if sub(page, 4, 1) != Some(&[0]) {
        return None;
    }
    let segments = usize::from(*page.get(PAGE_HEADER - 1)?);
    let lacing = sub(page, PAGE_HEADER, segments)?;
    let len = PAGE_HEADER + segments + lacing.iter().map(|l| usize::from(*l)).sum::<usize>();
    let bytes = page.get(..len)?;
    let stored = le32(bytes, 22)?;
    if crc(bytes) != stored {
        return None;
    }
    Some(Page {
        at,
        len,
        granule: le64(bytes, 6)?,
        serial: le32(bytes, 14)?,
    })
}

/// The page CRC, over the page with its CRC field taken as zero.
fn crc(page: &[u8]) -> u32 {
    let zeroed = page
        .iter()
        .enumerate()
        .map(|(i, byte)| if (22..26).contains(&i) { 0 } else { *byte });
    CRC32.of(zeroed)
}
