//! MP3 (MPEG-1/2/2.5 audio, layers I-III): skips ID3v2 tags, finds the first frame, and takes the
//! frame count from a Xing/Info or VBRI header; without one it counts frames by walking frame
//! headers (bounded by the budget, extrapolated past it). Complete when the stream size a Xing or
//! VBRI header gives fits in the object and the last frame near the end is whole
//! ([`crate::audio::last_frame_fits`]).

use crate::audio::{FrameScan, SCAN_MARGIN, audio_end, last_frame_fits};
use crate::bin::{be32, sub};
use crate::error::{ProbeError, malformed};
use crate::probe::Probed;
use crate::reader::Reader;

/// How far past the tags the first frame may be.
const SYNC_SEARCH: u64 = 64 * 1024;
/// How far a lost sync is searched for before the scan stops.
const RESYNC_SEARCH: u64 = 4096;

/// A parsed 4-byte frame header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameHeader {
    /// 1 = MPEG-1, 2 = MPEG-2, 25 = MPEG-2.5.
    version: u8,
    layer: u8,
    bitrate: u32,
    sample_rate: u32,
    padding: bool,
    mono: bool,
}

impl FrameHeader {
    pub fn parse(b: &[u8]) -> Option<Self> {
        let [b0, b1, b2, b3] = *b.get(..4)? else {
            return None;
        };
        if b0 != 0xFF || b1 & 0xE0 != 0xE0 {
            return None;
        }
        let version = match (b1 >> 3) & 3 {
            0 => 25,
            2 => 2,
            3 => 1,
            _ => return None,
        };
        let layer = match (b1 >> 1) & 3 {
            1 => 3,
            2 => 2,
            3 => 1,
            _ => return None,
        };
        let index = usize::from(b2 >> 4);
        let rate_index = usize::from((b2 >> 2) & 3);
        const V1: [[u32; 16]; 3] = [
            [
                0, 32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448, 0,
            ],
            [
                0, 32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384, 0,
            ],
            [
                0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 0,
            ],
        ];
        const V2: [[u32; 16]; 3] = [
            [
                0, 32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256, 0,
            ],
            [
                0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160, 0,
            ],
            [
                0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160, 0,
            ],
        ];
        let table = if version == 1 { &V1 } else { &V2 };
        let bitrate = *table.get(usize::from(layer - 1))?.get(index)?;
        let base = *[44100u32, 48000, 32000].get(rate_index)?;
        let sample_rate = match version {
            1 => base,
            2 => base / 2,
            _ => base / 4,
        };
        if bitrate == 0 {
            return None; // free format or bad index
        }
        Some(Self {
            version,
            layer,
            bitrate: bitrate * 1000,
            sample_rate,
            padding: b2 & 2 != 0,
            mono: b3 >> 6 == 3,
        })
    }

    pub fn samples(&self) -> u32 {
        match (self.layer, self.version) {
            (1, _) => 384,
            (2, _) | (3, 1) => 1152,
            _ => 576,
        }
    }

    pub fn frame_len(&self) -> u32 {
        let pad = u32::from(self.padding);
        if self.layer == 1 {
            return (12 * self.bitrate / self.sample_rate + pad) * 4;
        }
        let per = if self.layer == 3 && self.version != 1 {
            72
        } else {
            144
        };
        per * self.bitrate / self.sample_rate + pad
    }

    fn side_info(&self) -> u64 {
        match (self.version == 1, self.mono) {
            (true, false) => 32,
            (true, true) | (false, false) => 17,
            (false, true) => 9,
        }
    }

    /// Same stream: the fields that cannot change between frames agree.
    fn same_stream(&self, other: &Self) -> bool {
        self.version == other.version
            && self.layer == other.layer
            && self.sample_rate == other.sample_rate
    }
}

/// The offset after any ID3v2 tags starting at `at`.
pub fn skip_id3v2(r: &mut Reader<'_>, mut at: u64) -> Result<u64, ProbeError> {
    for _ in 0..16 {
        let mut head = [0u8; 10];
        if r.read_at(at, &mut head)? < 10 || !head.starts_with(b"ID3") {
            break;
        }
        let size = head[6..10]
            .iter()
            .fold(0u64, |acc, b| (acc << 7) | u64::from(b & 0x7F));
        let footer = if head[5] & 0x10 != 0 { 10 } else { 0 };
        at = at.saturating_add(10 + footer).saturating_add(size);
    }
    Ok(at)
}

pub fn probe(r: &mut Reader<'_>) -> Result<Probed, ProbeError> {
    let start = skip_id3v2(r, 0)?;
    let (first, header) = find_first_frame(r, start)?;
    let probed = duration(r, first, header)?;
    let end = audio_end(r, first)?;
    last_frame_fits(r, first, end, |bytes| {
        FrameHeader::parse(bytes)
            .filter(|h| h.same_stream(&header))
            .map(|h| u64::from(h.frame_len()))
    })?;
    Ok(probed)
}

