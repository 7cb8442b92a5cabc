-- The green room: co-hosts and speakers who are backstage. Their media reaches only the host,
-- co-hosts, moderators and the backstage itself; they take no seat on the stage until brought
-- on air. The host is always on air.
CREATE TABLE stage_backstage (
    event_id UUID NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    user_id  UUID NOT NULL,
    since    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (event_id, user_id)
);
