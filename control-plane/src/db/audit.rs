//! `stream_audit`: who started, stopped, paused and resumed which stream, and when.

use sqlx::PgExecutor;

use crate::ids::StreamId;

/// Appends one audit entry.
#[tracing::instrument(skip(db))]
pub async fn record(
    db: impl PgExecutor<'_>,
    tenant: &str,
    stream_id: StreamId,
    action: &str,
    version: i64,
) -> sqlx::Result<()> {
    sqlx::query!(
        "INSERT INTO stream_audit (tenant_id, stream_id, action, version) VALUES ($1, $2, $3, $4)",
        tenant,
        stream_id as _,
        action,
        version
    )
    .execute(db)
    .await?;
    Ok(())
}
