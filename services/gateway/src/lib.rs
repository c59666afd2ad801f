//! The gateway role: the Indream-compatible HTTP API (one module per resource), sniffing uploads
//! with assetd-media. It holds no SQL; records go through the catalog over gRPC.

pub mod admission;
pub mod app;
pub mod asset_body;
mod assets;
pub mod auth;
pub mod catalog_client;
mod cleanup;
pub mod config;
mod digest;
mod docs;
mod edge;
mod envelope;
mod files;
pub mod grpc;
mod json_body;
mod observe;
mod openapi;
mod paging;
mod path_id;
pub mod problem;
mod project_assets;
mod projects;
pub mod resumable;
pub mod rfc3339;
mod routes;
mod storage_key;
mod upload;
mod webhooks;

pub use admission::Admission;
pub use app::{AppState, serve};
pub use config::{EdgeLimits, GatewayConfig, UploadLimits};
#[doc(hidden)]
pub mod fuzzing;
