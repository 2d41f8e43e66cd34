//! Webhooks: stream events delivered to tenants' HTTPS endpoints, at least once.
//!
//! An event is queued by [`emit`] in the transaction that commits the change it reports
//! (one `webhook_deliveries` row per subscribed webhook, `db::webhooks`), so a change that
//! rolls back sends nothing and a committed one is never lost. [`deliver`] runs on every
//! replica: it claims due deliveries with `FOR UPDATE SKIP LOCKED` (no two replicas try the
//! same one at once), posts each to its endpoint signed by [`sign`], logs the try, and
//! schedules a retry with exponential backoff until [`WebhookSettings::retry_for`] has
//! passed since the event. [`url`] applies the media-URL policy to endpoints, at
//! registration and again at each delivery, where the connection goes to the address that
//! was checked.

pub mod deliver;
pub mod sign;
pub mod url;

use std::time::Duration;

use serde_json::{Value, json};
use shared::env::{self, EnvError};
use sqlx::PgConnection;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::db::{unix_ms, webhooks};
use crate::ids::StreamId;

/// The event types a webhook may subscribe to; each is queued where its change commits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebhookEvent {
    /// The tenant started the stream (desired state left `stopped`).
    StreamStarted,
    /// A render node reported the stream on air.
    StreamLive,
    /// The tenant stopped the stream.
    StreamStopped,
    /// A render node gave the stream up with a failure.
    StreamFailed,
}

impl WebhookEvent {
    /// Every type, as tenants name them.
    pub const ALL: [WebhookEvent; 4] = [
        WebhookEvent::StreamStarted,
        WebhookEvent::StreamLive,
        WebhookEvent::StreamStopped,
        WebhookEvent::StreamFailed,
    ];

    /// The name in subscriptions and payloads.
    pub fn as_str(self) -> &'static str {
        match self {
            WebhookEvent::StreamStarted => "stream.started",
            WebhookEvent::StreamLive => "stream.live",
            WebhookEvent::StreamStopped => "stream.stopped",
            WebhookEvent::StreamFailed => "stream.failed",
        }
    }

    /// The type named `name`, if there is one.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|e| e.as_str() == name)
    }
}

/// How deliveries are tried (`WEBHOOK_*`).
#[derive(Debug, Clone)]
pub struct WebhookSettings {
    /// First retry delay, doubled per failed try (`WEBHOOK_RETRY_BASE_MS`, default 10 s).
    pub retry_base: Duration,
    /// Longest retry delay (`WEBHOOK_RETRY_MAX_MS`, default 1 h).
    pub retry_max: Duration,
    /// How long after the event a delivery is retried before it is given up
    /// (`WEBHOOK_RETRY_FOR_SECS`, default a day).
    pub retry_for: Duration,
    /// How long one try may take, connect to answer (`WEBHOOK_TIMEOUT_MS`, default 10 s).
    pub timeout: Duration,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        WebhookSettings {
            retry_base: Duration::from_secs(10),
            retry_max: Duration::from_secs(3600),
            retry_for: Duration::from_secs(24 * 3600),
            timeout: Duration::from_secs(10),
        }
    }
}

impl WebhookSettings {
    /// The settings from the environment, defaults for what is unset.
    pub fn from_env() -> Result<Self, EnvError> {
        let d = WebhookSettings::default();
        let ms = |d: Duration| d.as_millis() as u64;
        Ok(WebhookSettings {
            retry_base: Duration::from_millis(env::parse_or(
                "WEBHOOK_RETRY_BASE_MS",
                ms(d.retry_base),
            )?),
            retry_max: Duration::from_millis(env::parse_or(
                "WEBHOOK_RETRY_MAX_MS",
                ms(d.retry_max),
            )?),
            retry_for: Duration::from_secs(env::parse_or(
                "WEBHOOK_RETRY_FOR_SECS",
                d.retry_for.as_secs(),
            )?),
            timeout: Duration::from_millis(env::parse_or("WEBHOOK_TIMEOUT_MS", ms(d.timeout))?),
        })
    }

    /// The wait after `failed` failed tries: base × 2^(failed−1), capped.
    pub fn retry_delay(&self, failed: u32) -> Duration {
        let factor = 2u32.saturating_pow(failed.saturating_sub(1).min(30));
        self.retry_base.saturating_mul(factor).min(self.retry_max)
    }
}

/// Queues `kind` about `stream_id` for the tenant's webhooks that subscribed to it, in the
/// caller's transaction. The payload's `id` is the event's: the same in every delivery and
/// redelivery of it, so receivers can drop duplicates.
pub async fn emit(
    conn: &mut PgConnection,
    tenant: &str,
    stream_id: StreamId,
    kind: WebhookEvent,
    data: Value,
) -> sqlx::Result<()> {
    let payload = json!({
        "id": Uuid::new_v4(),
        "type": kind.as_str(),
        "createdAt": unix_ms(OffsetDateTime::now_utc()),
        "streamId": stream_id,
        "data": data,
    });
    let queued = webhooks::enqueue(conn, tenant, kind.as_str(), &payload).await?;
    if queued > 0 {
        tracing::debug!(tenant, %stream_id, event = kind.as_str(), queued, "webhook deliveries queued");
    }
    Ok(())
}

/// Wakes this replica's deliverer; call it after the transaction that called [`emit`]
/// commits (other replicas find the deliveries at their next poll).
pub fn wake(state: &crate::state::AppState) {
    state.webhook_wake.notify_one();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_double_and_are_capped() {
        let s = WebhookSettings::default();
        assert_eq!(s.retry_delay(1), Duration::from_secs(10));
        assert_eq!(s.retry_delay(2), Duration::from_secs(20));
        assert_eq!(s.retry_delay(4), Duration::from_secs(80));
        assert_eq!(s.retry_delay(40), Duration::from_secs(3600));
    }

    #[test]
    fn event_names_round_trip() {
        for e in WebhookEvent::ALL {
            assert_eq!(WebhookEvent::parse(e.as_str()), Some(e));
        }
        assert_eq!(WebhookEvent::parse("stream:status"), None);
    }
}
