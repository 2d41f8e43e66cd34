//! Live, rebuildable stream state in Redis: the reports nodes write, read back for the API.
//!
//! Losing Redis loses nothing here: nodes rewrite their reports every second, and without a
//! report the status is derived from the desired state in Postgres.

use redis::AsyncCommands;
use shared::spec::DesiredState;
use shared::status::{LiveReport, OutputStatus, StreamMetrics, StreamState, StreamStatus};
use shared::tenant_text::{mask_output_url, redact};

use crate::db::streams::StreamRow;
use crate::db::unix_ms;
use crate::ids::{NodeId, StreamId};
use crate::state::AppState;

pub use shared::node_api::report_key;

/// The latest report for the stream; unreadable or absent reports read as none.
pub async fn report(
    state: &AppState,
    stream_id: StreamId,
) -> Result<Option<LiveReport>, redis::RedisError> {
    let mut conn = state.redis.clone();
    let raw: Option<String> = conn.get(report_key(state.ns(), stream_id.get())).await?;
    Ok(raw.and_then(|s| match serde_json::from_str(&s) {
        Ok(r) => Some(r),
        Err(e) => {
            tracing::warn!(%stream_id, error = %e, "ignoring unreadable live report");
            None
        }
    }))
}

/// The stream's status now. Redis being away degrades it to what Postgres knows; it never
/// fails the request.
pub async fn status(state: &AppState, row: &StreamRow) -> StreamStatus {
    let report = report(state, row.id).await.unwrap_or_else(|e| {
        tracing::warn!(stream_id = %row.id, error = %e, "live state unavailable");
        None
    });
    compose_status(row, report.as_ref())
}

/// Combines what the tenant asked for with what the node last reported.
pub fn compose_status(row: &StreamRow, report: Option<&LiveReport>) -> StreamStatus {
    let desired = row.desired();
    // Only the lease holder's report counts: a fenced node may have written one last report
    // after losing the stream, and it must not show as the stream's state.
    let holder = row.node_id.as_ref().map(NodeId::as_str);
    let report =
        report.filter(|r| desired == DesiredState::Stopped || r.node_id.as_deref() == holder);
    let state = match (desired, report) {
        (DesiredState::Stopped, Some(r)) if r.state != StreamState::Idle => StreamState::Stopping,
        (DesiredState::Stopped, _) => StreamState::Idle,
        (_, Some(r)) => r.state,
        (_, None) if row.failure_reason.is_some() => StreamState::Failed,
        (_, None) => StreamState::Queued,
    };
    let live = report.filter(|_| desired.is_on_air());
    StreamStatus {
        stream_id: row.id.get(),
        is_live: matches!(state, StreamState::Live | StreamState::Paused),
        is_paused: desired == DesiredState::Paused,
        fps: live.map_or(0.0, |r| r.fps),
        frame_count: live.map_or(0, |r| r.frame_count),
        dropped_frames: live.map_or(0, |r| r.dropped_frames),
        average_render_time: live.map_or(0.0, |r| r.average_render_time),
        start_time: live
            .and_then(|r| r.start_time)
            .or_else(|| row.started_at.filter(|_| desired.is_on_air()).map(unix_ms)),
        state,
        node_id: live.and_then(|r| r.node_id.clone()),
        reason: report
            .and_then(|r| r.reason.as_deref())
            .or_else(|| {
                row.failure_reason
                    .as_deref()
                    .filter(|_| desired.is_on_air())
            })
            .map(redact),
        outputs: live.map_or_else(Vec::new, |r| {
            r.outputs
                .iter()
                .map(|o| OutputStatus {
                    url: mask_output_url(&o.url),
                    state: o.state,
                    error: o.error.as_deref().map(redact),
                })
                .collect()
        }),
        layer_sources: live.map_or_else(Vec::new, |r| r.layer_sources.clone()),
        version: row.version,
    }
}

/// The seed's metrics from a report (zeros when nothing runs).
pub fn metrics(report: Option<&LiveReport>) -> StreamMetrics {
    report.map_or_else(StreamMetrics::default, |r| StreamMetrics {
        fps: r.fps,
        bitrate: r.bitrate,
        dropped_frames: r.dropped_frames,
        viewer_count: r.viewer_count,
        cpu_usage: r.cpu_usage,
        memory_usage: r.memory_usage,
    })
}
