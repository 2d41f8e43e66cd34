//! Bodies of the internal API render nodes call on the control plane to claim, renew and
//! release stream leases and to admit ingest publishers (`/internal/...`), and the Redis
//! records nodes share.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::spec::StreamSpec;

/// Header naming the calling node.
pub const NODE_ID_HEADER: &str = "x-node-id";

/// A granted claim: the fencing epoch and the stream's latest desired state.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Grant {
    pub epoch: i64,
    pub spec: StreamSpec,
}

/// Names the lease a call acts under.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LeaseRef {
    pub epoch: i64,
}

/// Giving a stream up.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Release {
    pub epoch: i64,
    /// Why the node gave up: the stream is marked failed with this reason.
    #[serde(default)]
    pub failure: Option<String>,
    /// The node is draining: dispatch the stream to another node.
    #[serde(default)]
    pub handoff: bool,
}

/// One lease a node holds.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Held {
    pub stream_id: Uuid,
    pub epoch: i64,
}

/// Every lease a node holds, renewed together.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Renewal {
    pub leases: Vec<Held>,
}

/// The outcome of renewing one lease: lost leases must stop rendering at once.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LeaseState {
    pub stream_id: Uuid,
    pub held: bool,
    /// The stream's desired-state version, so a node that missed a command can catch up.
    pub version: i64,
}

/// What a node tells operators about itself (kept in Redis, listed by `GET /nodes`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeInfo {
    pub node_id: String,
    pub capacity: usize,
    pub streams: usize,
    /// Percent of one core used by the node process.
    pub cpu_usage: f64,
    /// Resident bytes of the node process.
    pub memory_usage: u64,
    /// Whether the node takes new jobs (not full, not draining, not overloaded).
    pub accepting: bool,
    pub draining: bool,
    /// Where the node serves `/metrics` and stream snapshots (`METRICS_ADDR`).
    #[serde(default)]
    pub http_addr: String,
    /// Unix milliseconds of this heartbeat.
    pub updated_at: i64,
}

/// Redis key of a node's heartbeat.
pub fn node_key(ns: &str, node_id: &str) -> String {
    format!("{ns}sm:node:{node_id}")
}

/// Redis set of known node ids.
pub fn nodes_set(ns: &str) -> String {
    format!("{ns}sm:nodes")
}

/// Redis key of a stream's latest live report.
pub fn report_key(ns: &str, stream_id: Uuid) -> String {
    format!("{ns}sm:stream:{stream_id}:live")
}

/// An encoder asks to publish with this stream key (`POST /internal/ingest/authorize`).
#[derive(Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IngestAuthorize {
    pub stream_key: String,
}

impl std::fmt::Debug for IngestAuthorize {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // A stream key is a secret: never in a log line.
        f.write_str("IngestAuthorize { stream_key: <hidden> }")
    }
}

/// Whose key it is: the feed may be used only by that tenant's streams.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IngestGrant {
    pub key_id: Uuid,
    pub tenant_id: String,
    /// The stream the key was created under (its events go there).
    pub stream_id: Uuid,
}

/// The keys a node's publishers use, checked every second (`POST /internal/ingest/check`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IngestCheck {
    pub key_ids: Vec<Uuid>,
}

/// The answer: keys deleted since, whose publishers must be cut.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IngestRevoked {
    pub revoked: Vec<Uuid>,
}

/// Where a live feed is published (Redis, expiring unless its node refreshes it), so the
/// node running a stream that shows it can pull it from there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FeedLocation {
    pub key_id: Uuid,
    pub tenant_id: String,
    pub stream_id: Uuid,
    pub node_id: String,
    /// One publish; a newer one with the same key replaces it.
    pub session: Uuid,
    /// The publishing node's HTTP address (`NODE_ADVERTISE_ADDR`), serving the relay.
    pub relay_addr: String,
    /// Unix milliseconds when the publish started.
    pub since: i64,
}

/// Redis key of a live feed's location.
pub fn feed_key(ns: &str, key_id: Uuid) -> String {
    format!("{ns}sm:ingest:{key_id}")
}

/// Compares secrets in time independent of where they differ.
pub fn same_secret(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// HMAC-SHA256 under `NODE_SECRET` of the given parts, in hex.
fn signature(secret: &str, parts: &[&[u8]]) -> String {
    use hmac::{Hmac, Mac};
    // HMAC takes keys of any length, so this cannot fail; an empty MAC would only refuse.
    let Ok(mut mac) = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()) else {
        return String::new();
    };
    for p in parts {
        mac.update(p);
    }
    hex::encode(mac.finalize().into_bytes())
}

/// The signature that lets a render node fetch one uploaded asset from the control plane.
/// It travels in a URL (GStreamer's HTTP source sends no custom headers), so it names one
/// immutable asset, never the secret.
pub fn asset_signature(secret: &str, asset_id: Uuid) -> String {
    signature(secret, &[asset_id.as_bytes()])
}

/// The signature that lets a render node pull one live feed from the node it is published to.
pub fn feed_signature(secret: &str, key_id: Uuid) -> String {
    signature(secret, &[b"feed:", key_id.as_bytes()])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn asset_signatures_depend_on_secret_and_asset() {
        let (a, b) = (Uuid::from_u128(1), Uuid::from_u128(2));
        assert_eq!(asset_signature("s", a), asset_signature("s", a));
        assert_ne!(asset_signature("s", a), asset_signature("s", b));
        assert_ne!(asset_signature("s", a), asset_signature("t", a));
        assert_eq!(asset_signature("s", a).len(), 64);
        assert_ne!(feed_signature("s", a), asset_signature("s", a));
    }
}
