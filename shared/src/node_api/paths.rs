//! The `/internal/...` routes, written once: the control plane registers these templates,
//! the node client and the tests fill them.

use uuid::Uuid;

/// `POST`: claim a stream's lease (answers a [`super::Grant`]; 409 when not claimable).
pub const CLAIM: &str = "/internal/streams/{streamId}/claim";
/// `POST` [`super::LeaseRef`]: the stream is on air.
pub const LIVE: &str = "/internal/streams/{streamId}/live";
/// `POST` [`super::Release`]: give a stream up.
pub const RELEASE: &str = "/internal/streams/{streamId}/release";
/// `GET`: a held stream's latest desired state.
pub const SPEC: &str = "/internal/streams/{streamId}/spec";
/// `POST` [`super::Renewal`]: renew every lease a node holds.
pub const RENEW: &str = "/internal/leases/renew";
/// `GET ?sig=`: an uploaded asset, signed per asset (see [`super::asset_signature`]).
pub const ASSET: &str = "/internal/assets/{id}";
/// `POST` [`super::IngestAuthorize`]: whose stream key an encoder presented.
pub const INGEST_AUTHORIZE: &str = "/internal/ingest/authorize";
/// `POST` [`super::IngestCheck`]: which publishers' keys were deleted.
pub const INGEST_CHECK: &str = "/internal/ingest/check";
/// `GET ?sig=` on a render node: a feed published to it, relayed as FLV to another node.
pub const FEED: &str = "/internal/feeds/{keyId}";

/// `GET ?expires=&sig=` on a render node: a held stream's current frame as JPEG, signed per
/// stream with an expiry (see [`super::StreamGrant`]).
pub const SNAPSHOT: &str = "/streams/{streamId}/snapshot.jpg";

/// A stream route ([`CLAIM`], [`LIVE`], [`RELEASE`], [`SPEC`]) for one stream.
pub fn stream(template: &str, stream_id: Uuid) -> String {
    template.replace("{streamId}", &stream_id.to_string())
}

/// The URL a node fetches an uploaded asset from (GStreamer's HTTP source sends no headers,
/// so the signature travels in the URL).
pub fn asset_url(base: &str, asset_id: Uuid, sig: &str) -> String {
    let path = ASSET.replace("{id}", &asset_id.to_string());
    format!("{}{path}?sig={sig}", base.trim_end_matches('/'))
}

/// The URL of a feed's relay on the node serving HTTP at `addr` (`host:port`).
pub fn feed_url(addr: &str, key_id: Uuid, sig: &str) -> String {
    let path = FEED.replace("{keyId}", &key_id.to_string());
    format!("http://{addr}{path}?sig={sig}")
}

/// A snapshot URL on the node serving HTTP at `addr`, good for
/// [`super::signing::SNAPSHOT_URL_TTL_SECS`] from `now` (Unix seconds).
pub fn snapshot_url(addr: &str, stream_id: Uuid, secret: &str, now: i64) -> String {
    let grant = super::StreamGrant::Snapshot;
    let expires = now + grant.ttl_secs();
    let sig = grant.sign(secret, stream_id, expires);
    format!(
        "http://{addr}{}?expires={expires}&sig={sig}",
        stream(SNAPSHOT, stream_id)
    )
}

/// The RTSP preview URL of a stream on the node whose RTSP server is at `addr`, good for
/// starting to watch for [`super::signing::RTSP_URL_TTL_SECS`] from `now` (Unix seconds).
/// The grant travels as the URL's credentials (user: the expiry, password: the signature):
/// every RTSP player sends them as Basic authorization on each request once challenged,
/// while a query string is lost from the per-track URLs players build for `SETUP`.
pub fn rtsp_preview_url(addr: &str, stream_id: Uuid, secret: &str, now: i64) -> String {
    let grant = super::StreamGrant::RtspPreview;
    let expires = now + grant.ttl_secs();
    let sig = grant.sign(secret, stream_id, expires);
    format!("rtsp://{expires}:{sig}@{addr}/{stream_id}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_is_internal_and_fills_completely() {
        let id = Uuid::from_u128(7);
        for t in [CLAIM, LIVE, RELEASE, SPEC] {
            let p = stream(t, id);
            assert!(p.starts_with("/internal/") && !p.contains('{'), "{p}");
        }
        for t in [RENEW, INGEST_AUTHORIZE, INGEST_CHECK] {
            assert!(t.starts_with("/internal/") && !t.contains('{'), "{t}");
        }
        assert_eq!(
            asset_url("http://cp:8080/", id, "ab"),
            format!("http://cp:8080/internal/assets/{id}?sig=ab")
        );
        assert_eq!(
            feed_url("n1:9091", id, "cd"),
            format!("http://n1:9091/internal/feeds/{id}?sig=cd")
        );
    }
}
