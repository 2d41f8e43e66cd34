//! `/keys`: stream keys encoders publish with. The value is shown once, at creation.

use crate::db::keys::{self, KeyRow, hash_key};
use crate::db::unix_ms;
use crate::error::{ApiError, ErrorEnvelope};
use crate::extract::{PathIds, TenantStream};
use crate::ids::KeyId;
use crate::limits::quotas::{Counted, reserve};
use crate::response::{ApiResult, Created, ok};
use crate::state::AppState;
use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Most keys one stream may have.
const MAX_KEYS_PER_STREAM: usize = 20;

/// Routes of this resource.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_keys, create_key))
        .routes(routes!(delete_key))
}

/// A key as listed: masked.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct KeyView {
    id: KeyId,
    /// Masked: only the last characters are shown.
    key: String,
    created_at: i64,
    /// When an encoder last started publishing with it.
    last_used: Option<i64>,
    /// Whether an encoder is publishing with it now.
    publishing: bool,
}

impl KeyView {
    fn new(k: KeyRow, publishing: bool) -> Self {
        KeyView {
            id: k.id,
            key: k.masked,
            created_at: unix_ms(k.created_at),
            last_used: k.last_used_at.map(unix_ms),
            publishing,
        }
    }
}

/// The list answer.
#[derive(Serialize, ToSchema)]
pub struct KeyList {
    keys: Vec<KeyView>,
}

/// A new key, with its full value: the only time it is ever shown.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NewKey {
    id: KeyId,
    key: String,
    created_at: i64,
    /// Where the encoder publishes: this URL as the server, the key as the stream key.
    ingest_url: String,
}

/// A fresh key: 192 random bits, hex, with a recognisable prefix.
fn generate_key() -> Result<String, ApiError> {
    let mut bytes = [0u8; 24];
    getrandom::fill(&mut bytes)
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("no randomness: {e}")))?;
    Ok(format!("sk_{}", hex::encode(bytes)))
}

fn mask(key: &str) -> String {
    let tail = &key[key.len().saturating_sub(4)..];
    format!("sk_****{tail}")
}

/// The stream's keys, masked.
#[utoipa::path(get, path = "/keys", tag = "keys",
    responses((status = 200, body = KeyList), (status = 401, body = ErrorEnvelope)))]
async fn list_keys(State(state): State<AppState>, ctx: TenantStream) -> ApiResult<KeyList> {
    let rows = keys::list(&state.db, ctx.stream.id).await?;
    let ids: Vec<KeyId> = rows.iter().map(|k| k.id).collect();
    let publishing = crate::ingest::publishing(&state, &ids).await;
    ok(KeyList {
        keys: rows
            .into_iter()
            .zip(publishing)
            .map(|(k, p)| KeyView::new(k, p))
            .collect(),
    })
}

/// Creates a key and returns its value once.
#[utoipa::path(post, path = "/keys", tag = "keys",
    responses((status = 201, body = NewKey), (status = 409, body = ErrorEnvelope)))]
async fn create_key(
    State(state): State<AppState>,
    ctx: TenantStream,
) -> Result<Created<NewKey>, ApiError> {
    let _gate = state.gates.enter(&ctx.tenant).await;
    let mut tx = state.db.begin().await?;
    reserve(&mut tx, &state.config.quotas, &ctx.tenant, Counted::Keys).await?;
    if keys::list(&mut *tx, ctx.stream.id).await?.len() >= MAX_KEYS_PER_STREAM {
        return Err(ApiError::conflict(
            "key_limit",
            format!("a stream may have at most {MAX_KEYS_PER_STREAM} keys"),
        ));
    }
    let key = generate_key()?;
    let row = keys::insert(
        &mut *tx,
        KeyId::random(),
        &ctx.tenant,
        ctx.stream.id,
        &hash_key(&key),
        &mask(&key),
    )
    .await?;
    tx.commit().await?;
    tracing::info!(tenant = %ctx.tenant, stream_id = %ctx.stream.id, key_id = %row.id, "stream key created");
    Ok(Created(NewKey {
        id: row.id,
        key,
        created_at: unix_ms(row.created_at),
        ingest_url: state.config.ingest_url.clone(),
    }))
}

/// Deletes a key; a feed publishing with it is cut.
#[utoipa::path(delete, path = "/keys/{id}", tag = "keys", params(("id" = Uuid, Path)),
    responses((status = 200, body = Object), (status = 404, body = ErrorEnvelope)))]
async fn delete_key(
    State(state): State<AppState>,
    ctx: TenantStream,
    ids: PathIds,
) -> ApiResult<serde_json::Value> {
    let id: KeyId = ids.id("id", "stream key")?;
    let hash = keys::delete(&state.db, ctx.stream.id, id)
        .await?
        .ok_or(ApiError::NotFound("stream key"))?;
    crate::ingest::forget(&state, &[hash]).await;
    tracing::info!(tenant = %ctx.tenant, stream_id = %ctx.stream.id, key_id = %id, "stream key deleted");
    ok(serde_json::json!({ "id": id, "deleted": true }))
}
