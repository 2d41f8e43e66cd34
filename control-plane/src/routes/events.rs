//! `GET /stream/events` (and `/streams/{id}/events`): the tenant's live events over a WebSocket.
//!
//! A socket lives within limits: at most `QUOTA_WEBSOCKETS` per tenant on this replica, no
//! longer than its token (closed with 4001 when `exp` passes: reconnect with a fresh one),
//! and a client that does not take a message within `WS_SEND_TIMEOUT_MS` is dropped.
//!
//! `?meters=1` adds the stream's audio meters (`audio:levels`, ten a second); without it a
//! socket never receives them, even when another socket of the tenant asked.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::error::ApiError;
use crate::extract::{EVENTS_PATH, TenantStream, TokenExpiry};
use crate::ids::StreamId;
use crate::limits::server::ConnectionSlot;
use crate::limits::sockets::SocketSlot;
use crate::state::AppState;
use axum::Extension;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade, close_code};
use axum::extract::{Query, State};
use axum::response::Response;
use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;
use shared::events::{EventType, TenantEvent};
use std::sync::Arc;
use tokio::sync::broadcast::{self, error::RecvError};

use crate::fanout::Watch;

/// How often the server pings; a client silent for three intervals is dropped.
const PING_EVERY: Duration = Duration::from_secs(20);

/// Close code for a token that expired while its socket was open (4000-4999: the
/// application's own range).
const TOKEN_EXPIRED: u16 = 4001;

/// Routes of this resource (not in the OpenAPI document: it is not a JSON endpoint).
pub fn router() -> axum::Router<AppState> {
    axum::Router::new().route(EVENTS_PATH, axum::routing::get(upgrade))
}

/// What one socket holds for as long as it is open.
struct Socket {
    tenant: String,
    stream_id: StreamId,
    /// When its token expires.
    expires_at: u64,
    /// Keeps the tenant's event channel subscribed on this replica.
    _watch: Watch,
    /// Keeps the tenant's meter channel subscribed, when this socket asked for meters.
    meters: Option<Watch>,
    /// Taken before the upgrade is answered, so no event after it is missed.
    events: broadcast::Receiver<Arc<TenantEvent>>,
    _tenant_slot: SocketSlot,
    _connection_slot: Option<ConnectionSlot>,
}

/// The socket's options (the browser's `token` is read by the authentication extractor).
#[derive(Deserialize, Default)]
struct Options {
    /// `1` or `true`: also send the audio meters.
    meters: Option<String>,
}

async fn upgrade(
    State(state): State<AppState>,
    ctx: TenantStream,
    options: Result<Query<Options>, axum::extract::rejection::QueryRejection>,
    expiry: Option<Extension<TokenExpiry>>,
    connection: Option<Extension<ConnectionSlot>>,
    ws: WebSocketUpgrade,
) -> Result<Response, ApiError> {
    let limit = state.config.quotas.websockets;
    let tenant_slot = state.sockets.try_open(&ctx.tenant, limit).ok_or_else(|| {
        tracing::info!(tenant = %ctx.tenant, limit, "websocket refused: the tenant's quota is reached");
        ApiError::quota("QUOTA_WEBSOCKETS", limit, "open event sockets on one replica")
    })?;
    let watch = state.events.watch(&ctx.tenant).await;
    // Options are extras: a malformed query string leaves them off.
    let options = options.map(|Query(o)| o).unwrap_or_default();
    let meters = match options.meters.as_deref() {
        Some("1" | "true") => Some(state.events.watch_meters(&ctx.tenant).await),
        _ => None,
    };
    let socket = Socket {
        _watch: watch,
        meters,
        events: state.events.subscribe(),
        stream_id: ctx.stream.id,
        tenant: ctx.tenant,
        expires_at: expiry.map_or(u64::MAX, |Extension(e)| e.0),
        _tenant_slot: tenant_slot,
        _connection_slot: connection.map(|Extension(c)| c),
    };
    // Small buffers: events are small, and tungstenite's 128 KiB default read buffer per
    // socket would dominate memory with thousands of mostly idle sockets.
    Ok(ws
        .max_message_size(64 * 1024)
        .max_frame_size(64 * 1024)
        .read_buffer_size(4 * 1024)
        .write_buffer_size(4 * 1024)
        .on_upgrade(move |ws| serve(state, ws, socket)))
}

