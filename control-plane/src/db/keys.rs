//! `stream_keys`: the secrets encoders publish with, stored only as hashes.

use sha2::{Digest, Sha256};
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

/// SHA-256 of a key's value, the only form we keep.
pub fn hash_key(key: &str) -> Vec<u8> {
    Sha256::digest(key.as_bytes()).to_vec()
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

/// Deletes a key of the stream, returning its hash (to drop it from the cache).
#[tracing::instrument(skip(db))]
pub async fn delete(
    db: impl PgExecutor<'_>,
    stream_id: Uuid,
    id: Uuid,
) -> sqlx::Result<Option<Vec<u8>>> {
    sqlx::query_scalar!(
        "DELETE FROM stream_keys WHERE stream_id = $1 AND id = $2 RETURNING key_hash",
        stream_id,
        id
    )
    .fetch_optional(db)
    .await
}

/// Hashes of every key of a stream (dropped from the cache when the stream is deleted).
#[tracing::instrument(skip(db))]
pub async fn hashes_of_stream(
    db: impl PgExecutor<'_>,
    stream_id: Uuid,
) -> sqlx::Result<Vec<Vec<u8>>> {
    sqlx::query_scalar!(
        "SELECT key_hash FROM stream_keys WHERE stream_id = $1",
        stream_id
    )
    .fetch_all(db)
    .await
}

/// Which of these keys still exist.
#[tracing::instrument(skip(db))]
pub async fn existing(db: impl PgExecutor<'_>, ids: &[Uuid]) -> sqlx::Result<Vec<Uuid>> {
    sqlx::query_scalar!("SELECT id FROM stream_keys WHERE id = ANY($1)", ids)
        .fetch_all(db)
        .await
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
