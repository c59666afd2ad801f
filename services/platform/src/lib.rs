//! What every assetd role shares: object storage, telemetry, shutdown, secrets and gRPC error details.

pub mod grpc_error;
pub mod secret;
pub mod shutdown;
pub mod storage;
pub mod telemetry;
