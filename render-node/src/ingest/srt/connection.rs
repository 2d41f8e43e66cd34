//! One SRT publisher, from its accepted connection to its close. Its key is checked with
//! the control plane exactly as an RTMP publish's ([`Ingest::authorize`]: `lastUsed`,
//! `ingest:connected`, the hub) before a byte of media is read; until then what it sends
//! waits in libsrt's bounded receive buffer. The feed is then read on a blocking thread of
//! its own and demuxed into the hub, and the connection closes when the publisher leaves,
//! its key is deleted or replaced (the hub's [`Cut`], within a receive timeout), the stream
//! is not MPEG-TS, or the node stops.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use super::demux::TsDemux;
use super::stream_id::publish_key;
use crate::ingest::Ingest;
use crate::ingest::hub::Cut;
use crate::ingest::per_peer::PeerSlot;
use srt_ffi::Socket;
use tokio_util::sync::CancellationToken;

/// How long a blocked receive waits before the reader looks whether it was told to stop:
/// bounds how late a cut (a deleted key) takes effect.
const RECEIVE_TIMEOUT: Duration = Duration::from_millis(100);
/// The largest SRT live-mode payload.
const MAX_MESSAGE: usize = 1500;

/// An accepted connection and the places it holds (this address's, the node's).
pub struct Admitted {
    socket: Socket,
    peer: SocketAddr,
    _slot: PeerSlot,
    open: Arc<AtomicUsize>,
}

impl Admitted {
    pub fn new(socket: Socket, peer: SocketAddr, slot: PeerSlot, open: Arc<AtomicUsize>) -> Self {
        open.fetch_add(1, Ordering::AcqRel);
        Admitted {
            socket,
            peer,
            _slot: slot,
            open,
        }
    }
}

impl Drop for Admitted {
    fn drop(&mut self) {
        self.open.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Serves one publisher until it leaves, is cut, or `token` is cancelled.
pub async fn serve_connection(ingest: Arc<Ingest>, conn: Admitted, token: CancellationToken) {
    let peer = conn.peer;
    let sid = match conn.socket.stream_id() {
        Ok(sid) => sid,
        Err(e) => {
            tracing::debug!(%peer, error = %e, "srt connection gone before its stream id was read");
            return;
        }
    };
    // The handshake callback accepted this id, so it parses.
    let Ok(key) = publish_key(&sid) else {
        return;
    };
    let cut = Arc::new(Cut::default());
    let feed = match ingest.authorize(key, cut.clone()).await {
        Ok(feed) => feed,
        Err(why) => {
            if why.quiet() {
                tracing::debug!(%peer, reason = why.reason(), "srt connection closed");
            } else {
                tracing::info!(%peer, reason = why.reason(), "srt connection closed");
            }
            return;
        }
    };
    let demux = match TsDemux::start(feed.clone()) {
        Ok(d) => d,
        Err(e) => {
            tracing::warn!(error = %e, "cannot demux an SRT feed");
            ingest
                .unpublished(&feed, "the node cannot demux the feed")
                .await;
            return;
        }
    };
    let stop = Arc::new(AtomicBool::new(false));
    let reader = {
        let stop = stop.clone();
        tokio::task::spawn_blocking(move || read(&conn, &demux, &stop))
    };
    tokio::pin!(reader);
    let reason: String = tokio::select! {
        r = &mut reader => r.unwrap_or_else(|_| "reader failed".into()),
        _ = cut.cancelled() => cut.reason().unwrap_or("cut").into(),
        _ = token.cancelled() => "node shutting down".into(),
    };
    stop.store(true, Ordering::Release);
    // The reader owns the socket: once it returns, the socket is closed and the publisher
    // sees the connection end.
    let _ = reader.await;
    ingest.unpublished(&feed, &reason).await;
}

/// Reads the publisher's TS into the demuxer until it leaves, fails or `stop` is set.
fn read(conn: &Admitted, demux: &TsDemux, stop: &AtomicBool) -> String {
    if let Err(e) = conn.socket.set_receive_timeout(RECEIVE_TIMEOUT) {
        return format!("connection failed: {e}");
    }
    let mut buf = vec![0u8; MAX_MESSAGE];
    let mut since_look = 0u32;
    while !stop.load(Ordering::Acquire) {
        match conn.socket.recv(&mut buf) {
            Ok(n) => {
                demux.push(&buf[..n]);
                since_look += 1;
            }
            Err(e) if e.is_again() => since_look = u32::MAX,
            Err(_) => return "encoder disconnected".into(),
        }
        // The demuxer's bus is looked at now and then, not per message.
        if since_look >= 256 {
            since_look = 0;
            if let Some(e) = demux.error() {
                return format!("not a usable MPEG-TS feed: {e}");
            }
        }
    }
    "stopped".into()
}
