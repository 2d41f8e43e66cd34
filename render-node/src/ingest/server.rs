//! The RTMP endpoint encoders publish to: `rtmp://INGEST_ADDR/live/{streamKey}`.
//!
//! The protocol is scuffle-rtmp's; this file decides who may publish. A key is checked with
//! the control plane when the publish command arrives (the control plane caches it in Redis
//! and records `lastUsed`); an unknown key, another application name, or a control plane
//! that cannot be asked ends the connection before any media is accepted. scuffle's
//! handler can only refuse by failing the session, so the encoder sees its connection
//! closed, which every encoder treats as "retry later".

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use parking_lot::Mutex;

use scuffle_rtmp::ServerSession;
use scuffle_rtmp::command_messages::UnknownCommand;
use scuffle_rtmp::messages::UnknownMessage;
use scuffle_rtmp::session::server::{ServerSessionError, SessionData, SessionHandler};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use super::Ingest;
use super::admit::Refusal;
use super::flv::{MAX_TAG_BYTES, Tag, TagKind};
use super::hub::{Cut, Feed};
use super::per_peer::PerPeer;
use super::session_io::SessionIo;

/// The RTMP application encoders publish under.
const APP: &str = "live";
/// A connection that has not started publishing by then is closed: an encoder sends its
/// publish command within a round trip or two of connecting, and until then the connection
/// holds a slot and buffers without any key having been checked.
const PUBLISH_WITHIN: Duration = Duration::from_secs(3);
/// Connections served at once; more wait in the kernel's backlog.
const MAX_CONNECTIONS: usize = 256;
/// Connections one source address may hold (an encoder needs one per stream it publishes);
/// more from it are closed at once, so they never take the slots of other addresses.
/// Behind a proxy that does not keep client addresses, this caps the proxy's connections.
pub const MAX_CONNECTIONS_PER_PEER: usize = 16;

/// The feeds one connection publishes, by RTMP message stream id (nearly always one).
type Published = Arc<Mutex<Vec<(u32, Arc<Feed>)>>>;

