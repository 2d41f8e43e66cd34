//! The control plane's settings, read from the environment (see the operator contract).
//!
//! Secrets — the JWT and node secrets, and the data stores' URLs, which carry passwords —
//! are held as `SecretString`: `Debug` prints them redacted, so logging the config (or an
//! error that holds it) cannot leak them, and reading one takes an explicit
//! `expose_secret()`.

use std::net::SocketAddr;

use secrecy::{ExposeSecret, SecretString};
use shared::env::{self, EnvError};
use shared::media_url::MediaPolicy;

use crate::limits::{Quotas, ServerLimits};
use crate::webhooks::WebhookSettings;

/// Everything the control plane needs to start.
#[derive(Debug, Clone)]
pub struct Config {
    pub database_url: SecretString,
    pub redis_url: SecretString,
    pub amqp_url: SecretString,
    pub http_addr: SocketAddr,
    pub jwt_secret: SecretString,
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
    pub node_secret: Option<SecretString>,
    /// The RTMP URL encoders publish to, as tenants see it (the ingest load balancer).
    pub ingest_url: String,
    /// Apply pending migrations at start (`MIGRATE_ON_START`, default true); when false the
    /// schema is only checked, and migrations are a deploy step (`control-plane migrate`).
    pub migrate_on_start: bool,
    /// What each tenant may have and do (`QUOTA_*`).
    pub quotas: Quotas,
    /// The HTTP server's limits (connections, timeouts, decodes).
    pub limits: ServerLimits,
    /// How webhook deliveries are tried (`WEBHOOK_*`).
    pub webhooks: WebhookSettings,
}

/// The database URL alone, for `control-plane migrate`, which needs nothing else.
pub fn database_url() -> SecretString {
    env::or("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/test").into()
}

impl Config {
    /// Reads the settings; `JWT_SECRET` is required, the rest have local defaults.
    pub fn from_env() -> Result<Self, EnvError> {
        let jwt_secret = SecretString::from(env::required("JWT_SECRET")?);
        if jwt_secret.expose_secret().len() < 16 {
            return Err(EnvError::Invalid {
                name: "JWT_SECRET",
                value: "<hidden>".into(),
                reason: "must be at least 16 bytes".into(),
            });
        }
        Ok(Config {
            database_url: database_url(),
            redis_url: env::or("REDIS_URL", "redis://127.0.0.1:6379").into(),
            amqp_url: env::or("AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2f").into(),
            http_addr: env::parse_or("HTTP_ADDR", SocketAddr::from(([127, 0, 0, 1], 8080)))?,
            jwt_secret,
            jwt_audience: env::or("JWT_AUDIENCE", "stream-manager"),
            media: MediaPolicy::from_env()?,
            namespace: env::or("SM_NAMESPACE", ""),
            max_body_bytes: env::parse_or("MAX_BODY_BYTES", 256 * 1024)?,
            max_asset_bytes: env::parse_or("MAX_ASSET_BYTES", 10 * 1024 * 1024)?,
            db_max_connections: env::parse_or("DB_MAX_CONNECTIONS", 16)?,
            node_secret: env::optional("NODE_SECRET").map(SecretString::from),
            ingest_url: env::or("INGEST_URL", "rtmp://127.0.0.1:1935/live"),
            migrate_on_start: env::parse_or("MIGRATE_ON_START", true)?,
            quotas: Quotas::from_env()?,
            limits: ServerLimits::from_env()?,
            webhooks: WebhookSettings::from_env()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_of_a_config_holds_no_secret() {
        let secrets = [
            "jwt-secret-0123456789",
            "node-secret-0123456789",
            "pg-password",
            "redis-password",
            "amqp-password",
        ];
        let config = Config {
            database_url: format!("postgres://app:{}@db:5432/sm", secrets[2]).into(),
            redis_url: format!("rediss://:{}@cache:6379", secrets[3]).into(),
            amqp_url: format!("amqps://app:{}@mq:5671/%2f", secrets[4]).into(),
            http_addr: SocketAddr::from(([127, 0, 0, 1], 8080)),
            jwt_secret: secrets[0].into(),
            jwt_audience: "stream-manager".into(),
            media: MediaPolicy {
                media_root: None,
                allow_private: false,
            },
            namespace: String::new(),
            max_body_bytes: 1,
            max_asset_bytes: 1,
            db_max_connections: 1,
            node_secret: Some(secrets[1].into()),
            ingest_url: "rtmp://ingest/live".into(),
            migrate_on_start: true,
            quotas: Quotas::default(),
            limits: ServerLimits::default(),
            webhooks: WebhookSettings::default(),
        };
        let debug = format!("{config:?}");
        assert!(debug.contains("stream-manager"), "{debug}");
        for secret in secrets {
            assert!(!debug.contains(secret), "{secret} in {debug}");
        }
    }
}
