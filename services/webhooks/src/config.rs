//! Typed configuration, read from the environment at startup.
use std::{net::SocketAddr, str::FromStr, time::Duration};

use stagecast_kit::{
    config::{ConfigError, Secret, optional, required},
    seal::KeyRing,
};

/// When to try again after each failed attempt; after the last, the delivery has failed.
#[derive(Debug, Clone, PartialEq)]
pub struct RetrySchedule(pub Vec<Duration>);

impl RetrySchedule {
    /// 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h: eight attempts over a little more than a day.
    pub fn standard() -> Self {
        Self([5, 300, 1800, 7200, 18_000, 36_000, 36_000].into_iter().map(Duration::from_secs).collect())
    }
}

impl FromStr for RetrySchedule {
    type Err = String;

    /// Seconds, comma separated (fractions allowed: "0.2,0.5,1").
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let waits = s
            .split(',')
            .map(|p| {
                p.trim()
                    .parse::<f64>()
                    .ok()
                    .filter(|v| v.is_finite() && *v >= 0.0 && *v <= 7.0 * 86_400.0)
                    .map(Duration::from_secs_f64)
                    .ok_or_else(|| format!("{p:?} is not a number of seconds (0 to a week)"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        if waits.is_empty() {
            return Err("give at least one wait".into());
        }
        Ok(Self(waits))
    }
}

#[derive(Debug)]
pub struct Config {
    /// `DATABASE_URL` (required).
    pub database_url: Secret,
    /// `NATS_URL`, default nats://127.0.0.1:4222.
    pub nats_url: String,
    /// `WEBHOOKS_GRPC_ADDR`, default 127.0.0.1:50059.
    pub grpc_addr: SocketAddr,
    /// `WEBHOOKS_HTTP_ADDR`: health and metrics; default 127.0.0.1:8097.
    pub http_addr: SocketAddr,
    /// `EVENTS_GRPC_URL`, default http://127.0.0.1:50052 (who hosts an event).
    pub events_grpc_url: String,
    /// `WEBHOOK_KEYS` (required): the signing-secret encryption keys, `id:base64(32 bytes)`
    /// separated by commas; the first seals, all open (rotation).
    pub keys: KeyRing,
    /// `WEBHOOK_RETRY_SCHEDULE`: seconds to wait after each failed attempt; default
    /// 5,300,1800,7200,18000,36000,36000 (a little more than a day).
    pub retry_schedule: RetrySchedule,
    /// `WEBHOOK_TIMEOUT_MS`: how long a receiver has to answer; default 10000.
    pub timeout: Duration,
    /// `WEBHOOK_DISABLE_AFTER_S`: an endpoint failing without a success for this long is
    /// disabled; default 432000 (five days).
    pub disable_after: Duration,
    /// `WEBHOOK_ALLOW_PRIVATE`: allow URLs on loopback and private addresses (development and
    /// tests only); default false.
    pub allow_private: bool,
    /// `WEBHOOK_CONSUMER`: the durable JetStream consumer's name, default "webhooks".
    pub consumer_name: String,
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        let keys: Secret = required("WEBHOOK_KEYS")?;
        let keys = KeyRing::parse(keys.expose()).map_err(|reason| ConfigError { var: "WEBHOOK_KEYS".into(), reason })?;
        let timeout_ms: u64 = optional("WEBHOOK_TIMEOUT_MS", 10_000)?;
        let disable_after_s: u64 = optional("WEBHOOK_DISABLE_AFTER_S", 432_000)?;
        Ok(Self {
            database_url: required("DATABASE_URL")?,
            nats_url: optional("NATS_URL", "nats://127.0.0.1:4222".to_owned())?,
            grpc_addr: optional("WEBHOOKS_GRPC_ADDR", SocketAddr::from(([127, 0, 0, 1], 50059)))?,
            http_addr: optional("WEBHOOKS_HTTP_ADDR", SocketAddr::from(([127, 0, 0, 1], 8097)))?,
            events_grpc_url: optional("EVENTS_GRPC_URL", "http://127.0.0.1:50052".to_owned())?,
            keys,
            retry_schedule: optional("WEBHOOK_RETRY_SCHEDULE", RetrySchedule::standard())?,
            timeout: Duration::from_millis(timeout_ms.clamp(100, 60_000)),
            disable_after: Duration::from_secs(disable_after_s),
            allow_private: optional("WEBHOOK_ALLOW_PRIVATE", false)?,
            consumer_name: optional("WEBHOOK_CONSUMER", "webhooks".to_owned())?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_schedule_parses_seconds_and_refuses_nonsense() {
        assert_eq!("0.5, 2".parse::<RetrySchedule>().unwrap().0, vec![Duration::from_millis(500), Duration::from_secs(2)]);
        for bad in ["", "x", "-1", "1,,2", "NaN", "1e9"] {
            assert!(bad.parse::<RetrySchedule>().is_err(), "{bad}");
        }
        let total: Duration = RetrySchedule::standard().0.iter().sum();
        assert!(total > Duration::from_secs(86_400) && total < Duration::from_secs(2 * 86_400), "{total:?}");
    }
}
