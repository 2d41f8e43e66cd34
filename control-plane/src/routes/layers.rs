//! `/layers`: the elements of a stream's scenes, changed live.

use axum::extract::{Query, State};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use shared::audio::{AudioPatch, LayerAudio};
use shared::effect::{Effect, parse_effects};
use shared::events::EventType;
use shared::fallback::{FallbackRung, SlateRef};
use shared::layer::{
    ImageSource, Layer, LayerKind, LayerSource, Position, Size, validate_name, validate_opacity,
    validate_z_index,
};
use shared::media_url::UrlUse;
use shared::spec::ChangeHint;
use shared::transition::Transition;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::db::{assets, keys, layers, scenes};
use crate::dispatch::write::{Announce, StreamWrite};
use crate::error::{ApiError, ErrorEnvelope};
use crate::extract::{ApiJson, PathIds, TenantStream};
use crate::ids::{AssetId, KeyId, LayerId, SceneId, StreamId};
use crate::limits::quotas::{Counted, reserve};
use crate::response::{ApiResult, Created, ok};
use crate::state::AppState;

/// Routes of this resource.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_layers, create_layer))
        .routes(routes!(get_layer, patch_layer, delete_layer))
}

/// The list answer.
#[derive(Serialize, ToSchema)]
pub struct LayerList {
    layers: Vec<Layer>,
    count: usize,
}

/// `?sceneId=` filter.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
pub struct LayerFilter {
    scene_id: Option<SceneId>,
}

/// Body of `POST /layers`.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateLayer {
    name: Option<String>,
    kind: LayerKind,
    /// Shape depends on `kind`: color `{color}`, image `{assetId}` or `{url}`,
    /// text `{text, fontFamily, fontSize, color, align, verticalAlign, wrap, lineHeight,
    /// fontWeight, italic, outline, shadow, background, autoFit}` (see `TextSource`; `text`
    /// may hold `{{clock:HH:mm:ss}}`, `{{date:yyyy-MM-dd}}`, `{{countdown:RFC3339}}`),
    /// video `{uri, loop}`, ingest `{keyId}`.
    #[schema(value_type = Object)]
    source: Value,
    visible: Option<bool>,
    position: Option<Position>,
    /// Defaults to the whole canvas.
    size: Option<Size>,
    opacity: Option<f32>,
    /// Defaults to above every existing layer.
    z_index: Option<i32>,
    /// Defaults to the active scene.
    scene_id: Option<SceneId>,
    /// Effects applied to the layer's pixels in order (crop, rotate, cornerRadius, border,
    /// shadow, chromaKey, colorAdjust, blur, mask, flip); none by default.
    #[schema(value_type = Option<Vec<Effect>>)]
    effects: Option<Value>,
    /// How the layer's sound enters the programme (video and ingest layers); defaults to
    /// volume 1, not muted, centred, no delay.
    audio: Option<LayerAudio>,
}

/// Body of `PATCH /layers/{id}`: any subset of the layer's fields.
#[derive(Deserialize, ToSchema, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PatchLayer {
    name: Option<String>,
    #[schema(value_type = Option<Object>)]
    source: Option<Value>,
    visible: Option<bool>,
    position: Option<Position>,
    size: Option<Size>,
    opacity: Option<f32>,
    z_index: Option<i32>,
    /// Replaces the whole effect list (`[]` removes every effect).
    #[schema(value_type = Option<Vec<Effect>>)]
    effects: Option<Value>,
    /// Changes the fields of the layer's fader it names, live and without clicks (each
    /// change is ramped over 30 ms on air).
    audio: Option<AudioPatch>,
    /// Animates position, size, opacity and the effects' numbers to their new values
    /// (effects coming in grow from their neutral strength, e.g. a blur from radius 0).
    transition: Option<Transition>,
}

/// Checks what only the server can: URLs against the media policy, and that referenced
/// assets and keys are the tenant's own (others read as absent: 404).
async fn check_source(
    state: &AppState,
    tenant: &str,
    source: &LayerSource,
) -> Result<(), ApiError> {
    if let Some((field, url)) = source.media_url() {
        let what = if source.kind() == LayerKind::Image {
            UrlUse::Image
        } else {
            UrlUse::Video
        };
        state.media().check(field, url, what)?;
    }
    for (field, url) in source.pulled_urls() {
        state.media().check(&field, url, UrlUse::Pull)?;
    }
    let found = match source {
        LayerSource::Image(ImageSource::Asset { asset_id }) => {
            assets::exists(&state.db, tenant, AssetId::from(*asset_id)).await?
        }
        LayerSource::Ingest(i) => match i.key_id {
            Some(key_id) => keys::belongs_to(&state.db, tenant, KeyId::from(key_id)).await?,
            None => true,
        },
        _ => true,
    };
    // Every rung of a fallback ladder must be the tenant's own too.
    if let LayerSource::Ingest(i) = source {
        for rung in &i.fallbacks {
            match rung {
                FallbackRung::Ingest { key_id } => {
                    if !keys::belongs_to(&state.db, tenant, KeyId::from(*key_id)).await? {
                        return Err(ApiError::NotFound("stream key"));
                    }
                }
                FallbackRung::Slate {
                    slate: SlateRef::Asset(id),
                } => {
                    if !assets::exists(&state.db, tenant, AssetId::from(*id)).await? {
                        return Err(ApiError::NotFound("asset"));
                    }
                }
                FallbackRung::Slate {
                    slate: SlateRef::Default,
                }
                | FallbackRung::Pull { .. } => {}
            }
        }
    }
    if !found {
        return Err(ApiError::NotFound(if source.kind() == LayerKind::Ingest {
            "stream key"
        } else {
            "asset"
        }));
    }
    Ok(())
}

