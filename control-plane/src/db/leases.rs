//! Stream leases: which render node holds a stream, fenced by an epoch that every claim bumps.
//!
//! A node claims a stream with a conditional UPDATE (nobody holds it, or its holder's node
//! lease ended), holds it while its node lease lives (`super::node_leases`: renewed once per
//! node, not per stream), and loses it when the epoch moves — the reaper, a stop or a new
//! start bump it. A node that cannot renew stops its own pipeline, since an RTMP server cannot
//! check fencing tokens.

use sqlx::PgExecutor;

use crate::ids::{NodeId, StreamId};

/// How long a lease lasts without renewal, in milliseconds: the render nodes' self-fencing
/// deadline is derived from it in `shared::node_api::lease`.
pub const LEASE_TTL_MS: i64 = shared::node_api::lease::LEASE_TTL_MS;
/// Starts handed to nodes that never came up before the stream is declared failed.
pub const MAX_DISPATCH_ATTEMPTS: i32 = 3;
/// How long a claimed stream may take to go live before the claim counts as failed.
pub const START_TIMEOUT_MS: i64 = 20_000;

/// A claim's outcome.
#[derive(Debug)]
pub struct Claimed {
    pub epoch: i64,
    pub attempts: i32,
}

/// Claims the stream for `node` under its node lease at `node_epoch` (from
/// `super::node_leases::extend`; the caller confirms that epoch with
/// `super::node_leases::confirm` before it commits) when it is on air and nobody holds it:
/// no holder, or one whose node epoch ended. `lease_expires_at` guards a fresh claim until
/// the node's first renewal (a racing claimer rechecks it on the row it waited for).
#[tracing::instrument(skip(db))]
pub async fn claim(
    db: impl PgExecutor<'_>,
    stream_id: StreamId,
    node: &NodeId,
    node_epoch: i64,
) -> sqlx::Result<Option<Claimed>> {
    sqlx::query_as!(
        Claimed,
        r#"UPDATE streams
           SET node_id = $2, node_epoch = $4, lease_epoch = lease_epoch + 1,
               lease_expires_at = now() + make_interval(secs => $3::float8 / 1000),
               claimed_at = now(), live_at = NULL, dispatch_attempts = dispatch_attempts + 1
           WHERE id = $1 AND desired_state <> 'stopped' AND failure_reason IS NULL
             AND (node_id IS NULL OR (node_epoch IS NULL AND lease_expires_at < now()))
           RETURNING lease_epoch AS epoch, dispatch_attempts AS attempts"#,
        stream_id as _,
        node as _,
        LEASE_TTL_MS as f64,
        node_epoch
    )
    .fetch_optional(db)
    .await
}

