//! The shared `NODE_SECRET` at work: comparing presented secrets, and the per-resource
//! signatures that let a URL grant one thing without carrying the secret.

use subtle::ConstantTimeEq;
use uuid::Uuid;

/// Compares secrets in constant time (whatever the position of the first difference; a
/// length difference is not hidden, and secrets of a known length reveal nothing by it).
pub fn same_secret(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}

/// HMAC-SHA256 under `NODE_SECRET` of the given parts, in hex.
fn signature(secret: &str, parts: &[&[u8]]) -> String {
    use hmac::{Hmac, Mac};
    // HMAC takes keys of any length, so this cannot fail; an empty MAC would only refuse.
    let Ok(mut mac) = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()) else {
        return String::new();
    };
    for p in parts {
        mac.update(p);
    }
    hex::encode(mac.finalize().into_bytes())
}

/// The signature that lets a render node fetch one uploaded asset from the control plane.
/// It travels in a URL (GStreamer's HTTP source sends no custom headers), so it names one
/// immutable asset, never the secret.
pub fn asset_signature(secret: &str, asset_id: Uuid) -> String {
    signature(secret, &[asset_id.as_bytes()])
}

/// The signature that lets a render node pull one live feed from the node it is published to.
pub fn feed_signature(secret: &str, key_id: Uuid) -> String {
    signature(secret, &[b"feed:", key_id.as_bytes()])
}

/// How long a signed snapshot URL stays good: the control plane signs one per preview fetch.
pub const SNAPSHOT_URL_TTL_SECS: i64 = 60;

/// How long a signed RTSP preview URL stays good for starting to watch: a player opens its
/// session within it (a session that is playing goes on past it).
pub const RTSP_URL_TTL_SECS: i64 = 300;

/// Unix seconds now, the clock URL expiries are read against (nodes' and control planes'
/// clocks are NTP-synchronised; a TTL of a minute or more absorbs what skew remains).
pub fn unix_now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// What an expiring URL grants on one stream: each is signed under its own label, so a
/// snapshot signature never opens the RTSP preview or the other way round.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamGrant {
    /// `GET` of the stream's snapshot on its node's HTTP endpoint.
    Snapshot,
    /// The stream's RTSP preview on its node.
    RtspPreview,
}

impl StreamGrant {
    fn label(self) -> &'static [u8] {
        match self {
            StreamGrant::Snapshot => b"snapshot:",
            StreamGrant::RtspPreview => b"rtsp:",
        }
    }

    /// How long a URL of this grant may be valid for.
    pub fn ttl_secs(self) -> i64 {
        match self {
            StreamGrant::Snapshot => SNAPSHOT_URL_TTL_SECS,
            StreamGrant::RtspPreview => RTSP_URL_TTL_SECS,
        }
    }

    /// The signature that lets its holder use this grant on `stream_id` until `expires`
    /// (Unix seconds).
    pub fn sign(self, secret: &str, stream_id: Uuid, expires: i64) -> String {
        signature(
            secret,
            &[
                self.label(),
                stream_id.as_bytes(),
                expires.to_string().as_bytes(),
            ],
        )
    }

    /// Whether `sig` grants this on `stream_id` at `now` (Unix seconds): signed under the
    /// secret, not expired, and not valid for longer than one TTL (a far-future expiry
    /// would be a grant for ever).
    pub fn allows(self, secret: &str, stream_id: Uuid, expires: i64, sig: &str, now: i64) -> bool {
        let want = self.sign(secret, stream_id, expires);
        same_secret(sig.as_bytes(), want.as_bytes())
            && expires >= now
            && expires <= now.saturating_add(self.ttl_secs())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn asset_signatures_depend_on_secret_and_asset() {
        let (a, b) = (Uuid::from_u128(1), Uuid::from_u128(2));
        assert_eq!(asset_signature("s", a), asset_signature("s", a));
        assert_ne!(asset_signature("s", a), asset_signature("s", b));
        assert_ne!(asset_signature("s", a), asset_signature("t", a));
        assert_eq!(asset_signature("s", a).len(), 64);
        assert_ne!(feed_signature("s", a), asset_signature("s", a));
    }

    #[test]
    fn stream_grants_expire_and_name_one_stream_and_one_use() {
        let (a, b) = (Uuid::from_u128(1), Uuid::from_u128(2));
        let snapshot_allowed = |secret: &str, id, expires, sig: &str, now| {
            StreamGrant::Snapshot.allows(secret, id, expires, sig, now)
        };
        let sig = StreamGrant::Snapshot.sign("s", a, 1_060);
        assert!(snapshot_allowed("s", a, 1_060, &sig, 1_000));
        assert!(!snapshot_allowed("s", a, 1_060, &sig, 1_061), "expired");
        assert!(
            !snapshot_allowed("s", b, 1_060, &sig, 1_000),
            "another stream"
        );
        assert!(
            !snapshot_allowed("t", a, 1_060, &sig, 1_000),
            "another secret"
        );
        assert!(
            !snapshot_allowed("s", a, 1_061, &sig, 1_000),
            "another expiry"
        );
        let far = StreamGrant::Snapshot.sign("s", a, 9_999);
        assert!(
            !snapshot_allowed("s", a, 9_999, &far, 1_000),
            "longer than one TTL"
        );
        assert!(
            !StreamGrant::RtspPreview.allows("s", a, 1_060, &sig, 1_000),
            "a snapshot grant does not open the RTSP preview"
        );
        let rtsp = StreamGrant::RtspPreview.sign("s", a, 1_300);
        assert!(StreamGrant::RtspPreview.allows("s", a, 1_300, &rtsp, 1_000));
        assert!(!snapshot_allowed("s", a, 1_300, &rtsp, 1_000));
    }

    #[test]
    fn secrets_compare_equal_only_when_equal() {
        assert!(same_secret(b"abc", b"abc"));
        assert!(!same_secret(b"abc", b"abd"));
        assert!(!same_secret(b"abc", b"abcd"));
        assert!(same_secret(b"", b""));
    }
}
