//! The state every handler shares; cheap to clone, and nothing in it that a second replica
//! would need (all of it is connections and settings).

use std::sync::Arc;

use shared::media_url::MediaPolicy;
use shared::redis_link::{RedisConn, RedisTarget};
use sqlx::PgPool;
use tokio::sync::Notify;

use crate::auth::JwtKeys;
use crate::broker::Broker;
use crate::config::Config;
use crate::fanout::EventBus;
use crate::limits::decode::DecodeSlots;
use crate::limits::gate::TenantGates;
use crate::limits::sockets::SocketCounts;

/// Handles to Postgres, Redis and RabbitMQ, plus settings.
#[derive(Clone)]
pub struct AppState {
    pub db: PgPool,
    /// One server or a cluster, by `REDIS_URL` (see `shared::redis_link`).
    pub redis: RedisConn,
    /// Where `redis` points, for connections of their own (the event subscriber).
    pub redis_target: RedisTarget,
    pub broker: Arc<Broker>,
    pub jwt: Arc<JwtKeys>,
    pub config: Arc<Config>,
    /// Wakes this replica's outbox relay right after a command is committed.
    pub relay_wake: Arc<Notify>,
    /// Wakes this replica's webhook deliverer after a change that queued deliveries commits.
    pub webhook_wake: Arc<Notify>,
    /// Client for render nodes' HTTP (stream previews).
    pub http: reqwest::Client,
    /// Tenant events received from Redis, for this replica's WebSockets.
    pub events: EventBus,
    /// Slots for image decodes on this replica.
    pub decode: DecodeSlots,
    /// Open WebSockets per tenant on this replica.
    pub sockets: SocketCounts,
    /// Per-tenant gates for creates on this replica.
    pub gates: TenantGates,
}

impl AppState {
    /// The URL policy for media and outputs.
    pub fn media(&self) -> &MediaPolicy {
        &self.config.media
    }

    /// Prefix for Redis keys and channels.
    pub fn ns(&self) -> &str {
        &self.config.namespace
    }
}
