//! The prober role: takes probe jobs from RabbitMQ or the embedded outbox queue, probes the
//! stored object and records the result through the catalog.

mod amqp_consumer;
mod core;
mod job;
mod outbox_consumer;
mod storage_source;

use std::time::Duration;

use assetd_platform::{amqp::AmqpConfig, storage::Storage};
use assetd_proto::catalog::CatalogClient;
use tokio_util::sync::CancellationToken;

pub use job::{Outcome, Worker};

#[derive(clap::Args, Clone, Debug)]
pub struct ProberConfig {
    /// Probes running at once in this process.
    #[arg(long, env = "ASSETD_PROBE_CONCURRENCY", default_value_t = 16)]
    pub probe_concurrency: usize,
    /// Unacknowledged RabbitMQ deliveries this process holds at most.
    #[arg(long, env = "ASSETD_PROBE_PREFETCH", default_value_t = 32)]
    pub probe_prefetch: u16,
    /// Deliveries of one job before it is dead-lettered and its asset marked failed.
    #[arg(long, env = "ASSETD_PROBE_MAX_ATTEMPTS", default_value_t = 5)]
    pub probe_max_attempts: u32,
    /// Most bytes one probe may read from storage.
    #[arg(long, env = "ASSETD_PROBE_MAX_BYTES", default_value_t = 32 * 1024 * 1024)]
    pub probe_max_bytes: u64,
    /// Most time one probe may take, in seconds.
    #[arg(long, env = "ASSETD_PROBE_TIMEOUT_SECS", default_value_t = 30)]
    pub probe_timeout_secs: u64,
    /// Longest accepted video, in seconds; longer ones end in probe status `failed`.
    #[arg(long, env = "ASSETD_LIMIT_VIDEO_SECONDS", default_value_t = 1800.0)]
    pub video_max_seconds: f64,
    /// Longest accepted audio file, in seconds.
    #[arg(long, env = "ASSETD_LIMIT_AUDIO_SECONDS", default_value_t = 1800.0)]
    pub audio_max_seconds: f64,
    /// Delete the stored object of an asset whose probe failed (kept by default).
    #[arg(
        long,
        env = "ASSETD_PROBE_FAILED_DELETE_OBJECT",
        default_value_t = false
    )]
    pub probe_failed_delete_object: bool,
}

impl ProberConfig {
    pub fn budget(&self) -> assetd_media::Budget {
        assetd_media::Budget {
            max_bytes_read: self.probe_max_bytes,
            max_time: Duration::from_secs(self.probe_timeout_secs.max(1)),
        }
    }
}

/// Runs the worker until `shutdown`: on RabbitMQ when `amqp.amqp_url` is set, else on the
/// catalog's embedded queue. In-flight probes finish (or go back to the queue) before it returns.
pub async fn run(
    config: ProberConfig,
    amqp: AmqpConfig,
    catalog: CatalogClient,
    storage: Storage,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let worker = Worker::new(config.clone(), catalog, storage);
    match amqp.amqp_url {
        Some(url) => amqp_consumer::run(worker, &config, url, &amqp.amqp_prefix, shutdown).await,
        None => {
            tracing::info!("no RabbitMQ configured: probing from the embedded queue");
            outbox_consumer::run(worker, &config, shutdown).await
        }
    }
}
