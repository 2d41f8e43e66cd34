//! A stream's life on this node: started after its claim, changed by newer specs, and
//! stopped — by its tenant, handed to another node, fenced, or given up when it cannot run.

use std::sync::{Arc, Weak};
use std::time::Instant;

use serde_json::json;
use shared::events::EventType;
use shared::node_api::Release;
use shared::spec::StreamSpec;
use shared::status::StreamState;
use tokio::sync::broadcast;
use uuid::Uuid;

use super::held::HeldStream;
use super::node::Node;
use super::reports::{give_up, report_stream};
use crate::engine::NodeEvent;

/// Starts a claimed stream; `claim_ms` (how long the claim took) goes into the log line that
/// times the start's stages.
pub(crate) async fn start_stream(node: &Arc<Node>, spec: StreamSpec, epoch: i64, claim_ms: u64) {
    let stream_id = spec.stream_id;
    let tenant = spec.tenant_id.clone();
    let engine = node.engine.clone();
    let t0 = Instant::now();
    let started = tokio::task::spawn_blocking(move || engine.start(&spec)).await;
    let pipeline_ms = t0.elapsed().as_millis() as u64;
    let handle = match started {
        Ok(Ok(h)) => h,
        Ok(Err(e)) => return give_up(node, stream_id, &tenant, epoch, &e.to_string()).await,
        Err(e) => {
            let reason = format!("start panicked: {e}");
            return give_up(node, stream_id, &tenant, epoch, &reason).await;
        }
    };
    let events = handle.events();
    let held = node
        .held
        .insert(stream_id, HeldStream::new(handle, tenant.clone(), epoch));
    tracing::info!(%stream_id, %tenant, epoch, claim_ms, pipeline_ms, "stream started");
    let mut report = held.handle.report();
    report.node_id = Some(node.id().to_owned());
    node.links.live.write_report(stream_id, &report).await;
    // Subscribed before this check: a stream live already is reported here, a later one
    // on its `Live` event.
    if report.state == StreamState::Live {
        report_stream(node, stream_id, &held).await;
    }
    node.forwarders.spawn(forward_events(
        node.clone(),
        stream_id,
        Arc::downgrade(&held),
        tenant,
        events,
    ));
}

/// Turns a stream's errors into `stream:error` events and its layers' rung switches into
/// `layer:source` events for its tenant, and reports the stream the moment it goes live.
async fn forward_events(
    node: Arc<Node>,
    stream_id: Uuid,
    held: Weak<HeldStream>,
    tenant: String,
    mut events: broadcast::Receiver<NodeEvent>,
) {
    while let Ok(event) = events.recv().await {
        let kind = match &event {
            NodeEvent::LayerSource { .. } => EventType::LayerSource,
            _ => EventType::StreamError,
        };
        let data = match &event {
            // Reported now rather than at the next tick: status, the control plane's `live`
            // and the tenant's `stream:status` come up to a second sooner after a start or a
            // failover. Only while this node still holds this very stream.
            NodeEvent::Live => {
                if let Some(held) = held.upgrade()
                    && node.held.holds(stream_id, &held)
                {
                    report_stream(&node, stream_id, &held).await;
                }
                continue;
            }
            NodeEvent::LayerError { .. }
            | NodeEvent::SourceError { .. }
            | NodeEvent::StreamFailed { .. } => serde_json::to_value(&event).unwrap_or_default(),
            NodeEvent::Output { error: Some(_), .. } => {
                serde_json::to_value(&event).unwrap_or_default()
            }
            NodeEvent::LayerSource {
                previous,
                reason,
                status,
            } => {
                let mut data = serde_json::to_value(status).unwrap_or_default();
                data["previous"] = json!(previous);
                data["reason"] = json!(reason);
                data
            }
            NodeEvent::StreamEnded => break,
            NodeEvent::Output { .. } => continue,
        };
        node.links
            .live
            .publish(&tenant, stream_id, kind, data)
            .await;
    }
}

/// Applies a newer spec to a stream on this node.
pub(crate) async fn apply(node: &Arc<Node>, spec: StreamSpec) {
    let stream_id = spec.stream_id;
    let Some(held) = node.held.get(stream_id) else {
        tracing::debug!(%stream_id, "update for a stream not on this node; ignored");
        return;
    };
    let version = spec.version;
    tracing::debug!(%stream_id, version, "update received");
    let h = held.clone();
    let applied = tokio::task::spawn_blocking(move || h.handle.apply(&spec)).await;
    match applied {
        Ok(Ok(outcome)) => tracing::debug!(%stream_id, version, ?outcome, "update applied"),
        Ok(Err(e)) => {
            tracing::warn!(%stream_id, version, error = %e, "update not applied");
            node.links
                .live
                .publish(
                    &held.tenant,
                    stream_id,
                    EventType::StreamError,
                    json!({ "message": e.to_string(), "version": version }),
                )
                .await;
        }
        Err(e) => tracing::error!(%stream_id, error = %e, "update panicked"),
    }
}

/// How a stream leaves this node.
pub(crate) enum Leaving {
    /// Stopped by its tenant: its live state goes with it.
    Stopped,
    /// Handed to another node (drain): the lease is released first.
    HandedOff(Release),
    /// Its lease moved to another node: that node's live state must not be touched.
    Fenced,
}

/// Stops a stream here.
pub(crate) async fn stop_stream(node: &Arc<Node>, stream_id: Uuid, leaving: Leaving) {
    let Some(held) = node.held.remove(stream_id) else {
        return;
    };
    if let Leaving::HandedOff(r) = &leaving
        && let Err(e) = node.links.control.release(stream_id, r).await
    {
        tracing::warn!(%stream_id, error = %e, "release not recorded; the lease will lapse");
    }
    let h = held.clone();
    match tokio::task::spawn_blocking(move || h.handle.stop()).await {
        Ok(Ok(_)) => tracing::info!(%stream_id, "stream stopped"),
        Ok(Err(e)) => tracing::warn!(%stream_id, error = %e, "stream ended badly"),
        Err(e) => tracing::error!(%stream_id, error = %e, "stop panicked"),
    }
    if matches!(leaving, Leaving::Stopped) {
        node.links.live.clear_report(stream_id).await;
        node.links
            .live
            .publish(
                &held.tenant,
                stream_id,
                EventType::StreamStatus,
                json!({ "state": "idle", "nodeId": node.id() }),
            )
            .await;
    }
}
