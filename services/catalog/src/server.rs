//! The catalog's gRPC server: the catalog service and its background work, served on the role's
//! gRPC server (health tied to readiness, reflection, per-call metrics, draining on shutdown).

use std::time::Duration;

use assetd_platform::{
    admin::Readiness, grpc_metrics::GrpcMetricsLayer, grpc_server::GrpcServer,
    service_token::RequireServiceToken,
};
use assetd_proto::catalog::{CatalogClient, v1::catalog_service_server::CatalogServiceServer};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tonic::service::interceptor::InterceptedService;
use tower::Layer;

use crate::{
    config::Limits,
    db::{Db, Engine},
    jobs_signal::JobsQueued,
    service::Catalog,
    store::{idempotency_keys, probe_jobs, webhook_deliveries},
    watch::ProbeEvents,
};

/// The catalog's gRPC service with its interceptor (the service token), as the server and
/// in-process clients call it.
type CatalogGrpc = InterceptedService<CatalogServiceServer<Catalog>, RequireServiceToken>;

/// The catalog's gRPC server and its background work (outbox gauges, idempotency sweeper, on
/// Postgres the LISTEN connection), started by [`CatalogServer::new`].
pub struct CatalogServer {
    service: CatalogGrpc,
    service_token: RequireServiceToken,
    readiness: Readiness,
    shutdown: CancellationToken,
}

impl CatalogServer {
    pub fn new(
        db: Db,
        jobs_queued: JobsQueued,
        readiness: Readiness,
        service_token: RequireServiceToken,
        limits: Limits,
        shutdown: CancellationToken,
    ) -> Self {
        spawn_outbox_gauges(db.clone(), shutdown.clone());
        spawn_idempotency_sweeper(db.clone(), limits.idempotency_ttl, shutdown.clone());
        spawn_webhook_sweeper(db.clone(), limits.webhook_retention, shutdown.clone());
        let probe_events = ProbeEvents::new(shutdown.clone());
        if db.engine() == Engine::Postgres {
            probe_events.spawn_pg_listener(db.url().to_owned(), jobs_queued.clone());
        }
        let service = CatalogServiceServer::with_interceptor(
            Catalog::new(db, jobs_queued, probe_events, limits),
            service_token.clone(),
        );
        Self {
            service,
            service_token,
            readiness,
            shutdown,
        }
    }

    /// A client that calls this catalog in the same process, through the same interceptor and
    /// metrics layer as a remote call, without a socket.
    pub fn local_client(&self, service_token: Option<String>) -> CatalogClient {
        assetd_proto::catalog::in_process(
            GrpcMetricsLayer.layer(self.service.clone()),
            service_token,
        )
    }

    /// Serves the catalog on `listener` until shutdown, on the role's [`GrpcServer`]: health
    /// follows readiness (database reachable, not draining). With a service token configured,
    /// catalog calls need it; health and reflection never do.
    pub async fn serve(self, listener: TcpListener) -> anyhow::Result<()> {
        GrpcServer::new("catalog", self.readiness, self.service_token)
            .add_service(self.service)
            .serve(listener, self.shutdown)
            .await
    }
}

/// Publishes the outbox's backlog and the age of its oldest job (relay lag), and the pending
/// webhook deliveries with how overdue the oldest is, every few seconds.
fn spawn_outbox_gauges(db: Db, shutdown: CancellationToken) {
    tokio::spawn(async move {
        loop {
            match probe_jobs::backlog(&db).await {
                Ok((count, oldest_age)) => {
                    metrics::gauge!("assetd_outbox_backlog").set(count as f64);
                    metrics::gauge!("assetd_outbox_oldest_age_seconds")
                        .set(oldest_age.as_secs_f64());
                }
                Err(err) => tracing::debug!(error = %err, "cannot read the outbox backlog"),
            }
            match webhook_deliveries::backlog(&db).await {
                Ok((count, oldest_due)) => {
                    metrics::gauge!("assetd_webhook_backlog").set(count as f64);
                    metrics::gauge!("assetd_webhook_oldest_due_seconds")
                        .set(oldest_due.as_secs_f64());
                }
                Err(err) => tracing::debug!(error = %err, "cannot read the webhook backlog"),
            }
            tokio::select! {
                () = shutdown.cancelled() => break,
                () = tokio::time::sleep(Duration::from_secs(5)) => {}
            }
        }
    });
}

/// Deletes settled webhook deliveries older than `retention` from the delivery log, at start
/// and then hourly.
fn spawn_webhook_sweeper(db: Db, retention: Duration, shutdown: CancellationToken) {
    tokio::spawn(async move {
        loop {
            let before = crate::time::now_micros()
                .saturating_sub(i64::try_from(retention.as_micros()).unwrap_or(i64::MAX));
            match webhook_deliveries::sweep(&db, before).await {
                Ok(0) => {}
                Ok(deleted) => tracing::info!(deleted, "old webhook deliveries swept"),
                Err(err) => {
                    tracing::warn!(error = %err, "cannot sweep old webhook deliveries; retrying later")
                }
            }
            tokio::select! {
                () = shutdown.cancelled() => break,
                () = tokio::time::sleep(Duration::from_secs(3600)) => {}
            }
        }
    });
}

/// Deletes expired idempotency keys at start and then every `ttl` (at most every 10 minutes).
/// Expired keys already count as absent when claimed; this only keeps the table small.
fn spawn_idempotency_sweeper(db: Db, ttl: Duration, shutdown: CancellationToken) {
    let every = ttl.clamp(Duration::from_secs(1), Duration::from_secs(600));
    tokio::spawn(async move {
        loop {
            match idempotency_keys::sweep(&db, ttl).await {
                Ok(0) => {}
                Ok(deleted) => tracing::info!(deleted, "expired idempotency keys deleted"),
                Err(err) => {
                    tracing::warn!(error = %err, "cannot delete expired idempotency keys; retrying later")
                }
            }
            tokio::select! {
                () = shutdown.cancelled() => break,
                () = tokio::time::sleep(every) => {}
            }
        }
    });
}
