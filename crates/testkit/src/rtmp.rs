//! A private nginx with its RTMP module, standing in for YouTube's or Twitch's ingest in tests
//! (Debian's `nginx` + `libnginx-mod-rtmp`, installed by scripts/test).
use std::{
    path::Path,
    process::{Child, Command},
    time::{Duration, Instant},
};

use crate::free_port;

/// A private nginx with the RTMP module: a local stand-in for YouTube's or Twitch's ingest.
/// Application `live` takes any key; `strict` refuses every publish (its `on_publish` answers 403,
/// as a platform does for a wrong key). `/stat` reports the streams it receives.
pub struct NginxRtmp {
    dir: tempfile::TempDir,
    pub rtmp_port: u16,
    pub http_port: u16,
    /// With [`NginxRtmp::start_tls`]: RTMPS on this port (a TLS proxy in front of the RTMP port,
    /// its certificate for `localhost` signed by a test CA).
    pub tls_port: Option<u16>,
    child: Option<Child>,
}

/// What nginx reports of one stream it receives.
#[derive(Debug, Clone)]
pub struct StreamStat {
    pub name: String,
    pub bytes_in: u64,
    pub video_codec: String,
    pub audio_codec: String,
}

fn tag(block: &str, name: &str) -> String {
    let open = format!("<{name}>");
    let close = format!("</{name}>");
    block
        .find(&open)
        .and_then(|i| block[i + open.len()..].find(&close).map(|j| block[i + open.len()..i + open.len() + j].to_owned()))
        .unwrap_or_default()
}

impl NginxRtmp {
    pub fn start() -> Self {
        Self::start_with(false)
    }

    /// Also RTMPS, through nginx's stream module terminating TLS with a certificate of a test CA
    /// (`ca_file`).
    pub fn start_tls() -> Self {
        Self::start_with(true)
    }

