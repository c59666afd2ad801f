//! The budgeted reader every parser uses: `Read + Seek` (and positional helpers) over a
//! [`Source`], fetching aligned 64 KiB chunks into a small LRU cache, counting every byte fetched
//! and failing with `BudgetExceeded` once a fetch would pass the byte budget or the time is up.

use std::io::{self, Read, Seek, SeekFrom};
use std::time::Instant;

use crate::budget::{Budget, ReadStats};
use crate::error::{ProbeError, malformed, truncated};
use crate::source::Source;

/// Size of one fetch from the source (the last chunk of a file is shorter).
pub const CHUNK: u64 = 64 * 1024;
/// How many chunks stay cached.
const CACHED: usize = 4;
/// The largest single element a parser may load into memory at once.
pub const MAX_ELEMENT: u64 = 8 * 1024 * 1024;
/// Cheap reads between two looks at the clock.
const OPS_PER_CLOCK_CHECK: u32 = 4096;

struct Chunk {
    index: u64,
    data: Vec<u8>,
    last_used: u64,
}

/// A budgeted, caching cursor over a [`Source`].
pub struct Reader<'a> {
    source: &'a dyn Source,
    len: u64,
    pos: u64,
    budget: Budget,
    started: Instant,
    bytes_read: u64,
    reads: u64,
    chunks: Vec<Chunk>,
    tick: u64,
    ops: u32,
}

impl<'a> Reader<'a> {
    pub fn new(source: &'a dyn Source, budget: &Budget) -> Self {
        Self {
            source,
            len: source.len(),
            pos: 0,
            budget: *budget,
            started: Instant::now(),
            bytes_read: 0,
            reads: 0,
            chunks: Vec::with_capacity(CACHED),
            tick: 0,
            ops: 0,
        }
    }

    /// The object's size as the source reports it.
    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// What has been fetched so far.
    pub fn stats(&self) -> ReadStats {
        ReadStats {
            bytes_read: self.bytes_read,
            reads: self.reads,
            elapsed: self.started.elapsed(),
        }
    }

    /// Bytes that may still be fetched.
    pub fn remaining_budget(&self) -> u64 {
        self.budget.max_bytes_read.saturating_sub(self.bytes_read)
    }

    /// Fails once the time budget is spent.
    pub fn check_time(&self) -> Result<(), ProbeError> {
        if self.started.elapsed() > self.budget.max_time {
            return Err(ProbeError::BudgetExceeded(format!(
                "took longer than {:?}",
                self.budget.max_time
            )));
        }
        Ok(())
    }

    /// Counts a cheap step (a cached read or a loop turn) and looks at the clock now and then.
    pub fn tick(&mut self) -> Result<(), ProbeError> {
        self.ops = self.ops.wrapping_add(1);
        if self.ops.is_multiple_of(OPS_PER_CLOCK_CHECK) {
            self.check_time()?;
        }
        Ok(())
    }

    /// The cache slot holding chunk `index`, fetching it if needed.
    fn chunk(&mut self, index: u64) -> Result<usize, ProbeError> {
        self.tick = self.tick.wrapping_add(1);
        if let Some(slot) = self.chunks.iter().position(|c| c.index == index) {
            self.chunks[slot].last_used = self.tick;
            return Ok(slot);
        }
        self.check_time()?;
        let start = index.saturating_mul(CHUNK);
        let want = CHUNK.min(self.len.saturating_sub(start));
        if self.bytes_read.saturating_add(want) > self.budget.max_bytes_read {
            return Err(ProbeError::BudgetExceeded(format!(
                "would read more than {} bytes",
                self.budget.max_bytes_read
            )));
        }
        // `want` is at most CHUNK (64 KiB), so it fits in usize.
        let mut data = vec![0u8; usize::try_from(want).unwrap_or(0)];
        let mut filled = 0usize;
        while filled < data.len() {
            let offset = start.saturating_add(filled as u64);
            self.reads = self.reads.saturating_add(1);
            let n = match self.source.read_at(offset, &mut data[filled..]) {
                Ok(n) => n,
                Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
                Err(err) => return Err(ProbeError::Io(err)),
            };
            if n == 0 {
                break;
            }
            filled = filled.saturating_add(n).min(data.len());
        }
        data.truncate(filled);
        self.bytes_read = self.bytes_read.saturating_add(filled as u64);
        let chunk = Chunk {
            index,
            data,
            last_used: self.tick,
        };
        if self.chunks.len() < CACHED {
            self.chunks.push(chunk);
            Ok(self.chunks.len() - 1)
        } else {
            let slot = self
                .chunks
                .iter()
                .enumerate()
                .min_by_key(|(_, c)| c.last_used)
                .map_or(0, |(slot, _)| slot);
            self.chunks[slot] = chunk;
            Ok(slot)
        }
    }

