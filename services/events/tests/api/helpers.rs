use std::time::Duration;

use async_nats::jetstream::{
    self,
    consumer::{AckPolicy, DeliverPolicy, pull},
};
use futures::StreamExt;
use prost_types::Timestamp;
use sqlx::PgPool;
use stagecast_bus::Envelope;
use stagecast_events::{config::Config, startup::Application};
use stagecast_kit::ApiError;
use stagecast_proto::events::v1::{self as pb, events_service_client::EventsServiceClient};
use tokio::{sync::oneshot, task::JoinHandle};
use tonic::{Code, Status, transport::Channel};
use uuid::Uuid;

pub struct TestApp {
    pub port: u16,
    pub client: EventsServiceClient<Channel>,
    /// The connection `client` uses, for the service's other gRPC services.
    pub channel: Channel,
    /// Direct access to the test database, to check what a request left behind.
    pub db: PgPool,
    pub js: jetstream::Context,
    stop: oneshot::Sender<()>,
    server: JoinHandle<anyhow::Result<()>>,
}

/// Starts the service on 127.0.0.1:0 with a database of its own.
pub async fn spawn_app() -> TestApp {
    let database_url = stagecast_testkit::fresh_database().await;
    let config = Config {
        database_url: database_url.parse().expect("any string is a secret"),
        database_max_connections: 5,
        nats_url: stagecast_testkit::nats_url(),
        grpc_addr: "127.0.0.1:0".parse().expect("valid address"),
    };
    let app = Application::build(config).await.expect("application builds");
    let port = app.port();
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until(async {
        let _ = stopped.await;
    }));
    let channel = Channel::from_shared(format!("http://127.0.0.1:{port}"))
        .expect("valid uri")
        .connect()
        .await
        .expect("connect to the service");
    let client = EventsServiceClient::new(channel.clone());
    let db = PgPool::connect(&database_url).await.expect("connect to the test database");
    let nats = async_nats::connect(stagecast_testkit::nats_url()).await.expect("connect to NATS");
    TestApp { port, client, channel, db, js: jetstream::new(nats), stop, server }
}

pub fn user() -> Uuid {
    Uuid::new_v4()
}

/// A timestamp `minutes` from now (negative for the past).
pub fn minutes_from_now(minutes: i64) -> Timestamp {
    let t = chrono::Utc::now() + chrono::Duration::minutes(minutes);
    Timestamp { seconds: t.timestamp(), nanos: t.timestamp_subsec_nanos() as i32 }
}

/// A valid create request hosted by `host`, starting in an hour.
pub fn create_request(host: Uuid) -> pb::CreateEventRequest {
    pb::CreateEventRequest {
        actor_id: host.to_string(),
        title: "Friday night set".into(),
        description: "Two hours of\nlive techno.".into(),
        starts_at: Some(minutes_from_now(60)),
        cover_url: "https://cdn.example.com/covers/friday.png".into(),
        cohost_ids: vec![],
    }
}

pub fn update_request(actor: Uuid, id: &str) -> pb::UpdateEventRequest {
    pb::UpdateEventRequest { actor_id: actor.to_string(), id: id.to_owned(), ..Default::default() }
}

/// The stable error code a failed call carries, read the way the gateway reads it.
pub fn error_code(status: &Status) -> String {
    ApiError::from_status(status).code.into_owned()
}

/// Asserts that `result` failed with `code` and gRPC code `grpc`.
#[track_caller]
pub fn assert_refused<T: std::fmt::Debug>(result: Result<T, Status>, grpc: Code, code: &str) {
    match result {
        Ok(v) => panic!("expected {grpc:?}/{code}, got success: {v:?}"),
        Err(status) => {
            assert_eq!((status.code(), error_code(&status).as_str()), (grpc, code), "message: {}", status.message())
        }
    }
}

/// Row counts of the service's tables.
#[derive(Debug, PartialEq, Eq)]
pub struct Counts {
    pub events: i64,
    pub cohosts: i64,
    pub outbox: i64,
}

impl TestApp {
    pub async fn try_create(&self, request: pb::CreateEventRequest) -> Result<pb::Event, Status> {
        self.client.clone().create_event(request).await.map(|r| r.into_inner())
    }

    /// Creates a valid event hosted by `host`.
    pub async fn create(&self, host: Uuid) -> pb::Event {
        self.try_create(create_request(host)).await.expect("create event")
    }

    /// Creates a valid event with the given start and co-hosts.
    pub async fn create_with(&self, host: Uuid, starts_at: Timestamp, cohosts: &[Uuid]) -> pb::Event {
        let request = pb::CreateEventRequest {
            starts_at: Some(starts_at),
            cohost_ids: cohosts.iter().map(Uuid::to_string).collect(),
            ..create_request(host)
        };
        self.try_create(request).await.expect("create event")
    }

