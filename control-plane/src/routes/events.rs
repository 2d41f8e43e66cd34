//! `GET /stream/events` (and `/streams/{id}/events`): the tenant's live events over a WebSocket.

use std::time::Duration;

use crate::extract::TenantStream;
use crate::ids::StreamId;
use crate::state::AppState;
use axum::extract::State;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade, close_code};
use axum::response::Response;
use futures_util::{SinkExt, StreamExt};
use tokio::sync::broadcast::error::RecvError;

/// How often the server pings; a client silent for three intervals is dropped.
const PING_EVERY: Duration = Duration::from_secs(20);

/// Routes of this resource (not in the OpenAPI document: it is not a JSON endpoint).
pub fn router() -> axum::Router<AppState> {
    axum::Router::new().route("/events", axum::routing::get(upgrade))
}

async fn upgrade(
    State(state): State<AppState>,
    ctx: TenantStream,
    ws: WebSocketUpgrade,
) -> Response {
    let stream_id = ctx.stream.id;
    let tenant = ctx.tenant;
    // Small buffers: events are small, and tungstenite's 128 KiB default read buffer per
    // socket would dominate memory with thousands of mostly idle sockets.
    ws.max_message_size(64 * 1024)
        .max_frame_size(64 * 1024)
        .read_buffer_size(4 * 1024)
        .write_buffer_size(4 * 1024)
        .on_upgrade(move |socket| serve(state, socket, tenant, stream_id))
}

async fn serve(state: AppState, socket: WebSocket, tenant: String, stream_id: StreamId) {
    let mut events = state.events.subscribe();
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
            _ = ping.tick() => {
                if tx.send(Message::Ping(Default::default())).await.is_err() {
                    break None;
                }
            }
            event = events.recv() => match event {
                Ok(e) if e.tenant_id == tenant && e.event.stream_id == stream_id.get() => {
                    let Ok(text) = serde_json::to_string(&e.event) else { continue };
                    if tx.send(Message::Text(text.into())).await.is_err() {
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
        let _ = tx.send(Message::Close(Some(frame))).await;
    }
    let _ = tx.close().await;
    reader.abort();
    metrics::gauge!("websocket_connections").decrement(1.0);
}
