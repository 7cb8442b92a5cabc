-- Who is on the stage as a speaker, kept from the events service's stage changes like the
-- moderator list, so chat shows a speaker as one (services/chat-moderation/src/rooms.rs).
CREATE TABLE speakers (
    event_id UUID NOT NULL,
    user_id  UUID NOT NULL,
    since    TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (event_id, user_id)
);

ALTER TABLE messages DROP CONSTRAINT messages_role_check;
ALTER TABLE messages ADD CONSTRAINT messages_role_check CHECK (role IN ('viewer', 'speaker', 'moderator', 'cohost', 'host'));
ALTER TABLE held_messages DROP CONSTRAINT held_messages_role_check;
ALTER TABLE held_messages ADD CONSTRAINT held_messages_role_check CHECK (role IN ('viewer', 'speaker', 'moderator', 'cohost', 'host'));
