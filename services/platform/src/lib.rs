//! What every assetd role process shares: the error vocabulary (`reason`), the gRPC server builder,
//! the admin listener and readiness, object storage, RabbitMQ, the one reconnect loop and every
//! retry schedule (`retry`), telemetry, shutdown and secrets.

pub mod admin;
pub mod amqp;
pub mod clock;
pub mod grpc_error;
pub mod grpc_metrics;
pub mod grpc_server;
pub mod multipart;
pub mod reason;
pub mod reconnect;
pub mod retry;
pub mod secret;
pub mod service_token;
pub mod shutdown;
pub mod storage;
pub mod telemetry;
