//! A JSON object body extractor whose rejections are the contract's problem details, not axum's text.

use axum::{
    extract::{FromRequest, Request},
    http::header,
};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use serde_json::{Map, Value};

use crate::problem::ApiError;

/// Largest JSON body accepted (editor states included), in bytes.
pub const JSON_BODY_LIMIT: usize = 1024 * 1024;

/// The request's body, which must be a JSON object sent as `application/json` (or `+json`).
/// Not JSON, malformed, or not an object: 400 `BODY_INVALID`; over [`JSON_BODY_LIMIT`]: 413.
#[derive(Debug)]
pub struct JsonBody(pub Map<String, Value>);

fn is_json(content_type: &str) -> bool {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

fn too_large() -> ApiError {
    ApiError::BodyTooLarge {
        limit_kib: (JSON_BODY_LIMIT / 1024) as u64,
    }
}

impl<S: Send + Sync> FromRequest<S> for JsonBody {
    type Rejection = ApiError;

    async fn from_request(request: Request, _state: &S) -> Result<Self, Self::Rejection> {
        let headers = request.headers();
        let content_type = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        if !is_json(content_type) {
            return Err(ApiError::BodyInvalid(
                "must be JSON sent with Content-Type: application/json.".into(),
            ));
        }
        let declared = headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        if declared.is_some_and(|len| len > JSON_BODY_LIMIT as u64) {
            return Err(too_large());
        }
        let bytes = Limited::new(request.into_body(), JSON_BODY_LIMIT)
            .collect()
            .await
            .map_err(|err| {
                if err.downcast_ref::<LengthLimitError>().is_some() {
                    too_large()
                } else {
                    ApiError::BodyInvalid("could not be read completely.".into())
                }
            })?
            .to_bytes();
        match serde_json::from_slice::<Value>(&bytes) {
            Ok(Value::Object(object)) => Ok(Self(object)),
            Ok(_) => Err(ApiError::BodyInvalid("must be a JSON object.".into())),
            Err(err) => Err(ApiError::BodyInvalid(format!(
                "is not valid JSON ({} at line {}, column {}).",
                match err.classify() {
                    serde_json::error::Category::Eof => "unexpected end",
                    _ => "syntax error",
                },
                err.line(),
                err.column()
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_media_types() {
        assert!(is_json("application/json"));
        assert!(is_json("Application/JSON; charset=utf-8"));
        assert!(is_json("application/merge-patch+json"));
        assert!(!is_json("text/plain"));
        assert!(!is_json(""));
        assert!(!is_json("application/x-www-form-urlencoded"));
    }
}
