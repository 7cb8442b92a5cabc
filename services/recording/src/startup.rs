//! Wiring: the database (schema `recording`), the outbox relay, the clients, the bus followers,
//! the stopping and retention sweeps, and the gRPC server.
use std::{future::Future, time::Duration};

use anyhow::Context;
use async_nats::jetstream;
use stagecast_bus::{outbox::Relay, stream};
use stagecast_proto::recording::v1::recording_service_server::{self, RecordingServiceServer};
use tokio::{net::TcpListener, sync::watch, task::JoinHandle};
use tonic::service::Routes;

use crate::{
    MIGRATOR,
    clients::Clients,
    config::{Config, Lifecycle},
    grpc::RecordingApi,
    service::Recordings,
};

pub const SERVICE_NAME: &str = recording_service_server::SERVICE_NAME;
pub const DB_SCHEMA: &str = "recording";
pub const RELAY_DRAIN: Duration = Duration::from_secs(5);

pub struct Application {
    listener: TcpListener,
    port: u16,
    recordings: Recordings,
    /// The database, probed for the health status.
    pool: sqlx::PgPool,
    nats: async_nats::Client,
    stop_background: watch::Sender<bool>,
    relay: JoinHandle<()>,
    lifecycle: Lifecycle,
}

impl Application {
    /// With the default [`Lifecycle`] (idle recordings stop after 5 minutes, no retention).
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        Self::build_with(config, Lifecycle::default()).await
    }

    pub async fn build_with(config: Config, lifecycle: Lifecycle) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(config.grpc_addr)
            .await
            .with_context(|| format!("cannot listen on {} (RECORDING_GRPC_ADDR)", config.grpc_addr))?;
        let port = listener.local_addr().context("listener has no local address")?.port();
        let pool = stagecast_kit::db::connect(config.database_url.expose(), DB_SCHEMA, &MIGRATOR, 10)
            .await
            .context("cannot connect to Postgres or migrate the recording schema (DATABASE_URL)")?;
        let nats = stream::connect(&config.nats_url, "stagecast-recording")
            .await
            .with_context(|| format!("cannot connect to NATS at {} (NATS_URL)", config.nats_url))?;
        let js = jetstream::new(nats.clone());
        if let Err(e) = stream::ensure_stream(&js).await {
            tracing::warn!(error = %e, "cannot ensure the JetStream stream yet; the outbox keeps messages until it can publish");
        }
        let (stop_background, stopped) = watch::channel(false);
        let relay = Relay::new(pool.clone(), js, "recording");
        let relay = tokio::spawn(relay.run(
            async move {
                let mut stopped = stopped;
                let _ = stopped.wait_for(|s| *s).await;
            },
            RELAY_DRAIN,
        ));
        let bucket = stagecast_storage::Bucket::new(config.s3.clone()).context("S3 configuration")?;
        let clients = Clients::connect(&config.events_grpc_url, &config.auth_grpc_url, &config.egress_grpc_url, bucket)?;
        let recordings = Recordings::new(pool.clone(), clients, lifecycle.clone());
        Ok(Self { listener, port, recordings, pool, nats, stop_background, relay, lifecycle })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub async fn run_until(self, shutdown: impl Future<Output = ()> + Send) -> anyhow::Result<()> {
        let jobs = tokio::spawn(crate::follow::jobs(self.nats.clone(), self.recordings.clone()));
        let events = tokio::spawn(crate::follow::events(self.nats.clone(), self.recordings.clone()));
        let stopping = tokio::spawn(crate::follow::stopping(self.recordings.clone(), self.lifecycle.stopping_sweep_every));
        // Also without the operator's retention: hosts may set their own.
        let retention = tokio::spawn(crate::follow::retention(self.recordings.clone(), self.lifecycle.retention_sweep_every));
        let routes = Routes::new(RecordingServiceServer::new(RecordingApi::new(self.recordings)));
        let served = stagecast_kit::grpc::serve_with_database(self.listener, routes, &[SERVICE_NAME], self.pool, shutdown).await;
        jobs.abort();
        events.abort();
        // A sweep cut short leaves its recording as it was: its transaction rolls back.
        stopping.abort();
        retention.abort();
        let _ = self.stop_background.send(true);
        if let Err(e) = self.relay.await {
            tracing::error!(error = %e, "outbox relay task failed");
        }
        served.context("gRPC server failed")
    }
}
