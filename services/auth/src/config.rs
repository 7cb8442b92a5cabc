//! Typed configuration, read from the environment at startup.
use std::{net::SocketAddr, time::Duration};

use stagecast_kit::config::{ConfigError, Secret, optional, required};

#[derive(Debug, Clone)]
pub struct Config {
    /// `DATABASE_URL`
    pub database_url: Secret,
    /// `DATABASE_MAX_CONNECTIONS`, default 10.
    pub database_max_connections: u32,
    /// `NATS_URL`, default nats://127.0.0.1:4222.
    pub nats_url: String,
    /// `AUTH_GRPC_ADDR`, default 127.0.0.1:50051.
    pub grpc_addr: SocketAddr,
    /// `AUTH_SIGNING_KEY`: base64 of a 32-byte Ed25519 seed that signs access tokens.
    pub signing_key: Secret,
    /// `AUTH_ACCESS_TOKEN_TTL_SECS`, default 900 (15 minutes).
    pub access_token_ttl: Duration,
    /// `AUTH_REFRESH_TOKEN_TTL_SECS`, default 30 days.
    pub refresh_token_ttl: Duration,
    /// `AUTH_MEDIA_TOKEN_TTL_SECS`, default 300 (5 minutes).
    pub media_token_ttl: Duration,
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        let access: u64 = optional("AUTH_ACCESS_TOKEN_TTL_SECS", 900)?;
        let refresh: u64 = optional("AUTH_REFRESH_TOKEN_TTL_SECS", 30 * 24 * 3600)?;
        if access == 0 || access > 3600 {
            return Err(ConfigError {
                var: "AUTH_ACCESS_TOKEN_TTL_SECS".into(),
                reason: "must be 1..=3600 seconds; access tokens are meant to be short-lived".into(),
            });
        }
        let media: u64 = optional("AUTH_MEDIA_TOKEN_TTL_SECS", 300)?;
        if media == 0 || media > 3600 {
            return Err(ConfigError {
                var: "AUTH_MEDIA_TOKEN_TTL_SECS".into(),
                reason: "must be 1..=3600 seconds; a media token only has to last until the client joins".into(),
            });
        }
        let signing_key: Secret = required("AUTH_SIGNING_KEY")?;
        if let Err(e) = stagecast_authn::Signer::from_seed_base64(signing_key.expose()) {
            return Err(ConfigError {
                var: "AUTH_SIGNING_KEY".into(),
                reason: format!("{e} (generate one with: head -c32 /dev/urandom | base64)"),
            });
        }
        Ok(Self {
            database_url: required("DATABASE_URL")?,
            database_max_connections: optional("DATABASE_MAX_CONNECTIONS", 10)?,
            nats_url: optional("NATS_URL", "nats://127.0.0.1:4222".to_owned())?,
            grpc_addr: optional("AUTH_GRPC_ADDR", SocketAddr::from(([127, 0, 0, 1], 50051)))?,
            signing_key,
            access_token_ttl: Duration::from_secs(access),
            refresh_token_ttl: Duration::from_secs(refresh),
            media_token_ttl: Duration::from_secs(media),
        })
    }
}
