//! Matroska and WebM: walks the Segment's top-level elements (following SeekHead when Info or
//! Tracks come late) for TimestampScale, Duration and the video track's size (DisplayWidth/Height
//! when in pixels). Without a Duration (MediaRecorder and other live streams, often with
//! unknown-size clusters) it finds the end time from the last cluster: through Cues when present,
//! else by locating a cluster near the tail, else by a forward scan of block headers; every path
//! is bounded by the reader's budget.
//!
//! Completeness: a Segment of known size fits in the object, every top-level element walked before
//! the first Cluster fits, a Cluster is present, and the last cluster (the one the last cue point
//! names, else for a Segment of unknown size the last one found in the tail) fits: its size when
//! known, else each of its children up to the end.

use crate::container::ebml::{Element, elements, float, read_element, uint, vint};
use crate::error::{ProbeError, malformed, truncated};
use crate::probe::Probed;
use crate::reader::{MAX_ELEMENT, Reader};

const EBML: u32 = 0x1A45_DFA3;
const DOC_TYPE: u32 = 0x4282;
const SEGMENT: u32 = 0x1853_8067;
const SEEK_HEAD: u32 = 0x114D_9B74;
const SEEK: u32 = 0x4DBB;
const SEEK_ID: u32 = 0x53AB;
const SEEK_POSITION: u32 = 0x53AC;
const INFO: u32 = 0x1549_A966;
const TIMESTAMP_SCALE: u32 = 0x2A_D7B1;
const DURATION: u32 = 0x4489;
const TRACKS: u32 = 0x1654_AE6B;
const TRACK_ENTRY: u32 = 0xAE;
const TRACK_NUMBER: u32 = 0xD7;
const TRACK_TYPE: u32 = 0x83;
const DEFAULT_DURATION: u32 = 0x23_E383;
const VIDEO: u32 = 0xE0;
const PIXEL_WIDTH: u32 = 0xB0;
const PIXEL_HEIGHT: u32 = 0xBA;
const DISPLAY_WIDTH: u32 = 0x54B0;
const DISPLAY_HEIGHT: u32 = 0x54BA;
const DISPLAY_UNIT: u32 = 0x54B2;
const CUES: u32 = 0x1C53_BB6B;
const CUE_POINT: u32 = 0xBB;
const CUE_TRACK_POSITIONS: u32 = 0xB7;
const CUE_CLUSTER_POSITION: u32 = 0xF1;
const CLUSTER: u32 = 0x1F43_B675;
const TIMESTAMP: u32 = 0xE7;
const SIMPLE_BLOCK: u32 = 0xA3;
const BLOCK_GROUP: u32 = 0xA0;
const BLOCK: u32 = 0xA1;
const BLOCK_DURATION: u32 = 0x9B;
/// Top-level IDs: inside an unknown-size cluster, one of these ends the cluster.
const TOP_LEVEL: [u32; 9] = [
    CLUSTER,
    CUES,
    SEEK_HEAD,
    INFO,
    TRACKS,
    0x1043_A770,
    0x1941_A469,
    0x1254_C367,
    SEGMENT,
];
/// Top-level elements walked before the first cluster.
const MAX_TOP: u32 = 4096;
/// How much of the tail is searched for the last cluster, in growing windows.
const TAIL_WINDOWS: [u64; 2] = [1024 * 1024, 4 * 1024 * 1024];

#[derive(Debug, Default)]
struct TrackInfo {
    number: u64,
    kind: u64,
    default_duration_ns: u64,
    pixel: (u64, u64),
    display: (u64, u64),
    display_unit: u64,
}

#[derive(Debug, Default)]
struct Segment {
    data: u64,
    end: u64,
    scale: u64,
    duration: Option<f64>,
    tracks: Vec<TrackInfo>,
    seen_info: bool,
    seen_tracks: bool,
    info_at: Option<u64>,
    tracks_at: Option<u64>,
    cues_at: Option<u64>,
    first_cluster: Option<u64>,
}

