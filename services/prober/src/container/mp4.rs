//! MP4, MOV and M4A: walks the box tree with range reads (`mdat` and sample tables are skipped
//! by seeking, so a movie whose `moov` sits after a huge `mdat` costs two small reads), then takes
//! the first video (or audio) track's display size from `tkhd` (its matrix's quarter turns swap
//! it) and the duration from `mvhd`, `mehd`, or the track's edit list and `mdhd`.

use crate::bin::{be16, be32, be64, ratio, sub, u8_at};
use crate::container::isobmff::{BoxHeader, read_header};
use crate::error::{ProbeError, malformed};
use crate::probe::Probed;
use crate::reader::Reader;

/// Boxes visited in one container before giving up.
const MAX_CHILDREN: u32 = 100_000;
/// Leaf boxes larger than this are not loaded (real `tkhd`/`mvhd`/`mdhd` are ~100 bytes).
const MAX_LEAF: u64 = 64 * 1024;
/// Edit list entries read (real files have one or two).
const MAX_EDITS: usize = 1024;

#[derive(Debug, Default)]
struct Movie {
    timescale: u64,
    duration: u64,
    fragment_duration: u64,
    tracks: Vec<Track>,
}

#[derive(Debug, Default)]
struct Track {
    handler: [u8; 4],
    width: u32,
    height: u32,
    quarter_turn: bool,
    media_timescale: u64,
    media_duration: u64,
    /// Sum of the edit list's non-empty segment durations (movie timescale) and the first
    /// non-empty edit's media start (media timescale).
    edits: Option<(u64, u64)>,
    entry_width: u32,
    entry_height: u32,
}

pub fn probe(
    r: &mut Reader<'_>,
    format: &'static str,
    want_video: bool,
) -> Result<Probed, ProbeError> {
    let moov = find_moov(r)?;
    let movie = parse_moov(r, &moov)?;
    let handler = if want_video { b"vide" } else { b"soun" };
    let Some(track) = movie.tracks.iter().find(|t| &t.handler == handler) else {
        return Err(malformed(if want_video {
            "no video track"
        } else {
            "no audio track"
        }));
    };
    if want_video {
        let (mut width, mut height) = (track.width, track.height);
        if width == 0 || height == 0 {
            (width, height) = (track.entry_width, track.entry_height);
        }
        if width == 0 || height == 0 {
            return Err(malformed("video track has no size"));
        }
        let duration = ratio(movie.duration, movie.timescale)
            .filter(|d| *d > 0.0)
            .or_else(|| ratio(movie.fragment_duration, movie.timescale).filter(|d| *d > 0.0))
            .or_else(|| track_duration(&movie, track));
        return Ok(Probed {
            width: Some(width),
            height: Some(height),
            duration,
            format,
        }
        .rotated(track.quarter_turn));
    }
    // Audio: the edit list leaves out the encoder's priming samples.
    let duration = track_duration(&movie, track)
        .or_else(|| ratio(movie.duration, movie.timescale).filter(|d| *d > 0.0));
    Ok(Probed::audio(format, duration))
}

/// The presented duration of one track: its edit list, or its media duration less the priming.
fn track_duration(movie: &Movie, track: &Track) -> Option<f64> {
    match track.edits {
        Some((segments, _)) if segments > 0 => ratio(segments, movie.timescale),
        Some((_, media_start)) => ratio(
            track.media_duration.saturating_sub(media_start),
            track.media_timescale,
        ),
        None => ratio(track.media_duration, track.media_timescale),
    }
    .filter(|d| *d > 0.0)
}

fn find_moov(r: &mut Reader<'_>) -> Result<BoxHeader, ProbeError> {
    let mut at = 0;
    for _ in 0..MAX_CHILDREN {
        r.tick()?;
        let Some(head) = read_header(r, at, r.len())? else {
            break;
        };
        if &head.kind == b"moov" {
            return Ok(head);
        }
        if head.truncated {
            break;
        }
        at = head.end;
    }
    Err(malformed("no moov box (truncated file?)"))
}

