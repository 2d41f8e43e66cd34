//! `streams`: a tenant's channels, their config and desired state.

use shared::spec::DesiredState;
use shared::stream_config::StreamConfig;
use sqlx::PgExecutor;
use sqlx::types::Json;
use time::OffsetDateTime;

use crate::ids::{NodeId, SceneId, StreamId};

/// A stream row.
#[derive(Debug, Clone)]
pub struct StreamRow {
    pub id: StreamId,
    pub tenant_id: String,
    pub name: String,
    pub is_default: bool,
    pub config: Json<StreamConfig>,
    pub desired_state: String,
    pub version: i64,
    pub active_scene_id: Option<SceneId>,
    pub node_id: Option<NodeId>,
    pub started_at: Option<OffsetDateTime>,
    pub created_at: OffsetDateTime,
    /// Why dispatch gave up on the stream, when it did.
    pub failure_reason: Option<String>,
}

impl StreamRow {
    /// The desired state, parsed.
    pub fn desired(&self) -> DesiredState {
        DesiredState::parse(&self.desired_state)
    }
}

/// The tenant's default stream, if it exists yet.
#[tracing::instrument(skip(db))]
pub async fn find_default(
    db: impl PgExecutor<'_>,
    tenant: &str,
) -> sqlx::Result<Option<StreamRow>> {
    sqlx::query_as!(
        StreamRow,
        r#"SELECT id AS "id: StreamId", tenant_id, name, is_default,
                  config AS "config: Json<StreamConfig>", desired_state, version,
                  active_scene_id AS "active_scene_id: SceneId", node_id AS "node_id: NodeId",
                  started_at, created_at, failure_reason
           FROM streams WHERE tenant_id = $1 AND is_default"#,
        tenant
    )
    .fetch_optional(db)
    .await
}

/// One of the tenant's streams; other tenants' ids read as absent.
#[tracing::instrument(skip(db))]
pub async fn find(
    db: impl PgExecutor<'_>,
    tenant: &str,
    id: StreamId,
) -> sqlx::Result<Option<StreamRow>> {
    sqlx::query_as!(
        StreamRow,
        r#"SELECT id AS "id: StreamId", tenant_id, name, is_default,
                  config AS "config: Json<StreamConfig>", desired_state, version,
                  active_scene_id AS "active_scene_id: SceneId", node_id AS "node_id: NodeId",
                  started_at, created_at, failure_reason
           FROM streams WHERE tenant_id = $1 AND id = $2"#,
        tenant,
        id as _
    )
    .fetch_optional(db)
    .await
}

/// A stream by id alone, for render nodes (which act for every tenant).
#[tracing::instrument(skip(db))]
pub async fn find_any(db: impl PgExecutor<'_>, id: StreamId) -> sqlx::Result<Option<StreamRow>> {
    sqlx::query_as!(
        StreamRow,
        r#"SELECT id AS "id: StreamId", tenant_id, name, is_default,
                  config AS "config: Json<StreamConfig>", desired_state, version,
                  active_scene_id AS "active_scene_id: SceneId", node_id AS "node_id: NodeId",
                  started_at, created_at, failure_reason
           FROM streams WHERE id = $1"#,
        id as _
    )
    .fetch_optional(db)
    .await
}

/// Locks one of the tenant's streams for the rest of the transaction, serializing changes.
#[tracing::instrument(skip(db))]
pub async fn lock(
    db: impl PgExecutor<'_>,
    tenant: &str,
    id: StreamId,
) -> sqlx::Result<Option<StreamRow>> {
    sqlx::query_as!(
        StreamRow,
        r#"SELECT id AS "id: StreamId", tenant_id, name, is_default,
                  config AS "config: Json<StreamConfig>", desired_state, version,
                  active_scene_id AS "active_scene_id: SceneId", node_id AS "node_id: NodeId",
                  started_at, created_at, failure_reason
           FROM streams WHERE tenant_id = $1 AND id = $2 FOR UPDATE"#,
        tenant,
        id as _
    )
    .fetch_optional(db)
    .await
}

