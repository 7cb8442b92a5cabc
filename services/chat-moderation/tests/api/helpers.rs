//! Test harness: the whole service on a free port with a database of its own, the shared test
//! NATS and Redis, and a stand-in for the events service's GetEvent.
use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use async_nats::{HeaderMap, jetstream};
use chrono::{DateTime, Utc};
use futures::StreamExt;
use prost::{Message, Name};
use prost_types::Timestamp;
use sqlx::PgPool;
use stagecast_bus::Envelope;
use stagecast_chat_moderation::{
    config::Config,
    startup::{self, Application},
};
use stagecast_kit::ApiError;
use stagecast_proto::{
    chat::v1::{self as pb, chat_service_client::ChatServiceClient, moderate_request::Action},
    events::v1::{
        self as events_pb,
        events_service_server::{EventsService, EventsServiceServer},
    },
};
use tokio::{sync::oneshot, task::JoinHandle};
use tonic::{Code, Request, Response, Status, transport::Channel};
use uuid::Uuid;

/// How long a test waits for something asynchronous (the bus, the persister) before failing.
pub const PATIENCE: Duration = Duration::from_secs(10);

pub struct TestApp {
    pub port: u16,
    pub client: ChatServiceClient<Channel>,
    /// Direct access to the test database, to check what a request left behind.
    pub db: PgPool,
    pub nats: async_nats::Client,
    pub js: jetstream::Context,
    /// Events the stand-in events service knows (GetEvent), by id.
    pub events: Arc<Mutex<HashMap<String, events_pb::Event>>>,
    config: Config,
    stop: oneshot::Sender<()>,
    server: JoinHandle<anyhow::Result<()>>,
}

/// The events service as far as this service uses it: GetEvent, answered from a map.
#[derive(Clone, Default)]
struct EventsStandIn {
    events: Arc<Mutex<HashMap<String, events_pb::Event>>>,
}

fn unimplemented<T>() -> Result<Response<T>, Status> {
    Err(Status::unimplemented("not part of the stand-in"))
}

#[tonic::async_trait]
impl EventsService for EventsStandIn {
    async fn create_event(&self, _: Request<events_pb::CreateEventRequest>) -> Result<Response<events_pb::Event>, Status> {
        unimplemented()
    }
    async fn get_event(&self, r: Request<events_pb::GetEventRequest>) -> Result<Response<events_pb::Event>, Status> {
        let id = r.into_inner().id;
        let found = self.events.lock().expect("lock").get(&id).cloned();
        found.map(Response::new).ok_or_else(|| Status::not_found("no such event"))
    }
    async fn update_event(&self, _: Request<events_pb::UpdateEventRequest>) -> Result<Response<events_pb::Event>, Status> {
        unimplemented()
    }
    async fn list_events(
        &self,
        _: Request<events_pb::ListEventsRequest>,
    ) -> Result<Response<events_pb::ListEventsResponse>, Status> {
        unimplemented()
    }
    async fn go_live(&self, _: Request<events_pb::TransitionRequest>) -> Result<Response<events_pb::Event>, Status> {
        unimplemented()
    }
    async fn end_event(&self, _: Request<events_pb::TransitionRequest>) -> Result<Response<events_pb::Event>, Status> {
        unimplemented()
    }
    async fn cancel_event(&self, _: Request<events_pb::TransitionRequest>) -> Result<Response<events_pb::Event>, Status> {
        unimplemented()
    }
}

async fn start_events_stand_in() -> (String, Arc<Mutex<HashMap<String, events_pb::Event>>>) {
    let stand_in = EventsStandIn::default();
    let events = stand_in.events.clone();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind the events stand-in");
    let port = listener.local_addr().expect("local address").port();
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(EventsServiceServer::new(stand_in))
            .serve_with_incoming(tonic::transport::server::TcpIncoming::from(listener)),
    );
    (format!("http://127.0.0.1:{port}"), events)
}

