use std::time::Duration;

use base64::Engine;
use reqwest::{Client, Response, StatusCode};
use serde_json::{Value, json};

/// The stream-key encryption key of the tests' broadcast service.
pub const BROADCAST_TEST_KEY: &str = "test:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

pub struct TestApp {
    pub base: String,
    /// A second gateway replica in front of the same services.
    pub base2: String,
    pub http: Client,
    /// The seed the auth service signs with, so tests can mint expired or foreign tokens.
    pub seed: [u8; 32],
    /// The bucket recordings and avatars are stored in.
    pub storage: stagecast_storage::Config,
    /// The services' database (each service in its own schema).
    pub database_url: String,
    /// The webhooks service, which tests may stop and start again.
    pub webhooks: tokio::sync::Mutex<WebhooksWorker>,
    _stops: Vec<tokio::sync::oneshot::Sender<()>>,
}

fn stopper() -> (tokio::sync::oneshot::Sender<()>, impl std::future::Future<Output = ()> + Send + 'static) {
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    (tx, async move {
        let _ = rx.await;
    })
}

/// Where the test gateways say the SFU is.
pub const MEDIA_PUBLIC_URL: &str = "https://media.example.test";

pub struct Limits {
    pub login_per_minute: u32,
}

pub async fn spawn() -> TestApp {
    spawn_with(Limits { login_per_minute: 1000 }).await
}

/// The object store the test gateways use.
pub enum Storage {
    /// The test s3s-fs, with a bucket of this app's own (created by the gateway on first use).
    TestServer,
    /// Configured, but nothing listens there.
    Unreachable,
}

pub async fn spawn_with(limits: Limits) -> TestApp {
    spawn_setup(Setup { limits, ..Setup::default() }).await
}

pub async fn spawn_with_storage(storage: Storage, avatar_uploads_per_hour: u32) -> TestApp {
    spawn_setup(Setup { storage, avatar_uploads_per_hour, ..Setup::default() }).await
}

/// Everything a test may choose about the platform it starts.
pub struct Setup {
    pub limits: Limits,
    pub storage: Storage,
    pub avatar_uploads_per_hour: u32,
    pub api_key_requests_per_minute: u32,
    /// A Postgres server of the test's own (to stop it); default the shared test server.
    pub database_url: Option<String>,
    /// A Redis server of the test's own (to stop or restart it); default the shared one.
    pub redis_url: Option<String>,
    /// The webhooks service's waits between attempts, in seconds.
    pub webhook_retry_schedule: &'static str,
    /// An endpoint failing this long is disabled.
    pub webhook_disable_after_s: u64,
    /// Whether endpoints may be on loopback (the tests' receivers are).
    pub webhooks_allow_private: bool,
}

impl Default for Setup {
    fn default() -> Self {
        Self {
            limits: Limits { login_per_minute: 1000 },
            storage: Storage::TestServer,
            avatar_uploads_per_hour: 10,
            api_key_requests_per_minute: 1000,
            database_url: None,
            redis_url: None,
            webhook_retry_schedule: "0.2,0.4,0.8,1.6,3.2",
            webhook_disable_after_s: 3600,
            webhooks_allow_private: true,
        }
    }
}

