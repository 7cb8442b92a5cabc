-- Guests: people who join one event through an invite link, without an account. A guest is a
-- user of their own (unique per guest) with no email and no password, so they can never sign
-- in; their sessions are scoped to that event (sessions.event_id), and so are the access tokens
-- minted from them.
ALTER TABLE users ALTER COLUMN email DROP NOT NULL;
ALTER TABLE users ALTER COLUMN password_hash DROP NOT NULL;
ALTER TABLE users ADD COLUMN guest_event_id UUID;
ALTER TABLE users ADD CONSTRAINT users_guest_or_account CHECK (
    (guest_event_id IS NULL AND email IS NOT NULL AND password_hash IS NOT NULL)
    OR (guest_event_id IS NOT NULL AND email IS NULL AND password_hash IS NULL)
);

-- NULL for an account's sessions; the event a guest session may act on otherwise.
ALTER TABLE sessions ADD COLUMN event_id UUID;
