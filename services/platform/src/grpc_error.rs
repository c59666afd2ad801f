//! Stable error reasons carried on gRPC statuses as `google.rpc.ErrorInfo`, so callers branch on a code, not on text.

use std::collections::HashMap;

use tonic::Status;
use tonic_types::{ErrorDetails, StatusExt};

use crate::reason::Reason;

/// The ErrorInfo domain of every status assetd's services produce.
pub const DOMAIN: &str = "assetd";

/// A status failing with `reason`: its gRPC code from the vocabulary, the reason as ErrorInfo.
pub fn status(reason: Reason, message: impl Into<String>) -> Status {
    Status::with_error_details(
        reason.grpc_code(),
        message,
        ErrorDetails::with_error_info(reason.as_str(), DOMAIN, HashMap::<String, String>::new()),
    )
}

/// The reason a status carries, if it carries one assetd knows.
pub fn reason(status: &Status) -> Option<Reason> {
    status
        .get_details_error_info()
        .and_then(|info| Reason::parse(&info.reason))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reason_round_trips() {
        let status = status(Reason::ProjectNotFound, "no such project");
        assert_eq!(status.code(), tonic::Code::NotFound);
        assert_eq!(reason(&status), Some(Reason::ProjectNotFound));
        assert_eq!(reason(&Status::internal("x")), None);
    }
}
