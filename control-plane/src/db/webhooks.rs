//! `webhooks`, `webhook_deliveries`, `webhook_attempts`: tenants' endpoints, the durable
//! queue of events on their way to them, and the log of every try.
//!
//! An event is fanned out to one delivery row per matching webhook in the transaction that
//! commits the change it reports, so it is never lost nor sent for a change that rolled back.
//! The deliverer claims due rows with `FOR UPDATE SKIP LOCKED`, so two replicas never try
//! the same delivery at once.

use serde_json::Value;
use sqlx::PgExecutor;
use sqlx::types::Json;
use time::OffsetDateTime;

use crate::ids::{DeliveryId, WebhookId};

/// A webhook as listed (never its secret).
#[derive(Debug)]
pub struct WebhookRow {
    pub id: WebhookId,
    pub url: String,
    pub masked_secret: String,
    pub events: Vec<String>,
    pub created_at: OffsetDateTime,
}

/// A delivery as the log shows it.
#[derive(Debug)]
pub struct DeliveryRow {
    pub id: DeliveryId,
    pub event_type: String,
    pub attempts: i32,
    pub next_attempt_at: Option<OffsetDateTime>,
    pub delivered_at: Option<OffsetDateTime>,
    pub redelivery_of: Option<DeliveryId>,
    pub created_at: OffsetDateTime,
}

/// One try of a delivery.
#[derive(Debug)]
pub struct AttemptRow {
    pub delivery_id: DeliveryId,
    pub attempted_at: OffsetDateTime,
    pub status: Option<i32>,
    pub error: Option<String>,
    pub duration_ms: i32,
}

/// A due delivery with what sending it needs.
#[derive(Debug)]
pub struct DueDelivery {
    pub id: DeliveryId,
    pub webhook_id: WebhookId,
    pub tenant_id: String,
    pub url: String,
    pub secret: String,
    pub payload: Json<Value>,
    pub attempts: i32,
    pub created_at: OffsetDateTime,
}

/// Stores a new webhook.
#[tracing::instrument(skip(db, secret))]
pub async fn insert(
    db: impl PgExecutor<'_>,
    id: WebhookId,
    tenant: &str,
    url: &str,
    secret: &str,
    masked_secret: &str,
    events: &[String],
) -> sqlx::Result<WebhookRow> {
    sqlx::query_as!(
        WebhookRow,
        r#"INSERT INTO webhooks (id, tenant_id, url, secret, masked_secret, events)
           VALUES ($1, $2, $3, $4, $5, $6)
           RETURNING id AS "id: WebhookId", url, masked_secret, events, created_at"#,
        id as _,
        tenant,
        url,
        secret,
        masked_secret,
        events
    )
    .fetch_one(db)
    .await
}

/// The tenant's webhooks, oldest first.
#[tracing::instrument(skip(db))]
pub async fn list(db: impl PgExecutor<'_>, tenant: &str) -> sqlx::Result<Vec<WebhookRow>> {
    sqlx::query_as!(
        WebhookRow,
        r#"SELECT id AS "id: WebhookId", url, masked_secret, events, created_at
           FROM webhooks WHERE tenant_id = $1 ORDER BY created_at, id"#,
        tenant
    )
    .fetch_all(db)
    .await
}

/// One of the tenant's webhooks.
#[tracing::instrument(skip(db))]
pub async fn find(
    db: impl PgExecutor<'_>,
    tenant: &str,
    id: WebhookId,
) -> sqlx::Result<Option<WebhookRow>> {
    sqlx::query_as!(
        WebhookRow,
        r#"SELECT id AS "id: WebhookId", url, masked_secret, events, created_at
           FROM webhooks WHERE tenant_id = $1 AND id = $2"#,
        tenant,
        id as _
    )
    .fetch_optional(db)
    .await
}

/// Deletes one of the tenant's webhooks with its deliveries; whether it existed.
#[tracing::instrument(skip(db))]
pub async fn delete(db: impl PgExecutor<'_>, tenant: &str, id: WebhookId) -> sqlx::Result<bool> {
    let r = sqlx::query!(
        "DELETE FROM webhooks WHERE tenant_id = $1 AND id = $2",
        tenant,
        id as _
    )
    .execute(db)
    .await?;
    Ok(r.rows_affected() > 0)
}

/// The tenant's webhook count, for `QUOTA_WEBHOOKS`.
pub async fn count(db: impl PgExecutor<'_>, tenant: &str) -> sqlx::Result<i64> {
    sqlx::query_scalar!(
        r#"SELECT count(*) AS "n!" FROM webhooks WHERE tenant_id = $1"#,
        tenant
    )
    .fetch_one(db)
    .await
}

