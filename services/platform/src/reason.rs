//! The error vocabulary: every stable error code assetd answers with, each declared once with
//! its HTTP status, problem `type` and title (the API's problem details) and its gRPC code (the
//! internal services, where the code travels as the `google.rpc.ErrorInfo` reason).
//!
//! A new error is one row here; the catalog, the gateway and the prober name it by variant, so a
//! code cannot be misspelt in one place and matched in another.

use http::StatusCode;
use tonic::Code;

macro_rules! reasons {
    ($($variant:ident => $code:literal, $http:ident, $kind:literal, $title:literal, $grpc:ident;)*) => {
        /// A stable error code (`errorCode` in problem details, the ErrorInfo reason on gRPC).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Reason {
            $($variant,)*
        }

        impl Reason {
            /// Every reason, in declaration order.
            pub const ALL: &[Reason] = &[$(Reason::$variant,)*];

            /// The code as clients see it, e.g. `PROJECT_NOT_FOUND`.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Reason::$variant => $code,)*
                }
            }

            /// The HTTP status of a problem with this code.
            pub const fn http_status(self) -> StatusCode {
                match self {
                    $(Reason::$variant => StatusCode::$http,)*
                }
            }

            /// The problem's `type`: the broad category clients may branch on.
            pub const fn problem_type(self) -> &'static str {
                match self {
                    $(Reason::$variant => $kind,)*
                }
            }

            /// The problem's short `title`.
            pub const fn title(self) -> &'static str {
                match self {
                    $(Reason::$variant => $title,)*
                }
            }

            /// The gRPC status code of a call failing with this reason.
            pub const fn grpc_code(self) -> Code {
                match self {
                    $(Reason::$variant => Code::$grpc,)*
                }
            }
        }
    };
}

