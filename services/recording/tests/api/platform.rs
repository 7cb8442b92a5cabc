//! The platform around the recording service, in process and on the real test servers: auth
//! (accounts, display names, media tokens), events (the event and its stage), the SFU, one
//! egress worker (real GStreamer, storing in the test S3 under a bucket of the test's own; in a
//! runtime of its own, so a test can kill it and start it again) and one or more replicas of the
//! recording service, on one fresh database and the shared NATS.
use std::time::{Duration, Instant};

use futures::StreamExt;
use stagecast_proto::{
    auth::v1::{self as auth_pb, auth_service_client::AuthServiceClient, tokens_service_client::TokensServiceClient},
    egress::v1::{self as egress_pb, egress_service_client::EgressServiceClient},
    events::v1::{self as events_pb, events_service_client::EventsServiceClient, stage_service_client::StageServiceClient},
    recording::v1::{self as pb, recording_service_client::RecordingServiceClient},
};
use stagecast_recording::config::Lifecycle;
use tokio::sync::oneshot;
use tonic::transport::Channel;

pub struct Platform {
    pub database_url: String,
    pub nats: async_nats::Client,
    pub auth: AuthServiceClient<Channel>,
    pub tokens: TokensServiceClient<Channel>,
    pub events: EventsServiceClient<Channel>,
    pub stage: StageServiceClient<Channel>,
    pub egress: EgressServiceClient<Channel>,
    /// One client per replica of the recording service.
    pub recording: Vec<RecordingServiceClient<Channel>>,
    /// The SFU's signalling and WHIP base URL.
    pub sfu_url: String,
    pub bucket: stagecast_storage::Bucket,
    egress_worker: std::sync::Mutex<EgressWorker>,
    _stops: Vec<oneshot::Sender<()>>,
}

/// The egress worker on a thread and a tokio runtime of its own: killing it drops every task it
/// has (jobs, pipelines, servers) at once, as the end of its process would, and leaves its spool
/// behind for the next start.
struct EgressWorker {
    config: stagecast_egress::config::Config,
    kill: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl EgressWorker {
    /// Starts it on `config`; answers once it listens, with its gRPC port.
    fn start(mut config: stagecast_egress::config::Config) -> (EgressWorker, u16) {
        let (kill, killed) = oneshot::channel::<()>();
        let (port_tx, port_rx) = std::sync::mpsc::channel();
        let app_config = config.clone();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
            let app = rt.block_on(stagecast_egress::startup::Application::build(app_config)).unwrap();
            port_tx.send(app.grpc_port()).unwrap();
            rt.spawn(app.run_until(std::future::pending()));
            rt.block_on(async {
                let _ = killed.await;
            });
            rt.shutdown_timeout(Duration::from_secs(10));
        });
        let port = port_rx.recv().expect("the egress worker starts");
        // A restart listens where this one did.
        config.grpc_addr.set_port(port);
        (EgressWorker { config, kill: Some(kill), thread: Some(thread) }, port)
    }

    /// Kills it and waits until it is gone.
    fn kill(&mut self) {
        if let Some(kill) = self.kill.take() {
            let _ = kill.send(());
        }
        if let Some(thread) = self.thread.take() {
            thread.join().unwrap();
        }
    }
}

impl Drop for EgressWorker {
    fn drop(&mut self) {
        // Not joined: the test's runtime must not wait on it.
        if let Some(kill) = self.kill.take() {
            let _ = kill.send(());
        }
    }
}

/// A host and their event, live.
pub struct Live {
    pub host_id: String,
    pub event_id: String,
}

fn stopper() -> (oneshot::Sender<()>, impl Future<Output = ()> + Send + 'static) {
    let (tx, rx) = oneshot::channel::<()>();
    (tx, async move {
        let _ = rx.await;
    })
}

async fn client(port: u16) -> Channel {
    tonic::transport::Endpoint::from_shared(format!("http://127.0.0.1:{port}")).unwrap().connect().await.unwrap()
}

