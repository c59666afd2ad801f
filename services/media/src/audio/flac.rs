//! FLAC completeness (symphonia reads the duration from STREAMINFO and trusts it): the metadata
//! blocks fit, audio frames follow them, and the last frame in the tail is whole (its CRC-16 runs
//! exactly to the end of the stream) and ends at STREAMINFO's total sample count or later.

use crate::audio::audio_end;
use crate::bin::{be16, be32, sub, u8_at};
use crate::crc::{CRC8, CRC16};
use crate::error::{ProbeError, malformed, truncated};
use crate::reader::Reader;

/// Metadata blocks walked before the frames (real files have a handful).
const MAX_BLOCKS: u32 = 4096;
/// Tail windows searched for the last frame header (frames are a few KiB, rarely over 64 KiB).
const TAIL_WINDOWS: [u64; 2] = [64 * 1024, 1024 * 1024];
/// Frame header candidates whose CRC-16 is tried, last first.
const MAX_CANDIDATES: u32 = 8;

/// What the check needs from STREAMINFO.
struct StreamInfo {
    max_block: u64,
    /// 0 when the encoder did not know it (a stream written without seeking back).
    total_samples: u64,
}

/// Checks the stream whose `fLaC` marker is at `start`.
pub fn check_complete(r: &mut Reader<'_>, start: u64) -> Result<(), ProbeError> {
    let (info, frames) = metadata(r, start)?;
    let end = audio_end(r, frames)?;
    if frames >= end {
        return Err(truncated(format!(
            "no audio frames after the metadata, which ends at byte {frames}"
        )));
    }
    let first = r.prefix_at(frames, 32)?;
    let variable = match FrameHeader::parse(&first) {
        Some(header) => header.variable,
        None => return Err(malformed(format!("no frame header at byte {frames}"))),
    };
    let last = last_frame(r, frames, end, variable)?;
    let first_sample = if variable {
        last.number
    } else {
        last.number.saturating_mul(info.max_block)
    };
    let end_sample = first_sample.saturating_add(last.block_size);
    if info.total_samples > 0 && end_sample < info.total_samples {
        return Err(truncated(format!(
            "the last frame ends at sample {end_sample} but STREAMINFO promises {}",
            info.total_samples
        )));
    }
    Ok(())
}

/// STREAMINFO and where the frames start (after the last metadata block).
fn metadata(r: &mut Reader<'_>, start: u64) -> Result<(StreamInfo, u64), ProbeError> {
    let mut at = start.saturating_add(4);
    let mut info = None;
    for _ in 0..MAX_BLOCKS {
        r.tick()?;
        let head = r.bytes_at(at, 4)?;
        let len = u64::from(be32(&head, 0).unwrap_or(0) & 0x00FF_FFFF);
        let body = at + 4;
        let end = body.saturating_add(len);
        r.ensure_within("metadata block", end)?;
        if head[0] & 0x7F == 0 && info.is_none() {
            let block = r.bytes_at(body, 18.min(len))?;
            let total_high = u64::from(u8_at(&block, 13).unwrap_or(0) & 0x0F);
            let total_low = u64::from(be32(&block, 14).unwrap_or(0));
            info = Some(StreamInfo {
                max_block: u64::from(be16(&block, 2).unwrap_or(0)),
                total_samples: (total_high << 32) | total_low,
            });
        }
        if head[0] & 0x80 != 0 {
            let info = info.ok_or_else(|| malformed("no STREAMINFO"))?;
            return Ok((info, end));
        }
        at = end;
    }
    Err(malformed("too many metadata blocks"))
}

