-- Webhook endpoints, each owner's (the user whose events they follow).
CREATE TABLE endpoints (
    id              UUID PRIMARY KEY,
    owner_id        UUID NOT NULL,
    url             TEXT NOT NULL,
    description     TEXT NOT NULL DEFAULT '',
    -- Event types delivered ("event.live", "recording.*"); empty: all.
    event_types     TEXT[] NOT NULL DEFAULT '{}',
    -- The signing secret, sealed (stagecast_kit::seal) with the endpoint id as associated data.
    secret_key_id   TEXT NOT NULL,
    secret_nonce    BYTEA NOT NULL,
    secret_sealed   BYTEA NOT NULL,
    -- After a rotation the previous secret signs too (a second signature) until `previous_until`.
    previous_key_id TEXT,
    previous_nonce  BYTEA,
    previous_sealed BYTEA,
    previous_until  TIMESTAMPTZ,
    enabled         BOOLEAN NOT NULL DEFAULT true,
    disabled_reason TEXT NOT NULL DEFAULT '',
    -- The first failed attempt since the last success: sustained failure disables the endpoint.
    failing_since   TIMESTAMPTZ,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX endpoints_owner ON endpoints (owner_id, created_at);

-- Each bus message once (its envelope id), as the JSON body every attempt sends.
CREATE TABLE messages (
    id          UUID PRIMARY KEY,
    owner_id    UUID NOT NULL,
    event_type  TEXT NOT NULL,
    payload     TEXT NOT NULL,
    occurred_at TIMESTAMPTZ NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- One message to one endpoint. `seq` orders an endpoint's deliveries: only the oldest pending
-- one is attempted, so a receiver sees them in the order they happened.
CREATE TABLE deliveries (
    id              UUID PRIMARY KEY,
    seq             BIGSERIAL NOT NULL UNIQUE,
    endpoint_id     UUID NOT NULL REFERENCES endpoints (id) ON DELETE CASCADE,
    message_id      UUID NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    state           TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'succeeded', 'failed')),
    attempts        INT NOT NULL DEFAULT 0,
    -- Also the lease: an attempt in flight pushes it forward, so one replica makes it.
    next_attempt_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (endpoint_id, message_id)
);
CREATE INDEX deliveries_pending ON deliveries (endpoint_id, seq) WHERE state = 'pending';
CREATE INDEX deliveries_endpoint ON deliveries (endpoint_id, seq DESC);

CREATE TABLE attempts (
    delivery_id UUID NOT NULL REFERENCES deliveries (id) ON DELETE CASCADE,
    at          TIMESTAMPTZ NOT NULL DEFAULT now(),
    status_code INT NOT NULL,
    error       TEXT NOT NULL,
    duration_ms INT NOT NULL
);
CREATE INDEX attempts_delivery ON attempts (delivery_id, at);
