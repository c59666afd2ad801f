//! The catalog role: owns assetd's tables on SQLite or Postgres and serves them over gRPC.

pub mod config;
pub mod db;
pub mod error;
pub mod jobs_signal;
pub mod relay;
pub mod server;
pub mod service;
pub mod store;
mod time;
pub mod watch;

pub use config::CatalogConfig;
pub use db::Db;
pub use error::Error;
