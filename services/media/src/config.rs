//! Typed configuration, read from the environment at startup.
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use stagecast_kit::config::{ConfigError, Secret, maybe, optional};

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
    /// `MEDIA_CONTROL_SECRET`: what callers of the control API must present (it mutes, removes
    /// and taps anyone's media). Required unless `MEDIA_GRPC_ADDR` is a loopback address: in
    /// Kubernetes the SFU runs on the node's network, where anyone who reaches the node could
    /// call it.
    pub control_secret: Option<Secret>,
    /// `MEDIA_LOUDEST_AUDIO`: participants hear a room's this many loudest speakers; 0 for
    /// every speaker. Default 3 (`sfu::DEFAULT_LOUDEST_AUDIO`).
    pub loudest_audio: usize,
    /// `MEDIA_DIRECT_AUDIO`: the SFU seals and sends forwarded audio itself instead of through
    /// each subscriber's str0m connection (docs/media.md). Default true; false is for comparison.
    pub direct_audio: bool,
}

/// The shortest control secret accepted: guessing it must be out of reach.
pub const MIN_CONTROL_SECRET: usize = 32;

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
        let grpc_addr: SocketAddr = optional("MEDIA_GRPC_ADDR", SocketAddr::from(([127, 0, 0, 1], 50054)))?;
        let control_secret: Option<Secret> = maybe("MEDIA_CONTROL_SECRET")?;
        check_control_secret(grpc_addr, control_secret.as_ref())?;
        Ok(Self {
            http_addr: optional("MEDIA_HTTP_ADDR", SocketAddr::from(([127, 0, 0, 1], 8090)))?,
            grpc_addr,
            udp_ip,
            udp_port: optional("MEDIA_UDP_PORT", 0)?,
            public_ip,
            workers,
            auth_grpc_url: optional("AUTH_GRPC_URL", "http://127.0.0.1:50051".to_owned())?,
            nats_url: optional("NATS_URL", "nats://127.0.0.1:4222".to_owned())?,
            control_secret,
            loudest_audio: optional("MEDIA_LOUDEST_AUDIO", crate::sfu::DEFAULT_LOUDEST_AUDIO)?,
            direct_audio: optional("MEDIA_DIRECT_AUDIO", true)?,
        })
    }
}

/// A control API reachable beyond this machine needs a secret, and a secret must be long.
fn check_control_secret(grpc_addr: SocketAddr, secret: Option<&Secret>) -> Result<(), ConfigError> {
    let err = |reason: String| ConfigError { var: "MEDIA_CONTROL_SECRET".into(), reason };
    match secret {
        None if !grpc_addr.ip().is_loopback() => Err(err(format!(
            "is required when MEDIA_GRPC_ADDR ({grpc_addr}) is not a loopback address: the control API mutes, removes and taps participants"
        ))),
        Some(s) if s.expose().len() < MIN_CONTROL_SECRET => {
            Err(err(format!("must be at least {MIN_CONTROL_SECRET} characters (e.g. `openssl rand -hex 32`)")))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_control_api_beyond_loopback_needs_a_long_secret() {
        let wide: SocketAddr = "0.0.0.0:50054".parse().unwrap();
        let local: SocketAddr = "127.0.0.1:50054".parse().unwrap();
        let long: Secret = "x".repeat(MIN_CONTROL_SECRET).parse().unwrap();
        let short: Secret = "hunter2".parse().unwrap();
        assert!(check_control_secret(wide, None).unwrap_err().to_string().contains("MEDIA_CONTROL_SECRET"));
        assert!(check_control_secret(wide, Some(&short)).unwrap_err().to_string().contains("at least 32"));
        assert!(check_control_secret(local, Some(&short)).is_err(), "a short secret is refused anywhere");
        assert!(check_control_secret(wide, Some(&long)).is_ok());
        assert!(check_control_secret(local, None).is_ok());
    }
}
