//! Bounds-checked integer reads from byte slices: `None` instead of a panic past the end.

pub(crate) fn sub(data: &[u8], at: usize, len: usize) -> Option<&[u8]> {
    data.get(at..at.checked_add(len)?)
}

pub(crate) fn arr<const N: usize>(data: &[u8], at: usize) -> Option<[u8; N]> {
    sub(data, at, N)?.try_into().ok()
}

pub(crate) fn u8_at(data: &[u8], at: usize) -> Option<u8> {
    data.get(at).copied()
}

pub(crate) fn be16(data: &[u8], at: usize) -> Option<u16> {
    arr(data, at).map(u16::from_be_bytes)
}

pub(crate) fn le16(data: &[u8], at: usize) -> Option<u16> {
    arr(data, at).map(u16::from_le_bytes)
}

pub(crate) fn le24(data: &[u8], at: usize) -> Option<u32> {
    let [a, b, c] = arr(data, at)?;
    Some(u32::from_le_bytes([a, b, c, 0]))
}

pub(crate) fn be32(data: &[u8], at: usize) -> Option<u32> {
    arr(data, at).map(u32::from_be_bytes)
}

pub(crate) fn le32(data: &[u8], at: usize) -> Option<u32> {
    arr(data, at).map(u32::from_le_bytes)
}

pub(crate) fn be64(data: &[u8], at: usize) -> Option<u64> {
    arr(data, at).map(u64::from_be_bytes)
}

pub(crate) fn le64(data: &[u8], at: usize) -> Option<u64> {
    arr(data, at).map(u64::from_le_bytes)
}

/// A finite, non-negative duration in seconds, or `None`.
pub(crate) fn seconds(value: f64) -> Option<f64> {
    (value.is_finite() && value >= 0.0).then_some(value)
}

/// `count / rate` seconds, `None` for a zero rate.
pub(crate) fn ratio(count: u64, rate: u64) -> Option<f64> {
    if rate == 0 {
        return None;
    }
    seconds(count as f64 / rate as f64)
}