pub async fn spawn_setup(setup: Setup) -> TestApp {
    let Setup {
        limits,
        storage,
        avatar_uploads_per_hour,
        api_key_requests_per_minute,
        database_url,
        redis_url,
        webhook_retry_schedule,
        webhook_disable_after_s,
        webhooks_allow_private,
    } = setup;
    let redis_url = redis_url.unwrap_or_else(stagecast_testkit::redis_url);
    // Real tracing, as in production, so trace propagation can be asserted.
    static TELEMETRY: std::sync::OnceLock<stagecast_telemetry::TelemetryGuard> = std::sync::OnceLock::new();
    TELEMETRY.get_or_init(|| stagecast_telemetry::init("gateway-test"));
    let db = match database_url {
        Some(url) => url,
        None => stagecast_testkit::fresh_database().await,
    };
    let nats = stagecast_testkit::nats_url();
    let seed: [u8; 32] = *uuid::Uuid::new_v4().as_bytes().repeat(2).first_chunk().unwrap();
    let mut stops = Vec::new();

    let auth = stagecast_auth::startup::Application::build(stagecast_auth::config::Config {
        database_url: db.parse().unwrap(),
        database_max_connections: 5,
        nats_url: nats.clone(),
        grpc_addr: "127.0.0.1:0".parse().unwrap(),
        signing_key: base64::engine::general_purpose::STANDARD.encode(seed).parse().unwrap(),
        access_token_ttl: Duration::from_secs(900),
        refresh_token_ttl: Duration::from_secs(3600),
        media_token_ttl: Duration::from_secs(300),
    })
    .await
    .unwrap();
    let auth_port = auth.port();
    let (tx, stop) = stopper();
    stops.push(tx);
    tokio::spawn(auth.run_until(stop));

    let events = stagecast_events::startup::Application::build(stagecast_events::config::Config {
        database_url: db.parse().unwrap(),
        database_max_connections: 5,
        nats_url: nats.clone(),
        grpc_addr: "127.0.0.1:0".parse().unwrap(),
    })
    .await
    .unwrap();
    let events_port = events.port();
    let (tx, stop) = stopper();
    stops.push(tx);
    tokio::spawn(events.run_until(stop));

    let chat = stagecast_chat_moderation::startup::Application::build(stagecast_chat_moderation::config::Config {
        database_url: db.parse().unwrap(),
        database_max_connections: 5,
        nats_url: nats.clone(),
        redis_url: redis_url.parse().unwrap(),
        events_grpc_url: format!("http://127.0.0.1:{events_port}"),
        grpc_addr: "127.0.0.1:0".parse().unwrap(),
        rate_limit_messages: 5,
        rate_limit_window: Duration::from_secs(10),
        // Tests share one NATS server: each test's chat service has consumers of its own.
        consumer_prefix: format!("gwtest-{}", uuid::Uuid::new_v4().simple()),
        consumers_from_start: false,
    })
    .await
    .unwrap();
    let chat_port = chat.port();
    let (tx, stop) = stopper();
    stops.push(tx);
    tokio::spawn(chat.run_until(stop));

    // Set, so the gateway's calls to the SFU go through its caller check.
    let control_secret = format!("{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple());
    let media = stagecast_media::startup::Application::build(stagecast_media::config::Config {
        http_addr: "127.0.0.1:0".parse().unwrap(),
        grpc_addr: "127.0.0.1:0".parse().unwrap(),
        udp_ip: "127.0.0.1".parse().unwrap(),
        udp_port: 0,
        public_ip: "127.0.0.1".parse().unwrap(),
        workers: 1,
        auth_grpc_url: format!("http://127.0.0.1:{auth_port}"),
        nats_url: nats.clone(),
        control_secret: Some(control_secret.parse().unwrap()),
        loudest_audio: stagecast_media::sfu::DEFAULT_LOUDEST_AUDIO,
        direct_audio: true,
    })
    .await
    .unwrap();
    let media_grpc_port = media.grpc_port();
    let (tx, stop) = stopper();
    stops.push(tx);
    tokio::spawn(media.run_until(stop));

    let s3 = stagecast_testkit::s3();
    let s3 = stagecast_gateway::config::S3Config {
        endpoint: match storage {
            Storage::TestServer => s3.endpoint,
            Storage::Unreachable => "http://127.0.0.1:9".to_owned(),
        },
        access_key: Some(s3.access_key.parse().unwrap()),
        secret_key: Some(s3.secret_key.parse().unwrap()),
        bucket: format!("gwtest-{}", uuid::Uuid::new_v4().simple()),
        region: "us-east-1".to_owned(),
    };
    // Recording: an egress worker (with no SFU taps: nobody publishes here, tiles show
    // initials) and the recording service, on the gateway's bucket.
    let storage = stagecast_storage::Config {
        endpoint: Some(s3.endpoint.clone()),
        region: s3.region.clone(),
        access_key: stagecast_testkit::s3().access_key,
        secret_key: stagecast_testkit::s3().secret_key,
        bucket: s3.bucket.clone(),
    };
    let spool = std::env::temp_dir().join(format!("gwtest-egress-{}", uuid::Uuid::new_v4().simple()));
    let egress = stagecast_egress::startup::Application::build(stagecast_egress::config::Config {
        http_addr: "127.0.0.1:0".parse().unwrap(),
        grpc_addr: "127.0.0.1:0".parse().unwrap(),
        rtp_ip: "127.0.0.1".parse().unwrap(),
        spool_dir: spool,
        spool_limit_mb: 512,
        cpu_budget: 2.0,
        rtmp_retry_window_s: 3,
        rtmps_ca_file: None,
        media_grpc_url: format!("http://127.0.0.1:{media_grpc_port}"),
        media_control_secret: Some(control_secret.parse().unwrap()),
        nats_url: nats.clone(),
        s3: storage.clone(),
    })
    .await
    .unwrap();
    let egress_port = egress.grpc_port();
    let (tx, stop) = stopper();
    stops.push(tx);
    tokio::spawn(egress.run_until(stop));
    let recording = stagecast_recording::startup::Application::build(stagecast_recording::config::Config {
        database_url: db.parse().unwrap(),
        nats_url: nats.clone(),
        grpc_addr: "127.0.0.1:0".parse().unwrap(),
        events_grpc_url: format!("http://127.0.0.1:{events_port}"),
        auth_grpc_url: format!("http://127.0.0.1:{auth_port}"),
        egress_grpc_url: format!("http://127.0.0.1:{egress_port}"),
        s3: storage.clone(),
    })
    .await
    .unwrap();
    let recording_port = recording.port();
    let (tx, stop) = stopper();
    stops.push(tx);
    tokio::spawn(recording.run_until(stop));
    // Restreaming, on the same egress worker.
    let broadcast = stagecast_broadcast::startup::Application::build(stagecast_broadcast::config::Config {
        database_url: db.parse().unwrap(),
        nats_url: nats.clone(),
        grpc_addr: "127.0.0.1:0".parse().unwrap(),
        http_addr: "127.0.0.1:0".parse().unwrap(),
        events_grpc_url: format!("http://127.0.0.1:{events_port}"),
        auth_grpc_url: format!("http://127.0.0.1:{auth_port}"),
        egress_grpc_url: format!("http://127.0.0.1:{egress_port}"),
        keys: stagecast_broadcast::crypto::KeyRing::parse(BROADCAST_TEST_KEY).unwrap(),
    })
    .await
    .unwrap();
    let broadcast_port = broadcast.port();
    let (tx, stop) = stopper();
    stops.push(tx);
    tokio::spawn(broadcast.run_until(stop));

    // Webhooks, restartable on the same port (a test restarts it mid-show).
    let mut webhooks = WebhooksWorker {
        database_url: db.clone(),
        nats_url: nats.clone(),
        events_port,
        consumer: format!("gwtest-webhooks-{}", uuid::Uuid::new_v4().simple()),
        retry_schedule: webhook_retry_schedule,
        disable_after_s: webhook_disable_after_s,
        allow_private: webhooks_allow_private,
        port: 0,
        stop: None,
        task: None,
    };
    webhooks.start().await;
    let webhooks_port = webhooks.port;

    let mut bases = Vec::new();
    for _ in 0..2 {
        let gateway = stagecast_gateway::startup::Application::build(stagecast_gateway::config::Config {
            addr: "127.0.0.1:0".parse().unwrap(),
            auth_grpc_url: format!("http://127.0.0.1:{auth_port}"),
            events_grpc_url: format!("http://127.0.0.1:{events_port}"),
            chat_grpc_url: format!("http://127.0.0.1:{chat_port}"),
            recording_grpc_url: format!("http://127.0.0.1:{recording_port}"),
            broadcast_grpc_url: format!("http://127.0.0.1:{broadcast_port}"),
            webhooks_grpc_url: format!("http://127.0.0.1:{webhooks_port}"),
            redis_url: redis_url.clone(),
            nats_url: nats.clone(),
            signup_limit_per_hour: 1000,
            login_limit_per_minute: limits.login_per_minute,
            trust_forwarded_for: true,
            web_dir: None,
            media_public_url: MEDIA_PUBLIC_URL.to_owned(),
            media_grpc_url: format!("http://127.0.0.1:{media_grpc_port}"),
            media_control_secret: Some(control_secret.parse().unwrap()),
            public_url: None,
            s3: s3.clone(),
            avatar_upload_limit_per_hour: avatar_uploads_per_hour,
            api_key_requests_per_minute,
        })
        .await
        .unwrap();
        bases.push(format!("http://127.0.0.1:{}", gateway.port()));
        let (tx, stop) = stopper();
        stops.push(tx);
        tokio::spawn(gateway.run_until(stop));
    }
    let base2 = bases.pop().unwrap();
    let base = bases.pop().unwrap();
    TestApp {
        base,
        base2,
        http: Client::new(),
        seed,
        storage,
        database_url: db,
        webhooks: tokio::sync::Mutex::new(webhooks),
        _stops: stops,
    }
}

/// The test's key for sealing webhook secrets.
pub const WEBHOOK_TEST_KEY: &str = "test:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

pub struct WebhooksWorker {
    database_url: String,
    nats_url: String,
    events_port: u16,
    consumer: String,
    retry_schedule: &'static str,
    disable_after_s: u64,
    allow_private: bool,
    /// Chosen by the first start, kept by the next ones (the gateways dial it).
    pub port: u16,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

impl WebhooksWorker {
    pub async fn start(&mut self) {
        let app = stagecast_webhooks::startup::Application::build(stagecast_webhooks::config::Config {
            database_url: self.database_url.parse().unwrap(),
            nats_url: self.nats_url.clone(),
            grpc_addr: format!("127.0.0.1:{}", self.port).parse().unwrap(),
            http_addr: "127.0.0.1:0".parse().unwrap(),
            events_grpc_url: format!("http://127.0.0.1:{}", self.events_port),
            keys: stagecast_kit::seal::KeyRing::parse(WEBHOOK_TEST_KEY).unwrap(),
            retry_schedule: self.retry_schedule.parse().unwrap(),
            timeout: Duration::from_millis(1000),
            disable_after: Duration::from_secs(self.disable_after_s),
            allow_private: self.allow_private,
            consumer_name: self.consumer.clone(),
        })
        .await
        .unwrap();
        self.port = app.port();
        let (tx, stop) = stopper();
        self.stop = Some(tx);
        self.task = Some(tokio::spawn(app.run_until(stop)));
    }

    /// Stops it and waits until it has (attempts in flight finish, the bus stops being read).
    pub async fn stop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.unwrap().unwrap();
        }
    }
}

