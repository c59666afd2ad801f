//! The embedded queue: claims due deliveries from the catalog's outbox over gRPC (a long poll
//! that ends as soon as one is written), each leased for longer than an attempt can take.

use std::{sync::Arc, time::Duration};

use assetd_proto::catalog::v1::ClaimWebhookDeliveriesRequest;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use crate::{DRAIN_DEADLINE, deliver::Notifier};

/// Lease beyond the attempt's timeout, for recording it.
const LEASE_MARGIN: Duration = Duration::from_secs(15);
/// How long one claim waits in the catalog for a delivery to be written.
const CLAIM_WAIT_MILLIS: u32 = 5_000;
const CLAIM_ERROR_PAUSE: Duration = Duration::from_secs(1);

pub async fn run(
    notifier: Notifier,
    concurrency: usize,
    timeout: Duration,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    tracing::info!("no RabbitMQ configured: sending webhooks from the embedded queue");
    let lease_secs = u32::try_from((timeout + LEASE_MARGIN).as_secs()).unwrap_or(u32::MAX);
    let slots = Arc::new(Semaphore::new(concurrency));
    loop {
        tokio::select! {
            () = shutdown.cancelled() => break,
            permit = slots.acquire() => drop(permit?),
        }
        let free = slots.available_permits().max(1);
        let request = ClaimWebhookDeliveriesRequest {
            max: u32::try_from(free).unwrap_or(u32::MAX),
            lease_secs,
            wait_millis: CLAIM_WAIT_MILLIS,
        };
        let mut catalog = notifier.catalog.clone();
        let claimed = tokio::select! {
            () = shutdown.cancelled() => break,
            claimed = catalog.claim_webhook_deliveries(request) => claimed,
        };
        let dispatches = match claimed {
            Ok(response) => response.into_inner().dispatches,
            Err(status) => {
                // Nothing is lost: deliveries wait in the outbox.
                tracing::warn!(code = ?status.code(), message = status.message(), "cannot claim webhook deliveries; retrying");
                tokio::time::sleep(CLAIM_ERROR_PAUSE).await;
                continue;
            }
        };
        for dispatch in dispatches {
            let permit = slots.clone().acquire_owned().await?;
            let notifier = notifier.clone();
            tokio::spawn(async move {
                notifier.deliver(dispatch).await;
                drop(permit);
            });
        }
    }
    let all = u32::try_from(concurrency).unwrap_or(u32::MAX);
    if tokio::time::timeout(DRAIN_DEADLINE, slots.acquire_many(all))
        .await
        .is_err()
    {
        tracing::warn!(
            "webhook attempts did not finish in time; they are sent again after their lease"
        );
    }
    tracing::info!("notifier stopped");
    Ok(())
}
