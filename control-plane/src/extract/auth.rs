//! Who a request speaks for: the tenant or operator its bearer token names. A tenant's
//! request also spends from its request budget (`QUOTA_REQUESTS_PER_SECOND`).

use axum::extract::{FromRequestParts, MatchedPath};
use axum::http::header::{AUTHORIZATION, UPGRADE};
use axum::http::request::Parts;

use crate::auth::Principal;
use crate::error::ApiError;
use crate::state::AppState;

/// The tenant a valid bearer token names. Browsers cannot set headers on WebSockets, so the
/// events socket (and only it) may carry the token as a `token` query parameter instead.
pub struct Tenant(pub String);

/// When the request's token expires (Unix seconds), left in the request's extensions by
/// the token's check for handlers that outlive the request (the events socket).
#[derive(Debug, Clone, Copy)]
pub struct TokenExpiry(pub u64);

/// A fleet operator (a token with `role: operator`).
pub struct Operator(pub String);

/// Whether the request is for the events socket, the one route that may take `?token=`: a
/// token in a URL ends up in proxies' and browsers' logs, so no other route accepts one.
fn is_events_socket(parts: &Parts) -> bool {
    parts.headers.contains_key(UPGRADE)
        && parts
            .extensions
            .get::<MatchedPath>()
            .is_some_and(|p| p.as_str().ends_with(crate::routes::events::EVENTS_PATH))
}

/// The bearer token of a request (or, for the events socket, its `token` query parameter).
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
        None if is_events_socket(parts) => query_token(parts.uri.query())
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
fn principal(parts: &mut Parts, state: &AppState) -> Result<Principal, ApiError> {
    let principal = state
        .jwt
        .verify_principal(&bearer(parts)?)
        .map_err(|e| ApiError::Unauthorized(e.to_string()))?;
    parts.extensions.insert(TokenExpiry(principal.expires_at));
    Ok(principal)
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
        crate::limits::rate::spend(state, &principal.subject, state.config.quotas.requests())
            .await?;
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
