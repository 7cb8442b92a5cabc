//! Typed configuration, read from the environment at startup.
use std::net::SocketAddr;

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
