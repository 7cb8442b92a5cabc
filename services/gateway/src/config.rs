//! Typed configuration, read from the environment at startup.
use std::net::SocketAddr;

use stagecast_kit::config::{ConfigError, maybe, optional};

#[derive(Debug, Clone)]
pub struct Config {
    /// `GATEWAY_ADDR`, default 127.0.0.1:8080.
    pub addr: SocketAddr,
    /// `AUTH_GRPC_URL`, default http://127.0.0.1:50051.
    pub auth_grpc_url: String,
    /// `EVENTS_GRPC_URL`, default http://127.0.0.1:50052.
    pub events_grpc_url: String,
    /// `CHAT_GRPC_URL`, default http://127.0.0.1:50053.
    pub chat_grpc_url: String,
    /// `REDIS_URL`, default redis://127.0.0.1:6379.
    pub redis_url: String,
    /// `NATS_URL`, default nats://127.0.0.1:4222.
    pub nats_url: String,
    /// `SIGNUP_LIMIT_PER_HOUR` per client address, default 20.
    pub signup_limit_per_hour: u32,
    /// `LOGIN_LIMIT_PER_MINUTE` per client address and per email, default 10.
    pub login_limit_per_minute: u32,
    /// `TRUST_FORWARDED_FOR`: take the client address from X-Forwarded-For (only behind a
    /// proxy that sets it), default false.
    pub trust_forwarded_for: bool,
    /// `WEB_DIR`: the built web client to serve at `/`, if any.
    pub web_dir: Option<String>,
    /// `MEDIA_PUBLIC_URL`: the SFU's base URL as clients reach it, handed out with media
    /// tokens; default http://127.0.0.1:8090.
    pub media_public_url: String,
    /// `MEDIA_GRPC_URL`: the SFU's control API, for hosts muting and removing people on
    /// stage; default http://127.0.0.1:50054.
    pub media_grpc_url: String,
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Ok(Self {
            addr: optional("GATEWAY_ADDR", SocketAddr::from(([127, 0, 0, 1], 8080)))?,
            auth_grpc_url: optional("AUTH_GRPC_URL", "http://127.0.0.1:50051".to_owned())?,
            events_grpc_url: optional("EVENTS_GRPC_URL", "http://127.0.0.1:50052".to_owned())?,
            chat_grpc_url: optional("CHAT_GRPC_URL", "http://127.0.0.1:50053".to_owned())?,
            redis_url: optional("REDIS_URL", "redis://127.0.0.1:6379".to_owned())?,
            nats_url: optional("NATS_URL", "nats://127.0.0.1:4222".to_owned())?,
            signup_limit_per_hour: optional("SIGNUP_LIMIT_PER_HOUR", 20)?,
            login_limit_per_minute: optional("LOGIN_LIMIT_PER_MINUTE", 10)?,
            trust_forwarded_for: optional("TRUST_FORWARDED_FOR", false)?,
            web_dir: maybe("WEB_DIR")?,
            media_grpc_url: optional("MEDIA_GRPC_URL", "http://127.0.0.1:50054".to_owned())?,
            media_public_url: optional("MEDIA_PUBLIC_URL", "http://127.0.0.1:8090".to_owned())?.trim_end_matches('/').to_owned(),
        })
    }
}
