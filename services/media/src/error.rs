//! The probe's error type: which failures are permanent (the file) and which transient (storage).

/// Why a probe failed. Only [`ProbeError::Io`] is worth a retry.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    /// The file cannot be parsed (truncated, garbage, missing a required part).
    #[error("malformed: {0}")]
    Malformed(String),
    /// The format (or this variant of it) is not one assetd probes.
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// Finding the answer would read more bytes, or take longer, than the budget allows.
    #[error("budget exceeded: {0}")]
    BudgetExceeded(String),
    /// The storage failed to read; the same probe may succeed later.
    #[error("storage read failed: {0}")]
    Io(#[source] std::io::Error),
}

impl ProbeError {
    /// `true` when retrying later may succeed (a storage failure); every other error is final.
    pub fn is_transient(&self) -> bool {
        matches!(self, ProbeError::Io(_))
    }

    /// The same error with its message prefixed by the format, e.g. `png: truncated`.
    pub(crate) fn in_format(self, format: &str) -> ProbeError {
        match self {
            ProbeError::Malformed(msg) => ProbeError::Malformed(format!("{format}: {msg}")),
            ProbeError::Unsupported(msg) => ProbeError::Unsupported(format!("{format}: {msg}")),
            ProbeError::BudgetExceeded(msg) => {
                ProbeError::BudgetExceeded(format!("{format}: {msg}"))
            }
            io @ ProbeError::Io(_) => io,
        }
    }
}

/// A `Malformed` error with a short reason.
pub(crate) fn malformed(reason: impl Into<String>) -> ProbeError {
    ProbeError::Malformed(reason.into())
}

/// A `Malformed` error for media cut short: `truncated: {detail}`. Every completeness check
/// words its reason this way, so a failed asset's `probeError` always starts `{format}: truncated:`.
pub(crate) fn truncated(detail: impl std::fmt::Display) -> ProbeError {
    ProbeError::Malformed(format!("truncated: {detail}"))
}

/// An `Unsupported` error with a short reason.
pub(crate) fn unsupported(reason: impl Into<String>) -> ProbeError {
    ProbeError::Unsupported(reason.into())
}

/// Round-trips through `std::io::Error` so parsers using `Read`/`Seek` keep the original error.
impl From<std::io::Error> for ProbeError {
    fn from(err: std::io::Error) -> Self {
        if err.get_ref().is_some_and(|inner| inner.is::<ProbeError>()) {
            if let Some(inner) = err.into_inner()
                && let Ok(probe) = inner.downcast::<ProbeError>()
            {
                return *probe;
            }
            return ProbeError::Malformed("reader error".into());
        }
        if err.kind() == std::io::ErrorKind::UnexpectedEof {
            return ProbeError::Malformed("truncated".into());
        }
        ProbeError::Io(err)
    }
}

impl From<ProbeError> for std::io::Error {
    fn from(err: ProbeError) -> Self {
        match err {
            ProbeError::Io(io) => io,
            other => std::io::Error::other(other),
        }
    }
}
