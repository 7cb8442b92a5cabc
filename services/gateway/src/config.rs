//! Typed configuration, read from the environment at startup.
use std::net::SocketAddr;

use stagecast_kit::config::{ConfigError, Secret, maybe, optional};

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
    /// `RECORDING_GRPC_URL`, default http://127.0.0.1:50057.
    pub recording_grpc_url: String,
    /// `BROADCAST_GRPC_URL`, default http://127.0.0.1:50058 (restreaming).
    pub broadcast_grpc_url: String,
    /// `WEBHOOKS_GRPC_URL`, default http://127.0.0.1:50059.
    pub webhooks_grpc_url: String,
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
    /// `MEDIA_CONTROL_SECRET`: presented to the SFU's control API, which requires it wherever it
    /// listens beyond loopback (the same value as the media service's).
    pub media_control_secret: Option<Secret>,
    /// `GATEWAY_PUBLIC_URL`: this API's base URL as browsers reach it, used in the avatar URLs
    /// it hands out (the auth service stores absolute URLs); default `http://` + the bound address.
    pub public_url: Option<String>,
    /// Where uploaded avatars are kept.
    pub s3: S3Config,
    /// `AVATAR_UPLOAD_LIMIT_PER_HOUR` per user, default 10.
    pub avatar_upload_limit_per_hour: u32,
    /// `API_KEY_REQUESTS_PER_MINUTE` per API key, default 600.
    pub api_key_requests_per_minute: u32,
}

/// The S3-compatible object store. Without both keys there is no store: avatar uploads answer
/// 503 `storage_unavailable` and the rest of the API works.
#[derive(Debug, Clone)]
pub struct S3Config {
    /// `S3_ENDPOINT`, default http://127.0.0.1:59000 (what scripts/up starts).
    pub endpoint: String,
    /// `S3_ACCESS_KEY`.
    pub access_key: Option<Secret>,
    /// `S3_SECRET_KEY`.
    pub secret_key: Option<Secret>,
    /// `S3_BUCKET`, default `stagecast`; created on first use if missing.
    pub bucket: String,
    /// `S3_REGION`, default us-east-1.
    pub region: String,
}

impl S3Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Ok(Self {
            endpoint: optional("S3_ENDPOINT", "http://127.0.0.1:59000".to_owned())?,
            access_key: maybe("S3_ACCESS_KEY")?,
            secret_key: maybe("S3_SECRET_KEY")?,
            bucket: optional("S3_BUCKET", "stagecast".to_owned())?,
            region: optional("S3_REGION", "us-east-1".to_owned())?,
        })
    }
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Ok(Self {
            addr: optional("GATEWAY_ADDR", SocketAddr::from(([127, 0, 0, 1], 8080)))?,
            auth_grpc_url: optional("AUTH_GRPC_URL", "http://127.0.0.1:50051".to_owned())?,
            events_grpc_url: optional("EVENTS_GRPC_URL", "http://127.0.0.1:50052".to_owned())?,
            chat_grpc_url: optional("CHAT_GRPC_URL", "http://127.0.0.1:50053".to_owned())?,
            recording_grpc_url: optional("RECORDING_GRPC_URL", "http://127.0.0.1:50057".to_owned())?,
            broadcast_grpc_url: optional("BROADCAST_GRPC_URL", "http://127.0.0.1:50058".to_owned())?,
            webhooks_grpc_url: optional("WEBHOOKS_GRPC_URL", "http://127.0.0.1:50059".to_owned())?,
            redis_url: optional("REDIS_URL", "redis://127.0.0.1:6379".to_owned())?,
            nats_url: optional("NATS_URL", "nats://127.0.0.1:4222".to_owned())?,
            signup_limit_per_hour: optional("SIGNUP_LIMIT_PER_HOUR", 20)?,
            login_limit_per_minute: optional("LOGIN_LIMIT_PER_MINUTE", 10)?,
            trust_forwarded_for: optional("TRUST_FORWARDED_FOR", false)?,
            web_dir: maybe("WEB_DIR")?,
            media_grpc_url: optional("MEDIA_GRPC_URL", "http://127.0.0.1:50054".to_owned())?,
            media_control_secret: maybe("MEDIA_CONTROL_SECRET")?,
            media_public_url: optional("MEDIA_PUBLIC_URL", "http://127.0.0.1:8090".to_owned())?.trim_end_matches('/').to_owned(),
            public_url: maybe::<String>("GATEWAY_PUBLIC_URL")?.map(|u| u.trim_end_matches('/').to_owned()),
            s3: S3Config::from_env()?,
            avatar_upload_limit_per_hour: optional("AVATAR_UPLOAD_LIMIT_PER_HOUR", 10)?,
            api_key_requests_per_minute: optional("API_KEY_REQUESTS_PER_MINUTE", 600)?,
        })
    }
}
