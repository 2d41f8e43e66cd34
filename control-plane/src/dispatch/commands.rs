//! Which command a change sends, and to whom: a start to the shared jobs queue (any node with
//! room takes it), an update or a stop to the queue of the node holding the stream.
//!
//! Every command carries the stream's whole desired state at a version (or, for a stop, the
//! version), so a late or duplicated one is ignored by the node.

use shared::messages::NodeCommand;
use shared::spec::ChangeHint;

use crate::db::streams::StreamRow;
use crate::dispatch::spec;
use crate::dispatch::tx::CommandTx;
use crate::error::ApiError;
use crate::ids::NodeId;

/// Queues a start job for any node with free capacity (a start, or a re-dispatch after the
/// holder died or handed the stream back).
pub async fn start(tx: &mut CommandTx<'_>, row: &StreamRow) -> Result<(), ApiError> {
    let spec = spec::load(tx.conn(), row, None).await?;
    let key = tx.topology().jobs_routing_key();
    tx.queue(
        key,
        NodeCommand::Start {
            spec: Box::new(spec),
        },
    )
    .await
}

/// Queues the new desired state for the node holding the stream. Until a node claims the
/// stream there is nobody to tell: the node reads the latest state when it claims.
pub async fn update(
    tx: &mut CommandTx<'_>,
    row: &StreamRow,
    hint: Option<ChangeHint>,
) -> Result<(), ApiError> {
    let Some(node) = &row.node_id else {
        return Ok(());
    };
    let spec = spec::load(tx.conn(), row, hint).await?;
    let key = tx.topology().node_routing_key(node.as_str());
    tx.queue(
        &key,
        NodeCommand::Update {
            spec: Box::new(spec),
        },
    )
    .await
}

/// Queues a stop for the node that held the stream before the stop fenced it.
pub async fn stop(
    tx: &mut CommandTx<'_>,
    holder: &NodeId,
    row: &StreamRow,
) -> Result<(), ApiError> {
    let key = tx.topology().node_routing_key(holder.as_str());
    tx.queue(
        &key,
        NodeCommand::Stop {
            stream_id: row.id.get(),
            version: row.version,
        },
    )
    .await
}
