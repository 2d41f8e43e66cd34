//! The deliverer: every replica runs one. It claims due deliveries (`FOR UPDATE SKIP
//! LOCKED`, held until the tries are recorded, so no two replicas try the same delivery at
//! once), posts them concurrently, logs each try and schedules the next one.
//!
//! At least once: a replica that dies after a receiver answered but before its commit
//! leaves the delivery due, and another tries it again (same `Webhook-Id` and event id).

use std::time::{Duration, Instant};

use futures_util::future::join_all;
use time::OffsetDateTime;
use tokio_util::sync::CancellationToken;

use crate::db::webhooks::{self, DueDelivery};
use crate::state::AppState;
use crate::webhooks::sign::{self, DELIVERY_HEADER, EVENT_HEADER, SIGNATURE_HEADER};
use crate::webhooks::url;

/// Deliveries tried per transaction.
const BATCH: i64 = 20;
/// How often the deliverer looks for due deliveries.
const POLL: Duration = Duration::from_millis(250);
/// Finished deliveries are kept this long in the log.
const KEEP_DAYS: i32 = 7;
/// Loop turns between prunes (about an hour at the poll interval).
const PRUNE_EVERY: u64 = 14_400;
/// Longest error text kept in the log.
const MAX_ERROR_BYTES: usize = 300;

/// What one try came to.
struct Outcome {
    status: Option<u16>,
    error: Option<String>,
    took: Duration,
}

impl Outcome {
    fn delivered(&self) -> bool {
        self.status.is_some_and(|s| (200..300).contains(&s))
    }
}

/// Tries every due delivery once (up to a batch); returns how many were tried. Tests call
/// this directly instead of waiting for the loop.
pub async fn deliver_due(state: &AppState) -> sqlx::Result<usize> {
    let mut tx = state.db.begin().await?;
    let due = webhooks::claim_due(&mut *tx, BATCH).await?;
    let outcomes = join_all(due.iter().map(|d| try_once(state, d))).await;
    let settings = &state.config.webhooks;
    for (d, outcome) in due.iter().zip(outcomes) {
        let failed_tries = d.attempts.max(0) as u32 + 1;
        let next = if outcome.delivered() {
            None
        } else {
            let at = OffsetDateTime::now_utc() + settings.retry_delay(failed_tries);
            // Past the retry window the delivery is given up (it stays in the log).
            (at - d.created_at < settings.retry_for).then_some(at)
        };
        let error = outcome.error.as_deref().map(|e| {
            shared::tenant_text::truncate(&shared::tenant_text::redact(e), MAX_ERROR_BYTES)
                .to_owned()
        });
        webhooks::record_attempt(
            &mut *tx,
            d.id,
            outcome.status.map(i32::from),
            error.as_deref(),
            outcome.took.as_millis().min(i32::MAX as u128) as i32,
        )
        .await?;
        webhooks::settle(&mut *tx, d.id, outcome.delivered(), next).await?;
        tracing::info!(
            tenant = %d.tenant_id, webhook_id = %d.webhook_id, delivery_id = %d.id,
            status = outcome.status, error = error.as_deref(), attempt = failed_tries,
            retry = next.is_some() && !outcome.delivered(), "webhook delivery tried"
        );
    }
    tx.commit().await?;
    Ok(due.len())
}

/// Posts one delivery to its endpoint, checked and pinned to a checked address.
async fn try_once(state: &AppState, d: &DueDelivery) -> Outcome {
    let started = Instant::now();
    let fail = |error: String| Outcome {
        status: None,
        error: Some(error),
        took: started.elapsed(),
    };
    // The policy may have tightened since registration: checked again.
    let endpoint = match url::check(state.media(), "url", &d.url) {
        Ok(u) => u,
        Err(e) => return fail(format!("endpoint refused: {e}")),
    };
    let pin = match url::pin(state.media(), &endpoint).await {
        Ok(p) => p,
        Err(e) => return fail(format!("endpoint refused: {e}")),
    };
    let mut client = reqwest::Client::builder()
        .timeout(state.config.webhooks.timeout)
        // A redirect would lead to an address nobody checked.
        .redirect(reqwest::redirect::Policy::none());
    if let Some((host, addr)) = &pin {
        client = client.resolve(host, *addr);
    }
    let client = match client.build() {
        Ok(c) => c,
        Err(e) => return fail(format!("no HTTP client: {e}")),
    };
    let body = d.payload.0.to_string().into_bytes();
    let event = d.payload.0["type"].as_str().unwrap_or_default().to_owned();
    let timestamp = OffsetDateTime::now_utc().unix_timestamp();
    let signature = sign::signature(&d.secret, timestamp, &body);
    let sent = client
        .post(endpoint)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header(reqwest::header::USER_AGENT, "stream-manager-webhooks/1")
        .header(DELIVERY_HEADER, d.id.to_string())
        .header(EVENT_HEADER, event)
        .header(SIGNATURE_HEADER, signature)
        .body(body)
        .send()
        .await;
    match sent {
        Ok(resp) => Outcome {
            status: Some(resp.status().as_u16()),
            error: None,
            took: started.elapsed(),
        },
        // Without the URL: the log is for the tenant, who knows it.
        Err(e) => fail(e.without_url().to_string()),
    }
}

/// Runs the deliverer until cancelled.
pub async fn run(state: AppState, token: CancellationToken) {
    let mut backoff = shared::backoff::Backoff::new();
    let mut turns: u64 = 0;
    loop {
        turns += 1;
        if turns.is_multiple_of(PRUNE_EVERY)
            && let Err(e) = webhooks::prune(&state.db, KEEP_DAYS).await
        {
            tracing::warn!(error = %e, "webhook delivery prune failed");
        }
        let wait = match deliver_due(&state).await {
            Ok(n) if n as i64 == BATCH => Duration::ZERO,
            Ok(_) => {
                backoff.reset();
                POLL
            }
            Err(e) => {
                let wait = backoff.next_delay();
                tracing::warn!(error = %e, retry_in_ms = wait.as_millis() as u64, "webhook deliverer failed");
                wait
            }
        };
        tokio::select! {
            _ = token.cancelled() => break,
            _ = state.webhook_wake.notified() => {}
            _ = tokio::time::sleep(wait) => {}
        }
    }
    tracing::info!("webhook deliverer stopped");
}
