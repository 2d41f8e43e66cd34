//! The contract between render nodes and the control plane: the bodies of the internal API
//! nodes call to claim, renew and release stream leases and to admit ingest publishers, and
//! the records nodes keep in Redis.
//!
//! - [`paths`]: the `/internal/...` routes.
//! - [`lease`]: the lease length, renewal period and self-fencing deadline, derived from
//!   one another.
//! - [`keys`]: Redis keys of live state and how long each record lives.
//! - [`signing`]: secret comparison and per-resource URL signatures.
//! - [`client`] (feature `node-client`): the typed client nodes (and the tests) call the
//!   internal API with.

#[cfg(feature = "node-client")]
pub mod client;
pub mod keys;
pub mod lease;
pub mod paths;
pub mod signing;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub use keys::{feed_key, node_key, nodes_set, report_key};
pub use signing::{StreamGrant, asset_signature, feed_signature, same_secret};

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

/// Every lease a node holds, renewed together: the control plane extends the node's one lease
/// and answers for each stream listed (at most [`lease::MAX_LEASES_PER_RENEWAL`]). A stream the
/// node holds but no longer lists is taken back and dispatched again.
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
    /// Where the node serves its RTSP preview (`RTSP_ADDR`, as reachable by others).
    #[serde(default)]
    pub rtsp_addr: String,
    /// Unix milliseconds of this heartbeat.
    pub updated_at: i64,
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
