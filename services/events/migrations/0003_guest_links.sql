-- Guest invite links: a host hands out a link that lets people without an account join the
-- stage with a role. Only a hash of each link's secret is stored.
CREATE TABLE stage_links (
    id             UUID PRIMARY KEY,
    event_id       UUID NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    token_hash     BYTEA NOT NULL UNIQUE,
    role           TEXT NOT NULL CHECK (role IN ('speaker', 'cohost')),
    -- With approval, a guest joins the audience with a raised hand and the staff invite them.
    needs_approval BOOLEAN NOT NULL DEFAULT false,
    max_uses       INT NOT NULL CHECK (max_uses BETWEEN 1 AND 1000),
    uses           INT NOT NULL DEFAULT 0 CHECK (uses <= max_uses),
    created_by     UUID NOT NULL,
    created_at     TIMESTAMPTZ NOT NULL,
    expires_at     TIMESTAMPTZ NOT NULL,
    revoked_at     TIMESTAMPTZ
);
CREATE INDEX stage_links_event ON stage_links (event_id, created_at);
