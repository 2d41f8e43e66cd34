//! The outbox relay: publishes committed commands in batches with one confirm wait each,
//! then marks them sent.
//!
//! Every replica runs one; `FOR UPDATE SKIP LOCKED` keeps them from publishing the same row
//! at once. Delivery is at least once (a crash between confirm and commit republishes), which
//! nodes tolerate because every command carries its version.

use std::time::Duration;

use shared::amqp::{AmqpError, Outgoing};
use shared::backoff::Backoff;
use shared::trace_context::TraceContext;
use tokio_util::sync::CancellationToken;

use crate::db::outbox;
use crate::state::AppState;

/// Rows published per transaction.
const BATCH: i64 = 100;
/// How often the relay looks for rows other replicas committed.
const POLL: Duration = Duration::from_millis(250);

/// What one relay step could not do.
#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    #[error("outbox: {0}")]
    Db(#[from] sqlx::Error),
    #[error("broker: {0}")]
    Broker(#[from] shared::amqp::AmqpError),
}

/// Publishes up to one batch of pending commands with one confirm wait; returns how many
/// were sent. Rows are marked in order until the first that was not confirmed: it and the
/// rest stay pending for the next attempt (a confirmed row after it may be published again,
/// which nodes tolerate). Tests call this directly instead of waiting for the loop.
pub async fn publish_pending(state: &AppState) -> Result<usize, RelayError> {
    let mut tx = state.db.begin().await?;
    let rows = outbox::claim(&mut *tx, BATCH).await?;
    let batch = rows
        .iter()
        .map(|row| {
            // The publish joins the trace of the request that queued the command, and the
            // node's span joins the publish through the message headers.
            let queued_by = row.trace_context();
            let span =
                tracing::info_span!("publish", outbox_id = row.id, routing_key = %row.routing_key);
            if let Some(ctx) = &queued_by {
                ctx.adopt(&span);
            }
            // A replica that exports nothing has no span context: it hands the stored one on.
            let trace = TraceContext::of(&span).or(queued_by);
            Outgoing {
                routing_key: row.routing_key.clone(),
                payload: row.payload.0.to_string().into_bytes(),
                headers: shared::amqp::trace_headers(trace.as_ref()),
                span,
            }
        })
        .collect();
    let results = if rows.is_empty() {
        Vec::new()
    } else {
        state.broker.publish_batch(batch).await
    };
    let mut sent = 0;
    let mut failure = None;
    for (row, result) in rows.iter().zip(results) {
        match result {
            Ok(()) => {
                outbox::mark_published(&mut *tx, row.id).await?;
                metrics::counter!("jobs_published_total").increment(1);
                sent += 1;
            }
            Err(AmqpError::Unroutable(reason)) => {
                // No queue is bound for this node any more (it is gone): the reaper
                // re-dispatches its streams, so this command has no one to reach.
                tracing::warn!(outbox_id = row.id, routing_key = %row.routing_key, %reason, "dropping unroutable command");
                outbox::mark_published(&mut *tx, row.id).await?;
            }
            Err(e) => {
                failure = Some(e);
                break;
            }
        }
    }
    tx.commit().await?;
    match failure {
        Some(e) => Err(e.into()),
        None => Ok(sent),
    }
}

/// Runs the relay until cancelled, backing off while the broker or database is away.
pub async fn run(state: AppState, token: CancellationToken) {
    let mut backoff = Backoff::new();
    let mut ticks: u64 = 0;
    loop {
        let wait = match publish_pending(&state).await {
            Ok(n) if n as i64 == BATCH => Duration::ZERO,
            Ok(_) => {
                backoff.reset();
                POLL
            }
            Err(e) => {
                let wait = backoff.next_delay();
                tracing::warn!(error = %e, retry_in_ms = wait.as_millis() as u64, "outbox relay failed");
                wait
            }
        };
        ticks += 1;
        if ticks.is_multiple_of(14_400)
            && let Err(e) = outbox::prune(&state.db).await
        {
            tracing::warn!(error = %e, "outbox prune failed");
        }
        tokio::select! {
            _ = token.cancelled() => break,
            _ = state.relay_wake.notified() => {}
            _ = tokio::time::sleep(wait) => {}
        }
    }
    tracing::info!("outbox relay stopped");
}
