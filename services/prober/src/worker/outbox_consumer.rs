//! The embedded side of the worker: claims due jobs from the catalog's outbox over gRPC, so jobs
//! are as durable as the database (a crash only delays them until their lease ends).

use std::{sync::Arc, time::Duration};

use assetd_platform::amqp::RETRY_DELAYS_SECS;
use assetd_proto::catalog::{
    CatalogClient,
    v1::{ClaimProbeJobsRequest, FinishProbeJobRequest, ProbeJob, RetryProbeJobRequest},
};
use assetd_proto::context::{REQUEST_ID, continue_trace};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use super::{Outcome, ProberConfig, Worker};

/// Poll interval while the queue is empty.
const IDLE_POLL: Duration = Duration::from_millis(250);
/// Extra lease beyond the probe's own time budget.
const LEASE_MARGIN_SECS: u64 = 5;

pub async fn run(
    worker: Worker,
    config: &ProberConfig,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let catalog = worker.catalog();
    let concurrency = config.probe_concurrency.max(1);
    let slots = Arc::new(Semaphore::new(concurrency));
    let lease_secs = u32::try_from(config.probe_timeout_secs.saturating_add(LEASE_MARGIN_SECS))
        .unwrap_or(u32::MAX);
    while !shutdown.is_cancelled() {
        let free = slots.available_permits();
        if free == 0 {
            // Every slot is busy: wait for one to free up, then claim again at once.
            tokio::select! {
                () = shutdown.cancelled() => break,
                permit = slots.clone().acquire_owned() => drop(permit),
            }
            continue;
        }
        let request = ClaimProbeJobsRequest {
            max: u32::try_from(free).unwrap_or(1),
            lease_secs,
        };
        let claimed = match catalog.clone().claim_probe_jobs(request).await {
            Ok(response) => response.into_inner().jobs,
            Err(status) => {
                tracing::warn!(code = ?status.code(), message = status.message(), "cannot claim probe jobs");
                Vec::new()
            }
        };
        if claimed.is_empty() {
            // Nothing due (or the catalog is unreachable): poll again shortly.
            tokio::select! {
                () = shutdown.cancelled() => break,
                () = tokio::time::sleep(IDLE_POLL) => {}
            }
            continue;
        }
        for job in claimed {
            let Ok(permit) = slots.clone().acquire_owned().await else {
                break;
            };
            let (worker, catalog) = (worker.clone(), catalog.clone());
            tokio::spawn(async move {
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
                continue_trace(&span, &job.trace_context());
                handle(&worker, catalog, job).instrument(span).await;
                drop(permit);
            });
        }
    }
    // Claimed jobs that do not finish in time are due again when their lease ends.
    let all = u32::try_from(concurrency).unwrap_or(u32::MAX);
    if tokio::time::timeout(Duration::from_secs(25), slots.acquire_many(all))
        .await
        .is_err()
    {
        tracing::warn!("in-flight probes did not finish in time; they run again after their lease");
    }
    tracing::info!("prober stopped");
    Ok(())
}

async fn handle(worker: &Worker, mut catalog: CatalogClient, job: ProbeJob) {
    let outcome = REQUEST_ID
        .scope(job.request_id.clone(), worker.process(&job.asset_id))
        .await;
    metrics::counter!("assetd_probe_jobs_total", "queue" => "embedded", "outcome" => outcome.label()).increment(1);
    let settled = match outcome {
        Outcome::Recorded | Outcome::Nothing => catalog
            .finish_probe_job(FinishProbeJobRequest {
                job_id: job.job_id.clone(),
            })
            .await
            .map(drop),
        Outcome::Transient(error) if job.attempt >= worker.config().probe_max_attempts.max(1) => {
            tracing::error!(
                error,
                attempts = job.attempt,
                "probe job failed every attempt; giving up"
            );
            worker.give_up(&job.asset_id, job.attempt, &error).await;
            catalog
                .finish_probe_job(FinishProbeJobRequest {
                    job_id: job.job_id.clone(),
                })
                .await
                .map(drop)
        }
        Outcome::Transient(error) => {
            let level = (job.attempt.max(1) as usize).min(RETRY_DELAYS_SECS.len());
            let delay_secs = u32::try_from(RETRY_DELAYS_SECS[level - 1]).unwrap_or(u32::MAX);
            tracing::warn!(error, delay_secs, "probe failed for now; retrying later");
            catalog
                .retry_probe_job(RetryProbeJobRequest {
                    job_id: job.job_id.clone(),
                    delay_secs,
                    error,
                })
                .await
                .map(drop)
        }
    };
    if let Err(status) = settled {
        // The lease runs out and the job is claimed again: nothing is lost.
        tracing::warn!(code = ?status.code(), "cannot settle a probe job; it runs again after its lease");
    }
}
