//! The asset routes: `GET /v1/assets/{assetId}`.

use assetd_proto::catalog::v1::GetAssetRequest;
use axum::{
    Json,
    extract::{Path, State},
};
use uuid::Uuid;

use crate::{
    app::{AppState, Envelope},
    asset_body::AssetBody,
    auth::Account,
    catalog_client,
    problem::ApiError,
};

pub async fn get_asset(
    State(state): State<AppState>,
    account: Account,
    Path(asset_id): Path<String>,
) -> Result<Json<Envelope<AssetBody>>, ApiError> {
    let asset_id = Uuid::parse_str(&asset_id).map_err(|_| ApiError::IdInvalid("assetId"))?;
    let asset = state
        .catalog
        .clone()
        .get_asset(GetAssetRequest {
            account_id: account.account_id,
            asset_id: asset_id.hyphenated().to_string(),
        })
        .await
        .map_err(catalog_client::api_error)?
        .into_inner();
    Ok(Json(Envelope::new(AssetBody::render(&state, asset).await?)))
}
