//! `/streams`: list, create, read and delete a tenant's streams.

use crate::db::streams::{self, StreamRow};
use crate::db::unix_ms;
use crate::error::{ApiError, ErrorEnvelope};
use crate::extract::{ApiJson, PathIds, Tenant};
use crate::ids::{SceneId, StreamId};
use crate::response::{ApiResult, Created, ok};
use crate::routes::config::check_outputs;
use crate::state::AppState;
use crate::streams::create_stream;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use shared::spec::DesiredState;
use shared::stream_config::StreamConfig;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Routes of this resource.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_streams, create))
        .routes(routes!(get_stream, delete_stream))
}

/// A stream as listed.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StreamSummary {
    pub id: StreamId,
    pub name: String,
    pub is_default: bool,
    pub desired_state: DesiredState,
    pub version: i64,
    pub active_scene_id: Option<SceneId>,
    pub created_at: i64,
}

impl From<&StreamRow> for StreamSummary {
    fn from(r: &StreamRow) -> Self {
        StreamSummary {
            id: r.id,
            name: r.name.clone(),
            is_default: r.is_default,
            desired_state: r.desired(),
            version: r.version,
            active_scene_id: r.active_scene_id,
            created_at: unix_ms(r.created_at),
        }
    }
}

/// The list answer.
#[derive(Serialize, ToSchema)]
pub struct StreamList {
    streams: Vec<StreamSummary>,
    count: usize,
}

/// Body of `POST /streams`.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateStream {
    #[schema(min_length = 1, max_length = 100)]
    name: String,
    /// Settings; defaults apply to what is left out.
    #[serde(default)]
    config: Option<serde_json::Value>,
}

/// Lists the tenant's streams.
#[utoipa::path(get, path = "/streams", tag = "streams",
    responses((status = 200, body = StreamList), (status = 401, body = ErrorEnvelope)))]
async fn list_streams(
    State(state): State<AppState>,
    Tenant(tenant): Tenant,
) -> ApiResult<StreamList> {
    let rows = streams::list(&state.db, &tenant).await?;
    let streams: Vec<StreamSummary> = rows.iter().map(StreamSummary::from).collect();
    ok(StreamList {
        count: streams.len(),
        streams,
    })
}

/// Creates a stream with a `main` scene.
#[utoipa::path(post, path = "/streams", tag = "streams", request_body = CreateStream,
    responses((status = 201, body = StreamSummary), (status = 409, body = ErrorEnvelope),
              (status = 422, body = ErrorEnvelope)))]
async fn create(
    State(state): State<AppState>,
    Tenant(tenant): Tenant,
    ApiJson(body): ApiJson<CreateStream>,
) -> Result<Created<StreamSummary>, ApiError> {
    shared::scene::validate_scene_name(&body.name)?;
    let config = match body.config {
        Some(patch) => crate::routes::config::merge(&StreamConfig::default(), patch)?,
        None => StreamConfig::default(),
    };
    check_outputs(&state, &config)?;
    let row = create_stream(&state, &tenant, &body.name, false, &config)
        .await?
        .ok_or(ApiError::NotFound("stream"))?;
    Ok(Created(StreamSummary::from(&row)))
}

/// One stream.
#[utoipa::path(get, path = "/streams/{streamId}", tag = "streams",
    params(("streamId" = Uuid, Path)),
    responses((status = 200, body = StreamSummary), (status = 404, body = ErrorEnvelope)))]
async fn get_stream(
    State(state): State<AppState>,
    Tenant(tenant): Tenant,
    ids: PathIds,
) -> ApiResult<StreamSummary> {
    let id: StreamId = ids.id("streamId", "stream")?;
    let row = streams::find(&state.db, &tenant, id)
        .await?
        .ok_or(ApiError::NotFound("stream"))?;
    ok(StreamSummary::from(&row))
}

/// Deletes a stopped stream with its scenes, layers and keys.
#[utoipa::path(delete, path = "/streams/{streamId}", tag = "streams",
    params(("streamId" = Uuid, Path)),
    responses((status = 200, body = StreamSummary), (status = 404, body = ErrorEnvelope),
              (status = 409, body = ErrorEnvelope)))]
async fn delete_stream(
    State(state): State<AppState>,
    Tenant(tenant): Tenant,
    ids: PathIds,
) -> ApiResult<StreamSummary> {
    let id: StreamId = ids.id("streamId", "stream")?;
    let mut tx = state.db.begin().await?;
    let row = streams::lock(&mut *tx, &tenant, id)
        .await?
        .ok_or(ApiError::NotFound("stream"))?;
    if row.desired().is_on_air() {
        return Err(ApiError::conflict(
            "stream_live",
            "stop the stream before deleting it",
        ));
    }
    let key_hashes = crate::db::keys::hashes_of_stream(&mut *tx, id).await?;
    streams::delete(&mut *tx, &tenant, id).await?;
    tx.commit().await?;
    crate::ingest::forget(&state, &key_hashes).await;
    tracing::info!(tenant, stream_id = %id, "stream deleted");
    ok(StreamSummary::from(&row))
}
