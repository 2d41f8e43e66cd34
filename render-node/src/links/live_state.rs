//! What the node writes to Redis: each stream's live report (rebuilt every second, expiring
//! when the node dies), tenant events, and the node's heartbeat for the registry. Keys and
//! expiries are the contract in `shared::node_api::keys`.

use std::time::Duration;

use redis::AsyncCommands;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use shared::events::{EventType, TenantEvent, events_channel};
use shared::node_api::keys::{HEARTBEAT_TTL, REPORT_TTL};
use shared::node_api::{NodeInfo, node_key, nodes_set, report_key};
use shared::status::LiveReport;
use tokio::sync::Mutex;
use uuid::Uuid;

/// A lazily (re)connected Redis writer. Redis being away never stops a stream: writes are
/// skipped and retried on the next tick.
pub struct LiveState {
    client: redis::Client,
    conn: Mutex<Option<ConnectionManager>>,
    ns: String,
}

impl LiveState {
    /// A writer for `url` under namespace `ns`.
    pub fn new(url: &str, ns: &str) -> Result<Self, redis::RedisError> {
        Ok(LiveState {
            client: redis::Client::open(url)?,
            conn: Mutex::new(None),
            ns: ns.to_owned(),
        })
    }

    /// The connection, (re)connecting if needed; `None` while Redis is away.
    pub(crate) async fn conn(&self) -> Option<ConnectionManager> {
        let mut guard = self.conn.lock().await;
        if guard.is_none() {
            let cfg = ConnectionManagerConfig::new()
                .set_connection_timeout(Some(Duration::from_secs(1)))
                .set_response_timeout(Some(Duration::from_secs(1)));
            match self.client.get_connection_manager_with_config(cfg).await {
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

    /// Publishes a tenant event to every control-plane replica.
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
        let r: Result<i64, _> = c.publish(events_channel(&self.ns), json).await;
        if let Err(e) = r {
            tracing::warn!(%stream_id, error = %e, "event not published");
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
