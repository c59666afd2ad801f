//! MP4, MOV and M4A: walks the box tree with range reads (`mdat` and sample tables are skipped
//! by seeking, so a movie whose `moov` sits after a huge `mdat` costs two small reads), then takes
//! the first video (or audio) track's display size from `tkhd` (its matrix's quarter turns swap
//! it) and the duration from `mvhd`, `mehd`, or the track's edit list and `mdhd`.
//!
//! Completeness: every top-level box fits in the object (for a fragmented movie the boxes after
//! `moov`, up to [`MAX_BOXES_AFTER_MOOV`], then the last fragment found in the tail), and each
//! track's last chunk (its `stco`/`co64` offset plus the sizes `stsz` gives its samples, which
//! `stsc` counts) ends within it. Only the tables' last entries are read.

use crate::bin::{be16, be32, be64, ratio, sub, u8_at};
use crate::container::isobmff::{BoxHeader, read_header};
use crate::error::{ProbeError, malformed, truncated};
use crate::probe::Probed;
use crate::reader::Reader;

/// Boxes visited in one container before giving up.
const MAX_CHILDREN: u32 = 100_000;
/// Leaf boxes larger than this are not loaded (real `tkhd`/`mvhd`/`mdhd` are ~100 bytes).
const MAX_LEAF: u64 = 64 * 1024;
/// Edit list entries read (real files have one or two).
const MAX_EDITS: usize = 1024;
/// Top-level boxes walked after `moov` (a fragmented movie has two per fragment).
const MAX_BOXES_AFTER_MOOV: u32 = 64;
/// Tail windows searched for a fragmented movie's last `moof`.
const TAIL_WINDOWS: [u64; 2] = [64 * 1024, 1024 * 1024];
/// Most `stsz` entries summed for the last chunk; past it the sum is a lower bound.
const MAX_LAST_CHUNK_SAMPLES: u64 = 16 * 1024;

#[derive(Debug, Default)]
struct Movie {
    timescale: u64,
    duration: u64,
    fragment_duration: u64,
    /// `mvex` present: the samples are in movie fragments, not in `moov`'s sample tables.
    fragmented: bool,
    tracks: Vec<Track>,
}

/// Where a track's sample tables are, to find the end of its last chunk.
#[derive(Debug, Default, Clone, Copy)]
struct SampleTables {
    /// `stco` or `co64` (true).
    chunk_offsets: Option<(BoxHeader, bool)>,
    sample_sizes: Option<BoxHeader>,
    sample_to_chunk: Option<BoxHeader>,
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
    tables: SampleTables,
}

pub fn probe(
    r: &mut Reader<'_>,
    format: &'static str,
    want_video: bool,
) -> Result<Probed, ProbeError> {
    let moov = find_moov(r)?;
    let movie = parse_moov(r, &moov)?;
    check_complete(r, &moov, &movie)?;
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
        if head.truncated {
            return Err(box_truncated(r, &head));
        }
        if &head.kind == b"moov" {
            return Ok(head);
        }
        at = head.end;
    }
    Err(malformed("no moov box"))
}

/// `truncated: box 'mdat' ends at byte … but the object has … bytes`.
fn box_truncated(r: &Reader<'_>, head: &BoxHeader) -> ProbeError {
    truncated(format!(
        "box '{}' ends at byte {} but the object has {} bytes",
        String::from_utf8_lossy(&head.kind),
        head.declared_end,
        r.len()
    ))
}

/// The object holds what the movie promises: top-level boxes, and every track's sample data.
fn check_complete(r: &mut Reader<'_>, moov: &BoxHeader, movie: &Movie) -> Result<(), ProbeError> {
    let reached_end = check_boxes_from(r, moov.end)?;
    if !reached_end && movie.fragmented {
        check_last_fragment(r)?;
    }
    for (index, track) in movie.tracks.iter().enumerate() {
        if let Some(end) = last_chunk_end(r, &track.tables)? {
            r.ensure_within(&format!("sample data of track {}", index + 1), end)?;
        }
    }
    Ok(())
}

/// Walks top-level boxes from `at`: each must fit in the object. Bytes that do not start with a
/// box type (zero padding, trailing garbage) end the walk, as do fewer than 8 bytes left. `true`
/// when the walk got to that end, `false` when it stopped at [`MAX_BOXES_AFTER_MOOV`].
fn check_boxes_from(r: &mut Reader<'_>, mut at: u64) -> Result<bool, ProbeError> {
    for _ in 0..MAX_BOXES_AFTER_MOOV {
        r.tick()?;
        if at.saturating_add(8) > r.len() {
            return Ok(true);
        }
        let raw = r.bytes_at(at, 8)?;
        if !raw
            .get(4..8)
            .is_some_and(|kind| kind.iter().all(|b| b.is_ascii_alphanumeric() || *b == b' '))
        {
            return Ok(true);
        }
        let Some(head) = read_header(r, at, r.len())? else {
            return Ok(true);
        };
        if head.truncated {
            return Err(box_truncated(r, &head));
        }
        if head.end <= at {
            return Ok(true);
        }
        at = head.end;
    }
    Ok(false)
}

