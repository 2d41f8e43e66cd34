//! The SRT listener on `SRT_ADDR` and what it decides during the handshake, before a
//! connection exists: the stream id's form, room on the node and for the caller's address,
//! and the node's own memory of refused keys and of each address's key checks (the same
//! [`Ingest::may_check`] RTMP runs). All of it is instant, as it must be: libsrt runs the
//! callback on the thread that receives every packet of the port, so a wait there would
//! stall every publisher. The control plane is asked once the connection is up
//! ([`super::connection`]).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use super::connection::{Admitted, serve_connection};
use super::stream_id::{REJECT_FORBIDDEN, REJECT_OVERLOAD, publish_key};
use crate::ingest::Ingest;
use crate::ingest::admit::Refusal;
use crate::ingest::per_peer::PerPeer;
use crate::ingest::server::MAX_CONNECTIONS_PER_PEER;
use srt_ffi::{Decision, Listener};

/// Publishers served at once (as for RTMP).
const MAX_CONNECTIONS: usize = 256;
/// How often waiting connections are taken from libsrt: accepting is polled so that
/// shutdown never waits on a blocked call; handshakes themselves are answered by libsrt.
const ACCEPT_EVERY: Duration = Duration::from_millis(20);

/// What the handshake callback needs.
struct Gate {
    ingest: Arc<Ingest>,
    peers: Arc<PerPeer>,
    open: Arc<AtomicUsize>,
}

impl Gate {
    fn decide(&self, peer: SocketAddr, sid: &str) -> Decision {
        let refuse = |code: i32, reason: &str, quiet: bool| {
            if quiet {
                tracing::debug!(%peer, %reason, "srt handshake refused");
            } else {
                tracing::info!(%peer, %reason, "srt handshake refused");
            }
            Err(code)
        };
        let key = match publish_key(sid) {
            Ok(key) => key,
            Err(bad) => {
                self.ingest.refuse(Refusal::Request(bad.reason));
                return refuse(bad.code, bad.reason, false);
            }
        };
        if self.open.load(Ordering::Acquire) >= MAX_CONNECTIONS {
            return refuse(
                REJECT_OVERLOAD,
                "the node serves its most publishers",
                false,
            );
        }
        if self.peers.holds(peer.ip()) >= MAX_CONNECTIONS_PER_PEER {
            return refuse(
                REJECT_OVERLOAD,
                "too many connections from this address",
                true,
            );
        }
        match self.ingest.may_check(peer.ip(), key) {
            Ok(()) => Ok(()),
            Err(r @ Refusal::TooManyChecks) => refuse(REJECT_OVERLOAD, r.reason(), r.quiet()),
            Err(r) => refuse(REJECT_FORBIDDEN, r.reason(), r.quiet()),
        }
    }
}

/// Serves SRT publishers on `addr` until `token` is cancelled; every connection then
/// closes too.
pub async fn serve(
    ingest: Arc<Ingest>,
    addr: SocketAddr,
    latency: Duration,
    token: CancellationToken,
) {
    let peers = PerPeer::new(MAX_CONNECTIONS_PER_PEER);
    let open = Arc::new(AtomicUsize::new(0));
    let gate = Gate {
        ingest: ingest.clone(),
        peers: peers.clone(),
        open: open.clone(),
    };
    let listener = match Listener::bind(
        addr,
        latency,
        Box::new(move |p: SocketAddr, s: &str| gate.decide(p, s)),
    ) {
        Ok(l) => l,
        Err(e) => {
            tracing::error!(%addr, error = %e, "cannot listen for SRT ingest; running without it");
            return;
        }
    };
    tracing::info!(%addr, latency_ms = latency.as_millis() as u64, "srt ingest listening");
    let mut tick = tokio::time::interval(ACCEPT_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = token.cancelled() => break,
            _ = tick.tick() => {}
        }
        loop {
            let (socket, peer) = match listener.accept() {
                Ok(Some(a)) => a,
                Ok(None) => break,
                Err(e) => {
                    tracing::warn!(error = %e, "srt accept failed");
                    break;
                }
            };
            // The callback looked, but several handshakes may have passed it at once.
            let Some(slot) = peers.admit(peer.ip()) else {
                tracing::debug!(%peer, reason = "too many connections from this address", "srt connection closed");
                continue;
            };
            let admitted = Admitted::new(socket, peer, slot, open.clone());
            let span = tracing::info_span!("srt", %peer);
            ingest
                .connections
                .spawn(serve_connection(ingest.clone(), admitted, token.clone()).instrument(span));
        }
    }
}