pub fn probe(r: &mut Reader<'_>, want_video: bool) -> Result<Probed, ProbeError> {
    let header = read_element(r, 0)?;
    if header.id != EBML {
        return Err(malformed("no EBML header"));
    }
    let body = load(r, &header, r.len())?;
    let doc_type = elements(&body)
        .find(|(id, _)| *id == DOC_TYPE)
        .map(|(_, v)| v.to_vec())
        .unwrap_or_default();
    let format = if doc_type.starts_with(b"webm") {
        "webm"
    } else {
        "mkv"
    };

    let segment = find_segment(r, header.end(r.len()))?;
    let mut seg = Segment {
        data: segment.data,
        end: segment.end(r.len()),
        scale: 1_000_000,
        ..Segment::default()
    };
    walk_top(r, &mut seg)?;
    check_complete(r, &seg, &segment)?;
    for (at, is_info) in [(seg.info_at, true), (seg.tracks_at, false)] {
        let missing = if is_info {
            !seg.seen_info
        } else {
            !seg.seen_tracks
        };
        if let (true, Some(at)) = (missing, at) {
            let el = read_element(r, at)?;
            if el.id == if is_info { INFO } else { TRACKS } {
                let data = load(r, &el, seg.end)?;
                if is_info {
                    parse_info(&data, &mut seg);
                } else {
                    parse_tracks(&data, &mut seg);
                }
            }
        }
    }
    if !seg.seen_info {
        return Err(malformed("no Info element"));
    }

    let (width, height) = if want_video {
        let track = seg
            .tracks
            .iter()
            .find(|t| t.kind == 1)
            .ok_or_else(|| malformed("no video track"))?;
        let (pw, ph) = track.pixel;
        let (dw, dh) = track.display;
        let (w, h) = if track.display_unit == 0 && dw > 0 && dh > 0 {
            (dw, dh)
        } else {
            (pw, ph)
        };
        let (Ok(w), Ok(h)) = (u32::try_from(w), u32::try_from(h)) else {
            return Err(malformed("video size out of range"));
        };
        if w == 0 || h == 0 {
            return Err(malformed("video track has no size"));
        }
        (Some(w), Some(h))
    } else {
        (None, None)
    };

    let duration = match seg.duration {
        Some(d) => Some(d * seg.scale as f64 / 1e9),
        None => cluster_duration(r, &seg)?,
    }
    .filter(|d| d.is_finite() && *d >= 0.0);
    Ok(Probed {
        width,
        height,
        duration,
        format,
    })
}

/// Loads a (small) element's data into memory.
fn load(r: &mut Reader<'_>, el: &Element, limit: u64) -> Result<Vec<u8>, ProbeError> {
    let end = el.end(limit);
    let len = end.saturating_sub(el.data);
    if len > MAX_ELEMENT {
        return Err(malformed("element too large"));
    }
    r.bytes_at(el.data, len)
}

fn find_segment(r: &mut Reader<'_>, mut at: u64) -> Result<Element, ProbeError> {
    for _ in 0..16 {
        let el = read_element(r, at)?;
        if el.id == SEGMENT {
            return Ok(el);
        }
        let Some(size) = el.size else {
            break;
        };
        at = el.data.saturating_add(size);
    }
    Err(malformed("no Segment"))
}

/// Walks the top-level elements up to the first Cluster; each one before it must fit in the
/// object, and the walk must find a Cluster.
fn walk_top(r: &mut Reader<'_>, seg: &mut Segment) -> Result<(), ProbeError> {
    let mut at = seg.data;
    for _ in 0..MAX_TOP {
        r.tick()?;
        if at >= seg.end {
            return Err(truncated(format!(
                "no Cluster in the object's {} bytes",
                r.len()
            )));
        }
        let el = read_element(r, at)?;
        if el.id != CLUSTER
            && let Some(size) = el.size
        {
            r.ensure_within(
                &format!("element 0x{:X}", el.id),
                el.data.saturating_add(size),
            )?;
        }
        match el.id {
            SEEK_HEAD => parse_seek_head(&load(r, &el, seg.end)?, seg),
            INFO => parse_info(&load(r, &el, seg.end)?, seg),
            TRACKS => parse_tracks(&load(r, &el, seg.end)?, seg),
            CUES => seg.cues_at = Some(at),
            CLUSTER => {
                seg.first_cluster = Some(at);
                return Ok(());
            }
            _ => {}
        }
        if el.size.is_none() {
            break; // only a cluster may sensibly have an unknown size here
        }
        let end = el.end(seg.end);
        if end <= at {
            break;
        }
        at = end;
    }
    Err(malformed("no Cluster"))
}

