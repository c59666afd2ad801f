//! A project's assets: `GET|POST /v1/projects/{projectId}/assets`,
//! `DELETE /v1/projects/{projectId}/assets/{assetId}`.

use assetd_proto::{
    catalog::v1 as pb,
    ids::{AssetId, ProjectId},
};
use axum::{
    Json,
    extract::{Path, Query, State, rejection::QueryRejection},
    http::StatusCode,
};
use serde::Serialize;

use crate::{
    app::AppState,
    asset_body::AssetBody,
    auth::Account,
    catalog_client,
    envelope::{AssetListEnvelope, BindingDeletedEnvelope, BindingEnvelope},
    json_body::JsonBody,
    paging::{self, ListQuery, PageRule},
    path_id::path_id,
    problem::ApiError,
};

/// The contract's table lists 422 (not 400) for this route: a bad `pageSize` is 422.
const PROJECT_ASSETS_PAGE: PageRule = PageRule {
    default: 80,
    max: 100,
    unprocessable: true,
};

/// `POST /v1/projects/{projectId}/assets`.
#[derive(Debug, utoipa::ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct BindAsset {
    /// An asset of the key's account.
    #[schema(value_type = String, format = Uuid)]
    pub asset_id: AssetId,
}

impl BindAsset {
    /// `assetId` must be a UUID string (else 400 `ASSET_ID_INVALID`).
    pub fn from_body(body: &serde_json::Map<String, serde_json::Value>) -> Result<Self, ApiError> {
        let asset_id = body
            .get("assetId")
            .and_then(|v| v.as_str())
            .and_then(|v| v.parse().ok())
            .ok_or(ApiError::AssetIdInvalid)?;
        Ok(Self { asset_id })
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Binding {
    pub project_id: String,
    pub asset_id: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BindingDeleted {
    pub project_id: String,
    pub asset_id: String,
    pub deleted: bool,
}

#[utoipa::path(
    get,
    path = "/v1/projects/{projectId}/assets",
    operation_id = "listProjectAssets",
    tag = "project assets",
    description = crate::openapi::PROJECT_ASSETS_DESCRIPTION,
    params(
        ("projectId" = uuid::Uuid, Path, description = "The project's id."),
        ("pageSize" = Option<u32>, Query, minimum = 1, maximum = 100, description = "Page size, 1 to 100; default 80."),
        ("pageCursor" = Option<String>, Query, nullable = false, pattern = "^([0-7][0-9a-f]{47})?$", description = "The previous page's `meta.nextPageCursor`; omit for the first page."),
    ),
    responses(
        (status = 200, description = "A page of the project's assets.", body = AssetListEnvelope),
        crate::openapi::ListProjectAssetsErrors,
    ),
)]
pub async fn list(
    State(state): State<AppState>,
    account: Account,
    Path(project_id): Path<String>,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Json<AssetListEnvelope>, ApiError> {
    let project_id = path_id::<ProjectId>(&project_id, "projectId")?.to_string();
    let (page_size, page_cursor) = paging::page(query, PROJECT_ASSETS_PAGE)?;
    let page = state
        .catalog
        .clone()
        .list_project_assets(pb::ListProjectAssetsRequest {
            account_id: account.account_id.to_string(),
            project_id,
            page_size,
            page_cursor,
        })
        .await
        .map_err(catalog_client::api_error)?
        .into_inner();
    let mut data = Vec::with_capacity(page.assets.len());
    for asset in page.assets {
        data.push(AssetBody::render(&state, asset).await?);
    }
    Ok(Json(AssetListEnvelope::page(data, page.next_page_cursor)))
}

/// Binding an asset already in the project answers 201 again (idempotent).
#[utoipa::path(
    post,
    path = "/v1/projects/{projectId}/assets",
    operation_id = "bindProjectAsset",
    tag = "project assets",
    description = crate::openapi::BIND_DESCRIPTION,
    params(("projectId" = uuid::Uuid, Path, description = "The project's id.")),
    request_body(content = BindAsset, content_type = "application/json"),
    responses(
        (status = 201, description = "Bound (again).", body = BindingEnvelope),
        crate::openapi::BindErrors,
    ),
)]
pub async fn bind(
    State(state): State<AppState>,
    account: Account,
    Path(project_id): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<(StatusCode, Json<BindingEnvelope>), ApiError> {
    let project_id = path_id::<ProjectId>(&project_id, "projectId")?.to_string();
    let asset_id = BindAsset::from_body(&body)?.asset_id.to_string();
    state
        .catalog
        .clone()
        .bind_asset(pb::BindAssetRequest {
            account_id: account.account_id.to_string(),
            project_id: project_id.clone(),
            asset_id: asset_id.clone(),
        })
        .await
        .map_err(catalog_client::api_error)?;
    Ok((
        StatusCode::CREATED,
        Json(BindingEnvelope::from(Binding {
            project_id,
            asset_id,
        })),
    ))
}

#[utoipa::path(
    delete,
    path = "/v1/projects/{projectId}/assets/{assetId}",
    operation_id = "unbindProjectAsset",
    tag = "project assets",
    description = "Removes the asset from the project; the asset itself is kept. A missing binding is 404.",
    params(("projectId" = uuid::Uuid, Path, description = "The project's id."), ("assetId" = uuid::Uuid, Path, description = "The asset's id.")),
    responses(
        (status = 200, description = "Unbound.", body = BindingDeletedEnvelope),
        crate::openapi::UnbindErrors,
    ),
)]
pub async fn unbind(
    State(state): State<AppState>,
    account: Account,
    Path((project_id, asset_id)): Path<(String, String)>,
) -> Result<Json<BindingDeletedEnvelope>, ApiError> {
    let project_id = path_id::<ProjectId>(&project_id, "projectId")?.to_string();
    let asset_id = path_id::<AssetId>(&asset_id, "assetId")?.to_string();
    state
        .catalog
        .clone()
        .unbind_asset(pb::UnbindAssetRequest {
            account_id: account.account_id.to_string(),
            project_id: project_id.clone(),
            asset_id: asset_id.clone(),
        })
        .await
        .map_err(catalog_client::api_error)?;
    Ok(Json(BindingDeletedEnvelope::from(BindingDeleted {
        project_id,
        asset_id,
        deleted: true,
    })))
}
