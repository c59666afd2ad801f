//! The gRPC server every role runs: its services plus standard health (following the role's
//! readiness), reflection v1 and v1alpha, per-call metrics, TCP_NODELAY and draining on shutdown.

use std::{convert::Infallible, time::Duration};

use axum::response::IntoResponse;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tonic::{
    body::Body,
    server::NamedService,
    service::Routes,
    transport::{Server, server::TcpIncoming},
};
use tonic_health::ServingStatus;
use tower::Service;

use crate::{admin::Readiness, grpc_metrics::GrpcMetricsLayer, service_token::RequireServiceToken};

/// The health service name that stays SERVING while the process lives: use it for liveness probes.
pub const LIVENESS_SERVICE: &str = "liveness";
/// The full name of the health service, as reflection lists it.
const HEALTH_SERVICE: &str = "grpc.health.v1.Health";
/// How often health re-reads readiness.
const HEALTH_EVERY: Duration = Duration::from_secs(1);

/// A role's gRPC server, assembled service by service and then served.
///
/// Health `""` and every added service follow the role's [`Readiness`] (re-read every second,
/// NOT_SERVING as soon as draining starts); [`LIVENESS_SERVICE`] is always SERVING. Reflection
/// (v1 and v1alpha, for grpcurl, grpcio-reflection and Postman alike) lists the added services
/// and health. Services put their own service-token check on themselves; health and reflection
/// never need it.
pub struct GrpcServer {
    role: &'static str,
    readiness: Readiness,
    service_token: RequireServiceToken,
    names: Vec<&'static str>,
    routes: Routes,
}

impl GrpcServer {
    /// A server for `role` (named in its logs), whose health follows `readiness`.
    pub fn new(
        role: &'static str,
        readiness: Readiness,
        service_token: RequireServiceToken,
    ) -> Self {
        Self {
            role,
            readiness,
            service_token,
            names: Vec::new(),
            routes: Routes::default(),
        }
    }

    /// Adds a service, announced under its full name in health and reflection.
    pub fn add_service<S>(mut self, service: S) -> Self
    where
        S: Service<http::Request<Body>, Error = Infallible>
            + NamedService
            + Clone
            + Send
            + Sync
            + 'static,
        S::Response: IntoResponse,
        S::Future: Send + 'static,
    {
        self.names.push(S::NAME);
        self.routes = self.routes.add_service(service);
        self
    }

    /// Serves on `listener` until `shutdown` is cancelled.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: CancellationToken,
    ) -> anyhow::Result<()> {
        let Self {
            role,
            readiness,
            service_token,
            names,
            routes,
        } = self;
        let (health, health_service) = tonic_health::server::health_reporter();
        health
            .set_service_status(LIVENESS_SERVICE, ServingStatus::Serving)
            .await;
        let follow = tokio::spawn(follow_readiness(
            health,
            names.clone(),
            readiness,
            shutdown.clone(),
        ));
        let reflection = || {
            let builder = tonic_reflection::server::Builder::configure()
                .register_encoded_file_descriptor_set(assetd_proto::FILE_DESCRIPTOR_SET)
                .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
                // The descriptor set holds every role's services: list only what is served here.
                .with_service_name(HEALTH_SERVICE);
            names
                .iter()
                .fold(builder, |builder, name| builder.with_service_name(*name))
        };
        let routes = routes
            .add_service(health_service)
            .add_service(reflection().build_v1()?)
            .add_service(reflection().build_v1alpha()?);

        let addr = listener.local_addr()?;
        service_token.warn_if_open(addr, role);
        tracing::info!(%addr, role, "gRPC listening");
        Server::builder()
            .layer(GrpcMetricsLayer)
            .add_routes(routes)
            .serve_with_incoming_shutdown(
                // Without TCP_NODELAY on accepted sockets, Nagle holds each answer's last frames
                // until the caller's delayed ACK (40 ms): every remote call took that long.
                TcpIncoming::from(listener).with_nodelay(Some(true)),
                shutdown.cancelled_owned(),
            )
            .await?;
        let _ = follow.await;
        tracing::info!(role, "gRPC stopped");
        Ok(())
    }
}

/// Sets health `""` and every service in `names` from readiness until shutdown, then NOT_SERVING.
async fn follow_readiness(
    health: tonic_health::server::HealthReporter,
    names: Vec<&'static str>,
    readiness: Readiness,
    shutdown: CancellationToken,
) {
    let set = |status| {
        let (health, names) = (health.clone(), names.clone());
        async move {
            for name in std::iter::once("").chain(names) {
                health.set_service_status(name, status).await;
            }
        }
    };
    let mut last = None;
    loop {
        let status = if readiness.status().is_ok() {
            ServingStatus::Serving
        } else {
            ServingStatus::NotServing
        };
        if last != Some(status) {
            set(status).await;
            last = Some(status);
        }
        tokio::select! {
            () = shutdown.cancelled() => {
                set(ServingStatus::NotServing).await;
                return;
            }
            () = tokio::time::sleep(HEALTH_EVERY) => {}
        }
    }
}