/// Calls `f` with each child box of `parent`, skipping payloads it does not read.
fn children(
    r: &mut Reader<'_>,
    parent: &BoxHeader,
    skip: u64,
    mut f: impl FnMut(&mut Reader<'_>, &BoxHeader) -> Result<(), ProbeError>,
) -> Result<(), ProbeError> {
    let mut at = parent.body.saturating_add(skip);
    for _ in 0..MAX_CHILDREN {
        r.tick()?;
        let Some(head) = read_header(r, at, parent.end)? else {
            return Ok(());
        };
        f(r, &head)?;
        if head.end <= at {
            return Ok(());
        }
        at = head.end;
    }
    Ok(())
}

fn leaf(r: &mut Reader<'_>, head: &BoxHeader) -> Result<Vec<u8>, ProbeError> {
    r.bytes_at(head.body, (head.end - head.body).min(MAX_LEAF))
}

fn parse_moov(r: &mut Reader<'_>, moov: &BoxHeader) -> Result<Movie, ProbeError> {
    let mut movie = Movie::default();
    children(r, moov, 0, |r, head| {
        match &head.kind {
            b"mvhd" => {
                let body = leaf(r, head)?;
                (movie.timescale, movie.duration) = header_times(&body);
            }
            b"mvex" => children(r, head, 0, |r, head| {
                if &head.kind == b"mehd" {
                    let body = leaf(r, head)?;
                    movie.fragment_duration = if u8_at(&body, 0) == Some(1) {
                        be64(&body, 4).unwrap_or(0)
                    } else {
                        u64::from(be32(&body, 4).unwrap_or(0))
                    };
                }
                Ok(())
            })?,
            b"trak" => movie.tracks.push(parse_trak(r, head)?),
            _ => {}
        }
        Ok(())
    })?;
    Ok(movie)
}

/// `(timescale, duration)` of an `mvhd` or `mdhd` payload, version 0 or 1.
fn header_times(body: &[u8]) -> (u64, u64) {
    let (timescale, duration) = if u8_at(body, 0) == Some(1) {
        (be32(body, 20), be64(body, 24))
    } else {
        (be32(body, 12), be32(body, 16).map(u64::from))
    };
    let duration = duration.filter(|d| *d != u64::from(u32::MAX) && *d != u64::MAX);
    (u64::from(timescale.unwrap_or(0)), duration.unwrap_or(0))
}

fn parse_trak(r: &mut Reader<'_>, trak: &BoxHeader) -> Result<Track, ProbeError> {
    let mut track = Track::default();
    children(r, trak, 0, |r, head| {
        match &head.kind {
            b"tkhd" => parse_tkhd(&leaf(r, head)?, &mut track),
            b"edts" => children(r, head, 0, |r, head| {
                if &head.kind == b"elst" {
                    track.edits = Some(parse_elst(&leaf(r, head)?));
                }
                Ok(())
            })?,
            b"mdia" => children(r, head, 0, |r, head| {
                match &head.kind {
                    b"mdhd" => {
                        (track.media_timescale, track.media_duration) =
                            header_times(&leaf(r, head)?);
                    }
                    b"hdlr" => {
                        let body = leaf(r, head)?;
                        if let Some(kind) = sub(&body, 8, 4) {
                            track.handler.copy_from_slice(kind);
                        }
                    }
                    b"minf" => children(r, head, 0, |r, head| {
                        if &head.kind == b"stbl" {
                            children(r, head, 0, |r, head| {
                                if &head.kind == b"stsd" {
                                    let body = leaf(r, head)?;
                                    track.entry_width = u32::from(be16(&body, 40).unwrap_or(0));
                                    track.entry_height = u32::from(be16(&body, 42).unwrap_or(0));
                                }
                                Ok(())
                            })?;
                        }
                        Ok(())
                    })?,
                    _ => {}
                }
                Ok(())
            })?,
            _ => {}
        }
        Ok(())
    })?;
    Ok(track)
}

fn parse_tkhd(body: &[u8], track: &mut Track) {
    let (matrix, size) = if u8_at(body, 0) == Some(1) {
        (52, 88)
    } else {
        (40, 76)
    };
    let fixed = |at| be32(body, at).map_or(0, |v| (v.saturating_add(0x8000)) >> 16);
    track.width = fixed(size);
    track.height = fixed(size + 4);
    let m = |i: usize| be32(body, matrix + 4 * i).map_or(0, |v| v as i32);
    // [a b u; c d v; x y w]: a quarter turn has a = d = 0 and b, c = ±1.
    let (a, b, c, d) = (m(0), m(1), m(3), m(4));
    track.quarter_turn = a == 0 && d == 0 && b != 0 && c != 0;
}

/// Sum of the non-empty segments' durations and the first non-empty segment's media start.
fn parse_elst(body: &[u8]) -> (u64, u64) {
    let v1 = u8_at(body, 0) == Some(1);
    let count = be32(body, 4).unwrap_or(0) as usize;
    let entry = if v1 { 20 } else { 12 };
    let mut total = 0u64;
    let mut start = None;
    for i in 0..count.min(MAX_EDITS) {
        let at = 8 + i * entry;
        let (segment, media_time) = if v1 {
            (be64(body, at), be64(body, at + 8).map(|t| t as i64))
        } else {
            (
                be32(body, at).map(u64::from),
                be32(body, at + 4).map(|t| i64::from(t as i32)),
            )
        };
        let (Some(segment), Some(media_time)) = (segment, media_time) else {
            break;
        };
        if media_time < 0 {
            continue; // an empty edit (a delay), not presented media
        }
        total = total.saturating_add(segment);
        start.get_or_insert(media_time.unsigned_abs());
    }
    (total, start.unwrap_or(0))
}
