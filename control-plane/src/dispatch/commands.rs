//! Recording a desired-state change and the command it sends, in the caller's transaction.

use serde_json::Value;
use shared::messages::{CommandEnvelope, NodeCommand};
use shared::spec::{ChangeHint, DesiredState};
use sqlx::PgConnection;

use crate::db::streams::{self, StreamRow};
use crate::db::{audit, leases, outbox};
use crate::dispatch::spec;
use crate::error::ApiError;
use crate::state::AppState;

/// What a lifecycle request did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The desired state changed and a command is on its way.
    Changed,
    /// The stream was already in the requested state: nothing was sent.
    Unchanged,
}

fn envelope(cmd: NodeCommand) -> Result<Value, ApiError> {
    serde_json::to_value(CommandEnvelope::new(cmd)).map_err(|e| ApiError::Internal(e.into()))
}

/// Re-reads the row after an update so the command carries the committed values.
async fn reload(conn: &mut PgConnection, row: &StreamRow) -> Result<StreamRow, ApiError> {
    streams::lock(&mut *conn, &row.tenant_id, row.id)
        .await?
        .ok_or(ApiError::NotFound("stream"))
}

/// Sets the desired state to `to`, bumping the version and queueing the matching command.
/// `row` must have been locked in this transaction.
pub async fn transition(
    state: &AppState,
    conn: &mut PgConnection,
    row: &StreamRow,
    to: DesiredState,
) -> Result<(Outcome, StreamRow), ApiError> {
    let from = row.desired();
    if from == to {
        return Ok((Outcome::Unchanged, row.clone()));
    }
    if to == DesiredState::Paused && from == DesiredState::Stopped {
        return Err(ApiError::conflict(
            "stream_not_live",
            "the stream is not started",
        ));
    }
    streams::set_desired(&mut *conn, row.id, to).await?;
    if from == DesiredState::Stopped || to == DesiredState::Stopped {
        // A new start must not find the previous holder's lease; a stop must fence it.
        leases::fence(&mut *conn, row.id).await?;
    }
    let version = streams::bump_version(&mut *conn, row.id).await?;
    let holder = row.node_id.clone();
    let row = reload(conn, row).await?;
    let action = match (from, to) {
        (DesiredState::Stopped, _) => {
            enqueue_start(state, conn, &row).await?;
            "start"
        }
        (_, DesiredState::Stopped) => {
            // Without a holder the queued start job finds the stream stopped and is dropped.
            if let Some(node) = &holder {
                let key = state.broker.topology().node_routing_key(node);
                let stop = NodeCommand::Stop {
                    stream_id: row.id,
                    version,
                };
                outbox::enqueue(&mut *conn, &key, &envelope(stop)?).await?;
            }
            "stop"
        }
        _ => {
            send_update(state, conn, &row, None).await?;
            if to == DesiredState::Paused {
                "pause"
            } else {
                "resume"
            }
        }
    };
    audit::record(&mut *conn, &row.tenant_id, row.id, action, version).await?;
    Ok((Outcome::Changed, row))
}

/// Queues a start job for any node with free capacity (a start, or a re-dispatch after the
/// holder died).
pub async fn enqueue_start(
    state: &AppState,
    conn: &mut PgConnection,
    row: &StreamRow,
) -> Result<(), ApiError> {
    let spec = spec::load(conn, row, None).await?;
    let key = state.broker.topology().jobs_routing_key();
    outbox::enqueue(
        &mut *conn,
        key,
        &envelope(NodeCommand::Start {
            spec: Box::new(spec),
        })?,
    )
    .await?;
    Ok(())
}

/// Records a change to the stream's layers, scenes or config: bumps the version and, when the
/// stream is on air on a node, queues the new desired state for that node.
pub async fn changed(
    state: &AppState,
    conn: &mut PgConnection,
    row: &StreamRow,
    hint: Option<ChangeHint>,
) -> Result<i64, ApiError> {
    let version = streams::bump_version(&mut *conn, row.id).await?;
    if row.desired().is_on_air() {
        let row = reload(conn, row).await?;
        send_update(state, conn, &row, hint).await?;
    }
    Ok(version)
}

async fn send_update(
    state: &AppState,
    conn: &mut PgConnection,
    row: &StreamRow,
    hint: Option<ChangeHint>,
) -> Result<(), ApiError> {
    // Until a node claims the stream there is nobody to tell: the node reads the latest
    // state from Postgres when it claims.
    let Some(node) = &row.node_id else {
        return Ok(());
    };
    let spec = spec::load(conn, row, hint).await?;
    let key = state.broker.topology().node_routing_key(node);
    outbox::enqueue(
        &mut *conn,
        &key,
        &envelope(NodeCommand::Update {
            spec: Box::new(spec),
        })?,
    )
    .await?;
    Ok(())
}
