//! The asset routes: `GET /v1/assets/{assetId}` and `DELETE /v1/assets/{assetId}`.

use assetd_proto::{
    catalog::v1::{DeleteAssetRequest, GetAssetRequest},
    ids::AssetId,
};
use axum::{
    Json,
    extract::{Path, State},
};

use crate::{
    app::AppState,
    asset_body::AssetBody,
    auth::Account,
    catalog_client,
    envelope::{AssetDeletedEnvelope, AssetEnvelope},
    path_id::path_id,
    problem::ApiError,
};

#[utoipa::path(
    get,
    path = "/v1/assets/{assetId}",
    operation_id = "getAsset",
    tag = "assets",
    description = crate::openapi::ASSET_DESCRIPTION,
    params(("assetId" = uuid::Uuid, Path, description = "The asset's id.")),
    responses(
        (status = 200, description = "The asset.", body = AssetEnvelope),
        crate::openapi::GetAssetErrors,
    ),
)]
pub async fn get_asset(
    State(state): State<AppState>,
    account: Account,
    Path(asset_id): Path<String>,
) -> Result<Json<AssetEnvelope>, ApiError> {
    let asset_id: AssetId = path_id(&asset_id, "assetId")?;
    let asset = state
        .catalog
        .clone()
        .get_asset(GetAssetRequest {
            account_id: account.account_id.to_string(),
            asset_id: asset_id.to_string(),
        })
        .await
        .map_err(catalog_client::api_error)?
        .into_inner();
    Ok(Json(AssetEnvelope::from(
        AssetBody::render(&state, asset).await?,
    )))
}

#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AssetDeleted {
    pub asset_id: String,
    pub deleted: bool,
}

/// Deletes the asset (409 `ASSET_REFERENCED` while a project binds it), then its stored object.
///
/// The catalog deletes the row (and its pending probe jobs) first and returns the storage key;
/// the object is removed right after. A storage failure then does not fail the request (the
/// asset is gone either way) but is logged at error level with the key, for a later sweep.
/// Both steps run in a task of their own, so a client hanging up cannot leave the object behind.
#[utoipa::path(
    delete,
    path = "/v1/assets/{assetId}",
    operation_id = "deleteAsset",
    tag = "assets",
    description = crate::openapi::ASSET_DELETE_DESCRIPTION,
    params(("assetId" = uuid::Uuid, Path, description = "The asset's id.")),
    responses(
        (status = 200, description = "Deleted.", body = AssetDeletedEnvelope),
        crate::openapi::DeleteAssetErrors,
    ),
)]
pub async fn delete_asset(
    State(state): State<AppState>,
    account: Account,
    Path(asset_id): Path<String>,
) -> Result<Json<AssetDeletedEnvelope>, ApiError> {
    let asset_id = path_id::<AssetId>(&asset_id, "assetId")?.to_string();
    let task = tokio::spawn({
        let asset_id = asset_id.clone();
        async move {
            let deleted = state
                .catalog
                .clone()
                .delete_asset(DeleteAssetRequest {
                    account_id: account.account_id.to_string(),
                    asset_id: asset_id.clone(),
                })
                .await
                .map_err(catalog_client::api_error)?
                .into_inner();
            if let Err(err) = state.storage.delete(&deleted.file_key).await {
                tracing::error!(
                    error = ?err,
                    asset_id,
                    file_key = deleted.file_key,
                    "the deleted asset's object could not be removed from storage"
                );
            }
            Ok::<_, ApiError>(())
        }
    });
    task.await.map_err(|err| {
        tracing::error!(error = %err, "asset delete task failed");
        ApiError::Internal
    })??;
    Ok(Json(AssetDeletedEnvelope::from(AssetDeleted {
        asset_id,
        deleted: true,
    })))
}
