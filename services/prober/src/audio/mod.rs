//! Audio files. Symphonia (the project's audio library) probes FLAC, WAV and Ogg Vorbis; our own
//! header parsers keep MP3, ADTS AAC and Ogg Opus, where symphonia's answer is wrong or unbounded;
//! AAC in M4A goes through the MP4 parser.
//!
//! Symphonia runs demuxer-only (no codec features, no packet is read or decoded) over the
//! budgeted [`crate::Reader`] (see [`demux`]), so its reads are counted and bounded like ours.
//! Measured on 10-minute sines from ffmpeg (default 16 MiB budget):
//!
//! - FLAC: STREAMINFO's total samples, exact; 64 KiB read (one chunk) for a 7.2 MB file. An
//!   ID3v2 tag in front is skipped by us first, so symphonia's 1 MB marker search never sees it.
//! - WAV: exact for PCM, float, A-law/mu-law and extensible; right for MS and IMA ADPCM too
//!   (frames per block, where a byte-rate division was 4x short); 64 KiB read for 53 MB. Symphonia
//!   gives no length for a streamed file (data size 0 or 0xFFFFFFFF) and refuses codecs it does
//!   not know (GSM 6.10, MP3 in WAV): there [`wav`]'s data size over byte rate is used instead.
//! - Ogg Vorbis: exact; symphonia reads the first pages plus one maximum page size (~64 KiB) at
//!   the end for the last granule, 177 KB for a 1 MB file (a chained file bisects: still bounded).
//!
//! Not symphonia:
//!
//! - Ogg Opus: symphonia's frame count is the last granule position with the pre-skip still in it
//!   (600.0065 s for 600 s, while it reports the 312-sample delay separately); [`ogg`] subtracts
//!   the pre-skip as RFC 7845 says.
//! - MP3: symphonia estimates the length of a file without a Xing/Info or VBRI header from the
//!   first frame's bitrate, wrong for VBR; [`mp3`] scans frames within the budget instead.
//! - ADTS AAC has no length field at all: [`adts`] scans frames within the budget.
//! - AAC in M4A: symphonia counts the encoder priming samples; the MP4 parser applies the edit list.

pub mod adts;
pub mod demux;
pub mod flac;
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
