//! Receives every tenant event from Redis pub/sub and hands it to this replica's WebSockets.
//!
//! One subscription per replica feeds a bounded broadcast channel; each socket filters it by
//! tenant and stream. Every string in an event's data is redacted on the way in
//! (`shared::tenant_text`). A socket that falls behind the channel is closed (it re-syncs from the
//! API on reconnect), so one slow client never delays the others.

use std::sync::Arc;

use futures_util::StreamExt;
use secrecy::{ExposeSecret, SecretString};
use shared::backoff::Backoff;
use shared::events::{TenantEvent, events_channel};
use shared::tenant_text::redact_json;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

/// Events buffered per replica before a slow socket is considered lagging.
pub const FANOUT_CAPACITY: usize = 1024;

/// The sending half sockets subscribe to.
pub type EventBus = broadcast::Sender<Arc<TenantEvent>>;

/// A new bus with no subscribers.
pub fn bus() -> EventBus {
    broadcast::channel(FANOUT_CAPACITY).0
}

/// Forwards Redis events to `bus` until cancelled, resubscribing with backoff after errors.
pub async fn run(redis_url: SecretString, ns: String, bus: EventBus, token: CancellationToken) {
    let channel = events_channel(&ns);
    let mut backoff = Backoff::new();
    loop {
        let attempt = async {
            let client = redis::Client::open(redis_url.expose_secret())?;
            let mut pubsub = client.get_async_pubsub().await?;
            pubsub.subscribe(&channel).await?;
            tracing::info!(%channel, "subscribed to tenant events");
            Ok::<_, redis::RedisError>(pubsub)
        };
        let pubsub = tokio::select! {
            _ = token.cancelled() => return,
            r = attempt => r,
        };
        match pubsub {
            Ok(mut pubsub) => {
                backoff.reset();
                let mut messages = pubsub.on_message();
                loop {
                    let msg = tokio::select! {
                        _ = token.cancelled() => return,
                        m = messages.next() => m,
                    };
                    let Some(msg) = msg else { break };
                    match serde_json::from_slice::<TenantEvent>(msg.get_payload_bytes()) {
                        // No receivers is normal: nobody is watching on this replica.
                        // Nodes publish straight to Redis: this is where their texts
                        // (GStreamer errors quoting signed or credentialed URLs) are made
                        // fit for tenants.
                        Ok(mut event) => {
                            redact_json(&mut event.event.data);
                            drop(bus.send(Arc::new(event)));
                        }
                        Err(e) => tracing::warn!(error = %e, "ignoring malformed event"),
                    }
                }
                tracing::warn!("event subscription ended; resubscribing");
            }
            Err(e) => tracing::warn!(error = %e, "cannot subscribe to events"),
        }
        let wait = backoff.next_delay();
        tracing::debug!(
            retry_in_ms = wait.as_millis() as u64,
            "resubscribing to events"
        );
        tokio::select! {
            _ = token.cancelled() => return,
            _ = tokio::time::sleep(wait) => {}
        }
    }
}
