//! The node's own HTTP endpoint (`METRICS_ADDR`): Prometheus metrics, a health probe, and a
//! JPEG snapshot of any stream it runs (the control plane proxies it as the tenant's preview).

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::fleet::worker::Node;

/// Installs the process's Prometheus recorder (once).
pub fn install_metrics() -> Option<PrometheusHandle> {
    let recorder = PrometheusBuilder::new().build_recorder();
    let handle = recorder.handle();
    metrics::set_global_recorder(recorder).ok()?;
    Some(handle)
}

#[derive(Clone)]
struct HttpState {
    node: Arc<Node>,
    metrics: Option<PrometheusHandle>,
}

/// Serves until `token` is cancelled; a bind failure is logged and the node runs without it.
pub async fn serve(node: Arc<Node>, metrics: Option<PrometheusHandle>, token: CancellationToken) {
    let addr = node.cfg.metrics_addr;
    let listener = match TcpListener::bind(addr).await {
        Ok(l) => l,
        Err(e) => {
            tracing::error!(%addr, error = %e, "cannot serve metrics and snapshots");
            return;
        }
    };
    let app = Router::new()
        .route("/metrics", get(prometheus))
        .route("/healthz", get(|| async { "ok" }))
        .route("/streams/{id}/snapshot.jpg", get(snapshot))
        .route("/internal/feeds/{keyId}", get(feed))
        .with_state(HttpState { node, metrics });
    tracing::info!(%addr, "node http listening");
    let served = axum::serve(listener, app)
        .with_graceful_shutdown(async move { token.cancelled().await })
        .await;
    if let Err(e) = served {
        tracing::error!(error = %e, "node http failed");
    }
}

async fn prometheus(State(s): State<HttpState>) -> Response {
    match &s.metrics {
        Some(h) => h.render().into_response(),
        None => (
            StatusCode::SERVICE_UNAVAILABLE,
            "metrics recorder not installed",
        )
            .into_response(),
    }
}

/// `?sig=`: the feed's signature under `NODE_SECRET`.
#[derive(serde::Deserialize)]
struct FeedQuery {
    #[serde(default)]
    sig: String,
}

/// A feed published to this node, relayed as FLV to the node whose stream shows it.
async fn feed(
    State(s): State<HttpState>,
    Path(id): Path<String>,
    Query(q): Query<FeedQuery>,
) -> Response {
    let Ok(key_id) = Uuid::parse_str(&id) else {
        return (StatusCode::NOT_FOUND, "no such feed").into_response();
    };
    let want = shared::node_api::feed_signature(&s.node.cfg.node_secret, key_id);
    if !shared::node_api::same_secret(want.as_bytes(), q.sig.as_bytes()) {
        return (StatusCode::FORBIDDEN, "bad signature").into_response();
    }
    let Some(sub) = s.node.ingest.hub.subscribe(key_id) else {
        return (StatusCode::NOT_FOUND, "no such feed on this node").into_response();
    };
    tracing::info!(%key_id, "relaying a feed to another node");
    (
        [
            (header::CONTENT_TYPE, "video/x-flv"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        Body::from_stream(crate::ingest::relay::flv_bytes(sub)),
    )
        .into_response()
}

async fn snapshot(State(s): State<HttpState>, Path(id): Path<String>) -> Response {
    let Some(held) = Uuid::parse_str(&id).ok().and_then(|id| s.node.held.get(id)) else {
        return (StatusCode::NOT_FOUND, "no such stream on this node").into_response();
    };
    let jpeg = tokio::task::spawn_blocking(move || held.handle.snapshot_jpeg(80)).await;
    match jpeg {
        Ok(Ok(Some(bytes))) => (
            [
                (header::CONTENT_TYPE, "image/jpeg"),
                (header::CACHE_CONTROL, "no-store"),
            ],
            bytes,
        )
            .into_response(),
        _ => (StatusCode::SERVICE_UNAVAILABLE, "no frame yet").into_response(),
    }
}
