//! The gateway's connection to the catalog over gRPC, and how catalog failures become API errors.

use std::time::Duration;

use assetd_platform::grpc_error;
use assetd_proto::catalog::v1::catalog_service_client::CatalogServiceClient;
use tonic::{
    Code, Status,
    transport::{Channel, Endpoint},
};

use crate::problem::ApiError;

pub type CatalogClient = CatalogServiceClient<Channel>;

/// A lazily connecting client: the gateway starts even while the catalog is still coming up,
/// and answers 503 until it is reachable.
pub fn connect(url: &str) -> anyhow::Result<CatalogClient> {
    let endpoint = Endpoint::from_shared(url.to_owned())
        .map_err(|err| anyhow::anyhow!("invalid catalog URL {url:?}: {err}"))?
        .connect_timeout(Duration::from_secs(3))
        .timeout(Duration::from_secs(15))
        .tcp_nodelay(true);
    Ok(CatalogServiceClient::new(endpoint.connect_lazy()))
}

/// Maps a catalog status to the API error a client sees; internal details go to the log only.
pub fn api_error(status: Status) -> ApiError {
    match grpc_error::reason(&status).as_deref() {
        Some("OPEN_API_KEY_INVALID") => return ApiError::KeyInvalid,
        Some("PROJECT_NOT_FOUND") => return ApiError::ProjectNotFound,
        Some("ASSET_NOT_FOUND") => return ApiError::AssetNotFound,
        _ => {}
    }
    match status.code() {
        Code::Unavailable | Code::DeadlineExceeded | Code::Cancelled | Code::ResourceExhausted => {
            tracing::warn!(code = ?status.code(), message = status.message(), "catalog unavailable");
            ApiError::Unavailable("The catalog")
        }
        _ => {
            tracing::error!(code = ?status.code(), message = status.message(), "catalog call failed");
            ApiError::Internal
        }
    }
}