/// How long until the token expires, from now.
fn until(expires_at: u64) -> Duration {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    Duration::from_secs(expires_at.saturating_sub(now))
}

async fn serve(state: AppState, socket: WebSocket, mut held: Socket) {
    let (tenant, stream_id) = (held.tenant.clone(), held.stream_id);
    let send_timeout = state.config.limits.ws_send_timeout;
    let expired = tokio::time::sleep(until(held.expires_at));
    tokio::pin!(expired);
    let wants_meters = held.meters.is_some();
    let events = &mut held.events;
    let (mut tx, mut rx) = socket.split();
    metrics::gauge!("websocket_connections").increment(1.0);
    tracing::debug!(%tenant, %stream_id, "websocket opened");

    // Receive side: answers are handled by axum (pongs); we only watch for close and silence.
    let mut reader = tokio::spawn(async move {
        while let Ok(Some(Ok(msg))) = tokio::time::timeout(PING_EVERY * 3, rx.next()).await {
            if matches!(msg, Message::Close(_)) {
                break;
            }
        }
    });
    let mut ping = tokio::time::interval(PING_EVERY);
    ping.tick().await;
    let close = loop {
        tokio::select! {
            _ = &mut reader => break None,
            () = &mut expired => {
                tracing::debug!(%tenant, %stream_id, "closing a websocket whose token expired");
                break Some(CloseFrame { code: TOKEN_EXPIRED, reason: Utf8Bytes::from_static("token expired: reconnect with a new token") });
            }
            _ = ping.tick() => {
                if !sent(&mut tx, Message::Ping(Default::default()), send_timeout).await {
                    break None;
                }
            }
            event = events.recv() => match event {
                Ok(e) if e.tenant_id == tenant && e.event.stream_id == stream_id.get()
                    && (wants_meters || e.event.kind != EventType::AudioLevels) => {
                    let Ok(text) = serde_json::to_string(&e.event) else { continue };
                    if !sent(&mut tx, Message::Text(text.into()), send_timeout).await {
                        tracing::info!(%tenant, %stream_id, "dropping a websocket that does not read");
                        break None;
                    }
                }
                Ok(_) => {}
                Err(RecvError::Lagged(n)) => {
                    tracing::info!(%tenant, %stream_id, skipped = n, "dropping a websocket that fell behind");
                    // A policy violation (RFC 6455): the client is too slow to keep up.
                    break Some(CloseFrame { code: close_code::POLICY, reason: Utf8Bytes::from_static("too slow: reconnect and re-sync") });
                }
                Err(RecvError::Closed) => break Some(CloseFrame { code: close_code::AWAY, reason: Utf8Bytes::from_static("server shutting down") }),
            },
        }
    };
    if let Some(frame) = close {
        sent(&mut tx, Message::Close(Some(frame)), send_timeout).await;
    }
    let _ = tokio::time::timeout(send_timeout, tx.close()).await;
    reader.abort();
    metrics::gauge!("websocket_connections").decrement(1.0);
    drop(held);
}

/// Sends one message unless the client does not take it within `timeout` (a reader that
/// stopped reading would otherwise hold the socket, and its buffers, for ever).
async fn sent(
    tx: &mut futures_util::stream::SplitSink<WebSocket, Message>,
    msg: Message,
    timeout: Duration,
) -> bool {
    matches!(
        tokio::time::timeout(timeout, tx.send(msg)).await,
        Ok(Ok(()))
    )
}
