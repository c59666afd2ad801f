//! The list routes' query: `pageSize` (checked against the route's range) and the opaque `pageCursor`.

use axum::extract::{Query, rejection::QueryRejection};
use serde::Deserialize;

use crate::problem::ApiError;

/// The query string of a list route, as sent.
#[derive(Debug, Deserialize)]
pub struct ListQuery {
    #[serde(rename = "pageSize")]
    page_size: Option<String>,
    #[serde(rename = "pageCursor")]
    page_cursor: Option<String>,
}

/// How one list route pages.
#[derive(Debug, Clone, Copy)]
pub struct PageRule {
    pub default: u32,
    pub max: u32,
    /// Whether a bad `pageSize` is 422 (else 400), per the contract's route table.
    pub unprocessable: bool,
}

/// The checked page size and the cursor (empty for the first page).
pub fn page(
    query: Result<Query<ListQuery>, QueryRejection>,
    rule: PageRule,
) -> Result<(u32, String), ApiError> {
    let Query(query) = query.map_err(|_| ApiError::QueryInvalid)?;
    let invalid = ApiError::PageSizeInvalid {
        max: rule.max,
        unprocessable: rule.unprocessable,
    };
    let size = match query.page_size.as_deref().map(str::trim) {
        None => rule.default,
        Some(text) => match text.parse::<u32>() {
            Ok(n) if (1..=rule.max).contains(&n) => n,
            _ => return Err(invalid),
        },
    };
    // The catalog decodes the cursor (and answers PAGE_CURSOR_INVALID); only its shape is checked
    // here, so garbage never travels further.
    let cursor = query.page_cursor.unwrap_or_default();
    if cursor.len() > 128 || !cursor.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(ApiError::PageCursorInvalid);
    }
    Ok((size, cursor))
}
