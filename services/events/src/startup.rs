//! Wiring: configuration in, a running service out.
//!
//! [`Application::build`] does everything that can fail at startup (bind the listener, connect
//! and migrate the database, connect NATS, start the outbox relay) so that a misconfigured
//! service exits before it reports healthy; [`Application::run_until`] serves until told to stop.
//! NATS being away is deliberately not fatal: changes wait in the outbox until it is back.
use std::{future::Future, time::Duration};

use anyhow::Context;
use async_nats::jetstream;
use sqlx::PgPool;
use stagecast_bus::{outbox::Relay, stream};
use stagecast_proto::events::v1::{
    events_service_server::{self, EventsServiceServer},
    stage_service_server::{self, StageServiceServer},
};
use tokio::{
    net::TcpListener,
    sync::watch,
    task::{JoinHandle, JoinSet},
};
use tonic::service::Routes;

use crate::{
    MIGRATOR,
    config::Config,
    grpc::{EventsApi, StageApi},
    service::Events,
    stage::Stages,
};

/// The gRPC service name reported by the health service.
pub const SERVICE_NAME: &str = events_service_server::SERVICE_NAME;
/// The media-room grants service, served beside [`SERVICE_NAME`] and reported healthy with it.
pub const STAGE_SERVICE_NAME: &str = stage_service_server::SERVICE_NAME;
/// The Postgres schema that holds this service's tables.
pub const DB_SCHEMA: &str = "events";
/// How long the relay may keep publishing the outbox after serving stops.
pub const RELAY_DRAIN: Duration = Duration::from_secs(5);
/// Database connections opened at startup (see [`warm_up`]).
const WARM_CONNECTIONS: u32 = 4;

pub struct Application {
    listener: TcpListener,
    port: u16,
    events: Events,
    stages: Stages,
    /// The database, probed for the health status.
    pool: sqlx::PgPool,
    /// Flipped to `true` once serving has stopped; the relay then drains and exits.
    stop_background: watch::Sender<bool>,
    relay: JoinHandle<()>,
}

impl Application {
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        // Bound first, so a port of 0 is resolved before anything else and `port()` is final.
        let listener = TcpListener::bind(config.grpc_addr)
            .await
            .with_context(|| format!("cannot listen on {} (EVENTS_GRPC_ADDR)", config.grpc_addr))?;
        let port = listener.local_addr().context("listener has no local address")?.port();

        let pool =
            stagecast_kit::db::connect(config.database_url.expose(), DB_SCHEMA, &MIGRATOR, config.database_max_connections)
                .await
                .context("cannot connect to Postgres or migrate the events schema (DATABASE_URL)")?;
        warm_up(&pool, config.database_max_connections.min(WARM_CONNECTIONS)).await;

        let nats = stream::connect(&config.nats_url, "stagecast-events")
            .await
            .with_context(|| format!("cannot connect to NATS at {} (NATS_URL)", config.nats_url))?;
        let js = jetstream::new(nats);
        let (stop_background, stopped) = watch::channel(false);
        ensure_stream(&js, stopped.clone()).await;

        let relay = Relay::new(pool.clone(), js, "events");
        let relay = tokio::spawn(relay.run(wait_for_stop(stopped), RELAY_DRAIN));

        Ok(Self {
            listener,
            port,
            events: Events::new(pool.clone()),
            stages: Stages::new(pool.clone()),
            pool,
            stop_background,
            relay,
        })
    }

    /// The port the gRPC server listens on (the real one when the configured port was 0).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Serves until `shutdown` resolves. Then, in order: stop accepting calls and let in-flight
    /// ones finish (so nothing more is written to the outbox), let the relay publish what is
    /// left (up to [`RELAY_DRAIN`]), return.
    pub async fn run_until(self, shutdown: impl Future<Output = ()> + Send) -> anyhow::Result<()> {
        let routes = Routes::new(EventsServiceServer::new(EventsApi::new(self.events.clone())))
            .add_service(StageServiceServer::new(StageApi::new(self.stages)));
        let served = stagecast_kit::grpc::serve_with_database(
            self.listener,
            routes,
            &[SERVICE_NAME, STAGE_SERVICE_NAME],
            self.pool,
            shutdown,
        )
        .await;
        tracing::info!("gRPC server stopped; draining the outbox");
        // Ignored error: the receivers are only gone if the background tasks already ended.
        let _ = self.stop_background.send(true);
        if let Err(e) = self.relay.await {
            tracing::error!(error = %e, "outbox relay task failed");
        }
        served.context("gRPC server failed")
    }
}

/// Opens `n` pool connections up front. The pool opens connections lazily and a new one costs
/// tens of milliseconds (up to ~100 ms seen on a loaded host); without this the first requests
/// and the outbox relay's first wake-up each pay that, which delays the first bus messages.
/// A failure here is only logged: requests open their connections on demand anyway.
async fn warm_up(pool: &PgPool, n: u32) {
    let mut opening = JoinSet::new();
    for _ in 0..n {
        let pool = pool.clone();
        opening.spawn(async move { pool.acquire().await });
    }
    // All are held until all are open, so each task gets a connection of its own.
    let mut held = Vec::new();
    while let Some(result) = opening.join_next().await {
        match result {
            Ok(Ok(conn)) => held.push(conn),
            Ok(Err(e)) => tracing::warn!(error = %e, "cannot open a database connection ahead of time"),
            Err(e) => tracing::warn!(error = %e, "connection warm-up task failed"),
        }
    }
}

/// Resolves once `stop` turns true (or its sender is gone, which also means "stop").
async fn wait_for_stop(mut stop: watch::Receiver<bool>) {
    let _ = stop.wait_for(|stopped| *stopped).await;
}

/// Makes sure the STAGECAST stream exists. When NATS is unreachable at startup the service still
/// starts: changes queue up in the outbox, this keeps retrying in the background, and the relay
/// publishes once the stream is there.
async fn ensure_stream(js: &jetstream::Context, stop: watch::Receiver<bool>) {
    const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(5);
    match tokio::time::timeout(ATTEMPT_TIMEOUT, stream::ensure_stream(js)).await {
        Ok(Ok(_)) => return,
        Ok(Err(e)) => tracing::warn!(error = %e, "cannot ensure the JetStream stream; retrying in the background"),
        Err(_) => tracing::warn!("NATS did not answer; ensuring the JetStream stream in the background"),
    }
    let js = js.clone();
    tokio::spawn(async move {
        let mut backoff = Duration::from_millis(500);
        let stopped = wait_for_stop(stop);
        tokio::pin!(stopped);
        loop {
            tokio::select! {
                _ = &mut stopped => return,
                _ = tokio::time::sleep(backoff) => {}
            }
            match tokio::time::timeout(ATTEMPT_TIMEOUT, stream::ensure_stream(&js)).await {
                Ok(Ok(_)) => {
                    tracing::info!("JetStream stream ensured");
                    return;
                }
                Ok(Err(e)) => tracing::warn!(error = %e, "cannot ensure the JetStream stream; will retry"),
                Err(_) => tracing::warn!("NATS did not answer; will retry ensuring the JetStream stream"),
            }
            backoff = (backoff * 2).min(Duration::from_secs(10));
        }
    });
}
