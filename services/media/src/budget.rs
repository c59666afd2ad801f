//! How much a probe may read and for how long, and what it did read.

use std::time::Duration;

/// The most one probe may fetch from storage and the longest it may run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    pub max_bytes_read: u64,
    pub max_time: Duration,
}

impl Default for Budget {
    /// 16 MiB and 10 s.
    fn default() -> Self {
        Self {
            max_bytes_read: 16 * 1024 * 1024,
            max_time: Duration::from_secs(10),
        }
    }
}

/// What a probe fetched from its source.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReadStats {
    /// Bytes fetched from the source (each cached chunk counts once per fetch).
    pub bytes_read: u64,
    /// Calls to [`crate::Source::read_at`].
    pub reads: u64,
    /// Wall time spent probing.
    pub elapsed: Duration,
}
