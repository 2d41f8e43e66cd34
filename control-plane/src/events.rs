//! Publishing tenant events, on the tenant's own Redis channel, to the control-plane
//! replicas whose sockets watch that tenant.
//!
//! Pub/sub is fire-and-forget: an event lost while Redis is away is acceptable because
//! clients re-sync from the API after reconnecting; the change itself is in Postgres.

use shared::events::{EventType, TenantEvent};
use shared::redis_link::events::{self as channels, tenant_channel};

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
    let channel = tenant_channel(state.ns(), tenant);
    let published = channels::publish(&mut conn, &channel, &payload).await;
    if let Err(e) = published {
        tracing::warn!(%stream_id, tenant, error = %e, "event not published");
    }
}