/// The duration from a Xing/Info or VBRI header's frame count (whose stream size, when given, must
/// fit in the object), else from a frame scan.
fn duration(r: &mut Reader<'_>, first: u64, header: FrameHeader) -> Result<Probed, ProbeError> {
    let frame = r.prefix_at(first, 200)?;
    let rate = u64::from(header.sample_rate);
    let per_frame = u64::from(header.samples());

    // Xing/Info (LAME, ffmpeg) sits after the side information; VBRI (Fraunhofer) at byte 36.
    let xing = usize::try_from(4 + header.side_info()).unwrap_or(0);
    if matches!(sub(&frame, xing, 4), Some(b"Xing" | b"Info")) {
        let flags = be32(&frame, xing + 4).unwrap_or(0);
        // The optional fields follow the flags in order: frames (bit 0), then bytes (bit 1).
        if flags & 2 != 0 {
            let at = xing + 8 + if flags & 1 != 0 { 4 } else { 0 };
            if let Some(bytes) = be32(&frame, at).filter(|b| *b > 0) {
                r.ensure_within(
                    "the stream (Xing size)",
                    first.saturating_add(u64::from(bytes)),
                )?;
            }
        }
        if flags & 1 != 0
            && let Some(frames) = be32(&frame, xing + 8).filter(|f| *f > 0)
        {
            let seconds = crate::bin::ratio(u64::from(frames) * per_frame, rate);
            return Ok(Probed::audio("mp3", seconds));
        }
    }
    if sub(&frame, 36, 4) == Some(b"VBRI") {
        // VBRI: ID, version, delay, quality, then the stream's bytes and frames.
        if let Some(bytes) = be32(&frame, 36 + 10).filter(|b| *b > 0) {
            r.ensure_within(
                "the stream (VBRI size)",
                first.saturating_add(u64::from(bytes)),
            )?;
        }
    }
    if sub(&frame, 36, 4) == Some(b"VBRI")
        && let Some(frames) = be32(&frame, 36 + 14).filter(|f| *f > 0)
    {
        let seconds = crate::bin::ratio(u64::from(frames) * per_frame, rate);
        return Ok(Probed::audio("mp3", seconds));
    }
    let scan = scan_frames(r, first, header)?;
    Ok(Probed::audio("mp3", scan.seconds()?))
}

/// The first frame header after `start` that is followed by a second one of the same stream.
fn find_first_frame(r: &mut Reader<'_>, start: u64) -> Result<(u64, FrameHeader), ProbeError> {
    let window = r.prefix_at(start, SYNC_SEARCH)?;
    for i in 0..window.len() {
        if window[i] != 0xFF {
            continue;
        }
        let Some(header) = window.get(i..).and_then(FrameHeader::parse) else {
            continue;
        };
        let at = start.saturating_add(i as u64);
        let next = at.saturating_add(u64::from(header.frame_len()));
        let mut buf = [0u8; 4];
        let n = r.read_at(next, &mut buf)?;
        let confirmed = n == 0 && next >= r.len()
            || FrameHeader::parse(&buf).is_some_and(|h| h.same_stream(&header));
        if confirmed {
            return Ok((at, header));
        }
    }
    Err(malformed("no MPEG audio frame"))
}

fn scan_frames(
    r: &mut Reader<'_>,
    first: u64,
    header: FrameHeader,
) -> Result<FrameScan, ProbeError> {
    let total = r.len().saturating_sub(first);
    let limit = first.saturating_add(r.remaining_budget().saturating_sub(SCAN_MARGIN));
    let mut at = first;
    let mut samples = 0u64;
    while at < r.len() && at < limit {
        r.tick()?;
        let mut buf = [0u8; 4];
        if r.read_at(at, &mut buf)? < 4 {
            break;
        }
        match FrameHeader::parse(&buf).filter(|h| h.same_stream(&header)) {
            Some(h) => {
                samples = samples.saturating_add(u64::from(h.samples()));
                at = at.saturating_add(u64::from(h.frame_len().max(1)));
            }
            None => {
                if &buf[..3] == b"TAG" || &buf == b"APET" || &buf == b"LYRI" {
                    break;
                }
                match resync(r, at, &header)? {
                    Some(next) => at = next,
                    None => break,
                }
            }
        }
    }
    let scanned = at.saturating_sub(first).min(total);
    // Trailing tags end the scan before `total`: count the whole stream as scanned then.
    let scanned = if at < limit { total } else { scanned };
    Ok(FrameScan {
        samples,
        sample_rate: u64::from(header.sample_rate),
        scanned,
        total,
    })
}

fn resync(r: &mut Reader<'_>, at: u64, header: &FrameHeader) -> Result<Option<u64>, ProbeError> {
    let window = r.prefix_at(at.saturating_add(1), RESYNC_SEARCH)?;
    Ok(window
        .windows(4)
        .position(|w| FrameHeader::parse(w).is_some_and(|h| h.same_stream(header)))
        .map(|i| at.saturating_add(1).saturating_add(i as u64)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_fields() {
        // MPEG-1 layer III, 128 kbps, 44.1 kHz, no padding, stereo
        let h = FrameHeader::parse(&[0xFF, 0xFB, 0x90, 0x00]).expect("test value");
        assert_eq!(h.frame_len(), 417);
        assert_eq!(h.samples(), 1152);
        assert!(FrameHeader::parse(&[0xFF, 0xFB, 0xF0, 0x00]).is_none());
        assert!(FrameHeader::parse(&[0xFF, 0xF1, 0x50, 0x80]).is_none()); // ADTS
    }
}
