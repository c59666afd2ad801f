//! The gateway's router, shared state and HTTP server.

use assetd_platform::storage::Storage;
use axum::{
    Router,
    extract::DefaultBodyLimit,
    routing::{get, head, post},
};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::{
    admission::{self, Admission},
    assets,
    catalog_client::CatalogClient,
    config::{EdgeLimits, UploadLimits},
    files,
    problem::ApiError,
    resumable::{self, ResumableConfig},
    upload,
};

/// What every handler shares; cheap to clone.
#[derive(Clone, Debug)]
pub struct AppState {
    pub catalog: CatalogClient,
    pub storage: Storage,
    pub limits: UploadLimits,
    /// Per-key request rates and the caps on uploads at once.
    pub admission: Admission,
    /// Base URL of this gateway as clients reach it, without a trailing slash.
    pub public_url: String,
    /// Cancelled when the shutdown deadline passes: uploads still streaming are cut and cleaned up.
    pub cut_uploads: CancellationToken,
    /// Expiry and reaping of resumable uploads.
    pub resumable: ResumableConfig,
}

pub fn router(state: AppState) -> Router {
    Router::new()
        .route(
            "/v1/uploads",
            post(upload::upload)
                .options(resumable::options)
                .layer(DefaultBodyLimit::disable()),
        )
        .route(
            "/v1/uploads/{upload_id}",
            head(resumable::head)
                .patch(resumable::patch)
                .delete(resumable::delete)
                .options(resumable::options)
                .layer(DefaultBodyLimit::disable()),
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

/// Serves the HTTP API on `listener` under the edge's limits until `shutdown` is cancelled, then
/// lets in-flight requests finish.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    limits: EdgeLimits,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let addr = listener.local_addr()?;
    tracing::info!(%addr, public_url = state.public_url, "gateway HTTP listening");
    {
        let (admission, shutdown) = (state.admission.clone(), shutdown.clone());
        tokio::spawn(async move {
            let mut every = tokio::time::interval(admission::FORGET_KEYS_EVERY);
            loop {
                tokio::select! {
                    _ = every.tick() => admission.forget_idle_keys(),
                    () = shutdown.cancelled() => return,
                }
            }
        });
    }
    tokio::spawn(resumable::reaper::run(state.clone(), shutdown.clone()));
    crate::edge::serve(listener, router(state), limits, shutdown).await?;
    tracing::info!("gateway HTTP stopped");
    Ok(())
}
