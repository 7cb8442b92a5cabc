//! A harness that runs the real stagecast binaries as separate processes, the way an operator
//! does, against the test Postgres and Redis and a NATS server of its own (so tests can stop and
//! restart NATS without disturbing other tests).
#![forbid(unsafe_code)]

use std::{
    collections::HashMap,
    net::TcpListener,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

/// Directory holding the workspace's binaries (next to this test binary's `deps/`).
fn bin_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("current exe");
    let dir = exe.parent().and_then(Path::parent).expect("target dir").to_path_buf();
    assert!(
        dir.join("stagecast-gateway").exists(),
        "service binaries not found in {}: build them with `cargo build --workspace --bins` (scripts/test does)",
        dir.display()
    );
    dir
}

/// The built web client (scripts/test builds it before the tests run).
pub fn web_dist() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../web/dist")
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("free port")
}

fn wait_for_port(port: u16, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("{what} did not listen on port {port} within 20 s");
}

/// A private nats-server with JetStream, whose store survives restarts.
pub struct Nats {
    pub port: u16,
    dir: PathBuf,
    child: Option<Child>,
}

impl Nats {
    pub fn start(dir: &Path) -> Self {
        let mut n = Self { port: free_port(), dir: dir.to_path_buf(), child: None };
        n.restart();
        n
    }

    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    pub fn restart(&mut self) {
        self.stop();
        let bin = ["/usr/sbin/nats-server", "/usr/bin/nats-server"]
            .into_iter()
            .find(|p| Path::new(p).exists())
            .unwrap_or("nats-server");
        let child = Command::new(bin)
            .args(["-a", "127.0.0.1", "-p", &self.port.to_string(), "-js", "-sd"])
            .arg(&self.dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start nats-server (installed by scripts/test)");
        self.child = Some(child);
        wait_for_port(self.port, "nats-server");
    }
}

impl Drop for Nats {
    fn drop(&mut self) {
        self.stop();
    }
}

/// One running service binary.
pub struct Service {
    /// The binary is `stagecast-{name}`.
    name: &'static str,
    env: HashMap<String, String>,
    log: PathBuf,
    pub port: u16,
    child: Option<Child>,
}

impl Service {
    pub fn new(name: &'static str, port: u16, env: HashMap<String, String>, logs: &Path) -> Self {
        Self::new_named(name, name, port, env, logs)
    }

    /// A second instance of a binary, with its own log file.
    pub fn new_named(name: &'static str, instance: &str, port: u16, env: HashMap<String, String>, logs: &Path) -> Self {
        let mut s = Self { name, env, log: logs.join(format!("{instance}.log")), port, child: None };
        s.start();
        s
    }

