//! WebSocket clients of the events endpoint.

use std::time::Duration;

use futures_util::StreamExt;
use serde_json::Value;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

use crate::TestApp;

/// A client socket.
pub type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Connects to `path` as `tenant`, with the token in a query parameter or the header.
pub async fn connect(
    app: &TestApp,
    path: &str,
    tenant: &str,
    in_query: bool,
) -> Result<Socket, WsError> {
    let ws_base = app.base.replacen("http", "ws", 1);
    let token = app.token(tenant);
    let url = if in_query {
        format!("{ws_base}{path}?token={token}")
    } else {
        format!("{ws_base}{path}")
    };
    let mut req = url.into_client_request().unwrap();
    if !in_query {
        req.headers_mut()
            .insert("authorization", format!("Bearer {token}").parse().unwrap());
    }
    tokio_tungstenite::connect_async(req).await.map(|(s, _)| s)
}

/// The next JSON text message, skipping pings, within `timeout`.
pub async fn next_event(ws: &mut Socket, timeout: Duration) -> Option<Value> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let msg = tokio::time::timeout_at(deadline, ws.next())
            .await
            .ok()??
            .ok()?;
        if let Message::Text(t) = msg {
            return serde_json::from_str(&t).ok();
        }
    }
}

/// The next event of type `kind` within `timeout`, skipping others.
pub async fn next_of(ws: &mut Socket, kind: &str, timeout: Duration) -> Option<Value> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        let e = next_event(ws, left).await?;
        if e["type"] == kind {
            return Some(e);
        }
    }
}
