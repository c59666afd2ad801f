//! EBML, Matroska's encoding: variable-length IDs and sizes (including the "unknown" size of
//! live streams), read either from the budgeted reader or from an in-memory payload.

use crate::error::{ProbeError, malformed};
use crate::reader::Reader;

/// One element: its ID, where its data starts, and where it ends (`None` for an unknown size).
#[derive(Debug, Clone, Copy)]
pub struct Element {
    pub id: u32,
    pub data: u64,
    pub size: Option<u64>,
}

impl Element {
    /// The end of the data, at most `limit` (an unknown size runs to `limit`).
    pub fn end(&self, limit: u64) -> u64 {
        self.size
            .and_then(|s| self.data.checked_add(s))
            .map_or(limit, |e| e.min(limit))
    }
}

/// Decodes a variable-length integer at the start of `bytes`: `(value, length, all_ones)`.
/// `keep_marker` keeps the length marker bit (as element IDs do).
pub fn vint(bytes: &[u8], keep_marker: bool, max_len: u32) -> Option<(u64, usize, bool)> {
    let first = *bytes.first()?;
    let len = first.leading_zeros() + 1;
    if len > max_len {
        return None;
    }
    let len = len as usize;
    // len <= 8, so the mask fits: 0x7F for one byte ... 0x00 for eight.
    let mask = (0xFFu16 >> len) as u8;
    let mut value = u64::from(if keep_marker { first } else { first & mask });
    let mut all_ones = value == u64::from(mask);
    for &b in bytes.get(1..len)? {
        value = (value << 8) | u64::from(b);
        all_ones &= b == 0xFF;
    }
    Some((value, len, all_ones && !keep_marker))
}

/// Reads the element header at `at`.
pub fn read_element(r: &mut Reader<'_>, at: u64) -> Result<Element, ProbeError> {
    let mut head = [0u8; 12];
    let n = r.read_at(at, &mut head)?;
    let head = head.get(..n).unwrap_or_default();
    let (id, id_len) = element_id(head).ok_or_else(|| malformed("bad element ID"))?;
    let (size, size_len, unknown) = head
        .get(id_len..)
        .and_then(|rest| vint(rest, false, 8))
        .ok_or_else(|| malformed("bad element size"))?;
    Ok(Element {
        id,
        data: at.saturating_add((id_len + size_len) as u64),
        size: (!unknown).then_some(size),
    })
}

fn element_id(bytes: &[u8]) -> Option<(u32, usize)> {
    let (id, len, _) = vint(bytes, true, 4)?;
    Some((u32::try_from(id).ok()?, len))
}

/// The child elements of an in-memory payload as `(id, data)`; stops at the first bad header or
/// an unknown size.
pub fn elements(data: &[u8]) -> impl Iterator<Item = (u32, &[u8])> {
    let mut rest = data;
    std::iter::from_fn(move || {
        let (id, id_len) = element_id(rest)?;
        let (size, size_len, unknown) = vint(rest.get(id_len..)?, false, 8)?;
        if unknown {
            return None;
        }
        let start = id_len + size_len;
        let end = start.checked_add(usize::try_from(size).ok()?)?;
        let body = rest.get(start..end.min(rest.len()))?;
        rest = rest.get(end..).unwrap_or_default();
        Some((id, body))
    })
}

/// An unsigned integer element (0 to 8 bytes, big-endian).
pub fn uint(data: &[u8]) -> Option<u64> {
    if data.len() > 8 {
        return None;
    }
    Some(data.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b)))
}

/// A float element (4 or 8 bytes).
pub fn float(data: &[u8]) -> Option<f64> {
    match data.len() {
        4 => Some(f64::from(f32::from_be_bytes(data.try_into().ok()?))),
        8 => Some(f64::from_be_bytes(data.try_into().ok()?)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vints() {
        assert_eq!(vint(&[0x81], false, 8), Some((1, 1, false)));
        assert_eq!(vint(&[0x40, 0x02], false, 8), Some((2, 2, false)));
        assert_eq!(vint(&[0xFF], false, 8), Some((0x7F, 1, true)));
        assert_eq!(
            vint(&[0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF], false, 8).map(|v| v.2),
            Some(true)
        );
        assert_eq!(
            vint(&[0x1A, 0x45, 0xDF, 0xA3], true, 4),
            Some((0x1A45DFA3, 4, false))
        );
        assert_eq!(vint(&[0x00], false, 8), None);
        assert_eq!(vint(&[0x40], false, 8), None);
    }
}
