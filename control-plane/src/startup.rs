//! Building the application from its config and running it until it is told to stop.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use secrecy::{ExposeSecret, SecretString};
use shared::messages::Topology;
use shared::redis_link::{RedisConn, RedisTarget, Timeouts};
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::auth::JwtKeys;
use crate::broker::Broker;
use crate::config::Config;
use crate::dispatch::relay;
use crate::limits::decode::DecodeSlots;
use crate::limits::sockets::SocketCounts;
use crate::state::AppState;

/// What `DEBUG_COMPONENTS` turns up to debug in this binary (see `shared::telemetry`).
pub const LOG_TABLE: shared::telemetry::LogTable = shared::telemetry::LogTable {
    components: &[
        ("workers", &["control_plane::dispatch"]),
        ("dispatch", &["control_plane::dispatch"]),
        (
            "websocket",
            &["control_plane::routes::events", "control_plane::fanout"],
        ),
        ("api", &["control_plane::routes", "tower_http"]),
        ("db", &["control_plane::db", "sqlx"]),
    ],
    perf_target: None,
};

/// A bound, ready-to-run control plane.
pub struct Application {
    listener: TcpListener,
    state: AppState,
}

/// What a control-plane Redis call may take (connect, reply).
pub const REDIS_TIMEOUTS: Timeouts = Timeouts {
    connect: Duration::from_secs(2),
    response: Duration::from_secs(2),
};

/// Connects to Redis (one server or a cluster, by URL), retrying for a while: at boot,
/// services may come up in any order.
async fn connect_redis(target: &RedisTarget) -> anyhow::Result<RedisConn> {
    let mut backoff = shared::backoff::Backoff::new();
    for attempt in 1..=10 {
        match target.connect(REDIS_TIMEOUTS).await {
            Ok(m) => return Ok(m),
            Err(e) if attempt < 10 => {
                tracing::warn!(error = %e, attempt, "redis not reachable yet");
                tokio::time::sleep(backoff.next_delay()).await;
            }
            Err(e) => return Err(e).context("cannot connect to redis"),
        }
    }
    unreachable!("the loop returns on its last attempt")
}

/// A Postgres pool of at most `max_connections`.
pub async fn connect_postgres(url: &SecretString, max_connections: u32) -> anyhow::Result<PgPool> {
    PgPoolOptions::new()
        .max_connections(max_connections)
        // Fail fast when Postgres is away: a render node must get a prompt 503 (its
        // database is away, keep rendering) rather than time out (maybe cut off: fence).
        .acquire_timeout(Duration::from_secs(1))
        .connect(url.expose_secret())
        .await
        .context("cannot connect to postgres")
}

impl Application {
    /// Connects to Postgres (applying or checking migrations: see [`crate::migrate`]) and
    /// Redis, and binds the HTTP listener. The broker connects lazily, so a broker outage
    /// does not stop the API from starting.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let db = connect_postgres(&config.database_url, config.db_max_connections).await?;
        crate::migrate::on_start(&db, config.migrate_on_start)
            .await
            .context("refusing to start on this database")?;
        let target =
            RedisTarget::parse(config.redis_url.expose_secret()).context("invalid REDIS_URL")?;
        let redis = connect_redis(&target).await?;
        let listener = TcpListener::bind(config.http_addr)
            .await
            .with_context(|| format!("cannot listen on {}", config.http_addr))?;
        let topology = Topology::new(config.namespace.clone());
        let decode = DecodeSlots::new(config.limits.decode_concurrency, config.limits.decode_wait);
        let state = AppState {
            db,
            redis,
            redis_target: target,
            broker: Arc::new(Broker::new(config.amqp_url.clone(), topology)),
            jwt: Arc::new(JwtKeys::new(
                config.jwt_secret.expose_secret().as_bytes(),
                &config.jwt_audience,
            )),
            config: Arc::new(config),
            relay_wake: Arc::new(Notify::new()),
            webhook_wake: Arc::new(Notify::new()),
            events: crate::fanout::EventBus::new(),
            http: reqwest::Client::new(),
            decode,
            sockets: SocketCounts::default(),
            gates: Default::default(),
        };
        crate::metrics::handle();
        Ok(Application { listener, state })
    }

    /// The port the API listens on (useful when the config asked for port 0).
    pub fn port(&self) -> u16 {
        self.listener.local_addr().map(|a| a.port()).unwrap_or(0)
    }

    /// The shared state, for tests that drive workers directly.
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves the API and runs the outbox relay and the webhook deliverer until `token` is cancelled, then drains
    /// in-flight requests.
    pub async fn run_until_stopped(self, token: CancellationToken) -> anyhow::Result<()> {
        let relay = tokio::spawn(relay::run(self.state.clone(), token.clone()));
        let reaper = tokio::spawn(crate::dispatch::reaper::run(
            self.state.clone(),
            token.clone(),
        ));
        let deliverer = tokio::spawn(crate::webhooks::deliver::run(
            self.state.clone(),
            token.clone(),
        ));
        let fanout = tokio::spawn(crate::fanout::run(
            self.state.redis_target.clone(),
            self.state.config.namespace.clone(),
            self.state.events.clone(),
            token.clone(),
        ));
        let app = crate::routes::router(self.state.clone());
        tracing::info!(addr = %self.listener.local_addr()?, "control plane listening");
        let limits = self.state.config.limits.clone();
        crate::limits::server::serve(self.listener, app, &limits, token.clone()).await;
        token.cancel();
        for (name, task) in [
            ("outbox relay", relay),
            ("reaper", reaper),
            ("event fan-out", fanout),
            ("webhook deliverer", deliverer),
        ] {
            if let Err(e) = task.await {
                tracing::error!(error = %e, task = name, "background task ended abnormally");
            }
        }
        self.state.db.close().await;
        Ok(())
    }
}
