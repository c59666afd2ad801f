//! The gateway's errors, each rendered as the contract's problem details with a stable `errorCode`.

use assetd_platform::reason::Reason;
use axum::{
    Json,
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde::Serialize;

/// Seconds a client is told to wait after a 503.
const RETRY_AFTER_SECS: &str = "5";

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("The API key is missing or invalid.")]
    KeyInvalid,
    #[error("The current account is not eligible for this Open API route")]
    AccessForbidden,
    #[error("x-file-name {0}")]
    FileNameInvalid(&'static str),
    #[error("x-project-id must be a UUID")]
    ProjectIdInvalid,
    #[error("The request body is empty: send the file's bytes as the body.")]
    BodyEmpty,
    #[error("The upload is larger than the {limit_mib} MiB allowed for {what}.")]
    TooLarge { what: &'static str, limit_mib: u64 },
    #[error(
        "This file type is not accepted: upload an image, GIF, video, audio file or an .srt, .ass or .lrc caption."
    )]
    TypeUnsupported,
    #[error(
        "The upload ended before all its bytes arrived ({received} of {expected}); send it again."
    )]
    Incomplete { received: u64, expected: String },
    #[error("{0} must be a UUID")]
    IdInvalid(&'static str),
    #[error("No project with this id.")]
    ProjectNotFound,
    #[error("No asset with this id.")]
    AssetNotFound,
    /// Only internal (gRPC) callers name an account; HTTP callers' keys always have one.
    #[error("No account with this id.")]
    AccountNotFound,
    #[error("No such file.")]
    FileNotFound,
    #[error("No such route.")]
    NotFound,
    #[error("The requested range is not satisfiable.")]
    RangeNotSatisfiable { size: u64 },
    #[error("The request body {0}")]
    BodyInvalid(String),
    #[error("The request body is larger than the {limit_kib} KiB allowed.")]
    BodyTooLarge { limit_kib: u64 },
    #[error("The query string is malformed.")]
    QueryInvalid,
    #[error("title {0}")]
    ProjectTitleInvalid(&'static str),
    #[error("description {0}")]
    ProjectDescriptionInvalid(&'static str),
    #[error("editorState is required and must be a JSON object.")]
    EditorStateInvalid,
    #[error("stateSchemaVersion must be \"v1\".")]
    StateSchemaVersionUnsupported,
    #[error("pageSize must be an integer from 1 to {max}.")]
    PageSizeInvalid {
        max: u32,
        /// 422 instead of 400, where the contract's route table says so.
        unprocessable: bool,
    },
    #[error("pageCursor is not a cursor this API returned; list again without it.")]
    PageCursorInvalid,
    #[error("assetId is required and must be a UUID.")]
    AssetIdInvalid,
    #[error("The asset is in at least one project; remove it from its projects first.")]
    AssetReferenced,
    #[error("The asset is not in this project.")]
    BindingNotFound,
    #[error("This Idempotency-Key was already used with a different request.")]
    IdempotencyKeyReused,
    #[error("Idempotency-Key must be 1 to 255 printable ASCII characters.")]
    IdempotencyKeyInvalid,
    #[error("This route does not accept this method.")]
    MethodNotAllowed,
    #[error("{0} is unavailable; retry shortly.")]
    Unavailable(&'static str),
    #[error(
        "This API key made more than {per_second} requests per second; retry after {retry_after_secs} s."
    )]
    RateLimited {
        per_second: u32,
        retry_after_secs: u64,
    },
    #[error(
        "This account already streams {limit} uploads at once through this server; retry when one of them has finished."
    )]
    AccountUploadsBusy { limit: usize },
    #[error("This server already streams {limit} uploads at once; retry in a second.")]
    ServerBusy { limit: usize },
    #[error(
        "No byte of the upload arrived for {idle_secs} s after {received} bytes; nothing was stored, send the file again."
    )]
    UploadStalled { received: u64, idle_secs: u64 },
    #[error("No upload with this id (it was terminated, refused or never created).")]
    ResumableNotFound,
    #[error("This upload expired before it was finished; start a new upload.")]
    ResumableExpired,
    #[error("{}", match offset {
        Some(offset) => format!("The upload is at offset {offset}; send the bytes from there (HEAD tells the offset)."),
        None => "Upload-Offset is not the upload's offset; HEAD tells it.".to_owned(),
    })]
    OffsetMismatch { offset: Option<u64> },
    #[error("Another request is appending to this upload; retry in a second.")]
    Locked,
    #[error("Upload-Concat: {0}")]
    ConcatInvalid(String),
    #[error("{0}")]
    UploadHeaderInvalid(String),
    #[error("The upload is declared {length} bytes long; this request sends bytes past its end.")]
    LengthExceeded { length: u64 },
    #[error("The upload is already complete; it became asset {asset_id}.")]
    Completed { asset_id: String },
    #[error(
        "The appended bytes do not match Upload-Checksum; nothing of this request was kept, send it again."
    )]
    ChecksumMismatch,
    #[error("Upload-Checksum algorithm must be sha1 or sha256.")]
    ChecksumUnsupported,
    #[error("Content-Type: {0}.")]
    ContentTypeInvalid(&'static str),
    #[error("{0}.")]
    ProtocolUnsupported(&'static str),
    #[error("{0} must be a dictionary of `sha-256=:base64:` / `sha-512=:base64:` (RFC 9530).")]
    DigestInvalid(&'static str),
    #[error(
        "The uploaded bytes do not match the {0} digest sent; nothing was stored, send the file again."
    )]
    DigestMismatch(&'static str),
    #[error("No webhook with this id.")]
    WebhookNotFound,
    #[error("This event was never delivered to this webhook.")]
    WebhookEventNotFound,
    #[error("The webhook is disabled (it answered 410 Gone); enable it first.")]
    WebhookDisabled,
    #[error("An account has at most 20 webhooks; delete one first.")]
    WebhookLimitExceeded,
    #[error("{0}")]
    WebhookUrlInvalid(String),
    #[error("{0}")]
    WebhookEventTypeInvalid(String),
    #[error("{0}")]
    WebhookReplayInvalid(String),
    #[error("Internal error.")]
    Internal,
}

/// tus's status for a checksum mismatch, which has no name in `http`.
pub const CHECKSUM_MISMATCH_STATUS: u16 = 460;

/// Problem details, sent as `application/problem+json` with every error.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Problem<'a> {
    /// An UPPER_SNAKE category mirroring the status: `UNAUTHORIZED`, `FORBIDDEN`, `NOT_FOUND`,
    /// `BAD_REQUEST`, `UNPROCESSABLE_CONTENT`, `CONFLICT`, `PAYLOAD_TOO_LARGE`, `RATE_LIMITED`,
    /// `SERVICE_UNAVAILABLE`, `INTERNAL`, `METHOD_NOT_ALLOWED`.
    #[serde(rename = "type")]
    #[schema(example = "BAD_REQUEST")]
    kind: &'a str,
    #[schema(example = "Invalid id")]
    title: &'a str,
    #[schema(example = 400)]
    status: u16,
    /// A human-readable explanation; never internal error text.
    #[schema(example = "assetId must be a UUID")]
    detail: String,
    /// The stable business code clients branch on.
    #[schema(example = "ID_INVALID")]
    error_code: &'a str,
}

