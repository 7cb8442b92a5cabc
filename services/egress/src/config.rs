//! Typed configuration, read from the environment at startup.
use std::{
    net::{IpAddr, Ipv4Addr, SocketAddr},
    path::PathBuf,
};

use stagecast_kit::config::{ConfigError, Secret, maybe, optional, required};

#[derive(Debug, Clone)]
pub struct Config {
    /// `EGRESS_HTTP_ADDR`: health and metrics; default 127.0.0.1:8095.
    pub http_addr: SocketAddr,
    /// `EGRESS_GRPC_ADDR`: the control API; default 127.0.0.1:50056.
    pub grpc_addr: SocketAddr,
    /// `EGRESS_RTP_IP`: where the RTP inputs bind, and the address the SFU sends taps to;
    /// default 127.0.0.1.
    pub rtp_ip: IpAddr,
    /// `EGRESS_SPOOL_DIR`: segments waiting for S3, and job manifests; default
    /// `$TMPDIR/stagecast-egress`. Keep it on a persistent volume: a restarted worker resumes
    /// the jobs it finds there.
    pub spool_dir: PathBuf,
    /// `EGRESS_SPOOL_LIMIT_MB`: unuploaded bytes a job may keep before dropping segments;
    /// default 2048.
    pub spool_limit_mb: u64,
    /// `EGRESS_CPU_BUDGET`: cores this worker gives to jobs; default 80 % of the CPUs.
    pub cpu_budget: f64,
    /// `EGRESS_RTMP_RETRY_WINDOW_S`: how long a destination may stay disconnected, retrying,
    /// before it is failed; default 60.
    pub rtmp_retry_window_s: u64,
    /// `EGRESS_RTMPS_CA_FILE`: PEM certificates trusted for RTMPS besides the system's store (a
    /// private ingest; the tests' CA).
    pub rtmps_ca_file: Option<PathBuf>,
    /// `MEDIA_GRPC_URL`: the SFU's control API, for taps; default http://127.0.0.1:50054.
    pub media_grpc_url: String,
    /// `MEDIA_CONTROL_SECRET`: presented to the SFU's control API when set.
    pub media_control_secret: Option<Secret>,
    /// `NATS_URL`, default nats://127.0.0.1:4222.
    pub nats_url: String,
    /// `S3_ENDPOINT` (default http://127.0.0.1:59000, what scripts/up starts), `S3_REGION` (us-east-1), `S3_ACCESS_KEY`, `S3_SECRET_KEY`,
    /// `S3_BUCKET` (stagecast).
    pub s3: stagecast_storage::Config,
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        let cpus = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1) as f64;
        let cpu_budget: f64 = optional("EGRESS_CPU_BUDGET", cpus * 0.8)?;
        if !(cpu_budget > 0.0 && cpu_budget <= 1024.0) {
            return Err(ConfigError { var: "EGRESS_CPU_BUDGET".into(), reason: "must be a number of cores above 0".into() });
        }
        let secret: Secret = required("S3_SECRET_KEY")?;
        Ok(Self {
            http_addr: optional("EGRESS_HTTP_ADDR", SocketAddr::from(([127, 0, 0, 1], 8095)))?,
            grpc_addr: optional("EGRESS_GRPC_ADDR", SocketAddr::from(([127, 0, 0, 1], 50056)))?,
            rtp_ip: optional("EGRESS_RTP_IP", IpAddr::V4(Ipv4Addr::LOCALHOST))?,
            spool_dir: optional("EGRESS_SPOOL_DIR", std::env::temp_dir().join("stagecast-egress"))?,
            spool_limit_mb: optional("EGRESS_SPOOL_LIMIT_MB", 2048)?,
            cpu_budget,
            rtmp_retry_window_s: optional("EGRESS_RTMP_RETRY_WINDOW_S", 60)?,
            rtmps_ca_file: maybe("EGRESS_RTMPS_CA_FILE")?,
            media_grpc_url: optional("MEDIA_GRPC_URL", "http://127.0.0.1:50054".to_owned())?,
            media_control_secret: maybe("MEDIA_CONTROL_SECRET")?,
            nats_url: optional("NATS_URL", "nats://127.0.0.1:4222".to_owned())?,
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
