//! Wiring: the database (schema `webhooks`), the events client, the bus feed, the deliverer, the
//! gRPC server and the HTTP port (health, metrics).
use std::{future::Future, sync::Arc};

use anyhow::Context;
use async_nats::jetstream;
use stagecast_proto::{
    events::v1::events_service_client::EventsServiceClient,
    webhooks::v1::webhooks_service_server::{self, WebhooksServiceServer},
};
use tokio::{net::TcpListener, sync::watch};
use tonic::service::Routes;

use crate::{MIGRATOR, config::Config, deliver::Deliverer, feed::Feed, grpc::WebhooksApi, http, service::Webhooks};

pub const SERVICE_NAME: &str = webhooks_service_server::SERVICE_NAME;
pub const DB_SCHEMA: &str = "webhooks";

pub struct Application {
    listener: TcpListener,
    port: u16,
    http: TcpListener,
    http_port: u16,
    pool: sqlx::PgPool,
    webhooks: Webhooks,
    feed: Feed,
    deliverer: Deliverer,
    js: jetstream::Context,
    consumer_name: String,
}

impl Application {
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(config.grpc_addr)
            .await
            .with_context(|| format!("cannot listen on {} (WEBHOOKS_GRPC_ADDR)", config.grpc_addr))?;
        let port = listener.local_addr().context("listener has no local address")?.port();
        let http = TcpListener::bind(config.http_addr)
            .await
            .with_context(|| format!("cannot listen on {} (WEBHOOKS_HTTP_ADDR)", config.http_addr))?;
        let http_port = http.local_addr().context("listener has no local address")?.port();
        let pool = stagecast_kit::db::connect(config.database_url.expose(), DB_SCHEMA, &MIGRATOR, 10)
            .await
            .context("cannot connect to Postgres or migrate the webhooks schema (DATABASE_URL)")?;
        let nats = stagecast_bus::stream::connect(&config.nats_url, "stagecast-webhooks")
            .await
            .with_context(|| format!("cannot connect to NATS at {} (NATS_URL)", config.nats_url))?;
        let js = jetstream::new(nats);
        let events = EventsServiceClient::with_interceptor(
            stagecast_kit::grpc::channel(&config.events_grpc_url).context("EVENTS_GRPC_URL")?,
            stagecast_telemetry::grpc::PropagateTrace,
        );
        let webhooks = Webhooks::new(pool.clone(), config.keys, config.allow_private);
        let feed = Feed::new(pool.clone(), events, Arc::default());
        let deliverer =
            Deliverer::new(pool.clone(), webhooks.clone(), config.retry_schedule, config.timeout, config.disable_after);
        // The consumer exists from now on, so nothing published after start-up is missed even
        // before the feed first reads.
        let spec = crate::feed::consumer(&config.consumer_name);
        if let Err(e) = async {
            stagecast_bus::stream::ensure_stream(&js).await?;
            spec.ensure(&js).await
        }
        .await
        {
            tracing::warn!(error = %e, "cannot set up the webhooks consumer yet; the feed keeps trying");
        }
        Ok(Self { listener, port, http, http_port, pool, webhooks, feed, deliverer, js, consumer_name: config.consumer_name })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn http_port(&self) -> u16 {
        self.http_port
    }

    /// Serves until `shutdown` resolves; then stops reading the bus (what is unacknowledged comes
    /// again to the next start) and lets attempts in flight finish.
    pub async fn run_until(self, shutdown: impl Future<Output = ()> + Send) -> anyhow::Result<()> {
        let (stop_background, stopped) = watch::channel(false);
        let due = self.feed.due.clone();
        let feed = tokio::spawn(self.feed.run(self.js, crate::feed::consumer(&self.consumer_name), stopped.clone()));
        let deliverer = tokio::spawn(self.deliverer.run(due, stopped.clone()));
        let mut http_stop = stopped;
        let router = http::router(http::Metrics::new(), self.pool.clone());
        let http = tokio::spawn(async move {
            let _ = axum::serve(self.http, router)
                .with_graceful_shutdown(async move {
                    let _ = http_stop.wait_for(|s| *s).await;
                })
                .await;
        });
        let routes = Routes::new(WebhooksServiceServer::new(WebhooksApi::new(self.webhooks)));
        let served = stagecast_kit::grpc::serve_with_database(self.listener, routes, &[SERVICE_NAME], self.pool, shutdown).await;
        let _ = stop_background.send(true);
        let _ = feed.await;
        let _ = deliverer.await;
        let _ = http.await;
        tracing::info!("webhooks service stopped");
        served.context("gRPC server failed")
    }
}
