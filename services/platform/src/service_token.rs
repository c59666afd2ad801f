//! The service token that authenticates internal gRPC callers: its setting, the server-side
//! check (a tonic interceptor, compared in constant time) and the start-up warning.

use std::{net::SocketAddr, sync::Arc};

use tonic::{Request, Status, service::Interceptor};

use crate::{grpc_error, reason::Reason, secret::Secret};

#[derive(clap::Args, Clone, Debug, Default)]
pub struct ServiceTokenConfig {
    /// Token internal gRPC callers present as `authorization: Bearer TOKEN` (never logged). Set it
    /// on every role alike: servers then refuse calls without it (health and reflection stay
    /// open), and clients send it. Unset: internal gRPC is unauthenticated (loopback only).
    #[arg(long, env = "ASSETD_SERVICE_TOKEN")]
    pub service_token: Option<Secret>,
}

impl ServiceTokenConfig {
    /// The token for outgoing calls, as the gRPC client wants it.
    pub fn client_token(&self) -> Option<String> {
        self.service_token.as_ref().map(|t| t.expose().to_owned())
    }

    /// The interceptor a gRPC service is wrapped in.
    pub fn require(&self) -> RequireServiceToken {
        RequireServiceToken {
            token: self.service_token.clone().map(Arc::new),
        }
    }
}

/// Refuses calls whose `authorization` metadata is not `Bearer <token>` with UNAUTHENTICATED
/// reason `SERVICE_TOKEN_INVALID`; without a configured token, lets every call through.
#[derive(Clone, Debug, Default)]
pub struct RequireServiceToken {
    token: Option<Arc<Secret>>,
}

impl RequireServiceToken {
    pub fn is_enabled(&self) -> bool {
        self.token.is_some()
    }

    /// Logs a warning when a server on a non-loopback address accepts calls without a token.
    pub fn warn_if_open(&self, addr: SocketAddr, what: &str) {
        if self.token.is_none() && !addr.ip().is_loopback() {
            tracing::warn!(
                %addr,
                server = what,
                "gRPC listens on a non-loopback address without a service token: anyone who can \
                 reach it can call it; set --service-token (ASSETD_SERVICE_TOKEN)"
            );
        }
    }
}

impl Interceptor for RequireServiceToken {
    fn call(&mut self, request: Request<()>) -> Result<Request<()>, Status> {
        let Some(token) = &self.token else {
            return Ok(request);
        };
        let presented = request
            .metadata()
            .get("authorization")
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.trim().split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, token)| token.trim());
        match presented {
            Some(presented)
                if constant_time_eq(presented.as_bytes(), token.expose().as_bytes()) =>
            {
                Ok(request)
            }
            _ => Err(grpc_error::status(
                Reason::ServiceTokenInvalid,
                "this call needs the service token: send authorization: Bearer <token>",
            )),
        }
    }
}

/// Whether `a == b`, in a time that depends only on their lengths, not on where they differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let len = a.len().max(b.len());
    let mut diff = u8::from(a.len() != b.len());
    for i in 0..len {
        diff |= a.get(i).copied().unwrap_or(0) ^ b.get(i).copied().unwrap_or(0);
    }
    diff == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(check: &mut RequireServiceToken, authorization: Option<&str>) -> Result<(), Status> {
        let mut request = Request::new(());
        if let Some(value) = authorization {
            request
                .metadata_mut()
                .insert("authorization", value.parse().expect("ascii"));
        }
        check.call(request).map(|_| ())
    }

    #[test]
    fn checks_the_bearer_token() {
        let config = ServiceTokenConfig {
            service_token: Some(Secret::new("s3cret")),
        };
        let mut check = config.require();
        assert!(call(&mut check, Some("Bearer s3cret")).is_ok());
        assert!(call(&mut check, Some("bearer s3cret")).is_ok());
        for wrong in [
            None,
            Some("Bearer s3cre"),
            Some("Bearer s3cret!"),
            Some("s3cret"),
        ] {
            let status = call(&mut check, wrong).expect_err("refused");
            assert_eq!(status.code(), tonic::Code::Unauthenticated);
            assert_eq!(
                grpc_error::reason(&status),
                Some(Reason::ServiceTokenInvalid)
            );
        }
        let mut open = ServiceTokenConfig::default().require();
        assert!(call(&mut open, None).is_ok());
    }

    #[test]
    fn constant_time_eq_is_eq() {
        assert!(constant_time_eq(b"", b""));
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
        assert!(!constant_time_eq(b"", b"\0"));
    }
}
