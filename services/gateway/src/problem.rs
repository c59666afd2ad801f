//! The gateway's errors, each rendered as the contract's problem details with a stable `errorCode`.

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
    #[error("Internal error.")]
    Internal,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Problem<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    title: &'a str,
    status: u16,
    detail: String,
    error_code: &'a str,
}

impl ApiError {
    /// Status, category (`type`), stable business code and title.
    pub fn parts(&self) -> (StatusCode, &'static str, &'static str, &'static str) {
        use StatusCode as S;
        match self {
            Self::KeyInvalid => (
                S::UNAUTHORIZED,
                "UNAUTHORIZED",
                "OPEN_API_KEY_INVALID",
                "Unauthorized",
            ),
            Self::AccessForbidden => (
                S::FORBIDDEN,
                "FORBIDDEN",
                "OPEN_API_RUNTIME_ACCESS_FORBIDDEN",
                "Forbidden",
            ),
            Self::FileNameInvalid(_) => (
                S::BAD_REQUEST,
                "BAD_REQUEST",
                "UPLOAD_FILE_NAME_INVALID",
                "Invalid file name",
            ),
            Self::ProjectIdInvalid => (
                S::BAD_REQUEST,
                "BAD_REQUEST",
                "UPLOAD_PROJECT_ID_INVALID",
                "Invalid project id",
            ),
            Self::BodyEmpty => (
                S::BAD_REQUEST,
                "BAD_REQUEST",
                "UPLOAD_BODY_EMPTY",
                "Empty upload",
            ),
            Self::TooLarge { .. } => (
                S::PAYLOAD_TOO_LARGE,
                "PAYLOAD_TOO_LARGE",
                "UPLOAD_TOO_LARGE",
                "Upload too large",
            ),
            Self::TypeUnsupported => (
                S::UNPROCESSABLE_ENTITY,
                "UNPROCESSABLE_CONTENT",
                "UPLOAD_FILE_TYPE_UNSUPPORTED",
                "Unsupported file type",
            ),
            Self::Incomplete { .. } => (
                S::BAD_REQUEST,
                "BAD_REQUEST",
                "UPLOAD_INCOMPLETE",
                "Incomplete upload",
            ),
            Self::IdInvalid(_) => (S::BAD_REQUEST, "BAD_REQUEST", "ID_INVALID", "Invalid id"),
            Self::ProjectNotFound => (
                S::NOT_FOUND,
                "NOT_FOUND",
                "PROJECT_NOT_FOUND",
                "Project not found",
            ),
            Self::AssetNotFound => (
                S::NOT_FOUND,
                "NOT_FOUND",
                "ASSET_NOT_FOUND",
                "Asset not found",
            ),
            Self::AccountNotFound => (
                S::NOT_FOUND,
                "NOT_FOUND",
                "ACCOUNT_NOT_FOUND",
                "Account not found",
            ),
            Self::FileNotFound => (
                S::NOT_FOUND,
                "NOT_FOUND",
                "FILE_NOT_FOUND",
                "File not found",
            ),
            Self::NotFound => (S::NOT_FOUND, "NOT_FOUND", "ROUTE_NOT_FOUND", "Not found"),
            Self::RangeNotSatisfiable { .. } => (
                S::RANGE_NOT_SATISFIABLE,
                "BAD_REQUEST",
                "RANGE_NOT_SATISFIABLE",
                "Range not satisfiable",
            ),
            Self::BodyInvalid(_) => (
                S::BAD_REQUEST,
                "BAD_REQUEST",
                "BODY_INVALID",
                "Invalid request body",
            ),
            Self::BodyTooLarge { .. } => (
                S::PAYLOAD_TOO_LARGE,
                "PAYLOAD_TOO_LARGE",
                "BODY_TOO_LARGE",
                "Request body too large",
            ),
            Self::QueryInvalid => (
                S::BAD_REQUEST,
                "BAD_REQUEST",
                "QUERY_INVALID",
                "Invalid query string",
            ),
            Self::ProjectTitleInvalid(_) => (
                S::UNPROCESSABLE_ENTITY,
                "UNPROCESSABLE_CONTENT",
                "PROJECT_TITLE_INVALID",
                "Invalid title",
            ),
            Self::ProjectDescriptionInvalid(_) => (
                S::UNPROCESSABLE_ENTITY,
                "UNPROCESSABLE_CONTENT",
                "PROJECT_DESCRIPTION_INVALID",
                "Invalid description",
            ),
            Self::EditorStateInvalid => (
                S::UNPROCESSABLE_ENTITY,
                "UNPROCESSABLE_CONTENT",
                "PROJECT_EDITOR_STATE_INVALID",
                "Invalid editor state",
            ),
            Self::StateSchemaVersionUnsupported => (
                S::UNPROCESSABLE_ENTITY,
                "UNPROCESSABLE_CONTENT",
                "STATE_SCHEMA_VERSION_UNSUPPORTED",
                "Unsupported editor state schema version",
            ),
            Self::PageSizeInvalid {
                unprocessable: false,
                ..
            } => (
                S::BAD_REQUEST,
                "BAD_REQUEST",
                "PAGE_SIZE_INVALID",
                "Invalid page size",
            ),
            Self::PageSizeInvalid {
                unprocessable: true,
                ..
            } => (
                S::UNPROCESSABLE_ENTITY,
                "UNPROCESSABLE_CONTENT",
                "PAGE_SIZE_INVALID",
                "Invalid page size",
            ),
            Self::PageCursorInvalid => (
                S::BAD_REQUEST,
                "BAD_REQUEST",
                "PAGE_CURSOR_INVALID",
                "Invalid page cursor",
            ),
            Self::AssetIdInvalid => (
                S::UNPROCESSABLE_ENTITY,
                "UNPROCESSABLE_CONTENT",
                "ASSET_ID_INVALID",
                "Invalid asset id",
            ),
            Self::AssetReferenced => (S::CONFLICT, "CONFLICT", "ASSET_REFERENCED", "Asset in use"),
            Self::BindingNotFound => (
                S::NOT_FOUND,
                "NOT_FOUND",
                "BINDING_NOT_FOUND",
                "Asset not in project",
            ),
            Self::IdempotencyKeyReused => (
                S::CONFLICT,
                "CONFLICT",
                "IDEMPOTENCY_KEY_REUSED",
                "Idempotency key reused",
            ),
            Self::IdempotencyKeyInvalid => (
                S::BAD_REQUEST,
                "BAD_REQUEST",
                "IDEMPOTENCY_KEY_INVALID",
                "Invalid idempotency key",
            ),
            Self::MethodNotAllowed => (
                S::METHOD_NOT_ALLOWED,
                "METHOD_NOT_ALLOWED",
                "METHOD_NOT_ALLOWED",
                "Method not allowed",
            ),
            Self::Unavailable(_) => (
                S::SERVICE_UNAVAILABLE,
                "SERVICE_UNAVAILABLE",
                "SERVICE_UNAVAILABLE",
                "Service unavailable",
            ),
            Self::RateLimited { .. } | Self::AccountUploadsBusy { .. } => (
                S::TOO_MANY_REQUESTS,
                "RATE_LIMITED",
                "OPEN_API_REQUEST_LIMIT_EXCEEDED",
                "Too many requests",
            ),
            Self::ServerBusy { .. } => (
                S::SERVICE_UNAVAILABLE,
                "SERVICE_UNAVAILABLE",
                "SERVER_BUSY",
                "Server busy",
            ),
            Self::UploadStalled { .. } => (
                S::REQUEST_TIMEOUT,
                "REQUEST_TIMEOUT",
                "UPLOAD_STALLED",
                "Upload stalled",
            ),
            Self::Internal => (
                S::INTERNAL_SERVER_ERROR,
                "INTERNAL",
                "INTERNAL",
                "Internal error",
            ),
        }
    }

    pub fn error_code(&self) -> &'static str {
        self.parts().2
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, kind, error_code, title) = self.parts();
        metrics::counter!("assetd_http_errors_total", "error_code" => error_code).increment(1);
        let body = Problem {
            kind,
            title,
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
