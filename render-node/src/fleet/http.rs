//! The node's own HTTP endpoint (`METRICS_ADDR`): Prometheus metrics, a health probe, a
//! JPEG snapshot of any stream it runs (the control plane proxies it as the tenant's
//! preview), and the routes of the node's other apps (ingest's feed relay, WHIP publishing).

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use secrecy::ExposeSecret;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::exposition;
use super::node::Node;

/// Serves until `token` is cancelled; a bind failure is logged and the node runs without it.
pub async fn serve(node: Arc<Node>, token: CancellationToken) {
    let addr = node.links.cfg.metrics_addr;
    let listener = match TcpListener::bind(addr).await {
        Ok(l) => l,
        Err(e) => {
            tracing::error!(%addr, error = %e, "cannot serve metrics and snapshots");
            return;
        }
    };
    let mut app = Router::new()
        .route("/metrics", get(prometheus))
        .route("/healthz", get(|| async { "ok" }))
        .route(shared::node_api::paths::SNAPSHOT, get(snapshot))
        .with_state(node.clone());
    if let Some(ingest) = &node.ingest {
        app = app.merge(crate::ingest::relay::router(ingest.clone()));
        app = app.merge(crate::ingest::whip::router(ingest.clone()));
    }
    tracing::info!(%addr, "node http listening");
    let served = axum::serve(
        listener,
        app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(async move { token.cancelled().await })
    .await;
    if let Err(e) = served {
        tracing::error!(error = %e, "node http failed");
    }
}

async fn prometheus(State(node): State<Arc<Node>>, headers: HeaderMap) -> String {
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let authorized = exposition::authorized(node.links.cfg.metrics_token.as_ref(), given);
    exposition::render(&node, authorized)
}

/// `?expires=&sig=` of a snapshot URL (`shared::node_api::paths::snapshot_url`).
#[derive(Debug, serde::Deserialize)]
struct SnapshotQuery {
    expires: i64,
    sig: String,
}

/// Only a URL the control plane signed for this stream, unexpired, gets its frame: the
/// picture is the tenant's programme. Anything else is the same 404 as an unknown stream,
/// so the endpoint does not tell which streams the node holds.
async fn snapshot(
    State(node): State<Arc<Node>>,
    Path(id): Path<String>,
    query: Result<Query<SnapshotQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let not_found = || (StatusCode::NOT_FOUND, "no such stream on this node").into_response();
    let Ok(id) = Uuid::parse_str(&id) else {
        return not_found();
    };
    let granted = query.is_ok_and(|Query(q)| {
        shared::node_api::StreamGrant::Snapshot.allows(
            node.links.cfg.node_secret.expose_secret(),
            id,
            q.expires,
            &q.sig,
            shared::node_api::signing::unix_now_secs(),
        )
    });
    let Some(held) = node.held.get(id).filter(|_| granted) else {
        return not_found();
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
