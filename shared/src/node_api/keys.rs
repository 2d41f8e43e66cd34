//! What render nodes keep in Redis, where, and for how long: every record expires unless
//! its writer rewrites it, so a node that dies takes its state with it.

use std::time::Duration;

use uuid::Uuid;

/// How often a node rewrites its live records (stream reports, heartbeat, feed locations).
pub const REFRESH_EVERY: Duration = Duration::from_secs(1);

/// How long a stream's live report outlives its last rewrite: a few missed rewrites (Redis
/// slow, the node busy) keep it; a dead node's reports are gone within this.
pub const REPORT_TTL: Duration = Duration::from_secs(5);

/// How long a node's heartbeat outlives its last rewrite (then `GET /nodes` forgets it).
pub const HEARTBEAT_TTL: Duration = REPORT_TTL;

/// How long a feed's location outlives its publishing node's last refresh.
pub const FEED_LOCATION_TTL: Duration = REPORT_TTL;

const _: () = assert!(REPORT_TTL.as_secs() >= 3 * REFRESH_EVERY.as_secs());

/// Redis key of a node's heartbeat. Hash-tagged with [`nodes_set`] (`{sm:nodes}`): the
/// heartbeat writes both in one pipeline, which a Redis Cluster only runs within one slot.
/// (Earlier releases wrote `sm:node:{id}`; heartbeats expire in 5 s, so a rolling deploy
/// only shows `GET /nodes` the nodes already on the same release for a few seconds.)
pub fn node_key(ns: &str, node_id: &str) -> String {
    format!("{ns}{{sm:nodes}}:{node_id}")
}

/// Redis set of known node ids (see [`node_key`] for its hash tag).
pub fn nodes_set(ns: &str) -> String {
    format!("{ns}{{sm:nodes}}")
}

/// Redis key of a stream's latest live report.
pub fn report_key(ns: &str, stream_id: Uuid) -> String {
    format!("{ns}sm:stream:{stream_id}:live")
}

/// Redis key of a live feed's location.
pub fn feed_key(ns: &str, key_id: Uuid) -> String {
    format!("{ns}sm:ingest:{key_id}")
}
