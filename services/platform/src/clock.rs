//! assetd's clock: Unix microseconds, the unit of every stored timestamp and of every time that
//! travels between the roles.

use std::time::{SystemTime, UNIX_EPOCH};

/// Now, in Unix microseconds (0 before 1970, `i64::MAX` past year 294,000).
pub fn now_micros() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| {
            i64::try_from(elapsed.as_micros()).unwrap_or(i64::MAX)
        })
}
