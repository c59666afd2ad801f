//! When a failed delivery is tried again: the retry schedule (Standard Webhooks' by default),
//! with jitter, and never before the receiver's `Retry-After`.

use std::{fmt, str::FromStr, time::Duration};

use rand::Rng as _;

/// The waits after each failed attempt; once they are used up the delivery has failed. The
/// default is the schedule the Standard Webhooks specification suggests: attempts at once, then
/// after 5 s, 5 min, 30 min, 2 h, 5 h, 10 h and 10 h (8 in all, over about a day).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetrySchedule(pub Vec<Duration>);

pub const DEFAULT_SCHEDULE: &str = "5s,5m,30m,2h,5h,10h,10h";
/// The most a `Retry-After` may push an attempt back.
const RETRY_AFTER_MAX: Duration = Duration::from_secs(24 * 3600);

impl RetrySchedule {
    /// The wait before the next attempt after attempt `round_attempt` (1-based) failed; `None`
    /// when that was the last. The wait is the schedule's ±10 % (so retries of many deliveries
    /// failing together spread out), but not less than `retry_after`.
    pub fn next_wait(&self, round_attempt: u32, retry_after: Option<Duration>) -> Option<Duration> {
        let index = usize::try_from(round_attempt.max(1) - 1).ok()?;
        let base = *self.0.get(index)?;
        let jittered = base.mul_f64(rand::rng().random_range(0.9..=1.1));
        Some(match retry_after {
            Some(after) => jittered.max(after.min(RETRY_AFTER_MAX)),
            None => jittered,
        })
    }

    /// Attempts a delivery gets in all.
    pub fn attempts(&self) -> usize {
        self.0.len() + 1
    }
}

impl FromStr for RetrySchedule {
    type Err = String;

    /// A comma-separated list of waits, each a number and a unit: `ms`, `s`, `m` or `h`.
    fn from_str(text: &str) -> Result<Self, String> {
        let mut waits = Vec::new();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let split = part
                .find(|c: char| !c.is_ascii_digit())
                .ok_or_else(|| format!("{part:?} needs a unit (ms, s, m or h)"))?;
            let (number, unit) = part.split_at(split);
            let number: u64 = number
                .parse()
                .map_err(|_| format!("{part:?} is not a number and a unit"))?;
            let wait = match unit {
                "ms" => Duration::from_millis(number),
                "s" => Duration::from_secs(number),
                "m" => Duration::from_secs(number * 60),
                "h" => Duration::from_secs(number * 3600),
                _ => return Err(format!("{part:?}: the unit must be ms, s, m or h")),
            };
            waits.push(wait);
        }
        Ok(Self(waits))
    }
}

impl fmt::Display for RetrySchedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self
            .0
            .iter()
            .map(|wait| format!("{}ms", wait.as_millis()))
            .collect();
        f.write_str(&parts.join(","))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_is_the_specification_schedule() {
        let schedule: RetrySchedule = DEFAULT_SCHEDULE.parse().expect("parses");
        let secs: Vec<u64> = schedule.0.iter().map(Duration::as_secs).collect();
        assert_eq!(secs, [5, 300, 1800, 7200, 18000, 36000, 36000]);
        assert_eq!(schedule.attempts(), 8);
    }

    #[test]
    fn waits_are_jittered_within_ten_percent_and_end() {
        let schedule: RetrySchedule = "10s,100s".parse().expect("parses");
        for _ in 0..100 {
            let first = schedule.next_wait(1, None).expect("first");
            assert!((9.0..=11.0).contains(&first.as_secs_f64()), "{first:?}");
            let second = schedule.next_wait(2, None).expect("second");
            assert!((90.0..=110.0).contains(&second.as_secs_f64()), "{second:?}");
        }
        assert_eq!(schedule.next_wait(3, None), None);
    }

    #[test]
    fn retry_after_pushes_back_but_is_capped() {
        let schedule: RetrySchedule = "1s".parse().expect("parses");
        let wait = schedule
            .next_wait(1, Some(Duration::from_secs(30)))
            .expect("wait");
        assert_eq!(wait, Duration::from_secs(30));
        let capped = schedule
            .next_wait(1, Some(Duration::from_secs(10 * 24 * 3600)))
            .expect("wait");
        assert_eq!(capped, RETRY_AFTER_MAX);
    }

    #[test]
    fn bad_schedules_are_refused() {
        for bad in ["5", "5x", "s", "1.5s"] {
            assert!(bad.parse::<RetrySchedule>().is_err(), "{bad}");
        }
        assert_eq!(
            "500ms, 2s".parse::<RetrySchedule>().expect("parses").0,
            [Duration::from_millis(500), Duration::from_secs(2)]
        );
    }
}
