//! Typed configuration, read from the environment at startup.
use std::{net::SocketAddr, time::Duration};

use stagecast_kit::config::{ConfigError, Secret, optional, required};

/// Everything the service needs to start. Tests build it directly (with `grpc_addr` on port 0).
#[derive(Debug, Clone)]
pub struct Config {
    /// `DATABASE_URL` (required). It may embed a password, hence `Secret`.
    pub database_url: Secret,
    /// `DATABASE_MAX_CONNECTIONS`, default 10.
    pub database_max_connections: u32,
    /// `NATS_URL`, default nats://127.0.0.1:4222.
    pub nats_url: String,
    /// `REDIS_URL`, default redis://127.0.0.1:6379. It may embed a password, hence `Secret`.
    pub redis_url: Secret,
    /// `EVENTS_GRPC_URL`, default http://127.0.0.1:50052: asked for rooms the bus has not
    /// brought yet.
    pub events_grpc_url: String,
    /// `CHAT_GRPC_ADDR`, default 127.0.0.1:50053.
    pub grpc_addr: SocketAddr,
    /// `CHAT_RATE_LIMIT_MESSAGES`, default 5: messages a viewer may send per window per room.
    pub rate_limit_messages: u32,
    /// `CHAT_RATE_LIMIT_WINDOW_SECS`, default 10.
    pub rate_limit_window: Duration,
    /// `CHAT_CONSUMER_PREFIX`, default "chat": the durable consumers are `{prefix}-rooms` and
    /// `{prefix}-persister`. Every replica of one deployment must use the same prefix (they
    /// share the work); separate deployments on one NATS (tests) use different ones.
    pub consumer_prefix: String,
    /// `CHAT_CONSUMERS_FROM_START`, default true: where a durable consumer that does not exist
    /// yet starts. True: at the beginning of the stream, so a new deployment learns every room
    /// and stores every message the stream still holds. False: only at messages published after
    /// it was created (tests that share one long-lived NATS server).
    pub consumers_from_start: bool,
}

impl Config {
    pub const DEFAULT_GRPC_ADDR: SocketAddr = SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 50053);

    pub fn from_env() -> Result<Self, ConfigError> {
        let at_least_one = |var: &str, value: u64| {
            if value == 0 { Err(ConfigError { var: var.into(), reason: "must be at least 1".into() }) } else { Ok(()) }
        };
        let database_max_connections: u32 = optional("DATABASE_MAX_CONNECTIONS", 10)?;
        // A pool of zero connections would accept requests and then time every one of them out.
        at_least_one("DATABASE_MAX_CONNECTIONS", database_max_connections.into())?;
        let rate_limit_messages: u32 = optional("CHAT_RATE_LIMIT_MESSAGES", 5)?;
        at_least_one("CHAT_RATE_LIMIT_MESSAGES", rate_limit_messages.into())?;
        let window_secs: u64 = optional("CHAT_RATE_LIMIT_WINDOW_SECS", 10)?;
        at_least_one("CHAT_RATE_LIMIT_WINDOW_SECS", window_secs)?;
        let consumer_prefix: String = optional("CHAT_CONSUMER_PREFIX", "chat".to_owned())?;
        check_consumer_prefix(&consumer_prefix).map_err(|reason| ConfigError { var: "CHAT_CONSUMER_PREFIX".into(), reason })?;
        Ok(Self {
            database_url: required("DATABASE_URL")?,
            database_max_connections,
            nats_url: optional("NATS_URL", "nats://127.0.0.1:4222".to_owned())?,
            redis_url: optional("REDIS_URL", "redis://127.0.0.1:6379".parse().unwrap_or_else(|e| match e {}))?,
            events_grpc_url: optional("EVENTS_GRPC_URL", "http://127.0.0.1:50052".to_owned())?,
            grpc_addr: optional("CHAT_GRPC_ADDR", Self::DEFAULT_GRPC_ADDR)?,
            rate_limit_messages,
            rate_limit_window: Duration::from_secs(window_secs),
            consumer_prefix,
            consumers_from_start: optional("CHAT_CONSUMERS_FROM_START", true)?,
        })
    }
}

/// NATS consumer names may not contain `.`, `*`, `>` or whitespace; keeping to a safe
/// alphabet also keeps them readable in `nats consumer ls`.
pub fn check_consumer_prefix(prefix: &str) -> Result<(), String> {
    let ok =
        !prefix.is_empty() && prefix.len() <= 64 && prefix.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok { Ok(()) } else { Err("must be 1 to 64 of A-Z, a-z, 0-9, '-' and '_'".into()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consumer_prefixes_that_nats_would_refuse_are_refused() {
        assert!(check_consumer_prefix("chat").is_ok());
        assert!(check_consumer_prefix("chat-test_1").is_ok());
        for bad in ["", "a.b", "a*", "a>", "a b"] {
            assert!(check_consumer_prefix(bad).is_err(), "{bad}");
        }
    }
}
