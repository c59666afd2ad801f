//! RabbitMQ: the probe topology (work queue, delayed retries, dead letters) and the webhook
//! delivery queue, connecting, and confirmed publishing.

use std::{future::Future, time::Duration};

use tokio_util::sync::CancellationToken;

use assetd_proto::context::TraceContext;
use lapin::{
    BasicProperties, Channel, Connection, ConnectionProperties, ExchangeKind,
    options::{
        BasicPublishOptions, ConfirmSelectOptions, ExchangeDeclareOptions, QueueBindOptions,
        QueueDeclareOptions,
    },
    types::{AMQPValue, FieldTable, ShortString},
};
use serde::{Deserialize, Serialize};

pub use lapin::Channel as AmqpChannel;

use crate::{reconnect::reconnecting, retry::JOB_RETRY_DELAYS_SECS, secret::Secret};

#[derive(clap::Args, Clone, Debug)]
pub struct AmqpConfig {
    /// RabbitMQ URL, e.g. `amqp://user:pass@rabbitmq:5672/%2f`. Without it probe jobs run through
    /// the embedded queue (the catalog's outbox table).
    #[arg(long, env = "ASSETD_AMQP_URL", hide_env_values = true)]
    pub amqp_url: Option<Secret>,
    /// Prefix of every exchange and queue name, so several deployments can share a broker.
    #[arg(long, env = "ASSETD_AMQP_PREFIX", default_value = "assetd")]
    pub amqp_prefix: String,
}

/// Names of the probe topology under a prefix.
#[derive(Clone, Debug)]
pub struct Topology {
    prefix: String,
}

/// Routing key of probe jobs on the probe exchange.
pub const JOB_ROUTING_KEY: &str = "job";

impl Topology {
    pub fn new(prefix: &str) -> Self {
        Self {
            prefix: prefix.to_owned(),
        }
    }

    /// The direct exchange jobs are published to.
    pub fn exchange(&self) -> String {
        format!("{}.probe", self.prefix)
    }

    /// The work queue the probers consume.
    pub fn jobs_queue(&self) -> String {
        format!("{}.probe.jobs", self.prefix)
    }

    /// The queue that holds a job for `delay_secs` (one of [`JOB_RETRY_DELAYS_SECS`]), then
    /// dead-letters it back to the exchange.
    pub fn retry_queue(&self, delay_secs: u64) -> String {
        format!("{}.probe.retry.{delay_secs}s", self.prefix)
    }

    /// Jobs that failed every attempt, kept for inspection.
    pub fn dead_queue(&self) -> String {
        format!("{}.probe.dead", self.prefix)
    }

    /// The webhook deliveries due now, which the notifiers consume (published through the
    /// default exchange). Retries are not delayed here: a failed attempt makes the delivery due
    /// again in the catalog's outbox, and the relay publishes it when it is.
    pub fn webhooks_queue(&self) -> String {
        format!("{}.webhooks", self.prefix)
    }

    /// Declares everything (idempotent); run at every start.
    pub async fn declare(&self, channel: &Channel) -> lapin::Result<()> {
        let durable = QueueDeclareOptions {
            durable: true,
            ..QueueDeclareOptions::default()
        };
        channel
            .exchange_declare(
                self.exchange().into(),
                ExchangeKind::Direct,
                ExchangeDeclareOptions {
                    durable: true,
                    ..ExchangeDeclareOptions::default()
                },
                FieldTable::default(),
            )
            .await?;
        channel
            .queue_declare(self.jobs_queue().into(), durable, FieldTable::default())
            .await?;
        channel
            .queue_bind(
                self.jobs_queue().into(),
                self.exchange().into(),
                JOB_ROUTING_KEY.into(),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await?;
        for delay in JOB_RETRY_DELAYS_SECS {
            let mut args = FieldTable::default();
            args.insert(
                "x-message-ttl".into(),
                AMQPValue::LongLongInt(i64::try_from(delay * 1000).unwrap_or(i64::MAX)),
            );
            args.insert(
                "x-dead-letter-exchange".into(),
                AMQPValue::LongString(self.exchange().into()),
            );
            args.insert(
                "x-dead-letter-routing-key".into(),
                AMQPValue::LongString(JOB_ROUTING_KEY.into()),
            );
            channel
                .queue_declare(self.retry_queue(delay).into(), durable, args)
                .await?;
        }
        channel
            .queue_declare(self.dead_queue().into(), durable, FieldTable::default())
            .await?;
        channel
            .queue_declare(self.webhooks_queue().into(), durable, FieldTable::default())
            .await?;
        Ok(())
    }
}

/// The body of a job message: a probe job, or a webhook delivery (`job_id` is the delivery id,
/// `asset_id` the asset the event is about).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JobMessage {
    pub job_id: String,
    pub asset_id: String,
    /// 1 for the first delivery; the prober increments it when it schedules a retry.
    pub attempt: u32,
    #[serde(default)]
    pub request_id: String,
    /// The W3C trace context of the upload that queued the job; travels in the `traceparent` and
    /// `tracestate` message headers, not in the body.
    #[serde(skip)]
    pub trace: TraceContext,
}

