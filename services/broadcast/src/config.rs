//! Typed configuration, read from the environment at startup.
use std::net::SocketAddr;

use stagecast_kit::config::{ConfigError, Secret, optional, required};

use crate::crypto::KeyRing;

#[derive(Debug)]
pub struct Config {
    /// `DATABASE_URL` (required).
    pub database_url: Secret,
    /// `NATS_URL`, default nats://127.0.0.1:4222.
    pub nats_url: String,
    /// `BROADCAST_GRPC_ADDR`, default 127.0.0.1:50058.
    pub grpc_addr: SocketAddr,
    /// `BROADCAST_HTTP_ADDR`: health and metrics; default 127.0.0.1:8096.
    pub http_addr: SocketAddr,
    /// `EVENTS_GRPC_URL`, default http://127.0.0.1:50052.
    pub events_grpc_url: String,
    /// `AUTH_GRPC_URL`, default http://127.0.0.1:50051 (names of the people on air).
    pub auth_grpc_url: String,
    /// `EGRESS_GRPC_URL`, default http://127.0.0.1:50056.
    pub egress_grpc_url: String,
    /// `BROADCAST_KEYS` (required): the stream-key encryption keys, `id:base64(32 bytes)`
    /// separated by commas; the first seals, all open (rotation).
    pub keys: KeyRing,
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        let keys: Secret = required("BROADCAST_KEYS")?;
        let keys = KeyRing::parse(keys.expose()).map_err(|reason| ConfigError { var: "BROADCAST_KEYS".into(), reason })?;
        Ok(Self {
            database_url: required("DATABASE_URL")?,
            nats_url: optional("NATS_URL", "nats://127.0.0.1:4222".to_owned())?,
            grpc_addr: optional("BROADCAST_GRPC_ADDR", SocketAddr::from(([127, 0, 0, 1], 50058)))?,
            http_addr: optional("BROADCAST_HTTP_ADDR", SocketAddr::from(([127, 0, 0, 1], 8096)))?,
            events_grpc_url: optional("EVENTS_GRPC_URL", "http://127.0.0.1:50052".to_owned())?,
            auth_grpc_url: optional("AUTH_GRPC_URL", "http://127.0.0.1:50051".to_owned())?,
            egress_grpc_url: optional("EGRESS_GRPC_URL", "http://127.0.0.1:50056".to_owned())?,
            keys,
        })
    }
}