/// Checks that the assets effects read (masks) are the tenant's own.
async fn check_effects(state: &AppState, tenant: &str, effects: &[Effect]) -> Result<(), ApiError> {
    for id in effects.iter().filter_map(Effect::asset_id) {
        if !assets::exists(&state.db, tenant, AssetId::from(id)).await? {
            return Err(ApiError::NotFound("asset"));
        }
    }
    Ok(())
}

/// One layer of the stream, read through `conn` (a pool or the write's transaction).
async fn find_layer(
    conn: impl sqlx::PgExecutor<'_>,
    stream_id: StreamId,
    id: LayerId,
) -> Result<Layer, ApiError> {
    let row = layers::find(conn, stream_id, id)
        .await?
        .ok_or(ApiError::NotFound("layer"))?;
    Layer::try_from(row).map_err(|e| ApiError::Internal(e.into()))
}

/// The `layer:update` event: what happened to which layer, what changed, and the layer now.
fn layer_event(id: Uuid, action: &str, changes: Value, layer: Option<&Layer>) -> Announce {
    let data = json!({ "id": id, "action": action, "changes": changes, "layer": layer });
    Announce::Event(EventType::LayerUpdate, data)
}

/// The stream's layers, bottom first; `?sceneId=` keeps one scene's.
#[utoipa::path(get, path = "/layers", tag = "layers", params(LayerFilter),
    responses((status = 200, body = LayerList), (status = 401, body = ErrorEnvelope)))]
async fn list_layers(
    State(state): State<AppState>,
    ctx: TenantStream,
    filter: Result<Query<LayerFilter>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<LayerList> {
    let Query(filter) = filter.map_err(|e| ApiError::invalid("sceneId", e.body_text()))?;
    let rows = layers::list(&state.db, ctx.stream.id, filter.scene_id).await?;
    let layers = rows
        .into_iter()
        .map(Layer::try_from)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| ApiError::Internal(e.into()))?;
    ok(LayerList {
        count: layers.len(),
        layers,
    })
}

/// Adds a layer to a scene (the active one by default); live streams show it at once.
#[utoipa::path(post, path = "/layers", tag = "layers", request_body = CreateLayer,
    responses((status = 201, body = Layer), (status = 404, body = ErrorEnvelope),
              (status = 409, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)))]
async fn create_layer(
    State(state): State<AppState>,
    ctx: TenantStream,
    ApiJson(body): ApiJson<CreateLayer>,
) -> Result<Created<Layer>, ApiError> {
    let source = LayerSource::parse(body.kind, body.source)?;
    let effects = match body.effects {
        Some(v) => parse_effects(v)?,
        None => Vec::new(),
    };
    let canvas = ctx.stream.config.0.resolution;
    let mut layer = Layer {
        id: LayerId::random().get(),
        scene_id: Uuid::nil(),
        name: body.name.unwrap_or_else(|| body.kind.as_str().to_owned()),
        kind: body.kind,
        source,
        visible: body.visible.unwrap_or(true),
        position: body.position.unwrap_or_default(),
        size: body.size.unwrap_or(Size {
            width: canvas.width as i32,
            height: canvas.height as i32,
        }),
        opacity: body.opacity.unwrap_or(1.0),
        z_index: body.z_index.unwrap_or(0),
        effects,
        audio: body.audio.unwrap_or_default(),
    };
    layer.validate()?;
    check_source(&state, &ctx.tenant, &layer.source).await?;
    check_effects(&state, &ctx.tenant, &layer.effects).await?;

    let mut write = StreamWrite::begin(&state, &ctx.tenant, ctx.stream.id).await?;
    let stream_id = write.stream_id();
    let scene_id = match body.scene_id {
        Some(id) => scenes::find(write.conn(), stream_id, id)
            .await?
            .map(|s| SceneId::from(s.id))
            .ok_or(ApiError::NotFound("scene"))?,
        None => write
            .row()
            .active_scene_id
            .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("stream has no active scene")))?,
    };
    layer.scene_id = scene_id.get();
    reserve(
        write.conn(),
        &state.config.quotas,
        &ctx.tenant,
        Counted::Layers,
    )
    .await?;
    let max = write.row().config.0.max_layers;
    let existing = layers::list(write.conn(), stream_id, None).await?;
    if existing.len() as u32 >= max {
        return Err(ApiError::conflict(
            "layer_limit",
            format!("MAX_LAYERS is {max}: remove a layer or raise MAX_LAYERS"),
        ));
    }
    if body.z_index.is_none() {
        layer.z_index = existing
            .iter()
            .filter(|l| l.scene_id == scene_id)
            .map(|l| l.z_index + 1)
            .max()
            .unwrap_or(0)
            .min(10_000);
    }
    layers::insert(write.conn(), stream_id, &layer).await?;
    let event = layer_event(layer.id, "created", json!({}), Some(&layer));
    write.commit(None, event).await?;
    tracing::info!(tenant = %ctx.tenant, %stream_id, layer_id = %layer.id, kind = layer.kind.as_str(), "layer created");
    Ok(Created(layer))
}

