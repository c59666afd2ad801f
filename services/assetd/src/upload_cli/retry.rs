//! When `assetd upload` tries a request again: which answers are worth another attempt (429,
//! 5xx, a connection lost), and how long to wait first (the server's `Retry-After`, else a
//! doubling backoff).

use std::time::Duration;

use assetd_platform::retry::Backoff;
use reqwest::{StatusCode, header::HeaderMap};

/// The longest `Retry-After` honoured: a server asking for more is waited on this long, then tried.
pub const LONGEST_WAIT: Duration = Duration::from_secs(60);

/// Statuses that say "not now" rather than "not this": too many requests, and server errors.
pub fn retryable(status: StatusCode) -> bool {
    status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error()
}

/// `Retry-After` as delay-seconds or an HTTP date, capped at [`LONGEST_WAIT`]; `None` when absent
/// or unreadable.
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?;
    Some(assetd_platform::retry::retry_after(value)?.min(LONGEST_WAIT))
}

/// Attempts of one request (or, for a resumable upload, attempts without progress), and the
/// delays between them.
#[derive(Debug, Clone)]
pub struct Attempts {
    max: u32,
    failed: u32,
    backoff: Backoff,
}

impl Attempts {
    /// `max` attempts in all; 1 s, doubling to 16 s between them when the server names no delay.
    pub fn new(max: u32) -> Self {
        Self {
            max: max.max(1),
            failed: 0,
            backoff: Backoff::new(Duration::from_secs(1), Duration::from_secs(16)),
        }
    }

    /// Records a failed attempt; the delay before the next one, or `None` when none is left.
    /// The server's `Retry-After` wins over the backoff.
    pub fn failed(&mut self, retry_after: Option<Duration>) -> Option<Duration> {
        self.failed += 1;
        let backoff = self.backoff.next_delay();
        (self.failed < self.max).then(|| retry_after.unwrap_or(backoff))
    }

    /// An attempt made progress (a resumable upload's offset moved): the count starts again.
    pub fn progressed(&mut self) {
        self.failed = 0;
        self.backoff.reset();
    }

    /// How many attempts have failed in a row.
    pub fn failures(&self) -> u32 {
        self.failed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(
            reqwest::header::RETRY_AFTER,
            value.parse().expect("header value"),
        );
        headers
    }

    #[test]
    fn retry_after_seconds_dates_and_caps() {
        assert_eq!(retry_after(&headers("3")), Some(Duration::from_secs(3)));
        assert_eq!(retry_after(&headers("86400")), Some(LONGEST_WAIT));
        assert_eq!(
            retry_after(&headers("Wed, 21 Oct 2015 07:28:00 GMT")),
            Some(Duration::ZERO)
        );
        let soon = httpdate::fmt_http_date(std::time::SystemTime::now() + Duration::from_secs(30));
        let wait = retry_after(&headers(&soon)).expect("a date");
        assert!(wait > Duration::from_secs(25) && wait <= Duration::from_secs(30));
        assert_eq!(retry_after(&headers("soon")), None);
        assert_eq!(retry_after(&HeaderMap::new()), None);
    }

    #[test]
    fn retryable_statuses() {
        assert!(retryable(StatusCode::TOO_MANY_REQUESTS));
        assert!(retryable(StatusCode::SERVICE_UNAVAILABLE));
        assert!(retryable(StatusCode::INTERNAL_SERVER_ERROR));
        assert!(!retryable(StatusCode::UNPROCESSABLE_ENTITY));
        assert!(!retryable(StatusCode::UNAUTHORIZED));
    }

    #[test]
    fn bounded_attempts_with_backoff_unless_told() {
        let mut attempts = Attempts::new(4);
        assert_eq!(attempts.failed(None), Some(Duration::from_secs(1)));
        assert_eq!(
            attempts.failed(Some(Duration::from_secs(7))),
            Some(Duration::from_secs(7))
        );
        assert_eq!(attempts.failed(None), Some(Duration::from_secs(4)));
        assert_eq!(attempts.failed(None), None);
        attempts.progressed();
        assert_eq!(attempts.failed(None), Some(Duration::from_secs(1)));
    }
}
