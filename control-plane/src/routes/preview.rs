//! `GET /stream/preview.jpg`: a JPEG of the stream's current output frame, fetched from the
//! render node that holds the stream.

use std::time::Duration;

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use redis::AsyncCommands;
use secrecy::ExposeSecret;
use shared::node_api::{NodeInfo, node_key};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::{ApiError, ErrorEnvelope};
use crate::extract::TenantStream;
use crate::state::AppState;

/// Routes of this resource.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(preview))
}

/// The current output frame as JPEG (404 while the stream is not on a node).
#[utoipa::path(get, path = "/preview.jpg", tag = "lifecycle",
    responses((status = 200, content_type = "image/jpeg", body = Vec<u8>),
              (status = 404, body = ErrorEnvelope), (status = 503, body = ErrorEnvelope)))]
async fn preview(State(state): State<AppState>, ctx: TenantStream) -> Result<Response, ApiError> {
    let node = ctx
        .stream
        .node_id
        .as_ref()
        .ok_or(ApiError::NotFound("preview"))?;
    let mut conn = state.redis.clone();
    let raw: Option<String> = conn.get(node_key(state.ns(), node.as_str())).await?;
    let info: NodeInfo = raw
        .and_then(|r| serde_json::from_str(&r).ok())
        .ok_or(ApiError::NotFound("preview"))?;
    // The node serves snapshots only to signed URLs: without NODE_SECRET there is no preview.
    let secret = state
        .config
        .node_secret
        .as_ref()
        .ok_or(ApiError::NotFound("preview"))?;
    let url = shared::node_api::paths::snapshot_url(
        &info.http_addr,
        ctx.stream.id.get(),
        secret.expose_secret(),
        shared::node_api::signing::unix_now_secs(),
    );
    let resp = state
        .http
        .get(url)
        .timeout(Duration::from_secs(2))
        .send()
        .await
        .map_err(|e| {
            tracing::warn!(node_id = %node, error = %e, "render node did not answer the snapshot");
            ApiError::Unavailable("the render node")
        })?;
    if !resp.status().is_success() {
        return Err(ApiError::NotFound("preview"));
    }
    let bytes = resp
        .bytes()
        .await
        .map_err(|_| ApiError::Unavailable("the render node"))?;
    Ok((
        [
            (header::CONTENT_TYPE, "image/jpeg"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        bytes,
    )
        .into_response())
}
