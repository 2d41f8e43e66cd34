-- Webhooks: tenants' HTTPS endpoints for stream events, and a durable delivery queue.
-- A delivery row is one event for one webhook; it is due while next_attempt_at is set,
-- and every try is kept in webhook_attempts (the delivery log).
CREATE TABLE webhooks (
    id uuid PRIMARY KEY,
    tenant_id text NOT NULL,
    url text NOT NULL,
    -- Needed in clear to sign deliveries; shown once at creation, masked after.
    secret text NOT NULL,
    masked_secret text NOT NULL,
    events text[] NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhooks_tenant ON webhooks (tenant_id, created_at);

CREATE TABLE webhook_deliveries (
    id uuid PRIMARY KEY,
    webhook_id uuid NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    event_type text NOT NULL,
    payload jsonb NOT NULL,
    attempts integer NOT NULL DEFAULT 0,
    -- Set while the delivery is due (pending or retrying); NULL once delivered or given up.
    next_attempt_at timestamptz DEFAULT now(),
    delivered_at timestamptz,
    -- The delivery this one re-sends (manual redeliver).
    redelivery_of uuid,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at)
    WHERE next_attempt_at IS NOT NULL;
CREATE INDEX webhook_deliveries_webhook ON webhook_deliveries (webhook_id, created_at);

CREATE TABLE webhook_attempts (
    id bigserial PRIMARY KEY,
    delivery_id uuid NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    attempted_at timestamptz NOT NULL DEFAULT now(),
    -- The receiver's HTTP status, or NULL when there was no answer (error says why).
    status integer,
    error text,
    duration_ms integer NOT NULL
);
CREATE INDEX webhook_attempts_delivery ON webhook_attempts (delivery_id, id);
