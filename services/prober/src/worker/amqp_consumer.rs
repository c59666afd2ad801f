//! The RabbitMQ side of the worker: prefetch-limited consumer, bounded concurrency, ack only after
//! the result is recorded, delayed retries through the retry queues, dead letters after the last attempt.

use std::{sync::Arc, time::Duration};

use assetd_platform::{
    amqp::{self, AmqpChannel, JobMessage, Topology},
    secret::Secret,
};
use assetd_proto::context::{REQUEST_ID, continue_trace};
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
use tracing::Instrument;

use super::{Outcome, ProberConfig, Worker};

/// How long shutdown waits for in-flight probes before their deliveries go back to the queue.
const DRAIN_DEADLINE: Duration = Duration::from_secs(25);

pub async fn run(
    worker: Worker,
    config: &ProberConfig,
    url: Secret,
    prefix: &str,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let topology = Topology::new(prefix);
    let mut backoff = Duration::from_millis(500);
    while !shutdown.is_cancelled() {
        match amqp::connect(&url, &topology, "assetd-prober").await {
            Ok((connection, channel)) => {
                backoff = Duration::from_millis(500);
                if let Err(err) = consume(&worker, config, &topology, &channel, &shutdown).await {
                    tracing::warn!(error = %err, "RabbitMQ consumer stopped; reconnecting");
                }
                let _ = connection.close(200, "prober stopping".into()).await;
            }
            Err(err) => {
                tracing::warn!(error = %err, retry_in_ms = backoff.as_millis() as u64, "RabbitMQ unreachable")
            }
        }
        tokio::select! {
            () = shutdown.cancelled() => break,
            () = tokio::time::sleep(backoff) => {}
        }
        backoff = (backoff * 2).min(Duration::from_secs(30));
    }
    tracing::info!("prober stopped");
    Ok(())
}

async fn consume(
    worker: &Worker,
    config: &ProberConfig,
    topology: &Topology,
    channel: &AmqpChannel,
    shutdown: &CancellationToken,
) -> lapin::Result<()> {
    channel
        .basic_qos(config.probe_prefetch.max(1), BasicQosOptions::default())
        .await?;
    let tag = format!("assetd-prober-{}", uuid::Uuid::new_v4().simple());
    let mut consumer = channel
        .basic_consume(
            topology.jobs_queue().into(),
            tag.clone().into(),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await?;
    tracing::info!(
        queue = topology.jobs_queue(),
        prefetch = config.probe_prefetch,
        "prober consuming"
    );
    let slots = Arc::new(Semaphore::new(config.probe_concurrency.max(1)));
    let result = loop {
        let delivery = tokio::select! {
            () = shutdown.cancelled() => break Ok(()),
            next = consumer.next() => next,
        };
        let delivery = match delivery {
            Some(Ok(delivery)) => delivery,
            Some(Err(err)) => break Err(err),
            None => break Ok(()),
        };
        let Ok(permit) = slots.clone().acquire_owned().await else {
            break Ok(());
        };
        let (worker, topology, channel) = (worker.clone(), topology.clone(), channel.clone());
        tokio::spawn(async move {
            handle(&worker, &topology, &channel, delivery).await;
            drop(permit);
        });
    };
    // Stop taking deliveries, then let the in-flight ones finish; what does not finish in time is
    // returned to the queue by the broker when the channel closes.
    let _ = channel
        .basic_cancel(tag.into(), BasicCancelOptions::default())
        .await;
    let all = u32::try_from(config.probe_concurrency.max(1)).unwrap_or(u32::MAX);
    if tokio::time::timeout(DRAIN_DEADLINE, slots.acquire_many(all))
        .await
        .is_err()
    {
        tracing::warn!("in-flight probes did not finish in time; their jobs go back to the queue");
    }
    result
}

async fn handle(worker: &Worker, topology: &Topology, channel: &AmqpChannel, delivery: Delivery) {
    let message: JobMessage = match serde_json::from_slice(&delivery.data) {
        Ok(message) => JobMessage {
            trace: amqp::trace_context(&delivery.properties),
            ..message
        },
        Err(err) => {
            tracing::error!(error = %err, "unreadable probe job; moving it to the dead-letter queue");
            let _ = channel
                .basic_publish(
                    "".into(),
                    topology.dead_queue().into(),
                    lapin::options::BasicPublishOptions::default(),
                    &delivery.data,
                    lapin::BasicProperties::default().with_delivery_mode(2),
                )
                .await;
            let _ = delivery.ack(BasicAckOptions::default()).await;
            return;
        }
    };
    let span = tracing::info_span!(
        "probe_job",
        job_id = message.job_id,
        asset_id = message.asset_id,
        attempt = message.attempt,
        request_id = message.request_id,
        trace_id = tracing::field::Empty,
        otel.name = "probe",
        otel.kind = "consumer",
    );
    continue_trace(&span, &message.trace);
    settle(worker, topology, channel, delivery, message)
        .instrument(span)
        .await;
}

/// Probes the job's asset and settles the delivery: ack, retry later, or dead-letter.
async fn settle(
    worker: &Worker,
    topology: &Topology,
    channel: &AmqpChannel,
    delivery: Delivery,
    message: JobMessage,
) {
    let outcome = REQUEST_ID
        .scope(
            message.request_id.clone(),
            worker.process(&message.asset_id),
        )
        .await;
    metrics::counter!("assetd_probe_jobs_total", "queue" => "rabbitmq", "outcome" => outcome.label()).increment(1);
    let settled = match outcome {
        Outcome::Recorded | Outcome::Nothing => Ok(()),
        Outcome::Transient(error) => {
            schedule_retry(worker, topology, channel, &message, &error).await
        }
    };

    let acked = match settled {
        Ok(()) => delivery.ack(BasicAckOptions::default()).await,
        Err(()) => {
            delivery
                .nack(BasicNackOptions {
                    requeue: true,
                    ..BasicNackOptions::default()
                })
                .await
        }
    };
    if let Err(err) = acked {
        tracing::warn!(error = %err, "cannot settle a delivery; the broker will redeliver it");
    }
}

/// Publishes the next attempt to its delay queue (or the dead-letter queue after the last one).
/// `Err` means nothing was published and the delivery must go back to the queue.
async fn schedule_retry(
    worker: &Worker,
    topology: &Topology,
    channel: &AmqpChannel,
    message: &JobMessage,
    error: &str,
) -> Result<(), ()> {
    let max = worker.config().probe_max_attempts.max(1);
    if message.attempt >= max {
        tracing::error!(
            error,
            attempts = message.attempt,
            "probe job failed every attempt; dead-lettering it"
        );
        amqp::publish(channel, "", &topology.dead_queue(), message)
            .await
            .map_err(|err| {
                tracing::warn!(error = %err, "cannot dead-letter a probe job");
            })?;
        worker
            .give_up(&message.asset_id, message.attempt, error)
            .await;
        return Ok(());
    }
    let queue = topology.retry_queue(message.attempt);
    tracing::warn!(
        error,
        retry_queue = queue,
        "probe failed for now; retrying later"
    );
    let next = JobMessage {
        attempt: message.attempt + 1,
        ..message.clone()
    };
    amqp::publish(channel, "", &queue, &next)
        .await
        .map_err(|err| {
            tracing::warn!(error = %err, "cannot schedule a retry");
        })
}
