//! `/webhooks`: the tenant's endpoints for stream events (a tenant resource, not a
//! stream's: one webhook hears every stream of the tenant), their delivery log and manual
//! redelivery. The signing secret is shown once, at creation.

use std::collections::HashMap;

use crate::db::unix_ms;
use crate::db::webhooks::{self, AttemptRow, WebhookRow};
use crate::error::{ApiError, ErrorEnvelope};
use crate::extract::{ApiJson, PathIds, Tenant};
use crate::ids::{DeliveryId, WebhookId};
use crate::limits::quotas::{Counted, reserve};
use crate::response::{ApiResult, Created, ok};
use crate::state::AppState;
use crate::webhooks::{WebhookEvent, sign, url};
use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Deliveries the log shows, newest first.
const LOG_LENGTH: i64 = 100;
/// Longest endpoint URL accepted.
const MAX_URL_BYTES: usize = 2048;

/// Routes of this resource.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_webhooks, create_webhook))
        .routes(routes!(get_webhook, delete_webhook))
        .routes(routes!(list_deliveries))
        .routes(routes!(redeliver))
}

/// A webhook as listed: its secret masked.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebhookView {
    id: WebhookId,
    url: String,
    /// The event types it receives.
    events: Vec<String>,
    /// Masked: only the last characters are shown.
    secret: String,
    created_at: i64,
}

impl From<WebhookRow> for WebhookView {
    fn from(w: WebhookRow) -> Self {
        WebhookView {
            id: w.id,
            url: w.url,
            events: w.events,
            secret: w.masked_secret,
            created_at: unix_ms(w.created_at),
        }
    }
}

/// The list answer.
#[derive(Serialize, ToSchema)]
pub struct WebhookList {
    webhooks: Vec<WebhookView>,
}

/// A new webhook, with its full signing secret: the only time it is ever shown.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NewWebhook {
    id: WebhookId,
    url: String,
    events: Vec<String>,
    /// Signs every delivery: `Webhook-Signature: t=<unix s>,v1=<hex HMAC-SHA256 of "<t>.<body>">`.
    secret: String,
    created_at: i64,
}

/// Body of `POST /webhooks`.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateWebhook {
    /// An `https://` URL on a public address.
    url: String,
    /// Event types: `stream.started`, `stream.live`, `stream.stopped`, `stream.failed`.
    events: Vec<String>,
}

/// One try of a delivery.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AttemptView {
    at: i64,
    /// The receiver's HTTP status; absent when it did not answer.
    status: Option<i32>,
    /// Why there was no answer (connection refused, timeout, endpoint refused by policy).
    error: Option<String>,
    duration_ms: i32,
}

impl From<AttemptRow> for AttemptView {
    fn from(a: AttemptRow) -> Self {
        AttemptView {
            at: unix_ms(a.attempted_at),
            status: a.status,
            error: a.error,
            duration_ms: a.duration_ms,
        }
    }
}

/// One event on its way to the webhook, with its tries.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryView {
    id: DeliveryId,
    event: String,
    /// `pending` (due or retrying), `delivered` or `failed` (given up).
    state: &'static str,
    next_attempt_at: Option<i64>,
    delivered_at: Option<i64>,
    /// The delivery this one re-sends, for manual redeliveries.
    redelivery_of: Option<DeliveryId>,
    created_at: i64,
    attempts: Vec<AttemptView>,
}

/// The delivery log answer.
#[derive(Serialize, ToSchema)]
pub struct DeliveryList {
    deliveries: Vec<DeliveryView>,
}

/// The new delivery a redeliver queued.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Redelivery {
    id: DeliveryId,
    redelivery_of: DeliveryId,
}

/// Checks a create body; errors name the field.
async fn validate(state: &AppState, body: &CreateWebhook) -> Result<Vec<String>, ApiError> {
    if body.url.len() > MAX_URL_BYTES {
        return Err(ApiError::invalid(
            "url",
            format!("must be at most {MAX_URL_BYTES} bytes"),
        ));
    }
    let endpoint = url::check(state.media(), "url", &body.url)?;
    url::check_dns(state.media(), "url", &endpoint).await?;
    if body.events.is_empty() {
        return Err(ApiError::invalid(
            "events",
            "must name at least one event type",
        ));
    }
    let mut events: Vec<String> = Vec::with_capacity(body.events.len());
    for (i, name) in body.events.iter().enumerate() {
        let Some(e) = WebhookEvent::parse(name) else {
            let known: Vec<&str> = WebhookEvent::ALL.iter().map(|e| e.as_str()).collect();
            return Err(ApiError::invalid(
                format!("events[{i}]"),
                format!("must be one of {}", known.join(", ")),
            ));
        };
        if !events.iter().any(|have| have == e.as_str()) {
            events.push(e.as_str().to_owned());
        }
    }
    Ok(events)
}

/// The tenant's webhooks, secrets masked.
#[utoipa::path(get, path = "/webhooks", tag = "webhooks",
    responses((status = 200, body = WebhookList), (status = 401, body = ErrorEnvelope)))]
async fn list_webhooks(
    State(state): State<AppState>,
    Tenant(tenant): Tenant,
) -> ApiResult<WebhookList> {
    let rows = webhooks::list(&state.db, &tenant).await?;
    ok(WebhookList {
        webhooks: rows.into_iter().map(WebhookView::from).collect(),
    })
}

/// Registers a webhook and returns its signing secret once.
#[utoipa::path(post, path = "/webhooks", tag = "webhooks", request_body = CreateWebhook,
    responses((status = 201, body = NewWebhook), (status = 409, body = ErrorEnvelope),
              (status = 422, body = ErrorEnvelope)))]
