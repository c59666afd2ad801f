//! HEIF and AVIF stills: the primary item's `ispe` size, turned a quarter by its `irot` (angle 1
//! or 3), following the `pitm` → `ipma` → `ipco` property associations inside `meta`. EXIF
//! orientation is ignored, as HEIF requires (the transform properties are authoritative).

use crate::bin::{be16, be32, u8_at};
use crate::container::isobmff::{self, find, read_header};
use crate::error::{ProbeError, malformed};
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
            let meta = r.bytes_at(head.body, head.end - head.body)?;
            return primary(&meta, format);
        }
        at = head.end;
    }
    Err(malformed("no meta box"))
}

fn primary(meta: &[u8], format: &'static str) -> Result<Probed, ProbeError> {
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
    Ok(Probed::still(format, width, height).rotated(quarter))
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
