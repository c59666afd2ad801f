//! Audio files: one small header parser per format (MP3, ADTS AAC, FLAC, Ogg Vorbis/Opus, WAV);
//! AAC in M4A goes through the MP4 parser.
//!
//! Why not symphonia (the project's designated audio library): its probe reads through a
//! `MediaSource` without any byte budget of its own, it reports MP3 without a Xing header and AAC
//! in M4A with the priming samples counted, Ogg durations need a full demux, and it would add a
//! large dependency tree to a 2-core build for headers that take a few dozen lines each here. Every
//! parser below reads through the budgeted [`crate::Reader`], so reads are bounded by construction.

pub mod adts;
pub mod flac;
pub mod mp3;
pub mod ogg;
pub mod wav;

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