/// One layer.
#[utoipa::path(get, path = "/layers/{id}", tag = "layers", params(("id" = Uuid, Path)),
    responses((status = 200, body = Layer), (status = 404, body = ErrorEnvelope)))]
async fn get_layer(
    State(state): State<AppState>,
    ctx: TenantStream,
    ids: PathIds,
) -> ApiResult<Layer> {
    let id = ids.id("id", "layer")?;
    ok(find_layer(&state.db, ctx.stream.id, id).await?)
}

/// Checks every field a patch sets, before anything is locked.
fn validate_patch(patch: &PatchLayer) -> Result<(), ApiError> {
    if let Some(name) = &patch.name {
        validate_name(name)?;
    }
    if let Some(o) = patch.opacity {
        validate_opacity(o)?;
    }
    if let Some(z) = patch.z_index {
        validate_z_index(z)?;
    }
    if let Some(p) = &patch.position {
        p.validate()?;
    }
    if let Some(s) = &patch.size {
        s.validate()?;
    }
    if let Some(t) = &patch.transition {
        t.validate().map_err(|e| e.within("transition"))?;
    }
    if let Some(a) = &patch.audio {
        a.validate()?;
    }
    Ok(())
}

/// Changes a layer; with `transition` the change is animated on air.
#[utoipa::path(patch, path = "/layers/{id}", tag = "layers", params(("id" = Uuid, Path)),
    request_body = PatchLayer,
    responses((status = 200, body = Layer), (status = 404, body = ErrorEnvelope),
              (status = 422, body = ErrorEnvelope)))]
async fn patch_layer(
    State(state): State<AppState>,
    ctx: TenantStream,
    ids: PathIds,
    ApiJson(mut patch): ApiJson<PatchLayer>,
) -> ApiResult<Layer> {
    let id = ids.id("id", "layer")?;
    validate_patch(&patch)?;
    let effects = match patch.effects.take() {
        Some(v) => {
            let effects = parse_effects(v)?;
            check_effects(&state, &ctx.tenant, &effects).await?;
            Some(effects)
        }
        None => None,
    };

    let mut write = StreamWrite::begin(&state, &ctx.tenant, ctx.stream.id).await?;
    let stream_id = write.stream_id();
    let mut layer = find_layer(write.conn(), stream_id, id).await?;
    let mut changes = serde_json::Map::new();
    if let Some(source) = patch.source {
        let source = LayerSource::parse(layer.kind, source)?;
        check_source(&state, &ctx.tenant, &source).await?;
        changes.insert("source".into(), json!(source));
        layer.source = source;
    }
    macro_rules! apply {
        ($field:ident, $key:literal) => {
            if let Some(v) = patch.$field {
                changes.insert($key.into(), json!(v));
                layer.$field = v;
            }
        };
    }
    apply!(name, "name");
    apply!(visible, "visible");
    apply!(position, "position");
    apply!(size, "size");
    apply!(opacity, "opacity");
    apply!(z_index, "zIndex");
    if let Some(e) = effects {
        changes.insert("effects".into(), json!(e));
        layer.effects = e;
    }
    if let Some(a) = &patch.audio {
        layer.audio = a.apply(layer.audio);
        changes.insert("audio".into(), json!(layer.audio));
    }
    layers::update(write.conn(), stream_id, &layer).await?;
    if let Some(t) = &patch.transition {
        changes.insert("transition".into(), json!(t));
    }
    let hint = patch.transition.map(|transition| ChangeHint::Layer {
        layer_id: layer.id,
        transition,
    });
    let event = layer_event(layer.id, "updated", Value::Object(changes), Some(&layer));
    write.commit(hint, event).await?;
    ok(layer)
}

/// Removes a layer; live streams drop it at once.
#[utoipa::path(delete, path = "/layers/{id}", tag = "layers", params(("id" = Uuid, Path)),
    responses((status = 200, body = Layer), (status = 404, body = ErrorEnvelope)))]
async fn delete_layer(
    State(state): State<AppState>,
    ctx: TenantStream,
    ids: PathIds,
) -> ApiResult<Layer> {
    let id: LayerId = ids.id("id", "layer")?;
    let mut write = StreamWrite::begin(&state, &ctx.tenant, ctx.stream.id).await?;
    let stream_id = write.stream_id();
    let layer = find_layer(write.conn(), stream_id, id).await?;
    layers::delete(write.conn(), stream_id, id).await?;
    write
        .commit(None, layer_event(layer.id, "deleted", json!({}), None))
        .await?;
    ok(layer)
}
