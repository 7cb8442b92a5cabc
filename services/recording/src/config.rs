//! Typed configuration, read from the environment at startup.
use std::{net::SocketAddr, time::Duration};

use stagecast_kit::config::{ConfigError, Secret, optional, required};

#[derive(Debug, Clone)]
pub struct Config {
    /// `DATABASE_URL` (required).
    pub database_url: Secret,
    /// `NATS_URL`, default nats://127.0.0.1:4222.
    pub nats_url: String,
    /// `RECORDING_GRPC_ADDR`, default 127.0.0.1:50057.
    pub grpc_addr: SocketAddr,
    /// `EVENTS_GRPC_URL`, default http://127.0.0.1:50052.
    pub events_grpc_url: String,
    /// `AUTH_GRPC_URL`, default http://127.0.0.1:50051 (display names for the tiles).
    pub auth_grpc_url: String,
    /// `EGRESS_GRPC_URL`, default http://127.0.0.1:50056.
    pub egress_grpc_url: String,
    /// `S3_ENDPOINT` (default http://127.0.0.1:59000), `S3_REGION`, `S3_ACCESS_KEY`,
    /// `S3_SECRET_KEY`, `S3_BUCKET` (stagecast): to delete a recording's objects.
    pub s3: stagecast_storage::Config,
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        let secret: Secret = required("S3_SECRET_KEY")?;
        Ok(Self {
            database_url: required("DATABASE_URL")?,
            nats_url: optional("NATS_URL", "nats://127.0.0.1:4222".to_owned())?,
            grpc_addr: optional("RECORDING_GRPC_ADDR", SocketAddr::from(([127, 0, 0, 1], 50057)))?,
            events_grpc_url: optional("EVENTS_GRPC_URL", "http://127.0.0.1:50052".to_owned())?,
            auth_grpc_url: optional("AUTH_GRPC_URL", "http://127.0.0.1:50051".to_owned())?,
            egress_grpc_url: optional("EGRESS_GRPC_URL", "http://127.0.0.1:50056".to_owned())?,
            s3: stagecast_storage::Config {
                endpoint: Some(optional("S3_ENDPOINT", "http://127.0.0.1:59000".to_owned())?),
                region: optional("S3_REGION", "us-east-1".to_owned())?,
                access_key: required("S3_ACCESS_KEY")?,
                secret_key: secret.expose().to_owned(),
                bucket: optional("S3_BUCKET", "stagecast".to_owned())?,
            },
        })
    }
}

/// What the service does to recordings on its own: it stops a recording nobody has been on air
/// in for a while, gives up on a stop its egress worker never finished, and deletes recordings
/// past their retention. Read apart from [`Config`], so a
/// caller that builds a `Config` by hand (the gateway's API tests) gets the defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct Lifecycle {
    /// `RECORDING_IDLE_GRACE_S`, default 300: a recording whose egress job has reported nobody on
    /// air publishing in the SFU room for this long is stopped as a host would stop it (reason
    /// `idle`); someone back on air before then cancels it. `0` turns it off (`None`).
    pub idle_grace: Option<Duration>,
    /// `RECORDING_RETENTION_DAYS`: recordings that ended (`ready` or `failed`) longer ago than
    /// this are deleted as their host would delete them (objects first, then the row; reason
    /// `retention`). Unset or `0` (the default): kept until the host deletes them (`None`). A
    /// host may choose their own retention; this one, when set, is also the most it counts for.
    pub retention: Option<Duration>,
    /// `RECORDING_RETENTION_SWEEP_S`, default 900: how often each replica looks for recordings
    /// past their retention (the operator's or their host's).
    pub retention_sweep_every: Duration,
    /// `RECORDING_RETENTION_BATCH`, default 100: at most this many recordings deleted per sweep
    /// and replica, so a large backlog is worked off over several sweeps.
    pub retention_batch: u32,
    /// `RECORDING_STOPPING_TIMEOUT_S`, default 1800: a recording still `stopping` this long
    /// after its stop (its egress worker died, or never reported the end) is ended as `failed`
    /// with what it stored (reason `stop_timed_out`). Longer than any stop should take: the
    /// worker builds and uploads the MP4 of the whole recording after the last segment.
    pub stopping_timeout: Duration,
    /// `RECORDING_STOPPING_SWEEP_S`, default 60: how often each replica looks for such stops.
    pub stopping_sweep_every: Duration,
}

