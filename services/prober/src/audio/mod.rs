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
pub mod mp3;
pub mod ogg;
pub mod wav;

use crate::error::ProbeError;
use crate::probe::Probed;
use crate::reader::Reader;
use demux::Demuxed;

/// FLAC through symphonia, from the `fLaC` marker on (past any ID3v2 tag).
pub fn probe_flac(r: &mut Reader<'_>) -> Result<Probed, ProbeError> {
    let start = mp3::skip_id3v2(r, 0)?;
    demux::probe(r, Demuxed::Flac, start, "flac")
}

/// WAV through symphonia; our byte-rate division where symphonia has no length (a streamed
/// file's unknown data size) or does not know the codec.
pub fn probe_wav(r: &mut Reader<'_>) -> Result<Probed, ProbeError> {
    match demux::probe(r, Demuxed::Wav, 0, "wav") {
        Ok(Probed { duration: None, .. }) | Err(ProbeError::Unsupported(_)) => wav::probe(r),
        other => other,
    }
}

/// Ogg Vorbis through symphonia, Ogg Opus through [`ogg`]; other codecs are unsupported.
pub fn probe_ogg(r: &mut Reader<'_>) -> Result<Probed, ProbeError> {
    match ogg::codec(r)? {
        ogg::Codec::Vorbis => demux::probe(r, Demuxed::Ogg, 0, "ogg"),
        ogg::Codec::Opus => ogg::probe(r),
    }
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
