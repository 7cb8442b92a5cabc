//! Wiring: configuration in, a running service out.
//!
//! [`Application::build`] does everything that can fail at startup (bind the listener, connect
//! and migrate the database, connect Redis and NATS, set up the durable consumers, start the
//! background tasks) so that a misconfigured service exits before it reports healthy;
//! [`Application::run_until`] serves until told to stop.
//!
//! Background tasks: the outbox relay (moderation announcements), the rooms consumer, the
//! follower of room changes that keeps cached views fresh, and the message persister. NATS being away at startup is not fatal: the consumers are set up in the
//! background once it is back (Send answers `chat_unavailable` meanwhile).
use std::{future::Future, time::Duration};

use anyhow::Context;
use async_nats::jetstream::{self, consumer::PullConsumer};
use stagecast_bus::outbox::Relay;
use stagecast_proto::{
    chat::v1::chat_service_server::{self, ChatServiceServer},
    events::v1::events_service_client::EventsServiceClient,
};
use stagecast_telemetry::grpc::PropagateTrace;
use tokio::{net::TcpListener, sync::watch, task::JoinHandle};
use tonic::{service::Routes, transport::Endpoint};

use crate::{
    MIGRATOR,
    bus::{self, DurableConsumer},
    config::Config,
    grpc::ChatApi,
    persister,
    rooms::{self, Rooms},
    service::Chat,
    throttle::RateLimit,
};

/// The gRPC service name reported by the health service.
pub const SERVICE_NAME: &str = chat_service_server::SERVICE_NAME;
/// The Postgres schema that holds this service's tables.
pub const DB_SCHEMA: &str = "chat";
/// How long the relay may keep publishing the outbox after serving stops.
pub const RELAY_DRAIN: Duration = Duration::from_secs(5);
/// How long build() waits for NATS to set up a consumer before leaving it to the background.
const CONSUMER_SETUP_TIMEOUT: Duration = Duration::from_secs(5);

pub struct Application {
    listener: TcpListener,
    port: u16,
    chat: Chat,
    /// The database, probed for the health status.
    pool: sqlx::PgPool,
    /// Flipped to `true` once serving has stopped; the background tasks then finish and exit.
    stop_background: watch::Sender<bool>,
    background: Vec<(&'static str, JoinHandle<()>)>,
}

/// The names of the service's durable consumers for `config`.
pub fn consumers(config: &Config) -> (DurableConsumer, DurableConsumer) {
    let rooms = DurableConsumer {
        name: format!("{}-rooms", config.consumer_prefix),
        filters: vec![bus::EVENT_SUBJECTS.to_owned()],
        from_start: config.consumers_from_start,
        ack_wait: Duration::from_secs(30),
    };
    let persister = DurableConsumer {
        name: format!("{}-persister", config.consumer_prefix),
        filters: vec![bus::MESSAGE_SUBJECTS.to_owned()],
        from_start: config.consumers_from_start,
        // A batch commits in milliseconds; messages held by a replica that died (or by a pull
        // request the server still thinks is open) come back after this, so history catches up
        // within seconds. A redelivered message that was in fact stored is dropped by ON CONFLICT.
        ack_wait: Duration::from_secs(5),
    };
    (rooms, persister)
}

/// Removes the durable consumers of the deployment `config` describes, for the teardown of a
/// short-lived deployment (a test) on a shared NATS server. Never for a live deployment: a
/// consumer created again starts per `consumers_from_start`, not where the old one was.
pub async fn delete_consumers(js: &jetstream::Context, config: &Config) {
    let (rooms, persister) = consumers(config);
    if let Ok(stream) = js.get_stream(stagecast_bus::stream::STREAM_NAME).await {
        for name in [rooms.name, persister.name] {
            if let Err(e) = stream.delete_consumer(&name).await {
                tracing::debug!(consumer = %name, error = %e, "cannot delete a bus consumer");
            }
        }
    }
}

impl Application {
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        // Bound first, so a port of 0 is resolved before anything else and `port()` is final.
        let listener = TcpListener::bind(config.grpc_addr)
            .await
            .with_context(|| format!("cannot listen on {} (CHAT_GRPC_ADDR)", config.grpc_addr))?;
        let port = listener.local_addr().context("listener has no local address")?.port();

        let pool =
            stagecast_kit::db::connect(config.database_url.expose(), DB_SCHEMA, &MIGRATOR, config.database_max_connections)
                .await
                .context("cannot connect to Postgres or migrate the chat schema (DATABASE_URL)")?;