/// The Segment's size, the Cues and the last cluster agree with the object's size (see the
/// module's doc); what is not known (no Cues and a Segment of known size that fits) needs nothing.
fn check_complete(r: &mut Reader<'_>, seg: &Segment, segment: &Element) -> Result<(), ProbeError> {
    if let Some(size) = segment.size {
        r.ensure_within("Segment", segment.data.saturating_add(size))?;
    }
    let last = if let Some(cues) = seg.cues_at {
        if cues >= r.len() {
            return Err(truncated(format!(
                "Cues at byte {cues} but the object has {} bytes",
                r.len()
            )));
        }
        let el = read_element(r, cues)?;
        if el.id == CUES
            && let Some(size) = el.size
        {
            r.ensure_within("Cues", el.data.saturating_add(size))?;
        }
        last_cluster_from_cues(r, seg)?
    } else if segment.size.is_none() {
        let first = seg.first_cluster.unwrap_or(seg.data);
        tail_cluster(r, seg, first)?
    } else {
        None
    };
    match last {
        Some(at) => check_cluster(r, at),
        None => Ok(()),
    }
}

/// The cluster at `at` fits in the object: its size when known; else (a live stream) each child
/// up to the next top-level element or the end. A child header cut at the end is truncation;
/// other bytes that are no element end the walk (padding or trailing garbage).
fn check_cluster(r: &mut Reader<'_>, at: u64) -> Result<(), ProbeError> {
    if at >= r.len() {
        return Err(truncated(format!(
            "last Cluster at byte {at} but the object has {} bytes",
            r.len()
        )));
    }
    let cluster = read_element(r, at)?;
    if cluster.id != CLUSTER {
        return Err(malformed(format!("no Cluster at byte {at}")));
    }
    if let Some(size) = cluster.size {
        return r.ensure_within("last Cluster", cluster.data.saturating_add(size));
    }
    let mut at = cluster.data;
    while at < r.len() {
        r.tick()?;
        let el = match read_element(r, at) {
            Ok(el) => el,
            // An element header is at most 12 bytes: a bad one closer to the end is a cut one.
            Err(ProbeError::Malformed(_)) if at.saturating_add(12) > r.len() => {
                return Err(truncated(format!(
                    "element header at byte {at} is cut by the end of the object ({} bytes)",
                    r.len()
                )));
            }
            Err(ProbeError::Malformed(_)) => return Ok(()),
            Err(err) => return Err(err),
        };
        if TOP_LEVEL.contains(&el.id) {
            return Ok(());
        }
        let Some(size) = el.size else {
            return Ok(());
        };
        let end = el.data.saturating_add(size);
        r.ensure_within("block in the last Cluster", end)?;
        at = end;
    }
    Ok(())
}

fn parse_seek_head(data: &[u8], seg: &mut Segment) {
    for (_, seek) in elements(data).filter(|(id, _)| *id == SEEK) {
        let mut id = None;
        let mut pos = None;
        for (child, value) in elements(seek) {
            match child {
                SEEK_ID => id = uint(value),
                SEEK_POSITION => pos = uint(value),
                _ => {}
            }
        }
        let Some(at) = pos.and_then(|p| seg.data.checked_add(p)) else {
            continue;
        };
        match id.and_then(|i| u32::try_from(i).ok()) {
            Some(INFO) => seg.info_at = Some(at),
            Some(TRACKS) => seg.tracks_at = Some(at),
            Some(CUES) => seg.cues_at = Some(at),
            _ => {}
        }
    }
}

fn parse_info(data: &[u8], seg: &mut Segment) {
    seg.seen_info = true;
    for (id, value) in elements(data) {
        match id {
            TIMESTAMP_SCALE => seg.scale = uint(value).filter(|s| *s > 0).unwrap_or(1_000_000),
            DURATION => seg.duration = float(value).filter(|d| d.is_finite() && *d > 0.0),
            _ => {}
        }
    }
}

fn parse_tracks(data: &[u8], seg: &mut Segment) {
    seg.seen_tracks = true;
    for (_, entry) in elements(data).filter(|(id, _)| *id == TRACK_ENTRY) {
        let mut track = TrackInfo::default();
        for (id, value) in elements(entry) {
            match id {
                TRACK_NUMBER => track.number = uint(value).unwrap_or(0),
                TRACK_TYPE => track.kind = uint(value).unwrap_or(0),
                DEFAULT_DURATION => track.default_duration_ns = uint(value).unwrap_or(0),
                VIDEO => {
                    for (id, value) in elements(value) {
                        let v = uint(value).unwrap_or(0);
                        match id {
                            PIXEL_WIDTH => track.pixel.0 = v,
                            PIXEL_HEIGHT => track.pixel.1 = v,
                            DISPLAY_WIDTH => track.display.0 = v,
                            DISPLAY_HEIGHT => track.display.1 = v,
                            DISPLAY_UNIT => track.display_unit = v,
                            _ => {}
                        }
                    }
                }
                _ => {}
            }
        }
        seg.tracks.push(track);
    }
}

