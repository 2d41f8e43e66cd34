//! Node leases: one row per render node, renewed by one UPDATE per renewal whatever the number
//! of streams the node holds, so Postgres sees writes at node rate, not stream rate.
//!
//! A stream is held while its holder's node lease is, at the node epoch it was claimed under
//! (`streams.node_epoch`). Only the reaper ends a node lease: it bumps the epoch of a lapsed
//! one and clears `node_epoch` on that node's streams in the same statement, under the node
//! row's lock. A renewal takes the same lock, so it either comes first (and the lease is no
//! longer lapsed when the reaper looks again) or after (and finds its streams stale). A
//! renewal that comes late but before the reaper revives the lease, as a late per-stream
//! renewal did: nothing was given away yet, since every takeover changes the stream's row,
//! which the renewal reads after its own write.

use sqlx::PgExecutor;
use uuid::Uuid;

use crate::ids::NodeId;

use super::leases::LEASE_TTL_MS;

/// Extends `node`'s lease (creating it at epoch 1): its current epoch.
pub async fn extend(db: impl PgExecutor<'_>, node: &NodeId) -> sqlx::Result<i64> {
    sqlx::query_scalar!(
        r#"INSERT INTO node_leases (node_id, epoch, expires_at)
           VALUES ($1, 1, now() + make_interval(secs => $2::float8 / 1000))
           ON CONFLICT (node_id) DO UPDATE SET expires_at = EXCLUDED.expires_at
           RETURNING epoch"#,
        node as _,
        LEASE_TTL_MS as f64
    )
    .fetch_one(db)
    .await
}

/// Whether `node`'s lease is still at `epoch`, locked (shared) until the caller's transaction
/// ends: a claim made under that epoch commits before the reaper can end it, or not at all.
pub async fn confirm(db: impl PgExecutor<'_>, node: &NodeId, epoch: i64) -> sqlx::Result<bool> {
    let now = sqlx::query_scalar!(
        "SELECT epoch FROM node_leases WHERE node_id = $1 FOR SHARE",
        node as _
    )
    .fetch_optional(db)
    .await?;
    Ok(now == Some(epoch))
}

/// A stream the control plane thinks `node` holds at its current epoch.
#[derive(Debug)]
pub struct Holding {
    pub id: Uuid,
    pub lease_epoch: i64,
    pub on_air: bool,
    pub version: i64,
    /// Claimed longer than a lease ago: a node that still does not list it has dropped it.
    pub settled: bool,
}

/// The streams `node` holds at node epoch `epoch`. Read after the renewal's write, so any
/// takeover that committed before it is seen.
pub async fn holding(
    db: impl PgExecutor<'_>,
    node: &NodeId,
    epoch: i64,
) -> sqlx::Result<Vec<Holding>> {
    sqlx::query_as!(
        Holding,
        r#"SELECT id, lease_epoch, desired_state <> 'stopped' AS "on_air!", version,
                  coalesce(lease_expires_at < now(), true) AS "settled!"
           FROM streams WHERE node_id = $1 AND node_epoch = $2"#,
        node as _,
        epoch
    )
    .fetch_all(db)
    .await
}

/// Marks streams `node` no longer lists as stale (it dropped them without a release that
/// arrived): the reaper dispatches them again, as it did when their own leases lapsed.
pub async fn forget(
    db: impl PgExecutor<'_>,
    node: &NodeId,
    epoch: i64,
    ids: &[Uuid],
) -> sqlx::Result<u64> {
    let r = sqlx::query!(
        r#"UPDATE streams SET node_epoch = NULL
           WHERE node_id = $1 AND node_epoch = $2 AND id = ANY($3)"#,
        node as _,
        epoch,
        ids
    )
    .execute(db)
    .await?;
    Ok(r.rows_affected())
}

/// Ends the lapsed leases of nodes that hold streams: bumps their epochs and marks their
/// streams stale, for [`super::leases::reap`] to take back. Returns the nodes.
pub async fn end_lapsed(db: impl PgExecutor<'_>) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar!(
        r#"WITH ended AS (
               UPDATE node_leases nl SET epoch = nl.epoch + 1
               WHERE nl.expires_at < now()
                 AND EXISTS (SELECT 1 FROM streams s
                             WHERE s.node_id = nl.node_id AND s.node_epoch = nl.epoch)
               RETURNING nl.node_id, nl.epoch - 1 AS old_epoch),
           stale AS (
               UPDATE streams s SET node_epoch = NULL
               FROM ended e WHERE s.node_id = e.node_id AND s.node_epoch = e.old_epoch
               RETURNING s.id)
           SELECT node_id AS "node_id!" FROM ended"#
    )
    .fetch_all(db)
    .await
}
