//! Request extractors that speak our error envelope: JSON bodies, path ids, the
//! authenticated tenant and the stream a request is about.

use std::collections::HashMap;

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::header::{AUTHORIZATION, UPGRADE};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use uuid::Uuid;

use crate::auth::Principal;
use crate::db::streams::{self, StreamRow};
use crate::error::ApiError;
use crate::routes::strip_position;
use crate::state::AppState;
use crate::streams::ensure_default_stream;

/// `axum::Json` whose rejections become 400/413/415/422 envelopes.
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(ApiJson(v)),
            Err(JsonRejection::JsonDataError(e)) => Err(data_error(&e.body_text())),
            Err(JsonRejection::JsonSyntaxError(e)) => Err(ApiError::BadRequest(format!(
                "malformed JSON: {}",
                e.body_text()
                    .trim_start_matches("Failed to parse the request body as JSON: ")
            ))),
            Err(JsonRejection::MissingJsonContentType(_)) => Err(ApiError::UnsupportedMediaType(
                "expected a body with Content-Type: application/json".into(),
            )),
            Err(JsonRejection::BytesRejection(e)) => {
                if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                    Err(ApiError::PayloadTooLarge { limit: 0 })
                } else {
                    Err(ApiError::BadRequest(e.body_text()))
                }
            }
            Err(e) => Err(ApiError::BadRequest(e.body_text())),
        }
    }
}

/// Turns serde's `field.path: message at line L column C` into a 422 naming the field.
fn data_error(text: &str) -> ApiError {
    let text = text
        .trim_start_matches("Failed to deserialize the JSON body into the target type: ")
        .to_owned();
    // serde_path_to_error renders the path first, then ": ".
    match text.split_once(": ") {
        Some((path, msg)) if !path.contains(' ') && path != "." => {
            ApiError::invalid(path, strip_position(msg))
        }
        _ => {
            let field = text
                .split('`')
                .nth(1)
                .filter(|_| text.starts_with("missing field") || text.starts_with("unknown field"))
                .unwrap_or("body");
            ApiError::invalid(field, strip_position(&text))
        }
    }
}

/// The tenant a valid bearer token names. Browsers cannot set headers on WebSockets, so a
/// WebSocket upgrade may carry the token as a `token` query parameter instead.
pub struct Tenant(pub String);

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

/// A fleet operator (a token with `role: operator`).
pub struct Operator(pub String);

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

fn query_token(query: Option<&str>) -> Option<String> {
    url::form_urlencoded::parse(query?.as_bytes())
        .find(|(k, _)| k == "token")
        .map(|(_, v)| v.into_owned())
}

/// Path parameters by name, parsed as ids on demand; a malformed id is a 404, since no
/// resource can have it.
pub struct PathIds(HashMap<String, String>);

impl PathIds {
    /// The id in parameter `name`, or 404 naming `what`.
    pub fn id(&self, name: &str, what: &'static str) -> Result<Uuid, ApiError> {
        self.0
            .get(name)
            .and_then(|v| Uuid::parse_str(v).ok())
            .ok_or(ApiError::NotFound(what))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for PathIds {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Path(map) = Path::<HashMap<String, String>>::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::RouteNotFound)?;
        Ok(PathIds(map))
    }
}

/// The authenticated tenant and the stream the path names: `/streams/{streamId}/…` or, for
/// `/stream/…`, the tenant's default stream (created on first use).
pub struct TenantStream {
    pub tenant: String,
    pub stream: StreamRow,
}

impl TenantStream {
    /// Locks the stream's row for the rest of the transaction, so concurrent changes to one
    /// stream apply one after the other; returns its current state.
    pub async fn lock(&self, tx: &mut sqlx::PgConnection) -> Result<StreamRow, ApiError> {
        streams::lock(&mut *tx, &self.tenant, self.stream.id)
            .await?
            .ok_or(ApiError::NotFound("stream"))
    }
}

impl FromRequestParts<AppState> for TenantStream {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let Tenant(tenant) = Tenant::from_request_parts(parts, state).await?;
        let ids = PathIds::from_request_parts(parts, state).await.ok();
        let stream = match ids.as_ref().filter(|ids| ids.0.contains_key("streamId")) {
            Some(ids) => {
                let id = ids.id("streamId", "stream")?;
                streams::find(&state.db, &tenant, id)
                    .await?
                    .ok_or(ApiError::NotFound("stream"))?
            }
            None => ensure_default_stream(state, &tenant).await?,
        };
        tracing::Span::current().record("stream_id", tracing::field::display(stream.id));
        Ok(TenantStream { tenant, stream })
    }
}