    fn start_with(tls: bool) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        if tls {
            make_certificates(dir.path());
        }
        let mut n = Self { dir, rtmp_port: 0, http_port: 0, tls_port: None, child: None };
        // A port picked free can be taken by another test process before nginx binds it; nginx
        // then logs the failed bind and exits a few seconds later, after the ports it did get
        // looked ready. Such a start is retried on other ports (bounded).
        for attempt in 1..=5 {
            n.rtmp_port = free_port();
            n.http_port = free_port();
            n.tls_port = tls.then(free_port);
            n.write_config();
            match n.spawn_and_wait() {
                Ok(()) => return n,
                Err(log) => {
                    assert!(attempt < 5, "nginx could not bind its ports five times: {log}");
                    n.kill();
                    let _ = std::fs::remove_file(n.dir.path().join("error.log"));
                }
            }
        }
        unreachable!("the loop returns or panics")
    }

    fn write_config(&self) {
        let (rtmp_port, http_port, tls_port) = (self.rtmp_port, self.http_port, self.tls_port);
        let d = self.dir.path().display();
        let (stream_module, stream) = match tls_port {
            Some(port) => (
                "load_module /usr/lib/nginx/modules/ngx_stream_module.so;".to_owned(),
                format!(
                    "stream {{ server {{ listen 127.0.0.1:{port} ssl; ssl_certificate {d}/leaf.pem; \
                         ssl_certificate_key {d}/leaf.key; proxy_pass 127.0.0.1:{rtmp_port}; }} }}"
                ),
            ),
            None => (String::new(), String::new()),
        };
        let conf = format!(
            r#"load_module /usr/lib/nginx/modules/ngx_rtmp_module.so;
{stream_module}
daemon off;
master_process on;
worker_processes 1;
error_log {d}/error.log info;
pid {d}/nginx.pid;
events {{ worker_connections 64; }}
http {{
  access_log off;
  client_body_temp_path {d}/body; proxy_temp_path {d}/proxy; fastcgi_temp_path {d}/fcgi;
  uwsgi_temp_path {d}/uwsgi; scgi_temp_path {d}/scgi;
  server {{
    listen 127.0.0.1:{http_port};
    location /stat {{ rtmp_stat all; }}
    location /deny {{ return 403; }}
  }}
}}
rtmp {{
  server {{
    listen 127.0.0.1:{rtmp_port};
    application live {{ live on; }}
    application strict {{ live on; on_publish http://127.0.0.1:{http_port}/deny; }}
  }}
}}
{stream}
"#
        );
        std::fs::write(self.dir.path().join("nginx.conf"), conf).expect("nginx.conf");
    }

    fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    pub fn url(&self, app: &str, key: &str) -> String {
        format!("rtmp://127.0.0.1:{}/{app}/{key}", self.rtmp_port)
    }

    /// The RTMPS URL (by name: the certificate is for `localhost`).
    pub fn tls_url(&self, app: &str, key: &str) -> String {
        format!("rtmps://localhost:{}/{app}/{key}", self.tls_port.expect("started with start_tls"))
    }

    /// The test CA that signed the RTMPS certificate (PEM).
    pub fn ca_file(&self) -> std::path::PathBuf {
        self.dir.path().join("ca.pem")
    }

    /// Starts nginx (again, on the same ports); returns once it accepts connections.
    pub fn resume(&mut self) {
        for attempt in 1..=5 {
            match self.spawn_and_wait() {
                Ok(()) => return,
                Err(log) => {
                    assert!(attempt < 5, "nginx could not bind its ports again: {log}");
                    self.kill();
                    std::thread::sleep(Duration::from_millis(200));
                }
            }
        }
    }

    /// Spawns nginx and waits until its ports accept connections; `Err` with its log when a
    /// port was taken (it would exit shortly).
    fn spawn_and_wait(&mut self) -> Result<(), String> {
        // Debian puts it in /usr/sbin, which a user's PATH may lack.
        let bin = if Path::new("/usr/sbin/nginx").exists() { "/usr/sbin/nginx" } else { "nginx" };
        let child = Command::new(bin)
            .arg("-c")
            .arg(self.dir.path().join("nginx.conf"))
            .arg("-p")
            .arg(self.dir.path())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("nginx starts (scripts/test installs nginx and libnginx-mod-rtmp)");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", self.rtmp_port)).is_err()
            || std::net::TcpStream::connect(("127.0.0.1", self.http_port)).is_err()
            || self.tls_port.is_some_and(|p| std::net::TcpStream::connect(("127.0.0.1", p)).is_err())
        {
            assert!(Instant::now() < deadline, "nginx did not listen: {}", self.error_log());
            std::thread::sleep(Duration::from_millis(20));
        }
        let log = self.error_log();
        if log.contains("Address already in use") || self.child.as_mut().is_some_and(|c| c.try_wait().ok().flatten().is_some()) {
            return Err(log);
        }
        Ok(())
    }

    /// Stops nginx and waits until its ports are closed.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = Command::new("kill").args(["-TERM", &c.id().to_string()]).status();
            let deadline = Instant::now() + Duration::from_secs(10);
            while c.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = c.kill();
            let _ = c.wait();
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", self.rtmp_port)).is_ok() {
            assert!(Instant::now() < deadline, "nginx still listens after stopping");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn error_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("error.log")).unwrap_or_default()
    }

    /// The streams being published to it now.
    pub async fn streams(&self) -> Vec<StreamStat> {
        let Ok(r) = reqwest::get(format!("http://127.0.0.1:{}/stat", self.http_port)).await else { return Vec::new() };
        let xml = r.text().await.unwrap_or_default();
        xml.split("<stream>")
            .skip(1)
            .filter(|b| b.contains("<publishing/>"))
            .map(|b| StreamStat {
                name: tag(b, "name"),
                bytes_in: tag(b, "bytes_in").parse().unwrap_or(0),
                video_codec: tag(&tag(b, "video"), "codec"),
                audio_codec: tag(&tag(b, "audio"), "codec"),
            })
            .collect()
    }

    pub async fn stream(&self, name: &str) -> Option<StreamStat> {
        self.streams().await.into_iter().find(|s| s.name == name)
    }
}

impl Drop for NginxRtmp {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            // TERM: the master takes its worker down with it (a killed master would leave it).
            let _ = Command::new("kill").args(["-TERM", &c.id().to_string()]).status();
            let deadline = Instant::now() + Duration::from_secs(5);
            while c.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// A test CA and a certificate for `localhost` / 127.0.0.1 it signed, with the openssl tool.
fn make_certificates(dir: &Path) {
    let run = |args: &[&str]| {
        let out = Command::new("openssl").args(args).current_dir(dir).output().expect("openssl runs");
        assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    };
    std::fs::write(
        dir.join("leaf.ext"),
        "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n",
    )
    .expect("leaf.ext");
    run(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=stagecast test CA",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
    ]);
    run(&["req", "-newkey", "rsa:2048", "-nodes", "-keyout", "leaf.key", "-out", "leaf.csr", "-subj", "/CN=localhost"]);
    run(&[
        "x509",
        "-req",
        "-in",
        "leaf.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "leaf.pem",
        "-days",
        "2",
        "-extfile",
        "leaf.ext",
    ]);
}
