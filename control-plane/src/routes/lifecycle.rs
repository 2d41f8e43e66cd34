//! `/status`, `/metrics`, `/start`, `/stop`, `/pause`, `/resume`: a stream's life.

use axum::extract::State;
use shared::spec::DesiredState;
use shared::status::{StreamMetrics, StreamStatus};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::dispatch::write::StreamWrite;
use crate::error::{ApiError, ErrorEnvelope};
use crate::extract::TenantStream;
use crate::limits::quotas::{Counted, reserve};
use crate::live;
use crate::response::{ApiResult, ok};
use crate::state::AppState;

/// Routes of this resource.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(status))
        .routes(routes!(stream_metrics))
        .routes(routes!(start))
        .routes(routes!(stop))
        .routes(routes!(pause))
        .routes(routes!(resume))
}

/// Moves the stream to `to` and answers its status; a repeat is a no-op.
async fn change_state(
    state: &AppState,
    ctx: TenantStream,
    to: DesiredState,
    allowed_from: &[DesiredState],
) -> ApiResult<StreamStatus> {
    let mut write = StreamWrite::begin(state, &ctx.tenant, ctx.stream.id).await?;
    let from = write.row().desired();
    if from != to && !allowed_from.contains(&from) {
        return Err(ApiError::conflict(
            "stream_not_live",
            format!("the stream is {}", from.as_str()),
        ));
    }
    if to.is_on_air() && !from.is_on_air() {
        reserve(
            write.conn(),
            &state.config.quotas,
            &ctx.tenant,
            Counted::RunningStreams,
        )
        .await?;
    }
    ok(write.commit_transition(to).await?)
}

/// The stream's state and live render figures.
#[utoipa::path(get, path = "/status", tag = "lifecycle",
    responses((status = 200, body = StreamStatus), (status = 401, body = ErrorEnvelope)))]
async fn status(State(state): State<AppState>, ctx: TenantStream) -> ApiResult<StreamStatus> {
    ok(live::status(&state, &ctx.stream).await)
}

/// The seed's metrics: fps, bitrate, dropped frames, viewers, CPU and memory.
#[utoipa::path(get, path = "/metrics", tag = "lifecycle",
    responses((status = 200, body = StreamMetrics), (status = 401, body = ErrorEnvelope)))]
async fn stream_metrics(
    State(state): State<AppState>,
    ctx: TenantStream,
) -> ApiResult<StreamMetrics> {
    let report = if ctx.stream.desired().is_on_air() {
        live::report(&state, ctx.stream.id).await.unwrap_or(None)
    } else {
        None
    };
    ok(live::metrics(report.as_ref()))
}

/// Starts the stream (queued until a render node takes it). Starting a started stream
/// answers its current state.
#[utoipa::path(post, path = "/start", tag = "lifecycle",
    responses((status = 200, body = StreamStatus), (status = 401, body = ErrorEnvelope)))]
async fn start(State(state): State<AppState>, ctx: TenantStream) -> ApiResult<StreamStatus> {
    if ctx.stream.desired().is_on_air() {
        return ok(live::status(&state, &ctx.stream).await);
    }
    change_state(&state, ctx, DesiredState::Running, &[DesiredState::Stopped]).await
}

/// Stops the stream; the node ends the RTMP connection cleanly. Idempotent.
#[utoipa::path(post, path = "/stop", tag = "lifecycle",
    responses((status = 200, body = StreamStatus), (status = 401, body = ErrorEnvelope)))]
async fn stop(State(state): State<AppState>, ctx: TenantStream) -> ApiResult<StreamStatus> {
    change_state(
        &state,
        ctx,
        DesiredState::Stopped,
        &[DesiredState::Running, DesiredState::Paused],
    )
    .await
}

/// Holds the last frame while keeping the RTMP connection.
#[utoipa::path(post, path = "/pause", tag = "lifecycle",
    responses((status = 200, body = StreamStatus), (status = 409, body = ErrorEnvelope)))]
async fn pause(State(state): State<AppState>, ctx: TenantStream) -> ApiResult<StreamStatus> {
    change_state(&state, ctx, DesiredState::Paused, &[DesiredState::Running]).await
}

/// Continues a paused stream.
#[utoipa::path(post, path = "/resume", tag = "lifecycle",
    responses((status = 200, body = StreamStatus), (status = 409, body = ErrorEnvelope)))]
async fn resume(State(state): State<AppState>, ctx: TenantStream) -> ApiResult<StreamStatus> {
    change_state(&state, ctx, DesiredState::Running, &[DesiredState::Paused]).await
}
