//! The HTTP API: one file per resource, each with its own router, merged here with the
//! layers every request goes through (metrics, tracing, body limit, error envelope).
//!
//! Tenant resources, under `/stream/…` and `/streams/{streamId}/…`: [`lifecycle`] (status,
//! metrics, start/stop/pause/resume), [`config`], [`layers`], [`scenes`], [`keys`],
//! [`assets`], [`preview`] and [`events`] (the WebSocket); [`streams`] lists, creates and
//! deletes streams; [`webhooks`] (the tenant's, not a stream's) registers endpoints for
//! stream events and shows their delivery log. For operators and machines: [`nodes`] (the fleet), [`internal`] (the
//! render nodes' API), [`health`] (probes and Prometheus), [`openapi`] (the document), and
//! [`dashboard`] (the web UI at `/`).
//!
//! Handlers look alike on purpose (`duplicates` pairs their signatures and `utoipa::path`
//! attributes): each names its own extractors, body type and documented answers, because
//! the OpenAPI document is generated from exactly those lines and a shared macro would hide
//! what each operation accepts and answers.

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
pub mod webhooks;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::Request;
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
        .merge(webhooks::router())
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