    pub fn start(&mut self) {
        let log = std::fs::OpenOptions::new().create(true).append(true).open(&self.log).expect("log file");
        let child = Command::new(bin_dir().join(format!("stagecast-{}", self.name)))
            .envs(&self.env)
            .env("RUST_LOG", "info")
            .stdout(log.try_clone().expect("log fd"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("start stagecast-{}: {e}", self.name));
        self.child = Some(child);
        wait_for_port(self.port, self.name);
    }

    /// A stand-in for a service a test has taken out of the platform (to stop it on another
    /// thread); it runs nothing.
    pub fn placeholder(name: &'static str) -> Self {
        Self { name, env: HashMap::new(), log: PathBuf::new(), port: 0, child: None }
    }

    /// SIGKILL: the process gets no chance to finish anything.
    pub fn crash(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// SIGTERM, then waits for a clean exit; returns whether it exited successfully in time.
    pub fn terminate(&mut self, within: Duration) -> bool {
        let Some(mut c) = self.child.take() else { return true };
        let _ = Command::new("kill").args(["-TERM", &c.id().to_string()]).status();
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = c.try_wait() {
                return status.success();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = c.kill();
        let _ = c.wait();
        false
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        self.crash();
    }
}

/// The whole platform: auth, events, chat, media and two gateway replicas, plus a private NATS.
pub struct Platform {
    pub dir: tempfile::TempDir,
    pub nats: Nats,
    pub auth: Service,
    pub events: Service,
    pub chat: Service,
    /// The SFU; `port` is its HTTP signalling port.
    pub media: Service,
    /// The SFU's control API, and the secret it admits callers by (the gateways present it).
    pub media_grpc_url: String,
    pub media_control_secret: String,
    pub egress: Service,
    pub recording: Service,
    pub broadcast: Service,
    pub webhooks: Service,
    /// A private nginx-rtmp: the platform restreams to it as it would to YouTube.
    pub ingest: stagecast_testkit::rtmp::NginxRtmp,
    pub gateway: Service,
    /// A second gateway replica behind the same services, for scale-out tests.
    pub gateway2: Service,
    pub database_url: String,
}

impl Platform {
    pub async fn start() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let nats = Nats::start(&dir.path().join("nats"));
        let database_url = stagecast_testkit::fresh_database().await;
        let seed: Vec<u8> = uuid::Uuid::new_v4().as_bytes().iter().chain(uuid::Uuid::new_v4().as_bytes()).copied().collect();
        use base64::Engine;
        let key = base64::engine::general_purpose::STANDARD.encode(seed);
        let (auth_port, events_port, chat_port) = (free_port(), free_port(), free_port());
        let common = |extra: &[(&str, String)]| {
            let mut env: HashMap<String, String> = HashMap::new();
            env.insert("DATABASE_URL".into(), database_url.clone());
            env.insert("NATS_URL".into(), nats.url());
            for (k, v) in extra {
                env.insert((*k).into(), v.clone());
            }
            env
        };
        let auth = Service::new(
            "auth",
            auth_port,
            common(&[("AUTH_GRPC_ADDR", format!("127.0.0.1:{auth_port}")), ("AUTH_SIGNING_KEY", key)]),
            dir.path(),
        );
        let events =
            Service::new("events", events_port, common(&[("EVENTS_GRPC_ADDR", format!("127.0.0.1:{events_port}"))]), dir.path());
        let chat = Service::new(
            "chat-moderation",
            chat_port,
            common(&[
                ("CHAT_GRPC_ADDR", format!("127.0.0.1:{chat_port}")),
                ("EVENTS_GRPC_URL", format!("http://127.0.0.1:{events_port}")),
                ("REDIS_URL", stagecast_testkit::redis_url()),
            ]),
            dir.path(),
        );
        let (media_port, media_grpc_port) = (free_port(), free_port());
        // Required only beyond loopback, but set here so every test goes through the check.
        let media_control_secret = format!("{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple());
        let media = Service::new(
            "media",
            media_port,
            common(&[
                ("MEDIA_HTTP_ADDR", format!("127.0.0.1:{media_port}")),
                ("MEDIA_GRPC_ADDR", format!("127.0.0.1:{media_grpc_port}")),
                ("AUTH_GRPC_URL", format!("http://127.0.0.1:{auth_port}")),
                ("MEDIA_CONTROL_SECRET", media_control_secret.clone()),
            ]),
            dir.path(),
        );
        let s3 = stagecast_testkit::s3();
        let s3_bucket = format!("e2e-{}", uuid::Uuid::new_v4().simple());
        // Recording: an egress worker tapping this SFU, and the recording service.
        let (egress_port, egress_grpc_port, recording_port) = (free_port(), free_port(), free_port());
        let storage_env = [
            ("S3_ENDPOINT", s3.endpoint.clone()),
            ("S3_ACCESS_KEY", s3.access_key.clone()),
            ("S3_SECRET_KEY", s3.secret_key.clone()),
            ("S3_BUCKET", s3_bucket.clone()),
        ];
        let mut egress_env = vec![
            ("EGRESS_HTTP_ADDR", format!("127.0.0.1:{egress_port}")),
            ("EGRESS_GRPC_ADDR", format!("127.0.0.1:{egress_grpc_port}")),
            ("EGRESS_SPOOL_DIR", dir.path().join("egress-spool").display().to_string()),
            ("EGRESS_CPU_BUDGET", "2".to_owned()),
            ("MEDIA_GRPC_URL", format!("http://127.0.0.1:{media_grpc_port}")),
            ("MEDIA_CONTROL_SECRET", media_control_secret.clone()),
        ];
        egress_env.extend(storage_env.iter().cloned());
        let egress = Service::new("egress", egress_port, common(&egress_env), dir.path());
        let mut recording_env = vec![
            ("RECORDING_GRPC_ADDR", format!("127.0.0.1:{recording_port}")),
            ("EVENTS_GRPC_URL", format!("http://127.0.0.1:{events_port}")),
            ("AUTH_GRPC_URL", format!("http://127.0.0.1:{auth_port}")),
            ("EGRESS_GRPC_URL", format!("http://127.0.0.1:{egress_grpc_port}")),
        ];
        recording_env.extend(storage_env.iter().cloned());
        let recording = Service::new("recording", recording_port, common(&recording_env), dir.path());
        // Restreaming, on the same egress worker, and an RTMP ingest standing in for a platform.
        let (broadcast_port, broadcast_http_port) = (free_port(), free_port());
        let broadcast_key: Vec<u8> =
            uuid::Uuid::new_v4().as_bytes().iter().chain(uuid::Uuid::new_v4().as_bytes()).copied().collect();
        let broadcast = Service::new(
            "broadcast",
            broadcast_port,
            common(&[
                ("BROADCAST_GRPC_ADDR", format!("127.0.0.1:{broadcast_port}")),
                ("BROADCAST_HTTP_ADDR", format!("127.0.0.1:{broadcast_http_port}")),
                ("BROADCAST_KEYS", format!("e2e:{}", base64::engine::general_purpose::STANDARD.encode(broadcast_key))),
                ("EVENTS_GRPC_URL", format!("http://127.0.0.1:{events_port}")),
                ("AUTH_GRPC_URL", format!("http://127.0.0.1:{auth_port}")),
                ("EGRESS_GRPC_URL", format!("http://127.0.0.1:{egress_grpc_port}")),
            ]),
            dir.path(),
        );
        let (webhooks_port, webhooks_http_port) = (free_port(), free_port());
        let webhook_key: Vec<u8> =
            uuid::Uuid::new_v4().as_bytes().iter().chain(uuid::Uuid::new_v4().as_bytes()).copied().collect();
        let webhooks = Service::new(
            "webhooks",
            webhooks_port,
            common(&[
                ("WEBHOOKS_GRPC_ADDR", format!("127.0.0.1:{webhooks_port}")),
                ("WEBHOOKS_HTTP_ADDR", format!("127.0.0.1:{webhooks_http_port}")),
                ("WEBHOOK_KEYS", format!("e2e:{}", base64::engine::general_purpose::STANDARD.encode(webhook_key))),
                ("WEBHOOK_CONSUMER", format!("e2e-webhooks-{}", uuid::Uuid::new_v4().simple())),
                ("WEBHOOK_ALLOW_PRIVATE", "true".to_owned()),
                ("EVENTS_GRPC_URL", format!("http://127.0.0.1:{events_port}")),
            ]),
            dir.path(),
        );
        let ingest = stagecast_testkit::rtmp::NginxRtmp::start();
        let gateway_env = |port: u16| {
            common(&[
                ("GATEWAY_ADDR", format!("127.0.0.1:{port}")),
                ("AUTH_GRPC_URL", format!("http://127.0.0.1:{auth_port}")),
                ("EVENTS_GRPC_URL", format!("http://127.0.0.1:{events_port}")),
                ("CHAT_GRPC_URL", format!("http://127.0.0.1:{chat_port}")),
                ("RECORDING_GRPC_URL", format!("http://127.0.0.1:{recording_port}")),
                ("BROADCAST_GRPC_URL", format!("http://127.0.0.1:{broadcast_port}")),
                ("WEBHOOKS_GRPC_URL", format!("http://127.0.0.1:{webhooks_port}")),
                ("REDIS_URL", stagecast_testkit::redis_url()),
                // Tests share one Redis and one client address; limits have their own tests.
                ("SIGNUP_LIMIT_PER_HOUR", "100000".to_owned()),
                ("LOGIN_LIMIT_PER_MINUTE", "100000".to_owned()),
                ("WEB_DIR", web_dist().display().to_string()),
                ("MEDIA_PUBLIC_URL", format!("http://127.0.0.1:{media_port}")),
                ("MEDIA_GRPC_URL", format!("http://127.0.0.1:{media_grpc_port}")),
                ("MEDIA_CONTROL_SECRET", media_control_secret.clone()),
                // Avatars: the test s3s-fs, a bucket per platform (the gateways create it).
                ("S3_ENDPOINT", s3.endpoint.clone()),
                ("S3_ACCESS_KEY", s3.access_key.clone()),
                ("S3_SECRET_KEY", s3.secret_key.clone()),
                ("S3_BUCKET", s3_bucket.clone()),
            ])
        };
        let port = free_port();
        let gateway = Service::new("gateway", port, gateway_env(port), dir.path());
        let port = free_port();
        let gateway2 = Service::new_named("gateway", "gateway2", port, gateway_env(port), dir.path());
        let media_grpc_url = format!("http://127.0.0.1:{media_grpc_port}");
        let p = Self {
            dir,
            nats,
            auth,
            events,
            chat,
            media,
            egress,
            recording,
            broadcast,
            webhooks,
            ingest,
            media_grpc_url,
            media_control_secret,
            gateway,
            gateway2,
            database_url,
        };
        p.wait_ready().await;
        p
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.gateway.port)
    }

    pub fn url2(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.gateway2.port)
    }

    pub async fn wait_ready(&self) {
        let http = reqwest::Client::new();
        for _ in 0..200 {
            let mut ready = true;
            for url in [self.url("/readyz"), self.url2("/readyz")] {
                ready &= matches!(http.get(url).send().await, Ok(r) if r.status().is_success());
            }
            if ready {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("platform not ready in 10 s; logs:\n{}", self.logs());
    }

    pub fn logs(&self) -> String {
        format!(
            "--- auth\n{}\n--- events\n{}\n--- chat\n{}\n--- media\n{}\n--- egress\n{}\n--- recording\n{}\n--- broadcast\n{}\n--- webhooks\n{}\n--- gateway\n{}\n--- gateway2\n{}",
            self.auth.log(),
            self.events.log(),
            self.chat.log(),
            self.media.log(),
            self.egress.log(),
            self.recording.log(),
            self.broadcast.log(),
            self.webhooks.log(),
            self.gateway.log(),
            self.gateway2.log()
        )
    }
}

/// What tests do through the public API again and again: accounts, events, media tokens.
/// Each step asserts its own status, so a failing setup names itself.
impl Platform {
    /// Signs up a new user named `name`; returns the access token.
    pub async fn sign_up(&self, name: &str) -> String {
        let email = format!("{name}-{}@example.com", uuid::Uuid::new_v4().simple());
        let r = reqwest::Client::new()
            .post(self.url("/api/v1/auth/signup"))
            .json(&serde_json::json!({"email": email, "password": "correct horse battery", "display_name": name}))
            .send()
            .await
            .expect("signup request");
        assert_eq!(r.status(), reqwest::StatusCode::CREATED, "signup");
        let body: serde_json::Value = r.json().await.expect("signup body");
        body["access_token"].as_str().expect("an access token").to_owned()
    }

    /// Schedules an event an hour from now, hosted by the owner of `access`; returns its id.
    pub async fn schedule(&self, access: &str, title: &str) -> String {
        let starts_at = (chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339();
        let r = reqwest::Client::new()
            .post(self.url("/api/v1/events"))
            .bearer_auth(access)
            .json(&serde_json::json!({"title": title, "starts_at": starts_at}))
            .send()
            .await
            .expect("create event request");
        assert_eq!(r.status(), reqwest::StatusCode::CREATED, "create event");
        let body: serde_json::Value = r.json().await.expect("event body");
        body["id"].as_str().expect("an event id").to_owned()
    }

    /// A media token for `event` (the whole response: token, url, grants, ...).
    pub async fn media_token(&self, access: &str, event: &str) -> serde_json::Value {
        let r = reqwest::Client::new()
            .post(self.url(&format!("/api/v1/events/{event}/media-token")))
            .bearer_auth(access)
            .send()
            .await
            .expect("media token request");
        assert_eq!(r.status(), reqwest::StatusCode::OK, "media token");
        r.json().await.expect("media token body")
    }
}
