-- The chat service's own schema (search_path is set to "chat" by the service).

-- The chat side of each event, kept in step with the events service by the "chat-rooms" bus
-- consumer (and by a GetEvent call when a request arrives before the bus caught up).
CREATE TABLE rooms (
    event_id         UUID PRIMARY KEY,
    host_id          UUID NOT NULL,
    cohost_ids       UUID[] NOT NULL DEFAULT '{}',
    status           TEXT NOT NULL CHECK (status IN ('scheduled', 'live', 'ended', 'cancelled')),
    went_live_at     TIMESTAMPTZ,
    -- The event's updated_at this row reflects. A copy that is not newer (a redelivery, or the
    -- GetEvent fallback racing the bus) never overwrites the row.
    event_updated_at TIMESTAMPTZ NOT NULL,
    synced_at        TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Envelope ids of bus messages already applied to `rooms`, written in the same transaction as
-- the change: a redelivered message finds its id here and changes nothing.
CREATE TABLE processed_messages (
    message_id   UUID PRIMARY KEY,
    processed_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX processed_messages_age ON processed_messages (processed_at);

-- What moderators set; a room without a row has the defaults.
CREATE TABLE room_settings (
    event_id          UUID PRIMARY KEY,
    slow_mode_secs    INT NOT NULL DEFAULT 0 CHECK (slow_mode_secs BETWEEN 0 AND 3600),
    blocked_terms     TEXT[] NOT NULL DEFAULT '{}',
    blocked_term_mode TEXT NOT NULL DEFAULT 'reject' CHECK (blocked_term_mode IN ('reject', 'hold')),
    pinned_message_id UUID
);

CREATE TABLE moderators (
    event_id UUID NOT NULL,
    user_id  UUID NOT NULL,
    added_by UUID NOT NULL,
    added_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (event_id, user_id)
);

CREATE TABLE bans (
    event_id  UUID NOT NULL,
    user_id   UUID NOT NULL,
    banned_by UUID NOT NULL,
    banned_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (event_id, user_id)
);

-- One row per user ever timed out in a room; the latest timeout replaces an earlier one.
CREATE TABLE timeouts (
    event_id     UUID NOT NULL,
    user_id      UUID NOT NULL,
    until        TIMESTAMPTZ NOT NULL,
    timed_out_by UUID NOT NULL,
    PRIMARY KEY (event_id, user_id)
);

-- Accepted messages, written in batches by the "chat-persister" consumer from JetStream (the
-- durable log). Rows are never deleted: a deletion is a tombstone in message_deletions.
CREATE TABLE messages (
    id            UUID PRIMARY KEY,
    event_id      UUID NOT NULL,
    user_id       UUID NOT NULL,
    display_name  TEXT NOT NULL,
    avatar_url    TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('viewer', 'moderator', 'cohost', 'host')),
    text          TEXT NOT NULL,
    client_msg_id TEXT NOT NULL,
    sent_at       TIMESTAMPTZ NOT NULL
);
-- History pages by id (UUIDv7, time-ordered); replay reads by send time.
CREATE INDEX messages_history ON messages (event_id, id DESC);
CREATE INDEX messages_replay ON messages (event_id, sent_at, id);

-- Deleted messages. A tombstone, not a DELETE: it also hides a message whose row the persister
-- writes only after the deletion (a redelivery, or a persister catching up).
CREATE TABLE message_deletions (
    message_id UUID PRIMARY KEY,
    event_id   UUID NOT NULL,
    deleted_by UUID NOT NULL,
    deleted_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Messages held for review by a blocked term; approving publishes one and removes it here.
CREATE TABLE held_messages (
    id            UUID PRIMARY KEY,
    event_id      UUID NOT NULL,
    user_id       UUID NOT NULL,
    display_name  TEXT NOT NULL,
    avatar_url    TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('viewer', 'moderator', 'cohost', 'host')),
    text          TEXT NOT NULL,
    client_msg_id TEXT NOT NULL,
    sent_at       TIMESTAMPTZ NOT NULL
);
CREATE INDEX held_messages_room ON held_messages (event_id, id);

-- Every moderation action, written in the same transaction as the change it records.
CREATE TABLE audit_log (
    id                UUID PRIMARY KEY,
    event_id          UUID NOT NULL,
    actor_id          UUID NOT NULL,
    kind              TEXT NOT NULL,
    target_user_id    UUID,
    target_message_id UUID,
    reason            TEXT NOT NULL DEFAULT '',
    at                TIMESTAMPTZ NOT NULL,
    -- Timeout length or slow-mode seconds.
    duration_secs     INT,
    -- slow_mode / blocked_terms: the settings after the change.
    slow_mode_secs    INT,
    blocked_terms     TEXT[],
    blocked_term_mode TEXT
);
CREATE INDEX audit_log_room ON audit_log (event_id, id DESC);

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
