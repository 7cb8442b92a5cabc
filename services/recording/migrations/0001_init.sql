-- The recording catalogue. One row per recording; at most one active per event.
CREATE TABLE recordings (
    id              uuid PRIMARY KEY,
    event_id        uuid NOT NULL,
    event_title     text NOT NULL,
    host_id         uuid NOT NULL,
    state           text NOT NULL CHECK (state IN ('starting', 'recording', 'stopping', 'ready', 'failed')),
    layout          text NOT NULL,
    quality         text NOT NULL,
    key_prefix      text NOT NULL,
    started_at      timestamptz,
    ended_at        timestamptz,
    first_frame_at  timestamptz,
    event_went_live_at timestamptz,
    duration_ms     bigint NOT NULL DEFAULT 0,
    size_bytes      bigint NOT NULL DEFAULT 0,
    segments        integer NOT NULL DEFAULT 0,
    mp4_bytes       bigint NOT NULL DEFAULT 0,
    gaps            jsonb NOT NULL DEFAULT '[]',
    layout_changes  jsonb NOT NULL DEFAULT '[]',
    error           text NOT NULL DEFAULT '',
    -- Staff of the event when the recording started (host + co-hosts): "my recordings".
    staff_ids       uuid[] NOT NULL DEFAULT '{}',
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    deleted_at      timestamptz
);

CREATE UNIQUE INDEX recordings_one_active_per_event ON recordings (event_id)
    WHERE state IN ('starting', 'recording', 'stopping') AND deleted_at IS NULL;
CREATE INDEX recordings_by_event ON recordings (event_id, created_at DESC) WHERE deleted_at IS NULL;
CREATE INDEX recordings_by_staff ON recordings USING gin (staff_ids);

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
