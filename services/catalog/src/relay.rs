//! The outbox relay: publishes queued probe jobs to RabbitMQ in batches, every publisher confirm
//! of a batch outstanding at once, then deletes the confirmed rows in one statement. RabbitMQ
//! being down never fails an upload: jobs wait in the outbox and the relay catches up.

use std::time::Duration;

use assetd_platform::{
    amqp::{self, JOB_ROUTING_KEY, JobMessage, Topology},
    secret::Secret,
};
use assetd_proto::catalog::v1 as pb;
use tokio_util::sync::CancellationToken;

use crate::{db::Db, jobs_signal::JobsQueued, store::probe_jobs};

/// Jobs claimed (and published with their confirms in flight together) per round.
const BATCH: u32 = 200;
/// How long a claimed batch is reserved for this relay.
const LEASE_SECS: u32 = 30;
/// The safety-net poll when no job was signalled (jobs written while the LISTEN connection was down).
const IDLE_POLL: Duration = Duration::from_secs(1);

pub struct Relay {
    pub db: Db,
    pub url: Secret,
    pub topology: Topology,
    pub jobs_queued: JobsQueued,
}

impl Relay {
    /// Runs until `shutdown`; on the way out, finishes the batch it is publishing.
    pub async fn run(self, shutdown: CancellationToken) {
        amqp::connected(
            &self.url,
            &self.topology,
            "assetd-relay",
            &shutdown,
            |channel| {
                let (relay, shutdown) = (&self, shutdown.clone());
                async move { relay.publish_until_error(&channel, &shutdown).await }
            },
        )
        .await;
        tracing::info!("outbox relay stopped");
    }

    async fn publish_until_error(
        &self,
        channel: &amqp::AmqpChannel,
        shutdown: &CancellationToken,
    ) -> anyhow::Result<()> {
        loop {
            // Taken before the claim, so a job written meanwhile wakes the wait below.
            let mut waiter = self.jobs_queued.waiter();
            let batch = match probe_jobs::claim_for_publish(&self.db, BATCH, LEASE_SECS).await {
                Ok(batch) => batch,
                Err(err) => {
                    tracing::warn!(error = %err, "outbox relay cannot read the outbox");
                    Vec::new()
                }
            };
            if !batch.is_empty() {
                self.publish_batch(channel, &batch).await?;
            }
            if shutdown.is_cancelled() {
                return Ok(());
            }
            if batch.len() < BATCH as usize {
                tokio::select! {
                    () = shutdown.cancelled() => return Ok(()),
                    () = waiter.wait(IDLE_POLL) => {}
                }
            }
        }
    }

    /// Publishes every job of `batch` without waiting, then waits for all their confirms; deletes
    /// the confirmed rows and gives the rest back to the outbox at once. An error means the
    /// channel is broken (reconnect).
    async fn publish_batch(
        &self,
        channel: &amqp::AmqpChannel,
        batch: &[pb::ProbeJob],
    ) -> anyhow::Result<()> {
        let exchange = self.topology.exchange();
        let mut in_flight = Vec::with_capacity(batch.len());
        let mut failure = None;
        for job in batch {
            let message = JobMessage {
                job_id: job.job_id.clone(),
                asset_id: job.asset_id.clone(),
                attempt: 1,
                request_id: job.request_id.clone(),
                trace: job.trace_context(),
            };
            match amqp::start_publish(channel, &exchange, JOB_ROUTING_KEY, &message).await {
                Ok(confirm) => in_flight.push((job.job_id.as_str(), confirm)),
                Err(err) => {
                    failure = Some(err);
                    break;
                }
            }
        }
        let (mut confirmed, mut unconfirmed) = (Vec::new(), Vec::new());
        for (job_id, confirm) in in_flight {
            match confirm.await {
                Ok(()) => confirmed.push(job_id),
                Err(err) => {
                    unconfirmed.push(job_id);
                    failure.get_or_insert(err);
                }
            }
        }
        unconfirmed.extend(
            batch[confirmed.len() + unconfirmed.len()..]
                .iter()
                .map(|job| job.job_id.as_str()),
        );
        if let Err(err) = probe_jobs::finish_many(&self.db, &confirmed).await {
            // Published but still in the outbox: published again after the lease, which the
            // idempotent prober tolerates.
            tracing::warn!(error = %err, jobs = confirmed.len(), "cannot remove published jobs from the outbox");
        }
        metrics::counter!("assetd_relay_published_total").increment(confirmed.len() as u64);
        tracing::debug!(jobs = confirmed.len(), "probe jobs published");
        match failure {
            None => Ok(()),
            Some(err) => {
                // Give the unconfirmed rest back at once instead of waiting for the lease.
                if let Err(release) = probe_jobs::release(&self.db, &unconfirmed).await {
                    tracing::warn!(error = %release, "cannot give unpublished jobs back; they are due again after their lease");
                }
                Err(anyhow::anyhow!(err).context(format!(
                    "{} probe jobs not confirmed by RabbitMQ; they wait in the outbox",
                    unconfirmed.len()
                )))
            }
        }
    }
}
