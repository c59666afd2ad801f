//! Paging of the list RPCs: page sizes, pages, and opaque keyset cursors (a row's (timestamp,
//! id) sort key, hex-encoded).
//!
//! A cursor is 48 lowercase hex digits: the sort timestamp (Unix microseconds, as the 16 hex digits
//! of its two's-complement u64) then the 32 digits of the row's UUID. Clients must treat it as
//! opaque; anything that does not decode is [`Error::PageCursorInvalid`].

use uuid::Uuid;

use crate::error::{Error, Result};

/// The key of the last row of a page; the next page starts strictly after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    pub micros: i64,
    /// Canonical (lowercase, hyphenated) UUID text, as stored.
    pub id: String,
}

impl Cursor {
    /// A key before every row in descending (timestamp, id) order: the first page.
    pub fn start() -> Self {
        Self {
            micros: i64::MAX,
            id: String::new(),
        }
    }

    pub fn encode(micros: i64, id: &str) -> String {
        let id = Uuid::parse_str(id).unwrap_or_else(|_| Uuid::nil());
        format!("{:016x}{}", micros.cast_unsigned(), id.simple())
    }

    /// Decodes a cursor; the empty string is the first page.
    pub fn decode(cursor: &str) -> Result<Self> {
        if cursor.is_empty() {
            return Ok(Self::start());
        }
        let valid = cursor.len() == 48
            && cursor
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if !valid {
            return Err(Error::PageCursorInvalid);
        }
        let (micros, id) = cursor.split_at(16);
        let micros = u64::from_str_radix(micros, 16)
            .map_err(|_| Error::PageCursorInvalid)?
            .cast_signed();
        let id = Uuid::parse_str(id).map_err(|_| Error::PageCursorInvalid)?;
        if micros < 0 {
            return Err(Error::PageCursorInvalid);
        }
        Ok(Self {
            micros,
            id: id.hyphenated().to_string(),
        })
    }
}

/// 0 means the default; above `max` is refused.
pub fn page_size(requested: u32, default: u32, max: u32) -> Result<u32> {
    match requested {
        0 => Ok(default),
        n if n > max => Err(Error::PageSizeInvalid(max)),
        n => Ok(n),
    }
}

/// One page: the rows and, when more follow, the cursor of the next page.
#[derive(Debug)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_page_cursor: Option<String>,
}

/// `items` holds up to one row more than a page: drops it and returns the last kept row's cursor.
pub(crate) fn next_cursor<T>(
    items: &mut Vec<T>,
    page_size: u32,
    key: impl Fn(&T) -> String,
) -> Option<String> {
    let page = usize::try_from(page_size).unwrap_or(usize::MAX);
    if items.len() <= page {
        return None;
    }
    items.truncate(page);
    items.last().map(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let id = "0b7c0f43-7b4e-4b5e-9d8e-1f2a3b4c5d6e";
        let text = Cursor::encode(1_795_714_630_500_000, id);
        assert_eq!(text.len(), 48);
        let cursor = Cursor::decode(&text).expect("decodes");
        assert_eq!(cursor.micros, 1_795_714_630_500_000);
        assert_eq!(cursor.id, id);
        assert_eq!(Cursor::decode("").expect("start"), Cursor::start());
    }

    #[test]
    fn rejects_garbage() {
        for bad in [
            "x",
            "zz",
            &"0".repeat(47),
            &"A".repeat(48),
            &format!("ffffffffffffffff{}", "0".repeat(32)),
        ] {
            assert!(
                matches!(Cursor::decode(bad), Err(Error::PageCursorInvalid)),
                "{bad}"
            );
        }
    }
}
