//! Creating streams with their `main` scene.

use crate::db::scenes;
use crate::db::streams::{self, StreamRow};
use crate::error::ApiError;
use crate::ids::{SceneId, StreamId};
use crate::limits::quotas::{Counted, reserve};
use crate::state::AppState;
use shared::scene::MAIN_SCENE;
use shared::stream_config::StreamConfig;

/// Creates a stream and its `main` scene, active. A default stream raced by another request
/// is not created twice: the loser returns `None`.
pub async fn create_stream(
    state: &AppState,
    tenant: &str,
    name: &str,
    is_default: bool,
    config: &StreamConfig,
) -> Result<Option<StreamRow>, ApiError> {
    let (id, scene_id) = (StreamId::random(), SceneId::random());
    let _gate = state.gates.enter(tenant).await;
    let mut tx = state.db.begin().await?;
    reserve(&mut tx, &state.config.quotas, tenant, Counted::Streams).await?;
    // The scene FK on streams is deferred, so the stream row can name its scene first.
    if !streams::insert(&mut *tx, id, tenant, name, is_default, config, scene_id).await? {
        return Ok(None);
    }
    scenes::insert(&mut *tx, scene_id, id, MAIN_SCENE).await?;
    let row = streams::find(&mut *tx, tenant, id)
        .await?
        .ok_or(ApiError::NotFound("stream"))?;
    tx.commit().await?;
    tracing::info!(tenant, stream_id = %id, "stream created");
    Ok(Some(row))
}

/// The tenant's default stream, created on first use.
pub async fn ensure_default_stream(state: &AppState, tenant: &str) -> Result<StreamRow, ApiError> {
    if let Some(row) = streams::find_default(&state.db, tenant).await? {
        return Ok(row);
    }
    if let Some(row) =
        create_stream(state, tenant, "default", true, &StreamConfig::default()).await?
    {
        return Ok(row);
    }
    streams::find_default(&state.db, tenant)
        .await?
        .ok_or(ApiError::NotFound("stream"))
}
