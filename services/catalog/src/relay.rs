//! The outbox relay: publishes queued probe jobs to RabbitMQ with publisher confirms, then deletes them.
//! RabbitMQ being down never fails an upload: jobs wait in the outbox and the relay catches up.

use std::{sync::Arc, time::Duration};

use assetd_platform::{
    amqp::{self, JOB_ROUTING_KEY, JobMessage, Topology},
    secret::Secret,
};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::{db::Db, jobs};

/// Jobs claimed per round.
const BATCH: u32 = 100;
/// How long a claimed batch is reserved for this relay.
const LEASE_SECS: u32 = 30;
/// Poll interval when nothing woke the relay.
const IDLE_POLL: Duration = Duration::from_secs(1);

pub struct Relay {
    pub db: Db,
    pub url: Secret,
    pub topology: Topology,
    pub wake: Arc<Notify>,
}

impl Relay {
    /// Runs until `shutdown`; on the way out, publishes what is already claimed.
    pub async fn run(self, shutdown: CancellationToken) {
        let mut backoff = Duration::from_millis(500);
        while !shutdown.is_cancelled() {
            match amqp::connect(&self.url, &self.topology, "assetd-relay").await {
                Ok((connection, channel)) => {
                    tracing::info!(
                        exchange = self.topology.exchange(),
                        "outbox relay connected to RabbitMQ"
                    );
                    backoff = Duration::from_millis(500);
                    self.publish_until_error(&channel, &shutdown).await;
                    let _ = connection.close(200, "relay stopping".into()).await;
                }
                Err(err) => {
                    tracing::warn!(
                        error = %err,
                        retry_in_ms = backoff.as_millis() as u64,
                        "RabbitMQ unreachable; probe jobs wait in the outbox"
                    );
                }
            }
            tokio::select! {
                () = shutdown.cancelled() => break,
                () = tokio::time::sleep(backoff) => {}
            }
            backoff = (backoff * 2).min(Duration::from_secs(30));
        }
        tracing::info!("outbox relay stopped");
    }

    async fn publish_until_error(&self, channel: &amqp::AmqpChannel, shutdown: &CancellationToken) {
        loop {
            let batch = match jobs::claim(&self.db, BATCH, LEASE_SECS).await {
                Ok(batch) => batch,
                Err(err) => {
                    tracing::warn!(error = %err, "outbox relay cannot read the outbox");
                    Vec::new()
                }
            };
            for (index, job) in batch.iter().enumerate() {
                let message = JobMessage {
                    job_id: job.job_id.clone(),
                    asset_id: job.asset_id.clone(),
                    attempt: 1,
                    request_id: job.request_id.clone(),
                    trace: job.trace_context(),
                };
                if let Err(err) = amqp::publish(
                    channel,
                    &self.topology.exchange(),
                    JOB_ROUTING_KEY,
                    &message,
                )
                .await
                {
                    tracing::warn!(error = %err, job_id = job.job_id, "cannot publish a probe job; reconnecting");
                    // Give the unpublished rest back at once instead of waiting for the lease.
                    for unpublished in &batch[index..] {
                        let _ = jobs::retry(
                            &self.db,
                            &unpublished.job_id,
                            0,
                            "RabbitMQ publish failed",
                        )
                        .await;
                    }
                    return;
                }
                if let Err(err) = jobs::finish(&self.db, &job.job_id).await {
                    // Published but still in the outbox: it will be published again, which the
                    // idempotent prober tolerates.
                    tracing::warn!(error = %err, job_id = job.job_id, "cannot remove a published job");
                }
                tracing::debug!(
                    job_id = job.job_id,
                    asset_id = job.asset_id,
                    "probe job published"
                );
            }
            if shutdown.is_cancelled() {
                return;
            }
            if batch.len() < BATCH as usize {
                tokio::select! {
                    () = shutdown.cancelled() => return,
                    () = self.wake.notified() => {}
                    () = tokio::time::sleep(IDLE_POLL) => {}
                }
            }
        }
    }
}
