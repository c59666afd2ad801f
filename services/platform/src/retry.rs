//! Every retry schedule in assetd: the doubling backoff of in-process retries (reconnecting to a
//! dependency, cleaning up after a failed upload), the fixed steps of queued probe jobs, and
//! reading a server's `Retry-After`.

use std::time::{Duration, SystemTime};

/// A `Retry-After` value (RFC 9110): delay-seconds or an HTTP date (a date already past is a wait
/// of zero); `None` when it is neither.
pub fn retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(SystemTime::now()).unwrap_or_default())
}

/// A doubling delay between attempts: `first`, then twice as long each time up to `longest`.
#[derive(Clone, Debug)]
pub struct Backoff {
    first: Duration,
    longest: Duration,
    next: Duration,
}

impl Backoff {
    pub const fn new(first: Duration, longest: Duration) -> Self {
        Self {
            first,
            longest,
            next: first,
        }
    }

    /// The schedule for a dependency that went away (RabbitMQ, Postgres, storage, the catalog):
    /// 0.5 s, doubling to 30 s.
    pub const fn dependency() -> Self {
        Self::new(Duration::from_millis(500), Duration::from_secs(30))
    }

    /// The delay before the next attempt; the one after it is twice as long (up to `longest`).
    pub fn next_delay(&mut self) -> Duration {
        let delay = self.next;
        self.next = (self.next * 2).min(self.longest);
        delay
    }

    /// Back to `first`, after an attempt that worked.
    pub fn reset(&mut self) {
        self.next = self.first;
    }
}

/// The delays of a probe job's retries: after delivery `n` fails transiently, the job waits
/// `JOB_RETRY_DELAYS_SECS[min(n, len) - 1]` seconds. RabbitMQ holds one delay queue per step; the
/// embedded queue sets the job's `available_at`.
pub const JOB_RETRY_DELAYS_SECS: [u64; 3] = [2, 10, 60];

/// How long a job whose delivery `attempt` (1 for the first) failed waits before the next one.
pub fn job_retry_delay_secs(attempt: u32) -> u64 {
    let step = (attempt.max(1) as usize).min(JOB_RETRY_DELAYS_SECS.len());
    JOB_RETRY_DELAYS_SECS[step - 1]
}

#[cfg(test)]
mod tests {
    #[test]
    fn retry_after_reads_seconds_and_dates() {
        assert_eq!(super::retry_after(" 7 "), Some(Duration::from_secs(7)));
        assert_eq!(
            super::retry_after("Wed, 21 Oct 2015 07:28:00 GMT"),
            Some(Duration::ZERO)
        );
        assert_eq!(super::retry_after("soon"), None);
    }

    use super::*;

    #[test]
    fn the_backoff_doubles_up_to_the_longest_and_resets() {
        let mut backoff = Backoff::dependency();
        let delays: Vec<u64> = (0..9)
            .map(|_| backoff.next_delay().as_millis() as u64)
            .collect();
        assert_eq!(
            delays,
            [500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]
        );
        backoff.reset();
        assert_eq!(backoff.next_delay(), Duration::from_millis(500));
    }

    #[test]
    fn job_retries_step_through_the_table_then_stay_on_the_last() {
        let delays: Vec<u64> = (0..=5).map(job_retry_delay_secs).collect();
        assert_eq!(delays, [2, 2, 10, 60, 60, 60]);
    }
}
