//! The contract's asset object: the 11 Indream fields, plus probe status, sha256 and creation time.

use assetd_platform::storage::{PublicAccess, Storage};
use assetd_proto::catalog::v1::{self as pb, AssetKind, ProbeStatus};
use serde::Serialize;

use crate::{app::AppState, problem::ApiError, rfc3339};

/// An asset. All 11 Indream fields are always present (`source`, `size`, `width`, `height`,
/// `duration` may be null); `probeStatus`, `probeError`, `sha256` and `createdAt` are extras.
/// `width`, `height` and `duration` are null until `probeStatus` is `ready`, never a made-up 0.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AssetBody {
    #[schema(format = Uuid)]
    pub asset_id: String,
    #[serde(rename = "type")]
    #[schema(value_type = crate::openapi::AssetType)]
    pub kind: &'static str,
    #[schema(required)]
    pub source: Option<String>,
    pub filename: String,
    pub mimetype: String,
    #[schema(required)]
    pub size: Option<u64>,
    pub file_url: String,
    pub file_key: String,
    #[schema(required)]
    pub width: Option<u32>,
    #[schema(required)]
    pub height: Option<u32>,
    #[schema(required)]
    pub duration: Option<f64>,
    #[schema(value_type = crate::openapi::ProbeStatus)]
    pub probe_status: &'static str,
    #[schema(required)]
    pub probe_error: Option<String>,
    pub sha256: String,
    pub created_at: String,
}

pub fn kind_name(kind: AssetKind) -> &'static str {
    kind.media_kind()
        .map_or("UNSPECIFIED", assetd_media::Kind::as_str)
}

impl AssetBody {
    pub async fn render(state: &AppState, asset: pb::Asset) -> Result<Self, ApiError> {
        Self::render_with(&state.storage, &state.public_url, asset).await
    }

    /// The asset as `GET /v1/assets/{assetId}` shows it, for a process without the gateway's
    /// state (the notifier's webhook payloads): objects served through a gateway at `public_url`.
    pub async fn render_with(
        storage: &Storage,
        public_url: &str,
        asset: pb::Asset,
    ) -> Result<Self, ApiError> {
        let ready = asset.probe_status() == ProbeStatus::Ready;
        Ok(Self {
            file_url: file_url_with(storage, public_url, &asset.file_key).await?,
            kind: kind_name(asset.kind()),
            probe_status: asset.probe_status().name(),
            asset_id: asset.asset_id,
            source: Some(asset.source).filter(|s| !s.is_empty()),
            filename: asset.filename,
            mimetype: asset.mimetype,
            size: Some(asset.size),
            file_key: asset.file_key,
            // Until the probe has run, these are unknown, never a made-up 0.
            width: asset.width.filter(|_| ready),
            height: asset.height.filter(|_| ready),
            duration: asset.duration.filter(|_| ready),
            probe_error: asset.probe_error,
            sha256: asset.sha256,
            created_at: rfc3339::from_unix_micros(asset.created_at_unix_micros),
        })
    }
}

/// A URL from which the exact stored bytes can be fetched.
pub async fn file_url(state: &AppState, key: &str) -> Result<String, ApiError> {
    file_url_with(&state.storage, &state.public_url, key).await
}

async fn file_url_with(storage: &Storage, public_url: &str, key: &str) -> Result<String, ApiError> {
    match storage.public_access() {
        PublicAccess::ViaGateway => Ok(format!("{public_url}/files/{key}")),
        PublicAccess::BaseUrl(base) => Ok(format!("{base}/{key}")),
        PublicAccess::Presigned(ttl) => storage.presign_read(key, *ttl).await.map_err(|err| {
            tracing::warn!(error = ?err, "cannot presign a file URL");
            ApiError::Unavailable("Storage")
        }),
    }
}
