//! Audio files. Symphonia (the project's audio library, 0.6) probes FLAC, WAV and Ogg Vorbis; our
//! own parsers keep Ogg Opus, MP3 and ADTS AAC, where symphonia's duration is wrong; AAC in M4A goes
//! through the MP4 parser.
//!
//! Symphonia is built with only its `flac`, `wav` and `ogg` features (demuxers; the FLAC bundle
//! carries its decoder, no other codec crate), and only its probe runs: no packet is read or
//! decoded. It reads through the budgeted [`crate::Reader`] (see [`demux`]), so its reads are
//! counted and bounded like ours. Measured on 10-minute ffmpeg sines, bytes fetched by the reader
//! (64 KiB chunks; what symphonia itself asked for in brackets):
//!
//! - FLAC: STREAMINFO's total samples, exact; 64 KiB of 7.2 MB (15 KB). An ID3v2 tag in front is
//!   skipped by us first, so symphonia's 1 MB marker search never has to cross it.
//! - WAV: exact for PCM, float, A-law/mu-law and extensible, and for MS/IMA ADPCM (frames per
//!   block; our byte-rate division said 15.1 s for 60 s); 64 KiB of 53 MB (1 KB). Symphonia has no
//!   length for a streamed file (data size 0 or 0xFFFFFFFF) and refuses codecs it does not know
//!   (GSM 6.10): there [`wav`]'s data size over byte rate is used instead.
//! - Ogg Vorbis: exact; the first pages plus the last ~64 KiB (one maximum page per stream) for
//!   the last granule: 177 KB of 1 MB (75 KB). A chained file bisects, still bounded.
//!
//! Not symphonia (its answers measured with its `mp3`, `aac` and `isomp4` features):
//!
//! - Ogg Opus: its frame count is the last granule with the 312-sample pre-skip still in it
//!   (600.0065 s for 600 s, 2.0065 s for the 2 s fixture) although it reports that delay apart;
//!   [`ogg`] subtracts the pre-skip (RFC 7845).
//! - MP3 without a Xing/Info or VBRI header: estimated from the first 3 KB, 456.1 s for a 600 s
//!   VBR file (1.67 s for the 2.017 s fixture); [`mp3`] scans frames within the budget.
//! - ADTS AAC: estimated from the first 128 KB, 600.33 s for 600 s; [`adts`] scans frames.
//! - AAC in M4A: the 1024 priming samples counted (600.023 s for 600 s); the MP4 parser applies
//!   the edit list.

pub mod adts;
pub mod demux;
pub mod flac;
pub mod mp3;
pub mod ogg;
pub mod wav;

use crate::bin::{le32, sub};
use crate::error::{ProbeError, truncated};
use crate::probe::Probed;
use crate::reader::Reader;
use demux::Demuxed;

/// FLAC through symphonia, from the `fLaC` marker on (past any ID3v2 tag), once [`flac`] checked
/// that the frames STREAMINFO promises are there (symphonia trusts the header).
pub fn probe_flac(r: &mut Reader<'_>) -> Result<Probed, ProbeError> {
    let start = mp3::skip_id3v2(r, 0)?;
    flac::check_complete(r, start)?;
    demux::probe(r, Demuxed::Flac, start, "flac")
}

/// WAV through symphonia; our byte-rate division where symphonia has no length (a streamed
/// file's unknown data size) or does not know the codec. The `data` chunk must fit in the object
/// either way (symphonia counts the frames its header promises).
pub fn probe_wav(r: &mut Reader<'_>) -> Result<Probed, ProbeError> {
    let probed = match demux::probe(r, Demuxed::Wav, 0, "wav") {
        Ok(Probed { duration: None, .. }) | Err(ProbeError::Unsupported(_)) => wav::probe(r),
        other => other,
    }?;
    wav::check_complete(r)?;
    Ok(probed)
}

/// Ogg Vorbis through symphonia, Ogg Opus through [`ogg`]; other codecs are unsupported. Either
/// way the file must end with a whole page (see [`ogg::check_complete`]).
pub fn probe_ogg(r: &mut Reader<'_>) -> Result<Probed, ProbeError> {
    let probed = match ogg::codec(r)? {
        ogg::Codec::Vorbis => demux::probe(r, Demuxed::Ogg, 0, "ogg"),
        ogg::Codec::Opus => ogg::probe(r),
    }?;
    ogg::check_complete(r)?;
    Ok(probed)
}