/// Queues `payload` for every webhook of the tenant that subscribed to `event_type`, due
/// now; returns how many deliveries were queued. Each row gets its own id (the receiver's
/// idempotency key is the event id inside the payload).
#[tracing::instrument(skip(db, payload))]
pub async fn enqueue(
    db: impl PgExecutor<'_>,
    tenant: &str,
    event_type: &str,
    payload: &Value,
) -> sqlx::Result<u64> {
    let r = sqlx::query!(
        "INSERT INTO webhook_deliveries (id, webhook_id, event_type, payload)
         SELECT gen_random_uuid(), id, $2, $3 FROM webhooks
         WHERE tenant_id = $1 AND $2 = ANY(events)",
        tenant,
        event_type,
        Json(payload) as _
    )
    .execute(db)
    .await?;
    Ok(r.rows_affected())
}

/// Claims up to `limit` due deliveries; rows another replica holds are skipped. The locks
/// last until the caller's transaction ends, which is after the tries are recorded.
pub async fn claim_due(db: impl PgExecutor<'_>, limit: i64) -> sqlx::Result<Vec<DueDelivery>> {
    sqlx::query_as!(
        DueDelivery,
        r#"SELECT d.id AS "id: DeliveryId", d.webhook_id AS "webhook_id: WebhookId",
                  w.tenant_id, w.url, w.secret, d.payload AS "payload: Json<Value>",
                  d.attempts, d.created_at
           FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id
           WHERE d.next_attempt_at <= now()
           ORDER BY d.next_attempt_at LIMIT $1
           FOR UPDATE OF d SKIP LOCKED"#,
        limit
    )
    .fetch_all(db)
    .await
}

/// Records one try of a delivery.
pub async fn record_attempt(
    db: impl PgExecutor<'_>,
    id: DeliveryId,
    status: Option<i32>,
    error: Option<&str>,
    duration_ms: i32,
) -> sqlx::Result<()> {
    sqlx::query!(
        "INSERT INTO webhook_attempts (delivery_id, status, error, duration_ms)
         VALUES ($1, $2, $3, $4)",
        id as _,
        status,
        error,
        duration_ms
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Moves a delivery on after a try: delivered, due again at `next` or, with neither, given up.
pub async fn settle(
    db: impl PgExecutor<'_>,
    id: DeliveryId,
    delivered: bool,
    next: Option<OffsetDateTime>,
) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE webhook_deliveries
         SET attempts = attempts + 1, next_attempt_at = $2,
             delivered_at = CASE WHEN $3 THEN now() ELSE delivered_at END
         WHERE id = $1",
        id as _,
        next,
        delivered
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Deletes finished deliveries (delivered or given up) older than `days`, with their tries,
/// so the queue and the log stay small.
pub async fn prune(db: impl PgExecutor<'_>, days: i32) -> sqlx::Result<u64> {
    let r = sqlx::query!(
        "DELETE FROM webhook_deliveries
         WHERE next_attempt_at IS NULL AND created_at < now() - make_interval(days => $1)",
        days
    )
    .execute(db)
    .await?;
    Ok(r.rows_affected())
}

/// The webhook's deliveries, newest first.
#[tracing::instrument(skip(db))]
pub async fn deliveries(
    db: impl PgExecutor<'_>,
    webhook: WebhookId,
    limit: i64,
) -> sqlx::Result<Vec<DeliveryRow>> {
    sqlx::query_as!(
        DeliveryRow,
        r#"SELECT id AS "id: DeliveryId", event_type, attempts, next_attempt_at, delivered_at,
                  redelivery_of AS "redelivery_of: DeliveryId", created_at
           FROM webhook_deliveries WHERE webhook_id = $1
           ORDER BY created_at DESC, id LIMIT $2"#,
        webhook as _,
        limit
    )
    .fetch_all(db)
    .await
}

/// The tries of these deliveries, oldest first.
#[tracing::instrument(skip(db))]
pub async fn attempts(
    db: impl PgExecutor<'_>,
    deliveries: &[DeliveryId],
) -> sqlx::Result<Vec<AttemptRow>> {
    sqlx::query_as!(
        AttemptRow,
        r#"SELECT delivery_id AS "delivery_id: DeliveryId", attempted_at, status, error,
                  duration_ms
           FROM webhook_attempts WHERE delivery_id = ANY($1) ORDER BY id"#,
        deliveries as _
    )
    .fetch_all(db)
    .await
}

/// Queues a copy of one of the webhook's deliveries, due now; the new id, or `None` when
/// the webhook has no such delivery.
#[tracing::instrument(skip(db))]
pub async fn redeliver(
    db: impl PgExecutor<'_>,
    webhook: WebhookId,
    delivery: DeliveryId,
) -> sqlx::Result<Option<DeliveryId>> {
    sqlx::query_scalar!(
        r#"INSERT INTO webhook_deliveries (id, webhook_id, event_type, payload, redelivery_of)
           SELECT gen_random_uuid(), webhook_id, event_type, payload, id
           FROM webhook_deliveries WHERE webhook_id = $1 AND id = $2
           RETURNING id AS "id: DeliveryId""#,
        webhook as _,
        delivery as _
    )
    .fetch_optional(db)
    .await
}
