-- The events service's own schema (search_path is set to "events" by the service).

CREATE TABLE events (
    id           UUID PRIMARY KEY,
    host_id      UUID NOT NULL,
    title        TEXT NOT NULL,
    description  TEXT NOT NULL DEFAULT '',
    starts_at    TIMESTAMPTZ NOT NULL,
    -- NULL when the event has no cover image.
    cover_url    TEXT,
    status       TEXT NOT NULL DEFAULT 'scheduled'
                 CHECK (status IN ('scheduled', 'live', 'ended', 'cancelled')),
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    went_live_at TIMESTAMPTZ,
    ended_at     TIMESTAMPTZ,
    cancelled_at TIMESTAMPTZ,
    -- Each status carries the timestamps that got it there; listing sorts on them, so a row that
    -- broke this would silently drop out of (or into) a page.
    CONSTRAINT events_live_has_went_live_at CHECK (status <> 'live' OR went_live_at IS NOT NULL),
    CONSTRAINT events_ended_has_timestamps CHECK (status <> 'ended' OR (went_live_at IS NOT NULL AND ended_at IS NOT NULL)),
    CONSTRAINT events_cancelled_has_cancelled_at CHECK (status <> 'cancelled' OR cancelled_at IS NOT NULL)
);

-- One partial index per listing, matching its keyset order exactly (the status literal in each
-- list query must match the predicate here for the planner to use it).
CREATE INDEX events_live ON events (went_live_at DESC, id DESC) WHERE status = 'live';
CREATE INDEX events_upcoming ON events (starts_at, id) WHERE status = 'scheduled';
CREATE INDEX events_past ON events (ended_at DESC, id DESC) WHERE status = 'ended';
CREATE INDEX events_host ON events (host_id);

CREATE TABLE event_cohosts (
    event_id UUID NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    user_id  UUID NOT NULL,
    PRIMARY KEY (event_id, user_id)
);
-- "Events I co-host" is the obvious next query; without this it scans the whole table.
CREATE INDEX event_cohosts_user ON event_cohosts (user_id);

-- The transactional outbox (layout owned by stagecast-bus, see crates/bus/src/outbox.rs).
CREATE TABLE outbox (
    seq          BIGSERIAL PRIMARY KEY,
    id           UUID NOT NULL UNIQUE,
    subject      TEXT NOT NULL,
    body         BYTEA NOT NULL,
    traceparent  TEXT,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    published_at TIMESTAMPTZ,
    attempts     INT NOT NULL DEFAULT 0,
    last_error   TEXT
);
CREATE INDEX outbox_unpublished ON outbox (seq) WHERE published_at IS NULL;