/// The duration from block timestamps when Info has none: the end of the last block less the
/// first cluster's timestamp, in seconds.
fn cluster_duration(r: &mut Reader<'_>, seg: &Segment) -> Result<Option<f64>, ProbeError> {
    let Some(first) = seg.first_cluster else {
        return Ok(None);
    };
    let mut first_scan = Scan::default();
    scan_clusters(r, seg, first, Some(1), &mut first_scan)?;
    let start = first_scan.first_timestamp.unwrap_or(0);

    let mut scan = Scan::default();
    let from = match last_cluster_from_cues(r, seg)? {
        Some(at) => Some(at),
        None => tail_cluster(r, seg, first)?,
    };
    match from {
        Some(at) => scan_clusters(r, seg, at, None, &mut scan)?,
        None => scan_clusters(r, seg, first, None, &mut scan)?,
    }
    let Some(end) = scan.end else {
        return Ok(None);
    };
    let ticks = end.saturating_sub(i128::from(start)).max(0);
    Ok(Some(ticks as f64 * seg.scale as f64 / 1e9))
}

#[derive(Default)]
struct Scan {
    first_timestamp: Option<u64>,
    end: Option<i128>,
}

/// Walks clusters from `at` (at most `max_clusters`), recording the latest block end.
fn scan_clusters(
    r: &mut Reader<'_>,
    seg: &Segment,
    mut at: u64,
    max_clusters: Option<u32>,
    scan: &mut Scan,
) -> Result<(), ProbeError> {
    let mut clusters = 0u32;
    while at < seg.end {
        r.tick()?;
        if max_clusters.is_some_and(|max| clusters >= max) {
            break;
        }
        let el = match read_element(r, at) {
            Ok(el) => el,
            Err(ProbeError::Malformed(_)) => break, // a cut or damaged tail: keep what we have
            Err(err) => return Err(err),
        };
        if el.id != CLUSTER {
            match el.size {
                Some(_) if el.end(seg.end) > at => at = el.end(seg.end),
                _ => break,
            }
            continue;
        }
        clusters += 1;
        match walk_cluster(r, seg, &el, scan) {
            Ok(next) if next > at => at = next,
            Ok(_) => break,
            Err(ProbeError::Malformed(_)) => break,
            Err(err) => return Err(err),
        }
    }
    Ok(())
}

/// Walks one cluster's children; returns where the next top-level element starts.
fn walk_cluster(
    r: &mut Reader<'_>,
    seg: &Segment,
    cluster: &Element,
    scan: &mut Scan,
) -> Result<u64, ProbeError> {
    let end = cluster.end(seg.end);
    let mut timestamp = 0u64;
    let mut at = cluster.data;
    while at < end {
        r.tick()?;
        let el = read_element(r, at)?;
        if cluster.size.is_none() && TOP_LEVEL.contains(&el.id) {
            return Ok(at);
        }
        let Some(size) = el.size else {
            return Err(malformed("unknown-size element in a cluster"));
        };
        match el.id {
            TIMESTAMP => {
                timestamp = uint(&r.bytes_at(el.data, size.min(8))?).unwrap_or(0);
                scan.first_timestamp.get_or_insert(timestamp);
            }
            SIMPLE_BLOCK => block_end(r, seg, el.data, timestamp, None, scan)?,
            BLOCK_GROUP => {
                let group_end = el.end(end);
                let mut block_at = None;
                let mut duration = None;
                let mut child_at = el.data;
                while child_at < group_end {
                    r.tick()?;
                    let child = read_element(r, child_at)?;
                    let Some(child_size) = child.size else {
                        break;
                    };
                    match child.id {
                        BLOCK => block_at = Some(child.data),
                        BLOCK_DURATION => {
                            duration = uint(&r.bytes_at(child.data, child_size.min(8))?);
                        }
                        _ => {}
                    }
                    let next = child.data.saturating_add(child_size);
                    if next <= child_at {
                        break;
                    }
                    child_at = next;
                }
                if let Some(block_at) = block_at {
                    block_end(r, seg, block_at, timestamp, duration, scan)?;
                }
            }
            _ => {}
        }
        let next = el.data.saturating_add(size);
        if next <= at {
            break;
        }
        at = next;
    }
    Ok(end)
}

