//! WHIP ingest (WebRTC-HTTP Ingestion Protocol, RFC 9725): a browser or OBS publishes
//! WebRTC with `POST /whip/{streamKey}`, or `POST /whip` with `Authorization: Bearer
//! {streamKey}` (an SDP offer, `Content-Type: application/sdp`) on
//! the node's HTTP server (`METRICS_ADDR`), and the feed joins the same hub, relay and ingest
//! layers as an RTMP or SRT feed, its key checked the same way ([`super::admit`]: throttle,
//! SHA-256 lookup, `lastUsed`, `ingest:connected`/`disconnected`, cut when deleted).
//!
//! The answer is `201 Created` with the SDP answer (non-trickle: every candidate in it) and
//! `Location: /whip/sessions/{id}`; `DELETE` on it ends the publish. The session id is a
//! random UUID, so the resource URL does not carry the stream key and cannot be guessed.
//! Browsers call from other origins: every route answers CORS (any origin, no credentials:
//! the key in the path is the only credential). Offers are capped at [`MAX_OFFER`] bytes.
//!
//! - [`session`]: the `webrtcbin` receiver of one publish and its re-encoding into tags.

pub mod session;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, post};
use parking_lot::Mutex;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::Ingest;
use super::admit::Refusal;
use super::hub::{Cut, Feed};
use session::{OfferError, Receiver};

/// The largest offer taken (a browser's audio + video offer is 4–8 KB).
pub const MAX_OFFER: usize = 64 << 10;
/// WHIP publishes one node runs at once: each holds a decoder and an H.264 encoder.
const MAX_SESSIONS: usize = 32;
/// A publisher whose media stops for this long is dropped (a closed tab sends no DELETE).
const SILENT: Duration = Duration::from_secs(10);
/// Longest stream key looked at.
const MAX_KEY: usize = 256;

/// The node's WHIP publishes, by session id.
#[derive(Default)]
pub struct Sessions {
    ends: Mutex<HashMap<Uuid, CancellationToken>>,
    /// Cancelled when the node stops: every session ends and unpublishes.
    pub(super) stopping: CancellationToken,
}

/// The WHIP routes, for the node's HTTP server (which must serve with connect info).
pub fn router(ingest: Arc<Ingest>) -> Router {
    Router::new()
        .route("/whip", post(publish_with_token).options(preflight))
        .route("/whip/{key}", post(publish_in_path).options(preflight))
        .route("/whip/sessions/{id}", delete(end).options(preflight))
        .layer(DefaultBodyLimit::max(MAX_OFFER))
        .layer(axum::middleware::map_response(cors))
        .with_state(ingest)
}

/// Any origin may publish (the key is the credential, no cookies are involved); the answer's
/// `Location` must be readable by the page to `DELETE` it.
async fn cors(mut res: Response) -> Response {
    let h = res.headers_mut();
    h.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    h.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("POST, DELETE, OPTIONS"),
    );
    h.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static("content-type, authorization"),
    );
    h.insert(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static("location"),
    );
    res
}

async fn preflight() -> StatusCode {
    StatusCode::NO_CONTENT
}

fn plain(status: StatusCode, body: &'static str) -> Response {
    (status, body).into_response()
}

/// A refused key: one answer for unknown, deleted and just-refused keys, so a guesser learns
/// nothing about which keys exist.
fn refused(r: Refusal, peer: SocketAddr) -> Response {
    if r.quiet() {
        tracing::debug!(%peer, reason = r.reason(), "whip publish refused");
    } else {
        tracing::info!(%peer, reason = r.reason(), "whip publish refused");
    }
    match r {
        Refusal::TooManyChecks => plain(StatusCode::TOO_MANY_REQUESTS, "too many key checks"),
        Refusal::Unchecked => plain(
            StatusCode::SERVICE_UNAVAILABLE,
            "stream key cannot be checked now",
        ),
        Refusal::Request(why) => plain(StatusCode::BAD_REQUEST, why),
        Refusal::RefusedFromMemory | Refusal::UnknownKey => {
            plain(StatusCode::UNAUTHORIZED, "stream key refused")
        }
    }
}

/// `POST /whip/{streamKey}`.
async fn publish_in_path(
    State(ingest): State<Arc<Ingest>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(key): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    publish(ingest, peer, key, headers, body).await
}

