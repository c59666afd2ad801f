//! The contract's routes beyond uploads and asset reads: asset deletion, projects and their assets.

use axum::{
    Router,
    routing::{delete, get},
};

use crate::{app::AppState, assets, project_assets, projects};

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
}
