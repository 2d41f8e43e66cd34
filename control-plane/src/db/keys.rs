//! `stream_keys`: the secrets encoders publish with, stored only as hashes.

use sha2::{Digest, Sha256};
use sqlx::PgExecutor;
use time::OffsetDateTime;

use crate::ids::{KeyId, StreamId};

/// A key as listed: never its value.
#[derive(Debug)]
pub struct KeyRow {
    pub id: KeyId,
    pub stream_id: StreamId,
    pub masked: String,
    pub created_at: OffsetDateTime,
    pub last_used_at: Option<OffsetDateTime>,
}

/// The owner of a key, looked up by its hash at ingest.
#[derive(Debug)]
pub struct KeyOwner {
    pub id: KeyId,
    pub tenant_id: String,
    pub stream_id: StreamId,
}

/// SHA-256 of a key's value, the only form we keep.
pub fn hash_key(key: &str) -> Vec<u8> {
    Sha256::digest(key.as_bytes()).to_vec()
}

/// Stores a new key's hash.
#[tracing::instrument(skip(db, hash))]
pub async fn insert(
    db: impl PgExecutor<'_>,
    id: KeyId,
    tenant: &str,
    stream_id: StreamId,
    hash: &[u8],
    masked: &str,
) -> sqlx::Result<KeyRow> {
    sqlx::query_as!(
        KeyRow,
        r#"INSERT INTO stream_keys (id, tenant_id, stream_id, key_hash, masked)
           VALUES ($1, $2, $3, $4, $5)
           RETURNING id AS "id: KeyId", stream_id AS "stream_id: StreamId", masked, created_at,
                     last_used_at"#,
        id as _,
        tenant,
        stream_id as _,
        hash,
        masked
    )
    .fetch_one(db)
    .await
}

/// The stream's keys, oldest first.
#[tracing::instrument(skip(db))]
pub async fn list(db: impl PgExecutor<'_>, stream_id: StreamId) -> sqlx::Result<Vec<KeyRow>> {
    sqlx::query_as!(
        KeyRow,
        r#"SELECT id AS "id: KeyId", stream_id AS "stream_id: StreamId", masked, created_at,
                  last_used_at
           FROM stream_keys WHERE stream_id = $1 ORDER BY created_at, id"#,
        stream_id as _
    )
    .fetch_all(db)
    .await
}

/// Deletes a key of the stream, returning its hash (to drop it from the cache).
#[tracing::instrument(skip(db))]
pub async fn delete(
    db: impl PgExecutor<'_>,
    stream_id: StreamId,
    id: KeyId,
) -> sqlx::Result<Option<Vec<u8>>> {
    sqlx::query_scalar!(
        "DELETE FROM stream_keys WHERE stream_id = $1 AND id = $2 RETURNING key_hash",
        stream_id as _,
        id as _
    )
    .fetch_optional(db)
    .await
}

/// Hashes of every key of a stream (dropped from the cache when the stream is deleted).
#[tracing::instrument(skip(db))]
pub async fn hashes_of_stream(
    db: impl PgExecutor<'_>,
    stream_id: StreamId,
) -> sqlx::Result<Vec<Vec<u8>>> {
    sqlx::query_scalar!(
        "SELECT key_hash FROM stream_keys WHERE stream_id = $1",
        stream_id as _
    )
    .fetch_all(db)
    .await
}

/// Which of these keys still exist.
#[tracing::instrument(skip(db))]
pub async fn existing(db: impl PgExecutor<'_>, ids: &[KeyId]) -> sqlx::Result<Vec<KeyId>> {
    sqlx::query_scalar!(
        r#"SELECT id AS "id: KeyId" FROM stream_keys WHERE id = ANY($1)"#,
        ids as _
    )
    .fetch_all(db)
    .await
}

/// Whether the key exists and belongs to the tenant (for ingest layer sources).
#[tracing::instrument(skip(db))]
pub async fn belongs_to(db: impl PgExecutor<'_>, tenant: &str, id: KeyId) -> sqlx::Result<bool> {
    let found = sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM stream_keys WHERE tenant_id = $1 AND id = $2) AS "e!""#,
        tenant,
        id as _
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
        r#"SELECT id AS "id: KeyId", tenant_id, stream_id AS "stream_id: StreamId"
           FROM stream_keys WHERE key_hash = $1"#,
        hash
    )
    .fetch_optional(db)
    .await
}

/// Records that an encoder started publishing with the key.
#[tracing::instrument(skip(db))]
pub async fn touch(db: impl PgExecutor<'_>, id: KeyId) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE stream_keys SET last_used_at = now() WHERE id = $1",
        id as _
    )
    .execute(db)
    .await?;
    Ok(())
}
