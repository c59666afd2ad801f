//! "A probe job was written": wakes the outbox relay and the embedded queue's waiting claims at
//! once, fed by this catalog's own writes and, on Postgres, by `NOTIFY assetd_probe_jobs` (sent by
//! a trigger on `probe_jobs` inserts) from whichever catalog replica wrote the job.

use std::time::Duration;

use tokio::sync::watch;

/// The Postgres notification channel the `probe_jobs` insert trigger notifies (migration 0005).
pub const CHANNEL: &str = "assetd_probe_jobs";

/// A generation counter: every signal bumps it, every waiter sees each bump (none is lost between
/// a waiter's look at the outbox and its wait, and every waiter wakes, not just one).
#[derive(Clone, Debug)]
pub struct JobsQueued {
    sender: watch::Sender<u64>,
}

impl Default for JobsQueued {
    fn default() -> Self {
        Self {
            sender: watch::channel(0).0,
        }
    }
}

impl JobsQueued {
    /// New jobs may be due: wake every waiter.
    pub fn notify(&self) {
        self.sender
            .send_modify(|generation| *generation = generation.wrapping_add(1));
    }

    /// A waiter that has seen every signal so far. Take it *before* looking at the outbox.
    pub fn waiter(&self) -> JobsWaiter {
        let mut receiver = self.sender.subscribe();
        receiver.mark_unchanged();
        JobsWaiter { receiver }
    }
}

#[derive(Debug)]
pub struct JobsWaiter {
    receiver: watch::Receiver<u64>,
}

impl JobsWaiter {
    /// Waits until a signal arrives that this waiter has not seen, or `timeout` passes (the
    /// safety net for jobs that become due by time: retries and ended leases).
    pub async fn wait(&mut self, timeout: Duration) {
        let _ = tokio::time::timeout(timeout, self.receiver.changed()).await;
        self.receiver.mark_unchanged();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_signal_between_look_and_wait_is_not_lost() {
        let signal = JobsQueued::default();
        let mut waiter = signal.waiter();
        signal.notify();
        let started = std::time::Instant::now();
        waiter.wait(Duration::from_secs(5)).await;
        assert!(started.elapsed() < Duration::from_secs(1));
        // Seen now: the next wait runs to its timeout.
        let started = std::time::Instant::now();
        waiter.wait(Duration::from_millis(200)).await;
        assert!(started.elapsed() >= Duration::from_millis(200));
    }

    #[tokio::test]
    async fn every_waiter_wakes() {
        let signal = JobsQueued::default();
        let (mut a, mut b) = (signal.waiter(), signal.waiter());
        let waits = tokio::spawn(async move {
            a.wait(Duration::from_secs(5)).await;
            b.wait(Duration::from_secs(5)).await;
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        let started = std::time::Instant::now();
        signal.notify();
        waits.await.expect("waits");
        assert!(started.elapsed() < Duration::from_secs(1));
    }
}
