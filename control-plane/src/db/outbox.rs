//! `outbox`: commands committed with the state change that caused them, awaiting publication.

use serde_json::Value;
use shared::trace_context::{TRACEPARENT, TRACESTATE, TraceContext};
use sqlx::PgExecutor;
use sqlx::types::Json;

/// A command waiting to be published.
#[derive(Debug)]
pub struct OutboxRow {
    pub id: i64,
    pub routing_key: String,
    pub payload: Json<Value>,
    pub traceparent: Option<String>,
    pub tracestate: Option<String>,
}

impl OutboxRow {
    /// The trace context of the span that queued the command.
    pub fn trace_context(&self) -> Option<TraceContext> {
        TraceContext::from_fields(|name| match name {
            TRACEPARENT => self.traceparent.as_deref(),
            TRACESTATE => self.tracestate.as_deref(),
            _ => None,
        })
    }
}

/// Queues a command for the relay, with the trace context of the caller's span (the API
/// request, or the reaper's re-dispatch) so the node's work joins that trace.
/// Called only through `dispatch::tx::CommandTx`, which wakes the relay when it commits.
#[tracing::instrument(skip(db, payload))]
pub async fn enqueue(
    db: impl PgExecutor<'_>,
    routing_key: &str,
    payload: &Value,
) -> sqlx::Result<i64> {
    let trace = TraceContext::current();
    sqlx::query_scalar!(
        "INSERT INTO outbox (routing_key, payload, traceparent, tracestate)
         VALUES ($1, $2, $3, $4) RETURNING id",
        routing_key,
        Json(payload) as _,
        trace.as_ref().map(|t| t.traceparent.as_str()),
        trace.as_ref().and_then(|t| t.tracestate.as_deref()),
    )
    .fetch_one(db)
    .await
}

/// Claims the oldest unpublished commands; rows locked by another replica's relay are skipped.
pub async fn claim(db: impl PgExecutor<'_>, limit: i64) -> sqlx::Result<Vec<OutboxRow>> {
    sqlx::query_as!(
        OutboxRow,
        r#"SELECT id, routing_key, payload AS "payload: Json<Value>", traceparent, tracestate
           FROM outbox WHERE published_at IS NULL
           ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED"#,
        limit
    )
    .fetch_all(db)
    .await
}

/// Marks a command as published.
pub async fn mark_published(db: impl PgExecutor<'_>, id: i64) -> sqlx::Result<()> {
    sqlx::query!("UPDATE outbox SET published_at = now() WHERE id = $1", id)
        .execute(db)
        .await?;
    Ok(())
}

/// Deletes published commands older than a day, so the table stays small.
pub async fn prune(db: impl PgExecutor<'_>) -> sqlx::Result<u64> {
    let r = sqlx::query!("DELETE FROM outbox WHERE published_at < now() - interval '1 day'")
        .execute(db)
        .await?;
    Ok(r.rows_affected())
}
