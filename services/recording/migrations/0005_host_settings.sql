-- A host's own recording settings (one row per user who saved them; no row: the defaults).
-- retention_days: how long the recordings of events they host are kept after they ended; NULL:
-- the operator's RECORDING_RETENTION_DAYS. The operator's, when set, is also the most it counts
-- for (the sweep takes the smaller).
CREATE TABLE host_settings (
    host_id        uuid PRIMARY KEY,
    retention_days integer CHECK (retention_days BETWEEN 1 AND 3650),
    updated_at     timestamptz NOT NULL DEFAULT now()
);
