//! What a tenant uses, counted for its quotas, and the per-tenant lock that makes a count
//! and the insert it allows one step.
//!
//! Without the lock, concurrent creates each count the same rows and all pass (59 streams
//! for a limit of 50). A transaction-scoped advisory lock keyed by the tenant serializes
//! only that tenant's creates, and is released by commit or rollback whatever happens.

use sqlx::PgConnection;

/// Holds `tenant`'s quota lock until the transaction ends.
pub async fn lock_tenant(conn: &mut PgConnection, tenant: &str) -> sqlx::Result<()> {
    sqlx::query!(
        "SELECT pg_advisory_xact_lock(hashtextextended('quota:' || $1, 0))",
        tenant
    )
    .fetch_one(conn)
    .await
    .map(drop)
}

/// The tenant's streams on air (running or paused), whether or not a node has them yet.
pub async fn running_streams(conn: &mut PgConnection, tenant: &str) -> sqlx::Result<i64> {
    sqlx::query_scalar!(
        r#"SELECT count(*) AS "n!" FROM streams
           WHERE tenant_id = $1 AND desired_state IN ('running', 'paused')"#,
        tenant
    )
    .fetch_one(conn)
    .await
}

/// The tenant's layers, over all its streams and scenes.
pub async fn layers(conn: &mut PgConnection, tenant: &str) -> sqlx::Result<i64> {
    sqlx::query_scalar!(
        r#"SELECT count(*) AS "n!" FROM layers l JOIN streams s ON s.id = l.stream_id
           WHERE s.tenant_id = $1"#,
        tenant
    )
    .fetch_one(conn)
    .await
}

/// The tenant's scenes, over all its streams.
pub async fn scenes(conn: &mut PgConnection, tenant: &str) -> sqlx::Result<i64> {
    sqlx::query_scalar!(
        r#"SELECT count(*) AS "n!" FROM scenes c JOIN streams s ON s.id = c.stream_id
           WHERE s.tenant_id = $1"#,
        tenant
    )
    .fetch_one(conn)
    .await
}

/// The tenant's stream keys.
pub async fn keys(conn: &mut PgConnection, tenant: &str) -> sqlx::Result<i64> {
    sqlx::query_scalar!(
        r#"SELECT count(*) AS "n!" FROM stream_keys WHERE tenant_id = $1"#,
        tenant
    )
    .fetch_one(conn)
    .await
}

/// The tenant's assets: how many, and their bytes.
pub async fn assets(conn: &mut PgConnection, tenant: &str) -> sqlx::Result<(i64, i64)> {
    let r = sqlx::query!(
        r#"SELECT count(*) AS "n!", COALESCE(sum(byte_size), 0)::BIGINT AS "bytes!"
           FROM assets WHERE tenant_id = $1"#,
        tenant
    )
    .fetch_one(conn)
    .await?;
    Ok((r.n, r.bytes))
}
