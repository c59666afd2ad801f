//! Who gets in: the request rate of each API key (governor's GCRA limiter) and the caps on
//! uploads streaming at once, per process and per account. Every refusal happens before a byte
//! of the body is read and says when to come back.

use std::{
    collections::HashMap,
    num::NonZeroU32,
    sync::{Arc, Mutex},
    time::Duration,
};

use assetd_proto::ids::AccountId;
use governor::{
    DefaultKeyedRateLimiter, Quota, RateLimiter,
    clock::{Clock, DefaultClock},
};
use sha2::{Digest, Sha256};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::{config, problem::ApiError};

/// How often keys not seen lately are dropped from the rate limiter's table.
pub const FORGET_KEYS_EVERY: Duration = Duration::from_secs(60);

/// The gateway's admission state; cheap to clone, shared by every request of the process.
#[derive(Clone)]
pub struct Admission {
    rate: Arc<DefaultKeyedRateLimiter<[u8; 32]>>,
    rate_per_second: u32,
    uploads: Arc<Semaphore>,
    max_uploads: usize,
    per_account: Arc<Mutex<HashMap<AccountId, usize>>>,
    max_per_account: usize,
    /// How long an upload body may go without a byte.
    pub upload_idle_timeout: Duration,
}

impl std::fmt::Debug for Admission {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Admission")
            .field("rate_per_second", &self.rate_per_second)
            .field("max_uploads", &self.max_uploads)
            .field("max_per_account", &self.max_per_account)
            .finish_non_exhaustive()
    }
}

fn at_least_one(n: u32) -> NonZeroU32 {
    NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN)
}

impl Admission {
    pub fn new(config: &config::Admission) -> Self {
        let quota = Quota::per_second(at_least_one(config.rate_per_second))
            .allow_burst(at_least_one(config.rate_burst));
        Self {
            rate: Arc::new(RateLimiter::keyed(quota)),
            rate_per_second: config.rate_per_second,
            uploads: Arc::new(Semaphore::new(config.max_uploads)),
            max_uploads: config.max_uploads,
            per_account: Arc::default(),
            max_per_account: config.max_uploads_per_account,
            upload_idle_timeout: config.upload_idle_timeout,
        }
    }

    /// Counts one request of `api_key`; refuses it when the key is over its rate.
    pub fn request(&self, api_key: &str) -> Result<(), ApiError> {
        let digest: [u8; 32] = Sha256::digest(api_key.as_bytes()).into();
        self.rate.check_key(&digest).map_err(|not_until| {
            metrics::counter!("assetd_requests_refused_total", "reason" => "key_rate").increment(1);
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            ApiError::RateLimited {
                per_second: self.rate_per_second,
                retry_after_secs: wait.as_secs_f64().ceil().max(1.0) as u64,
            }
        })
    }

    /// Takes one of the process's and one of `account_id`'s upload slots, held until the
    /// returned guard is dropped.
    pub fn upload(&self, account_id: AccountId) -> Result<UploadSlot, ApiError> {
        let Ok(process) = self.uploads.clone().try_acquire_owned() else {
            metrics::counter!("assetd_requests_refused_total", "reason" => "process_uploads")
                .increment(1);
            tracing::warn!(
                limit = self.max_uploads,
                "upload refused: this process streams its most uploads at once"
            );
            return Err(ApiError::ServerBusy {
                limit: self.max_uploads,
            });
        };
        {
            let mut per_account = self.per_account.lock().expect("upload counts lock");
            let count = per_account.entry(account_id).or_insert(0);
            if *count >= self.max_per_account {
                metrics::counter!("assetd_requests_refused_total", "reason" => "account_uploads")
                    .increment(1);
                return Err(ApiError::AccountUploadsBusy {
                    limit: self.max_per_account,
                });
            }
            *count += 1;
        }
        metrics::gauge!("assetd_uploads_in_progress").increment(1.0);
        Ok(UploadSlot {
            _process: process,
            account_id,
            per_account: self.per_account.clone(),
        })
    }

    /// Drops the rate state of keys not seen for a while; run every [`FORGET_KEYS_EVERY`].
    pub fn forget_idle_keys(&self) {
        self.rate.retain_recent();
        self.rate.shrink_to_fit();
    }
}

/// One upload's place in the caps; gives it back when dropped.
pub struct UploadSlot {
    _process: OwnedSemaphorePermit,
    account_id: AccountId,
    per_account: Arc<Mutex<HashMap<AccountId, usize>>>,
}

impl Drop for UploadSlot {
    fn drop(&mut self) {
        metrics::gauge!("assetd_uploads_in_progress").decrement(1.0);
        let mut per_account = self.per_account.lock().expect("upload counts lock");
        if let Some(count) = per_account.get_mut(&self.account_id) {
            *count -= 1;
            if *count == 0 {
                per_account.remove(&self.account_id);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn admission(rate: u32, burst: u32, uploads: usize, per_account: usize) -> Admission {
        Admission::new(&config::Admission {
            rate_per_second: rate,
            rate_burst: burst,
            max_uploads: uploads,
            max_uploads_per_account: per_account,
            upload_idle_timeout: Duration::from_secs(60),
        })
    }

    #[test]
    fn a_key_over_its_burst_is_told_when_to_come_back() {
        let admission = admission(1, 3, 10, 10);
        for _ in 0..3 {
            admission.request("key-a").expect("within the burst");
        }
        match admission.request("key-a") {
            Err(ApiError::RateLimited {
                retry_after_secs, ..
            }) => assert_eq!(retry_after_secs, 1),
            other => panic!("expected RateLimited, got {other:?}"),
        }
        admission
            .request("key-b")
            .expect("another key has its own budget");
    }

    #[test]
    fn upload_slots_per_account_and_per_process() {
        let (a, b, c) = (AccountId::new(), AccountId::new(), AccountId::new());
        let admission = admission(100, 100, 3, 2);
        let a1 = admission.upload(a).expect("first");
        let _a2 = admission.upload(a).expect("second");
        assert!(matches!(
            admission.upload(a),
            Err(ApiError::AccountUploadsBusy { limit: 2 })
        ));
        let _b1 = admission.upload(b).expect("another account");
        assert!(matches!(
            admission.upload(c),
            Err(ApiError::ServerBusy { limit: 3 })
        ));
        drop(a1);
        let _a3 = admission.upload(a).expect("a slot came back");
        assert_eq!(
            admission.per_account.lock().expect("lock").get(&a),
            Some(&2)
        );
    }

    #[test]
    fn an_account_refusal_gives_the_process_slot_back() {
        let (a, b) = (AccountId::new(), AccountId::new());
        let admission = admission(100, 100, 2, 1);
        let _a = admission.upload(a).expect("first");
        assert!(admission.upload(a).is_err());
        let _b = admission
            .upload(b)
            .expect("the refused upload held no process slot");
    }
}