reasons! {
    // Authentication and access.
    KeyInvalid => "OPEN_API_KEY_INVALID", UNAUTHORIZED, "UNAUTHORIZED", "Unauthorized", Unauthenticated;
    AccessForbidden => "OPEN_API_RUNTIME_ACCESS_FORBIDDEN", FORBIDDEN, "FORBIDDEN", "Forbidden", PermissionDenied;
    ServiceTokenInvalid => "SERVICE_TOKEN_INVALID", UNAUTHORIZED, "UNAUTHORIZED", "Unauthorized", Unauthenticated;
    // Uploads.
    UploadFileNameInvalid => "UPLOAD_FILE_NAME_INVALID", BAD_REQUEST, "BAD_REQUEST", "Invalid file name", InvalidArgument;
    UploadProjectIdInvalid => "UPLOAD_PROJECT_ID_INVALID", BAD_REQUEST, "BAD_REQUEST", "Invalid project id", InvalidArgument;
    UploadBodyEmpty => "UPLOAD_BODY_EMPTY", BAD_REQUEST, "BAD_REQUEST", "Empty upload", InvalidArgument;
    UploadTooLarge => "UPLOAD_TOO_LARGE", PAYLOAD_TOO_LARGE, "PAYLOAD_TOO_LARGE", "Upload too large", ResourceExhausted;
    UploadFileTypeUnsupported => "UPLOAD_FILE_TYPE_UNSUPPORTED", UNPROCESSABLE_ENTITY, "UNPROCESSABLE_CONTENT", "Unsupported file type", InvalidArgument;
    UploadIncomplete => "UPLOAD_INCOMPLETE", BAD_REQUEST, "BAD_REQUEST", "Incomplete upload", InvalidArgument;
    UploadStalled => "UPLOAD_STALLED", REQUEST_TIMEOUT, "REQUEST_TIMEOUT", "Upload stalled", DeadlineExceeded;
    UploadMetadataRequired => "UPLOAD_METADATA_REQUIRED", BAD_REQUEST, "BAD_REQUEST", "Upload metadata required", InvalidArgument;
    UploadStreamInvalid => "UPLOAD_STREAM_INVALID", BAD_REQUEST, "BAD_REQUEST", "Invalid upload stream", InvalidArgument;
    UploadDigestInvalid => "UPLOAD_DIGEST_INVALID", BAD_REQUEST, "BAD_REQUEST", "Invalid digest field", InvalidArgument;
    UploadDigestMismatch => "UPLOAD_DIGEST_MISMATCH", BAD_REQUEST, "BAD_REQUEST", "Digest mismatch", InvalidArgument;
    // Resumable uploads (tus 1.0, the IETF resumable-upload draft).
    UploadNotFound => "UPLOAD_NOT_FOUND", NOT_FOUND, "NOT_FOUND", "Upload not found", NotFound;
    UploadExpired => "UPLOAD_EXPIRED", GONE, "GONE", "Upload expired", NotFound;
    UploadOffsetMismatch => "UPLOAD_OFFSET_MISMATCH", CONFLICT, "CONFLICT", "Upload offset mismatch", Aborted;
    UploadLocked => "UPLOAD_LOCKED", LOCKED, "LOCKED", "Upload busy", Aborted;
    UploadConcatInvalid => "UPLOAD_CONCAT_INVALID", BAD_REQUEST, "BAD_REQUEST", "Invalid concatenation", InvalidArgument;
    UploadHeaderInvalid => "UPLOAD_HEADER_INVALID", BAD_REQUEST, "BAD_REQUEST", "Invalid upload header", InvalidArgument;
    UploadLengthExceeded => "UPLOAD_LENGTH_EXCEEDED", BAD_REQUEST, "BAD_REQUEST", "Upload longer than declared", InvalidArgument;
    UploadCompleted => "UPLOAD_COMPLETED", BAD_REQUEST, "BAD_REQUEST", "Upload already completed", InvalidArgument;
    // Served as tus's 460 Checksum Mismatch (the vocabulary's statuses are named constants).
    UploadChecksumMismatch => "UPLOAD_CHECKSUM_MISMATCH", BAD_REQUEST, "BAD_REQUEST", "Checksum mismatch", InvalidArgument;
    UploadChecksumUnsupported => "UPLOAD_CHECKSUM_ALGORITHM_UNSUPPORTED", BAD_REQUEST, "BAD_REQUEST", "Unsupported checksum algorithm", InvalidArgument;
    UploadContentTypeInvalid => "UPLOAD_CONTENT_TYPE_INVALID", UNSUPPORTED_MEDIA_TYPE, "UNSUPPORTED_MEDIA_TYPE", "Wrong Content-Type for an append", InvalidArgument;
    UploadProtocolUnsupported => "UPLOAD_PROTOCOL_VERSION_UNSUPPORTED", PRECONDITION_FAILED, "PRECONDITION_FAILED", "Unsupported protocol version", FailedPrecondition;
    // Requests.
    IdInvalid => "ID_INVALID", BAD_REQUEST, "BAD_REQUEST", "Invalid id", InvalidArgument;
    AssetIdInvalid => "ASSET_ID_INVALID", UNPROCESSABLE_ENTITY, "UNPROCESSABLE_CONTENT", "Invalid asset id", InvalidArgument;
    BodyInvalid => "BODY_INVALID", BAD_REQUEST, "BAD_REQUEST", "Invalid request body", InvalidArgument;
    BodyTooLarge => "BODY_TOO_LARGE", PAYLOAD_TOO_LARGE, "PAYLOAD_TOO_LARGE", "Request body too large", ResourceExhausted;
    QueryInvalid => "QUERY_INVALID", BAD_REQUEST, "BAD_REQUEST", "Invalid query string", InvalidArgument;
    InvalidArgument => "INVALID_ARGUMENT", BAD_REQUEST, "BAD_REQUEST", "Invalid argument", InvalidArgument;
    ProjectTitleInvalid => "PROJECT_TITLE_INVALID", UNPROCESSABLE_ENTITY, "UNPROCESSABLE_CONTENT", "Invalid title", InvalidArgument;
    ProjectDescriptionInvalid => "PROJECT_DESCRIPTION_INVALID", UNPROCESSABLE_ENTITY, "UNPROCESSABLE_CONTENT", "Invalid description", InvalidArgument;
    ProjectEditorStateInvalid => "PROJECT_EDITOR_STATE_INVALID", UNPROCESSABLE_ENTITY, "UNPROCESSABLE_CONTENT", "Invalid editor state", InvalidArgument;
    StateSchemaVersionUnsupported => "STATE_SCHEMA_VERSION_UNSUPPORTED", UNPROCESSABLE_ENTITY, "UNPROCESSABLE_CONTENT", "Unsupported editor state schema version", InvalidArgument;
    PageSizeInvalid => "PAGE_SIZE_INVALID", BAD_REQUEST, "BAD_REQUEST", "Invalid page size", InvalidArgument;
    PageCursorInvalid => "PAGE_CURSOR_INVALID", BAD_REQUEST, "BAD_REQUEST", "Invalid page cursor", InvalidArgument;
    IdempotencyKeyInvalid => "IDEMPOTENCY_KEY_INVALID", BAD_REQUEST, "BAD_REQUEST", "Invalid idempotency key", InvalidArgument;
    RangeNotSatisfiable => "RANGE_NOT_SATISFIABLE", RANGE_NOT_SATISFIABLE, "BAD_REQUEST", "Range not satisfiable", OutOfRange;
    WebhookUrlInvalid => "WEBHOOK_URL_INVALID", UNPROCESSABLE_ENTITY, "UNPROCESSABLE_CONTENT", "Invalid webhook URL", InvalidArgument;
    WebhookEventTypeInvalid => "WEBHOOK_EVENT_TYPE_INVALID", UNPROCESSABLE_ENTITY, "UNPROCESSABLE_CONTENT", "Unknown webhook event type", InvalidArgument;
    WebhookReplayInvalid => "WEBHOOK_REPLAY_INVALID", UNPROCESSABLE_ENTITY, "UNPROCESSABLE_CONTENT", "Invalid replay", InvalidArgument;
    MethodNotAllowed => "METHOD_NOT_ALLOWED", METHOD_NOT_ALLOWED, "METHOD_NOT_ALLOWED", "Method not allowed", Unimplemented;
    // Missing things.
    ProjectNotFound => "PROJECT_NOT_FOUND", NOT_FOUND, "NOT_FOUND", "Project not found", NotFound;
    AssetNotFound => "ASSET_NOT_FOUND", NOT_FOUND, "NOT_FOUND", "Asset not found", NotFound;
    AccountNotFound => "ACCOUNT_NOT_FOUND", NOT_FOUND, "NOT_FOUND", "Account not found", NotFound;
    BindingNotFound => "BINDING_NOT_FOUND", NOT_FOUND, "NOT_FOUND", "Asset not in project", NotFound;
    FileNotFound => "FILE_NOT_FOUND", NOT_FOUND, "NOT_FOUND", "File not found", NotFound;
    WebhookNotFound => "WEBHOOK_NOT_FOUND", NOT_FOUND, "NOT_FOUND", "Webhook not found", NotFound;
    WebhookEventNotFound => "WEBHOOK_EVENT_NOT_FOUND", NOT_FOUND, "NOT_FOUND", "Webhook event not found", NotFound;
    RouteNotFound => "ROUTE_NOT_FOUND", NOT_FOUND, "NOT_FOUND", "Not found", NotFound;
    // Conflicts.
    AssetReferenced => "ASSET_REFERENCED", CONFLICT, "CONFLICT", "Asset in use", FailedPrecondition;
    AssetExists => "ASSET_EXISTS", CONFLICT, "CONFLICT", "Asset exists", AlreadyExists;
    WebhookLimitExceeded => "WEBHOOK_LIMIT_EXCEEDED", CONFLICT, "CONFLICT", "Too many webhooks", FailedPrecondition;
    WebhookDisabled => "WEBHOOK_DISABLED", CONFLICT, "CONFLICT", "Webhook disabled", FailedPrecondition;
    IdempotencyKeyReused => "IDEMPOTENCY_KEY_REUSED", CONFLICT, "CONFLICT", "Idempotency key reused", AlreadyExists;
    // Load and outages.
    RequestLimitExceeded => "OPEN_API_REQUEST_LIMIT_EXCEEDED", TOO_MANY_REQUESTS, "RATE_LIMITED", "Too many requests", ResourceExhausted;
    ServerBusy => "SERVER_BUSY", SERVICE_UNAVAILABLE, "SERVICE_UNAVAILABLE", "Server busy", Unavailable;
    ServiceUnavailable => "SERVICE_UNAVAILABLE", SERVICE_UNAVAILABLE, "SERVICE_UNAVAILABLE", "Service unavailable", Unavailable;
    DatabaseUnavailable => "DATABASE_UNAVAILABLE", SERVICE_UNAVAILABLE, "SERVICE_UNAVAILABLE", "Service unavailable", Unavailable;
    Internal => "INTERNAL", INTERNAL_SERVER_ERROR, "INTERNAL", "Internal error", Internal;
}

