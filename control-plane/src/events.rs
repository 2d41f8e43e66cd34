//! Publishing tenant events to every control-plane replica through Redis pub/sub.
//!
//! Pub/sub is fire-and-forget: an event lost while Redis is away is acceptable because
//! clients re-sync from the API after reconnecting; the change itself is in Postgres.

use redis::AsyncCommands;
use shared::events::{EventType, TenantEvent, events_channel};

use crate::ids::StreamId;
use crate::state::AppState;

/// Publishes an event for the tenant's sockets; failures are logged, never returned.
pub async fn publish(
    state: &AppState,
    tenant: &str,
    stream_id: StreamId,
    kind: EventType,
    data: serde_json::Value,
) {
    let event = TenantEvent::new(tenant, stream_id.get(), kind, data);
    let payload = match serde_json::to_string(&event) {
        Ok(p) => p,
        Err(e) => {
            tracing::error!(error = %e, "cannot serialize event");
            return;
        }
    };
    let mut conn = state.redis.clone();
    let published: Result<i64, _> = conn.publish(events_channel(state.ns()), payload).await;
    if let Err(e) = published {
        tracing::warn!(%stream_id, tenant, error = %e, "event not published");
    }
}