impl Default for Lifecycle {
    fn default() -> Self {
        Self {
            idle_grace: Some(Duration::from_secs(300)),
            retention: None,
            retention_sweep_every: Duration::from_secs(900),
            retention_batch: 100,
            stopping_timeout: Duration::from_secs(1800),
            stopping_sweep_every: Duration::from_secs(60),
        }
    }
}

impl Lifecycle {
    pub fn from_env() -> Result<Self, ConfigError> {
        let d = Self::default();
        let idle_s: u64 = optional("RECORDING_IDLE_GRACE_S", 300)?;
        if idle_s > 86_400 {
            return Err(ConfigError {
                var: "RECORDING_IDLE_GRACE_S".into(),
                reason: "at most 86400 (a day); 0 turns it off".into(),
            });
        }
        let days: u32 = optional("RECORDING_RETENTION_DAYS", 0)?;
        if days > 36_500 {
            return Err(ConfigError {
                var: "RECORDING_RETENTION_DAYS".into(),
                reason: "at most 36500 days; 0 keeps recordings".into(),
            });
        }
        let sweep_s: u64 = optional("RECORDING_RETENTION_SWEEP_S", d.retention_sweep_every.as_secs())?;
        if !(1..=86_400).contains(&sweep_s) {
            return Err(ConfigError { var: "RECORDING_RETENTION_SWEEP_S".into(), reason: "must be 1..=86400 seconds".into() });
        }
        let batch: u32 = optional("RECORDING_RETENTION_BATCH", d.retention_batch)?;
        if !(1..=10_000).contains(&batch) {
            return Err(ConfigError { var: "RECORDING_RETENTION_BATCH".into(), reason: "must be 1..=10000".into() });
        }
        let stopping_s: u64 = optional("RECORDING_STOPPING_TIMEOUT_S", d.stopping_timeout.as_secs())?;
        if !(60..=86_400).contains(&stopping_s) {
            return Err(ConfigError { var: "RECORDING_STOPPING_TIMEOUT_S".into(), reason: "must be 60..=86400 seconds".into() });
        }
        let stopping_sweep_s: u64 = optional("RECORDING_STOPPING_SWEEP_S", d.stopping_sweep_every.as_secs())?;
        if !(1..=3600).contains(&stopping_sweep_s) {
            return Err(ConfigError { var: "RECORDING_STOPPING_SWEEP_S".into(), reason: "must be 1..=3600 seconds".into() });
        }
        Ok(Self {
            idle_grace: (idle_s > 0).then(|| Duration::from_secs(idle_s)),
            retention: (days > 0).then(|| Duration::from_secs(u64::from(days) * 86_400)),
            retention_sweep_every: Duration::from_secs(sweep_s),
            retention_batch: batch,
            stopping_timeout: Duration::from_secs(stopping_s),
            stopping_sweep_every: Duration::from_secs(stopping_sweep_s),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idle_recordings_stop_after_five_minutes_and_none_is_deleted_unless_a_retention_is_set() {
        let d = Lifecycle::default();
        assert_eq!(d.idle_grace, Some(Duration::from_secs(300)));
        assert_eq!(d.retention, None, "retention is off by default");
        assert_eq!(d.stopping_timeout, Duration::from_secs(1800), "a stop not finished in 30 minutes is given up");
        let vars = [
            "RECORDING_IDLE_GRACE_S",
            "RECORDING_RETENTION_DAYS",
            "RECORDING_RETENTION_SWEEP_S",
            "RECORDING_RETENTION_BATCH",
            "RECORDING_STOPPING_TIMEOUT_S",
            "RECORDING_STOPPING_SWEEP_S",
        ];
        // Only meaningful where none is set (the tests' environment sets none).
        if vars.iter().all(|v| std::env::var(v).is_err()) {
            assert_eq!(Lifecycle::from_env().unwrap(), d, "unset variables are the defaults");
        }
    }
}
