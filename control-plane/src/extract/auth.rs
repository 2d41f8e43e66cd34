//! Who a request speaks for: the tenant or operator its bearer token names.

use axum::extract::FromRequestParts;
use axum::http::header::{AUTHORIZATION, UPGRADE};
use axum::http::request::Parts;

use crate::auth::Principal;
use crate::error::ApiError;
use crate::state::AppState;

/// The tenant a valid bearer token names. Browsers cannot set headers on WebSockets, so a
/// WebSocket upgrade may carry the token as a `token` query parameter instead.
pub struct Tenant(pub String);

/// A fleet operator (a token with `role: operator`).
pub struct Operator(pub String);

/// The bearer token of a request (or, for WebSocket upgrades, its `token` query parameter).
fn bearer(parts: &Parts) -> Result<String, ApiError> {
    let header = parts
        .headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::trim);
    let token = match header {
        Some(h) => h
            .strip_prefix("Bearer ")
            .or_else(|| h.strip_prefix("bearer "))
            .map(str::trim)
            .ok_or_else(|| ApiError::Unauthorized("Authorization must be a Bearer token".into()))?
            .to_owned(),
        None if parts.headers.contains_key(UPGRADE) => query_token(parts.uri.query())
            .ok_or_else(|| ApiError::Unauthorized("missing bearer token".into()))?,
        None => return Err(ApiError::Unauthorized("missing bearer token".into())),
    };
    Ok(token)
}

fn query_token(query: Option<&str>) -> Option<String> {
    url::form_urlencoded::parse(query?.as_bytes())
        .find(|(k, _)| k == "token")
        .map(|(_, v)| v.into_owned())
}

/// Who the request's token speaks for; 401 when there is none or it is invalid.
fn principal(parts: &Parts, state: &AppState) -> Result<Principal, ApiError> {
    state
        .jwt
        .verify_principal(&bearer(parts)?)
        .map_err(|e| ApiError::Unauthorized(e.to_string()))
}

impl FromRequestParts<AppState> for Tenant {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let principal = principal(parts, state)?;
        // Operator tokens see the fleet, never a tenant's data.
        if principal.operator {
            return Err(ApiError::Unauthorized(
                "operator tokens cannot act as a tenant".into(),
            ));
        }
        Ok(Tenant(principal.subject))
    }
}

impl FromRequestParts<AppState> for Operator {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let principal = principal(parts, state)?;
        if !principal.operator {
            // Tenants must not learn the route exists.
            return Err(ApiError::RouteNotFound);
        }
        Ok(Operator(principal.subject))
    }
}
