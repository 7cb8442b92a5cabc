-- Saved restreaming destinations, one owner each, reusable across events.
CREATE TABLE destinations (
    id              uuid PRIMARY KEY,
    owner_id        uuid NOT NULL,
    platform        text NOT NULL CHECK (platform IN ('youtube', 'twitch', 'facebook', 'custom')),
    name            text NOT NULL,
    -- rtmp(s)://host[:port]/app, without the key.
    server_url      text NOT NULL,
    -- The stream key: AES-256-GCM under the key `key_id` (from BROADCAST_KEYS), the destination
    -- id as associated data. Never stored in clear.
    key_ciphertext  bytea NOT NULL,
    key_nonce       bytea NOT NULL,
    key_id          text NOT NULL,
    key_hint        text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    deleted_at      timestamptz
);
CREATE INDEX destinations_by_owner ON destinations (owner_id, created_at) WHERE deleted_at IS NULL;

-- A destination attached to an event, and how its push is doing.
CREATE TABLE event_destinations (
    event_id        uuid NOT NULL,
    destination_id  uuid NOT NULL REFERENCES destinations (id),
    auto_start      boolean NOT NULL DEFAULT false,
    -- Whether it should be pushing now (started and not stopped): the reconcile holds to it.
    wanted          boolean NOT NULL DEFAULT false,
    state           text NOT NULL DEFAULT 'idle'
                    CHECK (state IN ('idle', 'connecting', 'live', 'retrying', 'failed', 'stopped')),
    job_id          text,
    bitrate_bps     bigint NOT NULL DEFAULT 0,
    bytes_sent      bigint NOT NULL DEFAULT 0,
    live_since      timestamptz,
    retries         integer NOT NULL DEFAULT 0,
    error           text NOT NULL DEFAULT '',
    error_code      text NOT NULL DEFAULT '',
    attached_by     uuid NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (event_id, destination_id)
);
CREATE INDEX event_destinations_wanted ON event_destinations (event_id) WHERE wanted;

-- Broadcast-only composite jobs this service started (no recording was running).
CREATE TABLE programs (
    event_id        uuid PRIMARY KEY,
    job_id          text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now()
);

-- The transactional outbox (layout owned by stagecast-bus, see crates/bus/src/outbox.rs).
CREATE TABLE outbox (
    seq          bigserial PRIMARY KEY,
    id           uuid NOT NULL UNIQUE,
    subject      text NOT NULL,
    body         bytea NOT NULL,
    traceparent  text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    published_at timestamptz,
    attempts     int NOT NULL DEFAULT 0,
    last_error   text
);
CREATE INDEX outbox_unpublished ON outbox (seq) WHERE published_at IS NULL;
