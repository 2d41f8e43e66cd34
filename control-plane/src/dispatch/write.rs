//! The one write path for a tenant's change to a stream.
//!
//! [`StreamWrite::begin`] opens a transaction and locks the stream's row, so concurrent
//! changes to one stream apply one after the other. The handler writes its rows through
//! [`StreamWrite::conn`], then commits with one of two calls that finish every change the
//! same way: bump the stream's version, queue the command that tells the render node (in
//! the same transaction, through the outbox), commit, wake the relay, and announce the
//! change to the tenant's sockets. A handler cannot forget a step: there is no other way to
//! commit. Dropping the write instead (an early `?`) rolls everything back.
//!
//! - [`StreamWrite::commit`]: layers, scenes or config changed; the holder gets the new spec.
//! - [`StreamWrite::commit_transition`]: start, stop, pause, resume; fences the lease when
//!   the stream starts or stops, and leaves an audit row.

use serde::Serialize;
use serde_json::Value;
use shared::events::EventType;
use shared::spec::{ChangeHint, DesiredState};
use shared::status::StreamStatus;

use crate::webhooks::{self, WebhookEvent};
use sqlx::PgConnection;

use crate::db::streams::{self, StreamRow};
use crate::db::{audit, leases};
use crate::dispatch::commands;
use crate::dispatch::tx::CommandTx;
use crate::error::ApiError;
use crate::ids::StreamId;
use crate::live;
use crate::state::AppState;

/// What the tenant's sockets are told once a content change is committed.
pub enum Announce {
    /// This event, about the stream.
    Event(EventType, Value),
    /// Nothing: the change has no event in the WebSocket contract (config changes).
    Nothing,
}

impl Announce {
    /// An event whose data is `data` serialized.
    pub fn event(kind: EventType, data: &impl Serialize) -> Self {
        Announce::Event(kind, serde_json::to_value(data).unwrap_or_default())
    }
}

/// A change to one stream in progress, its row locked.
pub struct StreamWrite<'a> {
    tx: CommandTx<'a>,
    row: StreamRow,
}

impl<'a> StreamWrite<'a> {
    /// Begins a change to one of `tenant`'s streams, locking its row until the change is
    /// committed or dropped; 404 when the stream is gone (or another tenant's).
    pub async fn begin(
        state: &'a AppState,
        tenant: &str,
        stream: StreamId,
    ) -> Result<Self, ApiError> {
        let mut tx = CommandTx::begin(state).await?;
        let row = streams::lock(tx.conn(), tenant, stream)
            .await?
            .ok_or(ApiError::NotFound("stream"))?;
        Ok(StreamWrite { tx, row })
    }

    /// The stream as locked, before this change.
    pub fn row(&self) -> &StreamRow {
        &self.row
    }

    /// The stream's id.
    pub fn stream_id(&self) -> StreamId {
        self.row.id
    }

    /// The connection to write the change's rows through.
    pub fn conn(&mut self) -> &mut PgConnection {
        self.tx.conn()
    }

    /// The version this change commits at: one past the locked row's, since nobody else can
    /// bump it while the row is locked. For answers that carry it.
    pub fn next_version(&self) -> i64 {
        self.row.version + 1
    }

    /// Bumps the version and checks it is the one promised by [`Self::next_version`].
    async fn bump_version(&mut self) -> Result<i64, ApiError> {
        let version = streams::bump_version(self.tx.conn(), self.row.id).await?;
        if version != self.next_version() {
            return Err(ApiError::Internal(anyhow::anyhow!(
                "stream {} moved from version {} to {version} under its lock",
                self.row.id,
                self.row.version
            )));
        }
        Ok(version)
    }

    /// Re-reads the row after the change, so commands carry the values being committed.
    async fn reload(&mut self) -> Result<StreamRow, ApiError> {
        streams::lock(self.tx.conn(), &self.row.tenant_id, self.row.id)
            .await?
            .ok_or(ApiError::NotFound("stream"))
    }

    /// Commits a change to the stream's layers, scenes or config: bumps the version, sends
    /// the stream's holder the new desired state (`hint` says how to animate it), commits,
    /// and announces it. Returns the new version.
    pub async fn commit(
        mut self,
        hint: Option<ChangeHint>,
        announce: Announce,
    ) -> Result<i64, ApiError> {
        let version = self.bump_version().await?;
        if self.row.desired().is_on_air() {
            let row = self.reload().await?;
            commands::update(&mut self.tx, &row, hint).await?;
        }
        let state = self.tx.state();
        let (tenant, stream_id) = (self.row.tenant_id.clone(), self.row.id);
        self.tx.commit().await?;
        if let Announce::Event(kind, data) = announce {
            crate::events::publish(state, &tenant, stream_id, kind, data).await;
        }
        Ok(version)
    }

    /// Moves the desired state to `to` and answers the stream's status after the move,
    /// which is also what the tenant's sockets are told (`stream:status`). A move to the
    /// state the stream is already in writes and announces nothing.
    pub async fn commit_transition(mut self, to: DesiredState) -> Result<StreamStatus, ApiError> {
        let state = self.tx.state();
        let from = self.row.desired();
        if from == to {
            self.tx.commit().await?;
            return Ok(live::status(state, &self.row).await);
        }
        if to == DesiredState::Paused && from == DesiredState::Stopped {
            return Err(ApiError::conflict(
                "stream_not_live",
                "the stream is not started",
            ));
        }
        let id = self.row.id;
        streams::set_desired(self.tx.conn(), id, to).await?;
        if from == DesiredState::Stopped || to == DesiredState::Stopped {
            // A new start must not find the previous holder's lease; a stop must fence it.
            leases::fence(self.tx.conn(), id).await?;
        }
        let version = self.bump_version().await?;
        let holder = self.row.node_id.clone();
        let row = self.reload().await?;
        let action = match (from, to) {
            (DesiredState::Stopped, _) => {
                commands::start(&mut self.tx, &row).await?;
                "start"
            }
            (_, DesiredState::Stopped) => {
                // Without a holder the queued start job finds the stream stopped and is
                // dropped by whichever node takes it.
                if let Some(node) = &holder {
                    commands::stop(&mut self.tx, node, &row).await?;
                }
                "stop"
            }
            (_, DesiredState::Paused) => {
                commands::update(&mut self.tx, &row, None).await?;
                "pause"
            }
            _ => {
                commands::update(&mut self.tx, &row, None).await?;
                "resume"
            }
        };
        audit::record(self.tx.conn(), &row.tenant_id, id, action, version).await?;
        // Committed with the change, so a webhook hears of exactly the moves that happened.
        let hook = match action {
            "start" => Some(WebhookEvent::StreamStarted),
            "stop" => Some(WebhookEvent::StreamStopped),
            _ => None,
        };
        if let Some(kind) = hook {
            let data = serde_json::json!({ "version": version });
            webhooks::emit(self.tx.conn(), &row.tenant_id, id, kind, data).await?;
        }
        self.tx.commit().await?;
        if hook.is_some() {
            webhooks::wake(state);
        }
        let status = live::status(state, &row).await;
        tracing::info!(tenant = %row.tenant_id, stream_id = %id, to = to.as_str(), version, "desired state changed");
        let data = serde_json::to_value(&status).unwrap_or_default();
        crate::events::publish(state, &row.tenant_id, id, EventType::StreamStatus, data).await;
        Ok(status)
    }
}
