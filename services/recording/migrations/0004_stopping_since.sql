-- When the recording became `stopping`: the stopping sweep gives up on a stop that its egress
-- worker has not finished within RECORDING_STOPPING_TIMEOUT_S of it. `updated_at` will not do:
-- it moves with every message, also while a stop makes no progress.
ALTER TABLE recordings ADD COLUMN stopping_since timestamptz;
-- Rows stopping before this migration count from their last change.
UPDATE recordings SET stopping_since = updated_at WHERE state = 'stopping';

-- The stopping sweep's search: the oldest stops first.
CREATE INDEX recordings_stopping ON recordings (stopping_since)
    WHERE deleted_at IS NULL AND state = 'stopping';
