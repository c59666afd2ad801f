//! The contract's routes beyond uploads and asset reads: asset deletion, projects and their
//! assets; and assetd's webhooks.

use axum::{
    Router,
    routing::{delete, get, post},
};

use crate::{app::AppState, assets, project_assets, projects, webhooks};

/// Merged into the app's router (same paths merge their methods).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/assets/{asset_id}", delete(assets::delete_asset))
        .route("/v1/projects", get(projects::list).post(projects::create))
        .route(
            "/v1/projects/{project_id}",
            get(projects::get)
                .patch(projects::update)
                .delete(projects::delete),
        )
        .route(
            "/v1/projects/{project_id}/assets",
            get(project_assets::list).post(project_assets::bind),
        )
        .route(
            "/v1/projects/{project_id}/assets/{asset_id}",
            delete(project_assets::unbind),
        )
        .route("/v1/webhooks", get(webhooks::list).post(webhooks::create))
        .route(
            "/v1/webhooks/{webhook_id}",
            get(webhooks::get).delete(webhooks::delete),
        )
        .route(
            "/v1/webhooks/{webhook_id}/rotate-secret",
            post(webhooks::rotate_secret),
        )
        .route("/v1/webhooks/{webhook_id}/enable", post(webhooks::enable))
        .route(
            "/v1/webhooks/{webhook_id}/deliveries",
            get(webhooks::deliveries),
        )
        .route("/v1/webhooks/{webhook_id}/replay", post(webhooks::replay))
}