/// Starts the service with the test defaults.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Starts the service on 127.0.0.1:0 with its own database and consumers; `tweak` may change
/// the config first.
pub async fn spawn_app_with(tweak: impl FnOnce(&mut Config)) -> TestApp {
    let database_url = stagecast_testkit::fresh_database().await;
    let (events_url, events) = start_events_stand_in().await;
    let mut config = Config {
        database_url: database_url.parse().expect("any string is a secret"),
        database_max_connections: 5,
        nats_url: stagecast_testkit::nats_url(),
        redis_url: stagecast_testkit::redis_url().parse().expect("any string is a secret"),
        events_grpc_url: events_url,
        grpc_addr: "127.0.0.1:0".parse().expect("valid address"),
        rate_limit_messages: 5,
        rate_limit_window: Duration::from_secs(10),
        // Consumers of their own, starting at new messages: the test NATS is shared by every
        // test (and keeps what earlier runs published).
        consumer_prefix: format!("chat-test-{}", Uuid::new_v4().simple()),
        consumers_from_start: false,
    };
    tweak(&mut config);
    let app = Application::build(config.clone()).await.expect("application builds");
    let port = app.port();
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until(async {
        let _ = stopped.await;
    }));
    let client = ChatServiceClient::connect(format!("http://127.0.0.1:{port}")).await.expect("connect to the service");
    let db = PgPool::connect(&database_url).await.expect("connect to the test database");
    let nats = async_nats::connect(stagecast_testkit::nats_url()).await.expect("connect to NATS");
    let js = jetstream::new(nats.clone());
    TestApp { port, client, db, nats, js, events, config, stop, server }
}

pub fn user() -> Uuid {
    Uuid::new_v4()
}

pub fn author(user: Uuid) -> pb::Author {
    pb::Author {
        user_id: user.to_string(),
        display_name: format!("user {}", &user.simple().to_string()[..6]),
        avatar_url: "https://cdn.example.com/a.png".into(),
        // Ignored by the service; set to show that a caller cannot promote itself.
        role: pb::ChatRole::Host.into(),
    }
}

pub fn ts(t: DateTime<Utc>) -> Timestamp {
    Timestamp { seconds: t.timestamp(), nanos: t.timestamp_subsec_nanos() as i32 }
}

pub fn from_ts(t: &Option<Timestamp>) -> DateTime<Utc> {
    let t = t.as_ref().expect("timestamp present");
    DateTime::from_timestamp(t.seconds, t.nanos as u32).expect("valid timestamp")
}

/// The stable error code a failed call carries, read the way the gateway reads it.
pub fn code(status: &Status) -> String {
    ApiError::from_status(status).code.into_owned()
}

pub fn retry_after(status: &Status) -> Option<Duration> {
    ApiError::from_status(status).retry_after
}

/// Asserts that `result` failed with gRPC code `grpc` and stable code `expected`; returns the status.
#[track_caller]
pub fn assert_refused<T: std::fmt::Debug>(result: Result<T, Status>, grpc: Code, expected: &str) -> Status {
    match result {
        Ok(v) => panic!("expected {grpc:?}/{expected}, got success: {v:?}"),
        Err(status) => {
            assert_eq!((status.code(), code(&status).as_str()), (grpc, expected), "message: {}", status.message());
            status
        }
    }
}

/// An event (and its chat room) made by publishing events bus messages.
#[derive(Debug, Clone)]
pub struct TestRoom {
    pub id: String,
    pub host: Uuid,
    pub cohost: Uuid,
    pub event: events_pb::Event,
}

/// Which lifecycle message to publish.
#[derive(Debug, Clone, Copy)]
pub enum Change {
    Scheduled,
    Updated,
    WentLive,
    Ended,
    Cancelled,
}

impl Change {
    fn suffix(self) -> &'static str {
        match self {
            Change::Scheduled => "scheduled",
            Change::Updated => "updated",
            Change::WentLive => "live",
            Change::Ended => "ended",
            Change::Cancelled => "cancelled",
        }
    }
}

/// The envelope the events service would publish for `change` of `event`.
pub fn event_envelope(change: Change, event: &events_pb::Event) -> Envelope {
    let event = Some(event.clone());
    match change {
        Change::Scheduled => Envelope::wrap(&events_pb::EventScheduled { event }),
        Change::Updated => Envelope::wrap(&events_pb::EventUpdated { event }),
        Change::WentLive => Envelope::wrap(&events_pb::EventWentLive { event }),
        Change::Ended => Envelope::wrap(&events_pb::EventEnded { event }),
        Change::Cancelled => Envelope::wrap(&events_pb::EventCancelled { event }),
    }
}