/// Records that the held stream is on air: its start succeeded.
pub async fn mark_live(
    db: impl PgExecutor<'_>,
    stream_id: StreamId,
    node: &NodeId,
    epoch: i64,
) -> sqlx::Result<bool> {
    let r = sqlx::query!(
        r#"UPDATE streams SET live_at = now(), dispatch_attempts = 0
           WHERE id = $1 AND node_id = $2 AND lease_epoch = $3"#,
        stream_id as _,
        node as _,
        epoch
    )
    .execute(db)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// Gives the stream up; with `failure`, the stream is marked failed instead of re-dispatched.
pub async fn release(
    db: impl PgExecutor<'_>,
    stream_id: StreamId,
    node: &NodeId,
    epoch: i64,
    failure: Option<&str>,
) -> sqlx::Result<Option<(String, i64)>> {
    let row = sqlx::query!(
        r#"UPDATE streams
           SET node_id = NULL, node_epoch = NULL, lease_epoch = lease_epoch + 1,
               lease_expires_at = NULL, failure_reason = coalesce($4, failure_reason)
           WHERE id = $1 AND node_id = $2 AND lease_epoch = $3
           RETURNING tenant_id, version"#,
        stream_id as _,
        node as _,
        epoch,
        failure
    )
    .fetch_optional(db)
    .await?;
    Ok(row.map(|r| (r.tenant_id, r.version)))
}

/// Forgets the holder (a stop or a new start): its next renewal fails and it stops.
pub async fn fence(db: impl PgExecutor<'_>, stream_id: StreamId) -> sqlx::Result<()> {
    sqlx::query!(
        r#"UPDATE streams SET node_id = NULL, node_epoch = NULL, lease_epoch = lease_epoch + 1,
               lease_expires_at = NULL, live_at = NULL, claimed_at = NULL, dispatch_attempts = 0, failure_reason = NULL
           WHERE id = $1"#,
        stream_id as _
    )
    .execute(db)
    .await?;
    Ok(())
}

/// A stream the reaper took back from a node.
#[derive(Debug)]
pub struct Reaped {
    pub id: StreamId,
    pub tenant_id: String,
    pub attempts: i32,
    /// True when the holder never went live within the start timeout.
    pub start_timed_out: bool,
}

/// Takes back streams whose node epoch ended (marked by `super::node_leases::end_lapsed` or
/// dropped by their node) or that never went live in time.
pub async fn reap(db: impl PgExecutor<'_>) -> sqlx::Result<Vec<Reaped>> {
    sqlx::query_as!(
        Reaped,
        r#"UPDATE streams s
           SET node_id = NULL, node_epoch = NULL, lease_epoch = s.lease_epoch + 1,
               lease_expires_at = NULL
           FROM (SELECT id, (live_at IS NULL AND claimed_at < now() - make_interval(secs => $1::float8 / 1000)) AS timed_out
                 FROM streams
                 WHERE node_id IS NOT NULL
                   AND ((node_epoch IS NULL AND lease_expires_at < now())
                        OR (live_at IS NULL AND claimed_at < now() - make_interval(secs => $1::float8 / 1000)))
                 ORDER BY claimed_at LIMIT 50 FOR UPDATE SKIP LOCKED) due
           WHERE s.id = due.id
           RETURNING s.id AS "id: StreamId", s.tenant_id, s.dispatch_attempts AS attempts, due.timed_out AS "start_timed_out!""#,
        START_TIMEOUT_MS as f64
    )
    .fetch_all(db)
    .await
}

/// Gives up on a stream that failed to start too many times.
pub async fn fail(db: impl PgExecutor<'_>, stream_id: StreamId, reason: &str) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE streams SET failure_reason = $2 WHERE id = $1",
        stream_id as _,
        reason
    )
    .execute(db)
    .await?;
    Ok(())
}

/// How long an on-air stream may have neither a node nor a start job before the reaper
/// queues one again. Longer than a busy fleet takes to claim a fresh job; a stream that only
/// waits for capacity gets a duplicate job per period, which the claim answers
/// not-claimable once one of them is taken.
pub const ORPHAN_GRACE_MS: i64 = 30_000;

/// On-air streams that no node holds and no start job is pending for: no unpublished start
/// in the outbox and none published within [`ORPHAN_GRACE_MS`] (its job was lost — a node
/// took it and dropped it — or never made). Locked for the caller's transaction.
pub async fn orphans(db: impl PgExecutor<'_>) -> sqlx::Result<Vec<(StreamId, String)>> {
    let rows = sqlx::query!(
        r#"SELECT s.id AS "id: StreamId", s.tenant_id FROM streams s
           WHERE s.desired_state IN ('running', 'paused') AND s.node_id IS NULL
             AND s.failure_reason IS NULL
             AND NOT EXISTS (
                 SELECT 1 FROM outbox o
                 WHERE o.payload->>'type' = 'start' AND o.payload->'spec'->>'streamId' = s.id::text
                   AND (o.published_at IS NULL
                        OR o.created_at > now() - make_interval(secs => $1::float8 / 1000)))
           ORDER BY s.id LIMIT 50 FOR UPDATE OF s SKIP LOCKED"#,
        ORPHAN_GRACE_MS as f64
    )
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(|r| (r.id, r.tenant_id)).collect())
}
