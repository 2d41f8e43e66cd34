//! Liveness, readiness and Prometheus metrics; no token needed.

use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use serde::Serialize;

use crate::error::ApiError;
use crate::response::{ApiResult, ok};
use crate::state::AppState;

/// How long each dependency may take to answer a readiness probe.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// Routes for probes and metrics.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(prometheus))
}

#[derive(Serialize)]
struct Alive {
    status: &'static str,
}

async fn healthz() -> ApiResult<Alive> {
    ok(Alive { status: "ok" })
}

#[derive(Serialize)]
struct Ready {
    postgres: bool,
    redis: bool,
    amqp: bool,
}

async fn readyz(State(state): State<AppState>) -> ApiResult<Ready> {
    let pg = async {
        tokio::time::timeout(PROBE_TIMEOUT, sqlx::query("SELECT 1").execute(&state.db))
            .await
            .is_ok_and(|r| r.is_ok())
    };
    let redis = async {
        let mut conn = state.redis.clone();
        let cmd = redis::cmd("PING");
        tokio::time::timeout(PROBE_TIMEOUT, cmd.query_async::<String>(&mut conn))
            .await
            .is_ok_and(|r| r.is_ok())
    };
    let (postgres, redis, amqp) = tokio::join!(pg, redis, state.broker.check());
    if postgres && redis && amqp {
        return ok(Ready {
            postgres,
            redis,
            amqp,
        });
    }
    let down: Vec<&str> = [("postgres", postgres), ("redis", redis), ("amqp", amqp)]
        .into_iter()
        .filter(|(_, up)| !up)
        .map(|(name, _)| name)
        .collect();
    tracing::warn!(?down, "not ready");
    Err(ApiError::Unavailable(match down.as_slice() {
        ["postgres"] => "postgres",
        ["redis"] => "redis",
        ["amqp"] => "amqp",
        _ => "more than one dependency",
    }))
}

async fn prometheus() -> String {
    crate::metrics::handle().render()
}