impl TestApp {
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Publishes `payload` to JetStream with `msg_id` as Nats-Msg-Id and waits for the ack.
    pub async fn publish(&self, subject: String, msg_id: &str, payload: Vec<u8>) {
        let mut headers = HeaderMap::new();
        headers.insert("Nats-Msg-Id", msg_id);
        self.js
            .publish_with_headers(subject, headers, payload.into())
            .await
            .expect("publish")
            .await
            .expect("JetStream acknowledges");
    }

    /// Publishes an envelope as the events service would.
    pub async fn publish_event_envelope(&self, change: Change, envelope: &Envelope, event_id: &str) {
        let subject = format!("stagecast.events.v1.event.{event_id}.{}", change.suffix());
        self.publish(subject, &envelope.id.to_string(), envelope.encode()).await;
    }

    /// Publishes `change` of `room`'s event, its `updated_at` moved forward, and waits until the
    /// room reflects it.
    pub async fn announce(&self, room: &mut TestRoom, change: Change) {
        let previous = from_ts(&room.event.updated_at);
        let now = Utc::now().max(previous + chrono::Duration::milliseconds(1));
        room.event.updated_at = Some(ts(now));
        match change {
            Change::Scheduled | Change::Updated => {}
            Change::WentLive => {
                room.event.status = events_pb::EventStatus::Live.into();
                room.event.went_live_at = Some(ts(now));
            }
            Change::Ended => {
                room.event.status = events_pb::EventStatus::Ended.into();
                room.event.ended_at = Some(ts(now));
            }
            Change::Cancelled => {
                room.event.status = events_pb::EventStatus::Cancelled.into();
                room.event.cancelled_at = Some(ts(now));
            }
        }
        let envelope = event_envelope(change, &room.event);
        self.publish_event_envelope(change, &envelope, &room.id).await;
        let updated = from_ts(&room.event.updated_at);
        self.wait_until("the room follows the bus", || async {
            let stored: Option<DateTime<Utc>> =
                sqlx::query_scalar("SELECT event_updated_at FROM chat.rooms WHERE event_id = $1::uuid")
                    .bind(&room.id)
                    .fetch_optional(&self.db)
                    .await
                    .expect("read room");
            // Postgres keeps microseconds.
            stored.is_some_and(|s| s.timestamp_micros() == updated.timestamp_micros())
        })
        .await;
    }

    /// A scheduled event with a host and a co-host, known to the service through the bus.
    pub async fn scheduled_room(&self) -> TestRoom {
        let (host, cohost) = (user(), user());
        let id = Uuid::now_v7().to_string();
        let now = Utc::now();
        let event = events_pb::Event {
            id: id.clone(),
            title: "Friday night set".into(),
            starts_at: Some(ts(now + chrono::Duration::hours(1))),
            status: events_pb::EventStatus::Scheduled.into(),
            host_id: host.to_string(),
            cohost_ids: vec![cohost.to_string()],
            created_at: Some(ts(now)),
            updated_at: Some(ts(now - chrono::Duration::seconds(1))),
            ..Default::default()
        };
        let mut room = TestRoom { id, host, cohost, event };
        self.announce(&mut room, Change::Scheduled).await;
        room
    }

    /// A room whose event is live.
    pub async fn live_room(&self) -> TestRoom {
        let mut room = self.scheduled_room().await;
        self.announce(&mut room, Change::WentLive).await;
        room
    }

    pub async fn try_send(&self, event: &str, user: Uuid, client_msg_id: &str, text: &str) -> Result<pb::SendResponse, Status> {
        let request = pb::SendRequest {
            event_id: event.to_owned(),
            user: Some(author(user)),
            client_msg_id: client_msg_id.to_owned(),
            text: text.to_owned(),
        };
        self.client.clone().send(request).await.map(|r| r.into_inner())
    }

    /// Sends a message that must be accepted and published.
    pub async fn say(&self, event: &str, user: Uuid, text: &str) -> pb::ChatMessage {
        let sent = self.try_send(event, user, &Uuid::new_v4().to_string(), text).await.expect("send");
        assert!(!sent.held, "not held");
        sent.message.expect("message")
    }