/// The last whole frame: the last frame header (same blocking strategy, CRC-8 valid) in the tail
/// whose frame's CRC-16 comes out right exactly at `end`. Trailing zero bytes keep a CRC of zero,
/// so zero padding after the last frame is tolerated.
fn last_frame(
    r: &mut Reader<'_>,
    frames: u64,
    end: u64,
    variable: bool,
) -> Result<FrameHeader, ProbeError> {
    let mut tried = 0u32;
    // Candidates below this absolute offset are the ones not yet looked at.
    let mut below = end;
    for window in TAIL_WINDOWS {
        let (start, tail) = r.tail(frames, (r.len() - end).saturating_add(window))?;
        let stream = tail
            .get(..usize::try_from(end - start).unwrap_or(usize::MAX))
            .unwrap_or(&tail);
        let upto = usize::try_from(below.saturating_sub(start)).unwrap_or(usize::MAX);
        for i in (0..stream.len().min(upto)).rev() {
            r.tick()?;
            let Some(header) = stream
                .get(i..)
                .and_then(FrameHeader::parse)
                .filter(|h| h.variable == variable)
            else {
                continue;
            };
            if CRC16.of(stream[i..].iter().copied()) == 0 {
                return Ok(header);
            }
            tried += 1;
            if tried >= MAX_CANDIDATES {
                break;
            }
        }
        below = start;
        if start <= frames || tried >= MAX_CANDIDATES {
            break;
        }
    }
    Err(truncated(format!(
        "no whole frame (CRC-16 valid) ends at the end of the stream (byte {end})"
    )))
}

/// A frame header's fields the check needs.
#[derive(Debug, Clone, Copy)]
struct FrameHeader {
    variable: bool,
    /// The frame number (fixed blocking) or the first sample's number (variable).
    number: u64,
    block_size: u64,
}

impl FrameHeader {
    /// The header at the start of `b`, when its sync, reserved bits and CRC-8 are right.
    fn parse(b: &[u8]) -> Option<Self> {
        let [0xFF, sync, sizes, layout, ..] = *b.get(..4)? else {
            return None;
        };
        if sync & 0xFE != 0xF8 || sizes >> 4 == 0 || sizes & 0x0F == 0x0F || layout & 1 != 0 {
            return None;
        }
        if layout >> 4 > 10 {
            return None; // reserved channel assignment
        }
        let variable = sync & 1 == 1;
        let (number, mut at) = utf8_number(b, 4)?;
        let block_size = match sizes >> 4 {
            1 => 192,
            n @ 2..=5 => 576 << (n - 2),
            6 => {
                at += 1;
                u64::from(*b.get(at - 1)?) + 1
            }
            7 => {
                at += 2;
                u64::from(be16(b, at - 2)?) + 1
            }
            n => 256 << (n - 8),
        };
        at += match sizes & 0x0F {
            12 => 1,
            13 | 14 => 2,
            _ => 0,
        };
        let crc = *b.get(at)?;
        if CRC8.of(sub(b, 0, at)?.iter().copied()) != u32::from(crc) {
            return None;
        }
        Some(Self {
            variable,
            number,
            block_size,
        })
    }
}

/// The UTF-8-style coded number at `at` (up to 7 bytes), and the offset after it.
fn utf8_number(b: &[u8], at: usize) -> Option<(u64, usize)> {
    let first = *b.get(at)?;
    let extra = match first.leading_ones() {
        0 => 0,
        n @ 2..=7 => n as usize - 1,
        _ => return None,
    };
    let mask = if extra == 0 { 0x7F } else { 0x3F >> extra };
    let mut value = u64::from(first & mask);
    for i in 1..=extra {
        let byte = *b.get(at + i)?;
        if byte & 0xC0 != 0x80 {
            return None;
        }
        value = (value << 6) | u64::from(byte & 0x3F);
    }
    Some((value, at + 1 + extra))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coded_numbers() {
        assert_eq!(utf8_number(&[0x05], 0), Some((5, 1)));
        // 1042 = 0b10000_010010: two bytes, 110xxxxx 10xxxxxx
        assert_eq!(utf8_number(&[0xD0, 0x92], 0), Some((1042, 2)));
        assert_eq!(utf8_number(&[0x80], 0), None);
        assert_eq!(utf8_number(&[0xD0, 0x12], 0), None);
    }
}
