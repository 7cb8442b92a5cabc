-- Who is in the green room, kept from the stage changes (each carries the target's media grants
-- after it): the gateway leaves them out of the audience's presence list.
CREATE TABLE backstage (
    event_id UUID NOT NULL,
    user_id  UUID NOT NULL,
    since    TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (event_id, user_id)
);
