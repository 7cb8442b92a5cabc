//! Typed configuration, read from the environment at startup.
use std::net::SocketAddr;

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
    /// `EVENTS_GRPC_ADDR`, default 127.0.0.1:50052.
    pub grpc_addr: SocketAddr,
}

impl Config {
    pub const DEFAULT_GRPC_ADDR: SocketAddr = SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 50052);

    pub fn from_env() -> Result<Self, ConfigError> {
        let database_max_connections: u32 = optional("DATABASE_MAX_CONNECTIONS", 10)?;
        // A pool of zero connections would accept requests and then time every one of them out.
        if database_max_connections == 0 {
            return Err(ConfigError { var: "DATABASE_MAX_CONNECTIONS".into(), reason: "must be at least 1".into() });
        }
        Ok(Self {
            database_url: required("DATABASE_URL")?,
            database_max_connections,
            nats_url: optional("NATS_URL", "nats://127.0.0.1:4222".to_owned())?,
            grpc_addr: optional("EVENTS_GRPC_ADDR", Self::DEFAULT_GRPC_ADDR)?,
        })
    }
}
