//! Draining (SIGTERM): the node takes no more jobs, hands every stream to other nodes and
//! stops it cleanly, and leaves the registry.

use std::sync::Arc;

use shared::node_api::Release;

use super::lifecycle::{Leaving, stop_stream};
use super::node::Node;

/// Hands every stream away; the streams' own handovers are released before they stop, so
/// another node can claim each as soon as it is gone from here.
pub(crate) async fn drain(node: &Arc<Node>) {
    node.start_draining();
    let streams = node.held.all();
    tracing::info!(node_id = %node.id(), streams = streams.len(), "draining");
    for (id, held) in streams {
        let release = Release {
            epoch: held.epoch,
            failure: None,
            handoff: true,
        };
        stop_stream(node, id, Leaving::HandedOff(release)).await;
    }
    node.links.live.leave(node.id()).await;
    tracing::info!(node_id = %node.id(), "drained");
}
