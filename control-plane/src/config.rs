//! The control plane's settings, read from the environment (see the operator contract).

use std::net::SocketAddr;

use shared::env::{self, EnvError};
use shared::media_url::MediaPolicy;

/// Everything the control plane needs to start.
#[derive(Debug, Clone)]
pub struct Config {
    pub database_url: String,
    pub redis_url: String,
    pub amqp_url: String,
    pub http_addr: SocketAddr,
    pub jwt_secret: String,
    pub jwt_audience: String,
    pub media: MediaPolicy,
    /// Prefix of every AMQP exchange/queue and Redis key, so environments can share brokers.
    pub namespace: String,
    /// Largest JSON body accepted.
    pub max_body_bytes: usize,
    /// Largest image upload accepted.
    pub max_asset_bytes: usize,
    /// Postgres pool size.
    pub db_max_connections: u32,
    /// Shared secret render nodes present on the internal API; unset disables it.
    pub node_secret: Option<String>,
    /// The RTMP URL encoders publish to, as tenants see it (the ingest load balancer).
    pub ingest_url: String,
}

impl Config {
    /// Reads the settings; `JWT_SECRET` is required, the rest have local defaults.
    pub fn from_env() -> Result<Self, EnvError> {
        let jwt_secret = env::required("JWT_SECRET")?;
        if jwt_secret.len() < 16 {
            return Err(EnvError::Invalid {
                name: "JWT_SECRET",
                value: "<hidden>".into(),
                reason: "must be at least 16 bytes".into(),
            });
        }
        Ok(Config {
            database_url: env::or("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/test"),
            redis_url: env::or("REDIS_URL", "redis://127.0.0.1:6379"),
            amqp_url: env::or("AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2f"),
            http_addr: env::parse_or("HTTP_ADDR", SocketAddr::from(([127, 0, 0, 1], 8080)))?,
            jwt_secret,
            jwt_audience: env::or("JWT_AUDIENCE", "stream-manager"),
            media: MediaPolicy::from_env()?,
            namespace: env::or("SM_NAMESPACE", ""),
            max_body_bytes: env::parse_or("MAX_BODY_BYTES", 256 * 1024)?,
            max_asset_bytes: env::parse_or("MAX_ASSET_BYTES", 10 * 1024 * 1024)?,
            db_max_connections: env::parse_or("DB_MAX_CONNECTIONS", 16)?,
            node_secret: env::optional("NODE_SECRET"),
            ingest_url: env::or("INGEST_URL", "rtmp://127.0.0.1:1935/live"),
        })
    }
}
