//! Ids in request paths: a `{projectId}` or `{assetId}` segment parsed into its type once, at the
//! route, or a 400 `ID_INVALID` naming the segment.

use crate::problem::ApiError;

/// A path id (`{projectId}`, `{assetId}`) parsed into its type, or 400 `ID_INVALID` naming it.
pub fn path_id<T: std::str::FromStr>(value: &str, name: &'static str) -> Result<T, ApiError> {
    value.parse().map_err(|_| ApiError::IdInvalid(name))
}
