//! The lease contract between the control plane and the render nodes, as one set of
//! numbers derived from each other.
//!
//! The control plane keeps one lease per node (renewed by one database write per renewal,
//! whatever the number of streams) and holds each stream for the node that claimed it while
//! that node lease lives; the per-stream epoch still fences a stale holder of one stream.
//!
//! A node may push a stream only while it holds the stream's lease; an RTMP server cannot
//! check fencing tokens, so the node must stop pushing before the control plane can give
//! the stream to another node. The control plane extends a lease to [`LEASE_TTL`] from its
//! database's `now()` at every renewal; the node stops its streams [`FENCE_AFTER`] after
//! it *sent* its last successful renewal, which is earlier than the database's `now()` of
//! that renewal, so the node always stops first — by at least [`FENCE_MARGIN`], which
//! covers the two clocks running at slightly different rates and the stop itself.

use std::time::Duration;

/// How long a lease lasts without renewal.
pub const LEASE_TTL: Duration = Duration::from_secs(3);

/// How often a node renews every lease it holds (in one call).
pub const RENEW_EVERY: Duration = Duration::from_secs(1);

/// How much sooner than its lease's end a node stops a stream it could not renew.
pub const FENCE_MARGIN: Duration = Duration::from_millis(200);

/// Without a successful renewal sent this long ago, a node stops every stream it holds.
pub const FENCE_AFTER: Duration = LEASE_TTL.saturating_sub(FENCE_MARGIN);

/// How long a node waits for one renewal's answer. Short enough that a renewal lost on the
/// way (a control-plane replica that died with the request) leaves time for the next one
/// before [`FENCE_AFTER`]: one lost renewal must never fence a node by itself.
pub const RENEW_TIMEOUT: Duration =
    Duration::from_millis((FENCE_AFTER.as_millis() - RENEW_EVERY.as_millis()) as u64 / 2);

/// How long the control plane may take to answer a renewal before it must answer "database
/// unavailable" instead. A node treats a renewal with no answer as a possible partition
/// (it fences at [`FENCE_AFTER`]) but one answered 5xx as safe (leases only move through the
/// database, so a control plane that cannot reach it cannot give them away either): while
/// Postgres is down, the answer must come before the node stops waiting.
pub const RENEW_ANSWER_WITHIN: Duration =
    Duration::from_millis(RENEW_TIMEOUT.as_millis() as u64 * 2 / 3);

// The relations the numbers must keep, checked when the crate compiles.
const _: () = {
    // At least two renewals are sent before a node fences itself.
    assert!(2 * RENEW_EVERY.as_millis() < FENCE_AFTER.as_millis());
    // A renewal that times out still leaves a whole renewal period before the fence.
    assert!(RENEW_EVERY.as_millis() + RENEW_TIMEOUT.as_millis() < FENCE_AFTER.as_millis());
    assert!(FENCE_MARGIN.as_millis() > 0 && FENCE_AFTER.as_millis() < LEASE_TTL.as_millis());
    // The control plane answers (if only "unavailable") before the node gives up waiting.
    assert!(RENEW_ANSWER_WITHIN.as_millis() < RENEW_TIMEOUT.as_millis());
};

/// The most leases one renewal may list: the control plane renews the node's lease once
/// whatever the count, but reads and answers each listed stream, and a node listing more
/// keeps the rest unrenewed (they lapse and move).
pub const MAX_LEASES_PER_RENEWAL: usize = 4096;

/// [`LEASE_TTL`] in milliseconds, as the database computes expiries.
pub const LEASE_TTL_MS: i64 = LEASE_TTL.as_millis() as i64;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_numbers_are_the_ones_operators_know() {
        assert_eq!(LEASE_TTL_MS, 3_000);
        assert_eq!(FENCE_AFTER, Duration::from_millis(2_800));
        assert_eq!(RENEW_TIMEOUT, Duration::from_millis(900));
        assert_eq!(RENEW_ANSWER_WITHIN, Duration::from_millis(600));
    }
}
