-- Why a recording stopped: 'host' (a host or co-host), 'event_ended', 'idle' (nobody on air for
-- the grace period); empty while it records or when its job ended on its own.
ALTER TABLE recordings ADD COLUMN stop_reason text NOT NULL DEFAULT '';

-- The retention sweep's search: finished recordings not deleted yet, oldest first.
CREATE INDEX recordings_retention ON recordings (ended_at)
    WHERE deleted_at IS NULL AND state IN ('ready', 'failed');
