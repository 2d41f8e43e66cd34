//! The relay between nodes: a feed published to one node is pulled by the node whose stream
//! shows it, as an FLV stream over HTTP (`GET /internal/feeds/{keyId}?sig=` on the
//! publishing node's `METRICS_ADDR`), signed per feed under `NODE_SECRET`.
//!
//! HTTP keeps the relay simple to route and to secure (the same port and signature scheme
//! as the node's other internal endpoints); TCP backpressure reaches the publishing node,
//! which drops a relay that falls too far behind rather than buffer for it.

use std::convert::Infallible;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures_util::{Stream, StreamExt};
use uuid::Uuid;

use super::flv::{Tag, TagReader, file_header};
use super::hub::Subscription;

/// A relayed feed that sends nothing for this long is considered stalled and dropped; the
/// puller reconnects.
pub const STALL: Duration = Duration::from_secs(3);
/// Largest tag accepted from a relay (the publishing node already bounds what it accepts).
const MAX_RELAY_TAG: usize = 8 << 20;

/// The URL of `key_id`'s relay on the node serving HTTP at `addr`.
pub fn feed_url(addr: &str, key_id: Uuid, secret: &str) -> String {
    let sig = shared::node_api::feed_signature(secret, key_id);
    format!("http://{addr}/internal/feeds/{key_id}?sig={sig}")
}

/// A subscription as an FLV byte stream: the header and cached start in one chunk, then one
/// chunk per tag. It ends when the feed does, or when the reader fell too far behind (it
/// reconnects and starts again from a keyframe, which beats decoding a broken stream).
pub fn flv_bytes(sub: Subscription) -> impl Stream<Item = Result<Bytes, Infallible>> + Send {
    let mut first = BytesMut::from(&file_header()[..]);
    for t in &sub.initial {
        t.encode(&mut first);
    }
    let head = futures_util::stream::once(async move { Ok(first.freeze()) });
    let live = futures_util::stream::unfold(sub.live, |mut rx| async move {
        let tag = rx.recv().await.ok()?;
        Some((Ok(tag.to_bytes()), rx))
    });
    head.chain(live)
}

/// A feed pulled from another node.
pub struct RemoteFeed {
    resp: reqwest::Response,
    reader: TagReader,
}

impl RemoteFeed {
    /// Connects to a relay URL; `None` when the feed is not (or no longer) there.
    pub async fn open(http: &reqwest::Client, url: &str) -> Option<Self> {
        let resp = match tokio::time::timeout(STALL, http.get(url).send()).await {
            Ok(Ok(r)) if r.status().is_success() => r,
            Ok(Ok(r)) => {
                tracing::debug!(status = %r.status(), "relay has no such feed");
                return None;
            }
            Ok(Err(e)) => {
                tracing::debug!(error = %e, "relay unreachable");
                return None;
            }
            Err(_) => {
                tracing::debug!("relay did not answer");
                return None;
            }
        };
        Some(RemoteFeed {
            resp,
            reader: TagReader::new(MAX_RELAY_TAG),
        })
    }

    /// The next tag; `None` when the relay ended, stalled or sent something that is not FLV.
    pub async fn next(&mut self) -> Option<Tag> {
        loop {
            match self.reader.next_tag() {
                Ok(Some(t)) => return Some(t),
                Ok(None) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "relay sent a broken stream");
                    return None;
                }
            }
            let chunk = tokio::time::timeout(STALL, self.resp.chunk()).await;
            match chunk {
                Ok(Ok(Some(bytes))) => self.reader.feed(&bytes),
                Ok(Ok(None)) => return None,
                Ok(Err(e)) => {
                    tracing::debug!(error = %e, "relay connection failed");
                    return None;
                }
                Err(_) => {
                    tracing::info!("relayed feed stalled");
                    return None;
                }
            }
        }
    }
}
