//! The node's links to the rest of the system, shared by the apps that run on a fleet node
//! ([`crate::fleet`] and [`crate::ingest`]): its settings, the control plane's internal API,
//! the live state in Redis, and the metrics it exposes.
//!
//! - [`config`]: settings from the environment.
//! - [`live_state`]: Redis — live reports, tenant events, the node's heartbeat.
//! - [`metrics`]: the node's own Prometheus registry.
//!
//! The control-plane client is `shared::node_api::client::ControlPlane`, the one the tests
//! call the internal API with too.

pub mod config;
pub mod live_state;
pub mod metrics;

use std::sync::Arc;

use secrecy::ExposeSecret;
use shared::node_api::client::{ApiCallError, ControlPlane};

pub use config::NodeConfig;
pub use live_state::LiveState;
pub use metrics::NodeMetrics;

/// Why the node's links could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    #[error("control-plane client: {0}")]
    ControlPlane(#[from] ApiCallError),
    #[error("redis: {0}")]
    Redis(#[from] shared::redis_link::RedisUrlError),
}

/// Everything a fleet node's apps share. Nothing here is process-wide: several nodes, each
/// with its own links, can run in one process.
pub struct Links {
    pub cfg: NodeConfig,
    /// The control plane's internal API, calling as this node.
    pub control: ControlPlane,
    /// The node's Redis writer for reports, events and heartbeats.
    pub live: LiveState,
    pub metrics: NodeMetrics,
}

impl Links {
    /// Links for a node with settings `cfg` (nothing connects until used).
    pub fn new(cfg: NodeConfig) -> Result<Arc<Self>, LinkError> {
        Ok(Arc::new(Links {
            control: ControlPlane::new(
                &cfg.control_plane_urls,
                cfg.node_secret.clone(),
                &cfg.node_id,
            )?,
            live: LiveState::new(cfg.redis_url.expose_secret(), &cfg.namespace)?,
            metrics: NodeMetrics::new(),
            cfg,
        }))
    }

    /// The node's id.
    pub fn node_id(&self) -> &str {
        &self.cfg.node_id
    }
}
