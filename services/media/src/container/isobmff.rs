//! ISO-BMFF box headers: reading one from the budgeted reader (so large boxes like `mdat` are
//! skipped by seeking) and iterating the boxes of an in-memory payload.

use crate::bin::{be32, be64};
use crate::error::{ProbeError, malformed};
use crate::reader::Reader;

/// One box: its type and where its payload starts and ends.
#[derive(Debug, Clone, Copy)]
pub struct BoxHeader {
    pub kind: [u8; 4],
    pub body: u64,
    pub end: u64,
    /// The box claims to extend past its parent (or the file): the file is cut short.
    pub truncated: bool,
    /// Where the box says it ends (`end` is that, at most the parent's end).
    pub declared_end: u64,
}

/// The box at `at` inside a parent ending at `limit`, or `None` when no header fits.
pub fn read_header(
    r: &mut Reader<'_>,
    at: u64,
    limit: u64,
) -> Result<Option<BoxHeader>, ProbeError> {
    if at.saturating_add(8) > limit {
        return Ok(None);
    }
    let head = r.bytes_at(at, 8)?;
    let size = u64::from(be32(&head, 0).unwrap_or(0));
    let mut kind = [0u8; 4];
    kind.copy_from_slice(head.get(4..8).unwrap_or(&[0; 4]));
    let (size, header) = match size {
        0 => (limit - at, 8),
        1 => {
            let large = r.bytes_at(at + 8, 8)?;
            (be64(&large, 0).unwrap_or(0), 16)
        }
        n => (n, 8),
    };
    if size < header {
        return Err(malformed(format!(
            "bad size of box '{}'",
            String::from_utf8_lossy(&kind)
        )));
    }
    let end = at.saturating_add(size);
    Ok(Some(BoxHeader {
        kind,
        body: at + header,
        end: end.min(limit),
        truncated: end > limit,
        declared_end: end,
    }))
}

/// The boxes of an in-memory payload as `(type, payload)`; stops at the first malformed header.
pub fn boxes(data: &[u8]) -> impl Iterator<Item = ([u8; 4], &[u8])> {
    let mut rest = data;
    std::iter::from_fn(move || {
        let size = be32(rest, 0)? as usize;
        let kind: [u8; 4] = rest.get(4..8)?.try_into().ok()?;
        let (size, header) = match size {
            0 => (rest.len(), 8),
            1 => (usize::try_from(be64(rest, 8)?).ok()?, 16),
            n => (n, 8),
        };
        if size < header {
            return None;
        }
        let body = rest.get(header..size.min(rest.len()))?;
        rest = rest.get(size..).unwrap_or_default();
        Some((kind, body))
    })
}

/// The first child of type `kind` in an in-memory payload.
pub fn find<'a>(data: &'a [u8], kind: &[u8; 4]) -> Option<&'a [u8]> {
    boxes(data).find(|(k, _)| k == kind).map(|(_, body)| body)
}
