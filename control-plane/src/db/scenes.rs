//! `scenes`: named groups of a stream's layers.

use shared::scene::Scene;
use sqlx::PgExecutor;

use crate::ids::{SceneId, StreamId};

/// Inserts a scene.
#[tracing::instrument(skip(db))]
pub async fn insert(
    db: impl PgExecutor<'_>,
    id: SceneId,
    stream_id: StreamId,
    name: &str,
) -> sqlx::Result<()> {
    sqlx::query!(
        "INSERT INTO scenes (id, stream_id, name) VALUES ($1, $2, $3)",
        id as _,
        stream_id as _,
        name
    )
    .execute(db)
    .await?;
    Ok(())
}

/// The stream's scenes, oldest first.
#[tracing::instrument(skip(db))]
pub async fn list(db: impl PgExecutor<'_>, stream_id: StreamId) -> sqlx::Result<Vec<Scene>> {
    sqlx::query_as!(
        Scene,
        "SELECT id, name FROM scenes WHERE stream_id = $1 ORDER BY created_at, id",
        stream_id as _
    )
    .fetch_all(db)
    .await
}

/// One scene of the stream.
#[tracing::instrument(skip(db))]
pub async fn find(
    db: impl PgExecutor<'_>,
    stream_id: StreamId,
    id: SceneId,
) -> sqlx::Result<Option<Scene>> {
    sqlx::query_as!(
        Scene,
        "SELECT id, name FROM scenes WHERE stream_id = $1 AND id = $2",
        stream_id as _,
        id as _
    )
    .fetch_optional(db)
    .await
}

/// How many scenes the stream has.
pub async fn count(db: impl PgExecutor<'_>, stream_id: StreamId) -> sqlx::Result<i64> {
    sqlx::query_scalar!(
        r#"SELECT count(*) AS "n!" FROM scenes WHERE stream_id = $1"#,
        stream_id as _
    )
    .fetch_one(db)
    .await
}