/// The trace context a delivery carries in its `traceparent` and `tracestate` headers.
pub fn trace_context(properties: &BasicProperties) -> TraceContext {
    TraceContext::read(|name| {
        match properties
            .headers()
            .as_ref()
            .and_then(|headers| headers.inner().get(name))
        {
            Some(AMQPValue::LongString(value)) => {
                Some(String::from_utf8_lossy(value.as_bytes()).into_owned())
            }
            Some(AMQPValue::ShortString(value)) => Some(value.as_str().to_owned()),
            _ => None,
        }
    })
}

/// Connects, opens a channel with publisher confirms on, and declares the topology.
pub async fn connect(
    url: &Secret,
    topology: &Topology,
    name: &str,
) -> lapin::Result<(Connection, Channel)> {
    let properties = ConnectionProperties::default().with_connection_name(name.into());
    let connection = Connection::connect(url.expose(), properties).await?;
    let channel = connection.create_channel().await?;
    channel
        .confirm_select(ConfirmSelectOptions::default())
        .await?;
    topology.declare(&channel).await?;
    Ok((connection, channel))
}

#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error("RabbitMQ error")]
    Amqp(#[from] lapin::Error),
    #[error("RabbitMQ did not confirm the message")]
    NotConfirmed,
    #[error("RabbitMQ did not confirm the message in time")]
    Timeout,
}

/// How long a publish may wait for the broker's confirm.
const CONFIRM_TIMEOUT: Duration = Duration::from_secs(10);

/// Publishes a persistent job message and waits for the broker's confirm.
pub async fn publish(
    channel: &Channel,
    exchange: &str,
    routing_key: &str,
    message: &JobMessage,
) -> Result<(), PublishError> {
    start_publish(channel, exchange, routing_key, message)
        .await?
        .await
}

/// Publishes a persistent job message; the returned future waits for the broker's confirm, so
/// a batch can have every confirm outstanding at once. The confirm is due `CONFIRM_TIMEOUT` after
/// the publish, not after the future is first awaited: a batch whose confirms never come gives
/// up once, 10 s after its last publish, not 10 s per message awaited in turn.
pub async fn start_publish(
    channel: &Channel,
    exchange: &str,
    routing_key: &str,
    message: &JobMessage,
) -> Result<impl Future<Output = Result<(), PublishError>> + Send + use<>, PublishError> {
    let body = serde_json::to_vec(message).unwrap_or_default();
    let mut headers = FieldTable::default();
    headers.insert(
        "x-request-id".into(),
        AMQPValue::LongString(message.request_id.clone().into()),
    );
    for (name, value) in message.trace.entries() {
        if !value.is_empty() {
            headers.insert(name.into(), AMQPValue::LongString(value.to_owned().into()));
        }
    }
    let properties = BasicProperties::default()
        .with_delivery_mode(2)
        .with_content_type(ShortString::from("application/json"))
        .with_message_id(message.job_id.clone().into())
        .with_headers(headers);
    let confirm = tokio::time::timeout(
        CONFIRM_TIMEOUT,
        channel.basic_publish(
            exchange.into(),
            routing_key.into(),
            BasicPublishOptions::default(),
            &body,
            properties,
        ),
    )
    .await
    .map_err(|_| PublishError::Timeout)??;
    let confirm_by = tokio::time::Instant::now() + CONFIRM_TIMEOUT;
    Ok(async move {
        let confirmation = tokio::time::timeout_at(confirm_by, confirm)
            .await
            .map_err(|_| PublishError::Timeout)??;
        if confirmation.is_ack() {
            Ok(())
        } else {
            Err(PublishError::NotConfirmed)
        }
    })
}

/// Runs `work` on a connected channel until `shutdown`, connecting again (through
/// [`reconnecting`]) whenever the connection or `work` fails: every RabbitMQ user's (the relay's,
/// the prober's) connection.
pub async fn connected<F, Fut>(
    url: &Secret,
    topology: &Topology,
    name: &str,
    shutdown: &CancellationToken,
    mut work: F,
) where
    F: FnMut(Channel) -> Fut,
    Fut: Future<Output = anyhow::Result<()>>,
{
    reconnecting(
        &format!("RabbitMQ connection {name} (probe jobs wait while it is down)"),
        shutdown,
        || async {
            let (connection, channel) = connect(url, topology, name).await?;
            tracing::info!(
                connection = name,
                exchange = topology.exchange(),
                "connected to RabbitMQ"
            );
            Ok((connection, channel))
        },
        |(connection, channel): (Connection, Channel)| {
            let done = work(channel);
            async move {
                let result = done.await;
                let _ = connection.close(200, "closing".into()).await;
                result
            }
        },
    )
    .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_queues_by_attempt() {
        let topology = Topology::new("t");
        let names: Vec<String> = JOB_RETRY_DELAYS_SECS
            .iter()
            .map(|&delay| topology.retry_queue(delay))
            .collect();
        assert_eq!(
            names,
            ["t.probe.retry.2s", "t.probe.retry.10s", "t.probe.retry.60s"]
        );
    }
}
