//! `/internal/...`: the API render nodes use to claim, renew and release stream leases and to
//! fetch a stream's latest desired state. Authenticated by the shared `NODE_SECRET`; not in
//! the tenant-facing OpenAPI document.

use std::collections::{HashMap, HashSet};

use axum::Router;
use axum::extract::State;
use axum::routing::{get, post};
use secrecy::ExposeSecret;
use serde_json::json;
use shared::events::EventType;
use shared::node_api::lease::MAX_LEASES_PER_RENEWAL;
use shared::node_api::{
    Grant, IngestAuthorize, IngestCheck, IngestGrant, IngestRevoked, LeaseRef, LeaseState, Release,
    Renewal, paths, same_secret,
};
use shared::spec::StreamSpec;
use shared::tenant_text::{redact, truncate};
use uuid::Uuid;

use crate::db::{leases, node_leases, streams};
use crate::dispatch::commands;
use crate::dispatch::spec;
use crate::dispatch::tx::CommandTx;
use crate::error::ApiError;
use crate::extract::{ApiJson, Node, PathIds};
use crate::ids::{AssetId, KeyId, NodeId, StreamId};
use crate::response::{ApiResult, ok};
use crate::state::AppState;
use crate::webhooks::{self, WebhookEvent};

/// Longest failure text kept from a node.
const MAX_FAILURE_BYTES: usize = 500;

/// Routes of the node API.
pub fn router() -> Router<AppState> {
    Router::new()
        .route(paths::CLAIM, post(claim))
        .route(paths::LIVE, post(live))
        .route(paths::RELEASE, post(release))
        .route(paths::SPEC, get(latest_spec))
        .route(paths::RENEW, post(renew))
        .route(paths::ASSET, get(asset))
        .route(paths::INGEST_AUTHORIZE, post(authorize_ingest))
        .route(paths::INGEST_CHECK, post(check_ingest))
}

/// Whose stream key an encoder presented to a node; 404 when it is unknown or deleted.
async fn authorize_ingest(
    State(state): State<AppState>,
    Node(node): Node,
    ApiJson(body): ApiJson<IngestAuthorize>,
) -> ApiResult<IngestGrant> {
    // Never log the key itself: only whose it turned out to be.
    let grant = crate::ingest::authorize(&state, &body.stream_key)
        .await?
        .ok_or(ApiError::NotFound("stream key"))?;
    tracing::info!(node_id = %node, key_id = %grant.key_id, tenant = %grant.tenant_id, stream_id = %grant.stream_id, "encoder admitted");
    ok(grant)
}

/// Which of a node's publishers' keys were deleted.
async fn check_ingest(
    State(state): State<AppState>,
    Node(_): Node,
    ApiJson(body): ApiJson<IngestCheck>,
) -> ApiResult<IngestRevoked> {
    let ids: Vec<KeyId> = body
        .key_ids
        .into_iter()
        .take(1024)
        .map(KeyId::from)
        .collect();
    let revoked = crate::ingest::revoked(&state, &ids).await?;
    ok(IngestRevoked {
        revoked: revoked.into_iter().map(KeyId::get).collect(),
    })
}

/// `?sig=`: the asset's signature under `NODE_SECRET` (see `shared::node_api::asset_signature`).
#[derive(serde::Deserialize)]
struct AssetQuery {
    sig: String,
}