        let redis = stagecast_kit::cache::connect(config.redis_url.expose()).await.context("REDIS_URL")?;

        // Lazy: the events service may start after this one; it is only asked about rooms the
        // bus has not brought yet.
        let events_channel = Endpoint::from_shared(config.events_grpc_url.clone())
            .with_context(|| format!("invalid EVENTS_GRPC_URL {}", config.events_grpc_url))?
            .connect_timeout(Duration::from_secs(2))
            .timeout(Duration::from_secs(5))
            .connect_lazy();
        let events = EventsServiceClient::with_interceptor(events_channel, PropagateTrace);

        let nats = stagecast_bus::stream::connect(&config.nats_url, "stagecast-chat-moderation")
            .await
            .with_context(|| format!("cannot connect to NATS at {} (NATS_URL)", config.nats_url))?;
        let js = jetstream::new(nats.clone());
        let (stop_background, stopped) = watch::channel(false);

        // Set up now when NATS answers, so messages published once build() returns are seen by
        // consumers that start at new messages; otherwise each task keeps trying.
        let (rooms_spec, persister_spec) = consumers(&config);
        let rooms_consumer = set_up(&js, &rooms_spec).await;
        let persister_consumer = set_up(&js, &persister_spec).await;

        let rooms = Rooms::new(pool.clone(), events);
        let views = rooms.cache().clone();
        let rate_limit = RateLimit { messages: config.rate_limit_messages, window: config.rate_limit_window };
        let chat = Chat::new(pool.clone(), redis, js.clone(), rooms, rate_limit);

        let relay = Relay::new(pool.clone(), js.clone(), "chat-moderation");
        let background = vec![
            ("outbox relay", tokio::spawn(relay.run(wait_for_stop(stopped.clone()), RELAY_DRAIN))),
            (
                "rooms consumer",
                tokio::spawn(rooms::follow_events(
                    pool.clone(),
                    views.clone(),
                    js.clone(),
                    rooms_spec,
                    rooms_consumer,
                    stopped.clone(),
                )),
            ),
            ("view invalidations", tokio::spawn(rooms::follow_invalidations(nats, views, stopped.clone()))),
            ("message persister", tokio::spawn(persister::run(pool.clone(), js, persister_spec, persister_consumer, stopped))),
        ];

        Ok(Self { listener, port, chat, pool, stop_background, background })
    }

    /// The port the gRPC server listens on (the real one when the configured port was 0).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Serves until `shutdown` resolves. Then, in order: stop accepting calls and let in-flight
    /// ones finish, stop the consumers (the persister finishes the batch in hand; anything not
    /// acknowledged stays in JetStream), let the relay publish what is left (up to
    /// [`RELAY_DRAIN`]), return.
    pub async fn run_until(self, shutdown: impl Future<Output = ()> + Send) -> anyhow::Result<()> {
        let routes = Routes::new(ChatServiceServer::new(ChatApi::new(self.chat)));
        let served = stagecast_kit::grpc::serve_with_database(self.listener, routes, &[SERVICE_NAME], self.pool, shutdown).await;
        tracing::info!("gRPC server stopped; stopping background tasks");
        // Ignored error: the receivers are only gone if the background tasks already ended.
        let _ = self.stop_background.send(true);
        for (name, task) in self.background {
            if let Err(e) = task.await {
                tracing::error!(task = name, error = %e, "background task failed");
            }
        }
        served.context("gRPC server failed")
    }
}

/// One attempt to set a consumer up (and the stream it reads), bounded in time.
async fn set_up(js: &jetstream::Context, spec: &DurableConsumer) -> Option<PullConsumer> {
    let attempt = async {
        stagecast_bus::stream::ensure_stream(js).await?;
        spec.ensure(js).await
    };
    match tokio::time::timeout(CONSUMER_SETUP_TIMEOUT, attempt).await {
        Ok(Ok(consumer)) => Some(consumer),
        Ok(Err(e)) => {
            tracing::warn!(consumer = %spec.name, error = %e, "cannot set up the bus consumer yet; retrying in the background");
            None
        }
        Err(_) => {
            tracing::warn!(consumer = %spec.name, "NATS did not answer; setting up the bus consumer in the background");
            None
        }
    }
}

/// Resolves once `stop` turns true (or its sender is gone, which also means "stop").
async fn wait_for_stop(mut stop: watch::Receiver<bool>) {
    bus::stopped(&mut stop).await;
}
