//! API key authentication: `x-api-key` (1.0 clients) or `Authorization: Bearer` (1.1 clients), resolved by the catalog.

use assetd_proto::{catalog::v1::AuthenticateRequest, ids::AccountId};
use axum::{extract::FromRequestParts, http::request::Parts};

use crate::{app::AppState, catalog_client, problem::ApiError};

/// The account that owns the request's API key; every handler's queries are scoped to it.
#[derive(Debug, Clone)]
pub struct Account {
    pub account_id: AccountId,
}

fn presented_key(parts: &Parts) -> Option<&str> {
    if let Some(key) = parts.headers.get("x-api-key").and_then(|v| v.to_str().ok()) {
        return Some(key.trim());
    }
    let authorization = parts
        .headers
        .get(http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, token) = authorization.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

impl FromRequestParts<AppState> for Account {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let key = presented_key(parts)
            .filter(|key| !key.is_empty())
            .ok_or(ApiError::KeyInvalid)?;
        let owner = state
            .catalog
            .clone()
            .authenticate(AuthenticateRequest {
                api_key: key.to_owned(),
            })
            .await
            .map_err(catalog_client::api_error)?
            .into_inner();
        if !owner.enabled {
            return Err(ApiError::AccessForbidden);
        }
        state.admission.request(key)?;
        // The catalog's answer: an id that does not parse is the catalog's fault, not the client's.
        let account_id = owner.account_id.parse().map_err(|_| {
            tracing::error!(
                account_id = owner.account_id,
                "the catalog answered a malformed account id"
            );
            ApiError::Internal
        })?;
        Ok(Self { account_id })
    }
}
