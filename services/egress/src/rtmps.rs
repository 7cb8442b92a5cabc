//! RTMPS: a destination's TLS is ours, not GStreamer's. `rtmp2sink` pushes plain RTMP to a
//! loopback port, and a tunnel carries it over TLS (rustls) to the platform, with the server name
//! as SNI. Why not `rtmp2sink`'s own `rtmps://`: its trust comes from GIO's TLS backend, which
//! takes neither an extra CA (a private ingest, the tests' CA) nor tells what failed; here the
//! roots are the system's trust store plus `EGRESS_RTMPS_CA_FILE`, and a certificate refused by
//! the handshake is reported as such ("tls").
use std::{
    path::Path,
    sync::{Arc, Mutex},
    time::Duration,
};

use anyhow::{Context, anyhow};
use rustls::{ClientConfig, RootCertStore, pki_types::ServerName};
use tokio::{
    net::{TcpListener, TcpStream},
    task::JoinHandle,
};
use tokio_rustls::TlsConnector;

/// The trust for RTMPS destinations.
#[derive(Clone)]
pub struct Tls {
    config: Arc<ClientConfig>,
}

impl std::fmt::Debug for Tls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Tls(..)")
    }
}

impl Tls {
    /// The system's trust store, plus the certificates of `extra_ca` (PEM) when given.
    pub fn new(extra_ca: Option<&Path>) -> anyhow::Result<Self> {
        let mut roots = RootCertStore::empty();
        let native = rustls_native_certs::load_native_certs();
        for cert in native.certs {
            // A system certificate rustls cannot parse is skipped, as browsers do.
            let _ = roots.add(cert);
        }
        if let Some(path) = extra_ca {
            use rustls::pki_types::{CertificateDer, pem::PemObject};
            let mut added = 0;
            for cert in CertificateDer::pem_file_iter(path).with_context(|| format!("reading {}", path.display()))? {
                roots.add(cert.with_context(|| format!("a certificate in {}", path.display()))?)?;
                added += 1;
            }
            if added == 0 {
                return Err(anyhow!("{} holds no PEM certificate", path.display()));
            }
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .context("TLS versions")?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(Self { config: Arc::new(config) })
    }
}

/// One connection's tunnel: a loopback port for `rtmp2sink`, carried over TLS to `host:port`.
pub struct Tunnel {
    pub local_port: u16,
    /// Why the TLS side failed, if it did (read after the push ended).
    pub error: Arc<Mutex<Option<String>>>,
    task: JoinHandle<()>,
}

impl Drop for Tunnel {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Tunnel {
    pub async fn open(tls: &Tls, host: &str, port: u16) -> anyhow::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await.context("binding the RTMPS tunnel")?;
        let local_port = listener.local_addr()?.port();
        let error = Arc::new(Mutex::new(None));
        let name = ServerName::try_from(host.to_owned()).map_err(|_| anyhow!("{host} is not a valid server name"))?;
        let connector = TlsConnector::from(tls.config.clone());
        let (host, failed) = (host.to_owned(), error.clone());
        let task = tokio::spawn(async move {
            let note = |e: String| {
                if let Ok(mut slot) = failed.lock() {
                    *slot = Some(e);
                }
            };
            let Ok((mut local, _)) = listener.accept().await else { return };
            let upstream = match tokio::time::timeout(Duration::from_secs(10), TcpStream::connect((host.as_str(), port))).await {
                Ok(Ok(s)) => s,
                Ok(Err(e)) => return note(format!("Could not connect to {host}: {e}")),
                Err(_) => return note(format!("Could not connect to {host}: timed out")),
            };
            let _ = upstream.set_nodelay(true);
            let mut upstream = match tokio::time::timeout(Duration::from_secs(10), connector.connect(name, upstream)).await {
                Ok(Ok(s)) => s,
                Ok(Err(e)) => return note(format!("TLS handshake with {host} failed: {e}")),
                Err(_) => return note(format!("TLS handshake with {host} failed: timed out")),
            };
            if let Err(e) = tokio::io::copy_bidirectional(&mut local, &mut upstream).await {
                note(format!("the connection to {host} broke: {e}"));
            }
        });
        Ok(Self { local_port, error, task })
    }

    pub fn failure(&self) -> Option<String> {
        self.error.lock().ok().and_then(|e| e.clone())
    }
}
