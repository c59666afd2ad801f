//! The catalog role: owns assetd's tables on SQLite or Postgres and serves them over gRPC.

pub mod accounts;
pub mod assets;
pub mod config;
pub mod cursor;
pub mod db;
pub mod error;
pub mod idempotency;
pub mod jobs;
pub mod jobs_signal;
pub mod listing;
pub mod projects;
pub mod relay;
pub mod server;
pub mod service;
mod time;
pub mod watch;

pub use config::CatalogConfig;
pub use db::Db;
pub use error::Error;
