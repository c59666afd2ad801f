//! The embedded queue: claims due jobs from the catalog's outbox over gRPC, so jobs are as durable
//! as the database (a crash only delays them until their lease ends). Claims wait in the catalog
//! until a job is written (a long poll), so a new job starts at once without polling.

use std::time::Duration;

use assetd_proto::catalog::{
    CatalogClient,
    v1::{ClaimProbeJobsRequest, FinishProbeJobRequest, RetryProbeJobRequest},
};

use super::{
    ProberConfig, Worker,
    core::{self, Job, JobQueue, Settle, Settler},
};

/// Extra lease beyond the probe's own time budget.
const LEASE_MARGIN_SECS: u64 = 5;
/// How long one claim waits in the catalog for a job to be written (below the client's 15 s
/// deadline); when it ends empty the next claim starts at once.
const CLAIM_WAIT_MILLIS: u32 = 5_000;
/// Pause after a failed claim (the catalog unreachable) before the next.
const CLAIM_ERROR_PAUSE: Duration = Duration::from_secs(1);

pub async fn run(
    worker: Worker,
    config: &ProberConfig,
    shutdown: tokio_util::sync::CancellationToken,
) -> anyhow::Result<()> {
    let queue = OutboxQueue {
        catalog: worker.catalog(),
        lease_secs: u32::try_from(config.probe_timeout_secs.saturating_add(LEASE_MARGIN_SECS))
            .unwrap_or(u32::MAX),
    };
    let result = core::run(&worker, queue, config.probe_concurrency, &shutdown).await;
    tracing::info!("prober stopped");
    result
}

struct OutboxQueue {
    catalog: CatalogClient,
    lease_secs: u32,
}

#[derive(Clone)]
struct OutboxSettler {
    catalog: CatalogClient,
}

impl JobQueue for OutboxQueue {
    type Receipt = ();
    type Settler = OutboxSettler;
    const NAME: &'static str = "embedded";
    const REMOVED_WITH_RESULT: bool = true;

    fn settler(&self) -> OutboxSettler {
        OutboxSettler {
            catalog: self.catalog.clone(),
        }
    }

    async fn next(&mut self, max: usize) -> anyhow::Result<Vec<(Job, ())>> {
        let request = ClaimProbeJobsRequest {
            max: u32::try_from(max).unwrap_or(u32::MAX),
            lease_secs: self.lease_secs,
            wait_millis: CLAIM_WAIT_MILLIS,
        };
        match self.catalog.claim_probe_jobs(request).await {
            Ok(response) => Ok(response
                .into_inner()
                .jobs
                .into_iter()
                .map(|job| {
                    let trace = job.trace_context();
                    let job = Job {
                        job_id: job.job_id,
                        asset_id: job.asset_id,
                        attempt: job.attempt,
                        request_id: job.request_id,
                        trace,
                    };
                    (job, ())
                })
                .collect()),
            Err(status) => {
                // The catalog is unreachable or failing: nothing is lost, the jobs wait in the outbox.
                tracing::warn!(code = ?status.code(), message = status.message(), "cannot claim probe jobs; retrying");
                tokio::time::sleep(CLAIM_ERROR_PAUSE).await;
                Ok(Vec::new())
            }
        }
    }

    async fn stop(&mut self) {}
}

impl Settler for OutboxSettler {
    type Receipt = ();

    async fn settle(&self, (): (), job: &Job, settle: Settle) {
        let mut catalog = self.catalog.clone();
        let settled = match settle {
            // Removed in the transaction that recorded the result.
            Settle::Recorded => Ok(()),
            Settle::Done | Settle::GiveUp => catalog
                .finish_probe_job(FinishProbeJobRequest {
                    job_id: job.job_id.clone(),
                })
                .await
                .map(drop),
            Settle::Retry {
                delay_secs, error, ..
            } => catalog
                .retry_probe_job(RetryProbeJobRequest {
                    job_id: job.job_id.clone(),
                    delay_secs: u32::try_from(delay_secs).unwrap_or(u32::MAX),
                    error,
                })
                .await
                .map(drop),
        };
        if let Err(status) = settled {
            // The lease runs out and the job is claimed again: nothing is lost.
            tracing::warn!(code = ?status.code(), "cannot settle a probe job; it runs again after its lease");
        }
    }
}
