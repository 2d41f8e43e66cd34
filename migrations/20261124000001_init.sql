-- Stream Manager schema. Postgres is the source of truth for everything a tenant configures;
-- Redis only mirrors live, rebuildable state. Migrations are never edited once applied.

-- A tenant's channel. `version` is bumped on every change of desired state so render nodes
-- can tell newer commands from late ones.
CREATE TABLE streams (
    id              UUID PRIMARY KEY,
    tenant_id       TEXT NOT NULL,
    name            TEXT NOT NULL,
    is_default      BOOLEAN NOT NULL DEFAULT FALSE,
    config          JSONB NOT NULL,
    desired_state   TEXT NOT NULL DEFAULT 'stopped'
                    CHECK (desired_state IN ('stopped', 'running', 'paused')),
    version         BIGINT NOT NULL DEFAULT 1,
    active_scene_id UUID,
    -- Fencing: the node holding the stream and the epoch of its claim.
    node_id         TEXT,
    lease_epoch     BIGINT NOT NULL DEFAULT 0,
    lease_expires_at TIMESTAMPTZ,
    started_at      TIMESTAMPTZ,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at      TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX streams_tenant ON streams (tenant_id, created_at);
-- One default stream per tenant, created on first use of the `/stream` paths.
CREATE UNIQUE INDEX streams_one_default ON streams (tenant_id) WHERE is_default;

CREATE TABLE scenes (
    id         UUID PRIMARY KEY,
    stream_id  UUID NOT NULL REFERENCES streams (id) ON DELETE CASCADE,
    name       TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT scenes_name_unique UNIQUE (stream_id, name)
);

ALTER TABLE streams
    ADD CONSTRAINT streams_active_scene FOREIGN KEY (active_scene_id)
    REFERENCES scenes (id) DEFERRABLE INITIALLY DEFERRED;

CREATE TABLE layers (
    id         UUID PRIMARY KEY,
    stream_id  UUID NOT NULL REFERENCES streams (id) ON DELETE CASCADE,
    scene_id   UUID NOT NULL REFERENCES scenes (id) ON DELETE CASCADE,
    name       TEXT NOT NULL,
    kind       TEXT NOT NULL CHECK (kind IN ('color', 'image', 'text', 'video', 'ingest')),
    source     JSONB NOT NULL,
    visible    BOOLEAN NOT NULL DEFAULT TRUE,
    x          INTEGER NOT NULL,
    y          INTEGER NOT NULL,
    width      INTEGER NOT NULL CHECK (width > 0),
    height     INTEGER NOT NULL CHECK (height > 0),
    opacity    REAL NOT NULL CHECK (opacity >= 0 AND opacity <= 1),
    z_index    INTEGER NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX layers_stream ON layers (stream_id, z_index);

-- Stream keys are 192-bit random secrets, so a single SHA-256 is a sound verifier: there is
-- nothing to brute-force that a slow hash would protect. The clear value is never stored.
CREATE TABLE stream_keys (
    id           UUID PRIMARY KEY,
    tenant_id    TEXT NOT NULL,
    stream_id    UUID NOT NULL REFERENCES streams (id) ON DELETE CASCADE,
    key_hash     BYTEA NOT NULL UNIQUE,
    masked       TEXT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    last_used_at TIMESTAMPTZ
);
CREATE INDEX stream_keys_stream ON stream_keys (stream_id, created_at);

-- Uploaded images, addressed by content: the same bytes uploaded twice are one asset.
CREATE TABLE assets (
    id           UUID PRIMARY KEY,
    tenant_id    TEXT NOT NULL,
    sha256       TEXT NOT NULL,
    content_type TEXT NOT NULL,
    width        INTEGER NOT NULL,
    height       INTEGER NOT NULL,
    byte_size    INTEGER NOT NULL,
    bytes        BYTEA NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT assets_content_unique UNIQUE (tenant_id, sha256)
);

-- Commands to render nodes, written in the same transaction as the state change that
-- caused them; a relay publishes them with publisher confirms and marks them sent.
CREATE TABLE outbox (
    id           BIGSERIAL PRIMARY KEY,
    routing_key  TEXT NOT NULL,
    payload      JSONB NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    published_at TIMESTAMPTZ
);
CREATE INDEX outbox_pending ON outbox (id) WHERE published_at IS NULL;

CREATE TABLE stream_audit (
    id         BIGSERIAL PRIMARY KEY,
    tenant_id  TEXT NOT NULL,
    stream_id  UUID NOT NULL,
    action     TEXT NOT NULL,
    version    BIGINT NOT NULL,
    at         TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX stream_audit_stream ON stream_audit (stream_id, at);