    pub async fn join(&self, event: &str, user: Uuid) -> Result<pb::JoinResponse, Status> {
        let request = pb::JoinRequest { event_id: event.to_owned(), user: Some(author(user)), history_limit: 0 };
        self.client.clone().join(request).await.map(|r| r.into_inner())
    }

    pub async fn history(&self, event: &str, before: &str, limit: u32) -> Result<pb::HistoryResponse, Status> {
        let request =
            pb::HistoryRequest { event_id: event.to_owned(), before_id: before.to_owned(), limit, reader_id: String::new() };
        self.client.clone().history(request).await.map(|r| r.into_inner())
    }

    /// History and replay as `reader` reads them (the first page of each).
    pub async fn read_as(
        &self,
        event: &str,
        reader: Uuid,
    ) -> (Result<pb::HistoryResponse, Status>, Result<pb::ReplayResponse, Status>) {
        let h =
            pb::HistoryRequest { event_id: event.to_owned(), before_id: String::new(), limit: 10, reader_id: reader.to_string() };
        let r = pb::ReplayRequest { event_id: event.to_owned(), from_offset_ms: 0, limit: 10, reader_id: reader.to_string() };
        let (mut c1, mut c2) = (self.client.clone(), self.client.clone());
        let (h, r) = tokio::join!(c1.history(h), c2.replay(r));
        (h.map(|r| r.into_inner()), r.map(|r| r.into_inner()))
    }

    pub async fn replay(&self, event: &str, from_offset_ms: i64, limit: u32) -> Result<pb::ReplayResponse, Status> {
        let request = pb::ReplayRequest { event_id: event.to_owned(), from_offset_ms, limit, reader_id: String::new() };
        self.client.clone().replay(request).await.map(|r| r.into_inner())
    }

    pub async fn moderate_with(
        &self,
        event: &str,
        actor: Uuid,
        action: Action,
        reason: &str,
    ) -> Result<pb::ModerationAction, Status> {
        let request = pb::ModerateRequest {
            event_id: event.to_owned(),
            actor_id: actor.to_string(),
            reason: reason.to_owned(),
            action: Some(action),
        };
        self.client.clone().moderate(request).await.map(|r| r.into_inner().action.expect("action"))
    }

    pub async fn moderate(&self, event: &str, actor: Uuid, action: Action) -> Result<pb::ModerationAction, Status> {
        self.moderate_with(event, actor, action, "").await
    }

    pub async fn list_held(&self, event: &str, actor: Uuid) -> Result<Vec<pb::ChatMessage>, Status> {
        let request = pb::ListHeldRequest { event_id: event.to_owned(), actor_id: actor.to_string() };
        self.client.clone().list_held(request).await.map(|r| r.into_inner().messages)
    }

    pub async fn audit_log(&self, event: &str, actor: Uuid, before: &str, limit: u32) -> Result<pb::AuditLogResponse, Status> {
        let request =
            pb::AuditLogRequest { event_id: event.to_owned(), actor_id: actor.to_string(), limit, before_id: before.to_owned() };
        self.client.clone().audit_log(request).await.map(|r| r.into_inner())
    }

    pub async fn standing(&self, event: &str, actor: Uuid) -> Result<pb::ListStandingResponse, Status> {
        let request = pb::ListStandingRequest { event_id: event.to_owned(), actor_id: actor.to_string() };
        self.client.clone().list_standing(request).await.map(|r| r.into_inner())
    }

