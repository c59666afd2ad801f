//! The gateway role: the Indream-compatible HTTP API. It holds no SQL; records go through the catalog over gRPC.

pub mod app;
mod asset_body;
mod assets;
pub mod auth;
pub mod catalog_client;
pub mod config;
mod docs;
mod files;
pub mod grpc;
mod json_body;
mod observe;
mod openapi;
mod paging;
pub mod problem;
mod project_assets;
mod projects;
mod rfc3339;
mod routes;
pub mod sniff;
mod upload;

pub use app::{AppState, serve};
pub use config::{GatewayConfig, UploadLimits};
