//! The stream's programme as its node shows it: `GET /stream/preview.jpg`, a JPEG of the
//! current output frame fetched from the render node that holds the stream, and
//! `GET /stream/preview/rtsp`, a signed, expiring URL of the node's live RTSP preview.

use std::time::Duration;

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use redis::AsyncCommands;
use secrecy::ExposeSecret;
use serde::Serialize;
use shared::node_api::{NodeInfo, node_key};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::{ApiError, ErrorEnvelope};
use crate::extract::TenantStream;
use crate::response::{ApiResult, ok};
use crate::state::AppState;

/// Routes of this resource.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(preview))
        .routes(routes!(rtsp_preview))
}

/// The node holding the stream, as its heartbeat describes it, and the secret that signs
/// grants on it; 404 while the stream is not on a node (or without `NODE_SECRET`, when
/// nodes serve no previews).
async fn holding_node(
    state: &AppState,
    ctx: &TenantStream,
) -> Result<(NodeInfo, secrecy::SecretString), ApiError> {
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
    let secret = state
        .config
        .node_secret
        .clone()
        .ok_or(ApiError::NotFound("preview"))?;
    Ok((info, secret))
}

/// A signed RTSP preview URL.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RtspPreview {
    /// `rtsp://EXPIRY:SIGNATURE@NODE:PORT/STREAM_ID`: the grant is the URL's credentials,
    /// which players send when the node challenges them. The node's address is reachable
    /// where the network lets it (inside the fleet's VPC in the Terraform deployment).
    url: String,
    /// Unix seconds until which a player may start watching with it (a session that is
    /// playing goes on).
    expires_at: i64,
}

/// A URL of the stream's live RTSP preview on its node, good for five minutes (404 while
/// the stream is not on a node).
#[utoipa::path(get, path = "/preview/rtsp", tag = "lifecycle",
    responses((status = 200, body = RtspPreview),
              (status = 404, body = ErrorEnvelope)))]
async fn rtsp_preview(State(state): State<AppState>, ctx: TenantStream) -> ApiResult<RtspPreview> {
    let (info, secret) = holding_node(&state, &ctx).await?;
    if info.rtsp_addr.is_empty() {
        return Err(ApiError::NotFound("preview"));
    }
    let now = shared::node_api::signing::unix_now_secs();
    ok(RtspPreview {
        url: shared::node_api::paths::rtsp_preview_url(
            &info.rtsp_addr,
            ctx.stream.id.get(),
            secret.expose_secret(),
            now,
        ),
        expires_at: now + shared::node_api::StreamGrant::RtspPreview.ttl_secs(),
    })
}

/// The current output frame as JPEG (404 while the stream is not on a node).
#[utoipa::path(get, path = "/preview.jpg", tag = "lifecycle",
    responses((status = 200, content_type = "image/jpeg", body = Vec<u8>),
              (status = 404, body = ErrorEnvelope), (status = 503, body = ErrorEnvelope)))]
async fn preview(State(state): State<AppState>, ctx: TenantStream) -> Result<Response, ApiError> {
    let (info, secret) = holding_node(&state, &ctx).await?;
    let node = &info.node_id;
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
