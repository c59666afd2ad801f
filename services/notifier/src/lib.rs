//! The notifier: sends each webhook delivery, signed the Standard Webhooks way, to its endpoint,
//! taking due deliveries from RabbitMQ or the catalog's embedded queue, and records every attempt
//! through the catalog. It runs inside the prober role.

mod amqp_consumer;
mod deliver;
mod embedded;
pub mod guard;
pub mod schedule;
mod send;
pub mod sign;

use std::time::Duration;

use assetd_platform::{amqp::AmqpConfig, storage::Storage};
use assetd_proto::catalog::CatalogClient;
use tokio_util::sync::CancellationToken;

use crate::{deliver::Notifier, guard::AddressPolicy, schedule::RetrySchedule, send::Sender};

/// How long shutdown waits for attempts in flight.
const DRAIN_DEADLINE: Duration = Duration::from_secs(20);

#[derive(clap::Args, Clone, Debug)]
pub struct NotifierConfig {
    /// Webhook attempts in flight at once in this process.
    #[arg(long, env = "ASSETD_WEBHOOK_CONCURRENCY", default_value_t = 32)]
    pub webhook_concurrency: usize,
    /// Longest one attempt may take (connecting, sending and the answer's status), in seconds;
    /// an endpoint that has not answered by then counts as failed.
    #[arg(long, env = "ASSETD_WEBHOOK_TIMEOUT_SECS", default_value_t = 15)]
    pub webhook_timeout_secs: u64,
    /// The waits after each failed attempt (each ±10 %, never shorter than the endpoint's
    /// `Retry-After`); after the last the delivery has failed and can be replayed.
    #[arg(long, env = "ASSETD_WEBHOOK_RETRY_SCHEDULE", default_value = schedule::DEFAULT_SCHEDULE)]
    pub webhook_retry_schedule: RetrySchedule,
    /// Send webhooks to loopback addresses (127.0.0.0/8, ::1), refused by default.
    #[arg(long, env = "ASSETD_WEBHOOK_ALLOW_LOOPBACK", default_value_t = false)]
    pub webhook_allow_loopback: bool,
    /// Send webhooks to private and link-local addresses (10/8, 172.16/12, 192.168/16,
    /// 100.64/10, 169.254/16, fc00::/7, fe80::/10), refused by default.
    #[arg(long, env = "ASSETD_WEBHOOK_ALLOW_PRIVATE", default_value_t = false)]
    pub webhook_allow_private: bool,
    /// Base URL of the gateway as clients reach it, for `fileUrl` in webhook payloads when the
    /// gateway serves the objects (filesystem storage). `serve` defaults it to its own gateway.
    #[arg(long, env = "ASSETD_PUBLIC_URL")]
    pub webhook_public_url: Option<String>,
}

impl NotifierConfig {
    fn policy(&self) -> AddressPolicy {
        AddressPolicy {
            allow_loopback: self.webhook_allow_loopback,
            allow_private: self.webhook_allow_private,
        }
    }
}

/// Runs the notifier until `shutdown`: on RabbitMQ when `amqp.amqp_url` is set, else on the
/// catalog's embedded queue. Attempts in flight finish (up to 20 s) before it returns.
pub async fn run(
    config: NotifierConfig,
    amqp: AmqpConfig,
    catalog: CatalogClient,
    storage: Storage,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let timeout = Duration::from_secs(config.webhook_timeout_secs.max(1));
    let public_url = match &config.webhook_public_url {
        Some(url) => url.trim_end_matches('/').to_owned(),
        None => {
            if matches!(
                storage.public_access(),
                assetd_platform::storage::PublicAccess::ViaGateway
            ) {
                tracing::warn!(
                    "ASSETD_PUBLIC_URL is not set: webhook payloads link files at http://127.0.0.1:8080; set it to the gateway's public URL"
                );
            }
            "http://127.0.0.1:8080".to_owned()
        }
    };
    let notifier = Notifier {
        catalog,
        sender: Sender::new(config.policy(), timeout)?,
        schedule: config.webhook_retry_schedule.clone(),
        storage,
        public_url,
    };
    let concurrency = config.webhook_concurrency.max(1);
    match amqp.amqp_url {
        Some(url) => {
            amqp_consumer::run(notifier, concurrency, url, &amqp.amqp_prefix, shutdown).await
        }
        None => embedded::run(notifier, concurrency, timeout, shutdown).await,
    }
}