pub fn unique_email() -> String {
    format!("user-{}@example.com", uuid::Uuid::new_v4().simple())
}

pub struct Account {
    pub access: String,
    pub refresh: String,
    pub user_id: String,
    pub email: String,
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> Response {
        let mut r = self.http.post(self.url(path)).json(&body);
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        r.send().await.unwrap()
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Response {
        let mut r = self.http.get(self.url(path));
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        r.send().await.unwrap()
    }

    pub async fn put_bytes(&self, path: &str, token: Option<&str>, content_type: Option<&str>, body: Vec<u8>) -> Response {
        let mut r = self.http.put(self.url(path)).body(body);
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        if let Some(ct) = content_type {
            r = r.header("content-type", ct);
        }
        r.send().await.unwrap()
    }

    pub async fn delete(&self, path: &str, token: &str) -> Response {
        self.http.delete(self.url(path)).bearer_auth(token).send().await.unwrap()
    }

    pub async fn patch(&self, path: &str, token: &str, body: Value) -> Response {
        self.http.patch(self.url(path)).bearer_auth(token).json(&body).send().await.unwrap()
    }

    pub async fn sign_up(&self) -> Account {
        let email = unique_email();
        let r = self
            .post(
                "/api/v1/auth/signup",
                None,
                json!({"email": email, "password": "correct horse battery", "display_name": "Ada"}),
            )
            .await;
        assert_eq!(r.status(), StatusCode::CREATED);
        let b: Value = r.json().await.unwrap();
        Account {
            access: b["access_token"].as_str().unwrap().into(),
            refresh: b["refresh_token"].as_str().unwrap().into(),
            user_id: b["user"]["id"].as_str().unwrap().into(),
            email,
        }
    }
}

/// Asserts a problem response with `status` and `code`; returns its body.
pub async fn assert_problem(r: Response, status: StatusCode, code: &str) -> Value {
    assert_eq!(r.status(), status, "expected {status} {code}");
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    let b: Value = r.json().await.unwrap();
    assert_eq!(b["code"], code, "{b}");
    assert_eq!(b["status"], status.as_u16());
    assert!(b["detail"].as_str().is_some_and(|d| !d.is_empty()));
    b
}

/// An RFC 3339 time `offset_secs` from now.
pub fn at(offset_secs: i64) -> String {
    (chrono::Utc::now() + chrono::Duration::seconds(offset_secs)).to_rfc3339()
}

/// Checks `check` until it holds or 5 s go by; says whether it held. For what another service
/// applies from the bus a moment after the call that caused it (the chat following the stage's
/// bans and moderators).
pub async fn eventually(mut check: impl AsyncFnMut() -> bool) -> bool {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while tokio::time::Instant::now() < deadline {
        if check().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}
