//! Lease renewal: every lease the node holds is renewed each [`RENEW_EVERY`] in one call.
//! A lease the control plane says is lost stops its stream here; a stream whose desired
//! state moved on without the node hearing is caught up; and a node that cannot renew for
//! [`FENCE_AFTER`] stops every stream, since the control plane may already have given them
//! to another node (the timings are the contract in `shared::node_api::lease`).

use std::sync::Arc;
use std::time::Instant;

use shared::node_api::client::ApiCallError;
use shared::node_api::lease::{FENCE_AFTER, RENEW_EVERY};
use tokio_util::sync::CancellationToken;

use super::lifecycle::{Leaving, apply, stop_stream};
use super::node::Node;

/// Renews until `token` is cancelled.
pub(crate) async fn lease_loop(node: Arc<Node>, token: CancellationToken) {
    // When the last renewal that succeeded was sent: the control plane extended the leases
    // from a moment after that, so fencing counted from here always comes first.
    let mut last_ok = Instant::now();
    let mut tick = tokio::time::interval(RENEW_EVERY);
    while !token.is_cancelled() {
        tokio::select! {
            _ = token.cancelled() => return,
            _ = tick.tick() => {}
        }
        let leases = node.held.leases();
        let sent = Instant::now();
        if leases.is_empty() {
            last_ok = sent;
            continue;
        }
        let renewed = match node.links.control.renew(leases).await {
            Ok(Ok(states)) => Ok(states),
            // A refusal (4xx) is an answer: the control plane is there, and its database
            // decides whose the streams are.
            Ok(Err(status)) => Err(ApiCallError::Unavailable(format!(
                "renewal refused: {status}"
            ))),
            Err(e) => Err(e),
        };
        match renewed {
            Ok(states) => {
                last_ok = sent;
                for s in states {
                    if !s.held {
                        tracing::warn!(stream_id = %s.stream_id, "lease lost: stopping the stream here");
                        stop_stream(&node, s.stream_id, Leaving::Fenced).await;
                        continue;
                    }
                    let Some(held) = node.held.get(s.stream_id) else {
                        continue;
                    };
                    if s.version > held.handle.report().version {
                        // A command was missed (or is late): catch up from the latest state.
                        if let Ok(Ok(spec)) = node.links.control.spec(s.stream_id).await {
                            apply(&node, spec).await;
                        }
                    }
                }
            }
            // A control plane that answers but cannot reach its database cannot reassign
            // our streams either (leases move only through the database), so rendering on
            // is safe; only silence from every control plane could mean we are cut off
            // while someone else takes over.
            Err(e @ ApiCallError::Unavailable(_)) => {
                tracing::warn!(error = %e, "lease renewal postponed: the control plane's database is away");
                last_ok = sent;
            }
            Err(e) if last_ok.elapsed() > FENCE_AFTER => {
                tracing::error!(error = %e, "cannot renew leases: stopping every stream (another node may take them)");
                for (id, _) in node.held.all() {
                    stop_stream(&node, id, Leaving::Fenced).await;
                }
            }
            Err(e) => tracing::warn!(error = %e, "lease renewal failed; retrying"),
        }
    }
}
