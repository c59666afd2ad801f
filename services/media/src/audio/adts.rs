//! ADTS AAC: counts raw data blocks by walking frame headers (1024 samples each) after any ID3v2
//! tag; bounded by the budget and extrapolated past it. Complete when the frames near the end are
//! whole: a frame header of the same stream whose length ends at the end of the stream (see
//! [`crate::audio::last_frame_fits`]).

use crate::audio::{FrameScan, SCAN_MARGIN, audio_end, last_frame_fits, mp3::skip_id3v2};
use crate::error::{ProbeError, malformed};
use crate::format::is_adts;
use crate::probe::Probed;
use crate::reader::Reader;

const RATES: [u64; 13] = [
    96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350,
];

pub fn probe(r: &mut Reader<'_>) -> Result<Probed, ProbeError> {
    let first = skip_id3v2(r, 0)?;
    let total = r.len().saturating_sub(first);
    let limit = first.saturating_add(r.remaining_budget().saturating_sub(SCAN_MARGIN));
    let mut at = first;
    let mut blocks = 0u64;
    let mut rate = None;
    while at < r.len() && at < limit {
        r.tick()?;
        let mut h = [0u8; 7];
        if r.read_at(at, &mut h)? < 7 || !is_adts(&h) {
            break;
        }
        let frame_rate = RATES.get(usize::from((h[2] >> 2) & 0x0F)).copied();
        let Some(frame_rate) = frame_rate else {
            break;
        };
        if *rate.get_or_insert(frame_rate) != frame_rate {
            break;
        }
        let len = frame_len(&h);
        if len < 7 {
            break;
        }
        blocks = blocks.saturating_add(u64::from(h[6] & 3) + 1);
        at = at.saturating_add(len);
    }
    let Some(rate) = rate else {
        return Err(malformed("no ADTS frame"));
    };
    let end = audio_end(r, first)?;
    last_frame_fits(r, first, end, |h| {
        if h.len() < 7 || !is_adts(h) || RATES.get(usize::from((h[2] >> 2) & 0x0F)) != Some(&rate) {
            return None;
        }
        Some(frame_len(h)).filter(|len| *len >= 7)
    })?;
    let scan = FrameScan {
        samples: blocks.saturating_mul(1024),
        sample_rate: rate,
        scanned: if at < limit { total } else { at - first },
        total,
    };
    Ok(Probed::audio("aac", scan.seconds()?))
}

/// The frame length (header included) of a 7-byte ADTS header.
fn frame_len(h: &[u8]) -> u64 {
    (u64::from(h[3] & 3) << 11) | (u64::from(h[4]) << 3) | u64::from(h[5] >> 5)
}