fn block_end(
    r: &mut Reader<'_>,
    seg: &Segment,
    at: u64,
    cluster_ts: u64,
    duration: Option<u64>,
    scan: &mut Scan,
) -> Result<(), ProbeError> {
    let mut head = [0u8; 11];
    let n = r.read_at(at, &mut head)?;
    record(
        seg,
        head.get(..n).unwrap_or_default(),
        cluster_ts,
        duration,
        scan,
    );
    Ok(())
}

/// Records the end of a block (track number, 16-bit relative timecode, ...).
fn record(seg: &Segment, block: &[u8], cluster_ts: u64, duration: Option<u64>, scan: &mut Scan) {
    let Some((track, len, _)) = vint(block, false, 8) else {
        return;
    };
    let Some(rel) = block.get(len..len + 2) else {
        return;
    };
    let rel = i16::from_be_bytes([rel[0], rel[1]]);
    let duration = duration.unwrap_or_else(|| {
        seg.tracks
            .iter()
            .find(|t| t.number == track)
            .map_or(0, |t| t.default_duration_ns / seg.scale.max(1))
    });
    let end = i128::from(cluster_ts) + i128::from(rel) + i128::from(duration);
    if scan.end.is_none_or(|e| end > e) {
        scan.end = Some(end);
    }
}

/// The position of the last cluster the Cues point at.
fn last_cluster_from_cues(r: &mut Reader<'_>, seg: &Segment) -> Result<Option<u64>, ProbeError> {
    let Some(at) = seg.cues_at else {
        return Ok(None);
    };
    let el = read_element(r, at)?;
    if el.id != CUES || el.size.is_none_or(|s| s > MAX_ELEMENT) {
        return Ok(None);
    }
    let cues = load(r, &el, seg.end)?;
    let last = elements(&cues)
        .filter(|(id, _)| *id == CUE_POINT)
        .flat_map(|(_, point)| elements(point).filter(|(id, _)| *id == CUE_TRACK_POSITIONS))
        .flat_map(|(_, pos)| elements(pos).filter(|(id, _)| *id == CUE_CLUSTER_POSITION))
        .filter_map(|(_, v)| uint(v))
        .max();
    Ok(last.and_then(|p| seg.data.checked_add(p)))
}

/// A Cluster ID found by searching is taken as one only if a Timestamp of at most 8 bytes follows
/// it, then a block (or Position/PrevSize): stray ID bytes inside frame data rarely pass both.
fn looks_like_cluster(r: &mut Reader<'_>, at: u64) -> bool {
    let Ok(el) = read_element(r, at) else {
        return false;
    };
    let Ok(ts) = read_element(r, el.data) else {
        return false;
    };
    let Some(size) = ts.size.filter(|s| *s <= 8 && ts.id == TIMESTAMP) else {
        return false;
    };
    read_element(r, ts.data.saturating_add(size))
        .is_ok_and(|next| matches!(next.id, SIMPLE_BLOCK | BLOCK_GROUP | 0xA7 | 0xAB))
}

/// A cluster near the end of the file: the last Cluster ID in a tail window followed by a
/// Timestamp element.
fn tail_cluster(r: &mut Reader<'_>, seg: &Segment, first: u64) -> Result<Option<u64>, ProbeError> {
    let id = CLUSTER.to_be_bytes();
    for window in TAIL_WINDOWS {
        let start = seg.end.saturating_sub(window).max(first);
        let tail = r.prefix_at(start, seg.end.saturating_sub(start))?;
        let mut end = tail.len();
        let mut candidates = 0u32;
        while let Some(i) = tail
            .get(..end)
            .and_then(|t| t.windows(4).rposition(|w| w == id))
        {
            let at = start.saturating_add(i as u64);
            if looks_like_cluster(r, at) {
                return Ok(Some(at));
            }
            end = i;
            candidates += 1;
            if candidates >= 256 {
                break;
            }
        }
        if start <= first {
            break;
        }
    }
    Ok(None)
}
