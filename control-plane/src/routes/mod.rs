//! The HTTP API: one file per resource, each with its own router, merged here with the
//! layers every request goes through (metrics, tracing, body limit, error envelope).

pub mod assets;
pub mod config;
pub mod dashboard;
pub mod events;
pub mod health;
pub mod internal;
pub mod keys;
pub mod layers;
pub mod lifecycle;
pub mod nodes;
pub mod openapi;
pub mod preview;
pub mod scenes;
pub mod streams;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::Request;
use serde::de::DeserializeOwned;
use shared::trace_context::TraceContext;
use tower_http::trace::TraceLayer;
use utoipa_axum::router::OpenApiRouter;

use crate::error::ApiError;
use crate::state::AppState;

/// The sub-paths that act on one stream, mounted under `/stream` and `/streams/{streamId}`.
fn stream_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(lifecycle::router())
        .merge(config::router())
        .merge(keys::router())
        .merge(layers::router())
        .merge(scenes::router())
        .merge(assets::router())
        .merge(preview::router())
}

/// The whole API with its OpenAPI document.
pub fn router(state: AppState) -> Router {
    let (api, doc) = OpenApiRouter::with_openapi(openapi::base())
        .nest("/stream", stream_routes())
        .nest("/streams/{streamId}", stream_routes())
        .merge(streams::router())
        .split_for_parts();
    let doc = openapi::finish(doc);
    let max_body = state.config.max_body_bytes;
    api.nest("/stream", events::router())
        .nest("/streams/{streamId}", events::router())
        .merge(health::router())
        .merge(internal::router())
        .merge(nodes::router())
        .merge(dashboard::router())
        .merge(openapi::router(doc))
        .fallback(|| async { ApiError::RouteNotFound })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .layer(DefaultBodyLimit::max(max_body))
        .layer(axum::middleware::from_fn(crate::metrics::track))
        .layer(TraceLayer::new_for_http().make_span_with(request_span))
        .with_state(state)
}

/// The span of one request; a client's `traceparent` header makes it a child of the
/// client's span, so the client's trace goes on through us.
fn request_span<B>(req: &Request<B>) -> tracing::Span {
    let span = tracing::info_span!("request", method = %req.method(), uri = %req.uri().path(), stream_id = tracing::field::Empty);
    let header = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok());
    if let Some(parent) = TraceContext::from_fields(header) {
        parent.adopt(&span);
    }
    span
}

/// Parses a JSON body given as bytes (for bodies that may be empty), naming the bad field.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if inner.is_syntax() || inner.is_eof() {
            ApiError::BadRequest(format!("malformed JSON: {inner}"))
        } else {
            let field = if path == "." { "body".to_owned() } else { path };
            ApiError::invalid(field, strip_position(&inner.to_string()))
        }
    })
}

/// Reads a JSON value as `T`, naming the bad field (for merged documents such as config).
pub fn from_value<T: DeserializeOwned>(value: serde_json::Value) -> Result<T, ApiError> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let field = if path == "." { "body".to_owned() } else { path };
        ApiError::invalid(field, strip_position(&e.into_inner().to_string()))
    })
}

/// Drops serde's ` at line L column C` suffix, meaningless to an API client.
pub(crate) fn strip_position(msg: &str) -> String {
    match msg.rfind(" at line ") {
        Some(i) => msg[..i].to_owned(),
        None => msg.to_owned(),
    }
}
