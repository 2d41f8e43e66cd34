//! The reaper: ends the leases of nodes that stopped renewing (the node died or lost its way)
//! and takes back their streams and those that never went live, and dispatches them again — or, after too many attempts,
//! marks them failed with a reason. It also re-dispatches on-air streams that have neither
//! a node nor a pending start job (a job a node took and dropped, e.g. on a claim answered
//! 401 by a replica with a rotated secret), so a start is never lost for good. Every replica
//! runs one; `SKIP LOCKED` splits the work.

use std::time::{Duration, Instant};

use serde_json::json;
use shared::events::EventType;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::db::leases::{self, MAX_DISPATCH_ATTEMPTS};
use crate::db::{node_leases, streams};
use crate::dispatch::commands;
use crate::dispatch::tx::CommandTx;
use crate::error::ApiError;
use crate::state::AppState;
use crate::webhooks::{self, WebhookEvent};

/// How often leases are checked; with the lease TTL it bounds failover time.
const TICK: Duration = Duration::from_millis(250);

/// One pass: returns how many streams were re-dispatched or failed.
pub async fn reap_once(state: &AppState) -> Result<usize, ApiError> {
    let mut tx = CommandTx::begin(state).await?;
    let ended = node_leases::end_lapsed(tx.conn()).await?;
    if !ended.is_empty() {
        tracing::warn!(nodes = ?ended, "node leases lapsed: their streams are taken back");
    }
    let reaped = leases::reap(tx.conn()).await?;
    let mut failed = Vec::new();
    for r in &reaped {
        if r.attempts >= MAX_DISPATCH_ATTEMPTS {
            let reason = if r.start_timed_out {
                format!("the stream did not go live after {} attempts", r.attempts)
            } else {
                format!(
                    "render nodes failed {} times in a row while starting it",
                    r.attempts
                )
            };
            leases::fail(tx.conn(), r.id, &reason).await?;
            let data = json!({ "reason": reason });
            webhooks::emit(
                tx.conn(),
                &r.tenant_id,
                r.id,
                WebhookEvent::StreamFailed,
                data,
            )
            .await?;
            failed.push((r, reason));
            continue;
        }
        let Some(row) = streams::find(tx.conn(), &r.tenant_id, r.id).await? else {
            continue;
        };
        if !row.desired().is_on_air() {
            continue;
        }
        // The re-dispatch starts a trace of its own, which the node that takes it continues.
        let span = tracing::info_span!("redispatch", stream_id = %r.id, tenant = %r.tenant_id, attempts = r.attempts);
        commands::start(&mut tx, &row).instrument(span).await?;
        tracing::warn!(stream_id = %r.id, tenant = %r.tenant_id, attempts = r.attempts, timed_out = r.start_timed_out, "lease lapsed: stream dispatched again");
    }
    tx.commit().await?;
    if !failed.is_empty() {
        webhooks::wake(state);
    }
    if !reaped.is_empty() {
        metrics::counter!("streams_reaped_total").increment(reaped.len() as u64);
    }
    for (r, reason) in failed {
        tracing::error!(stream_id = %r.id, tenant = %r.tenant_id, %reason, "stream failed");
        crate::events::publish(
            state,
            &r.tenant_id,
            r.id,
            EventType::StreamError,
            json!({ "reason": reason }),
        )
        .await;
    }
    Ok(reaped.len())
}

/// How often orphaned streams are looked for: the query scans the outbox, and the grace
/// period is far longer than this.
const ORPHAN_EVERY: Duration = Duration::from_secs(5);

/// Queues a start again for on-air streams with neither a node nor a pending start job;
/// returns how many.
pub async fn redispatch_orphans(state: &AppState) -> Result<usize, ApiError> {
    let mut tx = CommandTx::begin(state).await?;
    let orphans = leases::orphans(tx.conn()).await?;
    for (id, tenant) in &orphans {
        let Some(row) = streams::find(tx.conn(), tenant, *id).await? else {
            continue;
        };
        let span = tracing::info_span!("redispatch", stream_id = %id, tenant = %tenant);
        commands::start(&mut tx, &row).instrument(span).await?;
        tracing::warn!(stream_id = %id, %tenant, "on air with neither a node nor a start job: dispatched again");
    }
    tx.commit().await?;
    if !orphans.is_empty() {
        metrics::counter!("streams_reaped_total").increment(orphans.len() as u64);
    }
    Ok(orphans.len())
}

/// Runs the reaper until cancelled.
pub async fn run(state: AppState, token: CancellationToken) {
    // After the database comes back every lease looks lapsed, though the nodes are alive and
    // renew within a second: wait a lease's length before judging them.
    let grace = Duration::from_millis(leases::LEASE_TTL_MS as u64) + Duration::from_secs(1);
    let mut hold_until: Option<Instant> = None;
    let mut db_down = false;
    let mut next_orphan_pass = Instant::now() + ORPHAN_EVERY;
    loop {
        if db_down {
            // Probe until the database answers, then hold off for the grace period.
            if sqlx::query("SELECT 1").execute(&state.db).await.is_ok() {
                db_down = false;
                hold_until = Some(Instant::now() + grace);
                tracing::info!(
                    grace_ms = grace.as_millis() as u64,
                    "database back; reaping resumes after the grace period"
                );
            }
        } else if hold_until.is_none_or(|t| Instant::now() >= t) {
            hold_until = None;
            if let Err(e) = reap_once(&state).await {
                tracing::warn!(error = %e, "reaper pass failed");
                db_down = true;
            } else if Instant::now() >= next_orphan_pass {
                next_orphan_pass = Instant::now() + ORPHAN_EVERY;
                if let Err(e) = redispatch_orphans(&state).await {
                    tracing::warn!(error = %e, "orphan pass failed");
                    db_down = true;
                }
            }
        }
        tokio::select! {
            _ = token.cancelled() => break,
            _ = tokio::time::sleep(TICK) => {}
        }
    }
}