    /// Reads up to `buf.len()` bytes at `offset`; fewer only at the end of the object.
    pub fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> Result<usize, ProbeError> {
        self.tick()?;
        let mut done = 0usize;
        while done < buf.len() {
            let at = offset.saturating_add(done as u64);
            if at >= self.len {
                break;
            }
            let slot = self.chunk(at / CHUNK)?;
            let data = &self.chunks[slot].data;
            let within = usize::try_from(at % CHUNK).unwrap_or(usize::MAX);
            let Some(avail) = data.get(within..) else {
                break; // the source returned less than it said it had
            };
            if avail.is_empty() {
                break;
            }
            let n = avail.len().min(buf.len() - done);
            buf[done..done + n].copy_from_slice(&avail[..n]);
            done += n;
        }
        Ok(done)
    }

    /// Fills `buf` from `offset`, or fails with `Malformed("truncated: ...")`.
    pub fn read_exact_at(&mut self, offset: u64, buf: &mut [u8]) -> Result<(), ProbeError> {
        if self.read_at(offset, buf)? < buf.len() {
            self.ensure_within("data", offset.saturating_add(buf.len() as u64))?;
            // The source returned less than it said it had: the object shrank under us.
            return Err(truncated("the object ended before its stated size"));
        }
        Ok(())
    }

    /// The one completeness check every parser uses: fails with `truncated: {what} ends at byte
    /// {end} but the object has {len} bytes` when something the header promises (`what`, ending
    /// at `end`, exclusive) does not fit in the object.
    pub fn ensure_within(&self, what: &str, end: u64) -> Result<(), ProbeError> {
        if end > self.len {
            return Err(truncated(format_args!(
                "{what} ends at byte {end} but the object has {} bytes",
                self.len
            )));
        }
        Ok(())
    }

    /// The object's last bytes from `max(from, len - window)` to the end, and where they start: the
    /// range read completeness checks use to look for a format's last frame or end marker without
    /// reading what lies before it.
    pub fn tail(&mut self, from: u64, window: u64) -> Result<(u64, Vec<u8>), ProbeError> {
        let start = self.len.saturating_sub(window).max(from).min(self.len);
        let data = self.prefix_at(start, self.len - start)?;
        Ok((start, data))
    }

    /// Exactly `len` bytes at `offset` (at most [`MAX_ELEMENT`]).
    pub fn bytes_at(&mut self, offset: u64, len: u64) -> Result<Vec<u8>, ProbeError> {
        if len > MAX_ELEMENT {
            return Err(malformed(format!("element of {len} bytes is too large")));
        }
        let end = offset
            .checked_add(len)
            .ok_or_else(|| malformed("offset overflow"))?;
        self.ensure_within("data", end)?;
        let mut buf = vec![0u8; usize::try_from(len).map_err(|_| malformed("too large"))?];
        self.read_exact_at(offset, &mut buf)?;
        Ok(buf)
    }

    /// Up to `max` bytes at `offset` (fewer at the end of the object), at most [`MAX_ELEMENT`].
    pub fn prefix_at(&mut self, offset: u64, max: u64) -> Result<Vec<u8>, ProbeError> {
        let len = max.min(MAX_ELEMENT).min(self.len.saturating_sub(offset));
        let mut buf = vec![0u8; usize::try_from(len).unwrap_or(0)];
        let n = self.read_at(offset, &mut buf)?;
        buf.truncate(n);
        Ok(buf)
    }

    // ---- a cursor over the same cache ----

    pub fn pos(&self) -> u64 {
        self.pos
    }

    pub fn seek_to(&mut self, pos: u64) {
        self.pos = pos;
    }

