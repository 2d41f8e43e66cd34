//! `/config`: a stream's output settings.
//!
//! Outputs' credentials (`rtmp://user:pass@…`) are never answered back: answers show them
//! as `****@`, and a PATCH that sends such a masked URL back keeps the stored credentials.

use axum::extract::State;
use serde_json::Value;
use shared::media_url::UrlUse;
use shared::stream_config::StreamConfig;
use shared::tenant_text::mask_userinfo;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::db::{layers, streams};
use crate::dispatch::write::{Announce, StreamWrite};
use crate::error::{ApiError, ErrorEnvelope};
use crate::extract::{ApiJson, TenantStream, json};
use crate::response::{ApiResult, ok};
use crate::state::AppState;

/// Routes of this resource.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_config, patch_config))
}

/// Overlays a partial document on `current` and checks the result.
pub fn merge(current: &StreamConfig, patch: Value) -> Result<StreamConfig, ApiError> {
    let Value::Object(patch) = patch else {
        return Err(ApiError::invalid("body", "must be a JSON object"));
    };
    let mut doc = serde_json::to_value(current).map_err(|e| ApiError::Internal(e.into()))?;
    if let Value::Object(map) = &mut doc {
        for (k, v) in patch {
            map.insert(k, v);
        }
    }
    let config: StreamConfig = json::from_value(doc)?;
    config.validate()?;
    Ok(config)
}

/// The config as a tenant is shown it: outputs' credentials masked.
pub fn shown(mut config: StreamConfig) -> StreamConfig {
    for url in &mut config.outputs {
        *url = mask_userinfo(url);
    }
    config
}

/// Puts back the credentials of outputs the client sent as it was shown them.
fn unmask(config: &mut StreamConfig, current: &StreamConfig) {
    for url in &mut config.outputs {
        if let Some(stored) = current
            .outputs
            .iter()
            .find(|c| *c != url && mask_userinfo(c) == *url)
        {
            url.clone_from(stored);
        }
    }
}

/// Refuses outputs the node must not reach.
pub fn check_outputs(state: &AppState, config: &StreamConfig) -> Result<(), ApiError> {
    for (i, url) in config.outputs.iter().enumerate() {
        state
            .media()
            .check(&format!("outputs[{i}]"), url, UrlUse::Output)?;
    }
    Ok(())
}

/// The stream's settings.
#[utoipa::path(get, path = "/config", tag = "config",
    responses((status = 200, body = StreamConfig), (status = 401, body = ErrorEnvelope)))]
async fn get_config(ctx: TenantStream) -> ApiResult<StreamConfig> {
    ok(shown(ctx.stream.config.0))
}

/// Changes some settings; a live stream picks them up without stopping.
#[utoipa::path(patch, path = "/config", tag = "config", request_body = Object,
    responses((status = 200, body = StreamConfig), (status = 400, body = ErrorEnvelope),
              (status = 422, body = ErrorEnvelope)))]
async fn patch_config(
    State(state): State<AppState>,
    ctx: TenantStream,
    ApiJson(patch): ApiJson<Value>,
) -> ApiResult<StreamConfig> {
    let mut write = StreamWrite::begin(&state, &ctx.tenant, ctx.stream.id).await?;
    let stream_id = write.stream_id();
    let mut config = merge(&write.row().config.0, patch)?;
    unmask(&mut config, &write.row().config.0);
    check_outputs(&state, &config)?;
    let layer_count = layers::count(write.conn(), stream_id).await?;
    if i64::from(config.max_layers) < layer_count {
        return Err(ApiError::invalid(
            "MAX_LAYERS",
            format!("the stream already has {layer_count} layers"),
        ));
    }
    if config == write.row().config.0 {
        // Nothing to write and nothing to tell: dropping the write releases the lock.
        return ok(shown(config));
    }
    streams::set_config(write.conn(), stream_id, &config).await?;
    // Config changes have no event in the WebSocket contract.
    write.commit(None, Announce::Nothing).await?;
    ok(shown(config))
}