/// `POST /whip` with `Authorization: Bearer {streamKey}` (RFC 9725's token form, what OBS
/// sends when its "Bearer Token" field is set): the key stays out of URLs and access logs.
async fn publish_with_token(
    State(ingest): State<Arc<Ingest>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let key = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|k| k.trim().to_owned())
        .unwrap_or_default();
    publish(ingest, peer, key, headers, body).await
}

async fn publish(
    ingest: Arc<Ingest>,
    peer: SocketAddr,
    key: String,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let sdp_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/sdp"));
    if !sdp_type {
        return plain(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "the offer must be application/sdp",
        );
    }
    // A bad offer is refused before it costs a key check.
    let sdp = match session::check_offer(&body) {
        Ok(sdp) => sdp,
        Err(why) => return plain(StatusCode::BAD_REQUEST, why),
    };
    if key.is_empty() || key.len() > MAX_KEY {
        return refused(ingest.refuse(Refusal::UnknownKey), peer);
    }
    if ingest.whip.ends.lock().len() >= MAX_SESSIONS {
        return plain(StatusCode::SERVICE_UNAVAILABLE, "node full; try another");
    }
    if let Err(r) = ingest.may_check(peer.ip(), &key) {
        return refused(r, peer);
    }
    let cut = Arc::new(Cut::default());
    let feed = match ingest.authorize(&key, cut.clone()).await {
        Ok(feed) => feed,
        Err(r) => return refused(r, peer),
    };
    let o = &feed.owner;
    tracing::info!(%peer, key_id = %o.key_id, tenant = %o.tenant_id, stream_id = %o.stream_id, "whip publish admitted");
    let (receiver, answer) = match session::answer(feed.clone(), sdp).await {
        Ok(r) => r,
        Err(e) => {
            tracing::info!(%peer, key_id = %o.key_id, error = %e, "whip offer not answered");
            ingest.unpublished(&feed, "offer not answered").await;
            return match e {
                OfferError::Bad(_) => {
                    plain(StatusCode::BAD_REQUEST, "the offer cannot be answered")
                }
                OfferError::Node(_) => plain(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "the node cannot receive WebRTC",
                ),
            };
        }
    };
    let id = Uuid::new_v4();
    let end = CancellationToken::new();
    ingest.whip.ends.lock().insert(id, end.clone());
    ingest
        .connections
        .spawn(run(ingest.clone(), id, feed, cut, receiver, end));
    (
        StatusCode::CREATED,
        [
            (header::CONTENT_TYPE, "application/sdp".to_owned()),
            (header::LOCATION, format!("/whip/sessions/{id}")),
        ],
        answer,
    )
        .into_response()
}

/// `DELETE` on the resource URL: the publisher is done.
async fn end(State(ingest): State<Arc<Ingest>>, Path(id): Path<String>) -> Response {
    let found = Uuid::parse_str(&id)
        .ok()
        .and_then(|id| ingest.whip.ends.lock().get(&id).cloned());
    match found {
        Some(end) => {
            end.cancel();
            plain(StatusCode::OK, "ended")
        }
        None => plain(StatusCode::NOT_FOUND, "no such session"),
    }
}

/// Holds one publish until it is deleted, cut (key deleted or replaced), its connection
/// fails, its media stops, or the node stops; then unpublishes it.
async fn run(
    ingest: Arc<Ingest>,
    id: Uuid,
    feed: Arc<Feed>,
    cut: Arc<Cut>,
    receiver: Receiver,
    end: CancellationToken,
) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let mut last = (0u64, tokio::time::Instant::now());
    let reason: String = loop {
        tokio::select! {
            _ = cut.cancelled() => break cut.reason().unwrap_or("cut").into(),
            _ = end.cancelled() => break "publisher ended the session".into(),
            _ = ingest.whip.stopping.cancelled() => break "node shutting down".into(),
            _ = tick.tick() => {}
        }
        if let Some(why) = receiver.ended() {
            break why;
        }
        let now = tokio::time::Instant::now();
        let pushed = receiver.out.pushed();
        if pushed != last.0 {
            last = (pushed, now);
        } else if now - last.1 >= SILENT {
            break "publisher sent no media".into();
        }
    };
    ingest.whip.ends.lock().remove(&id);
    // Stopping a pipeline joins its streaming threads.
    let _ = tokio::task::spawn_blocking(move || drop(receiver)).await;
    ingest.unpublished(&feed, &reason).await;
}
