//! The catalog's SQL: one module per table (the only code in assetd that runs queries), paging,
//! and the engine workarounds in [`sql`].

pub mod accounts;
pub mod assets;
pub mod idempotency_keys;
pub mod paging;
pub mod probe_jobs;
pub mod project_assets;
pub mod projects;
pub mod resumable_uploads;
pub mod sql;
pub mod webhook_deliveries;
pub mod webhooks;
