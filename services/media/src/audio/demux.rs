//! FLAC, WAV and Ogg through symphonia's demuxers: the probe and the track parameters only, never
//! a packet or a decoder. Symphonia reads through the budgeted [`Reader`], so every byte it asks
//! for is counted and the byte and time budgets stop it like any of our own parsers.

use std::any::Any;
use std::io::{self, Read, Seek, SeekFrom};
use std::panic::{self, AssertUnwindSafe};
use std::sync::OnceLock;

use symphonia::core::common::Limit;
use symphonia::core::errors::Error as DemuxError;
use symphonia::core::formats::probe::Hint;
use symphonia::core::formats::{FormatOptions, FormatReader, TrackType};
use symphonia::core::io::{MediaSource, MediaSourceStream, MediaSourceStreamOptions};
use symphonia::core::meta::MetadataOptions;

use crate::bin::ratio;
use crate::error::{ProbeError, malformed, truncated, unsupported};
use crate::probe::Probed;
use crate::reader::Reader;

/// The formats handed to symphonia, each with its extension (the probe's hint).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Demuxed {
    Flac,
    Wav,
    Ogg,
}

impl Demuxed {
    fn extension(self) -> &'static str {
        match self {
            Demuxed::Flac => "flac",
            Demuxed::Wav => "wav",
            Demuxed::Ogg => "ogg",
        }
    }
}

/// Probes the stream that starts at byte `start` (after any ID3v2 tag) as `format` and returns the
/// duration of its default audio track. Budget and storage errors come back as they were raised by
/// the reader, whatever symphonia did with them; its own errors are `Malformed` (`Unsupported`
/// for a codec its reader does not know, which [`crate::audio::probe_wav`] falls back on).
pub fn probe(
    r: &mut Reader<'_>,
    format: Demuxed,
    start: u64,
    name: &'static str,
) -> Result<Probed, ProbeError> {
    let failure = OnceLock::new();
    // Symphonia's parsers can panic on hostile input (e.g. an arithmetic overflow on a WAV `fmt `
    // chunk's channel count in builds with overflow checks): that is a malformed file, not a
    // reason to take the worker down. The reader holds no invariant a panic could break mid-way.
    let result = panic::catch_unwind(AssertUnwindSafe(|| duration(r, format, start, &failure)))
        .unwrap_or_else(|payload| {
            Err(malformed(format!(
                "demuxer panicked: {}",
                message(&*payload)
            )))
        });
    // A read that failed is the real cause even when symphonia wrapped it, swallowed it (its Ogg
    // end-of-stream scan gives up quietly) or went on to fail for another reason.
    if let Some(err) = failure.into_inner() {
        return Err(err);
    }
    Ok(Probed::audio(name, result?))
}

fn duration(
    r: &mut Reader<'_>,
    format: Demuxed,
    start: u64,
    failure: &OnceLock<ProbeError>,
) -> Result<Option<f64>, ProbeError> {
    let source = Budgeted::new(r, start, failure);
    let stream = MediaSourceStream::new(Box::new(source), MediaSourceStreamOptions::default());
    let mut hint = Hint::new();
    hint.with_extension(format.extension());
    let mut options = FormatOptions::default();
    // Never index the whole stream up front: that reads every frame.
    options.prebuild_seek_index = false;
    // Tags and pictures are not needed: skip their bodies instead of holding them in memory.
    let metadata = MetadataOptions::default()
        .limit_tag_bytes(Limit::Maximum(0))
        .limit_visual_bytes(Limit::Maximum(0));
    let reader = symphonia::default::get_probe()
        .probe(&hint, stream, options, metadata)
        .map_err(demux_error)?;
    track_seconds(reader.as_ref())
}

/// The default audio track's playable length: frames (delay and padding excluded) over the sample
/// rate, else the container's duration in its time base. `None` when neither is known.
fn track_seconds(reader: &dyn FormatReader) -> Result<Option<f64>, ProbeError> {
    let track = reader
        .default_track(TrackType::Audio)
        .ok_or_else(|| malformed("no audio track"))?;
    let rate = track
        .codec_params
        .as_ref()
        .and_then(|params| params.audio())
        .and_then(|audio| audio.sample_rate);
    if let (Some(frames), Some(rate)) = (track.num_frames, rate) {
        if rate == 0 {
            return Err(malformed("zero sample rate"));
        }
        // Zero frames is how FLAC writes "unknown" (a stream written without seeking back).
        return Ok((frames > 0)
            .then(|| ratio(frames, u64::from(rate)))
            .flatten());
    }
    Ok(track
        .time_base
        .zip(track.duration)
        .and_then(|(base, duration)| base.calc_duration(duration))
        .map(|time| time.as_secs_f64())
        .filter(|secs| secs.is_finite() && *secs > 0.0))
}

/// A panic's message, when it has one.
fn message(payload: &(dyn Any + Send)) -> &str {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("no message")
}

/// Symphonia's own failures: `Unsupported` stays unsupported (a codec its reader does not know),
/// everything else is a malformed file (budget and storage errors never get here, see [`probe()`]).
fn demux_error(err: DemuxError) -> ProbeError {
    match err {
        DemuxError::IoError(io) if io.kind() == io::ErrorKind::UnexpectedEof => {
            truncated("the demuxer reached the end of the object")
        }
        DemuxError::Unsupported(what) => unsupported(what),
        other => malformed(other.to_string()),
    }
}

/// The reader as a symphonia [`MediaSource`], seen from byte `start` on. The first read error
/// (over budget, out of time, storage failure) is kept in `failure` so the probe can return it as
/// is: symphonia only sees a generic I/O error.
struct Budgeted<'r, 'a> {
    reader: &'r mut Reader<'a>,
    start: u64,
    len: u64,
    failure: &'r OnceLock<ProbeError>,
}

impl<'r, 'a> Budgeted<'r, 'a> {
    fn new(reader: &'r mut Reader<'a>, start: u64, failure: &'r OnceLock<ProbeError>) -> Self {
        let start = start.min(reader.len());
        let len = reader.len() - start;
        reader.seek_to(start);
        Self {
            reader,
            start,
            len,
            failure,
        }
    }
}

impl Read for Budgeted<'_, '_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let at = self.reader.pos();
        match self.reader.read_at(at, buf) {
            Ok(n) => {
                self.reader.seek_to(at.saturating_add(n as u64));
                Ok(n)
            }
            Err(err) => {
                let message = err.to_string();
                // Only the first failure matters; later ones are its consequences.
                let _ = self.failure.set(err);
                Err(io::Error::other(message))
            }
        }
    }
}

impl Seek for Budgeted<'_, '_> {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let target = match to {
            SeekFrom::Start(at) => Some(at),
            SeekFrom::End(delta) => self.len.checked_add_signed(delta),
            SeekFrom::Current(delta) => self
                .reader
                .pos()
                .saturating_sub(self.start)
                .checked_add_signed(delta),
        };
        let target = target
            .and_then(|at| at.checked_add(self.start).map(|abs| (at, abs)))
            .ok_or_else(|| {
                io::Error::new(io::ErrorKind::InvalidInput, "seek before start or overflow")
            })?;
        self.reader.seek_to(target.1);
        Ok(target.0)
    }
}

impl MediaSource for Budgeted<'_, '_> {
    fn is_seekable(&self) -> bool {
        true
    }

    fn byte_len(&self) -> Option<u64> {
        Some(self.len)
    }
}