    pub async fn get(&self, id: &str) -> Result<pb::Event, Status> {
        self.client.clone().get_event(pb::GetEventRequest { id: id.to_owned() }).await.map(|r| r.into_inner())
    }

    /// Reads an event that must exist.
    pub async fn fetch(&self, id: &str) -> pb::Event {
        self.get(id).await.expect("get event")
    }

    pub async fn update(&self, request: pb::UpdateEventRequest) -> Result<pb::Event, Status> {
        self.client.clone().update_event(request).await.map(|r| r.into_inner())
    }

    fn transition_request(actor: Uuid, id: &str) -> pb::TransitionRequest {
        pb::TransitionRequest { actor_id: actor.to_string(), id: id.to_owned() }
    }

    pub async fn go_live(&self, actor: Uuid, id: &str) -> Result<pb::Event, Status> {
        self.client.clone().go_live(Self::transition_request(actor, id)).await.map(|r| r.into_inner())
    }

    pub async fn end(&self, actor: Uuid, id: &str) -> Result<pb::Event, Status> {
        self.client.clone().end_event(Self::transition_request(actor, id)).await.map(|r| r.into_inner())
    }

    pub async fn cancel(&self, actor: Uuid, id: &str) -> Result<pb::Event, Status> {
        self.client.clone().cancel_event(Self::transition_request(actor, id)).await.map(|r| r.into_inner())
    }

    pub async fn list(&self, filter: pb::ListFilter, limit: u32, cursor: &str) -> Result<pb::ListEventsResponse, Status> {
        let request = pb::ListEventsRequest { filter: filter.into(), limit, cursor: cursor.to_owned() };
        self.client.clone().list_events(request).await.map(|r| r.into_inner())
    }

    /// Follows `next_cursor` to the end; returns every page. A `limit` of 0 asks for the default.
    pub async fn all_pages(&self, filter: pb::ListFilter, limit: u32) -> Vec<Vec<pb::Event>> {
        let mut pages = Vec::new();
        let mut cursor = String::new();
        loop {
            let page = self.list(filter, limit, &cursor).await.expect("list events");
            let max = if limit == 0 { 20 } else { limit as usize };
            assert!(page.events.len() <= max, "a page holds at most `limit` events");
            pages.push(page.events);
            if page.next_cursor.is_empty() {
                return pages;
            }
            assert!(pages.len() < 100, "pagination does not terminate");
            cursor = page.next_cursor;
        }
    }

    pub async fn counts(&self) -> Counts {
        let count =
            |sql: &'static str| async move { sqlx::query_scalar::<_, i64>(sql).fetch_one(&self.db).await.expect("count rows") };
        Counts {
            events: count("SELECT count(*) FROM events.events").await,
            cohosts: count("SELECT count(*) FROM events.event_cohosts").await,
            outbox: count("SELECT count(*) FROM events.outbox").await,
        }
    }

    /// Every bus message about event `id`, in stream order. Waits (up to 10 s) until `expected`
    /// have arrived, then a little longer so that an extra one would show up too.
    pub async fn bus_messages(&self, id: &str, expected: usize) -> Vec<(String, Envelope)> {
        let stream = self.js.get_stream(stagecast_bus::stream::STREAM_NAME).await.expect("the stream exists");
        let consumer = stream
            .create_consumer(pull::Config {
                filter_subject: format!("stagecast.events.v1.event.{id}.>"),
                deliver_policy: DeliverPolicy::All,
                ack_policy: AckPolicy::Explicit,
                inactive_threshold: Duration::from_secs(60),
                ..Default::default()
            })
            .await
            .expect("create a consumer");
        let mut got = Vec::new();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        let mut linger = false;
        loop {
            let wait = if linger { Duration::from_millis(500) } else { Duration::from_millis(250) };
            let mut batch = consumer
                .fetch()
                .max_messages(expected.saturating_sub(got.len()).max(1))
                .expires(wait)
                .messages()
                .await
                .expect("fetch from the stream");
            while let Some(message) = batch.next().await {
                let message = message.expect("receive a message");
                let envelope = Envelope::decode(&message.payload).expect("an envelope");
                got.push((message.subject.to_string(), envelope));
                message.ack().await.expect("ack");
            }
            if linger {
                return got;
            }
            if got.len() >= expected {
                linger = true;
            } else if tokio::time::Instant::now() >= deadline {
                return got;
            }
        }
    }

    /// Stops the service and waits for `run_until` to return.
    pub async fn shutdown(self) -> anyhow::Result<()> {
        let _ = self.stop.send(());
        tokio::time::timeout(Duration::from_secs(15), self.server)
            .await
            .expect("run_until returns within 15 s of shutdown")
            .expect("server task does not panic")
    }
}

/// A proto timestamp as microseconds since the epoch, for ordering comparisons (`None` is -∞).
pub fn micros(t: Option<Timestamp>) -> i64 {
    t.map_or(i64::MIN, |t| t.seconds * 1_000_000 + i64::from(t.nanos) / 1_000)
}