/// An uploaded image for a node's image layer. Authenticated by a per-asset signature in the
/// URL, since the node fetches it with GStreamer's HTTP source, which sends no headers.
async fn asset(
    State(state): State<AppState>,
    ids: PathIds,
    query: Result<axum::extract::Query<AssetQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<axum::response::Response, ApiError> {
    use axum::response::IntoResponse;
    let secret = state
        .config
        .node_secret
        .as_ref()
        .ok_or(ApiError::RouteNotFound)?;
    let id: AssetId = ids.id("id", "asset")?;
    let sig = query.map(|q| q.0.sig).unwrap_or_default();
    let want = shared::node_api::asset_signature(secret.expose_secret(), id.get());
    if !same_secret(sig.as_bytes(), want.as_bytes()) {
        return Err(ApiError::NotFound("asset"));
    }
    let (content_type, bytes) = crate::db::assets::content_any(&state.db, id)
        .await?
        .ok_or(ApiError::NotFound("asset"))?;
    Ok(([(axum::http::header::CONTENT_TYPE, content_type)], bytes).into_response())
}

async fn claim(State(state): State<AppState>, Node(node): Node, ids: PathIds) -> ApiResult<Grant> {
    let stream_id: StreamId = ids.id("streamId", "stream")?;
    // Outside the transaction: the node's row is locked exclusively only for this statement,
    // so a node's concurrent claims (a burst) do not queue behind each other.
    let node_epoch = node_leases::extend(&state.db, &node).await?;
    let mut tx = state.db.begin().await?;
    let claimed = leases::claim(&mut *tx, stream_id, &node, node_epoch)
        .await?
        .ok_or_else(|| {
            ApiError::conflict(
                "not_claimable",
                "the stream is stopped, failed or held by another node",
            )
        })?;
    let row = streams::find_any(&mut *tx, stream_id)
        .await?
        .ok_or(ApiError::NotFound("stream"))?;
    let spec = spec::load(&mut tx, &row, None).await?;
    // The reaper may have ended the node's lease since `extend` (a claim slower than a lease):
    // committing would leave the stream under an epoch nobody reaps.
    if !node_leases::confirm(&mut *tx, &node, node_epoch).await? {
        return Err(ApiError::Unavailable("the node lease"));
    }
    tx.commit().await?;
    tracing::info!(%stream_id, node_id = %node, epoch = claimed.epoch, node_epoch, attempt = claimed.attempts, "stream claimed");
    ok(Grant {
        epoch: claimed.epoch,
        spec,
    })
}

async fn live(
    State(state): State<AppState>,
    Node(node): Node,
    ids: PathIds,
    ApiJson(body): ApiJson<LeaseRef>,
) -> ApiResult<serde_json::Value> {
    let stream_id: StreamId = ids.id("streamId", "stream")?;
    let mut tx = state.db.begin().await?;
    if !leases::mark_live(&mut *tx, stream_id, &node, body.epoch).await? {
        return Err(ApiError::conflict(
            "lease_lost",
            "the node no longer holds this stream",
        ));
    }
    // The webhook event commits with the mark: a node's repeated report (a retry after a
    // lost answer) may queue it twice, which at-least-once receivers tolerate.
    if let Some(row) = streams::find_any(&mut *tx, stream_id).await? {
        let data = json!({ "nodeId": node, "epoch": body.epoch });
        webhooks::emit(
            &mut tx,
            &row.tenant_id,
            stream_id,
            WebhookEvent::StreamLive,
            data,
        )
        .await?;
    }
    tx.commit().await?;
    webhooks::wake(&state);
    ok(json!({ "streamId": stream_id }))
}

async fn release(
    State(state): State<AppState>,
    Node(node): Node,
    ids: PathIds,
    ApiJson(body): ApiJson<Release>,
) -> ApiResult<serde_json::Value> {
    let stream_id: StreamId = ids.id("streamId", "stream")?;
    // Stored, shown in the status and sent as an event: no credentials or signatures, and
    // cut on a character boundary (a byte index can split one and panic).
    let failure = body
        .failure
        .as_deref()
        .map(|f| truncate(&redact(f), MAX_FAILURE_BYTES).to_owned());
    let failure = failure.as_deref();
    let mut tx = CommandTx::begin(&state).await?;
    let released = leases::release(tx.conn(), stream_id, &node, body.epoch, failure).await?;
    if let Some((tenant, _)) = &released
        && body.handoff
        && failure.is_none()
        && let Some(row) = streams::find_any(tx.conn(), stream_id).await?
        && row.desired().is_on_air()
    {
        commands::start(&mut tx, &row).await?;
        tracing::info!(%stream_id, %tenant, node_id = %node, "stream handed off by a draining node");
    }
    if let (Some((tenant, _)), Some(reason)) = (&released, failure) {
        let data = json!({ "reason": reason, "nodeId": node });
        webhooks::emit(
            tx.conn(),
            tenant,
            stream_id,
            WebhookEvent::StreamFailed,
            data,
        )
        .await?;
    }
    tx.commit().await?;
    if let (Some((tenant, _)), Some(reason)) = (&released, failure) {
        webhooks::wake(&state);
        crate::events::publish(
            &state,
            tenant,
            stream_id,
            EventType::StreamError,
            json!({ "reason": reason, "nodeId": node }),
        )
        .await;
    }
    ok(json!({ "released": released.is_some() }))
}

async fn latest_spec(
    State(state): State<AppState>,
    Node(node): Node,
    ids: PathIds,
) -> ApiResult<StreamSpec> {
    let stream_id: StreamId = ids.id("streamId", "stream")?;
    let mut conn = state.db.acquire().await?;
    let row = streams::find_any(&mut *conn, stream_id)
        .await?
        .ok_or(ApiError::NotFound("stream"))?;
    if row.node_id.as_ref() != Some(&node) {
        return Err(ApiError::conflict(
            "lease_lost",
            "the node no longer holds this stream",
        ));
    }
    ok(spec::load(&mut conn, &row, None).await?)
}

/// Renews the node's lease (one row write, whatever the number of streams) and tells it which
/// of the streams it lists it still holds.
async fn renew(
    State(state): State<AppState>,
    Node(node): Node,
    ApiJson(body): ApiJson<Renewal>,
) -> ApiResult<Vec<LeaseState>> {
    // A database that does not answer in time is answered as unavailable, which the node
    // rides out, rather than left to the node's timeout, which it must treat as a partition.
    match tokio::time::timeout(
        shared::node_api::lease::RENEW_ANSWER_WITHIN,
        renew_node(&state, &node, &body),
    )
    .await
    {
        Ok(out) => ok(out?),
        Err(_) => Err(ApiError::Unavailable("the database")),
    }
}

async fn renew_node(
    state: &AppState,
    node: &NodeId,
    body: &Renewal,
) -> Result<Vec<LeaseState>, ApiError> {
    let listed = &body.leases[..body.leases.len().min(MAX_LEASES_PER_RENEWAL)];
    // Two statements, not one: the read must see every takeover that committed before the
    // write (which waits for the reaper's lock on the node's row), and one statement's
    // snapshot predates its own wait.
    let epoch = node_leases::extend(&state.db, node).await?;
    let holding: HashMap<Uuid, node_leases::Holding> = node_leases::holding(&state.db, node, epoch)
        .await?
        .into_iter()
        .map(|h| (h.id, h))
        .collect();
    let out: Vec<LeaseState> = listed
        .iter()
        .map(|held| {
            let h = holding
                .get(&held.stream_id)
                .filter(|h| h.lease_epoch == held.epoch && h.on_air);
            LeaseState {
                stream_id: held.stream_id,
                held: h.is_some(),
                version: h.map_or(0, |h| h.version),
            }
        })
        .collect();
    // Streams the node holds here but no longer lists (dropped without a release that
    // arrived) would otherwise live on with its node lease: the reaper takes them back.
    if listed.len() == body.leases.len() {
        let listed: HashSet<Uuid> = listed.iter().map(|h| h.stream_id).collect();
        let dropped: Vec<Uuid> = holding
            .values()
            .filter(|h| h.settled && !listed.contains(&h.id))
            .map(|h| h.id)
            .collect();
        if !dropped.is_empty() {
            node_leases::forget(&state.db, node, epoch, &dropped).await?;
            tracing::warn!(node_id = %node, streams = ?dropped, "the node no longer lists streams it holds: taken back");
        }
    }
    Ok(out)
}
