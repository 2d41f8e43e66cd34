//! `stream_keys`: the secrets encoders publish with, stored only as hashes.

use sqlx::PgExecutor;
use time::OffsetDateTime;
use uuid::Uuid;

/// A key as listed: never its value.
#[derive(Debug)]
pub struct KeyRow {
    pub id: Uuid,
    pub stream_id: Uuid,
    pub masked: String,
    pub created_at: OffsetDateTime,
    pub last_used_at: Option<OffsetDateTime>,
}

/// The owner of a key, looked up by its hash at ingest.
#[derive(Debug)]
pub struct KeyOwner {
    pub id: Uuid,
    pub tenant_id: String,
    pub stream_id: Uuid,
}

/// Stores a new key's hash.
#[tracing::instrument(skip(db, hash))]
pub async fn insert(
    db: impl PgExecutor<'_>,
    id: Uuid,
    tenant: &str,
    stream_id: Uuid,
    hash: &[u8],
    masked: &str,
) -> sqlx::Result<KeyRow> {
    sqlx::query_as!(
        KeyRow,
        r#"INSERT INTO stream_keys (id, tenant_id, stream_id, key_hash, masked)
           VALUES ($1, $2, $3, $4, $5)
           RETURNING id, stream_id, masked, created_at, last_used_at"#,
        id,
        tenant,
        stream_id,
        hash,
        masked
    )
    .fetch_one(db)
    .await
}

/// The stream's keys, oldest first.
#[tracing::instrument(skip(db))]
pub async fn list(db: impl PgExecutor<'_>, stream_id: Uuid) -> sqlx::Result<Vec<KeyRow>> {
    sqlx::query_as!(
        KeyRow,
        r#"SELECT id, stream_id, masked, created_at, last_used_at
           FROM stream_keys WHERE stream_id = $1 ORDER BY created_at, id"#,
        stream_id
    )
    .fetch_all(db)
    .await
}

/// Deletes a key of the stream.
#[tracing::instrument(skip(db))]
pub async fn delete(db: impl PgExecutor<'_>, stream_id: Uuid, id: Uuid) -> sqlx::Result<bool> {
    let r = sqlx::query!(
        "DELETE FROM stream_keys WHERE stream_id = $1 AND id = $2",
        stream_id,
        id
    )
    .execute(db)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// Whether the key exists and belongs to the tenant (for ingest layer sources).
#[tracing::instrument(skip(db))]
pub async fn belongs_to(db: impl PgExecutor<'_>, tenant: &str, id: Uuid) -> sqlx::Result<bool> {
    let found = sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM stream_keys WHERE tenant_id = $1 AND id = $2) AS "e!""#,
        tenant,
        id
    )
    .fetch_one(db)
    .await?;
    Ok(found)
}

/// The key a publisher presented, by hash.
#[tracing::instrument(skip(db, hash))]
pub async fn find_by_hash(db: impl PgExecutor<'_>, hash: &[u8]) -> sqlx::Result<Option<KeyOwner>> {
    sqlx::query_as!(
        KeyOwner,
        "SELECT id, tenant_id, stream_id FROM stream_keys WHERE key_hash = $1",
        hash
    )
    .fetch_optional(db)
    .await
}

/// Records that an encoder started publishing with the key.
#[tracing::instrument(skip(db))]
pub async fn touch(db: impl PgExecutor<'_>, id: Uuid) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE stream_keys SET last_used_at = now() WHERE id = $1",
        id
    )
    .execute(db)
    .await?;
    Ok(())
}
