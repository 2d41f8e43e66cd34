//! Building the full desired state of a stream from Postgres.

use shared::layer::Layer;
use shared::spec::{ChangeHint, StreamSpec};
use sqlx::PgConnection;

use crate::db::streams::StreamRow;
use crate::db::{layers, scenes};
use crate::error::ApiError;
use crate::ids::SceneId;

/// Loads the scenes and layers of `row` into a spec at the row's version.
pub async fn load(
    conn: &mut PgConnection,
    row: &StreamRow,
    change: Option<ChangeHint>,
) -> Result<StreamSpec, ApiError> {
    let scenes = scenes::list(&mut *conn, row.id).await?;
    let layers = layers::list(&mut *conn, row.id, None)
        .await?
        .into_iter()
        .map(Layer::try_from)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| ApiError::Internal(e.into()))?;
    let active_scene_id = row
        .active_scene_id
        .map(SceneId::get)
        .or_else(|| scenes.first().map(|s| s.id))
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("stream {} has no scene", row.id)))?;
    Ok(StreamSpec {
        stream_id: row.id.get(),
        tenant_id: row.tenant_id.clone(),
        version: row.version,
        desired: row.desired(),
        config: row.config.0.clone(),
        scenes,
        active_scene_id,
        layers,
        change,
    })
}
