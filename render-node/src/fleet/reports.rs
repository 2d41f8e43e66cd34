//! Every second: each stream's report and the node's heartbeat into Redis, `metrics:update`
//! (and `stream:status` on changes) for tenants, the node's gauges, and the control plane
//! told when a stream went live — or, when it cannot run, that it failed and why.

use std::sync::Arc;

use futures_util::StreamExt;
use serde_json::json;
use shared::events::EventType;
use shared::node_api::Release;
use shared::node_api::keys::REFRESH_EVERY;
use shared::status::StreamState;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::held::HeldStream;
use super::node::Node;
use crate::system::memory::MemoryUse;
use crate::system::process::CpuMeter;

/// Streams whose reports are written at once (each is two or three Redis commands).
const REPORTS_IN_FLIGHT: usize = 64;

/// Writes the reports and the heartbeat every second until `token` is cancelled.
pub(crate) async fn report_loop(node: Arc<Node>, token: CancellationToken) {
    let mut tick = tokio::time::interval(REFRESH_EVERY);
    // The node with its stream processes: admission predicts from what the streams cost.
    let mut cpu = CpuMeter::start_tree();
    while !token.is_cancelled() {
        tokio::select! {
            _ = token.cancelled() => return,
            _ = tick.tick() => {}
        }
        let memory = MemoryUse::measure();
        node.measured(cpu.sample().map(|cores| cores * 100.0), memory);
        // All streams' writes at once: the connection is multiplexed, so concurrent
        // commands share its socket writes (pipelined) instead of costing one round trip
        // each, one stream after another — a tick stays short with many streams or a
        // slow Redis.
        let held = node.held.all();
        futures_util::stream::iter(held)
            .for_each_concurrent(REPORTS_IN_FLIGHT, |(id, held)| {
                let node = &node;
                async move { report_stream(node, id, &held).await }
            })
            .await;
        let info = node.info();
        let g = &node.gauges;
        g.capacity.set(info.capacity as f64);
        g.streams.set(info.streams as f64);
        g.free_slots.set(node.free_slots() as f64);
        g.accepting.set(if info.accepting { 1.0 } else { 0.0 });
        g.cpu_usage_ratio.set(info.cpu_usage / 100.0);
        g.resident_memory_bytes.set(info.memory_usage as f64);
        if let Some(m) = node.memory() {
            g.memory_usage_ratio.set(m.percent() / 100.0);
        }
        node.links.live.heartbeat(&info).await;
    }
}

/// Writes one stream's report, publishes its metrics (and its status when it changed), and
/// tells the control plane once it is live. A stream that failed is given up.
pub(crate) async fn report_stream(node: &Arc<Node>, id: Uuid, held: &HeldStream) {
    let live = &node.links.live;
    let mut report = held.handle.report();
    report.node_id = Some(node.id().to_owned());
    if report.state == StreamState::Failed {
        let reason = report
            .reason
            .clone()
            .unwrap_or_else(|| "the pipeline failed".into());
        node.held.remove(id);
        live.clear_report(id).await;
        give_up(node, id, &held.tenant, held.epoch, &reason).await;
        return;
    }
    live.write_report(id, &report).await;
    let changed = held.reported(&report);
    let metrics = json!({
        "fps": report.fps, "bitrate": report.bitrate, "dropped": report.dropped_frames,
        "droppedFrames": report.dropped_frames, "frameCount": report.frame_count,
        "averageRenderTime": report.average_render_time, "encoderLatency": report.encoder_latency_ms,
        "cpu": report.cpu_usage, "memory": report.memory_usage,
    });
    live.publish(&held.tenant, id, EventType::MetricsUpdate, metrics)
        .await;
    if changed {
        let data = serde_json::to_value(&report).unwrap_or_default();
        live.publish(&held.tenant, id, EventType::StreamStatus, data)
            .await;
    }
    if report.state == StreamState::Live && held.needs_live_announcement() {
        match node.links.control.live(id, held.epoch).await {
            Ok(Ok(())) => held.announced(),
            Ok(Err(_)) => tracing::warn!(stream_id = %id, "lease lost before going live"),
            Err(e) => tracing::warn!(stream_id = %id, error = %e, "live not recorded yet"),
        }
    }
}

/// Reports a stream this node could not run: it is marked failed with the reason.
pub(crate) async fn give_up(
    node: &Arc<Node>,
    stream_id: Uuid,
    tenant: &str,
    epoch: i64,
    reason: &str,
) {
    tracing::error!(%stream_id, %tenant, %reason, "cannot run the stream");
    let release = Release {
        epoch,
        failure: Some(reason.to_owned()),
        handoff: false,
    };
    if let Err(e) = node.links.control.release(stream_id, &release).await {
        tracing::warn!(%stream_id, error = %e, "release not recorded; the lease will lapse");
    }
}
