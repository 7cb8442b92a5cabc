//! Wiring: the database (schema `broadcast`), the outbox relay, the clients, the bus followers,
//! the gRPC server and the HTTP port (health, metrics).
use std::{future::Future, time::Duration};

use anyhow::Context;
use async_nats::jetstream;
use stagecast_bus::{outbox::Relay, stream};
use stagecast_proto::broadcast::v1::broadcast_service_server::{self, BroadcastServiceServer};
use tokio::{net::TcpListener, sync::watch, task::JoinHandle};
use tonic::service::Routes;

use crate::{MIGRATOR, clients::Clients, config::Config, grpc::BroadcastApi, http, service::Broadcasts};

pub const SERVICE_NAME: &str = broadcast_service_server::SERVICE_NAME;
pub const DB_SCHEMA: &str = "broadcast";
pub const RELAY_DRAIN: Duration = Duration::from_secs(5);

pub struct Application {
    listener: TcpListener,
    port: u16,
    http: TcpListener,
    http_port: u16,
    pool: sqlx::PgPool,
    broadcasts: Broadcasts,
    nats: async_nats::Client,
    stop_background: watch::Sender<bool>,
    relay: JoinHandle<()>,
}

impl Application {
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(config.grpc_addr)
            .await
            .with_context(|| format!("cannot listen on {} (BROADCAST_GRPC_ADDR)", config.grpc_addr))?;
        let port = listener.local_addr().context("listener has no local address")?.port();
        let http = TcpListener::bind(config.http_addr)
            .await
            .with_context(|| format!("cannot listen on {} (BROADCAST_HTTP_ADDR)", config.http_addr))?;
        let http_port = http.local_addr().context("listener has no local address")?.port();
        let pool = stagecast_kit::db::connect(config.database_url.expose(), DB_SCHEMA, &MIGRATOR, 10)
            .await
            .context("cannot connect to Postgres or migrate the broadcast schema (DATABASE_URL)")?;
        let nats = stream::connect(&config.nats_url, "stagecast-broadcast")
            .await
            .with_context(|| format!("cannot connect to NATS at {} (NATS_URL)", config.nats_url))?;
        let js = jetstream::new(nats.clone());
        if let Err(e) = stream::ensure_stream(&js).await {
            tracing::warn!(error = %e, "cannot ensure the JetStream stream yet; the outbox keeps messages until it can publish");
        }
        let (stop_background, stopped) = watch::channel(false);
        let relay = Relay::new(pool.clone(), js, "broadcast");
        let relay = tokio::spawn(relay.run(
            async move {
                let mut stopped = stopped;
                let _ = stopped.wait_for(|s| *s).await;
            },
            RELAY_DRAIN,
        ));
        let clients = Clients::connect(&config.events_grpc_url, &config.auth_grpc_url, &config.egress_grpc_url)?;
        let broadcasts = Broadcasts::new(pool.clone(), clients, config.keys);
        Ok(Self { listener, port, http, http_port, pool, broadcasts, nats, stop_background, relay })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn http_port(&self) -> u16 {
        self.http_port
    }

    pub async fn run_until(self, shutdown: impl Future<Output = ()> + Send) -> anyhow::Result<()> {
        let jobs = tokio::spawn(crate::follow::jobs(self.nats.clone(), self.broadcasts.clone()));
        let events = tokio::spawn(crate::follow::events(self.nats.clone(), self.broadcasts.clone()));
        let mut http_stop = self.stop_background.subscribe();
        let router = http::router(http::Metrics::new(), self.pool.clone());
        let http = tokio::spawn(async move {
            let _ = axum::serve(self.http, router)
                .with_graceful_shutdown(async move {
                    let _ = http_stop.wait_for(|s| *s).await;
                })
                .await;
        });
        let routes = Routes::new(BroadcastServiceServer::new(BroadcastApi::new(self.broadcasts)));
        let served =
            stagecast_kit::grpc::serve_with_database(self.listener, routes, &[SERVICE_NAME], self.pool.clone(), shutdown).await;
        jobs.abort();
        events.abort();
        let _ = self.stop_background.send(true);
        let _ = http.await;
        if let Err(e) = self.relay.await {
            tracing::error!(error = %e, "outbox relay task failed");
        }
        served.context("gRPC server failed")
    }
}
