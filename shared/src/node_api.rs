//! Bodies of the internal API render nodes call on the control plane to claim, renew and
//! release stream leases (`/internal/...`).

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

/// The signature that lets a render node fetch one uploaded asset from the control plane:
/// HMAC-SHA256 of the asset id under `NODE_SECRET`, in hex. It travels in a URL (GStreamer's
/// HTTP source sends no custom headers), so it names one immutable asset, never the secret.
pub fn asset_signature(secret: &str, asset_id: Uuid) -> String {
    use hmac::{Hmac, Mac};
    // HMAC takes keys of any length, so this cannot fail; an empty MAC would only refuse.
    let Ok(mut mac) = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()) else {
        return String::new();
    };
    mac.update(asset_id.as_bytes());
    hex::encode(mac.finalize().into_bytes())
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
    }
}
