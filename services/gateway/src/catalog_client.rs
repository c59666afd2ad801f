//! How catalog failures become API errors; internal details go to the log only.

use assetd_platform::{grpc_error, reason::Reason};
use tonic::{Code, Status};

use crate::problem::ApiError;

pub use assetd_proto::catalog::CatalogClient;

/// Maps a catalog status to the API error a client sees.
pub fn api_error(status: Status) -> ApiError {
    let reason = grpc_error::reason(&status);
    match reason {
        Some(Reason::KeyInvalid) => return ApiError::KeyInvalid,
        Some(Reason::ProjectNotFound) => return ApiError::ProjectNotFound,
        Some(Reason::AssetNotFound) => return ApiError::AssetNotFound,
        Some(Reason::AccountNotFound) => return ApiError::AccountNotFound,
        Some(Reason::BindingNotFound) => return ApiError::BindingNotFound,
        Some(Reason::AssetReferenced) => return ApiError::AssetReferenced,
        Some(Reason::IdempotencyKeyReused) => return ApiError::IdempotencyKeyReused,
        Some(Reason::PageCursorInvalid) => return ApiError::PageCursorInvalid,
        Some(Reason::UploadNotFound) => return ApiError::ResumableNotFound,
        Some(Reason::UploadExpired) => return ApiError::ResumableExpired,
        Some(Reason::UploadOffsetMismatch) => return ApiError::OffsetMismatch { offset: None },
        Some(Reason::UploadLocked) => return ApiError::Locked,
        Some(Reason::WebhookNotFound) => return ApiError::WebhookNotFound,
        Some(Reason::WebhookEventNotFound) => return ApiError::WebhookEventNotFound,
        Some(Reason::WebhookDisabled) => return ApiError::WebhookDisabled,
        Some(Reason::WebhookLimitExceeded) => return ApiError::WebhookLimitExceeded,
        Some(Reason::WebhookUrlInvalid) => {
            return ApiError::WebhookUrlInvalid(status.message().to_owned());
        }
        Some(Reason::WebhookEventTypeInvalid) => {
            return ApiError::WebhookEventTypeInvalid(status.message().to_owned());
        }
        Some(Reason::WebhookReplayInvalid) => {
            return ApiError::WebhookReplayInvalid(status.message().to_owned());
        }
        Some(Reason::UploadConcatInvalid) => {
            return ApiError::ConcatInvalid(status.message().to_owned());
        }
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
