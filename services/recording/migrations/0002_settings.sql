-- Per-event recording settings: record automatically when the event goes live.
CREATE TABLE recording_settings (
    event_id    uuid PRIMARY KEY,
    auto_record boolean NOT NULL DEFAULT false,
    layout      text NOT NULL DEFAULT 'grid',
    quality     text NOT NULL DEFAULT '720p',
    updated_by  uuid NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now()
);
