//! Admitting encoders: render nodes ask whose stream key a publisher presented, and which of
//! their publishers' keys were deleted since.
//!
//! A key is looked up by its hash, cached in Redis so a reconnecting encoder does not cost
//! a database query; deleting a key (or its stream) drops the cache entry. Nodes re-check
//! their publishers against Postgres every second, so even a cache entry written by a
//! lookup racing the deletion cuts the publisher within about a second.

use redis::AsyncCommands;
use serde::{Deserialize, Serialize};
use shared::node_api::{IngestGrant, feed_key};

use crate::db::keys::{self, hash_key};
use crate::error::ApiError;
use crate::ids::{KeyId, StreamId};
use crate::state::AppState;

/// Seconds a cached key stays without being looked up in Postgres.
const CACHE_SECS: u64 = 300;

/// Redis key of a cached key owner.
fn cache_key(state: &AppState, hash: &[u8]) -> String {
    format!("{}sm:streamkey:{}", state.ns(), hex::encode(hash))
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Cached {
    key_id: KeyId,
    tenant_id: String,
    stream_id: StreamId,
}

/// Whose key `stream_key` is, or `None` when no such key exists (never created, deleted).
/// Records that the key was used.
pub async fn authorize(
    state: &AppState,
    stream_key: &str,
) -> Result<Option<IngestGrant>, ApiError> {
    let hash = hash_key(stream_key);
    let mut redis = state.redis.clone();
    let cached: Option<Cached> = match redis
        .get::<_, Option<String>>(cache_key(state, &hash))
        .await
    {
        Ok(v) => v.and_then(|s| serde_json::from_str(&s).ok()),
        Err(e) => {
            tracing::warn!(error = %e, "stream key cache unavailable; asking Postgres");
            None
        }
    };
    let owner = match cached {
        Some(c) => Some(c),
        None => keys::find_by_hash(&state.db, &hash).await?.map(|k| Cached {
            key_id: k.id,
            tenant_id: k.tenant_id,
            stream_id: k.stream_id,
        }),
    };
    let Some(owner) = owner else {
        return Ok(None);
    };
    if let Ok(json) = serde_json::to_string(&owner) {
        let r: Result<(), _> = redis
            .set_ex(cache_key(state, &hash), json, CACHE_SECS)
            .await;
        if let Err(e) = r {
            tracing::warn!(error = %e, "stream key not cached");
        }
    }
    // A publish must not fail because its bookkeeping could not be written.
    if let Err(e) = keys::touch(&state.db, owner.key_id).await {
        tracing::warn!(key_id = %owner.key_id, error = %e, "lastUsed not recorded");
    }
    Ok(Some(IngestGrant {
        key_id: owner.key_id.get(),
        tenant_id: owner.tenant_id,
        stream_id: owner.stream_id.get(),
    }))
}

/// Which of `key_ids` no longer exist.
pub async fn revoked(state: &AppState, key_ids: &[KeyId]) -> Result<Vec<KeyId>, ApiError> {
    let existing = keys::existing(&state.db, key_ids).await?;
    Ok(key_ids
        .iter()
        .filter(|id| !existing.contains(id))
        .copied()
        .collect())
}

/// Whether each key has a publisher now (the nodes' feed registry); all false while Redis
/// is away.
pub async fn publishing(state: &AppState, key_ids: &[KeyId]) -> Vec<bool> {
    if key_ids.is_empty() {
        return Vec::new();
    }
    let names: Vec<String> = key_ids
        .iter()
        .map(|id| feed_key(state.ns(), id.get()))
        .collect();
    let mut redis = state.redis.clone();
    match redis.mget::<_, Vec<Option<String>>>(names).await {
        Ok(v) => v.iter().map(Option::is_some).collect(),
        Err(e) => {
            tracing::warn!(error = %e, "cannot read which keys are publishing");
            vec![false; key_ids.len()]
        }
    }
}

/// Drops deleted keys from the cache, so they are refused at once.
pub async fn forget(state: &AppState, hashes: &[Vec<u8>]) {
    if hashes.is_empty() {
        return;
    }
    let names: Vec<String> = hashes.iter().map(|h| cache_key(state, h)).collect();
    let mut redis = state.redis.clone();
    let r: Result<(), _> = redis.del(names).await;
    if let Err(e) = r {
        // Nodes re-check keys in Postgres every second: a stale entry cannot keep a publisher.
        tracing::warn!(error = %e, "deleted stream keys left in the cache");
    }
}
