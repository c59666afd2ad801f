//! HEIF and AVIF stills: the primary item's `ispe` size, turned a quarter by its `irot` (angle 1
//! or 3), following the `pitm` → `ipma` → `ipco` property associations inside `meta`. EXIF
//! orientation is ignored, as HEIF requires (the transform properties are authoritative). Complete
//! when the primary item has a location and every item's extents stored in the file (`iloc`,
//! construction method 0) fit in the object; the coded data itself is never read.

use crate::bin::{be16, be32, be64, u8_at};
use crate::container::isobmff::{self, find, read_header};
use crate::error::{ProbeError, malformed, truncated};
use crate::image::nonzero;
use crate::probe::Probed;
use crate::reader::{MAX_ELEMENT, Reader};

/// Top-level boxes looked at before `meta` must have shown up.
const MAX_TOP_BOXES: u32 = 64;

pub fn probe(r: &mut Reader<'_>, format: &'static str) -> Result<Probed, ProbeError> {
    let mut at = 0;
    for _ in 0..MAX_TOP_BOXES {
        let Some(head) = read_header(r, at, r.len())? else {
            break;
        };
        if &head.kind == b"meta" {
            if head.end - head.body > MAX_ELEMENT {
                return Err(malformed("meta box too large"));
            }
            if head.truncated {
                return Err(truncated(format!(
                    "meta box does not fit in the object's {} bytes",
                    r.len()
                )));
            }
            let meta = r.bytes_at(head.body, head.end - head.body)?;
            let (probed, item) = primary(&meta, format)?;
            let end = item_data_end(&meta, item)?;
            r.ensure_within("item data", end)?;
            return Ok(probed);
        }
        at = head.end;
    }
    Err(malformed("no meta box"))
}

/// The primary item's displayed size, and the item's ID.
fn primary(meta: &[u8], format: &'static str) -> Result<(Probed, u32), ProbeError> {
    // meta is a FullBox: version and flags come first.
    let children = meta.get(4..).ok_or_else(|| malformed("truncated meta"))?;
    let pitm = find(children, b"pitm").ok_or_else(|| malformed("no primary item"))?;
    let item = if u8_at(pitm, 0) == Some(0) {
        be16(pitm, 4).map(u32::from)
    } else {
        be32(pitm, 4)
    }
    .ok_or_else(|| malformed("truncated pitm"))?;
    let iprp = find(children, b"iprp").ok_or_else(|| malformed("no iprp"))?;
    let ipco = find(iprp, b"ipco").ok_or_else(|| malformed("no ipco"))?;
    let properties: Vec<([u8; 4], &[u8])> = isobmff::boxes(ipco).collect();
    let mut size = None;
    let mut quarter = false;
    for ipma in isobmff::boxes(iprp).filter(|(k, _)| k == b"ipma") {
        for index in associations(ipma.1, item) {
            let Some((kind, body)) = index.checked_sub(1).and_then(|i| properties.get(i)) else {
                continue;
            };
            match kind {
                b"ispe" if size.is_none() => size = Some((be32(body, 4), be32(body, 8))),
                b"irot" => quarter = matches!(u8_at(body, 0).map(|a| a & 3), Some(1 | 3)),
                _ => {}
            }
        }
    }
    let Some((Some(width), Some(height))) = size else {
        return Err(malformed("no ispe for the primary item"));
    };
    let (width, height) = nonzero(width, height)?;
    Ok((Probed::still(format, width, height).rotated(quarter), item))
}

/// The end of the item data stored in the file: the largest base offset + extent offset + extent
/// length over every item of `iloc` with construction method 0 (file offsets; 1 is inside `idat`,
/// already part of `meta`). A primary item without a location has no data at all.
fn item_data_end(meta: &[u8], primary: u32) -> Result<u64, ProbeError> {
    let children = meta.get(4..).unwrap_or_default();
    let iloc = find(children, b"iloc").ok_or_else(|| malformed("no iloc"))?;
    let bad = || malformed("bad iloc");
    let version = u8_at(iloc, 0).ok_or_else(bad)?;
    let sizes = u8_at(iloc, 4).ok_or_else(bad)?;
    let more = u8_at(iloc, 5).ok_or_else(bad)?;
    let (offset_size, length_size, base_size) = (sizes >> 4, sizes & 15, more >> 4);
    let index_size = if version >= 1 { more & 15 } else { 0 };
    let (count, mut at) = if version < 2 {
        (be16(iloc, 6).map(u32::from), 8)
    } else {
        (be32(iloc, 6), 10)
    };
    let count = count.ok_or_else(bad)?;
    let mut end = 0u64;
    let mut found = false;
    for _ in 0..count {
        let id = if version < 2 {
            be16(iloc, at).map(u32::from)
        } else {
            be32(iloc, at)
        }
        .ok_or_else(bad)?;
        at += if version < 2 { 2 } else { 4 };
        let method = if version >= 1 {
            let method = be16(iloc, at).ok_or_else(bad)? & 15;
            at += 2;
            method
        } else {
            0
        };
        at += 2; // data_reference_index
        let base = sized(iloc, &mut at, base_size).ok_or_else(bad)?;
        let extents = be16(iloc, at).ok_or_else(bad)?;
        at += 2;
        found |= id == primary;
        // Extents of zero-sized fields say nothing, and looping over them would not advance.
        let extents =
            if usize::from(index_size) + usize::from(offset_size) + usize::from(length_size) == 0 {
                0
            } else {
                extents
            };
        for _ in 0..extents {
            sized(iloc, &mut at, index_size).ok_or_else(bad)?;
            let offset = sized(iloc, &mut at, offset_size).ok_or_else(bad)?;
            let length = sized(iloc, &mut at, length_size).ok_or_else(bad)?;
            if method == 0 {
                end = end.max(base.saturating_add(offset).saturating_add(length));
            }
        }
    }
    if !found {
        return Err(malformed("no location for the primary item"));
    }
    Ok(end)
}

/// A big-endian field of 0, 4 or 8 bytes at `*at` (iloc's sizes), moving `at` past it.
fn sized(data: &[u8], at: &mut usize, size: u8) -> Option<u64> {
    let value = match size {
        0 => Some(0),
        4 => be32(data, *at).map(u64::from),
        8 => be64(data, *at),
        _ => None,
    }?;
    *at += usize::from(size);
    Some(value)
}

/// The 1-based property indexes `ipma` associates with `item`.
fn associations(ipma: &[u8], item: u32) -> Vec<usize> {
    let version = u8_at(ipma, 0).unwrap_or(0);
    let wide_index = u8_at(ipma, 3).unwrap_or(0) & 1 == 1;
    let Some(count) = be32(ipma, 4) else {
        return Vec::new();
    };
    let mut at = 8usize;
    for _ in 0..count {
        let id = if version < 1 {
            be16(ipma, at).map(u32::from)
        } else {
            be32(ipma, at)
        };
        at = at.saturating_add(if version < 1 { 2 } else { 4 });
        let (Some(id), Some(n)) = (id, u8_at(ipma, at)) else {
            return Vec::new();
        };
        at = at.saturating_add(1);
        let mut found = Vec::new();
        for _ in 0..n {
            let index = if wide_index {
                be16(ipma, at).map(|v| usize::from(v & 0x7FFF))
            } else {
                u8_at(ipma, at).map(|v| usize::from(v & 0x7F))
            };
            at = at.saturating_add(if wide_index { 2 } else { 1 });
            found.extend(index);
        }
        if id == item {
            return found;
        }
        if at >= ipma.len() {
            break;
        }
    }
    Vec::new()
}
