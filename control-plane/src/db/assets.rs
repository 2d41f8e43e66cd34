//! `assets`: uploaded images, addressed by content per tenant.

use sqlx::PgExecutor;
use time::OffsetDateTime;

use crate::ids::AssetId;

/// An asset's metadata.
#[derive(Debug)]
pub struct AssetRow {
    pub id: AssetId,
    pub sha256: String,
    pub content_type: String,
    pub width: i32,
    pub height: i32,
    pub byte_size: i32,
    pub created_at: OffsetDateTime,
}

/// A decoded image ready to store.
pub struct NewAsset<'a> {
    pub sha256: &'a str,
    pub content_type: &'a str,
    pub width: i32,
    pub height: i32,
    pub bytes: &'a [u8],
}

/// The tenant's asset with these bytes, if it has one.
#[tracing::instrument(skip(db))]
pub async fn find_by_sha256(
    db: impl PgExecutor<'_>,
    tenant: &str,
    sha256: &str,
) -> sqlx::Result<Option<AssetRow>> {
    sqlx::query_as!(
        AssetRow,
        r#"SELECT id AS "id: AssetId", sha256, content_type, width, height, byte_size, created_at
           FROM assets WHERE tenant_id = $1 AND sha256 = $2"#,
        tenant,
        sha256
    )
    .fetch_optional(db)
    .await
}

/// Stores a new image. Callers look for the same bytes first, under the tenant's quota lock
/// ([`crate::db::usage::lock_tenant`]), so the unique (tenant, sha256) cannot be hit.
#[tracing::instrument(skip(db, a), fields(sha256 = a.sha256))]
pub async fn insert(
    db: impl PgExecutor<'_>,
    tenant: &str,
    a: &NewAsset<'_>,
) -> sqlx::Result<AssetRow> {
    sqlx::query_as!(
        AssetRow,
        r#"INSERT INTO assets (id, tenant_id, sha256, content_type, width, height, byte_size, bytes)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
           RETURNING id AS "id: AssetId", sha256, content_type, width, height, byte_size, created_at"#,
        AssetId::random() as _,
        tenant,
        a.sha256,
        a.content_type,
        a.width,
        a.height,
        a.bytes.len() as i32,
        a.bytes
    )
    .fetch_one(db)
    .await
}

/// One of the tenant's assets.
#[tracing::instrument(skip(db))]
pub async fn find(
    db: impl PgExecutor<'_>,
    tenant: &str,
    id: AssetId,
) -> sqlx::Result<Option<AssetRow>> {
    sqlx::query_as!(
        AssetRow,
        r#"SELECT id AS "id: AssetId", sha256, content_type, width, height, byte_size, created_at
           FROM assets WHERE tenant_id = $1 AND id = $2"#,
        tenant,
        id as _
    )
    .fetch_optional(db)
    .await
}

/// The bytes and content type of one of the tenant's assets.
#[tracing::instrument(skip(db))]
pub async fn content(
    db: impl PgExecutor<'_>,
    tenant: &str,
    id: AssetId,
) -> sqlx::Result<Option<(String, Vec<u8>)>> {
    let row = sqlx::query!(
        "SELECT content_type, bytes FROM assets WHERE tenant_id = $1 AND id = $2",
        tenant,
        id as _
    )
    .fetch_optional(db)
    .await?;
    Ok(row.map(|r| (r.content_type, r.bytes)))
}

/// Whether the tenant owns the asset.
pub async fn exists(db: impl PgExecutor<'_>, tenant: &str, id: AssetId) -> sqlx::Result<bool> {
    sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM assets WHERE tenant_id = $1 AND id = $2) AS "e!""#,
        tenant,
        id as _
    )
    .fetch_one(db)
    .await
}

/// The bytes and content type of any asset, for render nodes (which act for every tenant).
#[tracing::instrument(skip(db))]
pub async fn content_any(
    db: impl PgExecutor<'_>,
    id: AssetId,
) -> sqlx::Result<Option<(String, Vec<u8>)>> {
    let row = sqlx::query!(
        "SELECT content_type, bytes FROM assets WHERE id = $1",
        id as _
    )
    .fetch_optional(db)
    .await?;
    Ok(row.map(|r| (r.content_type, r.bytes)))
}
