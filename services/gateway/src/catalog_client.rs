//! How catalog failures become API errors; internal details go to the log only.

use assetd_platform::grpc_error;
use tonic::{Code, Status};

use crate::problem::ApiError;

pub use assetd_proto::catalog::CatalogClient;

/// Maps a catalog status to the API error a client sees.
pub fn api_error(status: Status) -> ApiError {
    let reason = grpc_error::reason(&status);
    match reason.as_deref() {
        Some("OPEN_API_KEY_INVALID") => return ApiError::KeyInvalid,
        Some("PROJECT_NOT_FOUND") => return ApiError::ProjectNotFound,
        Some("ASSET_NOT_FOUND") => return ApiError::AssetNotFound,
        Some("ACCOUNT_NOT_FOUND") => return ApiError::AccountNotFound,
        Some("BINDING_NOT_FOUND") => return ApiError::BindingNotFound,
        Some("ASSET_REFERENCED") => return ApiError::AssetReferenced,
        Some("IDEMPOTENCY_KEY_REUSED") => return ApiError::IdempotencyKeyReused,
        Some("PAGE_CURSOR_INVALID") => return ApiError::PageCursorInvalid,
        _ => {}
    }
    match status.code() {
        // `Unknown` without the catalog's reason is tonic's "transport error": the connection
        // was lost mid-call, a transient failure like the others.
        Code::Unavailable | Code::DeadlineExceeded | Code::Cancelled | Code::ResourceExhausted => {
            tracing::warn!(code = ?status.code(), message = status.message(), "catalog unavailable");
            ApiError::Unavailable("The catalog")
        }
        Code::Unknown if reason.is_none() => {
            tracing::warn!(code = ?status.code(), message = status.message(), "catalog unavailable");
            ApiError::Unavailable("The catalog")
        }
        _ => {
            tracing::error!(code = ?status.code(), message = status.message(), "catalog call failed");
            ApiError::Internal
        }
    }
}