impl ApiError {
    /// The error's code in the vocabulary, which declares its status, `type`, title and gRPC code.
    pub fn reason(&self) -> Reason {
        match self {
            Self::KeyInvalid => Reason::KeyInvalid,
            Self::AccessForbidden => Reason::AccessForbidden,
            Self::FileNameInvalid(_) => Reason::UploadFileNameInvalid,
            Self::ProjectIdInvalid => Reason::UploadProjectIdInvalid,
            Self::BodyEmpty => Reason::UploadBodyEmpty,
            Self::TooLarge { .. } => Reason::UploadTooLarge,
            Self::TypeUnsupported => Reason::UploadFileTypeUnsupported,
            Self::Incomplete { .. } => Reason::UploadIncomplete,
            Self::IdInvalid(_) => Reason::IdInvalid,
            Self::ProjectNotFound => Reason::ProjectNotFound,
            Self::AssetNotFound => Reason::AssetNotFound,
            Self::AccountNotFound => Reason::AccountNotFound,
            Self::FileNotFound => Reason::FileNotFound,
            Self::NotFound => Reason::RouteNotFound,
            Self::RangeNotSatisfiable { .. } => Reason::RangeNotSatisfiable,
            Self::BodyInvalid(_) => Reason::BodyInvalid,
            Self::BodyTooLarge { .. } => Reason::BodyTooLarge,
            Self::QueryInvalid => Reason::QueryInvalid,
            Self::ProjectTitleInvalid(_) => Reason::ProjectTitleInvalid,
            Self::ProjectDescriptionInvalid(_) => Reason::ProjectDescriptionInvalid,
            Self::EditorStateInvalid => Reason::ProjectEditorStateInvalid,
            Self::StateSchemaVersionUnsupported => Reason::StateSchemaVersionUnsupported,
            Self::PageSizeInvalid { .. } => Reason::PageSizeInvalid,
            Self::PageCursorInvalid => Reason::PageCursorInvalid,
            Self::AssetIdInvalid => Reason::AssetIdInvalid,
            Self::AssetReferenced => Reason::AssetReferenced,
            Self::BindingNotFound => Reason::BindingNotFound,
            Self::IdempotencyKeyReused => Reason::IdempotencyKeyReused,
            Self::IdempotencyKeyInvalid => Reason::IdempotencyKeyInvalid,
            Self::MethodNotAllowed => Reason::MethodNotAllowed,
            Self::Unavailable(_) => Reason::ServiceUnavailable,
            Self::RateLimited { .. } | Self::AccountUploadsBusy { .. } => {
                Reason::RequestLimitExceeded
            }
            Self::ServerBusy { .. } => Reason::ServerBusy,
            Self::UploadStalled { .. } => Reason::UploadStalled,
            Self::ResumableNotFound => Reason::UploadNotFound,
            Self::ResumableExpired => Reason::UploadExpired,
            Self::OffsetMismatch { .. } => Reason::UploadOffsetMismatch,
            Self::Locked => Reason::UploadLocked,
            Self::ConcatInvalid(_) => Reason::UploadConcatInvalid,
            Self::UploadHeaderInvalid(_) => Reason::UploadHeaderInvalid,
            Self::LengthExceeded { .. } => Reason::UploadLengthExceeded,
            Self::Completed { .. } => Reason::UploadCompleted,
            Self::ChecksumMismatch => Reason::UploadChecksumMismatch,
            Self::ChecksumUnsupported => Reason::UploadChecksumUnsupported,
            Self::ContentTypeInvalid(_) => Reason::UploadContentTypeInvalid,
            Self::ProtocolUnsupported(_) => Reason::UploadProtocolUnsupported,
            Self::DigestInvalid(_) => Reason::UploadDigestInvalid,
            Self::DigestMismatch(_) => Reason::UploadDigestMismatch,
            Self::WebhookNotFound => Reason::WebhookNotFound,
            Self::WebhookEventNotFound => Reason::WebhookEventNotFound,
            Self::WebhookDisabled => Reason::WebhookDisabled,
            Self::WebhookLimitExceeded => Reason::WebhookLimitExceeded,
            Self::WebhookUrlInvalid(_) => Reason::WebhookUrlInvalid,
            Self::WebhookEventTypeInvalid(_) => Reason::WebhookEventTypeInvalid,
            Self::WebhookReplayInvalid(_) => Reason::WebhookReplayInvalid,
            Self::Internal => Reason::Internal,
        }
    }

