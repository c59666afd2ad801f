//! The RabbitMQ queue: consumes delivery messages from the webhooks queue (prefetch-limited),
//! looks each delivery up in the catalog, attempts it and acknowledges once it is recorded. The
//! outbox stays the truth: a retry is a new due time there, which the relay publishes again.

use std::{sync::Arc, time::Duration};

use assetd_platform::{
    amqp::{self, JobMessage, Topology},
    grpc_error,
    reason::Reason,
    secret::Secret,
};
use assetd_proto::catalog::v1::GetWebhookDispatchRequest;
use futures::StreamExt;
use lapin::{
    message::Delivery,
    options::{
        BasicAckOptions, BasicCancelOptions, BasicConsumeOptions, BasicNackOptions, BasicQosOptions,
    },
    types::FieldTable,
};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use crate::{DRAIN_DEADLINE, deliver::Notifier};

/// Pause before a message whose delivery could not be looked up goes back to the queue.
const LOOKUP_ERROR_PAUSE: Duration = Duration::from_secs(1);

pub async fn run(
    notifier: Notifier,
    concurrency: usize,
    url: Secret,
    prefix: &str,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let topology = Topology::new(prefix);
    amqp::connected(&url, &topology, "assetd-notifier", &shutdown, |channel| {
        let (notifier, topology, shutdown) = (notifier.clone(), topology.clone(), shutdown.clone());
        async move { consume(notifier, concurrency, &topology, channel, &shutdown).await }
    })
    .await;
    tracing::info!("notifier stopped");
    Ok(())
}

async fn consume(
    notifier: Notifier,
    concurrency: usize,
    topology: &Topology,
    channel: amqp::AmqpChannel,
    shutdown: &CancellationToken,
) -> anyhow::Result<()> {
    channel
        .basic_qos(
            u16::try_from(concurrency).unwrap_or(u16::MAX),
            BasicQosOptions::default(),
        )
        .await?;
    let tag = format!("assetd-notifier-{}", uuid::Uuid::new_v4().simple());
    let mut consumer = channel
        .basic_consume(
            topology.webhooks_queue().into(),
            tag.clone().into(),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await?;
    tracing::info!(queue = topology.webhooks_queue(), "notifier consuming");
    let slots = Arc::new(Semaphore::new(concurrency));
    let result = loop {
        let next = tokio::select! {
            () = shutdown.cancelled() => break Ok(()),
            next = consumer.next() => next,
        };
        let delivery = match next {
            Some(Ok(delivery)) => delivery,
            Some(Err(err)) => break Err(anyhow::anyhow!("RabbitMQ consumer failed: {err}")),
            None => break Err(anyhow::anyhow!("RabbitMQ ended the consumer")),
        };
        let permit = slots.clone().acquire_owned().await?;
        let notifier = notifier.clone();
        tokio::spawn(async move {
            handle(&notifier, delivery).await;
            drop(permit);
        });
    };
    let _ = channel
        .basic_cancel(tag.as_str().into(), BasicCancelOptions::default())
        .await;
    let all = u32::try_from(concurrency).unwrap_or(u32::MAX);
    if tokio::time::timeout(DRAIN_DEADLINE, slots.acquire_many(all))
        .await
        .is_err()
    {
        tracing::warn!("webhook attempts did not finish in time; RabbitMQ redelivers them");
    }
    result
}

async fn handle(notifier: &Notifier, delivery: Delivery) {
    let Ok(message) = serde_json::from_slice::<JobMessage>(&delivery.data) else {
        tracing::error!(
            "unreadable webhook delivery message; dropping it (its delivery is published again from the outbox)"
        );
        let _ = delivery.ack(BasicAckOptions::default()).await;
        return;
    };
    let lookup = notifier
        .catalog
        .clone()
        .get_webhook_dispatch(GetWebhookDispatchRequest {
            delivery_id: message.job_id.clone(),
        })
        .await;
    match lookup {
        Ok(dispatch) => {
            notifier.deliver(dispatch.into_inner()).await;
        }
        Err(status) if grpc_error::reason(&status) == Some(Reason::WebhookEventNotFound) => {
            tracing::debug!(
                delivery_id = message.job_id,
                "webhook delivery already settled or its endpoint gone"
            );
        }
        Err(status) => {
            tracing::warn!(delivery_id = message.job_id, code = ?status.code(), "cannot look up a webhook delivery; it goes back to the queue");
            tokio::time::sleep(LOOKUP_ERROR_PAUSE).await;
            let _ = delivery
                .nack(BasicNackOptions {
                    requeue: true,
                    ..BasicNackOptions::default()
                })
                .await;
            return;
        }
    }
    if let Err(err) = delivery.ack(BasicAckOptions::default()).await {
        tracing::warn!(error = %err, "cannot acknowledge a webhook delivery; RabbitMQ redelivers it");
    }
}
