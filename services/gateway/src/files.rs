//! `GET /files/{key}`: serves stored objects, with single-range support and their RFC 9530
//! `Repr-Digest`, when storage is not publicly reachable itself.

use assetd_platform::storage::StorageError;
use assetd_proto::catalog::v1::GetAssetRequest;
use axum::{
    body::Body,
    extract::{Path, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};

use crate::{app::AppState, problem::ApiError, storage_key::StorageKey};

/// The `Content-Security-Policy` of served files: a sandbox with nothing allowed to load.
pub const FILES_CSP: &str = "sandbox; default-src 'none'";

/// Parses a single `bytes=` range against an object of `size` bytes; `Ok(None)` means the whole object.
fn parse_range(value: &str, size: u64) -> Result<Option<std::ops::Range<u64>>, ()> {
    let spec = value.trim().strip_prefix("bytes=").ok_or(())?;
    if spec.contains(',') {
        // Multiple ranges are allowed to be answered with the whole object.
        return Ok(None);
    }
    let (start, end) = spec.split_once('-').ok_or(())?;
    let (start, end) = (start.trim(), end.trim());
    let range = if start.is_empty() {
        let suffix: u64 = end.parse().map_err(|_| ())?;
        if suffix == 0 {
            return Err(());
        }
        size.saturating_sub(suffix)..size
    } else {
        let start: u64 = start.parse().map_err(|_| ())?;
        let end = if end.is_empty() {
            size
        } else {
            end.parse::<u64>()
                .map_err(|_| ())?
                .saturating_add(1)
                .min(size)
        };
        start..end
    };
    if range.start >= size || range.start >= range.end {
        return Err(());
    }
    Ok(Some(range))
}

pub async fn serve_file(
    State(state): State<AppState>,
    Path(key): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let parsed = StorageKey::parse(&key).ok_or(ApiError::FileNotFound)?;
    let format = parsed.format;
    let (size, digest) = tokio::join!(state.storage.size(&key), repr_digest(&state, &parsed, &key));
    let size = size.map_err(|err| match err {
        StorageError::NotFound => ApiError::FileNotFound,
        other => {
            tracing::warn!(error = ?other, "storage failed while serving a file");
            ApiError::Unavailable("Storage")
        }
    })?;
    let range = match headers.get(header::RANGE).and_then(|v| v.to_str().ok()) {
        Some(value) => {
            parse_range(value, size).map_err(|()| ApiError::RangeNotSatisfiable { size })?
        }
        None => None,
    };
    let (status, span) = match range {
        Some(range) => (StatusCode::PARTIAL_CONTENT, range),
        None => (StatusCode::OK, 0..size),
    };
    let stream = state
        .storage
        .read_stream(&key, span.clone())
        .await
        .map_err(|err| {
            tracing::warn!(error = ?err, "storage failed while serving a file");
            ApiError::Unavailable("Storage")
        })?;
    let mut response = (status, Body::from_stream(stream)).into_response();
    let out = response.headers_mut();
    out.insert(header::CONTENT_TYPE, HeaderValue::from_static(format.mime));
    out.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    // Served from the API's own origin: never let a browser guess another type (a caption whose
    // text is HTML stays a caption) nor run anything the file holds.
    out.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    out.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(FILES_CSP),
    );
    out.insert(
        header::CONTENT_LENGTH,
        HeaderValue::from(span.end - span.start),
    );
    // Objects never change under a key: cache them for good.
    out.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    // The digest of the whole object (the representation), on ranges too (RFC 9530 §3).
    if let Some(value) = digest.and_then(|d| HeaderValue::from_str(&d).ok()) {
        out.insert("repr-digest", value);
    }
    if status == StatusCode::PARTIAL_CONTENT {
        let value = format!("bytes {}-{}/{size}", span.start, span.end - 1);
        if let Ok(value) = HeaderValue::from_str(&value) {
            out.insert(header::CONTENT_RANGE, value);
        }
    }
    Ok(response)
}

/// The `Repr-Digest` of the asset stored under `key`, from its recorded SHA-256. `None` (the
/// file is still served) when the catalog has no such asset or cannot be reached.
async fn repr_digest(state: &AppState, parsed: &StorageKey, key: &str) -> Option<String> {
    let asset = state
        .catalog
        .clone()
        .get_asset(GetAssetRequest {
            account_id: parsed.account_id.to_string(),
            asset_id: parsed.asset_id.to_string(),
        })
        .await;
    match asset {
        Ok(asset) => {
            let asset = asset.into_inner();
            (asset.file_key == key)
                .then(|| crate::digest::repr_digest(&asset.sha256))
                .flatten()
        }
        Err(status) if status.code() == tonic::Code::NotFound => None,
        Err(status) => {
            tracing::warn!(code = ?status.code(), key, "cannot look up a file's digest; serving it without Repr-Digest");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        assert_eq!(parse_range("bytes=0-9", 100), Ok(Some(0..10)));
        assert_eq!(parse_range("bytes=90-", 100), Ok(Some(90..100)));
        assert_eq!(parse_range("bytes=-10", 100), Ok(Some(90..100)));
        assert_eq!(parse_range("bytes=50-500", 100), Ok(Some(50..100)));
        assert_eq!(parse_range("bytes=0-0,5-6", 100), Ok(None));
        assert_eq!(parse_range("bytes=100-", 100), Err(()));
        assert_eq!(parse_range("bytes=5-2", 100), Err(()));
        assert_eq!(parse_range("items=0-1", 100), Err(()));
    }
}
