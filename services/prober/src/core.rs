//! The worker core both queues share: probe slots, the `probe_job` span, the retry policy, the
//! drain on shutdown and the job metrics. A queue only says how jobs arrive and how each is settled.

use std::{future::Future, sync::Arc, time::Duration};

use assetd_platform::retry::{JOB_RETRY_DELAYS_SECS, job_retry_delay_secs};
use assetd_proto::context::{REQUEST_ID, TraceContext, continue_trace};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use super::{Outcome, Worker};

/// How long shutdown waits for in-flight probes before their jobs go back to the queue.
const DRAIN_DEADLINE: Duration = Duration::from_secs(25);

/// One probe job as a queue delivered it.
#[derive(Clone, Debug)]
pub struct Job {
    pub job_id: String,
    pub asset_id: String,
    /// 1 for the first delivery.
    pub attempt: u32,
    pub request_id: String,
    pub trace: TraceContext,
}

/// What the queue is to do with a job once it was processed.
#[derive(Debug, PartialEq)]
pub enum Settle {
    /// The result is recorded; a queue whose jobs are removed with the result
    /// ([`JobQueue::REMOVED_WITH_RESULT`]) has nothing left to do.
    Recorded,
    /// There was nothing to record (the asset is gone or already probed): remove the job.
    Done,
    /// Run it again after `delay_secs` (one of [`JOB_RETRY_DELAYS_SECS`]) as attempt `next_attempt`.
    Retry {
        next_attempt: u32,
        delay_secs: u64,
        error: String,
    },
    /// Every attempt failed and the asset is recorded `failed`: remove the job (RabbitMQ keeps a
    /// copy in the dead-letter queue).
    GiveUp,
}

/// A source of probe jobs: the embedded outbox queue or RabbitMQ.
pub trait JobQueue: Send + 'static {
    /// What the queue needs back to settle a job (a delivery, nothing for the outbox).
    type Receipt: Send + 'static;
    /// Settles jobs from the probe tasks.
    type Settler: Settler<Receipt = Self::Receipt>;
    /// The `queue` label of the job metrics.
    const NAME: &'static str;
    /// Jobs live in the catalog's outbox: recording a result removes its job in the same
    /// transaction.
    const REMOVED_WITH_RESULT: bool;

    fn settler(&self) -> Self::Settler;

    /// Waits for between 1 and `max` jobs (an empty answer is allowed: nothing came in a while).
    /// An error means the queue is broken: the core drains and returns it to be reconnected.
    fn next(
        &mut self,
        max: usize,
    ) -> impl Future<Output = anyhow::Result<Vec<(Job, Self::Receipt)>>> + Send;

    /// Stops taking new jobs (before the drain).
    fn stop(&mut self) -> impl Future<Output = ()> + Send;
}

pub trait Settler: Clone + Send + Sync + 'static {
    type Receipt: Send + 'static;

    /// Settles one job. Failures are the queue's to log: an unsettled job comes back by itself
    /// (redelivery, or the end of its lease).
    fn settle(
        &self,
        receipt: Self::Receipt,
        job: &Job,
        settle: Settle,
    ) -> impl Future<Output = ()> + Send;
}

/// The retry policy: transient failures wait [`job_retry_delay_secs`] (2 s, 10 s, then 60 s)
/// between attempts; after `max_attempts` deliveries the job gives up.
pub fn policy(outcome: &Outcome, attempt: u32, max_attempts: u32) -> Settle {
    match outcome {
        Outcome::Recorded => Settle::Recorded,
        Outcome::Nothing => Settle::Done,
        Outcome::Transient(_) if attempt >= max_attempts.max(1) => Settle::GiveUp,
        Outcome::Transient(error) => Settle::Retry {
            next_attempt: attempt.saturating_add(1),
            delay_secs: job_retry_delay_secs(attempt),
            error: error.clone(),
        },
    }
}