    /// Moves the cursor forward without reading.
    pub fn skip(&mut self, n: u64) -> Result<(), ProbeError> {
        self.pos = self
            .pos
            .checked_add(n)
            .ok_or_else(|| malformed("offset overflow"))?;
        Ok(())
    }

    /// `true` when the cursor is at or past the end.
    pub fn at_end(&self) -> bool {
        self.pos >= self.len
    }

    pub fn array<const N: usize>(&mut self) -> Result<[u8; N], ProbeError> {
        let mut buf = [0u8; N];
        self.read_exact_at(self.pos, &mut buf)?;
        self.pos = self.pos.saturating_add(N as u64);
        Ok(buf)
    }

    pub fn u8(&mut self) -> Result<u8, ProbeError> {
        Ok(self.array::<1>()?[0])
    }

    pub fn be_u16(&mut self) -> Result<u16, ProbeError> {
        self.array().map(u16::from_be_bytes)
    }

    pub fn le_u16(&mut self) -> Result<u16, ProbeError> {
        self.array().map(u16::from_le_bytes)
    }

    pub fn be_u32(&mut self) -> Result<u32, ProbeError> {
        self.array().map(u32::from_be_bytes)
    }

    pub fn le_u32(&mut self) -> Result<u32, ProbeError> {
        self.array().map(u32::from_le_bytes)
    }

    pub fn be_u64(&mut self) -> Result<u64, ProbeError> {
        self.array().map(u64::from_be_bytes)
    }

    /// Exactly `len` bytes at the cursor, which moves past them.
    pub fn take(&mut self, len: u64) -> Result<Vec<u8>, ProbeError> {
        let data = self.bytes_at(self.pos, len)?;
        self.pos = self.pos.saturating_add(len);
        Ok(data)
    }
}

impl Read for Reader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.read_at(self.pos, buf)?;
        self.pos = self.pos.saturating_add(n as u64);
        Ok(n)
    }
}

impl Seek for Reader<'_> {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let target = match to {
            SeekFrom::Start(at) => Some(at),
            SeekFrom::End(delta) => self.len.checked_add_signed(delta),
            SeekFrom::Current(delta) => self.pos.checked_add_signed(delta),
        };
        let target = target.ok_or_else(|| {
            io::Error::new(io::ErrorKind::InvalidInput, "seek before start or overflow")
        })?;
        self.pos = target;
        Ok(target)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::MemSource;
    use std::time::Duration;

    #[test]
    fn caches_and_counts() {
        let src = MemSource::new((0..200_000u32).map(|i| i as u8).collect::<Vec<_>>());
        let mut r = Reader::new(&src, &Budget::default());
        let mut buf = [0u8; 4];
        r.read_exact_at(70_000, &mut buf).expect("test value");
        assert_eq!(buf, [(70_000u32 % 256) as u8, 113, 114, 115]);
        r.read_exact_at(70_100, &mut buf).expect("test value");
        assert_eq!(r.stats().bytes_read, CHUNK);
        // across a chunk edge
        r.read_exact_at(CHUNK * 2 - 2, &mut buf)
            .expect("test value");
        assert_eq!(r.stats().bytes_read, CHUNK * 2);
        assert!(r.read_exact_at(199_999, &mut buf).is_err());
    }

    #[test]
    fn byte_budget() {
        let src = MemSource::new(vec![0u8; 300_000]);
        let budget = Budget {
            max_bytes_read: 100_000,
            max_time: Duration::from_secs(5),
        };
        let mut r = Reader::new(&src, &budget);
        let mut buf = [0u8; 1];
        r.read_exact_at(0, &mut buf).expect("test value");
        let err = r.read_exact_at(CHUNK, &mut buf).expect_err("test error");
        assert!(matches!(err, ProbeError::BudgetExceeded(_)), "{err}");
    }

    #[test]
    fn io_read_and_seek() {
        let src = MemSource::new(b"hello world".to_vec());
        let mut r = Reader::new(&src, &Budget::default());
        r.seek(SeekFrom::End(-5)).expect("test value");
        let mut s = String::new();
        r.read_to_string(&mut s).expect("test value");
        assert_eq!(s, "world");
        assert!(r.seek(SeekFrom::Current(-100)).is_err());
    }
}
