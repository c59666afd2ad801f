//! The catalog's gRPC server: the catalog service plus standard health and reflection, draining on shutdown.

use std::sync::Arc;

use assetd_proto::catalog::v1::catalog_service_server::CatalogServiceServer;
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio_stream::wrappers::TcpListenerStream;
use tokio_util::sync::CancellationToken;

use crate::{db::Db, service::Catalog};

/// Serves the catalog on `listener` until `shutdown` is cancelled; health reports NOT_SERVING
/// as soon as draining starts.
pub async fn serve(
    listener: TcpListener,
    db: Db,
    jobs_queued: Arc<Notify>,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let (health, health_service) = tonic_health::server::health_reporter();
    health.set_serving::<CatalogServiceServer<Catalog>>().await;
    let reflection = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(assetd_proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()?;

    let addr = listener.local_addr()?;
    tracing::info!(%addr, "catalog gRPC listening");
    let drain = {
        let shutdown = shutdown.clone();
        let health = health.clone();
        async move {
            shutdown.cancelled().await;
            health
                .set_not_serving::<CatalogServiceServer<Catalog>>()
                .await;
            health
                .set_service_status("", tonic_health::ServingStatus::NotServing)
                .await;
        }
    };
    tonic::transport::Server::builder()
        .add_service(health_service)
        .add_service(reflection)
        .add_service(CatalogServiceServer::new(Catalog::new(db, jobs_queued)))
        .serve_with_incoming_shutdown(TcpListenerStream::new(listener), drain)
        .await?;
    tracing::info!("catalog gRPC stopped");
    Ok(())
}