/// Runs jobs from `queue` through `worker` with at most `concurrency` at once until `shutdown` or
/// a queue error; then stops the queue and lets in-flight probes finish (up to 25 s).
pub async fn run<Q: JobQueue>(
    worker: &Worker,
    mut queue: Q,
    concurrency: usize,
    shutdown: &CancellationToken,
) -> anyhow::Result<()> {
    let concurrency = concurrency.max(1);
    let slots = Arc::new(Semaphore::new(concurrency));
    let result = loop {
        // Wait for a free slot, then ask for as many jobs as there are free slots.
        tokio::select! {
            () = shutdown.cancelled() => break Ok(()),
            permit = slots.acquire() => drop(permit?),
        }
        let free = slots.available_permits().max(1);
        let jobs = tokio::select! {
            () = shutdown.cancelled() => break Ok(()),
            jobs = queue.next(free) => jobs,
        };
        let jobs = match jobs {
            Ok(jobs) => jobs,
            Err(err) => break Err(err),
        };
        for (job, receipt) in jobs {
            let permit = slots.clone().acquire_owned().await?;
            let (worker, settler) = (worker.clone(), queue.settler());
            tokio::spawn(async move {
                handle::<Q>(&worker, &settler, job, receipt).await;
                drop(permit);
            });
        }
    };
    queue.stop().await;
    let all = u32::try_from(concurrency).unwrap_or(u32::MAX);
    if tokio::time::timeout(DRAIN_DEADLINE, slots.acquire_many(all))
        .await
        .is_err()
    {
        tracing::warn!("in-flight probes did not finish in time; their jobs go back to the queue");
    }
    result
}

/// One job in its `probe_job` span: probe and record, count, then settle it by the policy.
async fn handle<Q: JobQueue>(worker: &Worker, settler: &Q::Settler, job: Job, receipt: Q::Receipt) {
    let span = tracing::info_span!(
        "probe_job",
        job_id = job.job_id,
        asset_id = job.asset_id,
        attempt = job.attempt,
        request_id = job.request_id,
        trace_id = tracing::field::Empty,
        otel.name = "probe",
        otel.kind = "consumer",
    );
    continue_trace(&span, &job.trace);
    async {
        let finish_job = Q::REMOVED_WITH_RESULT.then_some(job.job_id.as_str());
        let outcome = REQUEST_ID
            .scope(
                job.request_id.clone(),
                worker.process(&job.asset_id, finish_job),
            )
            .await;
        metrics::counter!("assetd_probe_jobs_total", "queue" => Q::NAME, "outcome" => outcome.label())
            .increment(1);
        let settle = match policy(&outcome, job.attempt, worker.config().probe_max_attempts) {
            Settle::GiveUp => {
                let error = match &outcome {
                    Outcome::Transient(error) => error.as_str(),
                    _ => "",
                };
                tracing::error!(
                    error,
                    attempts = job.attempt,
                    "probe job failed every attempt; giving up"
                );
                if worker.give_up(&job.asset_id, job.attempt, error).await {
                    Settle::GiveUp
                } else {
                    // The asset could not be marked failed: keep the job and try again later
                    // rather than lose it.
                    Settle::Retry {
                        next_attempt: job.attempt,
                        delay_secs: JOB_RETRY_DELAYS_SECS[JOB_RETRY_DELAYS_SECS.len() - 1],
                        error: error.to_owned(),
                    }
                }
            }
            retry @ Settle::Retry { .. } => {
                if let Settle::Retry {
                    delay_secs, error, ..
                } = &retry
                {
                    tracing::warn!(error, delay_secs, "probe failed for now; retrying later");
                }
                retry
            }
            settle @ (Settle::Recorded | Settle::Done) => settle,
        };
        settler.settle(receipt, &job, settle).await;
    }
    .instrument(span)
    .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transient_failures_wait_longer_then_give_up() {
        let transient = Outcome::Transient("storage read failed".into());
        let delays: Vec<u64> = (1..5)
            .map(|attempt| match policy(&transient, attempt, 5) {
                Settle::Retry {
                    next_attempt,
                    delay_secs,
                    ..
                } => {
                    assert_eq!(next_attempt, attempt + 1);
                    delay_secs
                }
                other => panic!("attempt {attempt}: {other:?}"),
            })
            .collect();
        assert_eq!(delays, [2, 10, 60, 60]);
        assert_eq!(policy(&transient, 5, 5), Settle::GiveUp);
        assert_eq!(policy(&transient, 1, 1), Settle::GiveUp);
    }

    #[test]
    fn recorded_and_nothing_are_done() {
        assert_eq!(policy(&Outcome::Recorded, 9, 1), Settle::Recorded);
        assert_eq!(policy(&Outcome::Nothing, 1, 5), Settle::Done);
    }
}