/// Accepts encoders until `token` is cancelled; every connection then closes too.
pub async fn serve(ingest: Arc<Ingest>, addr: SocketAddr, token: CancellationToken) {
    let listener = match TcpListener::bind(addr).await {
        Ok(l) => l,
        Err(e) => {
            tracing::error!(%addr, error = %e, "cannot listen for RTMP ingest; running without it");
            return;
        }
    };
    tracing::info!(%addr, "rtmp ingest listening");
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let peers = PerPeer::new(MAX_CONNECTIONS_PER_PEER);
    loop {
        let permit = tokio::select! {
            _ = token.cancelled() => break,
            p = slots.clone().acquire_owned() => p,
        };
        let Ok(permit) = permit else { break };
        let (conn, peer) = tokio::select! {
            _ = token.cancelled() => break,
            a = listener.accept() => match a {
                Ok(a) => a,
                Err(e) => {
                    tracing::warn!(error = %e, "ingest accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let Some(peer_slot) = peers.admit(peer.ip()) else {
            tracing::debug!(
                %peer,
                reason = "too many connections from this address",
                "ingest connection closed"
            );
            drop(conn);
            drop(permit);
            continue;
        };
        let ingest = ingest.clone();
        let token = token.clone();
        let span = tracing::info_span!("ingest", %peer);
        ingest.clone().connections.spawn(
            async move {
                let _ = conn.set_nodelay(true);
                serve_connection(ingest, conn, peer, token).await;
                drop(peer_slot);
                drop(permit);
            }
            .instrument(span),
        );
    }
}

/// One encoder connection, from handshake to close.
async fn serve_connection(
    ingest: Arc<Ingest>,
    conn: TcpStream,
    peer: SocketAddr,
    token: CancellationToken,
) {
    let cut = Arc::new(Cut::default());
    let published = Published::default();
    let refused = Arc::new(Mutex::new(None));
    let admitted = Arc::new(AtomicBool::new(false));
    let handler = Publisher {
        ingest: ingest.clone(),
        admitted: admitted.clone(),
        peer: peer.ip(),
        cut: cut.clone(),
        published: published.clone(),
        refused: refused.clone(),
    };
    let io = SessionIo::new(conn, admitted.clone());
    let mut run = Box::pin(ServerSession::new(io, handler).run());
    let deadline = tokio::time::sleep(PUBLISH_WITHIN);
    tokio::pin!(deadline);
    let mut waiting_for_publish = true;
    let reason: String = loop {
        tokio::select! {
            r = &mut run => break match r {
                Ok(_) => "encoder disconnected".into(),
                Err(e) => match *refused.lock() {
                    Some(why) => why.reason().into(),
                    None if e.is_client_closed() => "encoder disconnected".into(),
                    None => format!("connection failed: {e}"),
                },
            },
            _ = cut.cancelled() => break cut.reason().unwrap_or("cut").into(),
            _ = token.cancelled() => break "node shutting down".into(),
            _ = &mut deadline, if waiting_for_publish => {
                if published.lock().is_empty() {
                    break "no publish command in time".into();
                }
                waiting_for_publish = false;
            }
        }
    };
    // Dropping the session closes the socket: the encoder is disconnected now.
    drop(run);
    let feeds: Vec<_> = published.lock().drain(..).collect();
    if feeds.is_empty() {
        // A refusal matters to operators; a bare connect-and-close is a load balancer's probe.
        // Refusals decided without asking are a guesser's: one line each would let it fill
        // the log at no cost.
        if refused.lock().is_some_and(|why| !why.quiet()) {
            tracing::info!(%peer, %reason, "ingest connection closed");
        } else {
            tracing::debug!(%peer, %reason, "ingest connection closed");
        }
    }
    for (_, feed) in feeds {
        ingest.unpublished(&feed, &reason).await;
    }
}

/// The session handler: admits publishes and hands their media to the hub.
struct Publisher {
    ingest: Arc<Ingest>,
    /// Set once a publish is admitted: lifts the connection's pre-publish read budget.
    admitted: Arc<AtomicBool>,
    /// The source address, whose key checks are counted.
    peer: std::net::IpAddr,
    cut: Arc<Cut>,
    published: Published,
    /// Why a publish was refused, for the connection's log line.
    refused: Arc<Mutex<Option<Refusal>>>,
}

impl Publisher {
    fn refuse(&mut self, why: Refusal) -> Result<(), ServerSessionError> {
        *self.refused.lock() = Some(why);
        // The closest the library has to "not allowed": it ends the session either way.
        Err(ServerSessionError::PublishBeforeConnect)
    }

    fn feed(&self, stream_id: u32) -> Option<Arc<Feed>> {
        let p = self.published.lock();
        p.iter()
            .find(|(id, _)| *id == stream_id)
            .map(|(_, f)| f.clone())
    }
}

impl SessionHandler for Publisher {
    async fn on_publish(
        &mut self,
        stream_id: u32,
        app_name: &str,
        stream_name: &str,
    ) -> Result<(), ServerSessionError> {
        if app_name != APP {
            let why = Refusal::Request("unknown application (publish to /live/{streamKey})");
            return self.refuse(self.ingest.refuse(why));
        }
        // Some encoders append a query string to the key; it is not part of it.
        let key = stream_name.split('?').next().unwrap_or_default();
        if let Err(why) = self.ingest.may_check(self.peer, key) {
            return self.refuse(why);
        }
        let feed = match self.ingest.authorize(key, self.cut.clone()).await {
            Ok(feed) => feed,
            Err(why) => return self.refuse(why),
        };
        self.published.lock().push((stream_id, feed));
        self.admitted.store(true, Ordering::Release);
        Ok(())
    }

    async fn on_unpublish(&mut self, stream_id: u32) -> Result<(), ServerSessionError> {
        let feed = {
            let mut p = self.published.lock();
            p.iter()
                .position(|(id, _)| *id == stream_id)
                .map(|i| p.remove(i).1)
        };
        if let Some(feed) = feed {
            self.ingest
                .unpublished(&feed, "encoder stopped publishing")
                .await;
        }
        Ok(())
    }

    /// The library's own version logs the command's arguments, and encoders send the
    /// stream key as one (`releaseStream`, `FCPublish`): only the command's name is kept.
    async fn on_unknown_command(
        &mut self,
        stream_id: u32,
        command: UnknownCommand<'_>,
    ) -> Result<(), ServerSessionError> {
        tracing::debug!(stream_id, command = %command.command_name, "unknown RTMP command");
        Ok(())
    }

    /// As for commands: the payload is the peer's and may hold anything, so only its type
    /// and length are logged.
    async fn on_unknown_message(
        &mut self,
        stream_id: u32,
        message: UnknownMessage,
    ) -> Result<(), ServerSessionError> {
        tracing::debug!(
            stream_id,
            kind = u8::from(message.msg_type_id),
            bytes = message.data.len(),
            "unknown RTMP message"
        );
        Ok(())
    }

    async fn on_data(
        &mut self,
        stream_id: u32,
        data: SessionData,
    ) -> Result<(), ServerSessionError> {
        let (kind, timestamp, data) = match data {
            SessionData::Video { timestamp, data } => (TagKind::Video, timestamp, data),
            SessionData::Audio { timestamp, data } => (TagKind::Audio, timestamp, data),
            // Metadata (onMetaData) is informative only; the decoders read the media itself.
            SessionData::Amf0 { .. } => return Ok(()),
        };
        if data.is_empty() || data.len() > MAX_TAG_BYTES {
            return Ok(());
        }
        if let Some(feed) = self.feed(stream_id) {
            feed.push(Tag {
                kind,
                timestamp,
                data,
            });
        }
        Ok(())
    }
}