impl Reason {
    /// The reason spelt `code`, if assetd has one.
    pub fn parse(code: &str) -> Option<Reason> {
        Reason::ALL
            .iter()
            .copied()
            .find(|reason| reason.as_str() == code)
    }
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_parse_back() {
        for reason in Reason::ALL {
            assert_eq!(Reason::parse(reason.as_str()), Some(*reason));
            let code = reason.as_str();
            assert!(
                code.chars().all(|c| c.is_ascii_uppercase() || c == '_'),
                "{code}"
            );
        }
        assert_eq!(Reason::parse("NO_SUCH_CODE"), None);
    }

    #[test]
    fn statuses_agree_between_http_and_grpc() {
        for reason in Reason::ALL {
            let http = reason.http_status().as_u16();
            let grpc = reason.grpc_code();
            let agrees = match grpc {
                Code::NotFound => http == 404 || http == 410,
                Code::Unauthenticated => http == 401,
                Code::PermissionDenied => http == 403,
                Code::Unavailable => http == 503,
                Code::Internal => http == 500,
                Code::InvalidArgument => http == 400 || http == 415 || http == 422,
                Code::AlreadyExists => http == 409,
                Code::FailedPrecondition => http == 409 || http == 412,
                _ => true,
            };
            assert!(agrees, "{reason}: HTTP {http} vs gRPC {grpc:?}");
        }
    }
}
