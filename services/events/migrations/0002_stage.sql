-- The stage: roles beyond host and co-host, the hand queue, invitations, bans and the stage log.
-- The host is events.host_id and co-hosts are event_cohosts; everyone else without a row in
-- stage_members is audience. A user has at most one role per event.

ALTER TABLE events ADD COLUMN max_speakers INT NOT NULL DEFAULT 13 CHECK (max_speakers BETWEEN 1 AND 100);

CREATE TABLE stage_members (
    event_id   UUID NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    user_id    UUID NOT NULL,
    role       TEXT NOT NULL CHECK (role IN ('moderator', 'speaker')),
    granted_by UUID NOT NULL,
    granted_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (event_id, user_id)
);

-- Raised hands, served oldest first.
CREATE TABLE stage_hands (
    event_id  UUID NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    user_id   UUID NOT NULL,
    raised_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (event_id, user_id)
);
CREATE INDEX stage_hands_queue ON stage_hands (event_id, raised_at);

CREATE TABLE stage_invitations (
    id          UUID PRIMARY KEY,
    event_id    UUID NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    user_id     UUID NOT NULL,
    invited_by  UUID NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    expires_at  TIMESTAMPTZ NOT NULL,
    state       TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'accepted', 'declined', 'cancelled')),
    answered_at TIMESTAMPTZ
);
-- At most one open invitation per person and event.
CREATE UNIQUE INDEX stage_invitations_pending ON stage_invitations (event_id, user_id) WHERE state = 'pending';

-- One ban per event and user: it refuses media tokens, the live socket and chat until lifted.
CREATE TABLE event_bans (
    event_id  UUID NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    user_id   UUID NOT NULL,
    banned_by UUID NOT NULL,
    reason    TEXT NOT NULL DEFAULT '',
    banned_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (event_id, user_id)
);

-- Every stage change, in order: the moderation log of the stage.
CREATE TABLE stage_log (
    seq            BIGSERIAL PRIMARY KEY,
    event_id       UUID NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    kind           TEXT NOT NULL,
    actor_id       UUID NOT NULL,
    target_user_id UUID,
    role           TEXT,
    reason         TEXT NOT NULL DEFAULT '',
    at             TIMESTAMPTZ NOT NULL
);
CREATE INDEX stage_log_event ON stage_log (event_id, seq);