/// The tenant's streams, oldest first.
#[tracing::instrument(skip(db))]
pub async fn list(db: impl PgExecutor<'_>, tenant: &str) -> sqlx::Result<Vec<StreamRow>> {
    sqlx::query_as!(
        StreamRow,
        r#"SELECT id AS "id: StreamId", tenant_id, name, is_default,
                  config AS "config: Json<StreamConfig>", desired_state, version,
                  active_scene_id AS "active_scene_id: SceneId", node_id AS "node_id: NodeId",
                  started_at, created_at, failure_reason
           FROM streams WHERE tenant_id = $1 ORDER BY created_at, id"#,
        tenant
    )
    .fetch_all(db)
    .await
}

/// How many streams the tenant has.
pub async fn count(db: impl PgExecutor<'_>, tenant: &str) -> sqlx::Result<i64> {
    let n = sqlx::query_scalar!(
        r#"SELECT count(*) AS "n!" FROM streams WHERE tenant_id = $1"#,
        tenant
    )
    .fetch_one(db)
    .await?;
    Ok(n)
}

/// Inserts a stream; for a default stream a concurrent insert wins and this returns `None`.
#[tracing::instrument(skip(db, config))]
pub async fn insert(
    db: impl PgExecutor<'_>,
    id: StreamId,
    tenant: &str,
    name: &str,
    is_default: bool,
    config: &StreamConfig,
    scene_id: SceneId,
) -> sqlx::Result<bool> {
    let inserted = sqlx::query!(
        r#"INSERT INTO streams (id, tenant_id, name, is_default, config, active_scene_id)
           VALUES ($1, $2, $3, $4, $5, $6)
           ON CONFLICT (tenant_id) WHERE is_default DO NOTHING"#,
        id as _,
        tenant,
        name,
        is_default,
        Json(config) as _,
        scene_id as _
    )
    .execute(db)
    .await?;
    Ok(inserted.rows_affected() == 1)
}

/// Deletes one of the tenant's streams (cascades to scenes, layers and keys).
#[tracing::instrument(skip(db))]
pub async fn delete(db: impl PgExecutor<'_>, tenant: &str, id: StreamId) -> sqlx::Result<bool> {
    let r = sqlx::query!(
        "DELETE FROM streams WHERE tenant_id = $1 AND id = $2",
        tenant,
        id as _
    )
    .execute(db)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// Bumps the desired-state version and returns the new one.
#[tracing::instrument(skip(db))]
pub async fn bump_version(db: impl PgExecutor<'_>, id: StreamId) -> sqlx::Result<i64> {
    sqlx::query_scalar!(
        "UPDATE streams SET version = version + 1, updated_at = now() WHERE id = $1 RETURNING version",
        id as _
    )
    .fetch_one(db)
    .await
}

/// Replaces the stream's config.
#[tracing::instrument(skip(db, config))]
pub async fn set_config(
    db: impl PgExecutor<'_>,
    id: StreamId,
    config: &StreamConfig,
) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE streams SET config = $2 WHERE id = $1",
        id as _,
        Json(config) as _
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Records what the tenant wants the stream to be; a start sets `started_at`.
#[tracing::instrument(skip(db))]
pub async fn set_desired(
    db: impl PgExecutor<'_>,
    id: StreamId,
    desired: DesiredState,
) -> sqlx::Result<()> {
    sqlx::query!(
        r#"UPDATE streams SET desired_state = $2,
               started_at = CASE WHEN $2 = 'stopped' THEN NULL
                                 ELSE coalesce(started_at, now()) END
           WHERE id = $1"#,
        id as _,
        desired.as_str()
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Makes `scene_id` the scene on air.
#[tracing::instrument(skip(db))]
pub async fn set_active_scene(
    db: impl PgExecutor<'_>,
    id: StreamId,
    scene_id: SceneId,
) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE streams SET active_scene_id = $2 WHERE id = $1",
        id as _,
        scene_id as _
    )
    .execute(db)
    .await?;
    Ok(())
}