    /// The HTTP status and problem `type`: the vocabulary's, but for the routes whose contract
    /// answers a bad page size with 422.
    fn status_and_type(&self) -> (StatusCode, &'static str) {
        match self {
            Self::PageSizeInvalid {
                unprocessable: true,
                ..
            } => (StatusCode::UNPROCESSABLE_ENTITY, "UNPROCESSABLE_CONTENT"),
            Self::ChecksumMismatch => (
                StatusCode::from_u16(CHECKSUM_MISMATCH_STATUS).unwrap_or(StatusCode::BAD_REQUEST),
                "CHECKSUM_MISMATCH",
            ),
            _ => (self.reason().http_status(), self.reason().problem_type()),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let reason = self.reason();
        let (status, kind) = self.status_and_type();
        let error_code = reason.as_str();
        metrics::counter!("assetd_http_errors_total", "error_code" => error_code).increment(1);
        let body = Problem {
            kind,
            title: reason.title(),
            status: status.as_u16(),
            detail: self.to_string(),
            error_code,
        };
        let mut response = (status, Json(body)).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        match self {
            Self::Unavailable(_) => {
                headers.insert(
                    header::RETRY_AFTER,
                    HeaderValue::from_static(RETRY_AFTER_SECS),
                );
            }
            Self::ServerBusy { .. } | Self::AccountUploadsBusy { .. } => {
                // An upload slot frees as soon as any upload ends.
                headers.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            }
            Self::RateLimited {
                retry_after_secs, ..
            } => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
            }
            Self::Locked => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            }
            Self::OffsetMismatch {
                offset: Some(offset),
            } => {
                headers.insert("upload-offset", HeaderValue::from(offset));
            }
            Self::UploadStalled { .. } => {
                // The rest of the body is not read: the connection cannot carry another request.
                headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
            }
            Self::RangeNotSatisfiable { size } => {
                if let Ok(value) = HeaderValue::from_str(&format!("bytes */{size}")) {
                    headers.insert(header::CONTENT_RANGE, value);
                }
            }
            _ => {}
        }
        response
    }
}
