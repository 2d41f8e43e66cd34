//! A transaction that can queue commands for render nodes, and wakes the outbox relay when
//! it commits any: the only way to write to the outbox, so no caller can leave a committed
//! command waiting for the relay's next poll.

use shared::messages::{CommandEnvelope, NodeCommand, Topology};
use sqlx::{PgConnection, Postgres, Transaction};

use crate::db::outbox;
use crate::error::ApiError;
use crate::state::AppState;

/// An open transaction and the commands queued in it.
pub struct CommandTx<'a> {
    state: &'a AppState,
    tx: Transaction<'static, Postgres>,
    queued: usize,
}

impl<'a> CommandTx<'a> {
    /// Begins a transaction.
    pub async fn begin(state: &'a AppState) -> Result<Self, ApiError> {
        Ok(CommandTx {
            state,
            tx: state.db.begin().await?,
            queued: 0,
        })
    }

    /// The connection, for the queries that go with the commands.
    pub fn conn(&mut self) -> &mut PgConnection {
        &mut self.tx
    }

    /// The state the transaction was begun with.
    pub fn state(&self) -> &'a AppState {
        self.state
    }

    /// Where commands go.
    pub fn topology(&self) -> &'a Topology {
        self.state.broker.topology()
    }

    /// Writes `command` to the outbox, to be published under `routing_key` once committed.
    pub async fn queue(&mut self, routing_key: &str, command: NodeCommand) -> Result<(), ApiError> {
        let envelope = serde_json::to_value(CommandEnvelope::new(command))
            .map_err(|e| ApiError::Internal(e.into()))?;
        outbox::enqueue(&mut *self.tx, routing_key, &envelope).await?;
        self.queued += 1;
        Ok(())
    }

    /// Commits, then wakes this replica's relay if a command was queued.
    pub async fn commit(self) -> Result<(), ApiError> {
        self.tx.commit().await?;
        if self.queued > 0 {
            self.state.relay_wake.notify_one();
        }
        Ok(())
    }
}
