//! Typed configuration, read from the environment at startup.
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use stagecast_kit::config::{ConfigError, maybe, optional};

#[derive(Debug, Clone)]
pub struct Config {
    /// `MEDIA_HTTP_ADDR`: signalling, WHIP and WHEP; default 127.0.0.1:8090.
    pub http_addr: SocketAddr,
    /// `MEDIA_GRPC_ADDR`: the control API; default 127.0.0.1:50054.
    pub grpc_addr: SocketAddr,
    /// `MEDIA_UDP_IP`: where the media sockets bind; default 127.0.0.1.
    pub udp_ip: IpAddr,
    /// `MEDIA_UDP_PORT`: the first worker's UDP port (the next ones follow); default 0, any
    /// free port.
    pub udp_port: u16,
    /// `MEDIA_PUBLIC_IP`: the address peers reach the media sockets on (ICE host candidate);
    /// default `MEDIA_UDP_IP`. Required when binding a wildcard address.
    pub public_ip: IpAddr,
    /// `MEDIA_WORKERS`: forwarding threads; default the number of CPUs.
    pub workers: usize,
    /// `AUTH_GRPC_URL`, for the keys that verify media tokens; default http://127.0.0.1:50051.
    pub auth_grpc_url: String,
    /// `NATS_URL`, default nats://127.0.0.1:4222.
    pub nats_url: String,
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        let udp_ip: IpAddr = optional("MEDIA_UDP_IP", IpAddr::V4(Ipv4Addr::LOCALHOST))?;
        let public_ip: Option<IpAddr> = maybe("MEDIA_PUBLIC_IP")?;
        let public_ip = match public_ip {
            Some(ip) => ip,
            None if udp_ip.is_unspecified() => {
                return Err(ConfigError {
                    var: "MEDIA_PUBLIC_IP".into(),
                    reason: "is required when MEDIA_UDP_IP is a wildcard address: browsers need an address to send to".into(),
                });
            }
            None => udp_ip,
        };
        let cpus = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
        let workers: usize = optional("MEDIA_WORKERS", cpus)?;
        if workers == 0 || workers > 256 {
            return Err(ConfigError { var: "MEDIA_WORKERS".into(), reason: "must be 1..=256".into() });
        }
        Ok(Self {
            http_addr: optional("MEDIA_HTTP_ADDR", SocketAddr::from(([127, 0, 0, 1], 8090)))?,
            grpc_addr: optional("MEDIA_GRPC_ADDR", SocketAddr::from(([127, 0, 0, 1], 50054)))?,
            udp_ip,
            udp_port: optional("MEDIA_UDP_PORT", 0)?,
            public_ip,
            workers,
            auth_grpc_url: optional("AUTH_GRPC_URL", "http://127.0.0.1:50051".to_owned())?,
            nats_url: optional("NATS_URL", "nats://127.0.0.1:4222".to_owned())?,
        })
    }
}
