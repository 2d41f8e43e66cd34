//! `/scenes`: named groups of layers, and switching the one on air.

use axum::body::Bytes;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use shared::events::EventType;
use shared::scene::{Scene, validate_scene_name};
use shared::spec::ChangeHint;
use shared::transition::SceneTransition;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::db::{is_unique_violation, scenes, streams};
use crate::dispatch::write::{Announce, StreamWrite};
use crate::error::{ApiError, ErrorEnvelope};
use crate::extract::{ApiJson, PathIds, TenantStream, json};
use crate::ids::SceneId;
use crate::limits::quotas::{Counted, reserve};
use crate::response::{ApiResult, Created, ok};
use crate::state::AppState;

/// Most scenes one stream may have.
const MAX_SCENES: i64 = 32;

/// Routes of this resource.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_scenes, create_scene))
        .routes(routes!(activate))
}

/// A scene and whether it is on air.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SceneView {
    id: SceneId,
    name: String,
    active: bool,
}

/// The list answer.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SceneList {
    scenes: Vec<SceneView>,
    active_scene_id: Option<SceneId>,
}

/// Body of `POST /scenes`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateScene {
    #[schema(min_length = 1, max_length = 100)]
    name: String,
}

/// Body of `POST /scenes/{id}/activate` (optional: a cut when absent).
#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct Activate {
    #[serde(default)]
    transition: SceneTransition,
}

/// The answer to an activation.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Activated {
    active_scene_id: SceneId,
    transition: SceneTransition,
    version: i64,
}

/// The stream's scenes.
#[utoipa::path(get, path = "/scenes", tag = "scenes",
    responses((status = 200, body = SceneList), (status = 401, body = ErrorEnvelope)))]
async fn list_scenes(State(state): State<AppState>, ctx: TenantStream) -> ApiResult<SceneList> {
    let active = ctx.stream.active_scene_id;
    let scenes = scenes::list(&state.db, ctx.stream.id)
        .await?
        .into_iter()
        .map(|s| SceneView {
            active: Some(SceneId::from(s.id)) == active,
            id: s.id.into(),
            name: s.name,
        })
        .collect();
    ok(SceneList {
        scenes,
        active_scene_id: active,
    })
}

/// Adds a scene (not on air until activated).
#[utoipa::path(post, path = "/scenes", tag = "scenes", request_body = CreateScene,
    responses((status = 201, body = Scene), (status = 409, body = ErrorEnvelope),
              (status = 422, body = ErrorEnvelope)))]
async fn create_scene(
    State(state): State<AppState>,
    ctx: TenantStream,
    ApiJson(body): ApiJson<CreateScene>,
) -> Result<Created<Scene>, ApiError> {
    validate_scene_name(&body.name)?;
    let _gate = state.gates.enter(&ctx.tenant).await;
    let mut tx = state.db.begin().await?;
    reserve(&mut tx, &state.config.quotas, &ctx.tenant, Counted::Scenes).await?;
    if scenes::count(&mut *tx, ctx.stream.id).await? >= MAX_SCENES {
        return Err(ApiError::conflict(
            "scene_limit",
            format!("a stream may have at most {MAX_SCENES} scenes"),
        ));
    }
    let id = SceneId::random();
    match scenes::insert(&mut *tx, id, ctx.stream.id, &body.name).await {
        Ok(()) => Ok(tx.commit().await.map(|()| {
            Created(Scene {
                id: id.get(),
                name: body.name,
            })
        })?),
        Err(e) if is_unique_violation(&e, "scenes_name_unique") => Err(ApiError::conflict(
            "scene_exists",
            format!("a scene named {:?} already exists", body.name),
        )),
        Err(e) => Err(e.into()),
    }
}

/// Puts a scene on air with a cut, fade or slide.
#[utoipa::path(post, path = "/scenes/{id}/activate", tag = "scenes", params(("id" = Uuid, Path)),
    request_body(content = Option<Activate>, description = "optional; a cut when absent"),
    responses((status = 200, body = Activated), (status = 404, body = ErrorEnvelope),
              (status = 422, body = ErrorEnvelope)))]
async fn activate(
    State(state): State<AppState>,
    ctx: TenantStream,
    ids: PathIds,
    body: Bytes,
) -> ApiResult<Activated> {
    let scene_id: SceneId = ids.id("id", "scene")?;
    let body: Activate = if body.iter().all(u8::is_ascii_whitespace) {
        Activate::default()
    } else {
        json::parse(&body)?
    };
    body.transition
        .validate()
        .map_err(|e| e.within("transition"))?;
    let mut write = StreamWrite::begin(&state, &ctx.tenant, ctx.stream.id).await?;
    let stream_id = write.stream_id();
    scenes::find(write.conn(), stream_id, scene_id)
        .await?
        .ok_or(ApiError::NotFound("scene"))?;
    streams::set_active_scene(write.conn(), stream_id, scene_id).await?;
    let hint = ChangeHint::Scene {
        scene_id: scene_id.get(),
        transition: body.transition,
    };
    let answer = Activated {
        active_scene_id: scene_id,
        transition: body.transition,
        version: write.next_version(),
    };
    let event = Announce::event(EventType::SceneActivate, &answer);
    write.commit(Some(hint), event).await?;
    ok(answer)
}