    /// Polls `check` until it holds, failing the test after [`PATIENCE`].
    pub async fn wait_until<F, Fut>(&self, what: &str, mut check: F)
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = bool>,
    {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        while !check().await {
            assert!(tokio::time::Instant::now() < deadline, "timed out waiting until {what}");
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// Rows in `chat.messages` with this id (0 or 1).
    pub async fn stored(&self, message_id: &str) -> i64 {
        sqlx::query_scalar("SELECT count(*) FROM chat.messages WHERE id = $1::uuid")
            .bind(message_id)
            .fetch_one(&self.db)
            .await
            .expect("count rows")
    }

    /// Waits until the persister has written `message_id`.
    pub async fn wait_persisted(&self, message_id: &str) {
        self.wait_until("the persister stores the message", || async { self.stored(message_id).await == 1 }).await;
    }

    /// Subscribes (core NATS) to everything said in a room, as a gateway replica does.
    pub async fn listen(&self, event: &str) -> async_nats::Subscriber {
        let sub = self.nats.subscribe(format!("stagecast.chat.v1.room.{event}.>")).await.expect("subscribe");
        self.nats.flush().await.expect("flush");
        sub
    }

    /// Stops the service, waits for `run_until` to return, and removes its durable consumers
    /// from the shared NATS server.
    pub async fn stop(self) {
        let (js, config) = (self.js.clone(), self.config.clone());
        self.stop_keeping_consumers().await;
        delete_consumers(&js, &config).await;
    }

    /// Stops the service and waits for `run_until` to return, leaving its durable consumers
    /// (and what they have not delivered yet) on the NATS server, as a restart would.
    pub async fn stop_keeping_consumers(self) {
        let _ = self.stop.send(());
        tokio::time::timeout(Duration::from_secs(15), self.server)
            .await
            .expect("run_until returns within 15 s of shutdown")
            .expect("server task does not panic")
            .expect("run_until returns Ok");
    }
}

/// Removes the durable consumers of a test deployment from the shared NATS server.
pub async fn delete_consumers(js: &jetstream::Context, config: &Config) {
    startup::delete_consumers(js, config).await;
}

/// One bus message heard in a room.
#[derive(Debug)]
pub struct Heard {
    pub subject: String,
    pub msg_id: Option<String>,
    pub envelope: Envelope,
}

impl Heard {
    pub fn chat_message(&self) -> Option<pb::ChatMessage> {
        (self.envelope.type_name == pb::ChatMessage::full_name()).then(|| self.envelope.open().expect("ChatMessage"))
    }

    pub fn moderation(&self) -> Option<pb::ModerationAction> {
        (self.envelope.type_name == pb::ModerationAction::full_name()).then(|| self.envelope.open().expect("ModerationAction"))
    }
}

/// Everything heard on `sub` until `quiet` passes without a message (or [`PATIENCE`] runs out).
pub async fn heard(sub: &mut async_nats::Subscriber, quiet: Duration) -> Vec<Heard> {
    let mut out = Vec::new();
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while tokio::time::Instant::now() < deadline {
        match tokio::time::timeout(quiet, sub.next()).await {
            Ok(Some(message)) => {
                let msg_id = message.headers.as_ref().and_then(|h| h.get("Nats-Msg-Id")).map(|v| v.to_string());
                let envelope = Envelope::decode(&message.payload).expect("an envelope");
                out.push(Heard { subject: message.subject.to_string(), msg_id, envelope });
            }
            _ => break,
        }
    }
    out
}

/// Waits for the next bus message in a room that satisfies `pick`.
pub async fn hear<T>(sub: &mut async_nats::Subscriber, mut pick: impl FnMut(&Heard) -> Option<T>) -> T {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        let message = tokio::time::timeout(left, sub.next())
            .await
            .expect("the expected bus message arrives in time")
            .expect("subscription open");
        let msg_id = message.headers.as_ref().and_then(|h| h.get("Nats-Msg-Id")).map(|v| v.to_string());
        let envelope = Envelope::decode(&message.payload).expect("an envelope");
        let heard = Heard { subject: message.subject.to_string(), msg_id, envelope };
        if let Some(found) = pick(&heard) {
            return found;
        }
    }
}

/// A chat message as this service would publish it, for tests that feed the persister directly.
pub fn chat_message(event: &str, text: &str) -> pb::ChatMessage {
    let u = user();
    pb::ChatMessage {
        id: Uuid::now_v7().to_string(),
        event_id: event.to_owned(),
        author: Some(pb::Author { role: pb::ChatRole::Viewer.into(), ..author(u) }),
        text: text.to_owned(),
        // At the precision Postgres keeps, as the service does.
        sent_at: Some(ts(DateTime::from_timestamp_micros(Utc::now().timestamp_micros()).expect("in range"))),
        client_msg_id: Uuid::new_v4().to_string(),
    }
}

/// The envelope of `message`, with the message id as envelope id (as the service publishes it).
pub fn message_envelope(message: &pb::ChatMessage) -> Vec<u8> {
    Envelope {
        id: message.id.parse().expect("uuid"),
        type_name: pb::ChatMessage::full_name(),
        occurred_at: Utc::now(),
        payload: message.encode_to_vec(),
    }
    .encode()
}
