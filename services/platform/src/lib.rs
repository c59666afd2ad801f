//! What every assetd role shares: object storage, RabbitMQ, telemetry, shutdown, secrets and gRPC error details.

pub mod admin;
pub mod amqp;
pub mod grpc_error;
pub mod grpc_metrics;
pub mod grpc_server;
pub mod reason;
pub mod reconnect;
pub mod secret;
pub mod service_token;
pub mod shutdown;
pub mod storage;
pub mod telemetry;
