//! The catalog's errors, each naming its code in the shared vocabulary ([`Reason`]).

use tonic::Status;

use assetd_platform::{grpc_error, reason::Reason};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("the API key is unknown or revoked")]
    KeyInvalid,
    #[error("no such account: {0}")]
    AccountNotFound(String),
    #[error("no such asset")]
    AssetNotFound,
    #[error("no such project")]
    ProjectNotFound,
    #[error("the asset is not bound to the project")]
    BindingNotFound,
    #[error("the asset is bound to a project; unbind it first")]
    AssetReferenced,
    #[error("an asset with this id or storage key already exists")]
    AssetExists,
    #[error("the page cursor is not one this service issued")]
    PageCursorInvalid,
    #[error("page_size must be between 1 and {0}")]
    PageSizeInvalid(u32),
    #[error("this idempotency key was already used with a different request")]
    IdempotencyKeyReused,
    #[error("no such upload")]
    UploadNotFound,
    #[error("the upload has expired")]
    UploadExpired,
    #[error("the upload's offset is {offset}")]
    UploadOffsetMismatch { offset: u64 },
    #[error("another request is appending to this upload")]
    UploadLocked,
    #[error("{0}")]
    UploadConcatInvalid(String),
    #[error("no such webhook")]
    WebhookNotFound,
    #[error("no delivery of this event to this webhook")]
    WebhookEventNotFound,
    #[error("an account has at most {0} webhooks; delete one first")]
    WebhookLimitExceeded(u32),
    #[error("the webhook is disabled; enable it first")]
    WebhookDisabled,
    #[error("{0}")]
    WebhookUrlInvalid(String),
    #[error("{0}")]
    WebhookEventTypeInvalid(String),
    #[error("{0}")]
    WebhookReplayInvalid(String),
    #[error("{0}")]
    InvalidArgument(String),
    #[error("the database is unavailable")]
    Unavailable(#[source] sqlx::Error),
    #[error("database error")]
    Database(#[source] sqlx::Error),
    #[error("database migration failed")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

impl From<sqlx::Error> for Error {
    fn from(err: sqlx::Error) -> Self {
        if is_unavailable(&err) {
            Self::Unavailable(err)
        } else {
            Self::Database(err)
        }
    }
}

/// Whether the error means "the database cannot be reached right now" (retryable) rather than a bug.
fn is_unavailable(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed
        | sqlx::Error::Protocol(_) => true,
        sqlx::Error::Database(db) => {
            let code = db.code().unwrap_or_default();
            // Postgres: connection exceptions (08), insufficient resources (53), operator
            // intervention (57), database does not exist (3D000). SQLite: BUSY (5) and LOCKED (6).
            code.starts_with("08")
                || code.starts_with("53")
                || code.starts_with("57")
                || code == "3D000"
                || code == "5"
                || code == "6"
        }
        _ => false,
    }
}

impl Error {
    /// The error's code in the vocabulary.
    pub fn reason(&self) -> Reason {
        match self {
            Error::KeyInvalid => Reason::KeyInvalid,
            Error::AccountNotFound(_) => Reason::AccountNotFound,
            Error::AssetNotFound => Reason::AssetNotFound,
            Error::ProjectNotFound => Reason::ProjectNotFound,
            Error::BindingNotFound => Reason::BindingNotFound,
            Error::AssetReferenced => Reason::AssetReferenced,
            Error::AssetExists => Reason::AssetExists,
            Error::PageCursorInvalid => Reason::PageCursorInvalid,
            Error::PageSizeInvalid(_) => Reason::PageSizeInvalid,
            Error::IdempotencyKeyReused => Reason::IdempotencyKeyReused,
            Error::UploadNotFound => Reason::UploadNotFound,
            Error::UploadExpired => Reason::UploadExpired,
            Error::UploadOffsetMismatch { .. } => Reason::UploadOffsetMismatch,
            Error::UploadLocked => Reason::UploadLocked,
            Error::UploadConcatInvalid(_) => Reason::UploadConcatInvalid,
            Error::WebhookNotFound => Reason::WebhookNotFound,
            Error::WebhookEventNotFound => Reason::WebhookEventNotFound,
            Error::WebhookLimitExceeded(_) => Reason::WebhookLimitExceeded,
            Error::WebhookDisabled => Reason::WebhookDisabled,
            Error::WebhookUrlInvalid(_) => Reason::WebhookUrlInvalid,
            Error::WebhookEventTypeInvalid(_) => Reason::WebhookEventTypeInvalid,
            Error::WebhookReplayInvalid(_) => Reason::WebhookReplayInvalid,
            Error::InvalidArgument(_) => Reason::InvalidArgument,
            Error::Unavailable(_) => Reason::DatabaseUnavailable,
            Error::Database(_) | Error::Migrate(_) => Reason::Internal,
        }
    }
}

impl From<Error> for Status {
    fn from(err: Error) -> Self {
        match &err {
            Error::Unavailable(cause) => tracing::warn!(error = %cause, "database unavailable"),
            Error::Database(cause) => tracing::error!(error = ?cause, "database error"),
            Error::Migrate(cause) => tracing::error!(error = ?cause, "migration error"),
            _ => {}
        }
        grpc_error::status(err.reason(), err.to_string())
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