/// Where the audio stream ends: before an ID3v1 tag (`TAG`, the last 128 bytes) and an APEv2 tag
/// (its footer, the last 32 bytes before that), which taggers append to MP3, AAC and FLAC files.
pub(crate) fn audio_end(r: &mut Reader<'_>, start: u64) -> Result<u64, ProbeError> {
    let mut end = r.len();
    if end >= start.saturating_add(128) {
        let mut tag = [0u8; 3];
        if r.read_at(end - 128, &mut tag)? == 3 && &tag == b"TAG" {
            end -= 128;
        }
    }
    if end >= start.saturating_add(32) {
        let footer = r.bytes_at(end - 32, 32)?;
        if sub(&footer, 0, 8) == Some(b"APETAGEX") {
            // The size counts the items and the footer; a header (flag bit 31) adds 32 more.
            let size = u64::from(le32(&footer, 12).unwrap_or(0));
            let header = if le32(&footer, 20).unwrap_or(0) & (1 << 31) != 0 {
                32
            } else {
                0
            };
            end = end.saturating_sub(size.saturating_add(header)).max(start);
        }
    }
    Ok(end)
}

/// How much of the end [`last_frame_fits`] searches for frames.
const FRAME_TAIL: u64 = 64 * 1024;
/// Consecutive frames a run found by searching needs before it is trusted (one frame header is
/// easily matched by chance inside another frame's data).
const CONFIRM_FRAMES: u32 = 3;

/// The frame-stream completeness check (MP3, ADTS): in the tail before `end`, finds a run of
/// frames (`frame_len` gives a frame's length from the bytes at its start, `None` for no frame
/// there), follows it to its last frame, and fails when that frame runs past `end`. A run that
/// reaches `end` exactly, or stops before it at bytes that are no frame (padding, garbage), is
/// whole. The run starting at `first` (the stream's first frame, already confirmed) needs no
/// confirmation, so a file with only a frame or two is judged too.
pub(crate) fn last_frame_fits(
    r: &mut Reader<'_>,
    first: u64,
    end: u64,
    frame_len: impl Fn(&[u8]) -> Option<u64>,
) -> Result<(), ProbeError> {
    let (start, tail) = r.tail(
        first,
        r.len().saturating_sub(end).saturating_add(FRAME_TAIL),
    )?;
    let limit = end.saturating_sub(start);
    for from in 0..tail.len() as u64 {
        r.tick()?;
        let trusted = start + from == first;
        let mut at = from;
        let mut frames = 0u32;
        while let Some(len) = tail
            .get(usize::try_from(at).unwrap_or(usize::MAX)..)
            .and_then(&frame_len)
            .filter(|len| *len > 0)
        {
            frames += 1;
            let next = at.saturating_add(len);
            if next > limit {
                if trusted || frames >= CONFIRM_FRAMES {
                    return Err(truncated(format!(
                        "the last frame (at byte {}) ends at byte {} but the stream ends at byte {end}",
                        start + at,
                        start + next
                    )));
                }
                break;
            }
            if next == limit && (trusted || frames >= CONFIRM_FRAMES - 1) {
                return Ok(());
            }
            at = next;
        }
        if trusted || frames >= CONFIRM_FRAMES {
            return Ok(());
        }
    }
    // No run of frames near the end: nothing to judge by (the stream may end in a long tag).
    Ok(())
}

/// Frame scans (MP3 without a header, ADTS) stop this far short of the byte budget and
/// extrapolate the rest from the average frame rate over the bytes they did scan.
pub(crate) const SCAN_MARGIN: u64 = 256 * 1024;

/// The result of a frame-header scan: samples counted and the stretch of file they covered.
pub(crate) struct FrameScan {
    pub samples: u64,
    pub sample_rate: u64,
    pub scanned: u64,
    pub total: u64,
}

impl FrameScan {
    /// Seconds, extrapolated over the unscanned rest when the scan stopped at the budget.
    pub fn seconds(&self) -> Result<Option<f64>, crate::ProbeError> {
        if self.scanned == 0 && self.total > 0 {
            return Err(crate::ProbeError::BudgetExceeded(
                "no room left in the budget for a frame scan".into(),
            ));
        }
        Ok(self.seconds_scanned())
    }

    fn seconds_scanned(&self) -> Option<f64> {
        let scanned = crate::bin::ratio(self.samples, self.sample_rate)?;
        if self.scanned >= self.total || self.scanned == 0 {
            return Some(scanned);
        }
        crate::bin::seconds(scanned * self.total as f64 / self.scanned as f64)
    }
}