impl Platform {
    /// Starts everything; `replicas` recording services share the database, NATS and the worker.
    pub async fn start(lifecycle: Lifecycle, replicas: usize) -> Platform {
        static TELEMETRY: std::sync::OnceLock<stagecast_telemetry::TelemetryGuard> = std::sync::OnceLock::new();
        TELEMETRY.get_or_init(|| stagecast_telemetry::init("recording-test"));
        let db = stagecast_testkit::fresh_database().await;
        let nats_url = stagecast_testkit::nats_url();
        let mut stops = Vec::new();
        let seed: [u8; 32] = *uuid::Uuid::new_v4().as_bytes().repeat(2).first_chunk().unwrap();
        use base64::Engine;

        let auth = stagecast_auth::startup::Application::build(stagecast_auth::config::Config {
            database_url: db.parse().unwrap(),
            database_max_connections: 5,
            nats_url: nats_url.clone(),
            grpc_addr: "127.0.0.1:0".parse().unwrap(),
            signing_key: base64::engine::general_purpose::STANDARD.encode(seed).parse().unwrap(),
            access_token_ttl: Duration::from_secs(900),
            refresh_token_ttl: Duration::from_secs(3600),
            media_token_ttl: Duration::from_secs(600),
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
            nats_url: nats_url.clone(),
            grpc_addr: "127.0.0.1:0".parse().unwrap(),
        })
        .await
        .unwrap();
        let events_port = events.port();
        let (tx, stop) = stopper();
        stops.push(tx);
        tokio::spawn(events.run_until(stop));

        // Set, so the egress worker's calls go through the SFU's caller check as in production.
        let control_secret = format!("{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple());
        let media = stagecast_media::startup::Application::build(stagecast_media::config::Config {
            http_addr: "127.0.0.1:0".parse().unwrap(),
            grpc_addr: "127.0.0.1:0".parse().unwrap(),
            udp_ip: "127.0.0.1".parse().unwrap(),
            udp_port: 0,
            public_ip: "127.0.0.1".parse().unwrap(),
            workers: 1,
            auth_grpc_url: format!("http://127.0.0.1:{auth_port}"),
            nats_url: nats_url.clone(),
            control_secret: Some(control_secret.parse().unwrap()),
            loudest_audio: stagecast_media::sfu::DEFAULT_LOUDEST_AUDIO,
            direct_audio: true,
        })
        .await
        .unwrap();
        let (media_grpc_port, media_http_port) = (media.grpc_port(), media.http_port());
        let (tx, stop) = stopper();
        stops.push(tx);
        tokio::spawn(media.run_until(stop));

        let s3 = stagecast_testkit::s3();
        let storage = stagecast_storage::Config {
            endpoint: Some(s3.endpoint),
            region: "us-east-1".into(),
            access_key: s3.access_key,
            secret_key: s3.secret_key,
            bucket: format!("rectest-{}", uuid::Uuid::new_v4().simple()),
        };
        let (egress_worker, egress_port) = EgressWorker::start(stagecast_egress::config::Config {
            http_addr: "127.0.0.1:0".parse().unwrap(),
            grpc_addr: "127.0.0.1:0".parse().unwrap(),
            rtp_ip: "127.0.0.1".parse().unwrap(),
            spool_dir: std::env::temp_dir().join(format!("rectest-egress-{}", uuid::Uuid::new_v4().simple())),
            spool_limit_mb: 512,
            cpu_budget: 2.0,
            rtmp_retry_window_s: 3,
            rtmps_ca_file: None,
            media_grpc_url: format!("http://127.0.0.1:{media_grpc_port}"),
            media_control_secret: Some(control_secret.parse().unwrap()),
            nats_url: nats_url.clone(),
            s3: storage.clone(),
        });

        let mut recording = Vec::new();
        for _ in 0..replicas {
            let app = stagecast_recording::startup::Application::build_with(
                stagecast_recording::config::Config {
                    database_url: db.parse().unwrap(),
                    nats_url: nats_url.clone(),
                    grpc_addr: "127.0.0.1:0".parse().unwrap(),
                    events_grpc_url: format!("http://127.0.0.1:{events_port}"),
                    auth_grpc_url: format!("http://127.0.0.1:{auth_port}"),
                    egress_grpc_url: format!("http://127.0.0.1:{egress_port}"),
                    s3: storage.clone(),
                },
                lifecycle.clone(),
            )
            .await
            .unwrap();
            let port = app.port();
            let (tx, stop) = stopper();
            stops.push(tx);
            tokio::spawn(app.run_until(stop));
            recording.push(RecordingServiceClient::new(client(port).await));
        }

        let auth_channel = client(auth_port).await;
        Platform {
            database_url: db,
            nats: async_nats::connect(&nats_url).await.unwrap(),
            auth: AuthServiceClient::new(auth_channel.clone()),
            tokens: TokensServiceClient::new(auth_channel),
            events: EventsServiceClient::new(client(events_port).await),
            stage: StageServiceClient::new(client(events_port).await),
            egress: EgressServiceClient::new(client(egress_port).await),
            recording,
            sfu_url: format!("http://127.0.0.1:{media_http_port}"),
            bucket: stagecast_storage::Bucket::new(storage).unwrap(),
            egress_worker: std::sync::Mutex::new(egress_worker),
            _stops: stops,
        }
    }

    /// Kills the egress worker as a crash would (its jobs stay on its spool) and, with
    /// `restart_after`, starts it again after that long on the same spool and gRPC port, where
    /// it resumes them.
    pub async fn kill_egress(&self, restart_after: Option<Duration>) {
        let config = {
            let mut w = self.egress_worker.lock().unwrap();
            tokio::task::block_in_place(|| w.kill());
            w.config.clone()
        };
        let Some(after) = restart_after else { return };
        tokio::time::sleep(after).await;
        let (worker, _) = tokio::task::block_in_place(|| EgressWorker::start(config));
        *self.egress_worker.lock().unwrap() = worker;
    }

    /// The first replica of the recording service.
    pub fn recordings(&self) -> RecordingServiceClient<Channel> {
        self.recording[0].clone()
    }

    /// A new account hosting a new event that is live now.
    pub async fn live_event(&self, host_name: &str) -> Live {
        let host = self
            .auth
            .clone()
            .sign_up(auth_pb::SignUpRequest {
                email: format!("host-{}@example.com", uuid::Uuid::new_v4().simple()),
                password: "correct horse battery".into(),
                display_name: host_name.into(),
            })
            .await
            .unwrap()
            .into_inner();
        let host_id = host.user.unwrap().id;
        let starts_at = chrono::Utc::now() + chrono::Duration::hours(1);
        let event = self
            .events
            .clone()
            .create_event(events_pb::CreateEventRequest {
                actor_id: host_id.clone(),
                title: "Friday show".into(),
                starts_at: Some(prost_types::Timestamp { seconds: starts_at.timestamp(), nanos: 0 }),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        self.events
            .clone()
            .go_live(events_pb::TransitionRequest { actor_id: host_id.clone(), id: event.id.clone() })
            .await
            .unwrap();
        Live { host_id, event_id: event.id }
    }

    /// A media token for `user_id` in the event, with the grants the events service gives them
    /// (what the gateway's `POST /events/{id}/media-token` does).
    pub async fn media_token(&self, live: &Live, user_id: &str) -> String {
        let grants = self
            .stage
            .clone()
            .get_media_grants(events_pb::GetMediaGrantsRequest { event_id: live.event_id.clone(), user_id: user_id.into() })
            .await
            .unwrap()
            .into_inner()
            .grants
            .unwrap();
        self.tokens
            .clone()
            .mint_media_token(auth_pb::MintMediaTokenRequest {
                event_id: live.event_id.clone(),
                user_id: user_id.into(),
                grants: Some(auth_pb::MediaGrants {
                    subscribe: grants.subscribe,
                    publish: grants.publish,
                    hidden: grants.hidden,
                    backstage: grants.backstage,
                    see_backstage: grants.see_backstage,
                }),
            })
            .await
            .unwrap()
            .into_inner()
            .token
    }

    pub async fn start_recording(&self, live: &Live) -> pb::Recording {
        self.recordings()
            .start_recording(pb::StartRecordingRequest {
                event_id: live.event_id.clone(),
                actor_id: live.host_id.clone(),
                layout: "grid".into(),
                quality: "720p".into(),
            })
            .await
            .unwrap()
            .into_inner()
    }

    pub async fn stop_recording(&self, live: &Live, id: &str) -> pb::Recording {
        self.recordings()
            .stop_recording(pb::RecordingAction { recording_id: id.into(), actor_id: live.host_id.clone() })
            .await
            .unwrap()
            .into_inner()
    }

    /// The recording as the host sees it; `Err` with the status when there is none.
    pub async fn recording(&self, live: &Live, id: &str) -> Result<pb::Recording, tonic::Status> {
        self.recordings()
            .get_recording(pb::RecordingAction { recording_id: id.into(), actor_id: live.host_id.clone() })
            .await
            .map(|r| r.into_inner())
    }

    /// Polls the recording until `f` holds; fails with the last one after `limit`.
    pub async fn recording_until(
        &self,
        live: &Live,
        id: &str,
        limit: Duration,
        what: &str,
        f: impl Fn(&pb::Recording) -> bool,
    ) -> pb::Recording {
        let deadline = Instant::now() + limit;
        loop {
            let r = self.recording(live, id).await.unwrap();
            if f(&r) {
                return r;
            }
            assert!(Instant::now() < deadline, "timed out waiting for {what}: {r:?}");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Polls the recording's egress job until `f` holds (a worker that does not answer, being
    /// restarted, is polled again).
    pub async fn job_until(&self, id: &str, limit: Duration, what: &str, f: impl Fn(&egress_pb::Job) -> bool) -> egress_pb::Job {
        let deadline = Instant::now() + limit;
        loop {
            let j = self.egress.clone().get_job(egress_pb::GetJobRequest { job_id: id.into() }).await.map(|j| j.into_inner());
            if let Ok(j) = &j
                && f(j)
            {
                return j.clone();
            }
            assert!(Instant::now() < deadline, "timed out waiting for {what}: {j:?}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The event's `RecordingChanged` messages from now on, as the gateway and webhooks receive
    /// them (relayed from the outbox to the bus).
    pub async fn changes(&self, live: &Live) -> Changes {
        let sub = self.nats.subscribe(stagecast_recording::service::subject(live.event_id.parse().unwrap())).await.unwrap();
        // The subscription must reach the server before anything is published.
        self.nats.flush().await.unwrap();
        Changes { sub, seen: Vec::new() }
    }
}

/// Bus messages about one event's recordings, in the order they came.
pub struct Changes {
    sub: async_nats::Subscriber,
    pub seen: Vec<pb::RecordingChanged>,
}

impl Changes {
    /// Reads messages until one satisfies `f` (returned), failing after `limit`.
    pub async fn until(
        &mut self,
        limit: Duration,
        what: &str,
        f: impl Fn(&pb::RecordingChanged) -> bool,
    ) -> pb::RecordingChanged {
        if let Some(m) = self.seen.iter().find(|m| f(m)) {
            return m.clone();
        }
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let msg = tokio::time::timeout_at(deadline, self.sub.next())
                .await
                .unwrap_or_else(|_| panic!("no message for {what}; seen {:?}", self.kinds()))
                .expect("the subscription stays open");
            let change: pb::RecordingChanged = stagecast_bus::Envelope::decode(&msg.payload).unwrap().open().unwrap();
            self.seen.push(change.clone());
            if f(&change) {
                return change;
            }
        }
    }

    pub fn kinds(&self) -> Vec<(String, String)> {
        self.seen.iter().map(|m| (m.kind.clone(), m.reason.clone())).collect()
    }
}