/// A fragmented movie with more fragments than are walked: the last `moof` (recognised by its
/// `mfhd` first child) in a tail window, and the boxes from it on, must fit. When no `moof` is
/// found near the end (a last fragment larger than the windows), nothing more is checked.
fn check_last_fragment(r: &mut Reader<'_>) -> Result<(), ProbeError> {
    for window in TAIL_WINDOWS {
        let (start, tail) = r.tail(0, window)?;
        let found = tail.windows(4).enumerate().rev().find(|(i, w)| {
            *w == b"moof" && *i >= 4 && tail.get(i + 8..i + 12) == Some(b"mfhd".as_slice())
        });
        if let Some((i, _)) = found {
            check_boxes_from(r, start + i as u64 - 4)?;
            return Ok(());
        }
        if start == 0 {
            break;
        }
    }
    Ok(())
}

/// The end of a track's last chunk: its offset (last `stco`/`co64` entry) plus the sizes of the
/// samples in it (the last `stsc` entry's samples per chunk, the last `stsz` entries). `None` for
/// a track without samples in `moov` (fragmented, or empty).
fn last_chunk_end(r: &mut Reader<'_>, tables: &SampleTables) -> Result<Option<u64>, ProbeError> {
    let Some((stco, wide)) = tables.chunk_offsets else {
        return Ok(None);
    };
    let chunks = u64::from(table_u32(r, &stco, 4)?);
    if chunks == 0 {
        return Ok(None);
    }
    let width = if wide { 8 } else { 4 };
    let entry = 8 + (chunks - 1) * width;
    let offset = if wide {
        be64(&table_bytes(r, &stco, entry, 8)?, 0).unwrap_or(0)
    } else {
        u64::from(table_u32(r, &stco, entry)?)
    };
    let per_chunk = match tables.sample_to_chunk {
        Some(stsc) => match u64::from(table_u32(r, &stsc, 4)?) {
            0 => 1,
            entries => u64::from(table_u32(r, &stsc, 8 + (entries - 1) * 12 + 4)?),
        },
        None => 1,
    };
    let bytes = match tables.sample_sizes {
        Some(stsz) => {
            let fixed = u64::from(table_u32(r, &stsz, 4)?);
            let samples = u64::from(table_u32(r, &stsz, 8)?);
            let last = per_chunk.min(samples);
            if fixed != 0 {
                fixed.saturating_mul(last)
            } else {
                let summed = last.min(MAX_LAST_CHUNK_SAMPLES);
                let sizes = table_bytes(r, &stsz, 12 + (samples - summed) * 4, summed * 4)?;
                sizes
                    .chunks_exact(4)
                    .map(|s| u64::from(be32(s, 0).unwrap_or(0)))
                    .fold(0u64, u64::saturating_add)
            }
        }
        // `stz2` (compact sizes) is not read: the chunk must at least start within the object.
        None => 1,
    };
    Ok(Some(offset.saturating_add(bytes)))
}

/// `len` bytes at `at` in a sample table's payload, which must hold them.
fn table_bytes(
    r: &mut Reader<'_>,
    table: &BoxHeader,
    at: u64,
    len: u64,
) -> Result<Vec<u8>, ProbeError> {
    let start = table.body.saturating_add(at);
    if start.saturating_add(len) > table.end {
        return Err(malformed(format!(
            "box '{}' is shorter than its entry count",
            String::from_utf8_lossy(&table.kind)
        )));
    }
    r.bytes_at(start, len)
}

fn table_u32(r: &mut Reader<'_>, table: &BoxHeader, at: u64) -> Result<u32, ProbeError> {
    Ok(be32(&table_bytes(r, table, at, 4)?, 0).unwrap_or(0))
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
            b"mvex" => {
                movie.fragmented = true;
                children(r, head, 0, |r, head| {
                    if &head.kind == b"mehd" {
                        let body = leaf(r, head)?;
                        movie.fragment_duration = if u8_at(&body, 0) == Some(1) {
                            be64(&body, 4).unwrap_or(0)
                        } else {
                            u64::from(be32(&body, 4).unwrap_or(0))
                        };
                    }
                    Ok(())
                })?;
            }
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
                                match &head.kind {
                                    b"stsd" => {
                                        let body = leaf(r, head)?;
                                        track.entry_width = u32::from(be16(&body, 40).unwrap_or(0));
                                        track.entry_height =
                                            u32::from(be16(&body, 42).unwrap_or(0));
                                    }
                                    b"stco" => track.tables.chunk_offsets = Some((*head, false)),
                                    b"co64" => track.tables.chunk_offsets = Some((*head, true)),
                                    b"stsz" => track.tables.sample_sizes = Some(*head),
                                    b"stsc" => track.tables.sample_to_chunk = Some(*head),
                                    _ => {}
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
