//! Stable error reasons carried on gRPC statuses as `google.rpc.ErrorInfo`, so callers branch on a code, not on text.

use std::collections::HashMap;

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

/// The ErrorInfo domain of every status assetd's services produce.
pub const DOMAIN: &str = "assetd";

/// A status whose ErrorInfo reason is `reason` (an UPPER_SNAKE code).
pub fn status(code: Code, reason: &str, message: impl Into<String>) -> Status {
    Status::with_error_details(
        code,
        message,
        ErrorDetails::with_error_info(reason, DOMAIN, HashMap::<String, String>::new()),
    )
}

/// The ErrorInfo reason of a status, if it carries one.
pub fn reason(status: &Status) -> Option<String> {
    status.get_details_error_info().map(|info| info.reason)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reason_round_trips() {
        let status = status(Code::NotFound, "PROJECT_NOT_FOUND", "no such project");
        assert_eq!(status.code(), Code::NotFound);
        assert_eq!(reason(&status).as_deref(), Some("PROJECT_NOT_FOUND"));
        assert_eq!(reason(&Status::internal("x")), None);
    }
}
