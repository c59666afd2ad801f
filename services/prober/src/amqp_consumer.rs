//! The RabbitMQ queue: a prefetch-limited consumer whose deliveries are acknowledged only after
//! the result is recorded; retries go through the delay queues, dead letters after the last attempt.

use assetd_platform::{
    amqp::{self, AmqpChannel, JobMessage, Topology},
    secret::Secret,
};
use futures::{FutureExt, StreamExt};
use lapin::{
    Consumer,
    message::Delivery,
    options::{
        BasicAckOptions, BasicCancelOptions, BasicConsumeOptions, BasicNackOptions, BasicQosOptions,
    },
    types::FieldTable,
};
use tokio_util::sync::CancellationToken;

use super::{
    ProberConfig, Worker,
    core::{self, Job, JobQueue, Settle, Settler},
};

pub async fn run(
    worker: Worker,
    config: &ProberConfig,
    url: Secret,
    prefix: &str,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let topology = Topology::new(prefix);
    amqp::connected(&url, &topology, "assetd-prober", &shutdown, |channel| {
        let (worker, topology) = (worker.clone(), topology.clone());
        let shutdown = shutdown.clone();
        async move {
            let queue = AmqpQueue::start(config, &topology, channel).await?;
            core::run(&worker, queue, config.probe_concurrency, &shutdown).await
        }
    })
    .await;
    tracing::info!("prober stopped");
    Ok(())
}

struct AmqpQueue {
    consumer: Consumer,
    tag: String,
    settler: AmqpSettler,
}

#[derive(Clone)]
struct AmqpSettler {
    channel: AmqpChannel,
    topology: Topology,
}

impl AmqpQueue {
    async fn start(
        config: &ProberConfig,
        topology: &Topology,
        channel: AmqpChannel,
    ) -> lapin::Result<Self> {
        channel
            .basic_qos(config.probe_prefetch.max(1), BasicQosOptions::default())
            .await?;
        let tag = format!("assetd-prober-{}", uuid::Uuid::new_v4().simple());
        let consumer = channel
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
        Ok(Self {
            consumer,
            tag,
            settler: AmqpSettler {
                channel,
                topology: topology.clone(),
            },
        })
    }

    /// The job a delivery carries; an unreadable one is moved to the dead-letter queue.
    async fn job(&self, delivery: Delivery) -> Option<(Job, Delivery)> {
        match serde_json::from_slice::<JobMessage>(&delivery.data) {
            Ok(message) => Some((
                Job {
                    trace: amqp::trace_context(&delivery.properties),
                    job_id: message.job_id,
                    asset_id: message.asset_id,
                    attempt: message.attempt,
                    request_id: message.request_id,
                },
                delivery,
            )),
            Err(err) => {
                tracing::error!(error = %err, "unreadable probe job; moving it to the dead-letter queue");
                let settler = &self.settler;
                let _ = settler
                    .channel
                    .basic_publish(
                        "".into(),
                        settler.topology.dead_queue().into(),
                        lapin::options::BasicPublishOptions::default(),
                        &delivery.data,
                        lapin::BasicProperties::default().with_delivery_mode(2),
                    )
                    .await;
                let _ = delivery.ack(BasicAckOptions::default()).await;
                None
            }
        }
    }
}

impl JobQueue for AmqpQueue {
    type Receipt = Delivery;
    type Settler = AmqpSettler;
    const NAME: &'static str = "rabbitmq";
    const REMOVED_WITH_RESULT: bool = false;

    fn settler(&self) -> AmqpSettler {
        self.settler.clone()
    }

    /// One delivery (waiting for it), plus those already received, up to `max`.
    async fn next(&mut self, max: usize) -> anyhow::Result<Vec<(Job, Delivery)>> {
        let mut jobs = Vec::new();
        let first = self.consumer.next().await;
        let mut next = Some(first);
        while let Some(delivery) = next.take() {
            match delivery {
                Some(Ok(delivery)) => jobs.extend(self.job(delivery).await),
                Some(Err(err)) => anyhow::bail!("RabbitMQ consumer failed: {err}"),
                None => anyhow::bail!("RabbitMQ ended the consumer"),
            }
            if jobs.len() < max {
                next = self.consumer.next().now_or_never();
            }
        }
        Ok(jobs)
    }

    /// Cancels the consumer: no new deliveries; unacknowledged ones go back to the queue when the
    /// channel closes.
    async fn stop(&mut self) {
        let _ = self
            .settler
            .channel
            .basic_cancel(self.tag.as_str().into(), BasicCancelOptions::default())
            .await;
    }
}

impl Settler for AmqpSettler {
    type Receipt = Delivery;

    async fn settle(&self, delivery: Delivery, job: &Job, settle: Settle) {
        let message = |attempt| JobMessage {
            job_id: job.job_id.clone(),
            asset_id: job.asset_id.clone(),
            attempt,
            request_id: job.request_id.clone(),
            trace: job.trace.clone(),
        };
        // The next copy is confirmed by the broker before this delivery is acknowledged.
        let published = match settle {
            Settle::Recorded | Settle::Done => Ok(()),
            Settle::Retry {
                next_attempt,
                delay_secs,
                ..
            } => amqp::publish(
                &self.channel,
                "",
                &self.topology.retry_queue(delay_secs),
                &message(next_attempt),
            )
            .await
            .map_err(|err| tracing::warn!(error = %err, "cannot schedule a retry")),
            Settle::GiveUp => amqp::publish(
                &self.channel,
                "",
                &self.topology.dead_queue(),
                &message(job.attempt),
            )
            .await
            .map_err(|err| tracing::warn!(error = %err, "cannot dead-letter a probe job")),
        };
        let settled = match published {
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
        if let Err(err) = settled {
            tracing::warn!(error = %err, "cannot settle a delivery; the broker will redeliver it");
        }
    }
}
