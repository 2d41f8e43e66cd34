//! The relay between nodes: a feed published to one node is pulled by the node whose stream
//! shows it, as an FLV stream over HTTP (`GET /internal/feeds/{keyId}?sig=` on the
//! publishing node's `METRICS_ADDR`), signed per feed under `NODE_SECRET`.
//!
//! HTTP keeps the relay simple to route and to secure (the same port and signature scheme
//! as the node's other internal endpoints); TCP backpressure reaches the publishing node,
//! which drops a relay that falls too far behind rather than buffer for it. Both ends live
//! here: [`router`] serves this node's feeds (the node's HTTP server merges it), and
//! [`RemoteFeed`] pulls one from another node.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use bytes::{Bytes, BytesMut};
use futures_util::{Stream, StreamExt};
use secrecy::ExposeSecret;
use shared::node_api::{feed_signature, paths, same_secret};
use uuid::Uuid;

use super::Ingest;
use super::flv::{Tag, TagReader, file_header};
use super::hub::Subscription;

/// A relayed feed that sends nothing for this long is considered stalled and dropped; the
/// puller reconnects.
pub const STALL: Duration = Duration::from_secs(3);
/// Largest tag accepted from a relay (the publishing node already bounds what it accepts).
const MAX_RELAY_TAG: usize = 8 << 20;

/// The URL of `key_id`'s relay on the node serving HTTP at `addr`.
pub fn feed_url(addr: &str, key_id: Uuid, secret: &str) -> String {
    paths::feed_url(addr, key_id, &feed_signature(secret, key_id))
}

/// The relay's route (`GET /internal/feeds/{keyId}?sig=`), for the node's HTTP server.
pub fn router(ingest: Arc<Ingest>) -> Router {
    Router::new()
        .route(paths::FEED, get(feed))
        .with_state(ingest)
}

/// `?sig=`: the feed's signature under `NODE_SECRET`.
#[derive(serde::Deserialize)]
struct FeedQuery {
    #[serde(default)]
    sig: String,
}

/// A feed published to this node, relayed as FLV to the node whose stream shows it.
async fn feed(
    State(ingest): State<Arc<Ingest>>,
    Path(id): Path<String>,
    Query(q): Query<FeedQuery>,
) -> Response {
    let Ok(key_id) = Uuid::parse_str(&id) else {
        return (StatusCode::NOT_FOUND, "no such feed").into_response();
    };
    let want = feed_signature(ingest.node_secret().expose_secret(), key_id);
    if !same_secret(want.as_bytes(), q.sig.as_bytes()) {
        return (StatusCode::FORBIDDEN, "bad signature").into_response();
    }
    let Some(sub) = ingest.hub.subscribe(key_id) else {
        return (StatusCode::NOT_FOUND, "no such feed on this node").into_response();
    };
    tracing::info!(%key_id, "relaying a feed to another node");
    (
        [
            (header::CONTENT_TYPE, "video/x-flv"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        Body::from_stream(flv_bytes(sub)),
    )
        .into_response()
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