async fn create_webhook(
    State(state): State<AppState>,
    Tenant(tenant): Tenant,
    ApiJson(body): ApiJson<CreateWebhook>,
) -> Result<Created<NewWebhook>, ApiError> {
    let events = validate(&state, &body).await?;
    let _gate = state.gates.enter(&tenant).await;
    let mut tx = state.db.begin().await?;
    reserve(&mut tx, &state.config.quotas, &tenant, Counted::Webhooks).await?;
    let secret = sign::generate_secret()
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("no randomness: {e}")))?;
    let row = webhooks::insert(
        &mut *tx,
        WebhookId::random(),
        &tenant,
        &body.url,
        &secret,
        &sign::mask(&secret),
        &events,
    )
    .await?;
    tx.commit().await?;
    tracing::info!(tenant, webhook_id = %row.id, events = ?row.events, "webhook registered");
    Ok(Created(NewWebhook {
        id: row.id,
        url: row.url,
        events: row.events,
        secret,
        created_at: unix_ms(row.created_at),
    }))
}

/// One webhook, secret masked.
#[utoipa::path(get, path = "/webhooks/{id}", tag = "webhooks", params(("id" = Uuid, Path)),
    responses((status = 200, body = WebhookView), (status = 404, body = ErrorEnvelope)))]
async fn get_webhook(
    State(state): State<AppState>,
    Tenant(tenant): Tenant,
    ids: PathIds,
) -> ApiResult<WebhookView> {
    let id: WebhookId = ids.id("id", "webhook")?;
    let row = webhooks::find(&state.db, &tenant, id)
        .await?
        .ok_or(ApiError::NotFound("webhook"))?;
    ok(WebhookView::from(row))
}

/// Deletes a webhook; its pending deliveries and log go with it.
#[utoipa::path(delete, path = "/webhooks/{id}", tag = "webhooks", params(("id" = Uuid, Path)),
    responses((status = 200, body = Object), (status = 404, body = ErrorEnvelope)))]
async fn delete_webhook(
    State(state): State<AppState>,
    Tenant(tenant): Tenant,
    ids: PathIds,
) -> ApiResult<serde_json::Value> {
    let id: WebhookId = ids.id("id", "webhook")?;
    if !webhooks::delete(&state.db, &tenant, id).await? {
        return Err(ApiError::NotFound("webhook"));
    }
    tracing::info!(tenant, webhook_id = %id, "webhook deleted");
    ok(serde_json::json!({ "id": id, "deleted": true }))
}

/// The webhook's last deliveries, newest first, each with its tries.
#[utoipa::path(get, path = "/webhooks/{id}/deliveries", tag = "webhooks",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = DeliveryList), (status = 404, body = ErrorEnvelope)))]
async fn list_deliveries(
    State(state): State<AppState>,
    Tenant(tenant): Tenant,
    ids: PathIds,
) -> ApiResult<DeliveryList> {
    let id: WebhookId = ids.id("id", "webhook")?;
    webhooks::find(&state.db, &tenant, id)
        .await?
        .ok_or(ApiError::NotFound("webhook"))?;
    let rows = webhooks::deliveries(&state.db, id, LOG_LENGTH).await?;
    let delivery_ids: Vec<DeliveryId> = rows.iter().map(|d| d.id).collect();
    let mut tries: HashMap<DeliveryId, Vec<AttemptView>> = HashMap::new();
    for a in webhooks::attempts(&state.db, &delivery_ids).await? {
        tries.entry(a.delivery_id).or_default().push(a.into());
    }
    let deliveries = rows
        .into_iter()
        .map(|d| DeliveryView {
            id: d.id,
            event: d.event_type,
            state: match (d.delivered_at, d.next_attempt_at) {
                (Some(_), _) => "delivered",
                (None, Some(_)) => "pending",
                (None, None) => "failed",
            },
            next_attempt_at: d.next_attempt_at.map(unix_ms),
            delivered_at: d.delivered_at.map(unix_ms),
            redelivery_of: d.redelivery_of,
            created_at: unix_ms(d.created_at),
            attempts: tries.remove(&d.id).unwrap_or_default(),
        })
        .collect();
    ok(DeliveryList { deliveries })
}

/// Sends a delivery again, as a new delivery of the same event (same payload and event id).
#[utoipa::path(post, path = "/webhooks/{id}/deliveries/{deliveryId}/redeliver", tag = "webhooks",
    params(("id" = Uuid, Path), ("deliveryId" = Uuid, Path)),
    responses((status = 201, body = Redelivery), (status = 404, body = ErrorEnvelope)))]
async fn redeliver(
    State(state): State<AppState>,
    Tenant(tenant): Tenant,
    ids: PathIds,
) -> Result<Created<Redelivery>, ApiError> {
    let id: WebhookId = ids.id("id", "webhook")?;
    let of: DeliveryId = ids.id("deliveryId", "delivery")?;
    let mut tx = state.db.begin().await?;
    webhooks::find(&mut *tx, &tenant, id)
        .await?
        .ok_or(ApiError::NotFound("webhook"))?;
    let new = webhooks::redeliver(&mut *tx, id, of)
        .await?
        .ok_or(ApiError::NotFound("delivery"))?;
    tx.commit().await?;
    tracing::info!(tenant, webhook_id = %id, delivery_id = %new, redelivery_of = %of, "webhook redelivery queued");
    Ok(Created(Redelivery {
        id: new,
        redelivery_of: of,
    }))
}
