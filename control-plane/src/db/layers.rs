//! `layers`: the elements of a stream's scenes.

use serde_json::Value;
use shared::audio::LayerAudio;
use shared::effect::parse_effects;
use shared::layer::{Layer, LayerKind, LayerSource, Position, Size};
use sqlx::PgExecutor;
use sqlx::types::Json;

use crate::ids::{LayerId, SceneId, StreamId};

/// A layer row as stored.
#[derive(Debug)]
pub struct LayerRow {
    pub id: LayerId,
    pub scene_id: SceneId,
    pub name: String,
    pub kind: String,
    pub source: Json<Value>,
    pub visible: bool,
    pub x: i32,
    pub y: i32,
    pub width: i32,
    pub height: i32,
    pub opacity: f32,
    pub z_index: i32,
    pub audio: Json<Value>,
    pub effects: Json<Value>,
}

/// A stored row that no longer parses (a bug or a manual edit): reported as an internal error.
#[derive(Debug, thiserror::Error)]
#[error("layer {id} in the database is invalid: {reason}")]
pub struct CorruptLayer {
    pub id: LayerId,
    pub reason: String,
}

impl TryFrom<LayerRow> for Layer {
    type Error = CorruptLayer;

    fn try_from(r: LayerRow) -> Result<Self, CorruptLayer> {
        let corrupt = |reason: String| CorruptLayer { id: r.id, reason };
        let kind = LayerKind::parse(&r.kind).ok_or_else(|| corrupt(format!("kind {}", r.kind)))?;
        let source = LayerSource::parse(kind, r.source.0).map_err(|e| corrupt(e.to_string()))?;
        let audio: LayerAudio =
            serde_json::from_value(r.audio.0).map_err(|e| corrupt(format!("audio: {e}")))?;
        let effects = parse_effects(r.effects.0).map_err(|e| corrupt(e.to_string()))?;
        Ok(Layer {
            id: r.id.get(),
            scene_id: r.scene_id.get(),
            name: r.name,
            kind,
            source,
            visible: r.visible,
            position: Position { x: r.x, y: r.y },
            size: Size {
                width: r.width,
                height: r.height,
            },
            opacity: r.opacity,
            z_index: r.z_index,
            audio,
            effects,
        })
    }
}

/// The stream's layers, optionally of one scene, bottom first.
#[tracing::instrument(skip(db))]
pub async fn list(
    db: impl PgExecutor<'_>,
    stream_id: StreamId,
    scene_id: Option<SceneId>,
) -> sqlx::Result<Vec<LayerRow>> {
    sqlx::query_as!(
        LayerRow,
        r#"SELECT id AS "id: LayerId", scene_id AS "scene_id: SceneId", name, kind,
                  source AS "source: Json<Value>", visible,
                  x, y, width, height, opacity, z_index, audio AS "audio: Json<Value>",
                  effects AS "effects: Json<Value>"
           FROM layers WHERE stream_id = $1 AND ($2::uuid IS NULL OR scene_id = $2)
           ORDER BY z_index, created_at, id"#,
        stream_id as _,
        scene_id as _
    )
    .fetch_all(db)
    .await
}

/// One layer of the stream.
#[tracing::instrument(skip(db))]
pub async fn find(
    db: impl PgExecutor<'_>,
    stream_id: StreamId,
    id: LayerId,
) -> sqlx::Result<Option<LayerRow>> {
    sqlx::query_as!(
        LayerRow,
        r#"SELECT id AS "id: LayerId", scene_id AS "scene_id: SceneId", name, kind,
                  source AS "source: Json<Value>", visible,
                  x, y, width, height, opacity, z_index, audio AS "audio: Json<Value>",
                  effects AS "effects: Json<Value>"
           FROM layers WHERE stream_id = $1 AND id = $2"#,
        stream_id as _,
        id as _
    )
    .fetch_optional(db)
    .await
}

/// How many layers the stream has across its scenes.
pub async fn count(db: impl PgExecutor<'_>, stream_id: StreamId) -> sqlx::Result<i64> {
    sqlx::query_scalar!(
        r#"SELECT count(*) AS "n!" FROM layers WHERE stream_id = $1"#,
        stream_id as _
    )
    .fetch_one(db)
    .await
}

/// Inserts a layer.
#[tracing::instrument(skip(db, l), fields(layer_id = %l.id))]
pub async fn insert(db: impl PgExecutor<'_>, stream_id: StreamId, l: &Layer) -> sqlx::Result<()> {
    sqlx::query!(
        r#"INSERT INTO layers (id, stream_id, scene_id, name, kind, source, visible,
                               x, y, width, height, opacity, z_index, audio, effects)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)"#,
        l.id,
        stream_id as _,
        l.scene_id,
        l.name,
        l.kind.as_str(),
        Json(&l.source) as _,
        l.visible,
        l.position.x,
        l.position.y,
        l.size.width,
        l.size.height,
        l.opacity,
        l.z_index,
        Json(&l.audio) as _,
        Json(&l.effects) as _
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Writes every mutable field of a layer.
#[tracing::instrument(skip(db, l), fields(layer_id = %l.id))]
pub async fn update(db: impl PgExecutor<'_>, stream_id: StreamId, l: &Layer) -> sqlx::Result<()> {
    sqlx::query!(
        r#"UPDATE layers SET name = $3, source = $4, visible = $5, x = $6, y = $7,
                  width = $8, height = $9, opacity = $10, z_index = $11, audio = $12,
                  effects = $13,
                  updated_at = now()
           WHERE stream_id = $1 AND id = $2"#,
        stream_id as _,
        l.id,
        l.name,
        Json(&l.source) as _,
        l.visible,
        l.position.x,
        l.position.y,
        l.size.width,
        l.size.height,
        l.opacity,
        l.z_index,
        Json(&l.audio) as _,
        Json(&l.effects) as _
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Deletes a layer of the stream.
#[tracing::instrument(skip(db))]
pub async fn delete(
    db: impl PgExecutor<'_>,
    stream_id: StreamId,
    id: LayerId,
) -> sqlx::Result<bool> {
    let r = sqlx::query!(
        "DELETE FROM layers WHERE stream_id = $1 AND id = $2",
        stream_id as _,
        id as _
    )
    .execute(db)
    .await?;
    Ok(r.rows_affected() == 1)
}
