//! Who may publish, whatever the protocol: every ingest endpoint (RTMP, SRT) runs a stream
//! key through these two steps before it takes any media, so a key is checked, remembered,
//! throttled, counted and announced the same way however the feed arrives.
//!
//! [`Ingest::may_check`] is the node's own, instant decision (a key refused a moment ago, an
//! address out of checks); [`Ingest::authorize`] asks the control plane (which looks the
//! key's SHA-256 up and records `lastUsed`) and, when it answers yes, publishes the feed to
//! the hub. Protocols that must answer a handshake without waiting (SRT's listen callback)
//! run the first step there and the second once the connection is up.

use std::net::IpAddr;
use std::sync::Arc;

use super::Ingest;
use super::hub::{Cut, Feed};
use super::key_attempts::Verdict;

/// Why a publish was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The request itself is wrong for the protocol (application name, stream id syntax).
    Request(&'static str),
    /// The key was refused a moment ago: refused again without asking.
    RefusedFromMemory,
    /// The address has used its key checks up.
    TooManyChecks,
    /// The control plane does not know the key (or it was deleted).
    UnknownKey,
    /// The control plane could not be asked.
    Unchecked,
}

impl Refusal {
    /// The reason, for logs and the connection's end.
    pub fn reason(self) -> &'static str {
        match self {
            Refusal::Request(why) => why,
            Refusal::RefusedFromMemory => "stream key refused a moment ago",
            Refusal::TooManyChecks => "too many key checks from this address",
            Refusal::UnknownKey => "unknown or deleted stream key",
            Refusal::Unchecked => "stream key could not be checked",
        }
    }

    /// Decided by the node alone, at no cost to a guesser: one log line each would let it
    /// fill the log, so these are logged at debug only.
    pub fn quiet(self) -> bool {
        matches!(self, Refusal::RefusedFromMemory | Refusal::TooManyChecks)
    }
}

impl Ingest {
    /// Counts a refusal and hands it back.
    pub(super) fn refuse(&self, r: Refusal) -> Refusal {
        self.refused.increment(1);
        r
    }

    /// The node's instant decision on `key` from `peer` (takes one check from its budget).
    pub(super) fn may_check(&self, peer: IpAddr, key: &str) -> Result<(), Refusal> {
        match self.key_attempts.before_check(peer, key) {
            Verdict::Ask => Ok(()),
            Verdict::KnownBad => Err(self.refuse(Refusal::RefusedFromMemory)),
            Verdict::TooMany => Err(self.refuse(Refusal::TooManyChecks)),
        }
    }

    /// Asks the control plane about `key`; when it is good, the publish is in the hub (cut
    /// through `cut`), findable in the fleet and announced to the tenant.
    pub(super) async fn authorize(&self, key: &str, cut: Arc<Cut>) -> Result<Arc<Feed>, Refusal> {
        let grant = match self.links.control.authorize_ingest(key).await {
            Ok(Ok(grant)) => grant,
            Ok(Err(_)) => {
                self.key_attempts.refused(key);
                return Err(self.refuse(Refusal::UnknownKey));
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot check a stream key; refusing the publish");
                return Err(self.refuse(Refusal::Unchecked));
            }
        };
        let feed = self.published(grant, cut).await;
        self.accepted.increment(1);
        Ok(feed)
    }
}
