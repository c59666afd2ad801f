//! The gateway's router, shared state and HTTP server.

use assetd_platform::storage::Storage;
use axum::{
    Router,
    extract::DefaultBodyLimit,
    routing::{get, post},
};
use serde::Serialize;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::{
    assets, catalog_client::CatalogClient, config::UploadLimits, files, problem::ApiError, upload,
};

/// What every handler shares; cheap to clone.
#[derive(Clone, Debug)]
pub struct AppState {
    pub catalog: CatalogClient,
    pub storage: Storage,
    pub limits: UploadLimits,
    /// Base URL of this gateway as clients reach it, without a trailing slash.
    pub public_url: String,
    /// Cancelled when the shutdown deadline passes: uploads still streaming are cut and cleaned up.
    pub cut_uploads: CancellationToken,
}

/// The contract's success body: `{"data": ..., "meta": {}}`.
#[derive(Debug, Serialize)]
pub struct Envelope<T> {
    pub data: T,
    pub meta: serde_json::Map<String, serde_json::Value>,
}

impl<T> Envelope<T> {
    pub fn new(data: T) -> Self {
        Self {
            data,
            meta: serde_json::Map::new(),
        }
    }
}

pub fn router(state: AppState) -> Router {
    Router::new()
        .route(
            "/v1/uploads",
            post(upload::upload).layer(DefaultBodyLimit::disable()),
        )
        .route("/v1/assets/{asset_id}", get(assets::get_asset))
        .route("/files/{*key}", get(files::serve_file))
        .merge(crate::routes::routes())
        .merge(crate::openapi::routes())
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .fallback(|| async { ApiError::NotFound })
        .layer(axum::middleware::from_fn(crate::observe::observe))
        .with_state(state)
}

/// Serves the HTTP API on `listener` until `shutdown` is cancelled, then lets in-flight requests finish.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let addr = listener.local_addr()?;
    tracing::info!(%addr, public_url = state.public_url, "gateway HTTP listening");
    // Nagle off on accepted connections: a response's last segment must not wait for the
    // client's delayed ACK.
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp: &mut tokio::net::TcpStream| {
        if let Err(err) = tcp.set_nodelay(true) {
            tracing::debug!(error = %err, "cannot set TCP_NODELAY");
        }
    });
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown.cancelled_owned())
        .await?;
    tracing::info!("gateway HTTP stopped");
    Ok(())
}
