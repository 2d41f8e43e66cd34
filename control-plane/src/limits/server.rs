//! The HTTP server's own limits and the accept loop that applies them.
//!
//! `axum::serve` has no header-read timeout (a slowloris client holds its connection for
//! ever) and accepts without bound, so the control plane runs its own loop on the same
//! hyper: a connection slot is taken before `accept` (past the cap, clients wait in the
//! kernel's backlog instead of taking file descriptors that other tenants' calls need), a
//! client must send a request's headers within the header-read timeout, and an upgraded
//! WebSocket keeps its connection's slot for as long as it lives ([`ConnectionSlot`]).

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::Request;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use shared::env::{self, EnvError};
use tokio::net::TcpListener;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower::ServiceExt;

/// Limits of the HTTP server, from the environment (defaults in the README).
#[derive(Debug, Clone)]
pub struct ServerLimits {
    /// Connections open at once, WebSockets included: `HTTP_MAX_CONNECTIONS`.
    pub max_connections: usize,
    /// Time a client has to send a request's headers: `HTTP_HEADER_TIMEOUT_MS`.
    pub header_read_timeout: Duration,
    /// Time a WebSocket client has to take one message: `WS_SEND_TIMEOUT_MS`.
    pub ws_send_timeout: Duration,
    /// Image decodes at once: `DECODE_CONCURRENCY`.
    pub decode_concurrency: usize,
    /// Time an upload waits for a decode slot before 503: `DECODE_WAIT_MS`.
    pub decode_wait: Duration,
}

impl Default for ServerLimits {
    fn default() -> Self {
        ServerLimits {
            max_connections: 4096,
            header_read_timeout: Duration::from_secs(10),
            ws_send_timeout: Duration::from_secs(10),
            decode_concurrency: 2,
            decode_wait: Duration::from_secs(2),
        }
    }
}

impl ServerLimits {
    /// The limits from the environment, defaults for what is unset.
    pub fn from_env() -> Result<Self, EnvError> {
        let d = ServerLimits::default();
        let ms = |name, default: Duration| {
            env::parse_or(name, default.as_millis() as u64).map(Duration::from_millis)
        };
        Ok(ServerLimits {
            max_connections: env::parse_or("HTTP_MAX_CONNECTIONS", d.max_connections)?,
            header_read_timeout: ms("HTTP_HEADER_TIMEOUT_MS", d.header_read_timeout)?,
            ws_send_timeout: ms("WS_SEND_TIMEOUT_MS", d.ws_send_timeout)?,
            decode_concurrency: env::parse_or("DECODE_CONCURRENCY", d.decode_concurrency)?,
            decode_wait: ms("DECODE_WAIT_MS", d.decode_wait)?,
        })
    }
}

/// A connection's slot under `HTTP_MAX_CONNECTIONS`, in every request's extensions so that a
/// WebSocket can keep it after the upgrade hands its socket over.
#[derive(Clone)]
pub struct ConnectionSlot(#[allow(dead_code)] Arc<OwnedSemaphorePermit>);

/// Serves `app` on `listener` within `limits` until `shutdown`, then lets in-flight requests
/// finish.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: &ServerLimits,
    shutdown: CancellationToken,
) {
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let connections = TaskTracker::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    loop {
        let slot = tokio::select! {
            _ = shutdown.cancelled() => break,
            slot = slots.clone().acquire_owned() => match slot {
                Ok(slot) => ConnectionSlot(Arc::new(slot)),
                Err(_) => break,
            },
        };
        let (stream, peer) = tokio::select! {
            _ = shutdown.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of descriptors, or a connection reset before accept: wait a
                    // little instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let request_slot = slot.clone();
        let service = app.clone().map_request(move |req: Request<Incoming>| {
            let mut req = req.map(Body::new);
            req.extensions_mut().insert(request_slot.clone());
            req
        });
        let conn = http
            .serve_connection(TokioIo::new(stream), TowerToHyperService::new(service))
            .with_upgrades();
        let shutdown = shutdown.clone();
        connections.spawn(async move {
            let _slot = slot;
            let mut conn = std::pin::pin!(conn);
            let ended = tokio::select! {
                ended = conn.as_mut() => ended,
                _ = shutdown.cancelled() => {
                    conn.as_mut().graceful_shutdown();
                    conn.await
                }
            };
            if let Err(e) = ended {
                tracing::debug!(%peer, error = %e, "connection ended with an error");
            }
        });
    }
    connections.close();
    connections.wait().await;
}
