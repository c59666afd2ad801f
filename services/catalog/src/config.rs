//! The catalog's settings: where its database is and where its gRPC server listens.

use std::{net::SocketAddr, time::Duration};

#[derive(clap::Args, Clone, Debug)]
pub struct DatabaseConfig {
    /// Database URL: `sqlite://PATH` (embedded default) or `postgres://USER@HOST/DB` (production).
    #[arg(
        long,
        env = "ASSETD_DATABASE_URL",
        default_value = "sqlite://assetd-data/assetd.db"
    )]
    pub database_url: String,
    /// Largest number of open database connections.
    #[arg(long, env = "ASSETD_DATABASE_MAX_CONNECTIONS", default_value_t = 16)]
    pub database_max_connections: u32,
    /// How long a query waits for a free connection before the catalog answers UNAVAILABLE, in seconds.
    #[arg(
        long,
        env = "ASSETD_DATABASE_ACQUIRE_TIMEOUT_SECS",
        default_value_t = 5
    )]
    pub database_acquire_timeout_secs: u64,
}

#[derive(clap::Args, Clone, Debug)]
pub struct CatalogConfig {
    #[command(flatten)]
    pub database: DatabaseConfig,
    /// Address of the catalog's gRPC server; port 0 picks a free port.
    #[arg(
        long,
        env = "ASSETD_CATALOG_GRPC_ADDR",
        default_value = "127.0.0.1:50051"
    )]
    pub catalog_grpc_addr: SocketAddr,
    /// How long an `Idempotency-Key` of project creation is remembered; after that the same key
    /// creates again. Expired keys are swept from the database.
    #[arg(
        long,
        env = "ASSETD_IDEMPOTENCY_KEY_TTL_SECS",
        default_value_t = 86_400,
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    pub idempotency_key_ttl_secs: u64,
    /// How long settled webhook deliveries (succeeded or failed), their attempts and their
    /// events are kept in the delivery log, in days; older ones are swept.
    #[arg(
        long,
        env = "ASSETD_WEBHOOK_RETENTION_DAYS",
        default_value_t = 30,
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    pub webhook_retention_days: u64,
    /// Most webhook endpoints one account may have; past it, creating one is 409
    /// `WEBHOOK_LIMIT_EXCEEDED`.
    #[arg(
        long,
        env = "ASSETD_WEBHOOKS_PER_ACCOUNT",
        default_value_t = 20,
        value_parser = clap::value_parser!(u32).range(1..=10_000)
    )]
    pub webhooks_per_account: u32,
}

/// What the catalog's service and background work are told by its settings.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// How long a project-creation idempotency key is remembered.
    pub idempotency_ttl: Duration,
    /// How long settled webhook deliveries are kept in the delivery log.
    pub webhook_retention: Duration,
    /// Most webhook endpoints one account may have.
    pub webhooks_per_account: u32,
}

impl CatalogConfig {
    pub fn limits(&self) -> Limits {
        Limits {
            idempotency_ttl: Duration::from_secs(self.idempotency_key_ttl_secs),
            webhook_retention: Duration::from_secs(self.webhook_retention_days * 86_400),
            webhooks_per_account: self.webhooks_per_account,
        }
    }
}
