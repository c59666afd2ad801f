//! The outbox relay: publishes queued probe jobs and due webhook deliveries to RabbitMQ in
//! batches, every publisher confirm of a batch outstanding at once. Confirmed probe jobs are
//! deleted in one statement; a confirmed delivery stays in its outbox, leased for as long as a
//! notifier may take to settle it (it is published again if none does). RabbitMQ being down
//! never fails an upload: jobs and deliveries wait in their outboxes and the relay catches up.

use std::time::Duration;

use assetd_platform::{
    amqp::{self, JOB_ROUTING_KEY, JobMessage, Topology},
    secret::Secret,
};
use assetd_proto::catalog::v1 as pb;
use tokio_util::sync::CancellationToken;

use crate::{
    db::Db,
    jobs_signal::JobsQueued,
    store::{probe_jobs, webhook_deliveries},
};

/// Jobs claimed (and published with their confirms in flight together) per round.
const BATCH: u32 = 200;
/// How long a claimed batch is reserved for this relay.
const LEASE_SECS: u32 = 30;
/// How long a published webhook delivery waits for a notifier to settle it before it is
/// published again (a message lost with a notifier that never acknowledged it is redelivered by
/// RabbitMQ; this covers the rest).
const WEBHOOK_LEASE_SECS: u32 = 600;
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
            let deliveries = match webhook_deliveries::claim(&self.db, BATCH, WEBHOOK_LEASE_SECS)
                .await
            {
                Ok(deliveries) => deliveries,
                Err(err) => {
                    tracing::warn!(error = %err, "outbox relay cannot read the webhook deliveries");
                    Vec::new()
                }
            };
            if !deliveries.is_empty() {
                self.publish_deliveries(channel, &deliveries).await?;
            }
            if shutdown.is_cancelled() {
                return Ok(());
            }
            if batch.len() < BATCH as usize && deliveries.len() < BATCH as usize {
                tokio::select! {
                    () = shutdown.cancelled() => return Ok(()),
                    () = waiter.wait(IDLE_POLL) => {}
                }
            }
        }
    }

    /// Publishes due webhook deliveries to the webhooks queue, every confirm outstanding at once;
    /// gives the unconfirmed back to the outbox at once. An error means the channel is broken.
    async fn publish_deliveries(
        &self,
        channel: &amqp::AmqpChannel,
        deliveries: &[pb::WebhookDispatch],
    ) -> anyhow::Result<()> {
        let queue = self.topology.webhooks_queue();
        let mut in_flight = Vec::with_capacity(deliveries.len());
        let mut failure = None;
        for dispatch in deliveries {
            let message = JobMessage {
                job_id: dispatch.delivery_id.clone(),
                asset_id: dispatch
                    .asset
                    .as_ref()
                    .map(|asset| asset.asset_id.clone())
                    .unwrap_or_default(),
                attempt: dispatch.round_attempt,
                request_id: String::new(),
                trace: Default::default(),
            };
            match amqp::start_publish(channel, "", &queue, &message).await {
                Ok(confirm) => in_flight.push((dispatch.delivery_id.as_str(), confirm)),
                Err(err) => {
                    failure = Some(err);
                    break;
                }
            }
        }
        let mut unconfirmed = Vec::new();
        let mut confirmed = 0usize;
        let sent = in_flight.len();
        for (delivery_id, confirm) in in_flight {
            match confirm.await {
                Ok(()) => confirmed += 1,
                Err(err) => {
                    unconfirmed.push(delivery_id);
                    failure.get_or_insert(err);
                }
            }
        }
        unconfirmed.extend(deliveries[sent..].iter().map(|d| d.delivery_id.as_str()));
        metrics::counter!("assetd_relay_webhooks_published_total").increment(confirmed as u64);
        match failure {
            None => Ok(()),
            Some(err) => {
                if let Err(release) = webhook_deliveries::release(&self.db, &unconfirmed).await {
                    tracing::warn!(error = %release, "cannot give unpublished webhook deliveries back; they are due again after their lease");
                }
                Err(anyhow::anyhow!(err).context(format!(
                    "{} webhook deliveries not confirmed by RabbitMQ; they wait in the outbox",
                    unconfirmed.len()
                )))
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
