//! What the node writes to Redis: each stream's live report (rebuilt every second, expiring
//! when the node dies), tenant events, and the node's heartbeat for the registry. Keys and
//! expiries are the contract in `shared::node_api::keys`.

use std::time::Duration;

use redis::AsyncCommands;
use shared::events::{EventType, TenantEvent};
use shared::node_api::keys::{HEARTBEAT_TTL, REPORT_TTL};
use shared::node_api::{NodeInfo, node_key, nodes_set, report_key};
use shared::redis_link::events::{self as channels, meters_channel, tenant_channel};
use shared::redis_link::{RedisConn, RedisTarget, RedisUrlError, Timeouts};
use shared::status::LiveReport;
use tokio::sync::Mutex;
use uuid::Uuid;

/// A node's Redis calls answer within a second or are skipped: a report is rewritten on the
/// next tick anyway.
const TIMEOUTS: Timeouts = Timeouts {
    connect: Duration::from_secs(1),
    response: Duration::from_secs(1),
};

/// A lazily (re)connected Redis writer (one server or a cluster, by URL). Redis being away
/// never stops a stream: writes are skipped and retried on the next tick.
pub struct LiveState {
    target: RedisTarget,
    conn: Mutex<Option<RedisConn>>,
    ns: String,
}

impl LiveState {
    /// A writer for `url` under namespace `ns`.
    pub fn new(url: &str, ns: &str) -> Result<Self, RedisUrlError> {
        Ok(LiveState {
            target: RedisTarget::parse(url)?,
            conn: Mutex::new(None),
            ns: ns.to_owned(),
        })
    }

    /// The connection, (re)connecting if needed; `None` while Redis is away.
    pub(crate) async fn conn(&self) -> Option<RedisConn> {
        let mut guard = self.conn.lock().await;
        if guard.is_none() {
            match self.target.connect(TIMEOUTS).await {
                Ok(c) => *guard = Some(c),
                Err(e) => tracing::warn!(error = %e, "redis unavailable; live state not written"),
            }
        }
        guard.clone()
    }

    /// The key prefix of this deployment.
    pub(crate) fn namespace(&self) -> &str {
        &self.ns
    }

    /// Writes a stream's report.
    pub async fn write_report(&self, stream_id: Uuid, report: &LiveReport) {
        let (Some(mut c), Ok(json)) = (self.conn().await, serde_json::to_string(report)) else {
            return;
        };
        let r: Result<(), _> = c
            .set_ex(report_key(&self.ns, stream_id), json, REPORT_TTL.as_secs())
            .await;
        if let Err(e) = r {
            tracing::warn!(%stream_id, error = %e, "live report not written");
        }
    }

    /// Removes a stream's report (it stopped here).
    pub async fn clear_report(&self, stream_id: Uuid) {
        if let Some(mut c) = self.conn().await {
            let _: Result<(), _> = c.del(report_key(&self.ns, stream_id)).await;
        }
    }

    /// Publishes a tenant event to the control-plane replicas watching its tenant.
    pub async fn publish(
        &self,
        tenant: &str,
        stream_id: Uuid,
        kind: EventType,
        data: serde_json::Value,
    ) {
        let event = TenantEvent::new(tenant, stream_id, kind, data);
        let (Some(mut c), Ok(json)) = (self.conn().await, serde_json::to_string(&event)) else {
            return;
        };
        let r = channels::publish(&mut c, &tenant_channel(&self.ns, tenant), &json).await;
        if let Err(e) = r {
            tracing::warn!(%stream_id, error = %e, "event not published");
        }
    }

    /// Publishes a stream's audio meters on its tenant's meter channel; how many replicas
    /// received them (`None` when Redis did not answer).
    pub async fn publish_meters(
        &self,
        tenant: &str,
        stream_id: Uuid,
        data: serde_json::Value,
    ) -> Option<i64> {
        let event = TenantEvent::new(tenant, stream_id, EventType::AudioLevels, data);
        let (Some(mut c), Ok(json)) = (self.conn().await, serde_json::to_string(&event)) else {
            return None;
        };
        match channels::publish(&mut c, &meters_channel(&self.ns, tenant), &json).await {
            Ok(n) => Some(n),
            Err(e) => {
                tracing::debug!(%stream_id, error = %e, "meters not published");
                None
            }
        }
    }

    /// Records the node's heartbeat.
    pub async fn heartbeat(&self, info: &NodeInfo) {
        let (Some(mut c), Ok(json)) = (self.conn().await, serde_json::to_string(info)) else {
            return;
        };
        let r: Result<(), _> = redis::pipe()
            .set_ex(
                node_key(&self.ns, &info.node_id),
                json,
                HEARTBEAT_TTL.as_secs(),
            )
            .sadd(nodes_set(&self.ns), &info.node_id)
            .query_async(&mut c)
            .await;
        if let Err(e) = r {
            tracing::warn!(error = %e, "heartbeat not written");
        }
    }

    /// Removes the node from the registry (it is shutting down).
    pub async fn leave(&self, node_id: &str) {
        if let Some(mut c) = self.conn().await {
            let _: Result<(), _> = redis::pipe()
                .del(node_key(&self.ns, node_id))
                .srem(nodes_set(&self.ns), node_id)
                .query_async(&mut c)
                .await;
        }
    }
}
